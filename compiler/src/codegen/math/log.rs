//! log and log1p.
//!
//! `x = 2^e m` with `m` in `[sqrt(1/2), sqrt(2))`, taken from the bits.
//! With `f = m - 1` (exact)
//! and `s = f / (2 + f)`, `log1p(f) = 2 atanh(s) = f - s (f - R(s^2))`,
//! where `R(z) = z Q(z)` is a short minimax polynomial (`|s| <= 0.1716`).
//! `log(x) = e ln2 + log1p(f)` with FMA, so no ln2 split with trailing zeros
//! is needed. log: positive normal inputs take a straight path; vectors
//! with a denormal, non-positive, infinite or NaN lane are recomputed in a
//! cold block that scales denormals by `2^mant` and patches the special
//! values with selects. log1p patches its special values with selects.

use super::coeffs::{LOG_F32, LOG_F64};
use super::exp::widen;
use super::ops::Ctx;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

/// ln2 = HI + LO in each format.
const LN2_F32: (f32, f32) = (std::f32::consts::LN_2, -1.9046542e-9);
const LN2_F64: (f64, f64) = (std::f64::consts::LN_2, 2.319_046_813_846_299_6e-17);
/// Bits of sqrt(1/2) rounded: the split point of the mantissa range.
const SQRT_HALF_F32: i64 = 0x3f35_04f3;
const SQRT_HALF_F64: i64 = 0x3fe6_a09e_667f_3bcd;

/// log(x) with log(±0) = -inf, log(x<0) = NaN, log(inf) = inf, exact
/// handling of denormal inputs. Positive normal x take the hot path; any
/// other lane sends the vector through the full version in a cold block.
pub(crate) fn log(c: &mut Ctx, x: Value) -> Value {
    let (e, m) = split_exponent(c, x);
    let ef = c.int_to_float(e);
    let one = c.f(1.0);
    let f = c.sub(m, one);
    let fast = log1p_reduced(c, f, ef);
    let min_normal = c.pick(f32::MIN_POSITIVE, f64::MIN_POSITIVE);
    let tiny = c.f(min_normal);
    let inf = c.f(f64::INFINITY);
    let normal = c.fcmp(FloatCC::GreaterThanOrEqual, x, tiny);
    let finite = c.fcmp(FloatCC::LessThan, x, inf);
    let ok = c.and(normal, finite);
    c.unless_all(ok, fast, |c| log_full(c, x))
}

/// log(x) for every input: denormals scaled, special values patched.
fn log_full(c: &mut Ctx, x: Value) -> Value {
    let (ef, m) = decompose(c, x);
    let one = c.f(1.0);
    let f = c.sub(m, one);
    let r = log1p_reduced(c, f, ef);
    fix_log_specials(c, x, x, r)
}

/// `(e as a float, m)` with `x = 2^e m`, `m` in `[sqrt(1/2), sqrt(2))`, for
/// positive finite x, denormals included (scaled by `2^mant` first).
pub(crate) fn decompose(c: &mut Ctx, x: Value) -> (Value, Value) {
    let fm = c.format();
    let min_normal = c.pick(f32::MIN_POSITIVE, f64::MIN_POSITIVE);
    let tiny = c.f(min_normal);
    let den = c.fcmp(FloatCC::LessThan, x, tiny);
    let up = c.f((2f64).powi(fm.mant as i32));
    let xs = c.mul(x, up);
    let xn = c.select(den, xs, x);
    let mant = c.i(fm.mant as i64);
    let eadj = c.select_or_zero(den, mant);
    let (e, m) = split_exponent(c, xn);
    let e = c.isub(e, eadj);
    let ef = c.int_to_float(e);
    (ef, m)
}

/// log1p(x) = log(u) + log(1 + err/u) with `u = 1 + x` rounded and `err`
/// its exact rounding error (2Sum): `f = (m - 1) + err 2^-e` carries the
/// error into the reduced argument, so small x are exact (`f = x`).
pub(crate) fn log1p(c: &mut Ctx, x: Value) -> Value {
    let one = c.f(1.0);
    let u = c.add(one, x);
    // 2Sum(1, x): err = (1 - (u - (u - 1))) + (x - (u - 1)).
    let bp = c.sub(u, one);
    let ap = c.sub(u, bp);
    let ea = c.sub(one, ap);
    let eb = c.sub(x, bp);
    let err = c.add(ea, eb);
    let (e, m) = split_exponent(c, u);
    let ef = c.int_to_float(e);
    // 2^-e, with e capped: for e > 100 the correction is far below an ulp
    // and 2^-e would leave the normal range.
    let cap = c.f(100.0);
    let ec = c.pmin(cap, ef);
    let magic = c.magic();
    let mg = c.f(magic);
    let neg = c.sub(mg, ec); // bits hold -e (magic-number carrier)
    let scale = super::exp::pow2_of_magic(c, neg, 0);
    let m1 = c.sub(m, one);
    let f = c.fma(err, scale, m1);
    let r = log1p_reduced(c, f, ef);
    // log1p keeps the sign of x (also for -0, and x in (-1, 0) denormal).
    let r = c.or_sign(r, x);
    fix_log_specials(c, x, u, r)
}

/// `(e, m)` with `x = 2^e m`, `m` in `[sqrt(1/2), sqrt(2))`, for positive
/// normal x (other inputs give garbage that the callers patch).
pub(crate) fn split_exponent(c: &mut Ctx, x: Value) -> (Value, Value) {
    let fm = c.format();
    let split = if c.is_f32() { SQRT_HALF_F32 } else { SQRT_HALF_F64 };
    let xb = c.bits(x);
    let k = c.iadd_imm(xb, -split);
    let e = c.sshr(k, fm.mant as i64);
    let eb = c.shl(e, fm.mant as i64);
    let mb = c.isub(xb, eb);
    let m = c.float(mb);
    (e, m)
}

/// `e ln2 + log1p(f)` for `f = m - 1`, `m` in `[sqrt(1/2), sqrt(2))`.
pub(crate) fn log1p_reduced(c: &mut Ctx, f: Value, ef: Value) -> Value {
    let coeffs = if c.is_f32() { widen(&LOG_F32) } else { LOG_F64.to_vec() };
    log1p_reduced_with(c, f, ef, &coeffs)
}

/// [`log1p_reduced`] with the given Q.
pub(crate) fn log1p_reduced_with(c: &mut Ctx, f: Value, ef: Value, coeffs: &[f64]) -> Value {
    let two = c.f(2.0);
    let d = c.add(two, f);
    let s = c.div(f, d);
    let z = c.mul(s, s);
    let q = c.horner(z, coeffs);
    let rz = c.mul(z, q);
    let fr = c.sub(f, rz);
    let ns = c.b.ins().fneg(s);
    let lp = c.fma(ns, fr, f);
    let (hi, lo) = if c.is_f32() { (LN2_F32.0 as f64, LN2_F32.1 as f64) } else { LN2_F64 };
    let lo = c.f(lo);
    let hi = c.f(hi);
    let t = c.fma(ef, lo, lp);
    c.fma(ef, hi, t)
}

/// Patches the results of log-type functions: `arg` is the argument of
/// the logarithm (x for log, 1 + x for log1p). `arg == 0` gives -inf,
/// `arg < 0` NaN, `x == +inf` inf, NaN stays NaN. (`sqrt(arg) - inf` gives
/// the first two in one value, but sqrt shares the divider with the
/// division of the core: it cost f64 log 20%.)
fn fix_log_specials(c: &mut Ctx, x: Value, arg: Value, r: Value) -> Value {
    let inf = c.f(f64::INFINITY);
    let big = c.fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, x, inf);
    let r = c.select(big, x, r);
    let zero = c.f(0.0);
    let below = c.fcmp(FloatCC::LessThanOrEqual, arg, zero);
    let at = c.fcmp(FloatCC::Equal, arg, zero);
    let ninf = c.f(f64::NEG_INFINITY);
    let nan = c.f(f64::NAN);
    let v = c.select(at, ninf, nan);
    c.select(below, v, r)
}
