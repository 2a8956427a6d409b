//! A small instruction emitter over a `Function` under construction: one
//! method per op shape the transforms need, each running the op's shape rule
//! and stamping the source location of the node being transformed, so
//! derivative code points at the user's line.

use gradlift_ir::op::SDims;
use gradlift_ir::{
    BinaryOp, CompareOp, DType, Data, Dims, DotDims, Function, IrError, Loc, Op, PadAttrs,
    ReduceKind, Shape, SliceAttrs, Tensor, Type, UnaryOp, Value,
};
use std::sync::Arc;

/// Appends instructions to `f`, each tagged with `loc`.
pub struct Emitter<'a> {
    pub f: &'a mut Function,
    pub loc: Option<Loc>,
}

type R = Result<Value, IrError>;

impl<'a> Emitter<'a> {
    pub fn new(f: &'a mut Function) -> Emitter<'a> {
        Emitter { f, loc: None }
    }

    pub fn ty(&self, v: Value) -> Type {
        self.f.ty(v).clone()
    }

    pub fn op(&mut self, op: Op, args: &[Value]) -> R {
        self.f.push(op, args, self.loc.clone())
    }

    pub fn unary(&mut self, u: UnaryOp, x: Value) -> R {
        self.op(Op::Unary(u), &[x])
    }

    pub fn binary(&mut self, b: BinaryOp, x: Value, y: Value) -> R {
        self.op(Op::Binary(b), &[x, y])
    }

    pub fn add(&mut self, x: Value, y: Value) -> R {
        self.binary(BinaryOp::Add, x, y)
    }

    pub fn sub(&mut self, x: Value, y: Value) -> R {
        self.binary(BinaryOp::Sub, x, y)
    }

    pub fn mul(&mut self, x: Value, y: Value) -> R {
        self.binary(BinaryOp::Mul, x, y)
    }

    pub fn div(&mut self, x: Value, y: Value) -> R {
        self.binary(BinaryOp::Div, x, y)
    }

    pub fn neg(&mut self, x: Value) -> R {
        self.unary(UnaryOp::Neg, x)
    }

    pub fn compare(&mut self, c: CompareOp, x: Value, y: Value) -> R {
        self.op(Op::Compare(c), &[x, y])
    }

    pub fn select(&mut self, p: Value, t: Value, f: Value) -> R {
        self.op(Op::Select, &[p, t, f])
    }

    pub fn convert(&mut self, x: Value, to: DType) -> R {
        if self.f.ty(x).dtype == to {
            return Ok(x);
        }
        self.op(Op::Convert { to }, &[x])
    }

    /// A scalar constant of `dtype`.
    pub fn scalar(&mut self, dtype: DType, value: f64) -> R {
        let data = match dtype {
            DType::F32 => Data::F32(vec![value as f32]),
            DType::F64 => Data::F64(vec![value]),
            DType::I32 => Data::I32(vec![value as i32]),
            DType::I64 => Data::I64(vec![value as i64]),
            DType::Bool => Data::Bool(vec![value != 0.0]),
        };
        let t = Tensor::new(Shape::scalar(), data)?;
        self.op(Op::Constant { value: Arc::new(t) }, &[])
    }

    /// `value` broadcast to the whole of `ty`.
    pub fn full(&mut self, ty: &Type, value: f64) -> R {
        let s = self.scalar(ty.dtype, value)?;
        self.broadcast(s, &ty.shape, &[])
    }

    pub fn zeros(&mut self, ty: &Type) -> R {
        self.full(ty, 0.0)
    }

    /// `value` broadcast to the type of `like`.
    pub fn full_like(&mut self, like: Value, value: f64) -> R {
        let ty = self.ty(like);
        self.full(&ty, value)
    }

    /// `broadcast_in_dim`, skipped when it would be the identity.
    pub fn broadcast(&mut self, x: Value, shape: &Shape, dims: &[usize]) -> R {
        if self.f.ty(x).shape == *shape && dims.iter().enumerate().all(|(i, &d)| i == d) {
            return Ok(x);
        }
        self.op(Op::BroadcastInDim { shape: shape.clone(), dims: Dims::from_slice(dims) }, &[x])
    }

    /// Broadcasts `x` (whose dims are those of `shape` minus `removed`) back
    /// to `shape`: the inverse of reducing over `removed`.
    pub fn unreduce(&mut self, x: Value, shape: &Shape, removed: &[usize]) -> R {
        let dims: Dims = (0..shape.rank()).filter(|i| !removed.contains(i)).collect();
        self.broadcast(x, shape, &dims)
    }

    pub fn reshape(&mut self, x: Value, shape: &Shape) -> R {
        if self.f.ty(x).shape == *shape {
            return Ok(x);
        }
        self.op(Op::Reshape { shape: shape.clone() }, &[x])
    }

    pub fn transpose(&mut self, x: Value, perm: &[usize]) -> R {
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(x);
        }
        self.op(Op::Transpose { perm: Dims::from_slice(perm) }, &[x])
    }

    pub fn reduce(&mut self, kind: ReduceKind, x: Value, axes: &[usize]) -> R {
        if axes.is_empty() {
            return Ok(x);
        }
        self.op(Op::Reduce { kind, axes: Dims::from_slice(axes) }, &[x])
    }

    pub fn reduce_sum(&mut self, x: Value, axes: &[usize]) -> R {
        self.reduce(ReduceKind::Sum, x, axes)
    }

    pub fn slice(&mut self, x: Value, start: &[usize], limit: &[usize], stride: &[usize]) -> R {
        let attrs = SliceAttrs {
            start: Dims::from_slice(start),
            limit: Dims::from_slice(limit),
            stride: Dims::from_slice(stride),
        };
        let ty = self.ty(x);
        if attrs.start.iter().all(|&s| s == 0)
            && attrs.stride.iter().all(|&s| s == 1)
            && attrs.limit.as_slice() == ty.dims()
        {
            return Ok(x);
        }
        self.op(Op::Slice(Box::new(attrs)), &[x])
    }

    pub fn pad(
        &mut self,
        x: Value,
        value: Value,
        low: &[i64],
        high: &[i64],
        interior: &[usize],
    ) -> R {
        let attrs = PadAttrs {
            low: SDims::from_slice(low),
            high: SDims::from_slice(high),
            interior: Dims::from_slice(interior),
        };
        self.op(Op::Pad(Box::new(attrs)), &[x, value])
    }

    pub fn dot_general(&mut self, l: Value, r: Value, d: DotDims) -> R {
        self.op(Op::DotGeneral(Box::new(d)), &[l, r])
    }

    /// Sum of two optional values; `None` is a symbolic zero.
    pub fn add_opt(
        &mut self,
        x: Option<Value>,
        y: Option<Value>,
    ) -> Result<Option<Value>, IrError> {
        Ok(match (x, y) {
            (None, y) => y,
            (x, None) => x,
            (Some(x), Some(y)) => Some(self.add(x, y)?),
        })
    }

    /// `x`, or zeros of `ty` when `x` is a symbolic zero.
    pub fn materialize(&mut self, x: Option<Value>, ty: &Type) -> R {
        match x {
            Some(v) => Ok(v),
            None => self.zeros(ty),
        }
    }
}
