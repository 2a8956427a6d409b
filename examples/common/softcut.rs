//! Tutorial part 2: choose the mass cut `a` that maximises the
//! significance `s/√b` of a signal over a background (workload W2 of
//! `shared/peers/common.py`, data `data/softcut.npz`).
//!
//! The hard cut counts events above `a` and has no useful gradient; the
//! soft cut replaces each step by a sigmoid of rate `K`:
//! `Z(a) = Σσ(K(m_s − a)) / √Σσ(K(m_b − a))`, and Adam minimises `−Z`.

use gradlift::{jit, DType, Params, Tensor, Var};

use super::app::Result;
use super::{data_file, linspace_f32};

/// Sigmoid rate (1 / mass units).
pub const K: f64 = 10.0;
/// The starting cut.
pub const A0: f32 = 500.0;
/// Adam's learning rate.
pub const LR: f64 = 1.0;
/// Adam steps.
pub const STEPS: usize = 2000;
/// Cuts of the hard sweep: `linspace(500, 1500, 10000)`.
pub const SWEEP: (f64, f64, usize) = (500.0, 1500.0, 10_000);

/// The samples: `[m_s f32[500], m_b f32[10000]]`.
pub fn data() -> Result<[Tensor; 2]> {
    let p = Params::load_npz_keys(data_file("softcut.npz"), &["m_s", "m_b"])?;
    Ok([p.tensors()[0].clone(), p.tensors()[1].clone()])
}

/// The soft significance at cut `a` (a scalar) for samples `m_s`, `m_b`.
pub fn soft_significance(a: Var, m_s: Var, m_b: Var) -> Var {
    let s = ((m_s - a) * K).sigmoid().sum_all();
    let b = ((m_b - a) * K).sigmoid().sum_all();
    s / b.sqrt()
}

/// The loss `−Z(a)` on labelled events: `p = [a]`, `d = [m, signal]`
/// with all masses in `m` and `signal` 1 for signal events, 0 for
/// background (see [`events`]). The same function as [`loss_two_samples`]
/// written with one sigmoid over all events (a test checks they agree).
pub fn loss(p: &[Var], d: &[Var]) -> Var {
    let (a, m, signal) = (p[0], d[0], d[1]);
    let pass = ((m - a) * K).sigmoid();
    let s = (pass * signal).sum_all();
    let b = (pass * (1.0 - signal)).sum_all();
    -(s / b.sqrt())
}

/// The loss as the tutorial writes it, on the two samples: `p = [a]`,
/// `d = [m_s, m_b]` (what the example trains).
pub fn loss_two_samples(p: &[Var], d: &[Var]) -> Var {
    -soft_significance(p[0], d[0], d[1])
}

/// All events with a label: `[m f32[500 + 10000], signal f32[..]]`
/// (signal first, then background; `signal` is 1 or 0).
pub fn events(m_s: &Tensor, m_b: &Tensor) -> Result<[Tensor; 2]> {
    let mut m = m_s.to_vec::<f32>()?;
    m.extend(m_b.to_vec::<f32>()?);
    let signal: Vec<f32> = (0..m.len()).map(|i| if i < m_s.len() { 1.0 } else { 0.0 }).collect();
    let n = m.len();
    Ok([Tensor::from_vec([n], m)?, Tensor::from_vec([n], signal)?])
}

/// The starting parameters: `a = 500` (an f32 scalar).
pub fn params() -> Result<Params> {
    Ok(Params::new().with("a", Tensor::scalar(A0))?)
}

/// The sweep's cuts.
pub fn sweep_cuts() -> Vec<f32> {
    linspace_f32(SWEEP.0, SWEEP.1, SWEEP.2)
}

/// Hard and soft significance at every cut of `cuts`, compiled: each cut
/// is compared with every event at once (`[cuts, events]` fused into the
/// sums). Returns `(hard, soft)` as f32 vectors.
pub fn sweep(cuts: &[f32], m_s: &Tensor, m_b: &Tensor) -> Result<(Vec<f32>, Vec<f32>)> {
    let f = jit(|a: Var, m_s: Var, m_b: Var| {
        let a = a.expand_dims(1); // [cuts, 1] against [events]
        let s = m_s.gt(a).cast(DType::F32).sum(&[1]);
        let b = m_b.gt(a).cast(DType::F32).sum(&[1]);
        let hard = s / b.maximum(1.0).sqrt();
        let soft_s = ((m_s - a) * K).sigmoid().sum(&[1]);
        let soft_b = ((m_b - a) * K).sigmoid().sum(&[1]);
        (hard, soft_s / soft_b.sqrt())
    })
    .named("significance_sweep");
    let a = Tensor::from_slice([cuts.len()], cuts)?;
    let out = f.call(&[&a, m_s, m_b])?;
    Ok((out[0].to_vec::<f32>()?, out[1].to_vec::<f32>()?))
}

/// The first index of the largest value.
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// `(soft, hard)` significance at `a` on the host in f64, as
/// `softcut_significance` in `shared/peers/common.py` (the number the
/// peers report).
pub fn significance_f64(a: f64, m_s: &Tensor, m_b: &Tensor) -> (f64, f64) {
    let (ms, mb) = (m_s.to_f64_vec(), m_b.to_f64_vec());
    let sig = |z: f64| 0.5 * (1.0 + (0.5 * z).tanh());
    let soft_s: f64 = ms.iter().map(|&m| sig(K * (m - a))).sum();
    let soft_b: f64 = mb.iter().map(|&m| sig(K * (m - a))).sum();
    let hard_s = ms.iter().filter(|&&m| m > a).count() as f64;
    let hard_b = mb.iter().filter(|&&m| m > a).count().max(1) as f64;
    (soft_s / soft_b.sqrt(), hard_s / hard_b.sqrt())
}
