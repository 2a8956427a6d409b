//! Tutorial part 1: fit the initial position, velocity and acceleration of
//! a projectile to 10 observed positions (workloads W1/W1b of
//! `shared/peers/common.py`).
//!
//! `pos(t) = x0 + v0·t + ½·a·t²`, with `t = linspace(0, 5, 10)` as f32
//! `[10, 1]` and parameters `a`, `x0`, `v0` of shape `[1, 2]`; the loss is
//! the mean squared error over the 10×2 coordinates.

use gradlift::{Params, Tensor, Var};

use super::app::Result;
use super::linspace_f32;

/// Number of observation times.
pub const N: usize = 10;
/// The true acceleration (m/s²).
pub const A: [f32; 2] = [0.0, -9.8];
/// The true initial velocity (m/s).
pub const V0: [f32; 2] = [5.0, 10.0];
/// The true initial position (m).
pub const X0: [f32; 2] = [0.0, 10.0];

/// The model: positions `[T, 2]` at times `t` (`[T, 1]`).
pub fn position(t: Var, a: Var, x0: Var, v0: Var) -> Var {
    x0 + v0 * t + 0.5 * a * t.square()
}

/// MSE of the fit; `p = [a, x0, v0]`, `d = [t, target]`.
pub fn loss(p: &[Var], d: &[Var]) -> Var {
    (position(d[0], p[0], p[1], p[2]) - d[1]).square().mean_all()
}

/// MSE with only `v0` trainable; `p = [v0]`, `d = [t, target, a, x0]`.
pub fn loss_v0(p: &[Var], d: &[Var]) -> Var {
    (position(d[0], d[2], d[3], p[0]) - d[1]).square().mean_all()
}

/// The same position on the host, in f32 and in numpy's order of
/// operations (the target of `common.py` is computed this way).
pub fn position_host(t: f32, a: [f32; 2], x0: [f32; 2], v0: [f32; 2]) -> [f32; 2] {
    [0, 1].map(|k| x0[k] + v0[k] * t + 0.5 * a[k] * (t * t))
}

/// The observation times `linspace(0, 5, 10)`.
pub fn times() -> Vec<f32> {
    linspace_f32(0.0, 5.0, N)
}

/// A `[1, 2]` parameter row.
pub fn row(v: [f32; 2]) -> Result<Tensor> {
    Ok(Tensor::from_slice([1, 2], &v)?)
}

/// The data `[t [10,1], target [10,2]]`.
pub fn data() -> Result<[Tensor; 2]> {
    let t = times();
    let target: Vec<f32> = t.iter().flat_map(|&ti| position_host(ti, A, X0, V0)).collect();
    Ok([Tensor::from_slice([N, 1], &t)?, Tensor::from_slice([N, 2], &target)?])
}

/// Parameters `a`, `x0`, `v0`, all `[1, 2]`, in the order [`loss`] takes.
pub fn params(a: [f32; 2], x0: [f32; 2], v0: [f32; 2]) -> Result<Params> {
    Ok(Params::new().with("a", row(a)?)?.with("x0", row(x0)?)?.with("v0", row(v0)?)?)
}

/// A `[1, 2]` parameter as an array.
pub fn get(p: &Params, name: &str) -> Result<[f32; 2]> {
    let t = p.get(name).ok_or_else(|| format!("no parameter {name:?}"))?;
    let v = t.to_vec::<f32>()?;
    Ok([v[0], v[1]])
}
