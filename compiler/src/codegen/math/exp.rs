//! exp and expm1, plus the exp cores that tanh, logistic and pow reuse.
//!
//! Reduction: `x = n ln2 + r`, `n = round(x / ln2)` by the magic-number
//! trick (no float-to-int conversion, which Cranelift does not lower for
//! f64x2), `r` by Cody–Waite with a two-part ln2 and FMA (the first step is
//! exact), `|r| <= ln2/2`. Then a minimax polynomial for exp(r) or
//! expm1(r), and `2^n` built in the exponent field.

use super::coeffs::{EXPM1_F32, EXPM1_F64, EXP_F32, EXP_F64};
use super::ops::{Ctx, Mask};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::Value;

const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln2 = HI + LO, each part in the working format.
pub(crate) const LN2_F32: (f32, f32) = (std::f32::consts::LN_2, -1.9046542e-9);
pub(crate) const LN2_F64: (f64, f64) = (std::f64::consts::LN_2, 2.319_046_813_846_299_6e-17);

/// exp(x) for every input: inf, NaN, overflow, and results that are
/// denormal (correctly rounded from the polynomial) or zero.
pub(crate) fn exp(c: &mut Ctx, x: Value) -> Value {
    // Below `lo` the result is 0: those lanes compute exp(0) and are zeroed
    // (see [`live_lanes`]). Above `hi` it is inf; clamping there keeps the
    // exponent arithmetic in range (n in [-150, 128] / [-1076, 1024]).
    let (lo, hi) = if c.is_f32() { (-104.0, 88.8) } else { (-746.0, 709.8) };
    let (live, x) = live_lanes(c, x, lo);
    // Zeroed lanes are no longer below `lo`: only the top needs clamping.
    let h = c.f(hi);
    let x = c.pmin(h, x);
    let r = exp_clamped(c, x);
    c.select_or_zero(live, r)
}

/// The lanes of `x` not below `lo` (NaN included), and `x` with the other
/// lanes set to +0. Functions whose result is exactly 0 below `lo` compute
/// those lanes on 0 and zero the result: computing them on `x` itself
/// would underflow, and every multiply whose result underflows takes a
/// microcode assist on x86 (about 150 cycles): `exp` of very negative
/// arguments ran 2x slower, a sigmoid over far-away events 4x.
pub(crate) fn live_lanes(c: &mut Ctx, x: Value, lo: f64) -> (Mask, Value) {
    let l = c.f(lo);
    let live = c.fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, x, l);
    let xs = c.select_or_zero(live, x);
    (live, xs)
}

/// exp(x) for x already inside the clamp bounds of [`exp`] (or NaN).
pub(crate) fn exp_clamped(c: &mut Ctx, x: Value) -> Value {
    let (r, t) = reduce_ln2(c, x);
    exp_reduced(c, r, t)
}

/// `2^n exp(r)` for a reduced argument `r` and the carrier `t` of `n`.
pub(crate) fn exp_reduced(c: &mut Ctx, r: Value, t: Value) -> Value {
    let p = exp_poly(c, r);
    // 2^n in two factors so that both are normal even when the result is
    // denormal (n < -126) or overflows (n = 128): one final rounding.
    let (s1, s2) = pow2_split(c, t);
    let p = c.mul(p, s1);
    c.mul(p, s2)
}

/// `2^n` as two normal factors `(2^floor(n/2), 2^ceil(n/2))` from the
/// magic-number carrier `t` of `n`, for n in [-252, 254] / [-2044, 2046].
/// With k = n + 2 bias: k >> 1 = floor(n/2) + bias, k - (k >> 1) =
/// ceil(n/2) + bias. Using bits(t) = magic bits + n as k is fine: the
/// magic's bits (even, so halving is exact) shift out of the exponent.
pub(crate) fn pow2_split(c: &mut Ctx, t: Value) -> (Value, Value) {
    let fm = c.format();
    let tb = c.bits(t);
    let k = c.iadd_imm(tb, 2 * fm.bias);
    pow2_split_k(c, k)
}

/// [`pow2_split`] from `k = n + 2 bias` (plus the magic's even bits), e.g.
/// the pattern of a carrier from [`Ctx::round_mul_biased`] with `2 bias`.
pub(crate) fn pow2_split_k(c: &mut Ctx, k: Value) -> (Value, Value) {
    let fm = c.format();
    let e1 = c.sshr(k, 1);
    let e2 = c.isub(k, e1);
    let e1 = c.shl(e1, fm.mant as i64);
    let e2 = c.shl(e2, fm.mant as i64);
    (c.float(e1), c.float(e2))
}

/// exp(x) when the result is known to be a normal number (callers bound
/// x): a single scaling step.
pub(crate) fn exp_normal(c: &mut Ctx, x: Value) -> Value {
    let (r, t) = reduce_ln2(c, x);
    let p = exp_poly(c, r);
    let s = pow2_of_magic(c, t, 0);
    c.mul(p, s)
}

/// expm1(x) = 2^n expm1(r) + (2^n - 1), computed as
/// `2 (2^(n-1) expm1(r) + (2^(n-1) - 1/2))`: halving keeps `2^(n-1)` finite
/// for n = 128 (x just below the overflow bound), doubling is exact.
pub(crate) fn expm1(c: &mut Ctx, x: Value) -> Value {
    // Below `lo` the result rounds to -1; above `hi` it is inf.
    let (lo, hi) = if c.is_f32() { (-30.0, 88.8) } else { (-50.0, 709.8) };
    let xc = c.clamp(x, lo, hi);
    let (r, t) = reduce_ln2(c, xc);
    let coeffs = if c.is_f32() { widen(&EXPM1_F32) } else { EXPM1_F64.to_vec() };
    let p = c.horner(r, &coeffs);
    let r2 = c.mul(r, r);
    let em = c.fma(r2, p, r);
    let half_scale = pow2_of_magic(c, t, -1);
    let half = c.f(0.5);
    let w = c.sub(half_scale, half);
    let y = c.fma(half_scale, em, w);
    let y = c.add(y, y);
    // Tiny x (also ±0 and denormals, where halving em would round): x.
    let ax = c.abs(x);
    let tiny = c.f(c.pick(2f32.powi(-30), 2f64.powi(-60)));
    let is_tiny = c.fcmp(FloatCC::LessThan, ax, tiny);
    c.select(is_tiny, x, y)
}

/// Cody–Waite reduction `x = n ln2 + r`; returns `r` and the magic-number
/// carrier `t` of `n` (see [`Ctx::round_mul`]).
pub(crate) fn reduce_ln2(c: &mut Ctx, x: Value) -> (Value, Value) {
    let (n, t) = c.round_mul(x, LOG2_E);
    let (hi, lo) = if c.is_f32() { (LN2_F32.0 as f64, LN2_F32.1 as f64) } else { LN2_F64 };
    let nhi = c.f(-hi);
    let nlo = c.f(-lo);
    // x - n*hi is exact (Sterbenz, and FMA forms the product exactly).
    let r = c.fma(n, nhi, x);
    let r = c.fma(n, nlo, r);
    (r, t)
}

/// exp(r) for |r| <= ln2/2: `1 + (r + r^2 P(r))`, P for the format.
pub(crate) fn exp_poly(c: &mut Ctx, r: Value) -> Value {
    let coeffs = if c.is_f32() { widen(&EXP_F32) } else { EXP_F64.to_vec() };
    exp_poly_with(c, r, &coeffs)
}

/// `1 + (r + r^2 P(r))` with the given P.
pub(crate) fn exp_poly_with(c: &mut Ctx, r: Value, coeffs: &[f64]) -> Value {
    let p = c.horner(r, coeffs);
    let r2 = c.mul(r, r);
    let q = c.fma(r2, p, r);
    let one = c.f(1.0);
    c.add(q, one)
}

/// `2^(n + k)` from the magic-number carrier `t` of `n`: the magic's bits
/// shift out of the exponent field, so `(bits(t) + bias + k) << mant`.
pub(crate) fn pow2_of_magic(c: &mut Ctx, t: Value, k: i64) -> Value {
    let fm = c.format();
    let tb = c.bits(t);
    let e = c.iadd_imm(tb, fm.bias + k);
    let e = c.shl(e, fm.mant as i64);
    c.float(e)
}

/// f32 coefficients as the f64 values [`Ctx::f`] takes (exact).
pub(crate) fn widen(c: &[f32]) -> Vec<f64> {
    c.iter().map(|&v| v as f64).collect()
}
