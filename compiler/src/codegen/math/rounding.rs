//! round (half away from zero) and rem (fmod: sign of the dividend).
//! Both are exact.

use super::libcalls;
use super::ops::Ctx;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

/// round(x): `t = trunc(x)`, plus ±1 where `|x - t| >= 1/2`. The ±1 (or ±0)
/// carries the sign of x, so round(-0.3) = -0; `x - t` is exact; huge values
/// have `t = x`; NaN and ±inf pass through trunc.
pub(crate) fn round(c: &mut Ctx, x: Value) -> Value {
    let t = c.trunc(x);
    let d = c.sub(x, t);
    let ad = c.abs(d);
    let half = c.f(0.5);
    let up = c.fcmp(FloatCC::GreaterThanOrEqual, ad, half);
    let one = c.f(1.0);
    let zero = c.f(0.0);
    let step = c.select(up, one, zero);
    let step = c.or_sign(step, x);
    c.add(t, step)
}

/// fmod(a, b), exact. With `A = |a|`, `B = |b|` and `q = trunc(A / B)`,
/// `A - q B` is representable, so one FMA gives it exactly. The rounded
/// quotient can exceed the true one by 1 (never more while
/// `A / B < 2^(mant-1)`), which leaves `r` in `[-B, 0)`: add B back. The
/// result takes a's sign (also when zero). Lanes with a larger quotient,
/// a non-finite operand or b = 0 call Rust's `%` per lane.
pub(crate) fn rem(c: &mut Ctx, a: Value, b: Value) -> Value {
    let aa = c.abs(a);
    let bb = c.abs(b);
    let qf = c.div(aa, bb);
    let q = c.trunc(qf);
    let nq = c.b.ins().fneg(q);
    let r = c.fma(nq, bb, aa);
    let zero = c.f(0.0);
    let neg = c.fcmp(FloatCC::LessThan, r, zero);
    let fix = c.select(neg, bb, zero);
    let r = c.add(r, fix);
    let r = c.or_sign(r, a);
    let lim = c.f((2f64).powi(c.format().mant as i32 - 1));
    let slow_q = c.fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, qf, lim);
    let inf = c.f(f64::INFINITY);
    let slow_b = c.fcmp(FloatCC::Equal, bb, inf);
    let slow = c.or(slow_q, slow_b);
    let f32 = c.is_f32();
    libcalls::patch(c, slow, r, libcalls::fmod(f32), &[a, b])
}
