//! The seed lecture's examples, Hessians of known functions, higher-order
//! composition and the linear size of derivative graphs.

use std::sync::Arc;

use gradlift_compiler::ad::{grad, hessian, jacfwd, jacrev, jvp, vjp};
use gradlift_compiler::passes::dce::dce;
use gradlift_ir::interp::eval_function;
use gradlift_ir::{
    BinaryOp, DType, Data, Dims, DotDims, Function, Op, ReduceKind, Shape, Tensor, Type, UnaryOp,
    Value,
};

fn t64(shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::new(Shape::new(shape), Data::F64(v.to_vec())).unwrap()
}

fn t32(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::new(Shape::new(shape), Data::F32(v.to_vec())).unwrap()
}

fn vals(t: &Tensor) -> Vec<f64> {
    match t.data() {
        Data::F32(v) => v.iter().map(|&x| x as f64).collect(),
        Data::F64(v) => v.clone(),
        other => panic!("float tensor expected, got {:?}", other.dtype()),
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

fn konst(f: &mut Function, dt: DType, v: f64, shape: &[usize]) -> Value {
    let data = match dt {
        DType::F32 => Data::F32(vec![v as f32]),
        _ => Data::F64(vec![v]),
    };
    let c = f
        .push(
            Op::Constant { value: Arc::new(Tensor::new(Shape::scalar(), data).unwrap()) },
            &[],
            None,
        )
        .unwrap();
    if shape.is_empty() {
        c
    } else {
        f.push(Op::BroadcastInDim { shape: Shape::new(shape), dims: Dims::new() }, &[c], None)
            .unwrap()
    }
}

fn bin(f: &mut Function, b: BinaryOp, x: Value, y: Value) -> Value {
    f.push(Op::Binary(b), &[x, y], None).unwrap()
}

#[test]
fn log_of_product() {
    // d/d(a,b) log(a·b) at (2, 3) = (1/2, 1/3)
    let mut f = Function::new("f");
    let a = f.add_param(Some("a"), Type::scalar(DType::F64)).unwrap();
    let b = f.add_param(Some("b"), Type::scalar(DType::F64)).unwrap();
    let ab = bin(&mut f, BinaryOp::Mul, a, b);
    let y = f.push(Op::Unary(UnaryOp::Log), &[ab], None).unwrap();
    f.set_results(vec![y]).unwrap();
    let g = grad(&f, &[0, 1], 0).unwrap();
    let out = eval_function(&g, &[t64(&[], &[2.0]), t64(&[], &[3.0])]).unwrap();
    assert!(close(vals(&out[0])[0], 6f64.ln(), 1e-15));
    assert!(close(vals(&out[1])[0], 0.5, 1e-15));
    assert!(close(vals(&out[2])[0], 1.0 / 3.0, 1e-15));
}

/// l_{k+1} = 4 l_k (1 - l_k), iterated `n` times from x.
fn logistic_map(n: usize, shape: &[usize]) -> Function {
    let mut f = Function::new("logistic");
    let x = f.add_param(Some("x"), Type::new(DType::F64, Shape::new(shape))).unwrap();
    let mut l = x;
    for _ in 0..n {
        let four = konst(&mut f, DType::F64, 4.0, shape);
        let one = konst(&mut f, DType::F64, 1.0, shape);
        let a = bin(&mut f, BinaryOp::Mul, four, l);
        let b = bin(&mut f, BinaryOp::Sub, one, l);
        l = bin(&mut f, BinaryOp::Mul, a, b);
    }
    f.set_results(vec![l]).unwrap();
    f
}

#[test]
fn logistic_map_derivatives_match_the_seed_table() {
    let table: [fn(f64) -> f64; 4] = [
        |_| 1.0,
        |x| 4.0 - 8.0 * x,
        |x| 16.0 * (1.0 - 10.0 * x + 24.0 * x * x - 16.0 * x.powi(3)),
        |x| {
            64.0 * (1.0 - 42.0 * x + 504.0 * x.powi(2) - 2640.0 * x.powi(3) + 7040.0 * x.powi(4)
                - 9984.0 * x.powi(5)
                + 7168.0 * x.powi(6)
                - 2048.0 * x.powi(7))
        },
    ];
    let xs = [0.0, 0.1, 0.25, 0.37, 0.5, 0.9];
    for (n, d) in table.iter().enumerate() {
        let f = logistic_map(n, &[xs.len()]);
        // Reverse mode through a sum (elementwise map: the gradient of the
        // sum is the derivative at each point) and forward mode with ones.
        let mut s = f.clone();
        let r = s.results()[0];
        let total = s
            .push(Op::Reduce { kind: ReduceKind::Sum, axes: Dims::from_slice(&[0]) }, &[r], None)
            .unwrap();
        s.set_results(vec![total]).unwrap();
        let g = grad(&s, &[0], 0).unwrap();
        let out = eval_function(&g, &[t64(&[xs.len()], &xs)]).unwrap();
        let fwd = jvp(&f, &[0]).unwrap();
        let tout =
            eval_function(&fwd, &[t64(&[xs.len()], &xs), t64(&[xs.len()], &[1.0; 6])]).unwrap();
        for (i, &x) in xs.iter().enumerate() {
            let want = d(x);
            // The expanded polynomials cancel badly (terms up to 1e4 for a
            // result near 10), so they are only good to about 1e-10.
            assert!(
                close(vals(&out[1])[i], want, 1e-9),
                "n={n} x={x}: grad {} want {want}",
                vals(&out[1])[i]
            );
            assert!(
                close(vals(&tout[1])[i], want, 1e-9),
                "n={n} x={x}: jvp {} want {want}",
                vals(&tout[1])[i]
            );
        }
    }
}

#[test]
fn gradient_graph_of_logistic_map_is_linear_in_size() {
    let n = 1000;
    let f = logistic_map(n, &[]);
    let forward = dce(&f).unwrap().num_instructions();
    let g = grad(&f, &[0], 0).unwrap();
    let backward = dce(&g).unwrap().num_instructions();
    assert!(
        backward <= 5 * forward,
        "gradient graph has {backward} ops for a forward graph of {forward} (limit 5x)"
    );
    let j = jvp(&f, &[0]).unwrap();
    assert!(j.num_instructions() <= 5 * forward);
    // And it is right: d l_2 / dx at 0.3 via the table's second row.
    let f2 = logistic_map(2, &[]);
    let out = eval_function(&grad(&f2, &[0], 0).unwrap(), &[t64(&[], &[0.3])]).unwrap();
    let x: f64 = 0.3;
    assert!(close(
        vals(&out[1])[0],
        16.0 * (1.0 - 10.0 * x + 24.0 * x * x - 16.0 * x.powi(3)),
        1e-12
    ));
}

/// The tutorial's kinematics: pos = x0 + v0 t + a t²/2, MSE against a
/// target made with the true parameters.
fn kinematics_loss() -> (Function, Vec<Tensor>) {
    let mut f = Function::new("loss");
    let ty12 = Type::new(DType::F32, Shape::new(&[1, 2]));
    let a = f.add_param(Some("a"), ty12.clone()).unwrap();
    let x0 = f.add_param(Some("x0"), ty12.clone()).unwrap();
    let v0 = f.add_param(Some("v0"), ty12).unwrap();
    let t = f.add_param(Some("t"), Type::new(DType::F32, Shape::new(&[10, 1]))).unwrap();
    let target = f.add_param(Some("target"), Type::new(DType::F32, Shape::new(&[10, 2]))).unwrap();
    let b = |f: &mut Function, x: Value| {
        f.push(
            Op::BroadcastInDim { shape: Shape::new(&[10, 2]), dims: Dims::from_slice(&[0, 1]) },
            &[x],
            None,
        )
        .unwrap()
    };
    let (ab, x0b, v0b, tb) = (b(&mut f, a), b(&mut f, x0), b(&mut f, v0), b(&mut f, t));
    let vt = bin(&mut f, BinaryOp::Mul, v0b, tb);
    let p1 = bin(&mut f, BinaryOp::Add, x0b, vt);
    let half = konst(&mut f, DType::F32, 0.5, &[10, 2]);
    let ha = bin(&mut f, BinaryOp::Mul, half, ab);
    let tt = bin(&mut f, BinaryOp::Mul, tb, tb);
    let hatt = bin(&mut f, BinaryOp::Mul, ha, tt);
    let pos = bin(&mut f, BinaryOp::Add, p1, hatt);
    let d = bin(&mut f, BinaryOp::Sub, pos, target);
    let d2 = bin(&mut f, BinaryOp::Mul, d, d);
    let s = f
        .push(Op::Reduce { kind: ReduceKind::Sum, axes: Dims::from_slice(&[0, 1]) }, &[d2], None)
        .unwrap();
    let n = konst(&mut f, DType::F32, 20.0, &[]);
    let loss = bin(&mut f, BinaryOp::Div, s, n);
    f.set_results(vec![loss]).unwrap();
    let ts: Vec<f32> = (0..10).map(|i| (5.0 * i as f64 / 9.0) as f32).collect();
    let (ta, tx0, tv0) = ([0.0f32, -9.8], [0.0f32, 10.0], [5.0f32, 10.0]);
    let mut target = Vec::new();
    for &tt in &ts {
        for j in 0..2 {
            target.push(tx0[j] + tv0[j] * tt + 0.5 * ta[j] * tt * tt);
        }
    }
    let args = vec![
        t32(&[1, 2], &ta),
        t32(&[1, 2], &tx0),
        t32(&[1, 2], &[0.0, 0.0]),
        t32(&[10, 1], &ts),
        t32(&[10, 2], &target),
    ];
    (f, args)
}

#[test]
fn kinematics_gradient_at_v0_zero() {
    let (f, args) = kinematics_loss();
    let g = grad(&f, &[2], 0).unwrap();
    let out = eval_function(&g, &args).unwrap();
    assert_eq!(out[0].dtype(), DType::F32);
    let loss = vals(&out[0])[0];
    let gv = vals(&out[1]);
    assert!((loss - 549.7685).abs() < 1e-3, "loss {loss}");
    assert!((gv[0] + 43.9815).abs() < 1e-3 && (gv[1] + 87.9630).abs() < 1e-3, "grad {gv:?}");
}

#[test]
fn hessian_of_quadratic_form() {
    // f(x) = xᵀ A x with a non-symmetric A: H = A + Aᵀ.
    let a = [1.0, 2.0, -0.5, 0.25, 3.0, 1.5, -1.0, 0.75, 2.5];
    let mut f = Function::new("quad");
    let x = f.add_param(Some("x"), Type::new(DType::F64, Shape::new(&[3]))).unwrap();
    let am = f.push(Op::Constant { value: Arc::new(t64(&[3, 3], &a)) }, &[], None).unwrap();
    let mv = f
        .push(
            Op::DotGeneral(Box::new(DotDims {
                lhs_batch: Dims::new(),
                rhs_batch: Dims::new(),
                lhs_contract: Dims::from_slice(&[1]),
                rhs_contract: Dims::from_slice(&[0]),
            })),
            &[am, x],
            None,
        )
        .unwrap();
    let xmv = bin(&mut f, BinaryOp::Mul, x, mv);
    let y = f
        .push(Op::Reduce { kind: ReduceKind::Sum, axes: Dims::from_slice(&[0]) }, &[xmv], None)
        .unwrap();
    f.set_results(vec![y]).unwrap();
    let h = hessian(&f, 0, 0).unwrap();
    let out = eval_function(&h, &[t64(&[3], &[0.3, -1.2, 2.0])]).unwrap();
    assert_eq!(out[2].dims(), &[3, 3]);
    let hv = vals(&out[2]);
    for i in 0..3 {
        for j in 0..3 {
            assert!(
                close(hv[i * 3 + j], a[i * 3 + j] + a[j * 3 + i], 1e-13),
                "H[{i},{j}] = {}",
                hv[i * 3 + j]
            );
        }
    }
}

/// Rosenbrock: f(x, y) = (1 − x)² + 100 (y − x²)².
fn rosenbrock() -> Function {
    let mut f = Function::new("rosen");
    let p = f.add_param(Some("p"), Type::new(DType::F64, Shape::new(&[2]))).unwrap();
    let sl = |f: &mut Function, i: usize| {
        let s = f
            .push(
                Op::Slice(Box::new(gradlift_ir::SliceAttrs {
                    start: Dims::from_slice(&[i]),
                    limit: Dims::from_slice(&[i + 1]),
                    stride: Dims::from_slice(&[1]),
                })),
                &[p],
                None,
            )
            .unwrap();
        f.push(Op::Reshape { shape: Shape::scalar() }, &[s], None).unwrap()
    };
    let x = sl(&mut f, 0);
    let y = sl(&mut f, 1);
    let one = konst(&mut f, DType::F64, 1.0, &[]);
    let hundred = konst(&mut f, DType::F64, 100.0, &[]);
    let a = bin(&mut f, BinaryOp::Sub, one, x);
    let a2 = bin(&mut f, BinaryOp::Mul, a, a);
    let xx = bin(&mut f, BinaryOp::Mul, x, x);
    let b = bin(&mut f, BinaryOp::Sub, y, xx);
    let b2 = bin(&mut f, BinaryOp::Mul, b, b);
    let b2h = bin(&mut f, BinaryOp::Mul, hundred, b2);
    let r = bin(&mut f, BinaryOp::Add, a2, b2h);
    f.set_results(vec![r]).unwrap();
    f
}

#[test]
fn hessian_of_rosenbrock() {
    let f = rosenbrock();
    let (x, y) = (0.7, -0.4);
    let h = hessian(&f, 0, 0).unwrap();
    let out = eval_function(&h, &[t64(&[2], &[x, y])]).unwrap();
    let want_grad = [-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)];
    let want_h = [2.0 - 400.0 * (y - x * x) + 800.0 * x * x, -400.0 * x, -400.0 * x, 200.0];
    for (g, w) in vals(&out[1]).iter().zip(want_grad) {
        assert!(close(*g, w, 1e-12), "grad {g} want {w}");
    }
    for (g, w) in vals(&out[2]).iter().zip(want_h) {
        assert!(close(*g, w, 1e-12), "hessian {g} want {w}");
    }
    // jacrev of grad agrees with jacfwd of grad.
    let g = grad(&f, &[0], 0).unwrap();
    let jr = jacrev(&g, &[0], 1).unwrap();
    let out_r = eval_function(&jr, &[t64(&[2], &[x, y])]).unwrap();
    for (g, w) in vals(&out_r[2]).iter().zip(want_h) {
        assert!(close(*g, w, 1e-12), "jacrev hessian {g} want {w}");
    }
}

#[test]
fn jacobians_forward_and_reverse_agree() {
    // f(x) = sin(x) ⊗ x (outer product) : [3] -> [3, 3]
    let mut f = Function::new("outer");
    let x = f.add_param(Some("x"), Type::new(DType::F64, Shape::new(&[3]))).unwrap();
    let s = f.push(Op::Unary(UnaryOp::Sin), &[x], None).unwrap();
    let sb = f
        .push(
            Op::BroadcastInDim { shape: Shape::new(&[3, 3]), dims: Dims::from_slice(&[0]) },
            &[s],
            None,
        )
        .unwrap();
    let xb = f
        .push(
            Op::BroadcastInDim { shape: Shape::new(&[3, 3]), dims: Dims::from_slice(&[1]) },
            &[x],
            None,
        )
        .unwrap();
    let y = bin(&mut f, BinaryOp::Mul, sb, xb);
    f.set_results(vec![y]).unwrap();
    let xs = [0.3, -1.1, 2.0];
    let jf = eval_function(&jacfwd(&f, &[0], 0).unwrap(), &[t64(&[3], &xs)]).unwrap();
    let jr = eval_function(&jacrev(&f, &[0], 0).unwrap(), &[t64(&[3], &xs)]).unwrap();
    assert_eq!(jf[1].dims(), &[3, 3, 3]);
    assert_eq!(jr[1].dims(), &[3, 3, 3]);
    let (a, b) = (vals(&jf[1]), vals(&jr[1]));
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                // d/dx_k sin(x_i) x_j
                let mut want = 0.0;
                if k == i {
                    want += xs[i].cos() * xs[j];
                }
                if k == j {
                    want += xs[i].sin();
                }
                let idx = (i * 3 + j) * 3 + k;
                assert!(close(a[idx], want, 1e-14) && close(b[idx], want, 1e-14), "J[{i},{j},{k}]");
            }
        }
    }
}

#[test]
fn third_derivative_by_composing_grad() {
    // f(x) = x^5: f''' = 60 x^2
    let mut f = Function::new("p5");
    let x = f.add_param(Some("x"), Type::scalar(DType::F64)).unwrap();
    let x2 = bin(&mut f, BinaryOp::Mul, x, x);
    let x4 = bin(&mut f, BinaryOp::Mul, x2, x2);
    let x5 = bin(&mut f, BinaryOp::Mul, x4, x);
    f.set_results(vec![x5]).unwrap();
    // grad returns (f, f'); keep only f' to grad again.
    let keep = |g: &Function, k: usize| {
        let mut h = g.clone();
        let r = h.results()[k];
        h.set_results(vec![r]).unwrap();
        dce(&h).unwrap()
    };
    let g1 = keep(&grad(&f, &[0], 0).unwrap(), 1);
    let g2 = keep(&grad(&g1, &[0], 0).unwrap(), 1);
    let g3 = grad(&g2, &[0], 0).unwrap();
    let out = eval_function(&g3, &[t64(&[], &[1.5])]).unwrap();
    assert!(close(vals(&out[0])[0], 20.0 * 1.5f64.powi(3), 1e-13));
    assert!(close(vals(&out[1])[0], 60.0 * 1.5 * 1.5, 1e-13));
    // jvp of vjp: the directional derivative of the gradient.
    let v = vjp(&f, &[0]).unwrap();
    let jv = jvp(&v, &[0]).unwrap();
    // params: x, ct, x_dot ; results: y, ct·f'(x), y_dot, ct·f''(x)·x_dot
    let out = eval_function(&jv, &[t64(&[], &[1.5]), t64(&[], &[2.0]), t64(&[], &[0.5])]).unwrap();
    assert!(close(vals(&out[3])[0], 2.0 * 20.0 * 1.5f64.powi(3) * 0.5, 1e-13));
}

#[test]
fn gradient_with_respect_to_an_integer_input_is_an_error() {
    let mut f = Function::new("f");
    let _ = f.add_param(Some("n"), Type::scalar(DType::I32)).unwrap();
    let x = f.add_param(Some("x"), Type::scalar(DType::F32)).unwrap();
    f.set_results(vec![x]).unwrap();
    let err = grad(&f, &[0], 0).unwrap_err().to_string();
    assert!(err.contains("%n") && err.contains("i32"), "{err}");
    let err = grad(&f, &[3], 0).unwrap_err().to_string();
    assert!(err.contains("parameter 3"), "{err}");
}
