//! Activation functions, as in `jax.nn` (same formulas, so the same values
//! and gradients up to rounding), and the [`Activation`] enum a model keeps.

use crate::custom::custom_jvp;
use crate::ops::{select, Axis};
use crate::trace::Var;

use super::check::validate;

/// `max(x, 0)`, with derivative 0 at `x = 0` (as `jax.nn.relu` and
/// PyTorch; [`Var::relu`] splits the tie and takes ½ there).
#[track_caller]
pub fn relu(x: Var) -> Var {
    select(x.gt(0), x, 0)
}

/// `x` where `x ≥ 0`, else `slope · x` (`jax.nn.leaky_relu`; PyTorch's
/// default slope is 0.01). The derivative at 0 is 1.
#[track_caller]
pub fn leaky_relu(x: Var, slope: f64) -> Var {
    select(x.ge(0), x, x * slope)
}

/// The hyperbolic tangent.
#[track_caller]
pub fn tanh(x: Var) -> Var {
    x.tanh()
}

/// The logistic function `1 / (1 + e^-x)`; finite (0 or 1) with finite
/// derivatives at any finite `x`.
#[track_caller]
pub fn sigmoid(x: Var) -> Var {
    x.sigmoid()
}

/// GELU in its **tanh approximation**,
/// `x · ½ (1 + tanh(√(2/π) (x + 0.044715 x³)))`: `jax.nn.gelu`'s default
/// (`approximate=True`) and PyTorch's `gelu(approximate="tanh")`. (The
/// exact form needs `erf`, which the IR does not have; the two differ by
/// less than 5e-4 everywhere.)
///
/// Computed as `x · σ(2u)`, `u = √(2/π) (x + 0.044715 x³)`, which is the
/// same function (`½ (1 + tanh u) = σ(2u)`) without the cancellation in
/// `1 + tanh u` for negative `x`: in the left tail it keeps full relative
/// precision where the tanh form (JAX's) loses digits (at `x = -5.5`,
/// about 7 of 16).
#[track_caller]
pub fn gelu(x: Var) -> Var {
    let c = 2.0 * (2.0 / std::f64::consts::PI).sqrt();
    x * ((x + 0.044715 * x.powi(3)) * c).sigmoid()
}

/// `log(1 + e^x)`, computed stably as `max(x, 0) + log1p(e^-|x|)` (no
/// overflow for large `x`, no loss of precision for very negative `x`),
/// with the derivative `σ(x)` attached as a custom rule, so every order of
/// derivative is smooth and exact (also at 0, where the formula has kinks
/// that cancel). Float inputs.
#[track_caller]
pub fn softplus(x: Var) -> Var {
    if let Err(poisoned) = validate("softplus", &[x], |t| float_only(&t[0].dtype)) {
        return poisoned;
    }
    softplus_unchecked(x)
}

/// [`softplus`] of a value known to be a float.
pub(crate) fn softplus_unchecked(x: Var) -> Var {
    let rule = custom_jvp(
        |x: Var| softplus_formula(x),
        |p: &[Var], t: &[Var]| (softplus_formula(p[0]), t[0] * p[0].sigmoid()),
    );
    rule(&[x])
}

fn softplus_formula(x: Var) -> Var {
    x.maximum(0.0) + (-x.abs()).exp().log1p()
}

/// SiLU (swish): `x · σ(x)`.
#[track_caller]
pub fn silu(x: Var) -> Var {
    x * x.sigmoid()
}

/// `softmax(x)` along `axis`: `e^(x - m) / Σ e^(x - m)` with `m` the
/// maximum along the axis (a constant under differentiation, which leaves
/// the gradient unchanged), so large logits do not overflow. Rows that are
/// all `-inf` give NaN, as in JAX.
#[track_caller]
pub fn softmax<A: Axis>(x: Var, axis: A) -> Var {
    let e = (x - stable_max(x, axis)).exp();
    e / e.sum_keepdims(&[axis])
}

/// `log(softmax(x))` along `axis`, computed as `z - log Σ e^z` with
/// `z = x - max(x)`: finite for any finite logits (see [`softmax`]).
#[track_caller]
pub fn log_softmax<A: Axis>(x: Var, axis: A) -> Var {
    let z = x - stable_max(x, axis);
    z - z.exp().sum_keepdims(&[axis]).log()
}

/// The maximum along `axis` (kept as size 1), replaced by 0 where it is not
/// finite (JAX's guard for all `-inf` rows), with a zero derivative.
#[track_caller]
pub(crate) fn stable_max<A: Axis>(x: Var, axis: A) -> Var {
    let m = x.max_keepdims(&[axis]);
    select(m.abs().lt(f64::INFINITY), m, 0.0).stop_gradient()
}

pub(crate) fn float_only(dtype: &gradlift_ir::DType) -> Result<(), String> {
    if dtype.is_float() {
        Ok(())
    } else {
        Err(format!("needs a float value, got {dtype}; .cast() it to a float dtype first"))
    }
}

/// An elementwise activation, as a value a model stores (`Mlp::activation`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Activation {
    /// No activation: `x`.
    #[default]
    Identity,
    /// [`relu`].
    Relu,
    /// [`leaky_relu`] with this slope.
    LeakyRelu(f64),
    /// [`tanh`].
    Tanh,
    /// [`sigmoid`].
    Sigmoid,
    /// [`gelu`] (tanh approximation).
    Gelu,
    /// [`softplus`].
    Softplus,
    /// [`silu`].
    Silu,
}

impl Activation {
    /// Applies the activation elementwise.
    #[track_caller]
    pub fn apply(self, x: Var) -> Var {
        match self {
            Activation::Identity => x,
            Activation::Relu => relu(x),
            Activation::LeakyRelu(slope) => leaky_relu(x, slope),
            Activation::Tanh => tanh(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::Gelu => gelu(x),
            Activation::Softplus => softplus(x),
            Activation::Silu => silu(x),
        }
    }
}
