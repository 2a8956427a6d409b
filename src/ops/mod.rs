//! The traced ops, by topic. Every public op is `#[track_caller]` and is one
//! call to [`emit`](crate::trace::emit) with a short builder; the helpers
//! below (numpy broadcasting, weakly typed scalars, Python-style axes) are
//! shared by all of them.
//!
//! | file | ops |
//! | --- | --- |
//! | `elementwise.rs` | unary math, binary math, comparisons, logic, `select`, `cast`, `stop_gradient` |
//! | `operators.rs` | `+ - * / %`, unary `-`, `& | !`, the `op=` forms |
//! | `reduce.rs` | `sum mean max min prod` (+ `_all`, `_keepdims`), `argmax` |
//! | `linalg.rs` | `matmul`, `dot_general` |
//! | `shape.rs` | `reshape transpose broadcast_to expand_dims squeeze slice pad reverse concat stack` |
//! | `index.rs` | `take`/`gather`, `scatter_add` |
//! | `source.rs` | `constant full zeros ones scalar iota arange`, `*_like` |

use std::fmt;
use std::sync::Arc;

use gradlift_ir::{DType, Data, Dims, Op, Shape, Tensor, Value};
use smallvec::SmallVec;

use crate::error::Error;
use crate::trace::{emit, Emitter, Var};

mod elementwise;
mod index;
mod linalg;
mod operators;
mod reduce;
mod shape;
mod source;

pub use elementwise::{select, where_};
pub use shape::{concat, stack};
pub use source::{arange, constant, full, iota, ones, scalar, zeros};

/// A Rust number or bool used as an operand of a traced op (`2.0 * x`,
/// `x.maximum(0)`, `full(&[3], 1.5, DType::F64)`).
///
/// Scalars are *weakly typed*, like Python scalars in JAX: they take the
/// dtype of the traced value they meet. `0.5` next to an `f32` value becomes
/// an `f32` constant; next to an integer value, only integral numbers in the
/// dtype's range are accepted; bools only meet bool values. A float too
/// large for `f32` becomes ±inf next to an `f32` value, as in JAX.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A floating-point number (from `f32` or `f64`).
    Float(f64),
    /// An integer (from `i32` or `i64`).
    Int(i64),
    /// A bool.
    Bool(bool),
}

impl From<f64> for Scalar {
    fn from(v: f64) -> Scalar {
        Scalar::Float(v)
    }
}

impl From<f32> for Scalar {
    fn from(v: f32) -> Scalar {
        Scalar::Float(v.into())
    }
}

impl From<i64> for Scalar {
    fn from(v: i64) -> Scalar {
        Scalar::Int(v)
    }
}

impl From<i32> for Scalar {
    fn from(v: i32) -> Scalar {
        Scalar::Int(v.into())
    }
}

impl From<bool> for Scalar {
    fn from(v: bool) -> Scalar {
        Scalar::Bool(v)
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Float(v) => write!(f, "{v:?}"),
            Scalar::Int(v) => write!(f, "{v}"),
            Scalar::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl Scalar {
    /// The scalar as a `dtype[]` tensor (weak typing), or why it cannot be.
    pub(crate) fn to_tensor(self, dtype: DType) -> Result<Tensor, String> {
        let data = match (self, dtype) {
            (Scalar::Float(v), DType::F32) => Data::F32(vec![v as f32]),
            (Scalar::Float(v), DType::F64) => Data::F64(vec![v]),
            (Scalar::Int(i), DType::F32) => Data::F32(vec![i as f32]),
            (Scalar::Int(i), DType::F64) => Data::F64(vec![i as f64]),
            (Scalar::Float(v), DType::I32) => Data::I32(vec![float_to_int(v, dtype)? as i32]),
            (Scalar::Float(v), DType::I64) => Data::I64(vec![float_to_int(v, dtype)?]),
            (Scalar::Int(i), DType::I32) => Data::I32(vec![
                i32::try_from(i).map_err(|_| "it is out of the range of i32".to_string())?
            ]),
            (Scalar::Int(i), DType::I64) => Data::I64(vec![i]),
            (Scalar::Bool(b), DType::Bool) => Data::Bool(vec![b]),
            (Scalar::Bool(_), _) => {
                return Err("a bool scalar cannot meet a numeric value; use a number".into())
            }
            (_, DType::Bool) => {
                return Err("a number cannot meet a bool value; use true/false, or .cast() the \
                            value to a numeric dtype"
                    .into())
            }
        };
        Tensor::new(Shape::scalar(), data).map_err(|e| e.to_string())
    }
}

/// An integral float in the range of an integer dtype, as `i64`.
fn float_to_int(v: f64, dtype: DType) -> Result<i64, String> {
    if !v.is_finite() || v.fract() != 0.0 {
        return Err(format!(
            "a non-integral scalar cannot meet an integer value (no implicit promotion); \
             .cast() the value to a float dtype first, or use an integer {dtype} scalar"
        ));
    }
    // Half-open bounds: -2^(bits-1) <= v < 2^(bits-1), exact in f64.
    let bound = match dtype {
        DType::I32 => 2f64.powi(31),
        _ => 2f64.powi(63),
    };
    if v < -bound || v >= bound {
        return Err(format!("it is out of the range of {dtype}"));
    }
    Ok(v as i64)
}

mod sealed {
    use super::{Scalar, Var};

    /// One operand of a traced op: a traced value or a weakly typed scalar.
    /// (Public inside a private module: unnameable outside the crate.)
    #[derive(Clone, Copy, Debug)]
    pub enum Arg {
        Var(Var),
        Scalar(Scalar),
    }

    /// Keeps [`Operand`](super::Operand) and [`Axis`](super::Axis) closed:
    /// the conversions are the crate's business.
    pub trait Sealed {
        fn to_arg(self) -> Arg;
    }

    pub trait SealedAxis {
        fn to_isize(self) -> isize;
    }
}

use sealed::SealedAxis;
pub(crate) use sealed::{Arg, Sealed};

/// Anything an op accepts beside a traced value: a [`Var`] or a Rust scalar
/// (`f32 f64 i32 i64 bool`, or a [`Scalar`]), weakly typed.
pub trait Operand: Copy + Sealed {}

impl Sealed for Var {
    fn to_arg(self) -> Arg {
        Arg::Var(self)
    }
}

impl Operand for Var {}

macro_rules! scalar_operand {
    ($($t:ty),*) => {$(
        impl Sealed for $t {
            fn to_arg(self) -> Arg {
                Arg::Scalar(Scalar::from(self))
            }
        }
        impl Operand for $t {}
    )*};
}

scalar_operand!(f32, f64, i32, i64, bool, Scalar);

/// A Rust number usable as an arithmetic operand: `f32 f64 i32 i64`
/// (weakly typed, see [`Scalar`]).
pub trait Number: Operand {}

impl Number for f32 {}
impl Number for f64 {}
impl Number for i32 {}
impl Number for i64 {}

/// An axis index. Negative axes count from the end, Python-style (`-1` is
/// the last axis); any integer type works, so `x.sum(&[0])`, `x.sum(&[-1])`
/// and `x.sum(&[axis_usize])` all read naturally.
pub trait Axis: Copy + SealedAxis {}

macro_rules! axis_type {
    ($($t:ty),*) => {$(
        impl SealedAxis for $t {
            fn to_isize(self) -> isize {
                isize::try_from(self).unwrap_or(isize::MAX)
            }
        }
        impl Axis for $t {}
    )*};
}

axis_type!(i32, i64, isize, u32, usize);

/// Axes as given by the user, before normalisation.
pub(crate) type RawAxes = SmallVec<[isize; 4]>;

pub(crate) fn raw_axes<A: Axis>(axes: &[A]) -> RawAxes {
    axes.iter().map(|a| a.to_isize()).collect()
}

/// The numpy broadcast of two shapes, if they are compatible.
pub(crate) fn broadcast_shapes(a: &Shape, b: &Shape) -> Option<Shape> {
    let rank = a.rank().max(b.rank());
    let mut out = Dims::with_capacity(rank);
    for i in 0..rank {
        // Dimension i of the result, aligned from the right.
        let da = (i + a.rank()).checked_sub(rank).map_or(1, |j| a.dims()[j]);
        let db = (i + b.rank()).checked_sub(rank).map_or(1, |j| b.dims()[j]);
        out.push(match (da, db) {
            _ if da == db => da,
            (1, _) => db,
            (_, 1) => da,
            _ => return None,
        });
    }
    Some(Shape(out))
}

/// Recording helpers shared by the op files.
impl Emitter<'_> {
    /// A weakly typed scalar constant `dtype[]`.
    pub(crate) fn scalar(&mut self, s: Scalar, dtype: DType) -> Result<Value, Error> {
        match s.to_tensor(dtype) {
            Ok(t) => self.push(Op::Constant { value: Arc::new(t) }, &[]),
            Err(reason) => Err(Error::Scalar {
                op: self.op_name(),
                value: s.to_string(),
                dtype,
                reason,
                loc: Some(self.loc()),
            }),
        }
    }

    /// `v` broadcast to `shape` by numpy rules: a `broadcast_in_dim` that
    /// aligns trailing dimensions, or nothing if the shape already matches.
    pub(crate) fn broadcast_to(&mut self, v: Value, shape: &Shape) -> Result<Value, Error> {
        let src = self.shape(v).clone();
        if &src == shape {
            return Ok(v);
        }
        let fits = src.rank() <= shape.rank()
            && src
                .dims()
                .iter()
                .rev()
                .zip(shape.dims().iter().rev())
                .all(|(&s, &d)| s == d || s == 1);
        if !fits {
            return Err(Error::Broadcast {
                op: self.op_name(),
                lhs: Box::new(src),
                rhs: Box::new(shape.clone()),
                loc: Some(self.loc()),
            });
        }
        let dims: Dims = (shape.rank() - src.rank()..shape.rank()).collect();
        self.push(Op::BroadcastInDim { shape: shape.clone(), dims }, &[v])
    }

    /// The numpy broadcast of the shapes of `a` and `b`, or a broadcast error
    /// naming both.
    pub(crate) fn common_shape(&mut self, a: &Shape, b: &Shape) -> Result<Shape, Error> {
        broadcast_shapes(a, b).ok_or_else(|| Error::Broadcast {
            op: self.op_name(),
            lhs: Box::new(a.clone()),
            rhs: Box::new(b.clone()),
            loc: Some(self.loc()),
        })
    }

    /// Checks that two values share a dtype (no implicit promotion).
    pub(crate) fn same_dtype(&mut self, a: Value, b: Value) -> Result<(), Error> {
        let (da, db) = (self.dtype(a), self.dtype(b));
        if da == db {
            Ok(())
        } else {
            Err(Error::DTypeMismatch {
                op: self.op_name(),
                lhs: da,
                rhs: db,
                loc: Some(self.loc()),
            })
        }
    }

    /// Brings two values to one dtype check and one broadcast shape.
    pub(crate) fn align(&mut self, a: Value, b: Value) -> Result<(Value, Value), Error> {
        self.same_dtype(a, b)?;
        let (sa, sb) = (self.shape(a).clone(), self.shape(b).clone());
        let out = self.common_shape(&sa, &sb)?;
        Ok((self.broadcast_to(a, &out)?, self.broadcast_to(b, &out)?))
    }

    /// `v` reshaped to `shape`, or `v` itself if it already has that shape.
    pub(crate) fn reshape(&mut self, v: Value, shape: &Shape) -> Result<Value, Error> {
        if self.shape(v) == shape {
            return Ok(v);
        }
        self.push(Op::Reshape { shape: shape.clone() }, &[v])
    }

    /// A Python-style axis (negative counts from the end) checked against
    /// `rank`.
    pub(crate) fn axis(&mut self, axis: isize, rank: usize) -> Result<usize, Error> {
        let r = rank as isize;
        if (-r..r).contains(&axis) {
            Ok(axis.rem_euclid(r.max(1)) as usize)
        } else {
            Err(self.error(format!("axis {axis} is out of range for rank {rank}")))
        }
    }

    /// Python-style axes checked against `rank`, without repeats.
    pub(crate) fn axes(&mut self, axes: &[isize], rank: usize) -> Result<Dims, Error> {
        let mut out = Dims::with_capacity(axes.len());
        for &a in axes {
            let a = self.axis(a, rank)?;
            if out.contains(&a) {
                return Err(self.error(format!("axis {a} is given twice")));
            }
            out.push(a);
        }
        Ok(out)
    }
}

/// Records a binary op on two operands (at least one traced): scalars take
/// the traced operand's dtype, traced operands must share a dtype, shapes
/// broadcast by numpy rules, and `build` appends the op itself.
#[track_caller]
pub(crate) fn binary(
    op: &'static str,
    lhs: Arg,
    rhs: Arg,
    build: impl FnOnce(&mut Emitter<'_>, Value, Value) -> Result<Value, Error>,
) -> Var {
    match (lhs, rhs) {
        (Arg::Var(a), Arg::Var(b)) => emit(op, &[a, b], |cx, v| {
            let (a, b) = cx.align(v[0], v[1])?;
            build(cx, a, b)
        }),
        (Arg::Var(a), Arg::Scalar(s)) => emit(op, &[a], |cx, v| {
            let c = cx.scalar(s, cx.dtype(v[0]))?;
            let (a, c) = cx.align(v[0], c)?;
            build(cx, a, c)
        }),
        (Arg::Scalar(s), Arg::Var(b)) => emit(op, &[b], |cx, v| {
            let c = cx.scalar(s, cx.dtype(v[0]))?;
            let (c, b) = cx.align(c, v[0])?;
            build(cx, c, b)
        }),
        (Arg::Scalar(_), Arg::Scalar(_)) => {
            emit(op, &[], |cx, _| Err(cx.error("needs at least one traced operand")))
        }
    }
}
