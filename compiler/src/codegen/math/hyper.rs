//! tanh and logistic, built on the exp cores.

use super::coeffs::TANH_F32;
use super::exp::{exp, exp_normal, expm1, widen};
use super::ops::Ctx;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

/// Below this |x| the f32 tanh uses its odd polynomial.
const TANH_SMALL_F32: f64 = 0.625;

/// tanh(x), odd: computed on `a = |x|`, then the sign of x is put back
/// (tanh(-0) = -0, NaN stays NaN, ±inf gives ±1).
///
/// f32: `a + a^3 P(a^2)` below 0.625, else `1 - 2 / (exp(2a) + 1)` with a
/// capped at 10 (tanh rounds to 1 from 9.01 on). f64: `em / (em + 2)` with
/// `em = expm1(2a)`, a capped at 20, which needs no second polynomial.
pub(crate) fn tanh(c: &mut Ctx, x: Value) -> Value {
    let a = c.abs(x);
    let r = if c.is_f32() {
        let z = c.mul(a, a);
        let p = c.horner(z, &widen(&TANH_F32));
        let zp = c.mul(z, p);
        let small = c.fma(a, zp, a);
        let cap = c.f(10.0);
        let ac = c.pmin(cap, a);
        let a2 = c.add(ac, ac);
        let e = exp_normal(c, a2);
        let one = c.f(1.0);
        let two = c.f(2.0);
        let d = c.add(e, one);
        let q = c.div(two, d);
        let large = c.sub(one, q);
        let lim = c.f(TANH_SMALL_F32);
        let is_small = c.fcmp(FloatCC::LessThan, a, lim);
        c.select(is_small, small, large)
    } else {
        let cap = c.f(20.0);
        let ac = c.pmin(cap, a);
        let a2 = c.add(ac, ac);
        let em = expm1(c, a2);
        let two = c.f(2.0);
        let d = c.add(em, two);
        c.div(em, d)
    };
    c.or_sign(r, x)
}

/// logistic(x) = 1 / (1 + exp(-x)), computed without cancellation on both
/// sides: with `e = exp(-|x|)`, `num / (1 + e)` where `num` is 1 for x >= 0
/// and `e` for x < 0. Very negative x give the (denormal) true value, not 0.
///
/// A plain division has three roundings (e, 1 + e, the quotient), up to
/// 2.4 ulp in f32; here `1 + e` is kept as a double-word `dh + dl` and the
/// quotient gets one residual correction: 1 ulp.
pub(crate) fn logistic(c: &mut Ctx, x: Value) -> Value {
    let na = {
        let s = c.fbits(c.sign_mask());
        c.b.ins().bor(x, s)
    };
    let e = exp(c, na);
    let one = c.f(1.0);
    let zero = c.f(0.0);
    let neg = c.fcmp(FloatCC::LessThan, x, zero);
    let num = c.select(neg, e, one);
    // 1 + e = dh + dl exactly (Fast2Sum, e <= 1).
    let dh = c.add(one, e);
    let t = c.sub(one, dh);
    let dl = c.add(t, e);
    let inv = c.div(one, dh);
    let q0 = c.mul(num, inv);
    let nq0 = c.b.ins().fneg(q0);
    let res = c.fma(nq0, dh, num);
    let res = c.fma(nq0, dl, res);
    c.fma(res, inv, q0)
}
