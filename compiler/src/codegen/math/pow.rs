//! pow(x, y) with the C99 / Rust `powf` special cases.
//!
//! The magnitude is `exp(y log|x|)`; `y log|x|` reaches ±745, so its
//! absolute error must stay near 2^-54 and log|x| is needed to about
//! 2^-63 relative.
//!
//! - f32 computes in f64 (f32x4 as two f64x2 halves) with short log and exp
//!   polynomials, which are far more accurate than the f32 result needs.
//! - f64 computes log|x| in double-double: `s = f / (1 + m)` and its
//!   remainder, `log m = 2s + (2/3) s^3 + s^3 z Q1(z)` with the cubic term in
//!   double-double; `e ln2` with a 42-bit ln2 head (exact products), then
//!   `y L` split into head and tail, and exp of the tail folded into the
//!   reduced argument.
//!
//! The sign and the special cases are patched with selects at the end.

use super::coeffs::LOG_F64;
use super::exp::{exp_poly_with, exp_reduced, pow2_of_magic, reduce_ln2, LN2_F64};
use super::log::{decompose, log1p_reduced_with, split_exponent};
use super::ops::{Ctx, Mask};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::Endianness;
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, MemFlagsData, Value};

/// ln2 with 42 significant bits (so `e * HI` is exact for |e| < 2^11), and
/// the rest.
const LN2_HI42: f64 = 0.693_147_180_559_890_3;
const LN2_LO42: f64 = 5.497_923_018_708_371e-14;
/// Short log Q (in z = s^2) and exp P (in r) for f32 pow, in f64; fits
/// 2^-34.9 and 2^-28.3 (remez.py).
const POW32_LOG: [f64; 4] = [
    0.666_666_666_578_165,
    0.400_001_120_876_947_06,
    0.285_485_643_354_206_73,
    0.234_188_433_350_952_24,
];
const POW32_EXP: [f64; 5] = [
    0.499_999_934_478_388_7,
    0.166_665_206_313_094,
    0.041_668_388_028_203_3,
    0.008_368_716_917_747_751,
    0.001_381_459_982_262_113_3,
];
/// 2/3 = HI + LO.
const TWO_THIRDS: (f64, f64) = (0.666_666_666_666_666_6, 3.700_743_415_417_188e-17);

pub(crate) fn pow(c: &mut Ctx, x: Value, y: Value) -> Value {
    // Hot path: x in (0, inf) and finite y, where exp(y log x) needs no
    // patching. Any other lane sends the whole vector through the full
    // computation with every special case, in a cold block.
    let fast = magnitude(c, x, y, false);
    let zero = c.f(0.0);
    let inf = c.f(f64::INFINITY);
    let pos = c.fcmp(FloatCC::GreaterThan, x, zero);
    let fin = c.fcmp(FloatCC::LessThan, x, inf);
    let ay = c.abs(y);
    let yfin = c.fcmp(FloatCC::LessThan, ay, inf);
    let ok = c.and(pos, fin);
    let ok = c.and(ok, yfin);
    c.unless_all(ok, fast, |c| {
        let m = magnitude(c, x, y, true);
        fix_specials(c, x, y, m)
    })
}

/// `|x|^y`; with `specials`, also right for |x| in {0, inf} and NaN.
fn magnitude(c: &mut Ctx, x: Value, y: Value, specials: bool) -> Value {
    match c.ty {
        types::F64 | types::F64X2 => pow_magnitude_dd(c, x, y, specials),
        _ => pow_magnitude_f32(c, x, y, specials),
    }
}

/// `|x|^y` for f32 (scalar or f32x4), computed in f64. With `specials`,
/// `|x|` in {0, inf} and NaN operands are patched too.
fn pow_magnitude_f32(c: &mut Ctx, x: Value, y: Value, specials: bool) -> Value {
    let ax = c.abs(x);
    let m = if c.is_vector() {
        // f32x4: two f64x2 halves.
        let axh = swap_halves(c, ax);
        let yh = swap_halves(c, y);
        let mut out = [ax; 2];
        for (k, (a, b)) in [(ax, y), (axh, yh)].into_iter().enumerate() {
            let ad = c.b.ins().fvpromote_low(a);
            let bd = c.b.ins().fvpromote_low(b);
            let mut d = Ctx::new(&mut *c.b, types::F64X2);
            let r = pow_core_f64_for_f32(&mut d, ad, bd);
            out[k] = c.b.ins().fvdemote(r);
        }
        // [r0 r1 0 0] and [r2 r3 0 0] -> [r0 r1 r2 r3].
        let m: Vec<u8> = (0..8).chain(16..24).collect();
        shuffle_bytes(c, out[0], out[1], &m)
    } else {
        let ad = c.b.ins().fpromote(types::F64, ax);
        let bd = c.b.ins().fpromote(types::F64, y);
        let mut d = Ctx::new(&mut *c.b, types::F64);
        let r = pow_core_f64_for_f32(&mut d, ad, bd);
        c.b.ins().fdemote(types::F32, r)
    };
    if !specials {
        return m;
    }
    // |x| = 0 or inf: 0 or inf by the sign of y (and whether |x| is 0).
    let zero = c.f(0.0);
    let inf = c.f(f64::INFINITY);
    let yneg = c.fcmp(FloatCC::LessThan, y, zero);
    let is_inf = c.fcmp(FloatCC::Equal, ax, inf);
    let is_zero = c.fcmp(FloatCC::Equal, ax, zero);
    let want_inf = Mask(c.b.ins().bxor(yneg.0, is_inf.0));
    let v = c.select(want_inf, inf, zero);
    let edge = c.or(is_zero, is_inf);
    let m = c.select(edge, v, m);
    // NaN in, NaN out (pow(1, NaN) and pow(NaN, 0) are fixed later).
    let nan = c.fcmp(FloatCC::Unordered, x, y);
    let xy = c.add(x, y);
    c.select(nan, xy, m)
}

/// `exp(y log a)` in f64 for a positive normal `a`, good enough for an f32
/// result: short polynomials (log to 2^-34.9, exp to 2^-28.3 relative).
fn pow_core_f64_for_f32(d: &mut Ctx, a: Value, y: Value) -> Value {
    let (e, m) = split_exponent(d, a);
    let ef = d.int_to_float(e);
    let one = d.f(1.0);
    let f = d.sub(m, one);
    let l = log1p_reduced_with(d, f, ef, &POW32_LOG);
    let t = d.mul(y, l);
    // Beyond these bounds the f32 result is 0 or inf; inside them 2^n
    // needs one scaling step in f64.
    let t = d.clamp(t, -120.0, 100.0);
    let (r, tt) = reduce_ln2(d, t);
    let p = exp_poly_with(d, r, &POW32_EXP);
    let s = pow2_of_magic(d, tt, 0);
    d.mul(p, s)
}

/// `exp(y log|x|)` for f64, with log|x| in double-double.
fn pow_magnitude_dd(c: &mut Ctx, x: Value, y: Value, specials: bool) -> Value {
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
    let lh = if specials {
        let inf = c.f(f64::INFINITY);
        let ninf = c.f(f64::NEG_INFINITY);
        let is0 = c.fcmp(FloatCC::Equal, ax, zero);
        let big = c.fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, ax, inf);
        let lh = c.select(is0, ninf, lh);
        c.select(big, ax, lh)
    } else {
        lh
    };
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
