//! Helpers shared by the nn / loss / relax tests: run a traced function on
//! both backends and compare, tensors from slices, closeness checks.
#![allow(dead_code)]

#[rustfmt::skip]
pub mod reference;

use gradlift::ir::Loc;
use gradlift::{eval, jit, DType, Error, Tensor, TraceFn};

/// Runs `f` with the reference interpreter ([`eval`]) and natively
/// ([`jit`]), checks that the two agree (NaN equal to NaN) and returns the
/// interpreter's results.
#[track_caller]
pub fn both<M, F: TraceFn<M> + Clone>(f: F, args: &[&Tensor]) -> Vec<Tensor> {
    let interp = eval(f.clone(), args).unwrap_or_else(|e| panic!("eval: {e}"));
    let native = jit(f).call(args).unwrap_or_else(|e| panic!("jit: {e}"));
    assert_eq!(interp.len(), native.len());
    for (k, (a, b)) in interp.iter().zip(&native).enumerate() {
        let (rtol, atol) = match a.dtype() {
            DType::F32 => (1e-5, 1e-6),
            _ => (1e-10, 1e-12),
        };
        assert_eq!(a.ty(), b.ty(), "result {k}: types differ");
        assert!(a.allclose_nan(b, rtol, atol), "result {k}: interpreter {a} vs jit {b}");
    }
    interp
}

/// A 1-D f64 tensor.
pub fn t64(v: &[f64]) -> Tensor {
    Tensor::from_slice([v.len()], v).unwrap()
}

/// An f64 tensor of the given shape.
pub fn t64s(shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::from_slice(shape, v).unwrap()
}

/// A 1-D f32 tensor from f64 values.
pub fn t32(v: &[f64]) -> Tensor {
    t64(v).cast(DType::F32)
}

/// The values of a tensor as f64.
pub fn vals(t: &Tensor) -> Vec<f64> {
    t.to_f64_vec()
}

/// Asserts `|got - want| <= atol + rtol |want|` elementwise (NaN only
/// against NaN, infinities only against themselves).
#[track_caller]
pub fn assert_close(got: &[f64], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ: {got:?} vs {want:?}");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (g.is_nan() && w.is_nan())
            || g == w
            || (g.is_finite() && w.is_finite() && (g - w).abs() <= atol + rtol * w.abs());
        assert!(ok, "element {i}: got {g}, want {w}\n got: {got:?}\nwant: {want:?}");
    }
}

/// Asserts that every value is finite.
#[track_caller]
pub fn assert_finite(t: &Tensor) {
    assert!(vals(t).iter().all(|v| v.is_finite()), "non-finite values: {t}");
}

/// The line of an error's location (which must exist).
#[track_caller]
pub fn err_line(e: &Error) -> u32 {
    let loc: &Loc = e.loc().unwrap_or_else(|| panic!("error without a location: {e}"));
    assert!(loc.file.ends_with(".rs"), "{loc}");
    loc.line
}
