//! Batched math: functions that kernels call on a block of values in
//! memory, compiled by rustc for 512-bit (AVX-512) or 256-bit (AVX2)
//! vectors, which Cranelift 0.135 does not emit (it lowers 128-bit vectors
//! only).
//!
//! A kernel whose vector loop evaluates one of these functions stages it
//! (see `emit`'s staging): per block of packets it stores the arguments to
//! a stack buffer, calls the batch function on the buffer in place, and
//! reads the results back where the function's value is used. Where the
//! arithmetic of the function dominates the kernel (a tanh costs ~35
//! vector instructions for 4 lanes), four times the lanes per instruction
//! outweigh the stores and loads: `sum(tanh(x w + b)^2)` over 2^24 f32 went
//! from 12.5 ms to about 5 ms on two Zen 4 cores.
//!
//! Each function runs the same algorithm as the CLIF that `math::emit`
//! writes: the same operations, constants and rounding steps, lane by
//! lane (`*_lane`), so a value is bit-for-bit the same whether a kernel
//! computed it inline or staged, and whatever the vector width. Results
//! do not depend on the CPU's features, only the speed does. The lane
//! functions are written as plain scalar code that rustc vectorises
//! inside the `#[target_feature]` wrappers; tests compare every path bit
//! by bit over dense sweeps (`tests::batch_matches_inline_clif`).
//!
//! The symbols are registered with every JIT module under fixed names, one
//! per function and type, at the address of the widest implementation the
//! host supports; where it supports none (no AVX2 and FMA), no kernel
//! stages and the names are not registered.

use gradlift_ir::DType;

use super::coeffs::{EXP_F32, TANH_F32};
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
    /// The implementation for the host CPU.
    pub addr: *const u8,
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

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::{tanh_f32_lane, BatchFn, Width};
    use crate::codegen::math::MathFn;
    use gradlift_ir::DType;

    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
    fn tanh_f32_x16(buf: &mut [f32]) {
        for v in buf {
            *v = tanh_f32_lane(*v);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    fn tanh_f32_x8(buf: &mut [f32]) {
        for v in buf {
            *v = tanh_f32_lane(*v);
        }
    }

    /// # Safety
    /// `buf` is valid for reads and writes of `n` f32 (a kernel's stack
    /// buffer), and the CPU has AVX-512F, AVX-512VL/DQ, AVX2 and FMA.
    unsafe extern "C" fn call_tanh_f32_x16(buf: *mut f32, n: usize) {
        // SAFETY: kernels pass a stack buffer of at least `n` f32 that
        // nothing else touches during the call (see the function's
        // contract).
        let s = unsafe { std::slice::from_raw_parts_mut(buf, n) };
        // SAFETY: this address is registered only where `host_width` found
        // these features.
        unsafe { tanh_f32_x16(s) }
    }

    /// # Safety
    /// As [`call_tanh_f32_x16`], with AVX2 and FMA.
    unsafe extern "C" fn call_tanh_f32_x8(buf: *mut f32, n: usize) {
        // SAFETY: as in `call_tanh_f32_x16`.
        let s = unsafe { std::slice::from_raw_parts_mut(buf, n) };
        // SAFETY: registered only where `host_width` found AVX2 and FMA.
        unsafe { tanh_f32_x8(s) }
    }

    pub(super) fn table(w: Width) -> Vec<BatchFn> {
        let tanh_f32: unsafe extern "C" fn(*mut f32, usize) = match w {
            Width::X16 => call_tanh_f32_x16,
            Width::X8 => call_tanh_f32_x8,
        };
        vec![BatchFn {
            f: MathFn::Tanh,
            dtype: DType::F32,
            name: "gradlift_batch_tanh_f32",
            addr: tanh_f32 as *const u8,
        }]
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

    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
    }

    /// The lane function, the host's batch function and the CLIF that
    /// kernels inline agree bit for bit.
    #[test]
    fn batch_matches_inline_clif() {
        let xs = sweep();
        let k = Kernel::compile(MathFn::Tanh, Elem::F32, Lanes::Vector).unwrap();
        let mut clif = vec![0f32; xs.len()];
        k.run_f32(&xs, &xs, &mut clif);
        let lane: Vec<f32> = xs.iter().map(|&x| tanh_f32_lane(x)).collect();
        for (i, (&a, &b)) in clif.iter().zip(&lane).enumerate() {
            assert!(same(a, b), "tanh({:e}): CLIF {a:e}, lane function {b:e}", xs[i]);
        }
        let Some(i) = batch_index(MathFn::Tanh, DType::F32) else { return };
        let f = batch_symbols()[i].addr;
        // SAFETY: the registered tanh batch function has this signature.
        let f =
            unsafe { std::mem::transmute::<*const u8, unsafe extern "C" fn(*mut f32, usize)>(f) };
        // Odd lengths exercise the remainder loops.
        for len in [xs.len(), 1, 15, 17, 511] {
            let mut buf = xs[..len].to_vec();
            // SAFETY: `buf` holds `len` f32; the CPU has the features the
            // registered implementation needs (`host_width`).
            unsafe { f(buf.as_mut_ptr(), len) };
            for (i, (&a, &b)) in buf.iter().zip(&clif).enumerate() {
                assert!(same(a, b), "tanh({:e}): batch {a:e}, CLIF {b:e}", xs[i]);
            }
        }
    }
}
