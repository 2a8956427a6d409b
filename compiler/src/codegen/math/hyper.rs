//! tanh and logistic, built on the exp cores.

use super::coeffs::{EXP_F32, EXP_F64, TANH_F32};
use super::exp::{expm1, live_lanes, pow2_split_k, widen, LN2_F32, LN2_F64};
use super::ops::Ctx;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

/// Below this |x| the f32 tanh uses its odd polynomial.
const TANH_SMALL_F32: f64 = 0.625;

/// tanh(x), odd: computed on `a = |x|`, then the sign of x is put back
/// (tanh(-0) = -0, NaN stays NaN, ±inf gives ±1).
///
/// f32: see [`tanh_f32`]. f64: `em / (em + 2)` with `em = expm1(2a)`, a
/// capped at 20, which needs no second polynomial.
pub(crate) fn tanh(c: &mut Ctx, x: Value) -> Value {
    if c.is_f32() {
        return tanh_f32(c, x);
    }
    let a = c.abs(x);
    let cap = c.f(20.0);
    let ac = c.pmin(cap, a);
    let a2 = c.add(ac, ac);
    let em = expm1(c, a2);
    let two = c.f(2.0);
    let d = c.add(em, two);
    let r = c.div(em, d);
    c.or_sign(r, x)
}

/// f32 tanh: `a + a^3 P(a^2)` below 0.625, else `1 - 1 / d` with
/// `d = (exp(2a) + 1) / 2`, a capped at 9.1 (tanh rounds to 1 from 9.01 on).
///
/// Both branches are computed (lanes), so the code is arranged for a short
/// dependency chain and few constants rather than for few operations:
/// - `2a = n ln2 + 2 rho`: `n = round(a * 2 log2(e))`, `rho = a - n ln2/2`
///   with a one-part ln2 (FMA, exact first step); the magic number carries
///   the exponent bias ([`Ctx::round_mul_biased`]), so `2^n` is one shift. The dropped low part
///   (1.9e-9 n) is a relative error of exp(2a) that reaches the result
///   scaled by `2e/(e+1)^2 < 0.35 * 2^(1-n)`: below 2^-28 for every n.
/// - `exp(2 rho) = 1 + 2h`, `h = rho + rho^2 P~(rho)` with `P~` the exp
///   polynomial with its coefficient j scaled by 2^(j+1) (exact), evaluated
///   as a Horner scheme over pairs ([`Ctx::horner_pairs`]).
/// - `d = 2^n h + (2^n + 1)/2` is one FMA (`(2^n + 1)/2` is exact for
///   n <= 24; beyond, the result is 1 anyway), instead of forming exp(2a),
///   adding 1 and halving: one rounding, two steps shorter.
/// - The sign goes back as `r | (x ^ a)` (`x ^ a` is the sign bit alone):
///   no sign-mask constant.
///
/// Measured (dense sweep) max 1.34 ulp, at -0.539, in the polynomial
/// branch, as with the previous form (`1 - 2/(exp(2a) + 1)` with a
/// two-part ln2 and plain Horner), which was 22% slower.
fn tanh_f32(c: &mut Ctx, x: Value) -> Value {
    let a = c.abs(x);
    let sign = c.xor(x, a);
    // Small branch.
    let z = c.mul(a, a);
    let p = c.horner(z, &widen(&TANH_F32));
    let zp = c.mul(z, p);
    let small = c.fma(a, zp, a);
    // Large branch.
    let cap = c.f(9.1);
    let ac = c.pmin(cap, a);
    let (n, t) = c.round_mul_biased(ac, 2.0 * std::f64::consts::LOG2_E, 127);
    let nhi = c.f(-(std::f32::consts::LN_2 as f64) / 2.0);
    let rho = c.fma(n, nhi, ac);
    let coeffs: Vec<f64> =
        EXP_F32.iter().enumerate().map(|(j, &k)| k as f64 * 2f64.powi(j as i32 + 1)).collect();
    let rho2 = c.mul(rho, rho);
    let pp = c.horner_pairs(rho, rho2, &coeffs);
    let h = c.fma(rho2, pp, rho);
    let tb = c.bits(t);
    let sb = c.shl(tb, 23);
    let s = c.float(sb);
    let half = c.f(0.5);
    let s1h = c.fma(s, half, half);
    let d = c.fma(s, h, s1h);
    let one = c.f(1.0);
    let q = c.div(one, d);
    let large = c.sub(one, q);
    let lim = c.f(TANH_SMALL_F32);
    let is_small = c.fcmp(FloatCC::LessThan, a, lim);
    let r = c.select(is_small, small, large);
    c.b.ins().bor(r, sign)
}

/// Bits of an approximate reciprocal: `float(RCP_F32 - bits(d))` is 1/d
/// within 12% for every positive normal d (the exponent is negated, the
/// mantissa roughly reflected). Only used to scale a residual.
pub(crate) const RCP_F32: i64 = 0x7ef3_11c7;
/// As [`RCP_F32`] for f64.
pub(crate) const RCP_F64: i64 = 0x7fde_6238_22fc_16e6;

/// Below these, logistic is 0, exactly where the interpreter's
/// `1 / (1 + exp(-x))` gives 0 because `exp(-x)` overflows (`-x` above
/// ln(MAX), rounded in the format). The true values there are denormal
/// (below 2^-127 / 2^-1023), and computing them costs a microcode assist
/// per denormal operation on x86 (~150 cycles): a soft cut at the
/// lecture's rate spent most of its time on the events just below it.
pub const LOGISTIC_ZERO_F32: f32 = -88.722_83;
pub const LOGISTIC_ZERO_F64: f64 = -709.782_712_893_384;

/// logistic(x) = 1 / (1 + exp(-x)), as `2^m / (2^m + exp(-r))` with
/// `x = m ln2 + r` (`m = round(x / ln2)`, two-part ln2 as in exp, x clamped
/// above 20 / 40): one formula for both signs of x, no `|x|`,
/// no select, and no cancellation on either side. Below
/// [`LOGISTIC_ZERO_F32`] / [`LOGISTIC_ZERO_F64`] the result is 0, as in the
/// interpreter; just above, the (denormal) true value.
///
/// - `exp(-r) = 1 + q`, `q = w + w^2 P(w)`, `w = -r` (the reduction is
///   written for `-r` directly), exp's polynomial, paired Horner.
/// - `2^m = s1 s2` from [`pow2_split_k`] (both normal down to m = -150 /
///   -1076;
///   the magic number carries the `2 bias`, [`Ctx::round_mul_biased`]);
///   the product `s` is 0 or denormal only where it no longer matters
///   next to `1 + q`.
/// - The denominator `(s + 1) + q` is kept as a double word `dh + dl`:
///   `s + 1` is exact for |m| <= 23 / 52 and dominates `q`, so `dl` is the
///   exact error of `dh` (Fast2Sum).
/// - `y0 = s2 / dh`, then one residual step for `s2 / (dh + dl)`: `res =
///   s2 - y0 dh - y0 dl` (first product exact in the FMA), `y = y0 + res /
///   dh`, where `1/dh` only scales a residual of about an ulp and is taken
///   from the bits ([`RCP_F32`], 12%: < 0.12 ulp).
/// - The result is `y s1`: one final rounding, so results below 2^-126
///   are correctly rounded denormals from `y`, and 0 beyond.
///
/// Error: the exp polynomial (2^-28.3 / 2^-57.9), `q`'s rounding and the
/// corrected quotient; measured f32 1.51 ulp (dense sweep; 1.62 over all
/// inputs) at x = -16.3 to -16.6, where m = -24 and `s + 1` is no longer
/// exact; f64 1.61 ulp at -36.4 (m = -53). The previous form (`e =
/// exp(-|x|)` with its two-step scaling, then `num / (1 + e)`, num = 1 or
/// e, with the same kind of correction) gave 1.43 / 1.44 ulp at about 1.3x
/// the time: its chain was longer (|x|, a full exp, then `1 + e`).
pub(crate) fn logistic(c: &mut Ctx, x: Value) -> Value {
    let fm = c.format();
    let hi_x = if c.is_f32() { 20.0 } else { 40.0 };
    // Below the interpreter's underflow point the result is 0, as there;
    // those lanes are computed on 0 and zeroed (no denormal arithmetic).
    let zero_below = if c.is_f32() { LOGISTIC_ZERO_F32 as f64 } else { LOGISTIC_ZERO_F64 };
    let (live, x) = live_lanes(c, x, zero_below);
    // Zeroed lanes are no longer below `zero_below`: only the top needs
    // clamping.
    let h = c.f(hi_x);
    let xc = c.pmin(h, x);
    let (m, t) = c.round_mul_biased(xc, std::f64::consts::LOG2_E, 2 * fm.bias);
    let (ln2_hi, ln2_lo) = if c.is_f32() { (LN2_F32.0 as f64, LN2_F32.1 as f64) } else { LN2_F64 };
    let hi = c.f(ln2_hi);
    let lo = c.f(ln2_lo);
    let nxc = c.b.ins().fneg(xc);
    let w = c.fma(m, hi, nxc);
    let w = c.fma(m, lo, w);
    let w2 = c.mul(w, w);
    let coeffs = if c.is_f32() { widen(&EXP_F32) } else { EXP_F64.to_vec() };
    let p = c.horner_pairs(w, w2, &coeffs);
    let q = c.fma(w2, p, w);
    let tb = c.bits(t);
    let (s1, s2) = pow2_split_k(c, tb);
    let s = c.mul(s1, s2);
    let one = c.f(1.0);
    let sp1 = c.add(s, one);
    let dh = c.add(sp1, q);
    let e = c.sub(dh, sp1);
    let dl = c.sub(q, e);
    let y0 = c.div(s2, dh);
    let ny0 = c.b.ins().fneg(y0);
    let res = c.fma(ny0, dh, s2);
    let res = c.fma(ny0, dl, res);
    let k = c.i(if c.is_f32() { RCP_F32 } else { RCP_F64 });
    let dhb = c.bits(dh);
    let rb = c.isub(k, dhb);
    let rcp = c.float(rb);
    let y = c.fma(res, rcp, y0);
    let r = c.mul(y, s1);
    c.select_or_zero(live, r)
}
