//! Custom derivative rules, the straight-through estimator built on them,
//! and the safe form of `select` for the where-NaN trap.

use std::sync::Arc;

use gradlift_ir::{CustomRule, Op, Type};

use crate::trace::{emit, fail_outputs, trace, TraceFn, Var};

/// Attaches a forward-mode derivative rule to `f`, like JAX's
/// `custom_jvp`: the returned function computes `f`, and every transform
/// (grad, jvp, vjp, hessian, any order) differentiates it with `jvp`
/// instead of `f`'s own ops.
///
/// `jvp(primals, tangents)` returns `(f(primals), tangent of the result)`;
/// the tangent must be linear in `tangents` (reverse mode transposes it),
/// and may use any traced ops on the primals. Higher derivatives
/// differentiate the rule's own code.
///
/// ```
/// use gradlift::{custom_jvp, eval, grad, Tensor, Var};
/// // log(1 + exp(x)) with a derivative that stays finite for large x.
/// let softplus = custom_jvp(
///     |x: Var| (x.exp() + 1.0).log(),
///     |p: &[Var], t: &[Var]| ((p[0].exp() + 1.0).log(), t[0] * p[0].sigmoid()),
/// );
/// let sp = softplus.clone();
/// let g = eval(move |x: Var| grad(sp.clone(), &[0])(&[x]), &[&Tensor::scalar(1000.0f64)])?;
/// assert_eq!(g[0].item::<f64>()?, 1.0);
/// # Ok::<(), gradlift::Error>(())
/// ```
pub fn custom_jvp<M, F, J>(f: F, jvp: J) -> impl Fn(&[Var]) -> Var + Clone
where
    F: TraceFn<M> + Clone,
    J: Fn(&[Var], &[Var]) -> (Var, Var) + Clone,
{
    move |args: &[Var]| {
        if let Some(p) = args.iter().find(|a| a.is_poisoned()) {
            return *p;
        }
        let types: Vec<Type> = args.iter().map(|a| a.ty()).collect();
        let n = args.len();
        let primal = match trace("custom_primal", f.clone(), &types) {
            Ok(p) => p,
            Err(e) => return fail_outputs(e, 1)[0],
        };
        let mut jvp_types = types.clone();
        jvp_types.extend(types.iter().cloned());
        let rule = jvp.clone();
        let jvp_fn = match trace(
            "custom_jvp",
            move |all: &[Var]| {
                let (p, t) = all.split_at(n);
                let (y, dy) = rule(p, t);
                vec![y, dy]
            },
            &jvp_types,
        ) {
            Ok(j) => j,
            Err(e) => return fail_outputs(e, 1)[0],
        };
        let rule = Arc::new(CustomRule { primal, jvp: jvp_fn });
        emit("custom_jvp", args, |cx, v| cx.push(Op::CustomJvp(rule), v))
    }
}

/// A straight-through estimator: computes `f(x)` (typically a hard,
/// piecewise-constant function such as rounding or a step) but
/// differentiates as the identity, so gradients flow through it unchanged.
///
/// ```
/// use gradlift::{eval, grad, straight_through, Tensor, Var};
/// let ste_round = straight_through(|x: Var| x.round());
/// let g = eval(move |x: Var| grad(|x: Var| ste_round(x).square(), &[0])(&[x]),
///              &[&Tensor::scalar(1.3f64)])?;
/// // d/dx round(x)^2 with round's derivative taken as 1: 2 round(x) = 2.
/// assert_eq!(g[0].item::<f64>()?, 2.0);
/// # Ok::<(), gradlift::Error>(())
/// ```
pub fn straight_through<F>(f: F) -> impl Fn(Var) -> Var + Clone
where
    F: Fn(Var) -> Var + Clone,
{
    let g = f.clone();
    let rule = custom_jvp(move |x: Var| f(x), move |p: &[Var], t: &[Var]| (g(p[0]), t[0]));
    move |x: Var| rule(&[x])
}

/// `select(pred, f(x), on_false)` whose gradient stays finite where `pred`
/// is false even if `f` is undefined there: the **where-NaN trap**.
///
/// With a plain `select(x > 0.0, x.sqrt(), zero)`, the derivative of the
/// branch not taken is still computed (`0.5 / sqrt(x)`, NaN for x < 0) and
/// multiplied by a zero cotangent: `0 · NaN = NaN`, so the whole gradient
/// becomes NaN — in JAX and PyTorch alike. The fix is to also feed `f` a
/// harmless input where `pred` is false: `f(select(pred, x, safe))`. This
/// function does exactly that; `safe` must be a point where `f` and its
/// derivatives are finite.
///
/// ```
/// use gradlift::{eval, grad, select_safe, Tensor, Var};
/// let f = |x: Var| select_safe(x.gt(0.0), x, 1.0, |x| x.sqrt(), x.zeros_like()).sum_all();
/// let x = Tensor::from_slice([2], &[-1.0f64, 4.0])?;
/// let g = eval(move |x: Var| grad(f, &[0])(&[x]), &[&x])?;
/// assert_eq!(g[0].to_vec::<f64>()?, vec![0.0, 0.25]);
/// # Ok::<(), gradlift::Error>(())
/// ```
#[track_caller]
pub fn select_safe(pred: Var, x: Var, safe: f64, f: impl FnOnce(Var) -> Var, on_false: Var) -> Var {
    let safe_x = crate::select(pred, x, x.full_like(safe));
    crate::select(pred, f(safe_x), on_false)
}
