//! Hard edges made differentiable: soft cuts, soft windows and soft
//! histograms (sigmoid relaxations with a rate `k`), their hard
//! counterparts for comparison, and straight-through cuts that count
//! exactly but differentiate like the relaxation.
//!
//! ```
//! use gradlift::relax::{hard_gt, soft_gt};
//! use gradlift::{eval, grad, Tensor, Var};
//!
//! // One event at x = 0 and a cut at c = 1 (the event fails the cut by 1).
//! let x = Tensor::scalar(0.0f64);
//! let c = Tensor::scalar(1.0f64);
//! for (k, value, slope) in [(1.0, 0.26894, -0.19661), (10.0, 4.5398e-5, -4.5396e-4), (100.0, 3.7201e-44, -3.7201e-42)] {
//!     let out = eval(
//!         move |x: Var, c: Var| {
//!             let d = grad(move |x: Var, c: Var| soft_gt(x, c, k), &[1])(&[x, c]);
//!             (soft_gt(x, c, k), d[0], hard_gt(x, c))
//!         },
//!         &[&x, &c],
//!     )?;
//!     let (v, dc) = (out[0].item::<f64>()?, out[1].item::<f64>()?);
//!     assert!((v / value - 1.0).abs() < 1e-4 && (dc / slope - 1.0).abs() < 1e-4);
//!     assert_eq!(out[2].item::<f64>()?, 0.0); // the hard cut: no gradient at all
//! }
//! # Ok::<(), gradlift::Error>(())
//! ```
//!
//! # The rate trade-off
//!
//! A hard cut `x > c` is a step: its derivative is zero everywhere except
//! at `x = c`, so gradient-based optimisation of `c` sees nothing. The
//! relaxation `σ(k (x - c))` has the derivative `k σ (1 - σ)`, a bump of
//! height `k/4` and width about `4/k` around the cut. The rate `k` trades
//! two failures against each other:
//!
//! - **Too steep** (large `k`): only events within a few `1/k` of the cut
//!   contribute to the gradient. The example above: an event 1 unit below
//!   the cut moves the objective by −0.197 per unit of `c` at `k = 1`, by
//!   −4.5e-4 at `k = 10` and by −3.7e-42 at `k = 100`. With finitely many
//!   events the gradient becomes a comb of spikes: zero between events,
//!   huge on top of one — vanishing and noisy at once.
//! - **Too soft** (small `k`): the soft objective is a different function.
//!   An event 0.1 *above* the cut counts σ(0.1) = 0.525 at `k = 1` (0.731
//!   at `k = 10`, 0.99995 at `k = 100`), and events far from the cut leak
//!   into the count; the soft optimum moves away from the hard one — a
//!   biased answer.
//!
//! On the tutorial's sample (`data/softcut.npz`: 500 signal and 10 000
//! background masses; objective `Z(a) = S/√B` for a lower mass cut `a`,
//! whose hard optimum is `a = 1027.4` with `Z = 12.659`), computed in
//! `tests/relax_rate.rs` (and agreeing with numpy):
//!
//! | k | soft optimum `a*` | hard `Z(a*)` | lost significance |
//! | ---: | ---: | ---: | ---: |
//! | 0.01 | 949.8 | 11.043 | 12.8 % |
//! | 0.1 | 1022.2 | 12.588 | 0.56 % |
//! | 1 | 1026.6 | 12.632 | 0.21 % |
//! | 10 | 1027.4 | 12.659 | 0 |
//!
//! (a scan of `[900, 1100]` in steps of 0.1), and the gradient `dZ/da` at
//! 1000 cut positions 0.01 apart in `[500, 510)`, far below the optimum:
//!
//! | k | mean | std | share with `|dZ/da| < 1e-6` |
//! | ---: | ---: | ---: | ---: |
//! | 1 | 4.50e-3 | 3.1e-4 | 0 |
//! | 10 | 4.49e-3 | 1.5e-3 | 0 |
//! | 100 | 4.44e-3 | 5.6e-3 | 9 % |
//! | 1000 | 4.36e-3 | 1.7e-2 | 75 % |
//!
//! The mean gradient hardly depends on `k` (it is the slope of the
//! smoothed hard curve), but its spread grows with `k`: at `k = 1000`
//! three cut positions in four see no gradient at all, and the others see
//! spikes up to 35 times the mean. At `k = 0.01` the soft optimum lands 78
//! units below the hard one. On this sample `k` between about 1 and 10
//! (the tutorial uses 10) gets both right. A fit that starts far from the
//! optimum can start with a small `k` and raise it as it goes: `k` may be a
//! traced value, passed in like data.
//!
//! # Straight-through cuts
//!
//! [`ste_gt`] and [`ste_lt`] count exactly (forward: the hard 0/1 cut) and
//! differentiate as the relaxation with rate `k` (backward: `k σ (1 - σ)`).
//! The identity derivative of a generic straight-through estimator
//! ([`straight_through`](crate::straight_through)) would be wrong here: it
//! gives every event, however far from the cut, the same unit derivative,
//! so `d count / d cut` would be minus the number of events instead of the
//! density of events at the cut. The sigmoid derivative is the gradient of
//! the soft count, so a fit with `ste_*` follows the soft objective's
//! gradient while reporting the hard objective's value.

use gradlift_ir::{DType, Tensor};

use crate::custom::custom_jvp;
use crate::nn::activation::float_only;
use crate::nn::{fail, operand_number, operand_var, validate};
use crate::ops::{constant, iota, Operand};
use crate::trace::Var;

/// The soft cut `σ(k (x - cut))`: ≈ 1 above the cut, ≈ 0 below, ½ on it.
/// `cut` and `k` are numbers or traced values (broadcasting); a numeric `k`
/// must be positive. See the module docs for choosing `k`.
#[track_caller]
pub fn soft_gt(x: Var, cut: impl Operand, k: impl Operand) -> Var {
    if let Err(poisoned) = check_soft("soft_gt", x, k) {
        return poisoned;
    }
    ((x - operand_var(cut, x)) * operand_var(k, x)).sigmoid()
}

/// The soft cut `σ(k (cut - x))`: ≈ 1 below the cut, ≈ 0 above.
#[track_caller]
pub fn soft_lt(x: Var, cut: impl Operand, k: impl Operand) -> Var {
    if let Err(poisoned) = check_soft("soft_lt", x, k) {
        return poisoned;
    }
    ((operand_var(cut, x) - x) * operand_var(k, x)).sigmoid()
}

/// The soft window `σ(k (x - lo)) · σ(k (hi - x))`: ≈ 1 inside `(lo, hi)`.
#[track_caller]
pub fn soft_window(x: Var, lo: impl Operand, hi: impl Operand, k: impl Operand) -> Var {
    soft_gt(x, lo, k) * soft_lt(x, hi, k)
}

/// The hard cut `x > cut` as 0/1 in `x`'s dtype (derivative zero).
#[track_caller]
pub fn hard_gt(x: Var, cut: impl Operand) -> Var {
    x.gt(cut).cast(x.dtype())
}

/// The hard cut `x < cut` as 0/1 in `x`'s dtype (derivative zero).
#[track_caller]
pub fn hard_lt(x: Var, cut: impl Operand) -> Var {
    x.lt(cut).cast(x.dtype())
}

/// The hard window `lo < x < hi` as 0/1 in `x`'s dtype.
#[track_caller]
pub fn hard_window(x: Var, lo: impl Operand, hi: impl Operand) -> Var {
    (x.gt(lo) & x.lt(hi)).cast(x.dtype())
}

/// The straight-through cut `x > cut`: the value is the hard 0/1 cut, the
/// derivative (with respect to `x` and `cut`) that of [`soft_gt`] with
/// rate `k`. See the module docs for why the sigmoid's derivative and not
/// the identity.
#[track_caller]
pub fn ste_gt(x: Var, cut: impl Operand, k: impl Operand) -> Var {
    ste("ste_gt", x, cut, k, false)
}

/// The straight-through cut `x < cut`: hard value, derivative of [`soft_lt`].
#[track_caller]
pub fn ste_lt(x: Var, cut: impl Operand, k: impl Operand) -> Var {
    ste("ste_lt", x, cut, k, true)
}

#[track_caller]
fn ste(op: &'static str, x: Var, cut: impl Operand, k: impl Operand, below: bool) -> Var {
    if let Err(poisoned) = check_soft(op, x, k) {
        return poisoned;
    }
    let (cut, k) = (operand_var(cut, x), operand_var(k, x));
    // The distance past the cut, positive on the passing side.
    let margin = move |x: Var, c: Var| if below { c - x } else { x - c };
    let rule = custom_jvp(
        move |a: &[Var]| margin(a[0], a[1]).gt(0).cast(a[0].dtype()),
        move |p: &[Var], t: &[Var]| {
            let hard = margin(p[0], p[1]).gt(0).cast(p[0].dtype());
            let s = (margin(p[0], p[1]) * p[2]).sigmoid();
            // d σ(k m) = k σ (1 - σ) dm; the rate is held fixed.
            (hard, margin(t[0], t[1]) * (p[2] * s * (1.0 - s)))
        },
    );
    rule(&[x, cut, k])
}

/// Histogram bin edges: numbers fixed when traced (`&[f64]`, checked to
/// increase), or a traced 1-D value (differentiable, e.g. to fit a binning).
#[derive(Clone, Copy, Debug)]
pub enum Edges<'a> {
    /// Edges known when tracing.
    Fixed(&'a [f64]),
    /// Edges as a traced 1-D value of the data's dtype.
    Traced(Var),
}

impl<'a> From<&'a [f64]> for Edges<'a> {
    fn from(e: &'a [f64]) -> Edges<'a> {
        Edges::Fixed(e)
    }
}

impl<'a, const N: usize> From<&'a [f64; N]> for Edges<'a> {
    fn from(e: &'a [f64; N]) -> Edges<'a> {
        Edges::Fixed(e)
    }
}

impl<'a> From<&'a Vec<f64>> for Edges<'a> {
    fn from(e: &'a Vec<f64>) -> Edges<'a> {
        Edges::Fixed(e)
    }
}

impl From<Var> for Edges<'_> {
    fn from(e: Var) -> Self {
        Edges::Traced(e)
    }
}

/// A soft histogram: the counts of `x` (any shape, flattened) in the bins
/// between consecutive `edges`, each event adding `σ(k (x - lo)) - σ(k (x -
/// hi))` to bin `[lo, hi)`. Differentiable with respect to `x`, traced
/// edges and `k`; the counts sum to the soft count of events between the
/// first and last edge (≈ the number of events inside, up to edge effects
/// of width ~`1/k`). The result has one element per bin, `x`'s dtype.
#[track_caller]
pub fn soft_histogram<'a>(x: Var, edges: impl Into<Edges<'a>>, k: impl Operand) -> Var {
    soft_hist("soft_histogram", x, None, edges.into(), k)
}

/// [`soft_histogram`] with a weight per event (`weights` has `x`'s shape).
#[track_caller]
pub fn soft_histogram_weighted<'a>(
    x: Var,
    weights: Var,
    edges: impl Into<Edges<'a>>,
    k: impl Operand,
) -> Var {
    soft_hist("soft_histogram", x, Some(weights), edges.into(), k)
}

/// The hard histogram of `x` (any shape, flattened) as `numpy.histogram`
/// counts it: bins `[lo, hi)`, the last one closed `[lo, hi]`; values
/// outside the edges are not counted. Counts in `x`'s dtype.
#[track_caller]
pub fn histogram<'a>(x: Var, edges: impl Into<Edges<'a>>) -> Var {
    hard_hist(x, None, edges.into())
}

/// [`histogram`] with a weight per event (`weights` has `x`'s shape).
#[track_caller]
pub fn histogram_weighted<'a>(x: Var, weights: Var, edges: impl Into<Edges<'a>>) -> Var {
    hard_hist(x, Some(weights), edges.into())
}

#[track_caller]
fn soft_hist(
    op: &'static str,
    x: Var,
    weights: Option<Var>,
    edges: Edges<'_>,
    k: impl Operand,
) -> Var {
    if let Err(poisoned) = check_soft(op, x, k) {
        return poisoned;
    }
    let (e, bins) = match edges_var(op, x, weights, edges) {
        Ok(eb) => eb,
        Err(poisoned) => return poisoned,
    };
    // s[i, j] = σ(k (x_i - e_j)); event i adds s[i, j] - s[i, j+1] to bin j
    // (differences per event, then the sum: no cancellation between sums).
    let s = ((x.flatten().expand_dims(1) - e) * operand_var(k, x)).sigmoid();
    let per_event = s.slice_axis(1, 0, bins) - s.slice_axis(1, 1, bins + 1);
    weighted_sum(per_event, weights)
}

#[track_caller]
fn hard_hist(x: Var, weights: Option<Var>, edges: Edges<'_>) -> Var {
    let op = "histogram";
    if let Err(poisoned) = validate(op, &[x], |t| float_only(&t[0].dtype)) {
        return poisoned;
    }
    let (e, bins) = match edges_var(op, x, weights, edges) {
        Ok(eb) => eb,
        Err(poisoned) => return poisoned,
    };
    let xs = x.flatten().expand_dims(1);
    let (lo, hi) = (e.slice_axis(0, 0, bins), e.slice_axis(0, 1, bins + 1));
    let last = iota(DType::I64, &[bins], 0).eq(bins as i64 - 1);
    let inside = xs.ge(lo) & (xs.lt(hi) | (xs.eq(hi) & last));
    weighted_sum(inside.cast(x.dtype()), weights)
}

/// `Σ_i w_i m[i, :]` (or `Σ_i m[i, :]`) for per-event rows `m`.
#[track_caller]
fn weighted_sum(per_event: Var, weights: Option<Var>) -> Var {
    match weights {
        Some(w) => (per_event * w.flatten().expand_dims(1)).sum(&[0]),
        None => per_event.sum(&[0]),
    }
}

/// The edges as a traced `[bins + 1]` value of `x`'s dtype, and the number
/// of bins, after checking edges and weights.
#[track_caller]
fn edges_var(
    op: &'static str,
    x: Var,
    weights: Option<Var>,
    edges: Edges<'_>,
) -> Result<(Var, usize), Var> {
    let mut inputs = vec![x];
    inputs.extend(weights);
    if let Edges::Traced(e) = edges {
        inputs.push(e);
    }
    let has_weights = weights.is_some();
    validate(op, &inputs, |t| {
        if has_weights && (t[1].shape != t[0].shape || t[1].dtype != t[0].dtype) {
            return Err(format!("weights {} must have the type of the values {}", t[1], t[0]));
        }
        match edges {
            Edges::Fixed(v) => {
                if v.len() < 2 {
                    return Err(format!("needs at least 2 edges (one bin), got {}", v.len()));
                }
                if !v.iter().all(|e| e.is_finite()) || v.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(format!("edges must be finite and increasing, got {v:?}"));
                }
            }
            Edges::Traced(_) => {
                let e = &t[t.len() - 1];
                if e.rank() != 1 || e.dims()[0] < 2 || e.dtype != t[0].dtype {
                    return Err(format!(
                        "traced edges must be 1-D of the values' dtype {} with at least 2 \
                         entries, got {e}",
                        t[0].dtype
                    ));
                }
            }
        }
        Ok(())
    })?;
    match edges {
        Edges::Fixed(v) => match Tensor::from_slice([v.len()], v) {
            Ok(t) => Ok((constant(&t.cast(x.dtype())), v.len() - 1)),
            Err(e) => Err(fail(op, &[x], e.to_string())),
        },
        Edges::Traced(e) => Ok((e, e.shape().dims()[0] - 1)),
    }
}

/// Checks that `x` is a float and a numeric rate positive and finite.
#[track_caller]
fn check_soft(op: &'static str, x: Var, k: impl Operand) -> Result<(), Var> {
    let rate = operand_number(k);
    validate(op, &[x], |t| {
        float_only(&t[0].dtype)?;
        match rate {
            Some(k) if !(k > 0.0 && k.is_finite()) => {
                Err(format!("the rate k must be positive and finite, got {k}"))
            }
            _ => Ok(()),
        }
    })
}
