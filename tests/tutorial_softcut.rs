//! Tutorial part 2 (examples/softcut.rs): the hard-cut sweep and the soft
//! cut optimised with Adam, against the lecture's numbers and the peers'
//! (`shared/peers/RESULTS.md`, W2).

#[allow(dead_code)]
#[path = "../examples/common/mod.rs"]
mod common;

use common::softcut::{self as sc, A0, STEPS};
use gradlift::optim::{Adam, Optimizer, Trainer};
use gradlift::{jit, value_and_grad, Backend, Tensor, Var};

#[test]
fn hard_sweep_finds_the_lectures_cut() {
    let [m_s, m_b] = sc::data().unwrap();
    let (_, at_start) = sc::significance_f64(A0 as f64, &m_s, &m_b);
    assert_eq!(format!("{at_start:.4}"), "5.7862");
    let cuts = sc::sweep_cuts();
    let (hard, soft) = sc::sweep(&cuts, &m_s, &m_b).unwrap();
    let best = sc::argmax(&hard);
    assert_eq!(format!("{:.4}", cuts[best]), "1027.4528");
    assert_eq!(format!("{:.4}", hard[best]), "12.6588");
    // The compiled sweep counts exactly: same as counting on the host.
    let (_, host) = sc::significance_f64(cuts[best] as f64, &m_s, &m_b);
    assert!((hard[best] as f64 - host).abs() < 1e-5);
    // The soft curve (k = 10) peaks next to it.
    let best_soft = sc::argmax(&soft);
    assert!((cuts[best_soft] - cuts[best]).abs() < 1.0, "soft peak at {}", cuts[best_soft]);
    assert!((soft[best_soft] - 12.650).abs() < 1e-3, "soft peak {}", soft[best_soft]);
}

/// The compiled Adam run of the example. The soft objective is rippled
/// (σ of width 0.1 mass units over 10 000 discrete events), so rounding
/// differences move Adam(lr = 1) between neighbouring local optima: the
/// lecture ends at 1027.398, JAX at 1027.4, this run at 1027.35, the
/// tutorial's two-sample form on the interpreter at 1027.398, and torch
/// eager at 1017.15 (RESULTS.md). The bounds accept any optimum of the
/// peak region (±5 mass units, s/√b within 0.01 of the lecture's 12.650),
/// not one rounding pattern.
#[test]
fn adam_reaches_the_optimal_cut() {
    let [m_s, m_b] = sc::data().unwrap();
    let [m, signal] = sc::events(&m_s, &m_b).unwrap();
    let mut tr = Trainer::new(sc::loss, sc::params().unwrap(), Adam::new(sc::LR)).unwrap();
    let first = tr.step(&[&m, &signal]).unwrap();
    assert!((first + 5.7862).abs() < 1e-3, "first loss {first}");
    for _ in 1..STEPS {
        tr.step(&[&m, &signal]).unwrap();
    }
    let cut = tr.params().tensors()[0].item::<f32>().unwrap() as f64;
    let (soft, hard) = sc::significance_f64(cut, &m_s, &m_b);
    assert!((cut - 1027.4).abs() < 5.0, "cut = {cut}");
    assert!((soft - 12.650).abs() < 0.01, "soft s/√b {soft} at {cut}");
    assert!(hard > 12.6, "hard s/√b {hard} at {cut}");
}

fn loss_and_grad(
    loss: fn(&[Var], &[Var]) -> Var,
    backend: Backend,
    a: f32,
    d: [&Tensor; 2],
) -> (f32, f32) {
    let f = jit(move |a: Var, x: Var, y: Var| {
        let (l, g) = value_and_grad(move |p: &[Var]| loss(p, &[x, y]), &[0])(&[a]);
        vec![l, g[0]]
    })
    .backend(backend);
    let out = f.call(&[&Tensor::scalar(a), d[0], d[1]]).unwrap();
    (out[0].item().unwrap(), out[1].item().unwrap())
}

/// The example trains the loss on labelled events because the tutorial's
/// two-sample form does not compile (see the ignored test below); both are
/// the same function with the same gradient.
#[test]
fn labelled_loss_equals_the_two_sample_loss() {
    let [m_s, m_b] = sc::data().unwrap();
    let [m, signal] = sc::events(&m_s, &m_b).unwrap();
    for a in [500.0f32, 800.0, 1000.0, 1027.4, 1100.0] {
        let (l1, g1) = loss_and_grad(sc::loss, Backend::Jit, a, [&m, &signal]);
        let (l2, g2) = loss_and_grad(sc::loss_two_samples, Backend::Interpreter, a, [&m_s, &m_b]);
        assert!((l1 - l2).abs() <= 1e-5 * l2.abs(), "loss at {a}: {l1} vs {l2}");
        assert!((g1 - g2).abs() <= 1e-4 * g2.abs() + 1e-7, "grad at {a}: {g1} vs {g2}");
    }
}

/// Adam on the two forms follows the same path while the objective is
/// smooth (the first 200 steps climb from 500 towards 700).
#[test]
fn labelled_and_two_sample_adam_paths_agree() {
    let [m_s, m_b] = sc::data().unwrap();
    let [m, signal] = sc::events(&m_s, &m_b).unwrap();
    let steps = 200;
    let mut tr = Trainer::new(sc::loss, sc::params().unwrap(), Adam::new(sc::LR)).unwrap();
    let step = jit(|a: Var, mom: Var, vel: Var, t: Var, x: Var, y: Var| {
        let (l, g) = value_and_grad(move |p: &[Var]| sc::loss_two_samples(p, &[x, y]), &[0])(&[a]);
        let lr = t.full_like(sc::LR);
        let (a, s) = Adam::new(sc::LR).update(t, lr, a, g[0], &[mom, vel]);
        vec![l, a, s[0], s[1]]
    })
    .backend(Backend::Interpreter);
    let (mut a, mut mom, mut vel) =
        (Tensor::scalar(A0), Tensor::scalar(0f32), Tensor::scalar(0f32));
    for i in 0..steps {
        tr.step(&[&m, &signal]).unwrap();
        let t = Tensor::scalar((i + 1) as f32);
        let out = step.call(&[&a, &mom, &vel, &t, &m_s, &m_b]).unwrap();
        [a, mom, vel] = [out[1].clone(), out[2].clone(), out[3].clone()];
        let jit_a = tr.params().tensors()[0].item::<f32>().unwrap();
        let ref_a = a.item::<f32>().unwrap();
        assert!((jit_a - ref_a).abs() < 1e-2, "step {i}: {jit_a} vs {ref_a}");
    }
    assert!(a.item::<f32>().unwrap() > 600.0);
}

/// Regression test: the gradient of `Σσ(k(m_s−a)) / √Σσ(k(m_b−a))` (two
/// reductions over different inputs combined by a product) once failed to
/// compile: fusion merged each forward reduction with the backward
/// reduction over the same input, and a value-level dependency check
/// missed the kernel-level cycle through the scalar kernel computing both
/// cotangents. Fusion now walks kernels as units.
#[test]
fn two_sample_soft_cut_gradient_compiles() {
    let [m_s, m_b] = sc::data().unwrap();
    let (l, g) = loss_and_grad(sc::loss_two_samples, Backend::Jit, 1000.0, [&m_s, &m_b]);
    assert!((l + 12.2975).abs() < 1e-3 && g < 0.0, "{l} {g}");
}
