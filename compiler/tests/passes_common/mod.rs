//! Helpers shared by the `passes_*` tests: random arguments with special
//! values, result comparison by bits, and a rewriter that hides a random
//! function's values behind exact identities (and a few near-identities
//! that are not exact), so that the passes have something to remove.

#![allow(dead_code)]

pub mod models;

use std::sync::Arc;

use gradlift_ir::interp::eval_function;
use gradlift_ir::text::print_function;
use gradlift_ir::{
    BinaryOp, DType, Data, Dims, Function, Op, ReduceKind, Shape, SliceAttrs, Tensor, Type,
    UnaryOp, Value,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How results are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Every element has the same bits, NaN payloads included.
    Bits,
    /// The same bits, except that any NaN matches any NaN (the IR leaves
    /// the sign and payload of a NaN an op returns unspecified).
    BitsNanAsOne,
}

/// `None` if `a` and `b` agree under `how`, else a description of the
/// first difference.
pub fn compare(a: &[Tensor], b: &[Tensor], how: Compare) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} results vs {}", a.len(), b.len()));
    }
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        if x.ty() != y.ty() {
            return Some(format!("result {k}: {} vs {}", x.ty(), y.ty()));
        }
        let bits = |t: &Tensor| -> Vec<(u64, bool)> {
            match t.data() {
                Data::F32(v) => v.iter().map(|x| (u64::from(x.to_bits()), x.is_nan())).collect(),
                Data::F64(v) => v.iter().map(|x| (x.to_bits(), x.is_nan())).collect(),
                Data::I32(v) => v.iter().map(|&x| (x as u64, false)).collect(),
                Data::I64(v) => v.iter().map(|&x| (x as u64, false)).collect(),
                Data::Bool(v) => v.iter().map(|&x| (u64::from(x), false)).collect(),
            }
        };
        for (i, (p, q)) in bits(x).into_iter().zip(bits(y)).enumerate() {
            let same = p.0 == q.0 || (how == Compare::BitsNanAsOne && p.1 && q.1);
            if !same {
                return Some(format!("result {k} element {i}: bits {:#x} vs {:#x}", p.0, q.0));
            }
        }
    }
    None
}

/// One random argument per parameter, with special values mixed in.
pub fn random_args(f: &Function, seed: u64) -> Vec<Tensor> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_a265);
    f.param_types().iter().map(|ty| random_tensor(&mut rng, ty)).collect()
}

pub fn random_tensor(rng: &mut ChaCha8Rng, ty: &Type) -> Tensor {
    let n = ty.shape.size();
    let data = match ty.dtype {
        DType::F32 => Data::F32((0..n).map(|_| special_f64(rng) as f32).collect()),
        DType::F64 => Data::F64((0..n).map(|_| special_f64(rng)).collect()),
        DType::I32 => Data::I32((0..n).map(|_| special_int(rng) as i32).collect()),
        DType::I64 => Data::I64((0..n).map(|_| special_int(rng)).collect()),
        DType::Bool => Data::Bool((0..n).map(|_| rng.gen()).collect()),
    };
    Tensor::new(ty.shape.clone(), data).unwrap()
}

fn special_f64(rng: &mut ChaCha8Rng) -> f64 {
    if rng.gen_bool(0.2) {
        *[0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN, 1.0, -1.0, 1e-310]
            .choose(rng)
            .unwrap()
    } else {
        rng.gen_range(-3.0..3.0)
    }
}

fn special_int(rng: &mut ChaCha8Rng) -> i64 {
    if rng.gen_bool(0.1) {
        *[i64::from(i32::MIN), i64::from(i32::MAX), 0, -1, 1].choose(rng).unwrap()
    } else {
        rng.gen_range(-5..=5)
    }
}

/// Evaluates with the reference interpreter.
pub fn eval(f: &Function, args: &[Tensor]) -> Result<Vec<Tensor>, String> {
    eval_function(f, args).map_err(|e| format!("{e}\n{}", print_function(f)))
}

/// A scalar literal of `dtype` holding `x` (bool: `x != 0`).
pub fn scalar(dtype: DType, x: f64) -> Tensor {
    let data = match dtype {
        DType::F32 => Data::F32(vec![x as f32]),
        DType::F64 => Data::F64(vec![x]),
        DType::I32 => Data::I32(vec![x as i32]),
        DType::I64 => Data::I64(vec![x as i64]),
        DType::Bool => Data::Bool(vec![x != 0.0]),
    };
    Tensor::new(Shape::scalar(), data).unwrap()
}

/// `x` broadcast to `shape` (a scalar constant and a broadcast).
pub fn splat(f: &mut Function, dtype: DType, x: f64, shape: &Shape) -> Value {
    let c = f.push(Op::Constant { value: Arc::new(scalar(dtype, x)) }, &[], None).unwrap();
    if shape.rank() == 0 {
        return c;
    }
    f.push(Op::BroadcastInDim { shape: shape.clone(), dims: Dims::new() }, &[c], None).unwrap()
}

/// A copy of `f` in which, with probability `p`, each value is replaced
/// (for all later uses) by an expression equal to it: `x·1`, `x + -0.0`,
/// `neg(neg(x))`, a reshape round trip, a duplicate of its node, ... and
/// sometimes by a near-identity that is *not* exact (`x + 0.0`, `x·0`,
/// `reduce_sum` over a broadcast), which the passes must keep.
pub fn add_redundancy(f: &Function, seed: u64, p: f64) -> Function {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0dd_ba11);
    let mut g = Function::new(f.name());
    let mut map: Vec<Value> = Vec::with_capacity(f.len());
    for v in f.params() {
        let nv = g.add_param(f.value_name(v), f.ty(v).clone()).unwrap();
        map.push(nv);
    }
    for (v, node) in f.instructions() {
        let args: Vec<Value> = node.args.iter().map(|a| map[a.index()]).collect();
        let nv = g.push(node.op.clone(), &args, f.loc(v).cloned()).unwrap();
        g.set_value_name(nv, f.value_name(v)).unwrap();
        let mut x = nv;
        if rng.gen_bool(p) {
            if let Some(y) = disguise(&mut g, &mut rng, x) {
                x = y;
            }
        }
        if rng.gen_bool(p / 2.0) {
            // A duplicate of the node for CSE to find.
            if let Ok(d) = g.push(node.op.clone(), &args, None) {
                x = if rng.gen() { d } else { x };
            }
        }
        map.push(x);
    }
    let results = f.results().iter().map(|r| map[r.index()]).collect();
    g.set_results(results).unwrap();
    g
}

/// An expression equal (or, rarely, nearly equal) to `x`.
fn disguise(g: &mut Function, rng: &mut ChaCha8Rng, x: Value) -> Option<Value> {
    let ty = g.ty(x).clone();
    let (dt, shape) = (ty.dtype, ty.shape.clone());
    let numeric = dt.is_numeric();
    let float = dt.is_float();
    let push = |g: &mut Function, op: Op, args: &[Value]| g.push(op, args, None).ok();
    match rng.gen_range(0..22) {
        0 if numeric => {
            let one = splat(g, dt, 1.0, &shape);
            let (a, b) = if rng.gen() { (x, one) } else { (one, x) };
            push(g, Op::Binary(BinaryOp::Mul), &[a, b])
        }
        1 if numeric => {
            let z = splat(g, dt, -0.0, &shape);
            push(g, Op::Binary(BinaryOp::Add), &[z, x])
        }
        2 if numeric => {
            let z = splat(g, dt, 0.0, &shape);
            push(g, Op::Binary(BinaryOp::Sub), &[x, z])
        }
        3 if numeric => {
            let n = push(g, Op::Unary(UnaryOp::Neg), &[x])?;
            push(g, Op::Unary(UnaryOp::Neg), &[n])
        }
        4 => {
            let flat = Shape::new(&[shape.size()]);
            let r = push(g, Op::Reshape { shape: flat }, &[x])?;
            push(g, Op::Reshape { shape }, &[r])
        }
        5 if ty.rank() >= 2 => {
            let mut perm: Dims = (0..ty.rank()).collect();
            perm.shuffle(rng);
            let mut inv: Dims = perm.clone();
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            let t = push(g, Op::Transpose { perm }, &[x])?;
            push(g, Op::Transpose { perm: inv }, &[t])
        }
        6 if dt == DType::F32 || dt == DType::I32 || dt == DType::Bool => {
            let via = if dt == DType::I32 { DType::I64 } else { DType::F64 };
            let c = push(g, Op::Convert { to: via }, &[x])?;
            push(g, Op::Convert { to: dt }, &[c])
        }
        7 => {
            // Broadcast with a new leading dim of 3, then a second broadcast on top.
            let mut big = vec![3];
            big.extend_from_slice(shape.dims());
            let dims: Dims = (1..=ty.rank()).collect();
            let b = push(g, Op::BroadcastInDim { shape: Shape::new(&big), dims }, &[x])?;
            let mut bigger = vec![2];
            bigger.extend_from_slice(&big);
            let dims2: Dims = (1..=big.len()).collect();
            let b2 = push(g, Op::BroadcastInDim { shape: Shape::new(&bigger), dims: dims2 }, &[b])?;
            if numeric {
                let kind = *[ReduceKind::Max, ReduceKind::Min].choose(rng).unwrap();
                push(g, Op::Reduce { kind, axes: Dims::from_slice(&[1, 0]) }, &[b2])
            } else {
                let slice = SliceAttrs {
                    start: std::iter::repeat_n(0, bigger.len()).collect(),
                    limit: std::iter::once(1)
                        .chain(std::iter::once(1))
                        .chain(shape.dims().iter().copied())
                        .collect(),
                    stride: std::iter::repeat_n(1, bigger.len()).collect(),
                };
                let s = push(g, Op::Slice(Box::new(slice)), &[b2])?;
                push(g, Op::Reshape { shape }, &[s])
            }
        }
        8 => {
            let s = push(g, Op::StopGradient, &[x])?;
            push(g, Op::StopGradient, &[s])
        }
        9 => {
            let p = splat(g, DType::Bool, 1.0, &shape);
            let other = splat(g, dt, 0.0, &shape);
            push(g, Op::Select, &[p, x, other])
        }
        10 if ty.rank() >= 1 => {
            let axes: Dims = (0..ty.rank()).filter(|_| rng.gen()).collect();
            let r = push(g, Op::Reverse { axes: axes.clone() }, &[x])?;
            push(g, Op::Reverse { axes }, &[r])
        }
        11 if ty.rank() >= 1 => {
            let slice = SliceAttrs {
                start: std::iter::repeat_n(0, ty.rank()).collect(),
                limit: shape.0.clone(),
                stride: std::iter::repeat_n(1, ty.rank()).collect(),
            };
            push(g, Op::Slice(Box::new(slice)), &[x])
        }
        12 if ty.rank() >= 1 => push(g, Op::Concatenate { axis: 0 }, &[x]),
        13 => push(g, Op::Reduce { kind: ReduceKind::Max, axes: Dims::new() }, &[x]).or(Some(x)),
        14 if numeric => {
            let one = splat(g, dt, 1.0, &shape);
            push(g, Op::Binary(BinaryOp::Div), &[x, one])
        }
        15 if dt.is_bool() || dt.is_int() => {
            let ones = splat(g, dt, -1.0, &shape);
            push(g, Op::Binary(BinaryOp::And), &[x, ones])
        }
        16 => {
            let p = push(g, Op::Compare(gradlift_ir::CompareOp::Ne), &[x, x])?;
            let np = push(g, Op::Unary(UnaryOp::Not), &[p])?;
            push(g, Op::Select, &[np, x, x])
        }
        // Near-identities that are not exact: the passes must keep them.
        17 if numeric => {
            let z = splat(g, dt, 0.0, &shape);
            push(g, Op::Binary(BinaryOp::Add), &[x, z])
        }
        18 if numeric => {
            let z = splat(g, dt, 0.0, &shape);
            push(g, Op::Binary(BinaryOp::Mul), &[x, z])
        }
        19 if numeric => {
            let mut big = shape.0.to_vec();
            big.push(2);
            let dims: Dims = (0..ty.rank()).collect();
            let b = push(g, Op::BroadcastInDim { shape: Shape::new(&big), dims }, &[x])?;
            push(
                g,
                Op::Reduce { kind: ReduceKind::Sum, axes: Dims::from_slice(&[ty.rank()]) },
                &[b],
            )
        }
        20 if float => {
            let mut big = shape.0.to_vec();
            big.push(1);
            let dims: Dims = (0..ty.rank()).collect();
            let b = push(g, Op::BroadcastInDim { shape: Shape::new(&big), dims }, &[x])?;
            push(
                g,
                Op::Reduce { kind: ReduceKind::Sum, axes: Dims::from_slice(&[ty.rank()]) },
                &[b],
            )
        }
        21 if numeric => {
            let n = push(g, Op::Unary(UnaryOp::Neg), &[x])?;
            let a = push(g, Op::Binary(BinaryOp::Add), &[x, n])?;
            push(g, Op::Binary(BinaryOp::Sub), &[a, n])
        }
        _ => None,
    }
}
