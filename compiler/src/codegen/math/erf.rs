//! erf (not in the reference interpreter yet; tested against a
//! double-double reference).
//!
//! On `a = |x|`: below 0.84375 the odd polynomial `a + a P(a^2)`; above it
//! `1 - exp(-a^2) P(.)` with `exp(-a^2)` from the exp core and the rounding
//! error of `a^2` (from an FMA) folded in as `exp(-hi) (1 - lo)`. f64 splits
//! the upper range at 2.5 and uses `1/a` as the variable beyond. `a` is
//! capped where erf rounds to 1 (4 for f32, 6 for f64). The sign of x is
//! put back at the end (erf(-0) = -0, NaN stays NaN, ±inf gives ±1).

use super::coeffs::{ERF_LARGE_F32, ERF_MID_F64, ERF_SMALL_F32, ERF_SMALL_F64, ERF_TAIL_F64};
use super::exp::{exp_normal, widen};
use super::ops::Ctx;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

const SMALL: f64 = 0.84375;

pub(crate) fn erf(c: &mut Ctx, x: Value) -> Value {
    let a = c.abs(x);
    let z = c.mul(a, a);
    let small_coeffs = if c.is_f32() { widen(&ERF_SMALL_F32) } else { ERF_SMALL_F64.to_vec() };
    let ps = c.horner(z, &small_coeffs);
    let small = c.fma(a, ps, a);

    let cap = c.f(c.pick(4.0, 6.0));
    let ac = c.pmin(cap, a);
    // exp(-ac^2) with ac^2 = hi + lo exactly.
    let hi = c.mul(ac, ac);
    let nhi = c.b.ins().fneg(hi);
    let lo = c.fma(ac, ac, nhi);
    let e = exp_normal(c, nhi);
    let ne = c.b.ins().fneg(e);
    let e = c.fma(ne, lo, e);
    let p = if c.is_f32() {
        let mid = c.f(2.421875);
        let t = c.sub(ac, mid);
        c.horner(t, &widen(&ERF_LARGE_F32))
    } else {
        let mid = c.f(1.671875);
        let t = c.sub(ac, mid);
        let pm = c.horner(t, &ERF_MID_F64);
        let one = c.f(1.0);
        let inv = c.div(one, ac);
        let umid = c.f(0.283_333_333_333_333_3);
        let u = c.sub(inv, umid);
        let pt = c.horner(u, &ERF_TAIL_F64);
        let split = c.f(2.5);
        let is_mid = c.fcmp(FloatCC::LessThan, ac, split);
        c.select(is_mid, pm, pt)
    };
    let ne = c.b.ins().fneg(e);
    let one = c.f(1.0);
    let large = c.fma(ne, p, one);
    let lim = c.f(SMALL);
    let is_small = c.fcmp(FloatCC::LessThan, a, lim);
    let r = c.select(is_small, small, large);
    c.or_sign(r, x)
}
