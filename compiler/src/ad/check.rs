//! Numerical gradient checking, JAX's `check_grads` on graphs: forward mode
//! against central finite differences in a random direction, reverse mode
//! through the inner-product identity ⟨t, vjp(c)⟩ = ⟨jvp(t), c⟩ (with the
//! JVP taken numerically), recursing to the requested order on the
//! transformed functions themselves.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use gradlift_ir::interp::eval_function;
use gradlift_ir::{DType, Data, Function, Tensor};

use super::{jvp, vjp};
use crate::error::CompileError;

/// Which modes `check_grads` exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modes {
    pub fwd: bool,
    pub rev: bool,
}

impl Modes {
    pub const BOTH: Modes = Modes { fwd: true, rev: true };
    pub const FWD: Modes = Modes { fwd: true, rev: false };
    pub const REV: Modes = Modes { fwd: false, rev: true };
}

/// Tolerances and step for a check. [`Tolerance::for_dtype`] gives the
/// defaults: f64 tolerance 1e-5 with step 1e-5, f32 tolerance 2e-3 with step 4e-3.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
    pub eps: f64,
}

impl Tolerance {
    pub fn for_dtype(dt: DType) -> Tolerance {
        match dt {
            // Central differences in f32: the step that balances rounding
            // (ε_mach / h) against truncation (h²) is about ε_mach^(1/3).
            DType::F32 => Tolerance { atol: 2e-3, rtol: 2e-3, eps: 4e-3 },
            _ => Tolerance { atol: 1e-5, rtol: 1e-5, eps: 1e-5 },
        }
    }
}

/// Checks the derivatives of `f` at `args` to `order` (1 = first
/// derivatives; 2 also checks the derivatives of the JVP and VJP functions;
/// and so on). Returns a typed error describing the first mismatch.
pub fn check_grads(
    f: &Function,
    args: &[Tensor],
    order: usize,
    modes: Modes,
    seed: u64,
) -> Result<(), CompileError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    check_rec(f, args, order, modes, &mut rng, f.name())
}

fn float_params(f: &Function) -> Vec<usize> {
    f.params().filter(|p| f.ty(*p).dtype.is_float()).map(|p| p.index()).collect()
}

fn check_rec(
    f: &Function,
    args: &[Tensor],
    order: usize,
    modes: Modes,
    rng: &mut ChaCha8Rng,
    path: &str,
) -> Result<(), CompileError> {
    if order == 0 {
        return Ok(());
    }
    let wrt = float_params(f);
    if wrt.is_empty() {
        return Ok(());
    }
    let tangents: Vec<Tensor> = wrt.iter().map(|&p| random_like(&args[p], rng)).collect();
    let numeric = numerical_jvp(f, args, &wrt, &tangents)?;
    if modes.fwd {
        let fj = jvp(f, &wrt)?;
        let mut jargs = args.to_vec();
        jargs.extend(tangents.iter().cloned());
        let out = eval_function(&fj, &jargs)?;
        let nres = f.results().len();
        let primal = eval_function(f, args)?;
        let tol = Tolerance::for_dtype(lowest_precision(f));
        for k in 0..nres {
            compare(&out[k], &primal[k], tol, &format!("{path}: jvp primal output {k}"))?;
            compare(
                &out[nres + k],
                &numeric[k],
                tol,
                &format!("{path}: jvp tangent of output {k}"),
            )?;
        }
        if order > 1 {
            check_rec(&fj, &jargs, order - 1, modes, rng, &format!("{path} → jvp"))?;
        }
    }
    if modes.rev {
        let fv = vjp(f, &wrt)?;
        let nres = f.results().len();
        let primal = eval_function(f, args)?;
        let cts: Vec<Tensor> = primal.iter().map(|p| random_like(p, rng)).collect();
        let mut vargs = args.to_vec();
        vargs.extend(cts.iter().cloned());
        let out = eval_function(&fv, &vargs)?;
        // <t, vjp(c)> against <numerical jvp(t), c>.
        let mut lhs = 0.0;
        for (k, t) in tangents.iter().enumerate() {
            lhs += inner(t, &out[nres + k]);
        }
        let mut rhs = 0.0;
        let mut scale = 0.0;
        for k in 0..nres {
            if primal[k].dtype().is_float() {
                rhs += inner(&numeric[k], &cts[k]);
                scale += inner_abs(&numeric[k], &cts[k]);
            }
        }
        let tol = Tolerance::for_dtype(lowest_precision(f));
        if (lhs - rhs).abs() > tol.atol + tol.rtol * scale.max(rhs.abs()) {
            return Err(CompileError::transform(
                "check_grads",
                format!("{path}: vjp inner product {lhs:.9e} differs from the numerical jvp's {rhs:.9e}"),
            ));
        }
        if order > 1 {
            check_rec(&fv, &vargs, order - 1, modes, rng, &format!("{path} → vjp"))?;
        }
    }
    Ok(())
}

/// The coarsest float dtype among `f`'s parameters and results.
fn lowest_precision(f: &Function) -> DType {
    if f.params().any(|p| f.ty(p).dtype == DType::F32)
        || f.results().iter().any(|r| f.ty(*r).dtype == DType::F32)
    {
        DType::F32
    } else {
        DType::F64
    }
}

/// Central differences: (f(x + εt) − f(x − εt)) / 2ε, per result.
fn numerical_jvp(
    f: &Function,
    args: &[Tensor],
    wrt: &[usize],
    tangents: &[Tensor],
) -> Result<Vec<Tensor>, CompileError> {
    let eps = Tolerance::for_dtype(lowest_precision(f)).eps;
    let mut plus = args.to_vec();
    let mut minus = args.to_vec();
    for (k, &p) in wrt.iter().enumerate() {
        plus[p] = axpy(&args[p], eps, &tangents[k]);
        minus[p] = axpy(&args[p], -eps, &tangents[k]);
    }
    let fp = eval_function(f, &plus)?;
    let fm = eval_function(f, &minus)?;
    Ok(fp.iter().zip(&fm).map(|(a, b)| central(a, b, eps)).collect())
}

fn to_f64(t: &Tensor) -> Vec<f64> {
    match t.data() {
        Data::F32(v) => v.iter().map(|&x| x as f64).collect(),
        Data::F64(v) => v.clone(),
        Data::I32(v) => v.iter().map(|&x| x as f64).collect(),
        Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
        Data::Bool(v) => v.iter().map(|&x| x as u8 as f64).collect(),
    }
}

fn from_f64(like: &Tensor, v: Vec<f64>) -> Tensor {
    let data = match like.dtype() {
        DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
        DType::F64 => Data::F64(v),
        DType::I32 | DType::I64 | DType::Bool => return like.clone(),
    };
    Tensor::new(like.shape().clone(), data).unwrap_or_else(|_| like.clone())
}

fn axpy(x: &Tensor, a: f64, t: &Tensor) -> Tensor {
    let v: Vec<f64> = to_f64(x).iter().zip(to_f64(t)).map(|(x, t)| x + a * t).collect();
    from_f64(x, v)
}

fn central(p: &Tensor, m: &Tensor, eps: f64) -> Tensor {
    if !p.dtype().is_float() {
        return Tensor::zeros_of(&p.ty()).unwrap_or_else(|_| p.clone());
    }
    // Equal values (infinities included: an empty max is -inf on both
    // sides) have a zero difference.
    let v: Vec<f64> = to_f64(p)
        .iter()
        .zip(to_f64(m))
        .map(|(&a, b)| if a == b { 0.0 } else { (a - b) / (2.0 * eps) })
        .collect();
    from_f64(p, v)
}

fn random_like(t: &Tensor, rng: &mut ChaCha8Rng) -> Tensor {
    let v: Vec<f64> = (0..t.len()).map(|_| rng.gen_range(-1.0..1.0)).collect();
    from_f64(t, v)
}

fn inner(a: &Tensor, b: &Tensor) -> f64 {
    to_f64(a).iter().zip(to_f64(b)).map(|(x, y)| x * y).sum()
}

fn inner_abs(a: &Tensor, b: &Tensor) -> f64 {
    to_f64(a).iter().zip(to_f64(b)).map(|(x, y)| (x * y).abs()).sum()
}

fn compare(
    actual: &Tensor,
    expected: &Tensor,
    tol: Tolerance,
    what: &str,
) -> Result<(), CompileError> {
    if !expected.dtype().is_float() {
        return Ok(());
    }
    let (a, e) = (to_f64(actual), to_f64(expected));
    if a.len() != e.len() {
        return Err(CompileError::transform(
            "check_grads",
            format!("{what}: {} values, expected {}", a.len(), e.len()),
        ));
    }
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        let ok =
            (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= tol.atol + tol.rtol * y.abs();
        if !ok {
            return Err(CompileError::transform(
                "check_grads",
                format!("{what}: element {i} is {x:.9e}, finite differences give {y:.9e}"),
            ));
        }
    }
    Ok(())
}
