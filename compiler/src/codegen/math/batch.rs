//! Batched math: functions that kernels call on a block of values in
//! memory, compiled by rustc for 512-bit (AVX-512) or 256-bit (AVX2)
//! vectors, which Cranelift 0.135 does not emit (it lowers 128-bit vectors
//! only).
//!
//! A kernel whose vector loop evaluates one of these functions stages it
//! (see `emit`'s staging): per block of packets it stores the arguments to
//! a stack buffer, calls the batch function on the buffer in place, and
//! reads the results back where the function's value is used. Where the
//! arithmetic of the function dominates the kernel (an f32 tanh costs ~35
//! vector instructions for 4 lanes), four times the lanes per instruction
//! outweigh the stores and loads: `sum(tanh(x w + b)^2)` over 2^24 f32 went
//! from 12.1 ms to 4.3 ms on two Zen 4 cores. Functions: tanh, exp and
//! logistic, on f32 and f64.
//!
//! Each function runs the same algorithm as the CLIF that `math::emit`
//! writes: the same operations, constants and rounding steps, lane by
//! lane (`*_lane`), so a value is bit-for-bit the same whether a kernel
//! computed it inline or staged, and whatever the vector width. Results
//! do not depend on the CPU's features, only the speed does. The lane
//! functions are written as plain scalar code that rustc vectorises
//! inside the `#[target_feature]` wrappers; tests compare every path bit
//! by bit over dense sweeps (`tests::batch_matches_inline_clif`,
//! `tests::f64_batch_matches_inline_clif`).
//!
//! The symbols are registered with every JIT module under fixed names, one
//! per function and type, at the address of the widest implementation the
//! host supports; where it supports none (no AVX2 and FMA), no kernel
//! stages and the names are not registered.

use gradlift_ir::DType;

use super::coeffs::{EXPM1_F64, EXP_F32, EXP_F64, TANH_F32};
use super::exp::{LN2_F32, LN2_F64};
use super::hyper::{LOGISTIC_ZERO_F32, LOGISTIC_ZERO_F64, RCP_F32, RCP_F64};
use super::MathFn;

/// A batch function: `extern "C" fn(buf: *mut T, n: usize)` applying a
/// math function to `buf[0..n]` in place.
#[derive(Clone, Copy, Debug)]
pub struct BatchFn {
    /// The function it computes and its element type.
    pub f: MathFn,
    pub dtype: DType,
    /// The name kernels import it by.
    pub name: &'static str,
    /// The implementation for the host CPU (private: only this module
    /// makes batch functions, so [`BatchFn::apply`] can be safe).
    pub(crate) addr: *const u8,
}

/// The element types of batch functions.
pub trait BatchElem: Copy {
    const DTYPE: DType;
}
impl BatchElem for f32 {
    const DTYPE: DType = DType::F32;
}
impl BatchElem for f64 {
    const DTYPE: DType = DType::F64;
}

impl BatchFn {
    /// Applies the function to `buf` in place, as kernels do on their
    /// blocks (for tests and benchmarks).
    ///
    /// # Panics
    /// If `T` is not the function's element type.
    pub fn apply<T: BatchElem>(&self, buf: &mut [T]) {
        assert_eq!(T::DTYPE, self.dtype, "{} takes {:?}", self.name, self.dtype);
        // SAFETY: batch functions are made only in this module, with
        // `addr` an `extern "C" fn(*mut T, usize)` of element type `dtype`
        // (checked above) whose CPU features the host has (`host_width`).
        let f = unsafe {
            std::mem::transmute::<*const u8, unsafe extern "C" fn(*mut T, usize)>(self.addr)
        };
        // SAFETY: `buf` is valid for reads and writes of `buf.len()`
        // elements and borrowed mutably for the call.
        unsafe { f(buf.as_mut_ptr(), buf.len()) }
    }
}

/// The vector width the host's batch functions use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// 16 f32 lanes (AVX-512F).
    X16,
    /// 8 f32 lanes (AVX2 with FMA).
    X8,
}

/// The widest batch implementation the host CPU runs, or `None` (then no
/// kernel stages). `GRADLIFT_BATCH_MATH=0` turns staging off, for
/// comparisons.
pub fn host_width() -> Option<Width> {
    static W: std::sync::OnceLock<Option<Width>> = std::sync::OnceLock::new();
    *W.get_or_init(|| {
        if std::env::var("GRADLIFT_BATCH_MATH").is_ok_and(|v| v == "0") {
            return None;
        }
        detect()
    })
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Option<Width> {
    let fma = is_x86_feature_detected!("fma") && is_x86_feature_detected!("avx2");
    if fma && is_x86_feature_detected!("avx512f") {
        Some(Width::X16)
    } else if fma {
        Some(Width::X8)
    } else {
        None
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Option<Width> {
    None
}

/// The batch functions of the host (empty where [`host_width`] is None),
/// in a fixed order: kernels import the `k`-th by index.
pub fn batch_symbols() -> Vec<BatchFn> {
    let Some(w) = host_width() else { return Vec::new() };
    imp::table(w)
}

/// The index in [`batch_symbols`] of the batch version of `f` on `dtype`,
/// if the host has one.
pub fn batch_index(f: MathFn, dtype: DType) -> Option<usize> {
    batch_symbols().iter().position(|s| s.f == f && s.dtype == dtype)
}

/// The exp polynomial of `tanh_f32` with coefficient j scaled by
/// 2^(j+1) (exact), as `hyper::tanh_f32` builds it.
const TANH_EXP_F32: [f32; 5] = [
    (EXP_F32[0] as f64 * 2.0) as f32,
    (EXP_F32[1] as f64 * 4.0) as f32,
    (EXP_F32[2] as f64 * 8.0) as f32,
    (EXP_F32[3] as f64 * 16.0) as f32,
    (EXP_F32[4] as f64 * 32.0) as f32,
];

/// tanh of one f32, as `hyper::tanh_f32` computes each lane (see there
/// for the algorithm and its error): operation for operation the same,
/// with `mul_add` for each FMA and the pmin / select idioms spelled as the
/// comparisons they lower to.
#[inline(always)]
pub fn tanh_f32_lane(x: f32) -> f32 {
    let a = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    let sign = x.to_bits() ^ a.to_bits();
    // Small branch: a + a^3 P(a^2).
    let z = a * a;
    let mut p = TANH_F32[4];
    for k in (0..4).rev() {
        p = p.mul_add(z, TANH_F32[k]);
    }
    let zp = z * p;
    let small = a.mul_add(zp, a);
    // Large branch: 1 - 1/d, d = (exp(2a) + 1) / 2.
    let cap = 9.1f32;
    let ac = if cap < a { cap } else { a };
    let magic = (1.5 * 8_388_608.0 + 127.0) as f32;
    let t = ac.mul_add((2.0 * std::f64::consts::LOG2_E) as f32, magic);
    let n = t - magic;
    let rho = n.mul_add((-(std::f32::consts::LN_2 as f64) / 2.0) as f32, ac);
    let c = |j: usize| TANH_EXP_F32[j];
    let rho2 = rho * rho;
    let p0 = c(1).mul_add(rho, c(0));
    let p1 = c(3).mul_add(rho, c(2));
    let pp = c(4).mul_add(rho2, p1);
    let pp = pp.mul_add(rho2, p0);
    let h = rho2.mul_add(pp, rho);
    let s = f32::from_bits(t.to_bits() << 23);
    let s1h = s.mul_add(0.5, 0.5);
    let d = s.mul_add(h, s1h);
    let q = 1.0 / d;
    let large = 1.0 - q;
    let r = if a < 0.625 { small } else { large };
    f32::from_bits(r.to_bits() | sign)
}

/// Bits of `t` as the exponent fields of `2^floor(k/2)` and
/// `2^ceil(k/2)` for `k = bits(t) + add` (`exp::pow2_split_k`).
#[inline(always)]
fn pow2_split_f32(t: f32, add: i32) -> (f32, f32) {
    let k = (t.to_bits() as i32).wrapping_add(add);
    let e1 = k >> 1;
    let e2 = k.wrapping_sub(e1);
    (f32::from_bits((e1 << 23) as u32), f32::from_bits((e2 << 23) as u32))
}

/// exp of one f32, as `exp::exp` computes each lane: lanes below -104 are
/// computed on 0 and zeroed, the rest clamped at 88.8; Cody–Waite
/// reduction with the two-part ln2, Horner, `2^n` in two factors.
#[inline(always)]
pub fn exp_f32_lane(x: f32) -> f32 {
    let live = x >= -104.0 || x.is_nan();
    let xs = if live { x } else { 0.0 };
    let x = if 88.8f32 < xs { 88.8 } else { xs };
    let magic = (1.5 * 8_388_608.0) as f32;
    let t = x.mul_add(std::f64::consts::LOG2_E as f32, magic);
    let n = t - magic;
    let r = n.mul_add(-LN2_F32.0, x);
    let r = n.mul_add(-LN2_F32.1, r);
    let mut p = EXP_F32[4];
    for k in (0..4).rev() {
        p = p.mul_add(r, EXP_F32[k]);
    }
    let r2 = r * r;
    let q = r2.mul_add(p, r);
    let p = q + 1.0;
    let (s1, s2) = pow2_split_f32(t, 254);
    let y = p * s1 * s2;
    if live {
        y
    } else {
        0.0
    }
}

/// logistic of one f32, as `hyper::logistic` computes each lane (see
/// there): `2^m / (2^m + exp(-r))` with the denominator as a double word
/// and one residual step for the quotient.
#[inline(always)]
pub fn logistic_f32_lane(x: f32) -> f32 {
    let live = x >= LOGISTIC_ZERO_F32 || x.is_nan();
    let xs = if live { x } else { 0.0 };
    let xc = if 20.0f32 < xs { 20.0 } else { xs };
    let magic = (1.5 * 8_388_608.0 + 254.0) as f32;
    let t = xc.mul_add(std::f64::consts::LOG2_E as f32, magic);
    let m = t - magic;
    let w = m.mul_add(LN2_F32.0, -xc);
    let w = m.mul_add(LN2_F32.1, w);
    let w2 = w * w;
    let p0 = EXP_F32[1].mul_add(w, EXP_F32[0]);
    let p1 = EXP_F32[3].mul_add(w, EXP_F32[2]);
    let p = EXP_F32[4].mul_add(w2, p1);
    let p = p.mul_add(w2, p0);
    let q = w2.mul_add(p, w);
    let (s1, s2) = pow2_split_f32(t, 0);
    let s = s1 * s2;
    let sp1 = s + 1.0;
    let dh = sp1 + q;
    let e = dh - sp1;
    let dl = q - e;
    let y0 = s2 / dh;
    let res = (-y0).mul_add(dh, s2);
    let res = (-y0).mul_add(dl, res);
    let rcp = f32::from_bits((RCP_F32 as i32).wrapping_sub(dh.to_bits() as i32) as u32);
    let y = res.mul_add(rcp, y0);
    let r = y * s1;
    if live {
        r
    } else {
        0.0
    }
}

/// `c[0] + t c[1] + ...` by Horner's rule with FMAs (`Ctx::horner`).
#[inline(always)]
fn horner_f64(t: f64, c: &[f64]) -> f64 {
    let (last, rest) = c.split_last().expect("polynomial");
    rest.iter().rev().fold(*last, |acc, &k| acc.mul_add(t, k))
}

/// The same polynomial as a Horner scheme in `t2` over the pairs
/// `c[2k] + t c[2k+1]` (`Ctx::horner_pairs`).
#[inline(always)]
fn horner_pairs_f64(t: f64, t2: f64, c: &[f64; 10]) -> f64 {
    let pair = |k: usize| c[2 * k + 1].mul_add(t, c[2 * k]);
    let mut acc = pair(4);
    for k in (0..4).rev() {
        acc = acc.mul_add(t2, pair(k));
    }
    acc
}

/// `2^floor(k/2)` and `2^ceil(k/2)` for `k = bits(t) + add`
/// (`exp::pow2_split_k`, f64).
#[inline(always)]
fn pow2_split_f64(t: f64, add: i64) -> (f64, f64) {
    let k = (t.to_bits() as i64).wrapping_add(add);
    let e1 = k >> 1;
    let e2 = k.wrapping_sub(e1);
    (f64::from_bits((e1 << 52) as u64), f64::from_bits((e2 << 52) as u64))
}

/// exp of one f64, as `exp::exp` computes each lane (see [`exp_f32_lane`]).
#[inline(always)]
pub fn exp_f64_lane(x: f64) -> f64 {
    let live = x >= -746.0 || x.is_nan();
    let xs = if live { x } else { 0.0 };
    let x = if 709.8 < xs { 709.8 } else { xs };
    let magic = 1.5 * 4_503_599_627_370_496.0;
    let t = x.mul_add(std::f64::consts::LOG2_E, magic);
    let n = t - magic;
    let r = n.mul_add(-LN2_F64.0, x);
    let r = n.mul_add(-LN2_F64.1, r);
    let p = horner_f64(r, &EXP_F64);
    let r2 = r * r;
    let q = r2.mul_add(p, r);
    let p = q + 1.0;
    let (s1, s2) = pow2_split_f64(t, 2046);
    let y = p * s1 * s2;
    if live {
        y
    } else {
        0.0
    }
}

/// expm1 of one f64, as `exp::expm1` computes each lane.
#[inline(always)]
fn expm1_f64_lane(x: f64) -> f64 {
    let xc = if 709.8 < x { 709.8 } else { x };
    let xc = if xc < -50.0 { -50.0 } else { xc };
    let magic = 1.5 * 4_503_599_627_370_496.0;
    let t = xc.mul_add(std::f64::consts::LOG2_E, magic);
    let n = t - magic;
    let r = n.mul_add(-LN2_F64.0, xc);
    let r = n.mul_add(-LN2_F64.1, r);
    let p = horner_f64(r, &EXPM1_F64);
    let r2 = r * r;
    let em = r2.mul_add(p, r);
    let half_scale = f64::from_bits(((t.to_bits() as i64).wrapping_add(1022) << 52) as u64);
    let w = half_scale - 0.5;
    let y = half_scale.mul_add(em, w);
    let y = y + y;
    let ax = f64::from_bits(x.to_bits() & !(1 << 63));
    if ax < 2f64.powi(-60) {
        x
    } else {
        y
    }
}

/// tanh of one f64, as `hyper::tanh` computes each lane: `em / (em + 2)`
/// with `em = expm1(2 min(|x|, 20))`, the sign of x put back.
#[inline(always)]
pub fn tanh_f64_lane(x: f64) -> f64 {
    let a = f64::from_bits(x.to_bits() & !(1 << 63));
    let ac = if 20.0 < a { 20.0 } else { a };
    let em = expm1_f64_lane(ac + ac);
    let r = em / (em + 2.0);
    f64::from_bits(r.to_bits() | (x.to_bits() & (1 << 63)))
}

/// logistic of one f64, as `hyper::logistic` computes each lane (see
/// [`logistic_f32_lane`]).
#[inline(always)]
pub fn logistic_f64_lane(x: f64) -> f64 {
    let live = x >= LOGISTIC_ZERO_F64 || x.is_nan();
    let xs = if live { x } else { 0.0 };
    let xc = if 40.0 < xs { 40.0 } else { xs };
    let magic = 1.5 * 4_503_599_627_370_496.0 + 2046.0;
    let t = xc.mul_add(std::f64::consts::LOG2_E, magic);
    let m = t - magic;
    let w = m.mul_add(LN2_F64.0, -xc);
    let w = m.mul_add(LN2_F64.1, w);
    let w2 = w * w;
    let p = horner_pairs_f64(w, w2, &EXP_F64);
    let q = w2.mul_add(p, w);
    let (s1, s2) = pow2_split_f64(t, 0);
    let s = s1 * s2;
    let sp1 = s + 1.0;
    let dh = sp1 + q;
    let e = dh - sp1;
    let dl = q - e;
    let y0 = s2 / dh;
    let res = (-y0).mul_add(dh, s2);
    let res = (-y0).mul_add(dl, res);
    let rcp = f64::from_bits(RCP_F64.wrapping_sub(dh.to_bits() as i64) as u64);
    let y = res.mul_add(rcp, y0);
    let r = y * s1;
    if live {
        r
    } else {
        0.0
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::{
        exp_f32_lane, exp_f64_lane, logistic_f32_lane, logistic_f64_lane, tanh_f32_lane,
        tanh_f64_lane, BatchFn, Width,
    };
    use crate::codegen::math::MathFn;
    use gradlift_ir::DType;

    /// `f` over `buf`, vectorised by rustc for 512-bit vectors.
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
    fn map_x16<T: Copy>(buf: &mut [T], f: impl Fn(T) -> T) {
        for v in buf {
            *v = f(*v);
        }
    }

    /// `f` over `buf`, vectorised by rustc for 256-bit vectors.
    #[target_feature(enable = "avx2,fma")]
    fn map_x8<T: Copy>(buf: &mut [T], f: impl Fn(T) -> T) {
        for v in buf {
            *v = f(*v);
        }
    }

    /// `extern "C" fn $name(buf: *mut $t, n: usize)`: `$lane` over
    /// `buf[0..n]` by `$map`.
    macro_rules! entry {
        ($name:ident, $t:ty, $map:ident, $lane:ident) => {
            /// # Safety
            /// `buf` is valid for reads and writes of `n` elements that
            /// nothing else accesses during the call, and the CPU has the
            /// features of the map function.
            unsafe extern "C" fn $name(buf: *mut $t, n: usize) {
                // SAFETY: kernels pass their stack buffer of at least `n`
                // elements, which nothing else touches during the call (the
                // contract above).
                let s = unsafe { std::slice::from_raw_parts_mut(buf, n) };
                // SAFETY: this function is registered only where
                // `host_width` found the map function's features.
                unsafe { $map(s, $lane) }
            }
        };
    }
    entry!(tanh_f32_x16, f32, map_x16, tanh_f32_lane);
    entry!(tanh_f32_x8, f32, map_x8, tanh_f32_lane);
    entry!(exp_f32_x16, f32, map_x16, exp_f32_lane);
    entry!(exp_f32_x8, f32, map_x8, exp_f32_lane);
    entry!(logistic_f32_x16, f32, map_x16, logistic_f32_lane);
    entry!(logistic_f32_x8, f32, map_x8, logistic_f32_lane);
    entry!(tanh_f64_x16, f64, map_x16, tanh_f64_lane);
    entry!(tanh_f64_x8, f64, map_x8, tanh_f64_lane);
    entry!(exp_f64_x16, f64, map_x16, exp_f64_lane);
    entry!(exp_f64_x8, f64, map_x8, exp_f64_lane);
    entry!(logistic_f64_x16, f64, map_x16, logistic_f64_lane);
    entry!(logistic_f64_x8, f64, map_x8, logistic_f64_lane);

    pub(super) fn table(w: Width) -> Vec<BatchFn> {
        let x16 = w == Width::X16;
        let f32_fn = |f,
                      name,
                      a: unsafe extern "C" fn(*mut f32, usize),
                      b: unsafe extern "C" fn(*mut f32, usize)| {
            BatchFn {
                f,
                dtype: DType::F32,
                name,
                addr: if x16 { a as *const u8 } else { b as *const u8 },
            }
        };
        let f64_fn = |f,
                      name,
                      a: unsafe extern "C" fn(*mut f64, usize),
                      b: unsafe extern "C" fn(*mut f64, usize)| {
            BatchFn {
                f,
                dtype: DType::F64,
                name,
                addr: if x16 { a as *const u8 } else { b as *const u8 },
            }
        };
        vec![
            f32_fn(MathFn::Tanh, "gradlift_batch_tanh_f32", tanh_f32_x16, tanh_f32_x8),
            f32_fn(MathFn::Exp, "gradlift_batch_exp_f32", exp_f32_x16, exp_f32_x8),
            f32_fn(
                MathFn::Logistic,
                "gradlift_batch_logistic_f32",
                logistic_f32_x16,
                logistic_f32_x8,
            ),
            f64_fn(MathFn::Tanh, "gradlift_batch_tanh_f64", tanh_f64_x16, tanh_f64_x8),
            f64_fn(MathFn::Exp, "gradlift_batch_exp_f64", exp_f64_x16, exp_f64_x8),
            f64_fn(
                MathFn::Logistic,
                "gradlift_batch_logistic_f64",
                logistic_f64_x16,
                logistic_f64_x8,
            ),
        ]
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::{BatchFn, Width};

    pub(super) fn table(_: Width) -> Vec<BatchFn> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codegen::math::harness::{Elem, Kernel, Lanes};

    /// Inputs: a dense sweep of bit patterns (every 509th, both signs),
    /// plus the special values.
    fn sweep() -> Vec<f32> {
        let mut xs: Vec<f32> = (0..(1u32 << 31) / 509)
            .flat_map(|k| [f32::from_bits(k * 509), -f32::from_bits(k * 509)])
            .collect();
        xs.extend([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, 0.625, 9.1]);
        xs
    }

    /// `f` on `dtype` for every width the host runs.
    fn host_impls(f: MathFn, dtype: DType) -> Vec<BatchFn> {
        let widths: &[Width] = match host_width() {
            Some(Width::X16) => &[Width::X16, Width::X8],
            Some(Width::X8) => &[Width::X8],
            None => &[],
        };
        widths
            .iter()
            .filter_map(|&w| imp::table(w).into_iter().find(|b| b.f == f && b.dtype == dtype))
            .collect()
    }

    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
    }

    /// The lane function and every batch implementation the host runs (16
    /// and 8 lanes on AVX-512 hosts) give `clif`, the inline CLIF's values
    /// of `f` on `xs`, bit for bit (NaN: any NaN); `lens` are prefix
    /// lengths (odd ones exercise the remainder loops).
    fn check_batch<T: BatchElem + std::fmt::LowerExp>(
        f: MathFn,
        dtype: DType,
        xs: &[T],
        clif: &[T],
        lane: fn(T) -> T,
        same: fn(T, T) -> bool,
        lens: &[usize],
    ) {
        for (i, &c) in clif.iter().enumerate() {
            let l = lane(xs[i]);
            assert!(same(c, l), "{f:?}({:e}): CLIF {c:e}, lane function {l:e}", xs[i]);
        }
        for batch in host_impls(f, dtype) {
            for &len in lens {
                let mut buf = xs[..len].to_vec();
                batch.apply(&mut buf);
                for (i, (&a, &c)) in buf.iter().zip(clif).enumerate() {
                    assert!(same(a, c), "{f:?}({:e}): batch {a:e}, CLIF {c:e}", xs[i]);
                }
            }
        }
    }

    /// For each function: the lane function, the host's batch functions and
    /// the CLIF that kernels inline agree bit for bit.
    #[test]
    fn batch_matches_inline_clif() {
        let xs = sweep();
        type Lane = fn(f32) -> f32;
        let lanes: [(MathFn, Lane); 3] = [
            (MathFn::Tanh, tanh_f32_lane),
            (MathFn::Exp, exp_f32_lane),
            (MathFn::Logistic, logistic_f32_lane),
        ];
        for (f, lane) in lanes {
            let k = Kernel::compile(f, Elem::F32, Lanes::Vector).unwrap();
            let mut clif = vec![0f32; xs.len()];
            k.run_f32(&xs, &xs, &mut clif);
            check_batch(f, DType::F32, &xs, &clif, lane, same, &[xs.len(), 1, 15, 17, 511]);
        }
    }

    /// f64 inputs: patterns spread over the whole space (a Weyl sequence
    /// on the bits), a dense grid over [-60, 60] (where the functions
    /// change), and the special values.
    fn sweep_f64() -> Vec<f64> {
        let mut xs: Vec<f64> = (0..1u64 << 21)
            .map(|k| f64::from_bits(k.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .collect();
        xs.extend((0..1 << 21).map(|k| (k as f64 - (1 << 20) as f64) * (60.0 / (1 << 20) as f64)));
        xs.extend([0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN, 20.0, 40.0]);
        xs.extend([
            -745.2,
            -709.9,
            709.8,
            710.0,
            LOGISTIC_ZERO_F64,
            2f64.powi(-61),
            -2f64.powi(-59),
        ]);
        xs
    }

    #[test]
    fn f64_batch_matches_inline_clif() {
        let xs = sweep_f64();
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan();
        type Lane = fn(f64) -> f64;
        let lanes: [(MathFn, Lane); 3] = [
            (MathFn::Tanh, tanh_f64_lane),
            (MathFn::Exp, exp_f64_lane),
            (MathFn::Logistic, logistic_f64_lane),
        ];
        for (f, lane) in lanes {
            let k = Kernel::compile(f, Elem::F64, Lanes::Vector).unwrap();
            let mut clif = vec![0f64; xs.len()];
            k.run_f64(&xs, &xs, &mut clif);
            check_batch(f, DType::F64, &xs, &clif, lane, same, &[xs.len(), 1, 7, 9, 255]);
        }
    }
}
