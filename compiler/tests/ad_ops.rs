//! Every op's derivative rules against finite differences in f64: JVP
//! against central differences and VJP through the inner-product identity,
//! to second order (first order at non-smooth points such as ties), with
//! broadcasting shapes, size-1 and size-0 dims and per-op input domains and
//! special points. The coverage test fails if any op of the op list has no
//! gradient check.

use std::collections::BTreeSet;
use std::sync::Arc;

use gradlift_compiler::ad::{check_grads, Modes};
use gradlift_ir::op::SDims;
use gradlift_ir::{
    BinaryOp, CompareOp, DType, Data, Dims, DotDims, Function, IrError, Op, PadAttrs, ReduceKind,
    Shape, SliceAttrs, Tensor, Type, UnaryOp, Value,
};

type Build = fn(&mut Function, &[Value]) -> Result<Vec<Value>, IrError>;

/// One gradient check: parameter types with the values to check at.
struct Case {
    name: &'static str,
    params: Vec<(Vec<usize>, Vec<f64>)>,
    build: Build,
    order: usize,
}

fn t64(shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::new(Shape::new(shape), Data::F64(v.to_vec())).unwrap()
}

/// Values for a shape: a deterministic spread over [lo, hi].
fn spread(shape: &[usize], lo: f64, hi: f64, phase: f64) -> (Vec<usize>, Vec<f64>) {
    let n: usize = shape.iter().product();
    let v = (0..n)
        .map(|i| {
            let u = ((i as f64 + phase) * 0.618_033_988_75).fract();
            lo + (hi - lo) * u
        })
        .collect();
    (shape.to_vec(), v)
}

fn exact(shape: &[usize], v: &[f64]) -> (Vec<usize>, Vec<f64>) {
    (shape.to_vec(), v.to_vec())
}

fn push(f: &mut Function, op: Op, args: &[Value]) -> Result<Value, IrError> {
    f.push(op, args, None)
}

fn scalar(f: &mut Function, v: f64) -> Result<Value, IrError> {
    let t = Tensor::new(Shape::scalar(), Data::F64(vec![v]))?;
    push(f, Op::Constant { value: Arc::new(t) }, &[])
}

fn bcast(f: &mut Function, x: Value, shape: &[usize], dims: &[usize]) -> Result<Value, IrError> {
    push(f, Op::BroadcastInDim { shape: Shape::new(shape), dims: Dims::from_slice(dims) }, &[x])
}

fn un(f: &mut Function, u: UnaryOp, x: Value) -> Result<Value, IrError> {
    push(f, Op::Unary(u), &[x])
}

fn bin(f: &mut Function, b: BinaryOp, x: Value, y: Value) -> Result<Value, IrError> {
    push(f, Op::Binary(b), &[x, y])
}

fn cmp(f: &mut Function, c: CompareOp, x: Value, y: Value) -> Result<Value, IrError> {
    push(f, Op::Compare(c), &[x, y])
}

fn sel(f: &mut Function, p: Value, a: Value, b: Value) -> Result<Value, IrError> {
    push(f, Op::Select, &[p, a, b])
}

fn unary_case(name: &'static str, shape: &[usize], lo: f64, hi: f64, build: Build) -> Case {
    Case { name, params: vec![spread(shape, lo, hi, 0.3)], build, order: 2 }
}

macro_rules! unary_build {
    ($u:expr) => {
        |f: &mut Function, p: &[Value]| Ok(vec![un(f, $u, p[0])?])
    };
}

macro_rules! binary_build {
    ($b:expr) => {
        |f: &mut Function, p: &[Value]| Ok(vec![bin(f, $b, p[0], p[1])?])
    };
}

/// Binary op on broadcast operands: x [3,1] and y [1,4] → [3,4].
macro_rules! binary_bcast_build {
    ($b:expr) => {
        |f: &mut Function, p: &[Value]| {
            let x = bcast(f, p[0], &[3, 4], &[0, 1])?;
            let y = bcast(f, p[1], &[3, 4], &[0, 1])?;
            Ok(vec![bin(f, $b, x, y)?])
        }
    };
}

fn cases() -> Vec<Case> {
    use BinaryOp as B;
    use UnaryOp as U;
    let mut c = vec![
        // Unary ops on their domains, including special points.
        unary_case("neg", &[2, 3], -2.0, 2.0, unary_build!(U::Neg)),
        unary_case("abs", &[5], 0.2, 2.0, unary_build!(U::Abs)),
        Case {
            name: "abs negative",
            params: vec![exact(&[3], &[-1.5, -0.25, 2.0])],
            build: unary_build!(U::Abs),
            order: 2,
        },
        unary_case("exp", &[2, 3], -3.0, 3.0, unary_build!(U::Exp)),
        unary_case("log", &[4], 0.3, 5.0, unary_build!(U::Log)),
        Case {
            name: "log near 0",
            params: vec![exact(&[2], &[1e-2, 2e-2])],
            build: unary_build!(U::Log),
            order: 2,
        },
        unary_case("log1p", &[4], -0.5, 3.0, unary_build!(U::Log1p)),
        Case {
            name: "log1p near -1",
            params: vec![exact(&[2], &[-0.99, 1e-9])],
            build: unary_build!(U::Log1p),
            order: 2,
        },
        unary_case("expm1", &[4], -2.0, 2.0, unary_build!(U::Expm1)),
        unary_case("sqrt", &[4], 0.2, 4.0, unary_build!(U::Sqrt)),
        Case {
            name: "sqrt near 0",
            params: vec![exact(&[2], &[1e-2, 3e-2])],
            build: unary_build!(U::Sqrt),
            order: 2,
        },
        unary_case("rsqrt", &[4], 0.2, 4.0, unary_build!(U::Rsqrt)),
        unary_case("sin", &[4], -4.0, 4.0, unary_build!(U::Sin)),
        unary_case("cos", &[4], -4.0, 4.0, unary_build!(U::Cos)),
        unary_case("tanh", &[4], -3.0, 3.0, unary_build!(U::Tanh)),
        Case {
            name: "tanh large |x|",
            params: vec![exact(&[3], &[-20.0, 15.0, 40.0])],
            build: unary_build!(U::Tanh),
            order: 2,
        },
        unary_case("logistic", &[4], -6.0, 6.0, unary_build!(U::Logistic)),
        Case {
            name: "logistic large |x|",
            params: vec![exact(&[2], &[-40.0, 40.0])],
            build: unary_build!(U::Logistic),
            order: 2,
        },
        // Piecewise constant: derivative zero away from the jumps.
        Case {
            name: "sign",
            params: vec![exact(&[3], &[-1.3, 0.7, 2.0])],
            build: unary_build!(U::Sign),
            order: 2,
        },
        Case {
            name: "floor",
            params: vec![exact(&[3], &[-1.3, 0.7, 2.2])],
            build: unary_build!(U::Floor),
            order: 2,
        },
        Case {
            name: "ceil",
            params: vec![exact(&[3], &[-1.3, 0.7, 2.2])],
            build: unary_build!(U::Ceil),
            order: 2,
        },
        Case {
            name: "round",
            params: vec![exact(&[3], &[-1.3, 0.7, 2.2])],
            build: unary_build!(U::Round),
            order: 2,
        },
        // Binary ops, same shapes and broadcast.
        Case {
            name: "add",
            params: vec![spread(&[2, 3], -2.0, 2.0, 0.1), spread(&[2, 3], -2.0, 2.0, 0.7)],
            build: binary_build!(B::Add),
            order: 2,
        },
        Case {
            name: "add broadcast",
            params: vec![spread(&[3, 1], -2.0, 2.0, 0.1), spread(&[1, 4], -2.0, 2.0, 0.7)],
            build: binary_bcast_build!(B::Add),
            order: 2,
        },
        Case {
            name: "sub broadcast",
            params: vec![spread(&[3, 1], -2.0, 2.0, 0.1), spread(&[1, 4], -2.0, 2.0, 0.7)],
            build: binary_bcast_build!(B::Sub),
            order: 2,
        },
        Case {
            name: "mul broadcast",
            params: vec![spread(&[3, 1], -2.0, 2.0, 0.1), spread(&[1, 4], -2.0, 2.0, 0.7)],
            build: binary_bcast_build!(B::Mul),
            order: 2,
        },
        Case {
            name: "div broadcast",
            params: vec![spread(&[3, 1], -2.0, 2.0, 0.1), spread(&[1, 4], 0.5, 2.0, 0.7)],
            build: binary_bcast_build!(B::Div),
            order: 2,
        },
        Case {
            name: "pow",
            params: vec![spread(&[4], 0.5, 2.0, 0.1), spread(&[4], -2.0, 2.0, 0.7)],
            build: binary_build!(B::Pow),
            order: 2,
        },
        Case {
            name: "pow broadcast",
            params: vec![spread(&[3, 1], 0.5, 2.0, 0.1), spread(&[1, 4], -1.5, 2.5, 0.7)],
            build: binary_bcast_build!(B::Pow),
            order: 2,
        },
        Case {
            name: "max",
            params: vec![spread(&[4], -2.0, 2.0, 0.1), spread(&[4], -2.0, 2.0, 0.7)],
            build: binary_build!(B::Max),
            order: 2,
        },
        Case {
            name: "min",
            params: vec![spread(&[4], -2.0, 2.0, 0.1), spread(&[4], -2.0, 2.0, 0.7)],
            build: binary_build!(B::Min),
            order: 2,
        },
        // Ties: each side gets half, as central differences measure.
        Case {
            name: "max ties",
            params: vec![exact(&[3], &[1.0, 2.0, -1.0]), exact(&[3], &[1.0, 0.5, -1.0])],
            build: binary_build!(B::Max),
            order: 1,
        },
        Case {
            name: "min ties",
            params: vec![exact(&[3], &[1.0, 2.0, -1.0]), exact(&[3], &[1.0, 0.5, -1.0])],
            build: binary_build!(B::Min),
            order: 1,
        },
        Case {
            name: "rem",
            params: vec![exact(&[3], &[2.5, -3.7, 4.1]), exact(&[3], &[1.3, 1.6, -1.7])],
            build: binary_build!(B::Rem),
            order: 2,
        },
        // Size-0 and size-1 dims.
        Case {
            name: "mul size-0",
            params: vec![spread(&[0, 3], -1.0, 1.0, 0.0), spread(&[0, 3], -1.0, 1.0, 0.0)],
            build: binary_build!(B::Mul),
            order: 2,
        },
        Case {
            name: "exp size-1",
            params: vec![spread(&[1, 1], -1.0, 1.0, 0.5)],
            build: unary_build!(U::Exp),
            order: 2,
        },
        Case {
            name: "compare + select",
            params: vec![spread(&[5], -2.0, 2.0, 0.1), spread(&[5], -2.0, 2.0, 0.6)],
            build: |f, p| {
                let mut out = Vec::new();
                for c in CompareOp::ALL {
                    let m = cmp(f, c, p[0], p[1])?;
                    let xy = bin(f, BinaryOp::Mul, p[0], p[1])?;
                    out.push(sel(f, m, xy, p[1])?);
                }
                Ok(out)
            },
            order: 2,
        },
        Case {
            name: "and / or / not",
            params: vec![spread(&[6], -2.0, 2.0, 0.1), spread(&[6], -2.0, 2.0, 0.6)],
            build: |f, p| {
                let z = scalar(f, 0.0)?;
                let z = bcast(f, z, &[6], &[])?;
                let a = cmp(f, CompareOp::Gt, p[0], z)?;
                let b = cmp(f, CompareOp::Lt, p[1], z)?;
                let both = bin(f, BinaryOp::And, a, b)?;
                let either = bin(f, BinaryOp::Or, a, b)?;
                let neither = un(f, UnaryOp::Not, either)?;
                let sq = bin(f, BinaryOp::Mul, p[0], p[0])?;
                let e = un(f, UnaryOp::Exp, p[1])?;
                let r1 = sel(f, both, sq, e)?;
                let r2 = sel(f, neither, e, sq)?;
                Ok(vec![r1, r2])
            },
            order: 2,
        },
        Case {
            name: "select broadcast pred",
            params: vec![spread(&[3, 4], -2.0, 2.0, 0.1), spread(&[3, 4], -2.0, 2.0, 0.4)],
            build: |f, p| {
                let m = cmp(f, CompareOp::Ge, p[0], p[1])?;
                let s = un(f, UnaryOp::Sin, p[0])?;
                Ok(vec![sel(f, m, s, p[1])?])
            },
            order: 2,
        },
        Case {
            name: "convert to int and back (zero derivative path)",
            params: vec![spread(&[4], -2.0, 2.0, 0.2)],
            build: |f, p| {
                let same = push(f, Op::Convert { to: DType::F64 }, &[p[0]])?;
                let i = push(f, Op::Convert { to: DType::I32 }, &[p[0]])?;
                let back = push(f, Op::Convert { to: DType::F64 }, &[i])?;
                let prod = bin(f, BinaryOp::Mul, same, back)?;
                Ok(vec![bin(f, BinaryOp::Mul, prod, p[0])?])
            },
            order: 2,
        },
        Case {
            name: "constant + iota",
            params: vec![spread(&[2, 3], -1.0, 1.0, 0.2)],
            build: |f, p| {
                let io = push(
                    f,
                    Op::Iota { dtype: DType::F64, shape: Shape::new(&[2, 3]), axis: 1 },
                    &[],
                )?;
                let k = scalar(f, 2.5)?;
                let k = bcast(f, k, &[2, 3], &[])?;
                let a = bin(f, BinaryOp::Mul, p[0], io)?;
                let b = bin(f, BinaryOp::Mul, a, p[0])?;
                Ok(vec![bin(f, BinaryOp::Add, b, k)?])
            },
            order: 2,
        },
        Case {
            name: "broadcast_in_dim",
            params: vec![spread(&[3, 1], -1.0, 1.0, 0.2)],
            build: |f, p| {
                let b = bcast(f, p[0], &[2, 3, 4], &[1, 2])?;
                Ok(vec![bin(f, BinaryOp::Mul, b, b)?])
            },
            order: 2,
        },
        Case {
            name: "reshape + transpose",
            params: vec![spread(&[2, 3, 4], -1.0, 1.0, 0.2)],
            build: |f, p| {
                let r = push(f, Op::Reshape { shape: Shape::new(&[6, 4]) }, &[p[0]])?;
                let t = push(f, Op::Transpose { perm: Dims::from_slice(&[1, 0]) }, &[r])?;
                let t3 = push(f, Op::Transpose { perm: Dims::from_slice(&[2, 0, 1]) }, &[p[0]])?;
                let s = un(f, UnaryOp::Sin, t)?;
                let c = un(f, UnaryOp::Cos, t3)?;
                Ok(vec![bin(f, BinaryOp::Mul, s, t)?, c])
            },
            order: 2,
        },
        Case {
            name: "slice strided",
            params: vec![spread(&[5, 7], -1.0, 1.0, 0.2)],
            build: |f, p| {
                let attrs = SliceAttrs {
                    start: Dims::from_slice(&[1, 0]),
                    limit: Dims::from_slice(&[5, 7]),
                    stride: Dims::from_slice(&[2, 3]),
                };
                let s = push(f, Op::Slice(Box::new(attrs)), &[p[0]])?;
                let empty = SliceAttrs {
                    start: Dims::from_slice(&[2, 3]),
                    limit: Dims::from_slice(&[2, 7]),
                    stride: Dims::from_slice(&[1, 1]),
                };
                let e = push(f, Op::Slice(Box::new(empty)), &[p[0]])?;
                Ok(vec![bin(f, BinaryOp::Mul, s, s)?, e])
            },
            order: 2,
        },
        Case {
            name: "concatenate",
            params: vec![
                spread(&[2, 3], -1.0, 1.0, 0.2),
                spread(&[2, 1], -1.0, 1.0, 0.5),
                spread(&[2, 0], -1.0, 1.0, 0.5),
            ],
            build: |f, p| {
                let sq = bin(f, BinaryOp::Mul, p[1], p[1])?;
                let c = push(f, Op::Concatenate { axis: 1 }, &[p[0], sq, p[2], p[0]])?;
                Ok(vec![un(f, UnaryOp::Tanh, c)?])
            },
            order: 2,
        },
        Case {
            name: "pad with negative and interior",
            params: vec![spread(&[3, 4], -1.0, 1.0, 0.2), exact(&[], &[0.75])],
            build: |f, p| {
                let attrs = PadAttrs {
                    low: SDims::from_slice(&[1, -1]),
                    high: SDims::from_slice(&[-1, 2]),
                    interior: Dims::from_slice(&[1, 2]),
                };
                let pd = push(f, Op::Pad(Box::new(attrs)), &[p[0], p[1]])?;
                Ok(vec![bin(f, BinaryOp::Mul, pd, pd)?])
            },
            order: 2,
        },
        Case {
            name: "reverse",
            params: vec![spread(&[3, 4], -1.0, 1.0, 0.2)],
            build: |f, p| {
                let r = push(f, Op::Reverse { axes: Dims::from_slice(&[0, 1]) }, &[p[0]])?;
                Ok(vec![bin(f, BinaryOp::Mul, r, p[0])?])
            },
            order: 2,
        },
        Case {
            name: "reduce_sum / prod",
            params: vec![spread(&[3, 4], 0.5, 1.5, 0.2)],
            build: |f, p| {
                let s = push(
                    f,
                    Op::Reduce { kind: ReduceKind::Sum, axes: Dims::from_slice(&[1]) },
                    &[p[0]],
                )?;
                let q = push(
                    f,
                    Op::Reduce { kind: ReduceKind::Prod, axes: Dims::from_slice(&[0, 1]) },
                    &[p[0]],
                )?;
                let q0 = push(
                    f,
                    Op::Reduce { kind: ReduceKind::Prod, axes: Dims::from_slice(&[0]) },
                    &[p[0]],
                )?;
                let none =
                    push(f, Op::Reduce { kind: ReduceKind::Sum, axes: Dims::new() }, &[p[0]])?;
                let s2 = bin(f, BinaryOp::Mul, s, s)?;
                Ok(vec![s2, q, q0, none])
            },
            order: 2,
        },
        Case {
            name: "reduce_prod with a zero",
            params: vec![exact(&[2, 3], &[0.0, 2.0, -1.5, 1.2, 0.0, 0.0])],
            build: |f, p| {
                let q = push(
                    f,
                    Op::Reduce { kind: ReduceKind::Prod, axes: Dims::from_slice(&[1]) },
                    &[p[0]],
                )?;
                Ok(vec![q])
            },
            order: 2,
        },
        Case {
            name: "reduce_max / min",
            params: vec![spread(&[3, 4], -2.0, 2.0, 0.2)],
            build: |f, p| {
                let m = push(
                    f,
                    Op::Reduce { kind: ReduceKind::Max, axes: Dims::from_slice(&[1]) },
                    &[p[0]],
                )?;
                let n = push(
                    f,
                    Op::Reduce { kind: ReduceKind::Min, axes: Dims::from_slice(&[0, 1]) },
                    &[p[0]],
                )?;
                Ok(vec![m, n])
            },
            order: 2,
        },
        Case {
            name: "reduce_max ties",
            params: vec![exact(&[2, 3], &[1.0, 3.0, 3.0, -1.0, -1.0, -2.0])],
            build: |f, p| {
                let m = push(
                    f,
                    Op::Reduce { kind: ReduceKind::Max, axes: Dims::from_slice(&[1]) },
                    &[p[0]],
                )?;
                let n = push(
                    f,
                    Op::Reduce { kind: ReduceKind::Min, axes: Dims::from_slice(&[0]) },
                    &[p[0]],
                )?;
                Ok(vec![m, n])
            },
            order: 1,
        },
        Case {
            name: "reductions over size-0 dims",
            params: vec![spread(&[0, 3], -1.0, 1.0, 0.2)],
            build: |f, p| {
                let mut out = Vec::new();
                for kind in ReduceKind::ALL {
                    out.push(push(f, Op::Reduce { kind, axes: Dims::from_slice(&[0]) }, &[p[0]])?);
                }
                Ok(out)
            },
            order: 2,
        },
        Case {
            name: "argmax",
            params: vec![spread(&[3, 4], -2.0, 2.0, 0.2)],
            build: |f, p| {
                let a = push(f, Op::Argmax { axis: 1 }, &[p[0]])?;
                let af = push(f, Op::Convert { to: DType::F64 }, &[a])?;
                let s = push(
                    f,
                    Op::Reduce { kind: ReduceKind::Sum, axes: Dims::from_slice(&[1]) },
                    &[p[0]],
                )?;
                Ok(vec![bin(f, BinaryOp::Mul, af, s)?])
            },
            order: 2,
        },
        Case {
            name: "dot_general matmul",
            params: vec![spread(&[3, 4], -1.0, 1.0, 0.2), spread(&[4, 2], -1.0, 1.0, 0.5)],
            build: |f, p| {
                let d = DotDims {
                    lhs_batch: Dims::new(),
                    rhs_batch: Dims::new(),
                    lhs_contract: Dims::from_slice(&[1]),
                    rhs_contract: Dims::from_slice(&[0]),
                };
                let m = push(f, Op::DotGeneral(Box::new(d)), &[p[0], p[1]])?;
                Ok(vec![un(f, UnaryOp::Tanh, m)?])
            },
            order: 2,
        },
        Case {
            name: "dot_general batch dims anywhere",
            params: vec![
                spread(&[3, 2, 4, 5], -1.0, 1.0, 0.2),
                spread(&[4, 5, 3, 6], -1.0, 1.0, 0.5),
            ],
            build: |f, p| {
                // lhs [k=3? no: c=3, b=2, b2=4, c2=5]; rhs [b2=4, c2=5, c=3, f=6]
                let d = DotDims {
                    lhs_batch: Dims::from_slice(&[2]),
                    rhs_batch: Dims::from_slice(&[0]),
                    lhs_contract: Dims::from_slice(&[3, 0]),
                    rhs_contract: Dims::from_slice(&[1, 2]),
                };
                let m = push(f, Op::DotGeneral(Box::new(d)), &[p[0], p[1]])?;
                Ok(vec![bin(f, BinaryOp::Mul, m, m)?])
            },
            order: 2,
        },
        Case {
            name: "gather + scatter_add",
            params: vec![spread(&[4, 3], -1.0, 1.0, 0.2), spread(&[2, 5], -1.0, 1.0, 0.4)],
            build: |f, p| {
                let idx = Tensor::new(Shape::new(&[5]), Data::I64(vec![3, 0, 3, 1, 7])).unwrap();
                let idx = push(f, Op::Constant { value: Arc::new(idx) }, &[])?;
                let g = push(f, Op::Gather { axis: 0 }, &[p[0], idx])?;
                let g2 = bin(f, BinaryOp::Mul, g, g)?;
                // scatter updates of shape x[:1] ++ idx ++ x[2:] = [2, 5] into [2, 4]
                let x2 = push(f, Op::Transpose { perm: Dims::from_slice(&[1, 0]) }, &[p[0]])?;
                let idx4 = Tensor::new(Shape::new(&[5]), Data::I32(vec![0, 2, 2, 3, 1])).unwrap();
                let idx4 = push(f, Op::Constant { value: Arc::new(idx4) }, &[])?;
                let x2s = push(
                    f,
                    Op::Slice(Box::new(SliceAttrs {
                        start: Dims::from_slice(&[0, 0]),
                        limit: Dims::from_slice(&[2, 4]),
                        stride: Dims::from_slice(&[1, 1]),
                    })),
                    &[x2],
                )?;
                let u = bin(f, BinaryOp::Mul, p[1], p[1])?;
                let s = push(f, Op::ScatterAdd { axis: 1 }, &[x2s, idx4, u])?;
                let s2 = un(f, UnaryOp::Sin, s)?;
                Ok(vec![g2, s2])
            },
            order: 2,
        },
        Case {
            name: "stop_gradient",
            params: vec![spread(&[3], -1.0, 1.0, 0.2)],
            build: |f, p| {
                let s = push(f, Op::StopGradient, &[p[0]])?;
                let sq = bin(f, BinaryOp::Mul, p[0], p[0])?;
                // d/dx [x^2 + stop(x) x] = 2x + x; finite differences see 2x + 2x,
                // so compare the stopped term against its own constant copy.
                let k = bin(f, BinaryOp::Sub, s, s)?;
                Ok(vec![bin(f, BinaryOp::Add, sq, k)?])
            },
            order: 2,
        },
    ];
    c.push(Case {
        name: "custom_jvp (sin with its derivative as a rule)",
        params: vec![spread(&[3], -2.0, 2.0, 0.3)],
        build: |f, p| {
            let ty = Type::new(DType::F64, Shape::new(&[3]));
            let mut primal = Function::new("rule_sin");
            let x = primal.add_param(None, ty.clone())?;
            let y = un(&mut primal, UnaryOp::Sin, x)?;
            primal.set_results(vec![y])?;
            let mut jvp = Function::new("rule_sin_jvp");
            let x = jvp.add_param(None, ty.clone())?;
            let t = jvp.add_param(None, ty)?;
            let y = un(&mut jvp, UnaryOp::Sin, x)?;
            let c = un(&mut jvp, UnaryOp::Cos, x)?;
            let dy = bin(&mut jvp, BinaryOp::Mul, c, t)?;
            jvp.set_results(vec![y, dy])?;
            let rule = Arc::new(gradlift_ir::CustomRule { primal, jvp });
            let z = push(f, Op::CustomJvp(rule), &[p[0]])?;
            Ok(vec![bin(f, BinaryOp::Mul, z, p[0])?])
        },
        order: 3,
    });
    c.push(Case {
        name: "transcendental chain",
        params: vec![spread(&[2, 2], 0.2, 1.2, 0.1)],
        build: |f, p| {
            let a = un(f, UnaryOp::Exp, p[0])?;
            let b = un(f, UnaryOp::Log1p, a)?;
            let c = un(f, UnaryOp::Logistic, b)?;
            let d = un(f, UnaryOp::Rsqrt, c)?;
            Ok(vec![bin(f, BinaryOp::Pow, d, p[0])?])
        },
        order: 3,
    });
    c
}

fn build(case: &Case) -> Result<(Function, Vec<Tensor>), IrError> {
    let mut f = Function::new("case");
    let mut params = Vec::new();
    let mut args = Vec::new();
    for (shape, v) in &case.params {
        params.push(f.add_param(None, Type::new(DType::F64, Shape::new(shape)))?);
        args.push(t64(shape, v));
    }
    let results = (case.build)(&mut f, &params)?;
    f.set_results(results)?;
    gradlift_ir::verify::verify_function(&f)?;
    Ok((f, args))
}

#[test]
fn every_op_passes_gradient_checks() {
    let mut failures = Vec::new();
    for (k, case) in cases().iter().enumerate() {
        let (f, args) = match build(case) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{}: building the case failed: {e}", case.name));
                continue;
            }
        };
        if let Err(e) = check_grads(&f, &args, case.order, Modes::BOTH, k as u64) {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    assert!(failures.is_empty(), "gradient checks failed:\n{}", failures.join("\n"));
}

#[test]
fn every_op_has_a_gradient_check() {
    let mut covered = BTreeSet::new();
    for case in cases() {
        let (f, _) = build(&case).unwrap();
        for (_, node) in f.instructions() {
            covered.insert(node.op.name());
        }
    }
    let missing: Vec<&str> = Op::all_kinds().into_iter().filter(|k| !covered.contains(k)).collect();
    assert!(missing.is_empty(), "ops without a gradient check: {missing:?}");
}

/// f32 ↔ f64 conversions, checked with f32 tolerances.
#[test]
fn convert_between_float_dtypes() {
    let mut f = Function::new("conv");
    let x = f.add_param(None, Type::new(DType::F32, Shape::new(&[3]))).unwrap();
    let w = f.add_param(None, Type::new(DType::F64, Shape::new(&[3]))).unwrap();
    let xd = push(&mut f, Op::Convert { to: DType::F64 }, &[x]).unwrap();
    let p = bin(&mut f, BinaryOp::Mul, xd, w).unwrap();
    let pf = push(&mut f, Op::Convert { to: DType::F32 }, &[p]).unwrap();
    let y = bin(&mut f, BinaryOp::Mul, pf, x).unwrap();
    f.set_results(vec![y]).unwrap();
    let args = vec![
        Tensor::new(Shape::new(&[3]), Data::F32(vec![0.5, -1.25, 2.0])).unwrap(),
        t64(&[3], &[1.5, 0.25, -0.75]),
    ];
    check_grads(&f, &args, 2, Modes::BOTH, 7).unwrap();
}

/// stop_gradient: d/dx [x · stop(x)] = stop(x) = x, not 2x.
#[test]
fn stop_gradient_blocks_the_derivative() {
    let mut f = Function::new("sg");
    let x = f.add_param(None, Type::new(DType::F64, Shape::scalar())).unwrap();
    let s = push(&mut f, Op::StopGradient, &[x]).unwrap();
    let y = bin(&mut f, BinaryOp::Mul, x, s).unwrap();
    f.set_results(vec![y]).unwrap();
    let g = gradlift_compiler::ad::grad(&f, &[0], 0).unwrap();
    let out = gradlift_ir::interp::eval_function(&g, &[t64(&[], &[3.0])]).unwrap();
    assert_eq!(out[0], t64(&[], &[9.0]));
    assert_eq!(out[1], t64(&[], &[3.0]));
}
