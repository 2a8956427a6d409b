//! pow(x, y) with the C99 / Rust `powf` special cases.
//!
//! The magnitude is `exp(y log|x|)`; `y log|x|` reaches ±745, so its
//! absolute error must stay near 2^-54 and log|x| is needed to about
//! 2^-63 relative.
//!
//! - f32 computes in f64 (f32x4 as two f64x2 halves): plain f64 log and exp
//!   are far more accurate than the f32 result needs.
//! - f64 computes log|x| in double-double: `s = f / (1 + m)` and its
//!   remainder, `log m = 2s + (2/3) s^3 + s^3 z Q1(z)` with the cubic term in
//!   double-double; `e ln2` with a 42-bit ln2 head (exact products), then
//!   `y L` split into head and tail, and exp of the tail folded into the
//!   reduced argument.
//!
//! The sign and the special cases are patched with selects at the end.

use super::coeffs::LOG_F64;
use super::exp::{exp, exp_reduced, LN2_F64};
use super::log::{decompose, log};
use super::ops::{Ctx, Mask};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, MemFlagsData, Value};
use cranelift_codegen::ir::{Endianness, Type};

/// ln2 with 42 significant bits (so `e * HI` is exact for |e| < 2^11), and
/// the rest.
const LN2_HI42: f64 = 0.693_147_180_559_890_3;
const LN2_LO42: f64 = 5.497_923_018_708_371e-14;
/// 2/3 = HI + LO.
const TWO_THIRDS: (f64, f64) = (0.666_666_666_666_666_6, 3.700_743_415_417_188e-17);

pub(crate) fn pow(c: &mut Ctx, x: Value, y: Value) -> Value {
    match c.ty {
        types::F64 | types::F64X2 => {
            let m = pow_magnitude_dd(c, x, y);
            fix_specials(c, x, y, m)
        }
        types::F32 => {
            let xd = c.b.ins().fpromote(types::F64, x);
            let yd = c.b.ins().fpromote(types::F64, y);
            let r = pow_f32_in_f64(c, types::F64, xd, yd);
            c.b.ins().fdemote(types::F32, r)
        }
        _ => {
            // f32x4: two f64x2 halves.
            let xh = swap_halves(c, x);
            let yh = swap_halves(c, y);
            let mut out = [x; 2];
            for (k, (a, b)) in [(x, y), (xh, yh)].into_iter().enumerate() {
                let ad = c.b.ins().fvpromote_low(a);
                let bd = c.b.ins().fvpromote_low(b);
                let r = pow_f32_in_f64(c, types::F64X2, ad, bd);
                out[k] = c.b.ins().fvdemote(r);
            }
            // [r0 r1 0 0] and [r2 r3 0 0] -> [r0 r1 r2 r3].
            let m: Vec<u8> = (0..8).chain(16..24).collect();
            shuffle_bytes(c, out[0], out[1], &m)
        }
    }
}

/// pow of f32 values promoted to f64, with the special cases; f64 result.
fn pow_f32_in_f64(c: &mut Ctx, ty: Type, x: Value, y: Value) -> Value {
    let mut d = Ctx::new(&mut *c.b, ty);
    let ax = d.abs(x);
    let l = log(&mut d, ax);
    let t = d.mul(y, l);
    let m = exp(&mut d, t);
    fix_specials(&mut d, x, y, m)
}

/// `exp(y log|x|)` for f64, with log|x| in double-double.
fn pow_magnitude_dd(c: &mut Ctx, x: Value, y: Value) -> Value {
    let ax = c.abs(x);
    let (ef, m) = decompose(c, ax);
    let one = c.f(1.0);
    let f = c.sub(m, one);
    // u = 1 + m exactly as u + ulo (Fast2Sum: exponent of 1 >= that of m).
    let u = c.add(one, m);
    let t0 = c.sub(one, u);
    let ulo = c.add(t0, m);
    // s = f / (1 + m) as s + slo.
    let s = c.div(f, u);
    let ns = c.b.ins().fneg(s);
    let rem = c.fma(ns, u, f);
    let rem = c.fma(ns, ulo, rem);
    let slo = c.div(rem, u);
    // z = s^2 and c3 = s^3 in double-double.
    let z = c.mul(s, s);
    let nz = c.b.ins().fneg(z);
    let zerr = c.fma(s, s, nz);
    let s2 = c.add(s, s);
    let zlo = c.fma(s2, slo, zerr);
    let c3 = c.mul(z, s);
    let nc3 = c.b.ins().fneg(c3);
    let c3err = c.fma(z, s, nc3);
    let c3a = c.mul(zlo, s);
    let c3b = c.fma(z, slo, c3a);
    let c3lo = c.add(c3err, c3b);
    // T = (2/3) s^3 in double-double.
    let th = c.f(TWO_THIRDS.0);
    let tl = c.f(TWO_THIRDS.1);
    let tt = c.mul(th, c3);
    let ntt = c.b.ins().fneg(tt);
    let terr = c.fma(th, c3, ntt);
    let tla = c.mul(tl, c3);
    let tlb = c.fma(th, c3lo, tla);
    let tlo = c.add(terr, tlb);
    // V = s^3 z Q1(z): the rest of the series, plain double.
    let q1 = c.horner(z, &LOG_F64[1..]);
    let zq = c.mul(z, q1);
    let v = c.mul(c3, zq);
    // log m = 2s + T + (2 slo + Tlo + V); 2s + T by Fast2Sum.
    let a = c.add(s, s);
    let sh = c.add(a, tt);
    let d0 = c.sub(sh, a);
    let sl = c.sub(tt, d0);
    let lo = c.add(tlo, v);
    let two = c.f(2.0);
    let lo = c.fma(two, slo, lo);
    let lo = c.add(lo, sl);
    // + e ln2: e*HI42 exact, Fast2Sum (|e ln2| >= 0.69 > |log m| unless e = 0).
    let hi42 = c.f(LN2_HI42);
    let eh = c.mul(ef, hi42);
    let h = c.add(eh, sh);
    let d1 = c.sub(h, eh);
    let hlo = c.sub(sh, d1);
    let lo = c.add(lo, hlo);
    let lo42 = c.f(LN2_LO42);
    let lo = c.fma(ef, lo42, lo);
    let lh = c.add(h, lo);
    let d2 = c.sub(lh, h);
    let ll = c.sub(lo, d2);
    // log 0 = -inf, log inf = inf, log NaN = NaN (the bit tricks above
    // give finite garbage there).
    let zero = c.f(0.0);
    let inf = c.f(f64::INFINITY);
    let ninf = c.f(f64::NEG_INFINITY);
    let is0 = c.fcmp(FloatCC::Equal, ax, zero);
    let big = c.fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, ax, inf);
    let lh = c.select(is0, ninf, lh);
    let lh = c.select(big, ax, lh);
    // t = y L as head + tail.
    let th = c.mul(y, lh);
    let nth = c.b.ins().fneg(th);
    let te = c.fma(y, lh, nth);
    let tl = c.fma(y, ll, te);
    // The tail is meaningless (maybe NaN) once the head over/underflows.
    let ath = c.abs(th);
    let lim = c.f(1.0e4);
    let fine = c.fcmp(FloatCC::LessThan, ath, lim);
    let tl = c.select(fine, tl, zero);
    let thc = c.clamp(th, -746.0, 709.8);
    // exp(th + tl): reduce th, fold tl into r.
    let (n, t) = c.round_mul(thc, std::f64::consts::LOG2_E);
    let nhi = c.f(-LN2_F64.0);
    let rh = c.fma(n, nhi, thc);
    let nlo = c.f(-LN2_F64.1);
    let w = c.fma(n, nlo, tl);
    let r = c.add(rh, w);
    exp_reduced(c, r, t)
}

/// C99 pow special cases on top of `mag = exp(y log|x|)` (which already
/// gives the right magnitude for |x| = 0 or inf and y = ±inf, |x| != 1).
fn fix_specials(c: &mut Ctx, x: Value, y: Value, mag: Value) -> Value {
    let yt = c.trunc(y);
    let y_int = c.fcmp(FloatCC::Equal, yt, y); // ±inf count as (even) integers
    let half = c.f(0.5);
    let yh = c.mul(y, half);
    let yht = c.trunc(yh);
    let half_frac = c.fcmp(FloatCC::NotEqual, yht, yh);
    let y_odd = c.and(y_int, half_frac);
    // Sign bit of x (so -0 counts as negative).
    let xb = c.bits(x);
    let zi = c.i(0);
    let x_signed = Mask(c.b.ins().icmp(IntCC::SignedLessThan, xb, zi));
    let flip = c.and(x_signed, y_odd);
    let nmag = c.b.ins().fneg(mag);
    let r = c.select(flip, nmag, mag);
    // Finite x < 0 with a non-integer y: NaN.
    let zero = c.f(0.0);
    let ninf = c.f(f64::NEG_INFINITY);
    let neg = c.fcmp(FloatCC::LessThan, x, zero);
    let fin = c.fcmp(FloatCC::GreaterThan, x, ninf);
    let not_int = c.fcmp(FloatCC::NotEqual, yt, y);
    let bad = c.and(neg, fin);
    let bad = c.and(bad, not_int);
    let nan = c.f(f64::NAN);
    let r = c.select(bad, nan, r);
    // pow(1, y) = 1 (y NaN too); pow(-1, ±inf) = 1.
    let one = c.f(1.0);
    let inf = c.f(f64::INFINITY);
    let x1 = c.fcmp(FloatCC::Equal, x, one);
    let ax = c.abs(x);
    let ax1 = c.fcmp(FloatCC::Equal, ax, one);
    let ay = c.abs(y);
    let yinf = c.fcmp(FloatCC::Equal, ay, inf);
    let m1 = c.and(ax1, yinf);
    let is_one = c.or(x1, m1);
    let r = c.select(is_one, one, r);
    // pow(x, ±0) = 1 (x NaN too).
    let y0 = c.fcmp(FloatCC::Equal, y, zero);
    c.select(y0, one, r)
}

/// Lanes 2,3 of an f32x4 moved to lanes 0,1.
fn swap_halves(c: &mut Ctx, v: Value) -> Value {
    let m: Vec<u8> = (8..16).chain(0..8).collect();
    shuffle_bytes(c, v, v, &m)
}

/// Byte shuffle of two 128-bit values (of the same type), result as that type.
fn shuffle_bytes(c: &mut Ctx, a: Value, b: Value, mask: &[u8]) -> Value {
    let ty = c.b.func.dfg.value_type(a);
    let le = MemFlagsData::new().with_endianness(Endianness::Little);
    let ab = c.b.ins().bitcast(types::I8X16, le, a);
    let bb = c.b.ins().bitcast(types::I8X16, le, b);
    let imm = c.b.func.dfg.immediates.push(ConstantData::from(mask));
    let s = c.b.ins().shuffle(ab, bb, imm);
    c.b.ins().bitcast(ty, le, s)
}
