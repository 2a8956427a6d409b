//! Every op on every dtype and on awkward shapes (scalars, size 0, size 1):
//! whenever the shape rule accepts an instance, the interpreter evaluates it
//! on random arguments (special values included) without panicking, without
//! an internal error, and with results of the declared types.

use std::sync::Arc;

use gradlift_ir::interp::eval_function;
use gradlift_ir::{
    shape, BinaryOp, CompareOp, DType, Data, Dims, DotDims, Function, Op, PadAttrs, ReduceKind,
    Shape, SliceAttrs, Tensor, Type, UnaryOp,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SHAPES: &[&[usize]] = &[&[], &[0], &[1], &[3], &[2, 0], &[0, 3], &[2, 3], &[1, 3, 1]];

fn dims(d: impl IntoIterator<Item = usize>) -> Dims {
    d.into_iter().collect()
}

fn random_tensor(ty: &Type, rng: &mut ChaCha8Rng) -> Tensor {
    let n = ty.shape.size();
    const F: [f64; 8] =
        [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 1e300, -1e-310, 2.5];
    let float = |rng: &mut ChaCha8Rng| {
        if rng.gen_bool(0.3) {
            F[rng.gen_range(0..F.len())]
        } else {
            rng.gen_range(-10.0..10.0)
        }
    };
    let int = |rng: &mut ChaCha8Rng| match rng.gen_range(0..4) {
        0 => i64::MIN,
        1 => i64::MAX,
        _ => rng.gen_range(-5..5),
    };
    let data = match ty.dtype {
        DType::F32 => Data::F32((0..n).map(|_| float(rng) as f32).collect()),
        DType::F64 => Data::F64((0..n).map(|_| float(rng)).collect()),
        DType::I32 => Data::I32((0..n).map(|_| int(rng) as i32).collect()),
        DType::I64 => Data::I64((0..n).map(|_| int(rng)).collect()),
        DType::Bool => Data::Bool((0..n).map(|_| rng.gen_bool(0.5)).collect()),
    };
    Tensor::new(ty.shape.clone(), data).unwrap()
}

/// Instances of op `kind` on operands of shape `s` and dtype `a` (`b`: the
/// target of convert, the index dtype of gather/scatter_add). Some are
/// rejected by the shape rule; the caller skips those.
fn instances(
    kind: &str,
    a: DType,
    b: DType,
    s: &[usize],
    rng: &mut ChaCha8Rng,
) -> Vec<(Op, Vec<Type>)> {
    let r = s.len();
    let t = Type::new(a, s);
    let last = r.saturating_sub(1);
    let mut out: Vec<(Op, Vec<Type>)> = Vec::new();
    match kind {
        "constant" => {
            let value = Arc::new(random_tensor(&t, rng));
            out.push((Op::Constant { value }, vec![]));
        }
        "iota" => {
            for axis in 0..r.max(1) {
                out.push((Op::Iota { dtype: a, shape: Shape::new(s), axis }, vec![]));
            }
        }
        "select" => out.push((Op::Select, vec![Type::new(DType::Bool, s), t.clone(), t])),
        "convert" => out.push((Op::Convert { to: b }, vec![t])),
        "broadcast_in_dim" => {
            let mut wide = vec![2];
            wide.extend(s.iter().map(|&d| if d == 1 { 3 } else { d }));
            let op = Op::BroadcastInDim { shape: Shape::new(&wide), dims: dims(1..=r) };
            out.push((op, vec![t]));
        }
        "reshape" => {
            let n = s.iter().product::<usize>();
            out.push((Op::Reshape { shape: Shape::new(&[n]) }, vec![t.clone()]));
            let mut one = vec![1];
            one.extend_from_slice(s);
            out.push((Op::Reshape { shape: Shape::new(&one) }, vec![t]));
        }
        "transpose" => out.push((Op::Transpose { perm: dims((0..r).rev()) }, vec![t])),
        "slice" => {
            for start in [dims(s.iter().map(|_| 0)), dims(s.iter().map(|&d| d / 2))] {
                let attrs = SliceAttrs {
                    start,
                    limit: dims(s.iter().copied()),
                    stride: dims(s.iter().map(|_| 2)),
                };
                out.push((Op::Slice(Box::new(attrs)), vec![t.clone()]));
            }
        }
        "concatenate" => {
            out.push((Op::Concatenate { axis: 0 }, vec![t.clone(), t.clone(), t.clone()]));
            out.push((Op::Concatenate { axis: last }, vec![t]));
        }
        "pad" => {
            for (lo, hi, interior) in [(-1, 2, 1), (1, -1, 0), (-2, -2, 3)] {
                let attrs = PadAttrs {
                    low: s.iter().map(|_| lo).collect(),
                    high: s.iter().map(|_| hi).collect(),
                    interior: dims(s.iter().map(|_| interior)),
                };
                out.push((Op::Pad(Box::new(attrs)), vec![t.clone(), Type::scalar(a)]));
            }
        }
        "reverse" => out.push((Op::Reverse { axes: dims(0..r) }, vec![t])),
        "argmax" => out.push((Op::Argmax { axis: last }, vec![t])),
        "dot_general" => {
            // Contract the last dim with a [last, 2] rhs; and batch over dim 0
            // contracting the last dim with an operand of the same shape.
            let rhs = Type::new(a, [s.last().copied().unwrap_or(1), 2]);
            let contract = DotDims {
                lhs_batch: dims([]),
                rhs_batch: dims([]),
                lhs_contract: dims([last]),
                rhs_contract: dims([0]),
            };
            out.push((Op::DotGeneral(Box::new(contract)), vec![t.clone(), rhs]));
            let batch = DotDims {
                lhs_batch: dims([0]),
                rhs_batch: dims([0]),
                lhs_contract: dims([last]),
                rhs_contract: dims([last]),
            };
            out.push((Op::DotGeneral(Box::new(batch)), vec![t.clone(), t]));
        }
        "gather" | "scatter_add" => {
            for (axis, idx_shape) in [(0, vec![2]), (last, vec![]), (last, vec![0, 2])] {
                let idx = Type::new(b, Shape::new(&idx_shape));
                if kind == "gather" {
                    out.push((Op::Gather { axis }, vec![t.clone(), idx]));
                } else if axis < r {
                    let mut u: Vec<usize> = s[..axis].to_vec();
                    u.extend_from_slice(&idx_shape);
                    u.extend_from_slice(&s[axis + 1..]);
                    let upd = Type::new(a, Shape::new(&u));
                    out.push((Op::ScatterAdd { axis }, vec![t.clone(), idx, upd]));
                }
            }
        }
        "stop_gradient" => out.push((Op::StopGradient, vec![t])),
        "custom_jvp" => {
            if t.dtype.is_numeric() {
                let mut primal = gradlift_ir::Function::new("p");
                let x = primal.add_param(None, t.clone()).unwrap();
                let y = primal.push(Op::Unary(UnaryOp::Neg), &[x], None).unwrap();
                primal.set_results(vec![y]).unwrap();
                let mut jvp = gradlift_ir::Function::new("j");
                let x = jvp.add_param(None, t.clone()).unwrap();
                let dx = jvp.add_param(None, t.clone()).unwrap();
                let y = jvp.push(Op::Unary(UnaryOp::Neg), &[x], None).unwrap();
                let dy = jvp.push(Op::Unary(UnaryOp::Neg), &[dx], None).unwrap();
                jvp.set_results(vec![y, dy]).unwrap();
                let rule = Arc::new(gradlift_ir::CustomRule { primal, jvp });
                out.push((Op::CustomJvp(rule), vec![t]));
            }
        }
        name => {
            if let Some(u) = UnaryOp::ALL.iter().find(|u| u.name() == name) {
                out.push((Op::Unary(*u), vec![t]));
            } else if let Some(op) = BinaryOp::ALL.iter().find(|o| o.name() == name) {
                out.push((Op::Binary(*op), vec![t.clone(), t]));
            } else if let Some(c) = CompareOp::ALL.iter().find(|c| c.name() == name) {
                out.push((Op::Compare(*c), vec![t.clone(), t]));
            } else if let Some(k) = ReduceKind::ALL.iter().find(|k| k.name() == name) {
                for axes in [dims([]), dims(0..r), dims([last])] {
                    out.push((Op::Reduce { kind: *k, axes }, vec![t.clone()]));
                }
            } else {
                panic!("no instances for op {name}");
            }
        }
    }
    out
}

#[test]
fn every_accepted_instance_evaluates() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut evaluated = 0usize;
    for kind in Op::all_kinds() {
        let mut evaluated_kind = 0usize;
        let second: &[DType] = if matches!(kind, "convert" | "gather" | "scatter_add") {
            &DType::ALL
        } else {
            &[DType::I64]
        };
        for a in DType::ALL {
            for &b in second {
                for s in SHAPES {
                    for (op, tys) in instances(kind, a, b, s, &mut rng) {
                        let refs: Vec<&Type> = tys.iter().collect();
                        if shape::infer(&op, &refs).is_err() {
                            continue;
                        }
                        let mut f = Function::new("probe");
                        let params: Vec<_> =
                            tys.iter().map(|t| f.add_param(None, t.clone()).unwrap()).collect();
                        let v = f.push(op.clone(), &params, None).unwrap();
                        f.set_results(vec![v]).unwrap();
                        let args: Vec<Tensor> =
                            tys.iter().map(|t| random_tensor(t, &mut rng)).collect();
                        let out = eval_function(&f, &args)
                            .unwrap_or_else(|e| panic!("{op:?} on {tys:?}: {e}"));
                        assert_eq!(out[0].ty(), *f.ty(v), "{op:?} on {tys:?}");
                        evaluated_kind += 1;
                    }
                }
            }
        }
        assert!(evaluated_kind > 0, "{kind}: no instance was accepted");
        evaluated += evaluated_kind;
    }
    eprintln!("evaluated {evaluated} op instances");
}
