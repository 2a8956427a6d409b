//! Tutorial part 1 (examples/kinematics.rs): the numbers of the lecture and
//! of the JAX/PyTorch peers (`shared/peers/RESULTS.md`, W1/W1b).

#[allow(dead_code)]
#[path = "../examples/common/mod.rs"]
mod common;

use common::kinematics::{self as kin, A, V0, X0};
use gradlift::optim::{Adam, Sgd, Trainer};
use gradlift::{jit, value_and_grad, Params, Var};

fn zeros() -> Params {
    kin::params([0.0; 2], [0.0; 2], [0.0; 2]).unwrap()
}

fn close(got: [f32; 2], want: [f64; 2], tol: f64) -> bool {
    got.iter().zip(want).all(|(&g, w)| (g as f64 - w).abs() <= tol)
}

/// Σt² over linspace(0, 5, 10) = 25/81 · Σi² = 25/81 · 285.
const SUM_T2: f64 = 25.0 * 285.0 / 81.0;

#[test]
fn first_loss_and_gradient_of_v0() {
    let [t, target] = kin::data().unwrap();
    let (a, x0) = (kin::row(A).unwrap(), kin::row(X0).unwrap());
    let v0 = kin::row([0.0, 0.0]).unwrap();
    let f = jit(|args: &[Var]| {
        let data = args[1..].to_vec();
        let (l, g) = value_and_grad(move |p: &[Var]| kin::loss_v0(p, &data), &[0])(&args[..1]);
        vec![l, g[0]]
    });
    let out = f.call(&[&v0, &t, &target, &a, &x0]).unwrap();
    let loss = out[0].item::<f32>().unwrap() as f64;
    let grad = out[1].to_vec::<f32>().unwrap();
    // With v0 = 0 the residual is -v0_true·t: loss = (25 + 100)/20 · Σt²,
    // dloss/dv0 = -2/20 · v0_true · Σt².
    assert!((loss - 125.0 / 20.0 * SUM_T2).abs() < 1e-3, "loss {loss}");
    assert_eq!(format!("{loss:.2}"), "549.77");
    assert!(close([grad[0], grad[1]], [-0.5 * SUM_T2, -SUM_T2], 1e-4), "grad {grad:?}");
    assert_eq!(format!("({:.2}, {:.2})", grad[0], grad[1]), "(-43.98, -87.96)");
}

#[test]
fn v0_alone_converges_in_ten_sgd_steps() {
    let [t, target] = kin::data().unwrap();
    let (a, x0) = (kin::row(A).unwrap(), kin::row(X0).unwrap());
    let params = Params::new().with("v0", kin::row([0.0, 0.0]).unwrap()).unwrap();
    let mut tr = Trainer::new(kin::loss_v0, params, Sgd::new(0.1)).unwrap();
    let mut losses = Vec::new();
    for _ in 0..10 {
        losses.push(tr.step(&[&t, &target, &a, &x0]).unwrap());
    }
    assert!((losses[0] - 549.7685).abs() < 1e-3, "{losses:?}");
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    let v0 = kin::get(tr.params(), "v0").unwrap();
    assert!(close(v0, [5.0, 10.0], 1e-4), "{v0:?}");
}

#[test]
fn all_parameters_with_lr_0_1_diverge() {
    let [t, target] = kin::data().unwrap();
    let mut tr = Trainer::new(kin::loss, zeros(), Sgd::new(0.1)).unwrap();
    let losses: Vec<f64> = (0..40).map(|_| tr.step(&[&t, &target]).unwrap()).collect();
    // The loss grows by an order of magnitude per step and overflows f32.
    assert!(losses[10] > 1e3 * losses[0], "{losses:?}");
    assert!(losses.iter().any(|l| !l.is_finite()), "{losses:?}");
}

#[test]
fn sgd_lr_0_01_for_10000_steps_matches_the_peers() {
    let [t, target] = kin::data().unwrap();
    let mut tr = Trainer::new(kin::loss, zeros(), Sgd::new(0.01)).unwrap();
    for _ in 0..10_000 {
        tr.step(&[&t, &target]).unwrap();
    }
    let p = tr.params();
    let final_loss = common::app::eval_loss(kin::loss, p, &[&t, &target]).unwrap();
    // JAX, PyTorch and numpy all end at a loss of 3.64e-8 to 3.68e-8 with
    // a = (8.9e-5, -9.79981), v0 = (4.99974, 9.99945), x0 = (2.75e-4, 10.0006).
    assert!((3.5e-8..3.8e-8).contains(&final_loss), "final loss {final_loss}");
    let (a, v0, x0) =
        (kin::get(p, "a").unwrap(), kin::get(p, "v0").unwrap(), kin::get(p, "x0").unwrap());
    assert!(close(a, [8.9e-5, -9.79981], 2e-5), "a {a:?}");
    assert!(close(v0, [4.99974, 9.99945], 2e-5), "v0 {v0:?}");
    assert!(close(x0, [2.75e-4, 10.0006], 5e-5), "x0 {x0:?}");
}

#[test]
fn adam_lr_1_for_1000_steps_recovers_the_truth() {
    let [t, target] = kin::data().unwrap();
    let mut tr = Trainer::new(kin::loss, zeros(), Adam::new(1.0)).unwrap();
    for _ in 0..1000 {
        tr.step(&[&t, &target]).unwrap();
    }
    let p = tr.params();
    let final_loss = common::app::eval_loss(kin::loss, p, &[&t, &target]).unwrap();
    assert!(final_loss < 1e-9, "final loss {final_loss}");
    let f = |v: [f32; 2]| [v[0] as f64, v[1] as f64];
    assert!(close(kin::get(p, "a").unwrap(), f(A), 1e-4));
    assert!(close(kin::get(p, "v0").unwrap(), f(V0), 1e-4));
    assert!(close(kin::get(p, "x0").unwrap(), f(X0), 1e-4));
}
