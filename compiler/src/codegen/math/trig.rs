//! sin and cos.
//!
//! On `|x|` (the sign is put back for sin): `|x| = j pi/2 + r`,
//! `j = round(|x| 2/pi)` (magic-number trick, so the low
//! bits of the carrier give the quadrant), `r` by Cody–Waite with a 3-part
//! pi/2 and FMA (`|r| <= pi/4`). Both `sin r = r + r^3 S(r^2)` and
//! `cos r = 1 - r^2/2 + r^4 C(r^2)` are evaluated; the quadrant selects one
//! and flips the sign. Beyond [`huge`] the 3-part reduction loses accuracy;
//! those lanes (and ±inf) are recomputed by a per-lane call to Rust std
//! `sin`/`cos` in a cold block.

use super::coeffs::{COS_F32, COS_F64, SIN_F32, SIN_F64};
use super::exp::widen;
use super::libcalls;
use super::ops::Ctx;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

/// pi/2 as three parts, each truncated (not rounded), so all are positive.
#[allow(clippy::approx_constant)] // truncated, deliberately one ulp below FRAC_PI_2
const PIO2_F32: [f32; 3] = [1.5707963, 7.5497894e-8, 5.3903025e-15];
const PIO2_F64: [f64; 3] =
    [std::f64::consts::FRAC_PI_2, 6.123_233_995_736_765e-17, 1.082_856_673_921_913_9e-32];

/// |x| above which the inline reduction is not trusted (the magic-number
/// rounding works to 2^22 / 2^51; accuracy, not that, sets these).
pub const HUGE_F32: f32 = 131_072.0;
pub const HUGE_F64: f64 = 1_073_741_824.0;

pub(crate) fn sin(c: &mut Ctx, x: Value) -> Value {
    sin_cos(c, x, false)
}

pub(crate) fn cos(c: &mut Ctx, x: Value) -> Value {
    sin_cos(c, x, true)
}

fn sin_cos(c: &mut Ctx, x: Value, is_cos: bool) -> Value {
    // Work on |x| (sin is odd, cos even): this keeps sin(-0) = -0, which
    // the polynomial alone cannot (r + r z S(z) is +0 for r = -0).
    let a = c.abs(x);
    let (j, t) = c.round_mul(a, std::f64::consts::FRAC_2_PI);
    let parts: Vec<f64> = if c.is_f32() { widen(&PIO2_F32) } else { PIO2_F64.to_vec() };
    let mut r = a;
    for p in parts {
        let np = c.f(-p);
        r = c.fma(j, np, r);
    }
    let z = c.mul(r, r);
    let (sc, cc) = if c.is_f32() {
        (widen(&SIN_F32), widen(&COS_F32))
    } else {
        (SIN_F64.to_vec(), COS_F64.to_vec())
    };
    // sin r = r + r (z S(z)): keeps sin(-0) = -0.
    let sp = c.horner(z, &sc);
    let zs = c.mul(z, sp);
    let s = c.fma(r, zs, r);
    let cp = c.horner(z, &cc);
    let mhalf = c.f(-0.5);
    let cq = c.fma(z, cp, mhalf);
    let one = c.f(1.0);
    let co = c.fma(z, cq, one);
    // Quadrant: cos(x) = sin(x + pi/2).
    let mut q = c.bits(t);
    if is_cos {
        q = c.iadd_imm(q, 1);
    }
    let odd = c.bit_set(q, 0);
    let v = c.select(odd, co, s);
    // Bit 1 of the quadrant to the sign position: two shifts, no mask.
    let width = c.format().bits as i64;
    let sb = c.b.ins().ushr_imm_s(q, 1);
    let sb = c.shl(sb, width - 1);
    let sb = c.float(sb);
    let v = c.xor(v, sb);
    let v = if is_cos {
        v
    } else {
        let sx = c.sign_of(x);
        c.xor(v, sx)
    };
    let lim = c.f(huge(c));
    let big = c.fcmp(FloatCC::GreaterThan, a, lim);
    let f32 = c.is_f32();
    let shim = if is_cos { libcalls::cos(f32) } else { libcalls::sin(f32) };
    libcalls::patch(c, big, v, shim, &[x])
}

/// The reduction bound for the context's format.
pub(crate) fn huge(c: &Ctx) -> f64 {
    c.pick(HUGE_F32, HUGE_F64)
}
