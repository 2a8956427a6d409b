//! Shared support for the `math_*` tests: compiled kernels, references,
//! ulp measures and sweeps.

#![allow(dead_code)]

pub mod dd;

use gradlift_compiler::codegen::math::harness::{Elem, Kernel, Lanes};
use gradlift_compiler::codegen::math::{MathFn, LOGISTIC_ZERO_F32, LOGISTIC_ZERO_F64};

pub fn kernel(f: MathFn, elem: Elem, lanes: Lanes) -> Kernel {
    Kernel::compile(f, elem, lanes)
        .unwrap_or_else(|e| panic!("compiling {f:?} {elem:?} {lanes:?}: {e}"))
}

/// Applies a compiled f32 kernel to `a` (and `b`).
pub fn apply32(k: &Kernel, a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; a.len()];
    k.run_f32(a, b, &mut out);
    out
}

pub fn apply64(k: &Kernel, a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len()];
    k.run_f64(a, b, &mut out);
    out
}

/// The reference interpreter's semantics (Rust std) in f64, used as the
/// high-precision reference for f32 (rounded at the end by the measure).
pub fn std64(f: MathFn, x: f64, y: f64) -> f64 {
    match f {
        MathFn::Exp => x.exp(),
        MathFn::Log => x.ln(),
        MathFn::Log1p => x.ln_1p(),
        MathFn::Expm1 => x.exp_m1(),
        MathFn::Tanh => x.tanh(),
        MathFn::Logistic => logistic64(x, LOGISTIC_ZERO_F64),
        MathFn::Sin => x.sin(),
        MathFn::Cos => x.cos(),
        MathFn::Pow => x.powf(y),
        MathFn::Round => x.round(),
        MathFn::Rem => x % y,
        MathFn::Erf => erf64(x),
    }
}

/// [`std64`] as the reference for f32 results: the same, except that
/// logistic is 0 below the f32 interpreter's underflow point.
pub fn std64_for_f32(f: MathFn, x: f64, y: f64) -> f64 {
    match f {
        MathFn::Logistic => logistic64(x, LOGISTIC_ZERO_F32 as f64),
        _ => std64(f, x, y),
    }
}

/// logistic as the interpreter defines it, without its roundings: 0 below
/// `zero_below` (where its `exp(-x)` overflows, so `1 / (1 + exp(-x))` is
/// 0), else the true value (`e^x / (1 + e^x)` for x < 0, so denormal
/// results are not lost).
pub fn logistic64(x: f64, zero_below: f64) -> f64 {
    if x < zero_below {
        0.0
    } else if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Rust std in f32: the interpreter itself.
pub fn std32(f: MathFn, x: f32, y: f32) -> f32 {
    match f {
        MathFn::Exp => x.exp(),
        MathFn::Log => x.ln(),
        MathFn::Log1p => x.ln_1p(),
        MathFn::Expm1 => x.exp_m1(),
        MathFn::Tanh => x.tanh(),
        MathFn::Logistic => 1.0 / (1.0 + (-x).exp()),
        MathFn::Sin => x.sin(),
        MathFn::Cos => x.cos(),
        MathFn::Pow => x.powf(y),
        MathFn::Round => x.round(),
        MathFn::Rem => x % y,
        MathFn::Erf => erf64(x as f64) as f32,
    }
}

/// erf in f64 for references: not in Rust std; see `dd::erf`.
pub fn erf64(x: f64) -> f64 {
    dd::erf(x).hi
}

/// Exponent of a finite nonzero f64 (floor(log2|v|)), denormals included.
pub fn exponent(v: f64) -> i32 {
    let b = v.abs().to_bits();
    let e = (b >> 52) as i32;
    if e == 0 {
        // denormal
        -1074 + (63 - b.leading_zeros() as i32)
    } else {
        e - 1023
    }
}

/// Error of an f32 result in units of the f32 ulp at the (unrounded)
/// reference value. NaN vs NaN counts 0, NaN vs number infinite.
pub fn ulp32(got: f32, want: f64) -> f64 {
    if want.is_nan() || got.is_nan() {
        return if want.is_nan() && got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    let w32 = want as f32;
    if got == 0.0 && w32 == 0.0 && got.is_sign_negative() != w32.is_sign_negative() {
        return f64::INFINITY; // wrong sign of zero
    }
    if got.is_infinite() && got == w32 {
        return 0.0;
    }
    let g = if got.is_infinite() { 2f64.powi(128).copysign(got as f64) } else { got as f64 };
    let w = if want.is_infinite() { 2f64.powi(128).copysign(want) } else { want };
    let e = if w == 0.0 { -126 } else { exponent(w).max(-126) };
    (g - w).abs() / 2f64.powi(e - 23)
}

/// `v * 2^e` for any e (chunked so intermediate scalings stay finite).
pub fn ldexp(mut v: f64, mut e: i32) -> f64 {
    while e > 900 {
        v *= 2f64.powi(900);
        e -= 900;
    }
    while e < -900 {
        v *= 2f64.powi(-900);
        e += 900;
    }
    v * 2f64.powi(e)
}

/// Error of an f64 result in f64 ulps at a double-double reference.
pub fn ulp64(got: f64, want: dd::Scaled) -> f64 {
    let v = want.v;
    if v.hi.is_nan() || got.is_nan() {
        return if v.hi.is_nan() && got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if v.hi.is_infinite() {
        return if got == v.hi { 0.0 } else { f64::INFINITY };
    }
    if v.hi == 0.0 {
        return got.abs() / 2f64.powi(-1074) * if got == 0.0 { 0.0 } else { 1.0 };
    }
    let mut ew = exponent(v.hi) + want.e;
    if v.lo != 0.0
        && v.hi.abs().to_bits() & ((1u64 << 52) - 1) == 0
        && v.lo.signum() != v.hi.signum()
    {
        ew -= 1; // just below a power of two
    }
    let ulp_e = (ew - 52).max(-1074);
    let g = if got.is_infinite() {
        if ew >= 1024 {
            return 0.0;
        }
        2f64.powi(1023) * 2.0f64.copysign(got)
    } else {
        got
    };
    // (g 2^-e - v) in double-double, then scaled to ulps.
    let gs = ldexp(g, -want.e);
    if gs.is_infinite() {
        return f64::INFINITY;
    }
    let d = dd::DD::new(gs).sub(v);
    ldexp(d.hi.abs(), want.e - ulp_e)
}

/// ulp error of an f64 result against an f64 reference (std).
pub fn ulp64_std(got: f64, want: f64) -> f64 {
    ulp64(got, dd::Scaled { v: dd::DD::new(want), e: 0 })
}

/// Running error statistics.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub n: u64,
    pub max: f64,
    pub sum: f64,
    pub worst: (f64, f64),
}

impl Stats {
    pub fn add(&mut self, err: f64, x: f64, y: f64) {
        self.n += 1;
        self.sum += err;
        if err > self.max || (err.is_nan() && !self.max.is_nan()) {
            self.max = err;
            self.worst = (x, y);
        }
    }
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }
    pub fn merge(&mut self, o: &Stats) {
        if o.max > self.max {
            self.max = o.max;
            self.worst = o.worst;
        }
        self.n += o.n;
        self.sum += o.sum;
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n={} max={:.3} mean={:.4} worst at x={:e} y={:e}",
            self.n,
            self.max,
            self.mean(),
            self.worst.0,
            self.worst.1
        )
    }
}

/// Same result for our purposes: identical bits, or both NaN.
pub fn same32(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}
pub fn same64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Every `step`-th f32 bit pattern (all 2^32, both signs), in chunks.
pub fn f32_patterns(step: u32) -> impl Iterator<Item = Vec<f32>> {
    let step = step as u64;
    let total = (1u64 << 32).div_ceil(step);
    let chunk = 1u64 << 20;
    (0..total.div_ceil(chunk)).map(move |c| {
        let lo = c * chunk;
        let hi = (lo + chunk).min(total);
        (lo..hi).map(|i| f32::from_bits((i * step) as u32)).collect()
    })
}

/// A small deterministic generator (xorshift*), to avoid a dependency.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// A random finite f64 with uniformly random bits (log-uniform magnitude).
    pub fn any_f64(&mut self) -> f64 {
        loop {
            let v = f64::from_bits(self.next_u64());
            if v.is_finite() {
                return v;
            }
        }
    }
    /// Log-uniform magnitude in [lo, hi] (positive), random sign if `signed`.
    pub fn log_uniform(&mut self, lo: f64, hi: f64, signed: bool) -> f64 {
        let v = (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp();
        if signed && self.next_u64() & 1 == 1 {
            -v
        } else {
            v
        }
    }
}

/// Inputs that exercise IEEE edge behaviour, f64 (f32 uses the f32 ones).
pub fn specials64() -> Vec<f64> {
    let mut v = vec![
        0.0,
        f64::INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        f64::MAX,
        5e-324,
        f64::from_bits(0x000f_ffff_ffff_ffff), // largest denormal
        1e-300,
        1e-20,
        1e-8,
        0.25,
        0.5,
        1.0,
        1.5,
        2.0,
        2.5,
        3.0,
        10.0,
        100.0,
        700.0,
        709.7,
        709.79,
        710.0,
        745.0,
        745.2,
        746.0,
        1e10,
        1e300,
        std::f64::consts::PI,
        std::f64::consts::FRAC_PI_2,
        0.49999999999999994,
        4503599627370495.5,
        4503599627370497.0,
    ];
    let neg: Vec<f64> = v.iter().map(|x| -x).collect();
    v.extend(neg);
    v
}

pub fn specials32() -> Vec<f32> {
    let mut v = vec![
        0.0,
        f32::INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
        f32::MAX,
        1e-45,
        f32::from_bits(0x007f_ffff), // largest denormal
        1e-30,
        1e-8,
        0.25,
        0.5,
        1.0,
        1.5,
        2.0,
        2.5,
        3.0,
        10.0,
        87.0,
        88.0,
        88.72,
        88.73,
        89.0,
        100.0,
        103.0,
        103.97,
        104.0,
        1e10,
        1e30,
        std::f32::consts::PI,
        std::f32::consts::FRAC_PI_2,
        0.49999997,
        8388607.5,
        8388609.0,
    ];
    let neg: Vec<f32> = v.iter().map(|x| -x).collect();
    v.extend(neg);
    v
}
