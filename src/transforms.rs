//! Function transforms on traced Rust functions: [`grad`],
//! [`value_and_grad`], [`jvp`], [`vjp`], [`jacfwd`], [`jacrev`],
//! [`hessian`].
//!
//! Each transform traces the user's function into its own IR function (on
//! the argument types it is called with), rewrites that graph (see
//! `gradlift_compiler::ad`) and records the result into the trace that
//! called it. So transforms compose to any order (`grad(grad(f))`), work
//! inside traced and jitted code, and the derivative code shows up in the
//! printed IR at the user's source lines. Outside a trace, [`eval`] runs any
//! of them on host tensors with the reference interpreter.

use gradlift_compiler::ad;
use gradlift_ir::interp::eval_function;
use gradlift_ir::{Function, Tensor, Type};

use crate::error::Error;
use crate::trace::{fail_outputs, inline_function, trace, TraceFn, Tracer, Var};

/// Traces `f` on the types of `args` (the sub-function of a transform).
/// Values of enclosing traces that `f` closes over become extra parameters
/// after `args`'; they are returned, to be passed along.
#[track_caller]
fn trace_at<M, F: TraceFn<M>>(
    name: &str,
    f: F,
    args: &[Var],
) -> Result<(Function, Vec<Var>), Error> {
    let types: Vec<Type> = args.iter().map(|a| a.ty()).collect();
    Tracer::new(name).params(types).trace_capturing(f)
}

/// Runs a graph transform of `f` at `args` and records the transformed
/// function into the calling trace. Returns all its results.
fn apply<M, F: TraceFn<M>>(
    name: &str,
    f: F,
    args: &[Var],
    extra: &[Var],
    transform: impl FnOnce(&Function) -> Result<Function, gradlift_compiler::CompileError>,
    n_out: usize,
) -> Vec<Var> {
    if let Some(p) = args.iter().chain(extra).find(|a| a.is_poisoned()) {
        return vec![*p; n_out.max(1)];
    }
    let (g, captures) =
        match trace_at(name, f, args).and_then(|(sub, caps)| Ok((transform(&sub)?, caps))) {
            Ok(x) => x,
            Err(e) => return fail_outputs(e, n_out.max(1)),
        };
    // The transformed function's parameters: the arguments, the captured
    // values, then the transform's extra inputs (tangents, cotangents).
    let mut inputs = args.to_vec();
    inputs.extend_from_slice(&captures);
    inputs.extend_from_slice(extra);
    inline_function(&g, &inputs)
}

fn check_argnums(argnums: &[usize], n: usize, what: &'static str) -> Result<(), Error> {
    for &a in argnums {
        if a >= n {
            return Err(gradlift_compiler::CompileError::transform(
                what,
                format!("argnum {a} is out of range for a function of {n} arguments"),
            )
            .into());
        }
    }
    Ok(())
}

/// The gradient of `f` (whose first result must be a float scalar) with
/// respect to the arguments `argnums`: `grad(f, &[0, 2])(&[x, y, z])`
/// returns `[df/dx, df/dz]`. Works inside traced code and composes
/// (`grad(grad(f, &[0]), &[0])` is the second derivative of a scalar
/// function).
pub fn grad<M, F>(f: F, argnums: &[usize]) -> impl Fn(&[Var]) -> Vec<Var> + Clone
where
    F: TraceFn<M> + Clone,
{
    let argnums = argnums.to_vec();
    move |args: &[Var]| {
        let (_, grads) = value_and_grad_impl(f.clone(), &argnums, args);
        grads
    }
}

/// The value and the gradient of `f` (see [`grad`]): returns `(f's first
/// result, [gradients])`.
pub fn value_and_grad<M, F>(f: F, argnums: &[usize]) -> impl Fn(&[Var]) -> (Var, Vec<Var>) + Clone
where
    F: TraceFn<M> + Clone,
{
    let argnums = argnums.to_vec();
    move |args: &[Var]| {
        let (values, grads) = value_and_grad_impl(f.clone(), &argnums, args);
        (values[0], grads)
    }
}

/// Like [`value_and_grad`] for a function with auxiliary results: the
/// gradient is that of the first result; every result is returned.
pub fn value_and_grad_with_aux<M, F>(
    f: F,
    argnums: &[usize],
) -> impl Fn(&[Var]) -> (Vec<Var>, Vec<Var>) + Clone
where
    F: TraceFn<M> + Clone,
{
    let argnums = argnums.to_vec();
    move |args: &[Var]| value_and_grad_impl(f.clone(), &argnums, args)
}

fn value_and_grad_impl<M, F: TraceFn<M>>(
    f: F,
    argnums: &[usize],
    args: &[Var],
) -> (Vec<Var>, Vec<Var>) {
    if let Err(e) = check_argnums(argnums, args.len(), "grad") {
        let out = fail_outputs(e, 1 + argnums.len());
        return (vec![out[0]], out[1..].to_vec());
    }
    let mut nres = 1;
    let out = apply(
        "grad",
        f,
        args,
        &[],
        |sub| {
            nres = sub.results().len();
            ad::grad(sub, argnums, 0)
        },
        1 + argnums.len(),
    );
    let nres = nres.min(out.len());
    let grads = out[nres..].to_vec();
    let grads = if grads.len() == argnums.len() { grads } else { vec![out[0]; argnums.len()] };
    (out[..nres.max(1).min(out.len())].to_vec(), grads)
}

/// Forward mode: the results of `f` at `primals` and their directional
/// derivatives along `tangents` (one per primal; every primal must be a
/// float). Returns `(results, tangents of the results)`.
pub fn jvp<M, F: TraceFn<M>>(f: F, primals: &[Var], tangents: &[Var]) -> (Vec<Var>, Vec<Var>) {
    if primals.len() != tangents.len() {
        let e = gradlift_compiler::CompileError::transform(
            "jvp",
            format!("{} primals but {} tangents", primals.len(), tangents.len()),
        );
        let out = fail_outputs(e.into(), 2);
        return (vec![out[0]], vec![out[1]]);
    }
    for (k, (p, t)) in primals.iter().zip(tangents).enumerate() {
        if !p.is_poisoned() && !t.is_poisoned() && p.ty() != t.ty() {
            let e = gradlift_compiler::CompileError::transform(
                "jvp",
                format!("tangent {k} has type {}, its primal {}", t.ty(), p.ty()),
            );
            let out = fail_outputs(e.into(), 2);
            return (vec![out[0]], vec![out[1]]);
        }
    }
    let wrt: Vec<usize> = (0..primals.len()).collect();
    let out = apply("jvp", f, primals, tangents, |sub| ad::jvp(sub, &wrt), 2);
    let half = out.len() / 2;
    (out[..half].to_vec(), out[half..].to_vec())
}

/// Reverse mode: the results of `f` at `primals` and a pullback mapping
/// cotangents of the results (one per result) to cotangents of the primals.
pub fn vjp<M, F>(f: F, primals: &[Var]) -> (Vec<Var>, impl Fn(&[Var]) -> Vec<Var>)
where
    F: TraceFn<M> + Clone,
{
    let outs = apply("vjp", f.clone(), primals, &[], |sub| Ok(sub.clone()), 1);
    let primals = primals.to_vec();
    let pullback = move |cts: &[Var]| -> Vec<Var> {
        let wrt: Vec<usize> = (0..primals.len()).collect();
        let mut nres = 0;
        let out = apply(
            "vjp",
            f.clone(),
            &primals,
            cts,
            |sub| {
                nres = sub.results().len();
                if cts.len() != nres {
                    return Err(gradlift_compiler::CompileError::transform(
                        "vjp",
                        format!(
                            "the pullback takes {nres} cotangents (one per result), got {}",
                            cts.len()
                        ),
                    ));
                }
                ad::vjp(sub, &wrt)
            },
            primals.len(),
        );
        if out.len() >= nres + primals.len() {
            out[nres..].to_vec()
        } else {
            out
        }
    };
    (outs, pullback)
}

/// Forward-mode Jacobians of `f`'s first result with respect to the
/// arguments `argnums`, each of shape `result ++ argument`.
pub fn jacfwd<M, F>(f: F, argnums: &[usize]) -> impl Fn(&[Var]) -> Vec<Var> + Clone
where
    F: TraceFn<M> + Clone,
{
    let argnums = argnums.to_vec();
    move |args: &[Var]| jacobian(f.clone(), &argnums, args, false)
}

/// Reverse-mode Jacobians (see [`jacfwd`]; same results, one VJP per
/// result element instead of one JVP per input element).
pub fn jacrev<M, F>(f: F, argnums: &[usize]) -> impl Fn(&[Var]) -> Vec<Var> + Clone
where
    F: TraceFn<M> + Clone,
{
    let argnums = argnums.to_vec();
    move |args: &[Var]| jacobian(f.clone(), &argnums, args, true)
}

fn jacobian<M, F: TraceFn<M>>(f: F, argnums: &[usize], args: &[Var], reverse: bool) -> Vec<Var> {
    if let Err(e) = check_argnums(argnums, args.len(), "jacobian") {
        return fail_outputs(e, argnums.len());
    }
    let mut nres = 0;
    let out = apply(
        "jacobian",
        f,
        args,
        &[],
        |sub| {
            nres = sub.results().len();
            if reverse {
                ad::jacrev(sub, argnums, 0)
            } else {
                ad::jacfwd(sub, argnums, 0)
            }
        },
        argnums.len(),
    );
    if out.len() >= nres + argnums.len() {
        out[nres..].to_vec()
    } else {
        out
    }
}

/// The Hessian of `f`'s first result (a float scalar) with respect to
/// argument `argnum`, forward over reverse; shape `argument ++ argument`.
pub fn hessian<M, F>(f: F, argnum: usize) -> impl Fn(&[Var]) -> Var + Clone
where
    F: TraceFn<M> + Clone,
{
    move |args: &[Var]| {
        if let Err(e) = check_argnums(&[argnum], args.len(), "hessian") {
            return fail_outputs(e, 1)[0];
        }
        let mut nres = 0;
        let out = apply(
            "hessian",
            f.clone(),
            args,
            &[],
            |sub| {
                nres = sub.results().len();
                ad::hessian(sub, argnum, 0)
            },
            1,
        );
        // Results: f's results, the gradient, the Hessian.
        *out.last().unwrap_or(&out[0])
    }
}

/// Traces `f` on the types of `args` and evaluates it with the reference
/// interpreter: the way to run any function (or transform of one) on host
/// tensors without compiling it.
#[track_caller]
pub fn eval<M, F: TraceFn<M>>(f: F, args: &[&Tensor]) -> Result<Vec<Tensor>, Error> {
    let types: Vec<Type> = args.iter().map(|t| t.ty()).collect();
    let g = trace("eval", f, &types)?;
    let owned: Vec<Tensor> = args.iter().map(|t| (*t).clone()).collect();
    Ok(eval_function(&g, &owned)?)
}

/// Checks `f`'s derivatives at `args` numerically, like JAX's
/// `check_grads`: forward mode against central finite differences in a
/// random direction, reverse mode through the inner-product identity
/// ⟨t, vjp(c)⟩ = ⟨jvp(t), c⟩, recursing on the JVP and VJP functions to
/// `order`. Tolerances by dtype: f64 1e-5, f32 2e-3. Returns a typed error
/// describing the first mismatch.
///
/// ```
/// use gradlift::{check_grads, Modes, Tensor, Var};
/// let x = Tensor::from_slice([3], &[0.3f64, -1.2, 2.0])?;
/// check_grads(|x: Var| (x.sin() * x).exp().sum_all(), &[&x], 2, Modes::BOTH)?;
/// # Ok::<(), gradlift::Error>(())
/// ```
#[track_caller]
pub fn check_grads<M, F: TraceFn<M>>(
    f: F,
    args: &[&Tensor],
    order: usize,
    modes: ad::Modes,
) -> Result<(), Error> {
    let types: Vec<Type> = args.iter().map(|t| t.ty()).collect();
    let g = trace("check_grads", f, &types)?;
    let owned: Vec<Tensor> = args.iter().map(|t| (*t).clone()).collect();
    Ok(ad::check_grads(&g, &owned, order, modes, 0x5eed)?)
}
