//! `jit`: compiled functions agree with the interpreter, cache per
//! signature, validate arguments, donate parameters, and give the same bits
//! on 1, 2 and 8 threads.

use gradlift::{grad, jit, value_and_grad, Arg, Backend, DType, Tensor, Var};

fn kinematics_loss(a: Var, x0: Var, v0: Var, t: Var, target: Var) -> Var {
    let pos = x0 + v0 * t + 0.5 * a * t * t;
    (pos - target).square().mean_all()
}

fn kinematics_data() -> Vec<Tensor> {
    let t: Vec<f32> = (0..10).map(|i| (5.0 * i as f64 / 9.0) as f32).collect();
    let mut target = Vec::new();
    for &ti in &t {
        target.push(5.0 * ti);
        target.push(10.0 + 10.0 * ti - 4.9 * ti * ti);
    }
    vec![
        Tensor::from_slice([1, 2], &[0.0f32, -9.8]).unwrap(),
        Tensor::from_slice([1, 2], &[0.0f32, 10.0]).unwrap(),
        Tensor::from_slice([1, 2], &[0.0f32, 0.0]).unwrap(),
        Tensor::from_slice([10, 1], &t).unwrap(),
        Tensor::from_slice([10, 2], &target).unwrap(),
    ]
}

#[test]
fn jitted_gradient_matches_the_interpreter() {
    let data = kinematics_data();
    let refs: Vec<&Tensor> = data.iter().collect();
    let step = |args: &[Var]| {
        let (l, g) = value_and_grad(kinematics_loss, &[0, 1, 2])(args);
        vec![l, g[0], g[1], g[2]]
    };
    let native = jit(step).call(&refs).unwrap();
    let interp = jit(step).backend(Backend::Interpreter).call(&refs).unwrap();
    assert!((native[0].item::<f32>().unwrap() - 549.7685).abs() < 1e-3);
    let g = native[3].to_vec::<f32>().unwrap();
    assert!((g[0] + 43.9815).abs() < 1e-3 && (g[1] + 87.963).abs() < 1e-3, "{g:?}");
    for (a, b) in native.iter().zip(&interp) {
        assert!(a.allclose(b, 1e-5, 1e-5), "{a} vs {b}");
    }
}

#[test]
fn compiles_once_per_signature_and_validates_arguments() {
    let f = jit(|x: Var| (x * 2.0).exp().sum_all());
    let a = Tensor::from_slice([3], &[0.0f32, 1.0, 2.0]).unwrap();
    let b = Tensor::from_slice([2], &[0.5f32, 1.5]).unwrap();
    let ra = f.call(&[&a]).unwrap();
    let rb = f.call(&[&b]).unwrap();
    assert!((ra[0].item::<f32>().unwrap() - (1.0 + 2f32.exp() + 4f32.exp())).abs() < 1e-3);
    assert!((rb[0].item::<f32>().unwrap() - (1f32.exp() + 3f32.exp())).abs() < 1e-4);
    let c1 = f.compiled(&[&a]).unwrap();
    let c2 = f.compiled(&[&a]).unwrap();
    assert!(std::sync::Arc::ptr_eq(&c1, &c2), "one compilation per signature");
    // A wrong dtype compiles anew (new signature); a wrong count is an error.
    let err = f.call(&[&a, &b]).unwrap_err().to_string();
    assert!(err.contains("arguments") || err.contains("takes"), "{err}");
}

#[test]
fn sgd_updates_donated_parameters_in_place() {
    let mut data = kinematics_data();
    let step = jit(|a: Var, x0: Var, v0: Var, t: Var, target: Var| {
        let (l, g) = value_and_grad(kinematics_loss, &[0, 1, 2])(&[a, x0, v0, t, target]);
        (l, a - 0.01 * g[0], x0 - 0.01 * g[1], v0 - 0.01 * g[2])
    })
    .donate(&[(1, 0), (2, 1), (3, 2)]);
    let mut loss = vec![Tensor::scalar(0.0f32)];
    // Fit all parameters from zero, as the tutorial does (lr 0.01).
    for p in &mut data[..3] {
        *p = Tensor::zeros(DType::F32, [1, 2]).unwrap();
    }
    let mut first = 0.0;
    for i in 0..2000 {
        let (params, rest) = data.split_at_mut(3);
        let (a, rest_p) = params.split_at_mut(1);
        let (x0, v0) = rest_p.split_at_mut(1);
        let mut args = [
            Arg::Mut(&mut a[0]),
            Arg::Mut(&mut x0[0]),
            Arg::Mut(&mut v0[0]),
            Arg::Ref(&rest[0]),
            Arg::Ref(&rest[1]),
        ];
        step.run(&mut args, &mut loss).unwrap();
        if i == 0 {
            first = loss[0].item::<f32>().unwrap();
        }
    }
    let last = loss[0].item::<f32>().unwrap();
    assert!(last < first / 10.0, "loss {first} -> {last}");
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let x = Tensor::rand_normal(4, [1 << 20], 0.0, 1.0, DType::F32).unwrap();
    let f = |x: Var| {
        (
            (x * 0.7 + 0.1).tanh().square().sum_all(),
            grad(|x: Var| (x * 0.7 + 0.1).tanh().square().sum_all(), &[0])(&[x])[0],
        )
    };
    let mut outs = Vec::new();
    for threads in [1, 2, 8] {
        let j = jit(f).threads(threads).unwrap();
        outs.push(j.call(&[&x]).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
}

#[test]
fn mid_size_sums_of_transcendentals_split_across_threads_with_the_same_bits() {
    // The tutorial's soft cut: 10^4 logistic evaluations cost as much as
    // ~2^17 additions, so the plan cuts the sum into chunks the runtime can
    // spread over threads; the chunks depend on the shape only.
    let m = Tensor::rand_normal(6, [10_000], 1000.0, 100.0, DType::F32).unwrap();
    let a = Tensor::scalar(1010.0f32);
    let loss = |a: Var, m: Var| ((m - a) * 0.1).sigmoid().sum_all();
    let f = |args: &[Var]| {
        let (l, g) = value_and_grad(loss, &[0])(args);
        vec![l, g[0]]
    };
    let mut outs = Vec::new();
    for threads in [1, 2, 3] {
        let j = jit(f).threads(threads).unwrap();
        outs.push(j.call(&[&a, &m]).unwrap());
        let program = j.compiled(&[&a, &m]).unwrap().executable.program().to_string();
        assert!(
            program.lines().any(|l| l.contains("kernel") && !l.contains("units=1 ")),
            "no kernel is split into several units:\n{program}"
        );
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
    // Against f64 on the host.
    let (mut s, mut g) = (0.0f64, 0.0f64);
    for &mi in m.as_slice::<f32>().unwrap() {
        let z = 1.0 / (1.0 + (-(mi as f64 - 1010.0) * 0.1).exp());
        s += z;
        g -= 0.1 * z * (1.0 - z);
    }
    let got = outs[0].iter().map(|t| t.to_f64_vec()[0]).collect::<Vec<_>>();
    assert!((got[0] - s).abs() < 1e-5 * s, "sum {} vs {s}", got[0]);
    assert!((got[1] - g).abs() < 1e-4 * g.abs(), "grad {} vs {g}", got[1]);
}
