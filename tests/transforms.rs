//! The user-facing transforms on Rust closures, run with the interpreter.

use gradlift::{
    eval, grad, hessian, jacfwd, jacrev, jvp, trace, value_and_grad, vjp, DType, Tensor, Type, Var,
};

fn s64(x: f64) -> Tensor {
    Tensor::scalar(x)
}

fn v64(v: &[f64]) -> Tensor {
    Tensor::from_slice([v.len()], v).unwrap()
}

fn val(t: &Tensor) -> Vec<f64> {
    t.to_f64_vec()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

#[test]
fn grad_of_log_product() {
    let f = |a: Var, b: Var| (a * b).log();
    let out = eval(|a: Var, b: Var| grad(f, &[0, 1])(&[a, b]), &[&s64(2.0), &s64(3.0)]).unwrap();
    assert!(close(val(&out[0])[0], 0.5));
    assert!(close(val(&out[1])[0], 1.0 / 3.0));
}

#[test]
fn value_and_grad_and_second_derivative() {
    let f = |x: Var| x.powi(3) + x.sin();
    let x = 0.7f64;
    let out = eval(
        |x: Var| {
            let (v, g) = value_and_grad(f, &[0])(&[x]);
            let g2 = grad(grad(f, &[0]), &[0])(&[x]);
            let g3 = grad(grad(grad(f, &[0]), &[0]), &[0])(&[x]);
            vec![v, g[0], g2[0], g3[0]]
        },
        &[&s64(x)],
    )
    .unwrap();
    assert!(close(val(&out[0])[0], x.powi(3) + x.sin()));
    assert!(close(val(&out[1])[0], 3.0 * x * x + x.cos()));
    assert!(close(val(&out[2])[0], 6.0 * x - x.sin()));
    assert!(close(val(&out[3])[0], 6.0 - x.cos()));
}

#[test]
fn jvp_and_vjp_agree_with_the_closed_form() {
    // f(x, y) = (x * y, sin(x))
    let f = |x: Var, y: Var| (x * y, x.sin());
    let (xs, ys) = ([0.3, -1.2], [2.0, 0.5]);
    let out = eval(
        |x: Var, y: Var, tx: Var, ty: Var| {
            let (p, t) = jvp(f, &[x, y], &[tx, ty]);
            let (_, pull) = vjp(f, &[x, y]);
            let cts = pull(&[tx, ty]);
            vec![p[0], p[1], t[0], t[1], cts[0], cts[1]]
        },
        &[&v64(&xs), &v64(&ys), &v64(&[1.0, 0.5]), &v64(&[-1.0, 2.0])],
    )
    .unwrap();
    for i in 0..2 {
        let (x, y, tx, ty) = (xs[i], ys[i], [1.0, 0.5][i], [-1.0, 2.0][i]);
        assert!(close(val(&out[2])[i], tx * y + x * ty));
        assert!(close(val(&out[3])[i], x.cos() * tx));
        // pullback of cotangents (tx, ty): d/dx = tx*y + ty*cos x, d/dy = tx*x
        assert!(close(val(&out[4])[i], tx * y + ty * x.cos()));
        assert!(close(val(&out[5])[i], tx * x));
    }
}

#[test]
fn jacobians_and_hessian_of_rosenbrock() {
    let rosen = |p: Var| {
        let x = p.slice(&[0], &[1], &[1]).reshape(&[]);
        let y = p.slice(&[1], &[2], &[1]).reshape(&[]);
        (1.0 - x).square() + 100.0 * (y - x * x).square()
    };
    let (x, y) = (0.7, -0.4);
    let out = eval(
        |p: Var| {
            let h = hessian(rosen, 0)(&[p]);
            let jf = jacfwd(grad(rosen, &[0]), &[0])(&[p]);
            let jr = jacrev(grad(rosen, &[0]), &[0])(&[p]);
            vec![h, jf[0], jr[0]]
        },
        &[&v64(&[x, y])],
    )
    .unwrap();
    let want = [2.0 - 400.0 * (y - x * x) + 800.0 * x * x, -400.0 * x, -400.0 * x, 200.0];
    for (k, o) in out.iter().enumerate() {
        assert_eq!(o.dims(), &[2, 2]);
        for (g, w) in val(o).iter().zip(want) {
            assert!(close(*g, w), "result {k}: {g} vs {w}");
        }
    }
}

#[test]
fn kinematics_gradient_through_the_facade() {
    fn loss(a: Var, x0: Var, v0: Var, t: Var, target: Var) -> Var {
        let pos = x0 + v0 * t + 0.5 * a * t * t;
        (pos - target).square().mean_all()
    }
    let t: Vec<f32> = (0..10).map(|i| (5.0 * i as f64 / 9.0) as f32).collect();
    let mut target = Vec::new();
    for &ti in &t {
        target.push(5.0 * ti);
        target.push(10.0 + 10.0 * ti - 4.9 * ti * ti);
    }
    let args = [
        Tensor::from_slice([1, 2], &[0.0f32, -9.8]).unwrap(),
        Tensor::from_slice([1, 2], &[0.0f32, 10.0]).unwrap(),
        Tensor::from_slice([1, 2], &[0.0f32, 0.0]).unwrap(),
        Tensor::from_slice([10, 1], &t).unwrap(),
        Tensor::from_slice([10, 2], &target).unwrap(),
    ];
    let refs: Vec<&Tensor> = args.iter().collect();
    let out = eval(
        |args: &[Var]| {
            let (l, g) = value_and_grad(loss, &[2])(args);
            vec![l, g[0]]
        },
        &refs,
    )
    .unwrap();
    assert_eq!(out[0].dtype(), DType::F32);
    assert!((val(&out[0])[0] - 549.7685).abs() < 1e-3);
    let g = val(&out[1]);
    assert!((g[0] + 43.9815).abs() < 1e-3 && (g[1] + 87.9630).abs() < 1e-3, "{g:?}");
}

#[test]
fn transform_errors_are_typed_and_located() {
    // Gradient of a non-scalar result.
    let err =
        trace("bad", |x: Var| grad(|x: Var| x * 2.0, &[0])(&[x])[0], &[Type::new(DType::F32, [3])])
            .unwrap_err()
            .to_string();
    assert!(err.contains("grad") && err.contains("f32[3]"), "{err}");
    // Gradient with respect to an integer argument.
    let err = trace(
        "bad",
        |n: Var, x: Var| grad(|n: Var, x: Var| x * n.cast(DType::F32), &[0])(&[n, x])[0],
        &[Type::scalar(DType::I32), Type::scalar(DType::F32)],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("i32"), "{err}");
    // argnum out of range.
    let err = trace("bad", |x: Var| grad(|x: Var| x, &[3])(&[x])[0], &[Type::scalar(DType::F32)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("argnum 3"), "{err}");
}

/// Closure conversion: functions passed to transforms may use values of the
/// enclosing trace (data, constants), as in JAX; they get no gradient.
#[test]
fn transforms_capture_values_of_the_enclosing_trace() {
    let x = Tensor::from_slice([3], &[1.0f64, 2.0, 3.0]).unwrap();
    let y = Tensor::from_slice([3], &[2.0f64, 4.0, 7.0]).unwrap();
    let out = eval(
        |w: Var, x: Var, y: Var| {
            // d/dw mean((w x - y)^2) = mean(2 (w x - y) x)
            let loss = move |w: Var| (w * x - y).square().mean_all();
            let g = grad(loss, &[0])(&[w])[0];
            let h = hessian(loss, 0)(&[w]);
            let (_, t) = jvp(loss, &[w], &[w.ones_like()]);
            vec![g, h, t[0]]
        },
        &[&s64(1.5), &x, &y],
    )
    .unwrap();
    let (w, xs, ys) = (1.5, [1.0, 2.0, 3.0], [2.0, 4.0, 7.0]);
    let g: f64 = xs.iter().zip(ys).map(|(x, y)| 2.0 * (w * x - y) * x).sum::<f64>() / 3.0;
    let h: f64 = xs.iter().map(|x| 2.0 * x * x).sum::<f64>() / 3.0;
    assert!(close(val(&out[0])[0], g));
    assert!(close(val(&out[1])[0], h));
    assert!(close(val(&out[2])[0], g));
}
