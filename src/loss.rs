//! Loss functions on traced values, reduced by mean (the default), sum, or
//! not at all ([`Reduction`]).
//!
//! ```
//! use gradlift::loss::{self, Reduction};
//! use gradlift::{eval, grad, Tensor, Var};
//!
//! let pred = Tensor::from_slice([3], &[1.0f64, 2.0, 4.0])?;
//! let target = Tensor::from_slice([3], &[1.0f64, 3.0, 2.0])?;
//! let out = eval(
//!     |p: Var, t: Var| {
//!         let dl = grad(|p: Var, t: Var| loss::mse(p, t), &[0])(&[p, t]);
//!         (loss::mse(p, t), loss::mae_with(p, t, Reduction::Sum), dl[0])
//!     },
//!     &[&pred, &target],
//! )?;
//! assert_eq!(out[0].item::<f64>()?, 5.0 / 3.0); // (0 + 1 + 4) / 3
//! assert_eq!(out[1].item::<f64>()?, 3.0); // 0 + 1 + 2
//! assert_eq!(out[2].to_vec::<f64>()?, vec![0.0, -2.0 / 3.0, 4.0 / 3.0]);
//! # Ok::<(), gradlift::Error>(())
//! ```
//!
//! Each loss is a plain function (mean reduction) and a `_with` variant that
//! takes the [`Reduction`]. The formulas are optax's, so values and
//! gradients agree with `optax` to rounding (the tests compare them).
//!
//! Inputs are checked when traced, and problems are recorded in the trace
//! like any op error, at the caller's line: predictions and targets must
//! have the **same shape** (no broadcasting: a `[N, 1]` prediction against
//! a `[N]` target would silently broadcast to `[N, N]`, the classic bug), a
//! float dtype, and class labels must be `i32`/`i64`.
//!
//! [`log_softmax`] and [`softmax`] (from [`nn`](crate::nn)) are here too.

use gradlift_ir::{DType, Type};

use crate::nn::activation::{float_only, softplus_unchecked, stable_max};
use crate::nn::validate;
use crate::ops::{iota, select};
use crate::trace::Var;

pub use crate::nn::{log_softmax, softmax};

/// How a loss reduces its per-element values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// The mean over all elements (examples): the default.
    #[default]
    Mean,
    /// The sum over all elements.
    Sum,
    /// No reduction: one loss per element (per example for
    /// [`softmax_cross_entropy`]), as optax returns them, e.g. to weight
    /// events before summing.
    None,
}

impl Reduction {
    /// Applies the reduction to per-element losses.
    #[track_caller]
    pub fn apply(self, losses: Var) -> Var {
        match self {
            Reduction::Mean => losses.mean_all(),
            Reduction::Sum => losses.sum_all(),
            Reduction::None => losses,
        }
    }
}

/// Mean squared error `mean((pred - target)²)`.
#[track_caller]
pub fn mse(pred: Var, target: Var) -> Var {
    mse_with(pred, target, Reduction::Mean)
}

/// Squared error `(pred - target)²`, reduced by `reduction`.
#[track_caller]
pub fn mse_with(pred: Var, target: Var, reduction: Reduction) -> Var {
    if let Err(poisoned) = same_float_shape("mse", pred, target) {
        return poisoned;
    }
    reduction.apply((pred - target).square())
}

/// Mean absolute error `mean(|pred - target|)`.
#[track_caller]
pub fn mae(pred: Var, target: Var) -> Var {
    mae_with(pred, target, Reduction::Mean)
}

/// Absolute error `|pred - target|`, reduced by `reduction`. (The
/// derivative at `pred == target` is 0.)
#[track_caller]
pub fn mae_with(pred: Var, target: Var, reduction: Reduction) -> Var {
    if let Err(poisoned) = same_float_shape("mae", pred, target) {
        return poisoned;
    }
    reduction.apply((pred - target).abs())
}

/// The mean Huber loss with threshold `delta` (see [`huber_with`]).
#[track_caller]
pub fn huber(pred: Var, target: Var, delta: f64) -> Var {
    huber_with(pred, target, delta, Reduction::Mean)
}

/// The Huber loss: `½ e²` where `|e| ≤ delta`, `delta · (|e| - ½ delta)`
/// beyond, for `e = pred - target` (`optax.huber_loss`, PyTorch's
/// `HuberLoss`). Computed as `½ q² + delta · (|e| - q)` with
/// `q = min(|e|, delta)`, which has a continuous derivative and no branch.
/// `delta` must be positive and finite.
#[track_caller]
pub fn huber_with(pred: Var, target: Var, delta: f64, reduction: Reduction) -> Var {
    let checked = validate("huber", &[pred, target], |t| {
        same_float_shape_rule(&t[0], &t[1])?;
        if delta > 0.0 && delta.is_finite() {
            Ok(())
        } else {
            Err(format!("delta must be positive and finite, got {delta}"))
        }
    });
    if let Err(poisoned) = checked {
        return poisoned;
    }
    let abs = (pred - target).abs();
    let quadratic = abs.minimum(delta);
    let linear = abs - quadratic;
    reduction.apply(0.5 * quadratic.square() + linear * delta)
}

/// The mean binary cross-entropy of `labels` given `logits` (see
/// [`binary_cross_entropy_with_logits_with`]).
#[track_caller]
pub fn binary_cross_entropy_with_logits(logits: Var, labels: Var) -> Var {
    binary_cross_entropy_with_logits_with(logits, labels, Reduction::Mean)
}

/// Binary cross-entropy from logits `x` and labels `y ∈ [0, 1]` (soft
/// labels allowed): `-(y log σ(x) + (1-y) log(1-σ(x)))`, computed stably as
/// `max(x, 0) - x·y + log1p(e^-|x|)` (`optax.sigmoid_binary_cross_entropy`,
/// PyTorch's `BCEWithLogitsLoss`): finite for any finite logits, with the
/// gradient `σ(x) - y`. Labels are floats of the logits' dtype, or bool.
#[track_caller]
pub fn binary_cross_entropy_with_logits_with(
    logits: Var,
    labels: Var,
    reduction: Reduction,
) -> Var {
    let checked = validate("binary_cross_entropy_with_logits", &[logits, labels], |t| {
        float_only(&t[0].dtype)?;
        if t[1].dtype != t[0].dtype && t[1].dtype != DType::Bool {
            return Err(format!(
                "labels must be {} (like the logits) or bool, got {}",
                t[0].dtype, t[1].dtype
            ));
        }
        same_shape_rule(&t[0], &t[1], "logits", "labels")
    });
    if let Err(poisoned) = checked {
        return poisoned;
    }
    let y = labels.cast(logits.dtype());
    // softplus(x) = max(x, 0) + log1p(e^-|x|), with the derivative σ(x)
    // as a custom rule (exact at every order, also at x = 0).
    reduction.apply(softplus_unchecked(logits) - logits * y)
}

/// The mean softmax cross-entropy of integer class `labels` given `logits`
/// (see [`softmax_cross_entropy_with`]).
#[track_caller]
pub fn softmax_cross_entropy(logits: Var, labels: Var) -> Var {
    softmax_cross_entropy_with(logits, labels, Reduction::Mean)
}

/// Softmax cross-entropy with integer labels
/// (`optax.softmax_cross_entropy_with_integer_labels`, PyTorch's
/// `cross_entropy`): for logits `x` of shape `[..., C]` and labels of shape
/// `[...]` (`i32` or `i64` class indices in `0..C`), the per-example loss is
/// `logsumexp(x) - x[label]`.
///
/// Stable: the row maximum `m` is subtracted first (`log Σ e^(x-m) -
/// (x[label] - m)`), under `stop_gradient` since the loss does not depend
/// on it, and ties in the maximum then do not matter. The label's logit is
/// picked by a one-hot mask, which fuses into the row reduction. A label
/// outside `0..C` gives a NaN loss for its example (as optax does), so bad
/// labels cannot pass unnoticed; its gradient contribution is 0.
#[track_caller]
pub fn softmax_cross_entropy_with(logits: Var, labels: Var, reduction: Reduction) -> Var {
    let checked = validate("softmax_cross_entropy", &[logits, labels], |t| {
        let (x, y) = (&t[0], &t[1]);
        float_only(&x.dtype)?;
        if !matches!(y.dtype, DType::I32 | DType::I64) {
            return Err(format!(
                "labels must be integer class indices (i32 or i64), got {}",
                y.dtype
            ));
        }
        if x.rank() == 0 || x.dims()[..x.rank() - 1] != *y.dims() {
            return Err(format!(
                "logits {x} must be [..., classes] with labels of shape [...]; got labels {y}"
            ));
        }
        Ok(())
    });
    if let Err(poisoned) = checked {
        return poisoned;
    }
    let shape = logits.shape();
    let classes = shape.dims()[shape.rank() - 1];
    let z = logits - stable_max(logits, -1);
    let log_sum = z.exp().sum(&[-1]).log();
    let class_ids = iota(labels.dtype(), shape.dims(), shape.rank() - 1);
    let one_hot = class_ids.eq(labels.expand_dims(-1));
    let picked = select(one_hot, z, 0.0).sum(&[-1]);
    let valid = labels.ge(0) & labels.lt(classes as i64);
    reduction.apply(select(valid, log_sum - picked, f64::NAN))
}

/// Records an error unless `a` and `b` are floats of one dtype and shape.
#[track_caller]
fn same_float_shape(op: &'static str, a: Var, b: Var) -> Result<(), Var> {
    validate(op, &[a, b], |t| same_float_shape_rule(&t[0], &t[1]))
}

fn same_float_shape_rule(a: &Type, b: &Type) -> Result<(), String> {
    float_only(&a.dtype)?;
    if a.dtype != b.dtype {
        return Err(format!(
            "predictions are {} but targets are {}; .cast() one of them",
            a.dtype, b.dtype
        ));
    }
    same_shape_rule(a, b, "predictions", "targets")
}

fn same_shape_rule(a: &Type, b: &Type, what_a: &str, what_b: &str) -> Result<(), String> {
    if a.shape == b.shape {
        Ok(())
    } else {
        Err(format!(
            "{what_a} {} and {what_b} {} must have the same shape (losses do not broadcast: \
             reshape one of them)",
            a.shape, b.shape
        ))
    }
}
