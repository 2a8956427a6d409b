//! Tutorial part 3: a simulator whose inputs drift with a control
//! variable `t`, learnt by a network (workload W3 of
//! `shared/peers/common.py`).
//!
//! The truth: a projectile launched with `x0 = 15 + 2 sin 20t` and
//! `v0 = 10 + 5t²` lands after `T = 3` s (`a = −9.8`) at
//! `x0 + v0·T + ½aT²`. Two models see `t` and that final position:
//!
//! - **direct**: an MLP 1→100→ReLU→50→ReLU→1 predicts the position;
//! - **physics-informed**: an MLP 1→100→ReLU→50→ReLU→2 predicts the two
//!   drifts, and the kinematics (a fixed, differentiable program) turns
//!   them into the position.
//!
//! Both start from `data/drift_init.npz` (torch's default init after seed
//! 3, torch layout `y = x Wᵀ + b`). That file only has the 2-output
//! network; the direct model shares its hidden layers and draws its
//! 1-output last layer from torch's default distribution
//! `U(−1/√50, 1/√50)` with a fixed seed ([`OUT_SEED`]).

use gradlift::{Params, Tensor, Var};

use super::app::Result;
use super::{data_file, linspace_f32};

/// Number of control values `t`.
pub const N: usize = 100;
/// Flight time (s).
pub const T_END: f64 = 3.0;
/// Acceleration (m/s²).
pub const A: f64 = -9.8;
/// Nominal initial position (m).
pub const X0: f64 = 15.0;
/// Nominal initial velocity (m/s).
pub const V0: f64 = 10.0;
/// Adam's learning rate.
pub const LR: f64 = 1e-3;
/// Adam steps.
pub const STEPS: usize = 4000;
/// Seed of the direct model's last layer.
pub const OUT_SEED: u64 = 3;
/// Parameter names, torch layout.
pub const NAMES: [&str; 6] = ["w1", "b1", "w2", "b2", "w3", "b3"];

/// The true drift of the initial position.
pub fn x0_drift(t: f32) -> f32 {
    2.0 * (20.0 * t).sin()
}

/// The true drift of the initial velocity.
pub fn v0_drift(t: f32) -> f32 {
    5.0 * (t * t)
}

/// The data `[t f32[100, 1], target f32[100]]`, computed in f32 as
/// `common.w3_inputs`.
pub fn data() -> Result<[Tensor; 2]> {
    let t = linspace_f32(0.0, 1.0, N);
    let kin = (0.5 * A * T_END * T_END) as f32;
    let target: Vec<f32> = t
        .iter()
        .map(|&ti| (X0 as f32 + x0_drift(ti)) + (V0 as f32 + v0_drift(ti)) * T_END as f32 + kin)
        .collect();
    Ok([Tensor::from_slice([N, 1], &t)?, Tensor::from_slice([N], &target)?])
}

/// The MLP `in→100→ReLU→50→ReLU→out` on `x` (`[n, in]`), weights in torch
/// layout `p = [w1, b1, w2, b2, w3, b3]`.
pub fn mlp(p: &[Var], x: Var) -> Var {
    let h = (x.matmul(p[0].t()) + p[1]).relu();
    let h = (h.matmul(p[2].t()) + p[3]).relu();
    h.matmul(p[4].t()) + p[5]
}

/// The kinematics: the final position from the initial position and
/// velocity.
pub fn kinematics(x0: Var, v0: Var) -> Var {
    x0 + v0 * T_END + 0.5 * A * T_END * T_END
}

/// The physics-informed model's drifts `(x0 drift, v0 drift)`, each `[n]`.
pub fn drifts(p: &[Var], t: Var) -> (Var, Var) {
    let out = mlp(p, t);
    (out.index_axis(1, 0), out.index_axis(1, 1))
}

/// The physics-informed prediction `[n]`.
pub fn physics(p: &[Var], t: Var) -> Var {
    let (dx0, dv0) = drifts(p, t);
    kinematics(dx0 + X0, dv0 + V0)
}

/// The direct prediction `[n]`.
pub fn direct(p: &[Var], t: Var) -> Var {
    mlp(p, t).index_axis(1, 0)
}

/// MSE of the physics-informed model; `d = [t, target]`.
pub fn physics_loss(p: &[Var], d: &[Var]) -> Var {
    (physics(p, d[0]) - d[1]).square().mean_all()
}

/// MSE of the direct model; `d = [t, target]`.
pub fn direct_loss(p: &[Var], d: &[Var]) -> Var {
    (direct(p, d[0]) - d[1]).square().mean_all()
}

/// The physics-informed model's start: `data/drift_init.npz`.
pub fn physics_init() -> Result<Params> {
    Ok(Params::load_npz_keys(data_file("drift_init.npz"), &NAMES)?)
}

/// The direct model's start: the hidden layers of `data/drift_init.npz`
/// and a last layer `w3 [1, 50]`, `b3 [1]` drawn from `U(−1/√50, 1/√50)`
/// with [`OUT_SEED`].
pub fn direct_init() -> Result<Params> {
    let init = physics_init()?;
    let mut p = Params::new();
    for name in &NAMES[..4] {
        p.push(name, init.get(name).ok_or("drift_init.npz lacks a layer")?.clone())?;
    }
    let fan_in = init.get("w2").map_or(50, |w| w.dims()[0]);
    let bound = 1.0 / (fan_in as f64).sqrt();
    let mut rng = SplitMix64(OUT_SEED);
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n).map(|_| ((2.0 * rng.next_f64() - 1.0) * bound) as f32).collect()
    };
    p.push("w3", Tensor::from_vec([1, fan_in], draw(fan_in))?)?;
    p.push("b3", Tensor::from_vec([1], draw(1))?)?;
    Ok(p)
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny fixed generator, so the
/// direct model's start is the same on every machine.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
