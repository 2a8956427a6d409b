//! Every op a kernel body may contain, compiled by the JIT and compared
//! with the reference interpreter: every dtype the op accepts, awkward
//! lengths (not multiples of the vector width, 0 and 1), views
//! (broadcast, transpose, strided slice, reverse, reshape), iota,
//! constants, reductions of every kind and layout, special values. Each
//! kernel also runs over a random split of its work units and must give
//! the same bits.

mod codegen_support;

use codegen_support::{check, compile, random_args, rng, Body, Values};
use gradlift_compiler::codegen::{clif_text, KernelCompiler};
use gradlift_compiler::fusion::KernelKind;
use gradlift_compiler::CompileError;
use gradlift_ir::{BinaryOp, CompareOp, DType, DotDims, Function, Op, ReduceKind, Tensor, UnaryOp};

const LENGTHS: [usize; 9] = [0, 1, 3, 4, 5, 7, 16, 1023, 4099];

/// Compiles all bodies in one module and checks each on `reps` random
/// argument sets.
fn check_all(bodies: &[Function], values: Values, reps: usize, seed: u64) {
    let refs: Vec<&Function> = bodies.iter().collect();
    let kernels = compile(&refs);
    let mut r = rng(seed);
    for (k, body) in kernels.iter().zip(bodies) {
        for _ in 0..reps {
            let args = random_args(&mut r, body, values);
            if let Err(e) = check(k, body, &args, &mut r) {
                panic!("@{}: {e}\nargs: {args:?}", body.name());
            }
        }
    }
}

fn accepts(u: UnaryOp, dt: DType) -> bool {
    u.dtypes().accepts(dt)
}

#[test]
fn unary_ops_every_dtype_and_length() {
    let mut bodies = Vec::new();
    for u in UnaryOp::ALL {
        for dt in DType::ALL {
            if !accepts(u, dt) {
                continue;
            }
            for n in LENGTHS {
                let mut b = Body::new(&format!("{}_{dt}_{n}", u.name()));
                let x = b.param(dt, &[n]);
                let y = b.unary(u, x);
                bodies.push(b.finish(&[y]));
            }
        }
    }
    check_all(&bodies, Values::Special, 2, 1);
}

#[test]
fn binary_ops_every_dtype_and_length() {
    let mut bodies = Vec::new();
    for op in BinaryOp::ALL {
        for dt in DType::ALL {
            if !op.dtypes().accepts(dt) {
                continue;
            }
            for n in LENGTHS {
                let mut b = Body::new(&format!("{}_{dt}_{n}", op.name()));
                let x = b.param(dt, &[n]);
                let y = b.param(dt, &[n]);
                let z = b.binary(op, x, y);
                bodies.push(b.finish(&[z]));
            }
        }
    }
    check_all(&bodies, Values::Special, 2, 2);
}

#[test]
fn integer_division_edge_cases() {
    for dt in [DType::I32, DType::I64] {
        let (min, n) = if dt == DType::I32 { (i32::MIN as i64, 8) } else { (i64::MIN, 8) };
        let xs = vec![7, -7, min, min, 5, 0, -1, min];
        let ys = vec![0, 2, -1, 0, -3, 0, -1, 1];
        let mk = |v: &[i64]| match dt {
            DType::I32 => Tensor::from_vec([n], v.iter().map(|&x| x as i32).collect()).unwrap(),
            _ => Tensor::from_vec([n], v.to_vec()).unwrap(),
        };
        for op in [BinaryOp::Div, BinaryOp::Rem] {
            let mut b = Body::new("divrem");
            let x = b.param(dt, &[n]);
            let y = b.param(dt, &[n]);
            let z = b.binary(op, x, y);
            let body = b.finish(&[z]);
            let k = compile(&[&body]);
            check(&k[0], &body, &[mk(&xs), mk(&ys)], &mut rng(3)).unwrap();
        }
    }
}

#[test]
fn compare_and_logic_every_dtype() {
    let mut bodies = Vec::new();
    for c in CompareOp::ALL {
        for dt in DType::ALL {
            for n in [1, 6, 13] {
                let mut b = Body::new(&format!("{}_{dt}_{n}", c.name()));
                let x = b.param(dt, &[n]);
                let y = b.param(dt, &[n]);
                let z = b.compare(c, x, y);
                // Use the bool too: logic ops and a select.
                let w = b.unary(UnaryOp::Not, z);
                let o = b.binary(BinaryOp::Or, z, w);
                let s = b.select(z, x, y);
                bodies.push(b.finish(&[z, o, s]));
            }
        }
    }
    check_all(&bodies, Values::Special, 3, 4);
}

#[test]
fn select_every_dtype() {
    let mut bodies = Vec::new();
    for dt in DType::ALL {
        for n in [1, 5, 8, 33] {
            let mut b = Body::new(&format!("select_{dt}_{n}"));
            let p = b.param(DType::Bool, &[n]);
            let x = b.param(dt, &[n]);
            let y = b.param(dt, &[n]);
            let s = b.select(p, x, y);
            bodies.push(b.finish(&[s]));
            // A predicate computed from 64-bit compares selecting 32-bit values
            // and the other way round (mask width conversions).
            let other = if dt.size_bytes() == 8 { DType::F32 } else { DType::F64 };
            let mut b = Body::new(&format!("select_mixed_{dt}_{n}"));
            let u = b.param(other, &[n]);
            let v = b.param(other, &[n]);
            let x = b.param(dt, &[n]);
            let y = b.param(dt, &[n]);
            let p = b.compare(CompareOp::Lt, u, v);
            let s = b.select(p, x, y);
            bodies.push(b.finish(&[s, p]));
        }
    }
    check_all(&bodies, Values::Special, 3, 5);
}

#[test]
fn convert_every_pair() {
    let mut bodies = Vec::new();
    for from in DType::ALL {
        for to in DType::ALL {
            for n in [1, 4, 7, 18] {
                let mut b = Body::new(&format!("convert_{from}_{to}_{n}"));
                let x = b.param(from, &[n]);
                let y = b.convert(x, to);
                bodies.push(b.finish(&[y]));
            }
        }
    }
    check_all(&bodies, Values::Special, 4, 6);
}

#[test]
fn broadcasts() {
    let mut bodies = Vec::new();
    for dt in [DType::F32, DType::F64, DType::I32, DType::Bool] {
        // scalar -> tensor
        let mut b = Body::new("scalar_to_tensor");
        let s = b.param(dt, &[]);
        let x = b.broadcast(s, &[], &[3, 5]);
        bodies.push(b.finish(&[x]));
        // [3,1] -> [3,4], combined with a full operand
        let mut b = Body::new("col_to_matrix");
        let c = b.param(dt, &[3, 1]);
        let m = b.param(dt, &[3, 4]);
        let cb = b.broadcast(c, &[0, 1], &[3, 4]);
        let z = if dt == DType::Bool {
            b.binary(BinaryOp::And, cb, m)
        } else {
            b.binary(BinaryOp::Max, cb, m)
        };
        bodies.push(b.finish(&[z]));
        // new leading dims, row vector along the last axis
        let mut b = Body::new("leading_dims");
        let r = b.param(dt, &[7]);
        let m = b.param(dt, &[2, 3, 7]);
        let rb = b.broadcast(r, &[2], &[2, 3, 7]);
        let z = b.select_or_max(dt, rb, m);
        bodies.push(b.finish(&[z]));
        // broadcast along the middle, size-1 operand dims in the middle
        let mut b = Body::new("middle");
        let r = b.param(dt, &[5, 1, 6]);
        let rb = b.broadcast(r, &[0, 2, 3], &[5, 4, 1, 6]);
        bodies.push(b.finish(&[rb]));
    }
    check_all(&bodies, Values::Special, 2, 7);
}

trait MaxOrAnd {
    fn select_or_max(
        &mut self,
        dt: DType,
        x: gradlift_ir::Value,
        y: gradlift_ir::Value,
    ) -> gradlift_ir::Value;
}

impl MaxOrAnd for Body {
    fn select_or_max(
        &mut self,
        dt: DType,
        x: gradlift_ir::Value,
        y: gradlift_ir::Value,
    ) -> gradlift_ir::Value {
        if dt == DType::Bool {
            self.binary(BinaryOp::Or, x, y)
        } else {
            self.binary(BinaryOp::Add, x, y)
        }
    }
}

#[test]
fn transposes_slices_reverses_reshapes() {
    let mut bodies = Vec::new();
    for dt in [DType::F32, DType::F64, DType::I64, DType::Bool] {
        let mut b = Body::new("transpose2d");
        let x = b.param(dt, &[5, 7]);
        let t = b.transpose(x, &[1, 0]);
        bodies.push(b.finish(&[t]));

        let mut b = Body::new("transpose3d_plus");
        let x = b.param(dt, &[3, 4, 5]);
        let y = b.param(dt, &[5, 3, 4]);
        let t = b.transpose(x, &[2, 0, 1]);
        let z = b.select_or_max(dt, t, y);
        bodies.push(b.finish(&[z]));

        let mut b = Body::new("strided_slice");
        let x = b.param(dt, &[20, 9]);
        let s = b.slice(x, &[1, 2], &[20, 9], &[3, 2]);
        bodies.push(b.finish(&[s]));

        let mut b = Body::new("slice_1d_contiguous");
        let x = b.param(dt, &[1030]);
        let s = b.slice(x, &[3], &[1030], &[1]);
        bodies.push(b.finish(&[s]));

        let mut b = Body::new("reverse");
        let x = b.param(dt, &[6, 11]);
        let r0 = b.reverse(x, &[1]);
        let r1 = b.reverse(x, &[0, 1]);
        let r2 = b.reverse(x, &[0]);
        bodies.push(b.finish(&[r0, r1, r2]));

        let mut b = Body::new("reshape_split");
        let x = b.param(dt, &[6, 10]);
        let s = b.reshape(x, &[2, 3, 10]);
        bodies.push(b.finish(&[s]));

        let mut b = Body::new("reshape_merge_split");
        let x = b.param(dt, &[6, 10]);
        let m = b.reshape(x, &[60]);
        let ms = b.reshape(m, &[3, 20]);
        bodies.push(b.finish(&[ms]));

        let mut b = Body::new("transpose_then_reshape");
        let x = b.param(dt, &[4, 6]);
        let t = b.transpose(x, &[1, 0]);
        let r = b.reshape(t, &[3, 8]);
        bodies.push(b.finish(&[r]));

        let mut b = Body::new("transpose_then_flatten");
        let x = b.param(dt, &[4, 6]);
        let t = b.transpose(x, &[1, 0]);
        let r2 = b.reshape(t, &[24]);
        bodies.push(b.finish(&[r2]));

        let mut b = Body::new("reshape_then_transpose_slice_reverse");
        let x = b.param(dt, &[60]);
        let r = b.reshape(x, &[5, 12]);
        let t = b.transpose(r, &[1, 0]);
        let s = b.slice(t, &[1, 0], &[12, 5], &[2, 2]);
        let v = b.reverse(s, &[0]);
        bodies.push(b.finish(&[v]));

        let mut b = Body::new("stop_gradient");
        let x = b.param(dt, &[9]);
        let s = b.op(Op::StopGradient, &[x]);
        bodies.push(b.finish(&[s]));
    }
    check_all(&bodies, Values::Special, 2, 8);
}

#[test]
fn size_zero_and_size_one_dims() {
    let mut bodies = Vec::new();
    for shape in
        [vec![0], vec![1], vec![3, 0], vec![0, 3], vec![1, 1], vec![1, 5, 1], vec![4, 1, 3], vec![]]
    {
        let mut b = Body::new("shape");
        let x = b.param(DType::F32, &shape);
        let y = b.param(DType::F32, &shape);
        let z = b.binary(BinaryOp::Mul, x, y);
        let e = b.unary(UnaryOp::Exp, z);
        bodies.push(b.finish(&[z, e]));
        if !shape.is_empty() {
            let axes: Vec<usize> = (0..shape.len()).collect();
            for kind in ReduceKind::ALL {
                let mut b = Body::new("reduce_shape");
                let x = b.param(DType::F32, &shape);
                let r = b.reduce(kind, x, &axes);
                bodies.push(b.finish(&[r]));
                let mut b = Body::new("reduce_first_axis");
                let x = b.param(DType::I32, &shape);
                let s = b.reduce(kind, x, &axes[..1]);
                bodies.push(b.finish(&[s]));
            }
        }
    }
    check_all(&bodies, Values::Special, 2, 9);
}

#[test]
fn iota_every_dtype_and_axis() {
    let mut bodies = Vec::new();
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
        for (shape, axis) in [(vec![9], 0), (vec![3, 5], 0), (vec![3, 5], 1), (vec![2, 3, 4], 1)] {
            let mut b = Body::new("iota");
            let x = b.param(dt, &shape);
            let i = b.iota(dt, &shape, axis);
            let s = b.binary(BinaryOp::Add, i, x);
            bodies.push(b.finish(&[i, s]));
        }
        // iota seen through a reshape and a reverse (non-affine index math)
        let mut b = Body::new("iota_views");
        let i = b.iota(dt, &[4, 6], 1);
        let r = b.reshape(i, &[24]);
        let v = b.reverse(r, &[0]);
        bodies.push(b.finish(&[v]));
        let mut b = Body::new("iota_transposed");
        let i = b.iota(dt, &[4, 6], 1);
        let t = b.transpose(i, &[1, 0]);
        let tr = b.reshape(t, &[3, 8]);
        bodies.push(b.finish(&[tr]));
    }
    check_all(&bodies, Values::Tame, 1, 10);
}

#[test]
fn constants_scalar_and_embedded() {
    let mut bodies = Vec::new();
    for dt in DType::ALL {
        let mut b = Body::new("scalar_const");
        let x = b.param(dt, &[10]);
        let c = b.scalar(dt, 3.0);
        let cb = b.broadcast(c, &[], &[10]);
        let z = b.select_or_max(dt, x, cb);
        bodies.push(b.finish(&[z, cb]));
    }
    let t = Tensor::from_vec([2, 3], vec![1.5f32, -2.0, f32::NAN, 0.0, -0.0, 7.0]).unwrap();
    let mut b = Body::new("embedded_const");
    let x = b.param(DType::F32, &[2, 3]);
    let c = b.constant(t);
    let ct = b.transpose(c, &[1, 0]);
    let xt = b.transpose(x, &[1, 0]);
    let z = b.binary(BinaryOp::Mul, ct, xt);
    bodies.push(b.finish(&[z]));
    let tb = Tensor::from_vec([5], vec![true, false, false, true, true]).unwrap();
    let mut b = Body::new("embedded_bool");
    let x = b.param(DType::I32, &[5]);
    let y = b.param(DType::I32, &[5]);
    let c = b.constant(tb);
    let s = b.select(c, x, y);
    bodies.push(b.finish(&[s, c]));
    let splat = Tensor::full([4, 4], 2.5f64).unwrap();
    let mut b = Body::new("splat_const");
    let x = b.param(DType::F64, &[4, 4]);
    let c = b.constant(splat);
    let z = b.binary(BinaryOp::Sub, x, c);
    bodies.push(b.finish(&[z]));
    check_all(&bodies, Values::Special, 2, 11);
}

#[test]
fn reductions_every_kind_layout_dtype() {
    let mut bodies = Vec::new();
    let layouts: Vec<(Vec<usize>, Vec<usize>)> = vec![
        (vec![37], vec![0]),
        (vec![4, 9], vec![1]),
        (vec![9, 4], vec![0]),
        (vec![9, 6], vec![0]),
        (vec![3, 5, 7], vec![0, 2]),
        (vec![3, 5, 7], vec![1]),
        (vec![3, 5, 7], vec![0, 1, 2]),
        (vec![6, 5, 9], vec![0, 1]),
        (vec![2, 3, 1, 5], vec![2]),
        (vec![130, 3], vec![0]),
        (vec![3, 1030], vec![1]),
    ];
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
        for (shape, axes) in &layouts {
            for kind in ReduceKind::ALL {
                let mut b = Body::new(&format!("{}_{dt}_{shape:?}_{axes:?}", kind.name()));
                let x = b.param(dt, shape);
                let r = b.reduce(kind, x, axes);
                bodies.push(b.finish(&[r]));
            }
        }
    }
    check_all(&bodies, Values::Tame, 2, 12);
    // Special values (NaN, inf, ±0) for max/min; products and sums of
    // specials only where they stay meaningful.
    let mut bodies = Vec::new();
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
        for (shape, axes) in &layouts {
            for kind in [ReduceKind::Max, ReduceKind::Min, ReduceKind::Sum] {
                let mut b = Body::new(&format!("special_{}_{dt}_{shape:?}_{axes:?}", kind.name()));
                let x = b.param(dt, shape);
                let r = b.reduce(kind, x, axes);
                bodies.push(b.finish(&[r]));
            }
        }
    }
    check_all(&bodies, Values::Special, 2, 13);
}

#[test]
fn negative_zero_sum_over_size_one_axis() {
    let mut b = Body::new("neg_zero");
    let x = b.param(DType::F32, &[3, 1]);
    let r = b.reduce(ReduceKind::Sum, x, &[1]);
    let m = b.reduce(ReduceKind::Max, x, &[1]);
    let body = b.finish(&[r, m]);
    let k = compile(&[&body]);
    let x = Tensor::from_vec([3, 1], vec![-0.0f32, 1.0, f32::NAN]).unwrap();
    check(&k[0], &body, &[x], &mut rng(14)).unwrap();
}

#[test]
fn sibling_reductions_with_side_outputs() {
    // Σσ(x) and Σσ(x)(1-σ(x)) in one pass, plus σ(x) itself, plus an
    // integer count of positives: several dtypes, kinds and one layout.
    let mut bodies = Vec::new();
    for (shape, axes) in [
        (vec![100_003], vec![0]),
        (vec![8, 4099], vec![1]),
        (vec![4099, 8], vec![0]),
        (vec![70_000, 3], vec![0]),
        (vec![5, 6, 7], vec![0, 2]),
        (vec![300, 500], vec![1]),
        (vec![3, 70_000], vec![1]),
    ] {
        let mut b = Body::new(&format!("siblings_{shape:?}_{axes:?}"));
        let x = b.param(DType::F32, &shape);
        let s = b.unary(UnaryOp::Logistic, x);
        let one = b.scalar(DType::F32, 1.0);
        let one = b.broadcast(one, &[], &shape);
        let om = b.binary(BinaryOp::Sub, one, s);
        let d = b.binary(BinaryOp::Mul, s, om);
        let r1 = b.reduce(ReduceKind::Sum, s, &axes);
        let r2 = b.reduce(ReduceKind::Sum, d, &axes);
        let zero = b.scalar(DType::F32, 0.0);
        let zero = b.broadcast(zero, &[], &shape);
        let pos = b.compare(CompareOp::Gt, x, zero);
        let cnt = b.convert(pos, DType::I64);
        let r3 = b.reduce(ReduceKind::Sum, cnt, &axes);
        let xd = b.convert(x, DType::F64);
        let r4 = b.reduce(ReduceKind::Max, xd, &axes);
        bodies.push(b.finish(&[r1, s, r2, r3, r4]));
    }
    check_all(&bodies, Values::Tame, 1, 15);
}

#[test]
fn large_kernels_split_into_units_deterministically() {
    let mut b = Body::new("affine");
    let n = 1 << 20;
    let x = b.param(DType::F32, &[n]);
    let a = b.scalar(DType::F32, 1.25);
    let a = b.broadcast(a, &[], &[n]);
    let c = b.scalar(DType::F32, -0.5);
    let c = b.broadcast(c, &[], &[n]);
    let m = b.binary(BinaryOp::Mul, x, a);
    let y = b.binary(BinaryOp::Add, m, c);
    let affine = b.finish(&[y]);
    let mut b = Body::new("sum_big");
    let x = b.param(DType::F32, &[n + 3]);
    let s = b.reduce(ReduceKind::Sum, x, &[0]);
    let sum = b.finish(&[s]);
    let kernels = compile(&[&affine, &sum]);
    assert!(kernels[0].units >= 32, "a 2^20 loop kernel splits: {:?}", kernels[0]);
    assert!(kernels[1].units >= 32 && kernels[1].finish.is_some(), "{:?}", kernels[1]);
    let mut r = rng(16);
    for (k, body) in kernels.iter().zip([&affine, &sum]) {
        let args = random_args(&mut r, body, Values::Tame);
        for _ in 0..4 {
            check(k, body, &args, &mut r).unwrap();
        }
    }
}

#[test]
fn kernels_are_callable_from_many_threads() {
    let mut b = Body::new("tanh_sq");
    let n = 100_000;
    let x = b.param(DType::F32, &[n]);
    let t = b.unary(UnaryOp::Tanh, x);
    let s = b.binary(BinaryOp::Mul, t, t);
    let r = b.reduce(ReduceKind::Sum, s, &[0]);
    let body = b.finish(&[r]);
    let k = compile(&[&body]).remove(0);
    let args = random_args(&mut rng(17), &body, Values::Tame);
    let base = gradlift_compiler::codegen::run_kernel(&k, &body, &args).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (k, body, args, base) = (&k, &body, &args, &base);
            s.spawn(move || {
                let mut r = rng(100 + t);
                for _ in 0..3 {
                    let split = codegen_support::random_split(&mut r, k.units);
                    let got = gradlift_compiler::codegen::run_kernel_ranges(k, body, args, &split)
                        .unwrap();
                    assert_eq!(&got, base);
                }
            });
        }
    });
}

#[test]
fn ops_outside_kernel_bodies_are_typed_errors() {
    let mut b = Body::new("dot");
    let x = b.param(DType::F32, &[2, 3]);
    let y = b.param(DType::F32, &[3, 4]);
    let d = b.op(
        Op::DotGeneral(Box::new(DotDims {
            lhs_batch: Default::default(),
            rhs_batch: Default::default(),
            lhs_contract: [1].into_iter().collect(),
            rhs_contract: [0].into_iter().collect(),
        })),
        &[x, y],
    );
    let body = b.finish(&[d]);
    let mut c = KernelCompiler::new().unwrap();
    match c.add("dot", &body) {
        Err(CompileError::Codegen { kernel, msg, .. }) => {
            assert_eq!(kernel, "dot");
            assert!(msg.contains("dot_general") && msg.contains("f32[2,3]"), "{msg}");
        }
        other => panic!("expected a codegen error, got {other:?}"),
    }
    // A reduction used inside the body: not one loop nest, and too large
    // for a small kernel (more than 256 elements).
    let mut b = Body::new("inner_reduce");
    let x = b.param(DType::F32, &[20, 15]);
    let r = b.reduce(ReduceKind::Sum, x, &[1]);
    let e = b.unary(UnaryOp::Exp, r);
    let body = b.finish(&[e]);
    let err = c.add("inner_reduce", &body).unwrap_err();
    assert!(err.to_string().contains("may only be a result"), "{err}");
    // Sibling reductions over different axes.
    let mut b = Body::new("mixed_axes");
    let x = b.param(DType::F32, &[20, 15]);
    let r0 = b.reduce(ReduceKind::Sum, x, &[0]);
    let r1 = b.reduce(ReduceKind::Sum, x, &[1]);
    let body = b.finish(&[r0, r1]);
    let err = c.add("mixed_axes", &body).unwrap_err();
    assert!(err.to_string().contains("same axes"), "{err}");
    // Explicitly a loop nest: the error even when small.
    let mut b = Body::new("small_mixed_axes");
    let x = b.param(DType::F32, &[4, 5]);
    let r0 = b.reduce(ReduceKind::Sum, x, &[0]);
    let r1 = b.reduce(ReduceKind::Sum, x, &[1]);
    let body = b.finish(&[r0, r1]);
    let err = c.add_kind("small_mixed_axes", &body, &KernelKind::Reduce).unwrap_err();
    assert!(err.to_string().contains("same axes"), "{err}");
    // The compiler still works after errors.
    let mut b = Body::new("ok");
    let x = b.param(DType::F32, &[4]);
    let body = b.finish(&[x]);
    c.add("ok", &body).unwrap();
    assert_eq!(c.finish().unwrap().len(), 1);
    assert!(clif_text(&body).unwrap().contains("function"));
}

#[test]
fn code_lives_while_any_kernel_does() {
    let mut b = Body::new("neg");
    let x = b.param(DType::F64, &[33]);
    let y = b.unary(UnaryOp::Neg, x);
    let neg = b.finish(&[y]);
    let mut b = Body::new("sum");
    let x = b.param(DType::F64, &[33]);
    let s = b.reduce(ReduceKind::Sum, x, &[0]);
    let sum = b.finish(&[s]);
    let mut kernels = compile(&[&neg, &sum]);
    let k_sum = kernels.pop().unwrap();
    drop(kernels);
    // The module is still mapped through the other kernel's handle.
    let args = random_args(&mut rng(18), &sum, Values::Tame);
    check(&k_sum, &sum, &args, &mut rng(19)).unwrap();
    assert_eq!(std::sync::Arc::strong_count(&k_sum.code), 1);
    drop(k_sum);
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    // No results.
    let mut b = Body::new("empty");
    let _ = b.param(DType::F32, &[3]);
    let body = b.finish(&[]);
    let mut c = KernelCompiler::new().unwrap();
    assert!(c.add("empty", &body).is_err());
    // Results of different shapes, too large for a small kernel.
    let mut b = Body::new("shapes");
    let x = b.param(DType::F32, &[300]);
    let y = b.param(DType::F32, &[4]);
    let body = b.finish(&[x, y]);
    let err = c.add("shapes", &body).unwrap_err();
    assert!(err.to_string().contains("iteration shape"), "{err}");
    // Wrong arguments to the host executor are errors too.
    let mut b = Body::new("ok");
    let x = b.param(DType::F32, &[3]);
    let body = b.finish(&[x]);
    c.add("ok", &body).unwrap();
    let k = c.finish().unwrap().remove(0);
    let bad = Tensor::from_vec([4], vec![0f32; 4]).unwrap();
    assert!(gradlift_compiler::codegen::run_kernel(&k, &body, &[bad]).is_err());
}

#[test]
fn high_rank_views_and_reductions() {
    let shape = [2, 3, 1, 2, 3, 2, 1, 5];
    let perm = [7, 0, 6, 2, 4, 1, 5, 3];
    let tshape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let mut bodies = Vec::new();
    let mut b = Body::new("rank8");
    let x = b.param(DType::F32, &shape);
    let y = b.param(DType::F32, &tshape);
    let t = b.transpose(x, &perm);
    let z = b.binary(BinaryOp::Mul, t, y);
    let r = b.reverse(z, &[0, 4, 7]);
    bodies.push(b.finish(&[r, z]));
    let mut b = Body::new("rank8_reduce");
    let x = b.param(DType::I64, &shape);
    let s = b.reduce(ReduceKind::Sum, x, &[1, 4, 6]);
    let m = b.reduce(ReduceKind::Max, x, &[1, 4, 6]);
    bodies.push(b.finish(&[s, m, x]));
    check_all(&bodies, Values::Special, 3, 20);
}

/// Long bodies: a map iterated `steps` times and its reverse sweep, so that
/// values (floats and comparison masks) defined early are used at the very
/// end. 300 steps take the long-body paths of the emitter (two packets per
/// vector iteration, long-lived values in stack slots); 2500 steps also the
/// single-pass register allocator. Only IEEE basic operations: the JIT must
/// match the interpreter bit for bit.
#[test]
fn long_chains_with_long_lived_values() {
    use gradlift_compiler::codegen::run_kernel;
    use gradlift_ir::interp::eval_function;
    let mut bodies = Vec::new();
    for steps in [300usize, 2500] {
        for dt in [DType::F32, DType::F64] {
            for n in [1usize, 7, 8, 9, 1003] {
                let mut b = Body::new(&format!("chain_{steps}_{dt}_{n}"));
                let x0 = b.param(dt, &[n]);
                let splat = |b: &mut Body, v: f64| {
                    let s = b.scalar(dt, v);
                    b.broadcast(s, &[], &[n])
                };
                let (r, one, half, two, damp) = (
                    splat(&mut b, 3.7),
                    splat(&mut b, 1.0),
                    splat(&mut b, 0.5),
                    splat(&mut b, 2.0),
                    splat(&mut b, 0.27),
                );
                let mut xs = vec![x0];
                let mut masks = Vec::new();
                for _ in 0..steps {
                    let x = *xs.last().unwrap();
                    masks.push(b.compare(CompareOp::Gt, x, half));
                    let a = b.binary(BinaryOp::Mul, r, x);
                    let c = b.binary(BinaryOp::Sub, one, x);
                    xs.push(b.binary(BinaryOp::Mul, a, c));
                }
                let mut g = one;
                for k in (0..steps).rev() {
                    let t = b.binary(BinaryOp::Mul, two, xs[k]);
                    let u = b.binary(BinaryOp::Sub, one, t);
                    let f = b.binary(BinaryOp::Mul, u, damp);
                    let gf = b.binary(BinaryOp::Mul, g, f);
                    let ng = b.unary(UnaryOp::Neg, gf);
                    g = b.select(masks[k], gf, ng);
                }
                let last = *xs.last().unwrap();
                bodies.push((b.finish(&[last, g]), dt, n));
            }
        }
    }
    let refs: Vec<&Function> = bodies.iter().map(|(f, _, _)| f).collect();
    let kernels = compile(&refs);
    for (k, (body, dt, n)) in kernels.iter().zip(&bodies) {
        let x = Tensor::rand_uniform(*n as u64, [*n], 0.01, 0.99, *dt).unwrap();
        let want = eval_function(body, std::slice::from_ref(&x)).unwrap();
        let got = run_kernel(k, body, std::slice::from_ref(&x)).unwrap();
        for (g, w) in got.iter().zip(&want) {
            let bits = |t: &Tensor| -> Vec<u64> {
                match dt {
                    DType::F32 => {
                        t.as_slice::<f32>().unwrap().iter().map(|v| v.to_bits() as u64).collect()
                    }
                    _ => t.as_slice::<f64>().unwrap().iter().map(|v| v.to_bits()).collect(),
                }
            };
            assert_eq!(bits(g), bits(w), "@{}", body.name());
        }
    }
}
