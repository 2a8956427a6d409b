//! Accuracy sweeps of the CLIF math kernels, in ulps.
//!
//! f32: every k-th f32 bit pattern (both signs) against Rust's f64
//! functions, errors measured at the unrounded f64 value; statistics over
//! the points of each function's domain that are not saturated (see
//! `domain32`), and every other pattern checked against the same bound.
//! f64: random and structured points against a double-double reference
//! (`math_support::dd`), not against std.
//!
//! The always-on tests are coarse (k = 40961, ~10^5 points per function;
//! 6·10^4 f64 points). The long sweeps are `#[ignore]`d:
//!
//! ```text
//! cargo test --release -p gradlift-compiler --test math_accuracy -- --ignored --nocapture
//! ```
//!
//! (k = 97: 2·10^7 to 4·10^7 points per f32 function; 3·10^6 f64 points)
//! and print the table rows recorded in docs/math.md.

mod math_support;

use gradlift_compiler::codegen::math::harness::{Elem, Lanes};
use gradlift_compiler::codegen::math::{MathFn, LOGISTIC_ZERO_F32, LOGISTIC_ZERO_F64};
use math_support::dd::{self, Scaled, DD};
use math_support::*;

fn bound32(f: MathFn) -> f64 {
    match f {
        MathFn::Exp | MathFn::Log | MathFn::Tanh | MathFn::Logistic => 2.0,
        _ => 4.0,
    }
}

const BOUND64: f64 = 4.0;

const UNARY: [MathFn; 9] = [
    MathFn::Exp,
    MathFn::Log,
    MathFn::Log1p,
    MathFn::Expm1,
    MathFn::Tanh,
    MathFn::Logistic,
    MathFn::Sin,
    MathFn::Cos,
    MathFn::Erf,
];

/// Where each f32 function is neither NaN nor saturated to a constant
/// (0, ±1, -1, ±inf): the points its statistics are taken over.
fn domain32(f: MathFn, x: f32) -> bool {
    match f {
        MathFn::Exp => (-104.0..=89.0).contains(&x),
        MathFn::Log => x > 0.0 && x.is_finite(),
        MathFn::Log1p => x > -1.0 && x.is_finite(),
        MathFn::Expm1 => (-18.0..=89.0).contains(&x),
        MathFn::Tanh => x.abs() <= 9.1,
        MathFn::Logistic => (LOGISTIC_ZERO_F32..=17.0).contains(&x),
        MathFn::Sin | MathFn::Cos => x.is_finite(),
        MathFn::Erf => x.abs() <= 4.0,
        _ => x.is_finite(),
    }
}

fn ref32(f: MathFn, x: f32, y: f32) -> f64 {
    std64_for_f32(f, x as f64, y as f64)
}

/// Sweeps every `step`-th f32 bit pattern; returns the domain statistics
/// and the largest error outside the domain.
fn sweep32(f: MathFn, step: u32) -> (Stats, f64) {
    let k = kernel(f, Elem::F32, Lanes::Vector);
    let mut st = Stats::default();
    let mut outside = 0f64;
    for xs in f32_patterns(step) {
        let got = apply32(&k, &xs, &xs);
        for (&x, &g) in xs.iter().zip(&got) {
            let e = ulp32(g, ref32(f, x, x));
            if domain32(f, x) {
                st.add(e, x as f64, 0.0);
            } else {
                outside = outside.max(e);
            }
        }
    }
    (st, outside)
}

/// pow f32 pairs: `y` chosen so that `y ln x` covers the whole result range
/// (denormal to overflow), plus large |y| near x = 1, negative bases with
/// integer exponents, and raw random bit patterns.
fn pow_pairs32(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut r = Rng(seed);
    let mut a = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(n);
    while a.len() < n {
        let (x, y) = match a.len() % 4 {
            0 => {
                let x = f32::from_bits((r.next_u64() as u32) & 0x7fff_ffff);
                let l = (x as f64).ln();
                if !x.is_finite() || x == 0.0 || l == 0.0 {
                    continue;
                }
                (x, (r.range(-110.0, 95.0) / l) as f32)
            }
            1 => (r.range(0.5, 2.0) as f32, r.range(-2000.0, 2000.0) as f32),
            2 => (-(r.log_uniform(1e-3, 1e3, false) as f32), (r.range(-40.0, 40.0)).round() as f32),
            _ => (f32::from_bits(r.next_u64() as u32), f32::from_bits(r.next_u64() as u32)),
        };
        a.push(x);
        b.push(y);
    }
    (a, b)
}

fn pow_stats32(n: usize) -> Stats {
    let k = kernel(MathFn::Pow, Elem::F32, Lanes::Vector);
    let mut st = Stats::default();
    let chunk = 1 << 20;
    for c in 0..n.div_ceil(chunk) {
        let (a, b) = pow_pairs32(chunk.min(n - c * chunk), 1000 + c as u64);
        let got = apply32(&k, &a, &b);
        for i in 0..a.len() {
            let e = ulp32(got[i], ref32(MathFn::Pow, a[i], b[i]));
            st.add(e, a[i] as f64, b[i] as f64);
        }
    }
    st
}

/// Random and structured f64 inputs for a unary function.
fn inputs64(f: MathFn, n: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng(seed);
    let (lo, hi) = match f {
        MathFn::Exp => (-746.0, 710.0),
        MathFn::Log => (0.0, 1e3),
        MathFn::Log1p => (-1.0, 10.0),
        MathFn::Expm1 => (-40.0, 710.0),
        MathFn::Tanh => (-20.0, 20.0),
        MathFn::Logistic => (-746.0, 40.0),
        MathFn::Erf => (-6.0, 6.0),
        _ => (-100.0, 100.0),
    };
    let in_domain = |x: f64| match f {
        MathFn::Log => x > 0.0,
        MathFn::Log1p => x > -1.0,
        _ => true,
    };
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        let x = match v.len() % 5 {
            0 | 1 => r.range(lo, hi),
            2 => r.any_f64(),
            3 => match f {
                // Near 1 for log, near 0 and -1 for log1p, near multiples
                // of pi/2 for sin/cos, tiny for the others.
                MathFn::Log => 1.0 + r.range(-1e-3, 1e-3) * r.log_uniform(1e-13, 1.0, false),
                MathFn::Log1p => {
                    if r.next_u64() & 1 == 0 {
                        r.log_uniform(1e-300, 1.0, true)
                    } else {
                        -1.0 + r.log_uniform(1e-16, 0.5, false)
                    }
                }
                MathFn::Sin | MathFn::Cos => {
                    let k = (r.log_uniform(1.0, 1e9, false)).round();
                    k * std::f64::consts::FRAC_PI_2 * (1.0 + r.range(-1e-15, 1e-15))
                }
                _ => r.log_uniform(1e-300, 1.0, true),
            },
            _ => match f {
                MathFn::Sin | MathFn::Cos => r.log_uniform(1.0, 1e9, true),
                MathFn::Log => r.log_uniform(5e-324, 1.7e308, false),
                _ => r.range(lo, hi) * r.unit(),
            },
        };
        if x.is_finite() && in_domain(x) {
            v.push(x);
        }
    }
    v
}

/// The double-double reference for f64 (std where the kernel itself calls
/// std: sin/cos beyond 2^30).
fn ref64(f: MathFn, x: f64) -> Scaled {
    let plain = |v: DD| Scaled { v, e: 0 };
    match f {
        MathFn::Exp => {
            if x > 709.8 {
                plain(DD::new(f64::INFINITY))
            } else if x < -746.0 {
                plain(DD::new(0.0))
            } else {
                dd::exp_f(x)
            }
        }
        MathFn::Log => plain(dd::log(x)),
        MathFn::Log1p => plain(dd::log1p(x)),
        MathFn::Expm1 => {
            if x > 709.8 {
                plain(DD::new(f64::INFINITY))
            } else if x < -50.0 {
                plain(DD::new(-1.0))
            } else {
                dd::expm1(x)
            }
        }
        MathFn::Tanh => plain(dd::tanh(x)),
        MathFn::Logistic => {
            if x < LOGISTIC_ZERO_F64 {
                plain(DD::new(0.0))
            } else {
                dd::logistic(x)
            }
        }
        MathFn::Sin if x.abs() < 1073741824.0 => plain(dd::sin(x)),
        MathFn::Cos if x.abs() < 1073741824.0 => plain(dd::cos(x)),
        MathFn::Sin => plain(DD::new(x.sin())),
        MathFn::Cos => plain(DD::new(x.cos())),
        MathFn::Erf => plain(dd::erf(x)),
        _ => unreachable!("{f:?}"),
    }
}

fn sweep64(f: MathFn, n: usize) -> Stats {
    let k = kernel(f, Elem::F64, Lanes::Vector);
    let mut st = Stats::default();
    let chunk = 1 << 18;
    for c in 0..n.div_ceil(chunk) {
        let xs = inputs64(f, chunk.min(n - c * chunk), 77 + c as u64);
        let got = apply64(&k, &xs, &xs);
        for (&x, &g) in xs.iter().zip(&got) {
            st.add(ulp64(g, ref64(f, x)), x, 0.0);
        }
    }
    st
}

fn pow_pairs64(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut r = Rng(seed);
    let mut a = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(n);
    while a.len() < n {
        let (x, y) = match a.len() % 4 {
            0 => {
                let x = f64::from_bits(r.next_u64() >> 1);
                let l = x.ln();
                if !x.is_finite() || x == 0.0 || l == 0.0 {
                    continue;
                }
                (x, r.range(-745.0, 709.0) / l)
            }
            1 => (r.range(0.5, 2.0), r.range(-1e4, 1e4)),
            2 => (-r.log_uniform(1e-3, 1e3, false), r.range(-100.0, 100.0).round()),
            _ => (r.range(0.0, 10.0), r.range(-30.0, 30.0)),
        };
        a.push(x);
        b.push(y);
    }
    (a, b)
}

fn pow_ref64(x: f64, y: f64) -> Scaled {
    let s = x.powf(y);
    if s.is_nan() || s == 0.0 || s.is_infinite() || x == 0.0 || x.is_infinite() || y.is_infinite() {
        return Scaled { v: DD::new(s), e: 0 };
    }
    let m = dd::pow_abs(x, y);
    if s < 0.0 {
        Scaled { v: m.v.neg(), e: m.e }
    } else {
        m
    }
}

fn pow_stats64(n: usize) -> Stats {
    let k = kernel(MathFn::Pow, Elem::F64, Lanes::Vector);
    let mut st = Stats::default();
    let chunk = 1 << 18;
    for c in 0..n.div_ceil(chunk) {
        let (a, b) = pow_pairs64(chunk.min(n - c * chunk), 500 + c as u64);
        let got = apply64(&k, &a, &b);
        for i in 0..a.len() {
            st.add(ulp64(got[i], pow_ref64(a[i], b[i])), a[i], b[i]);
        }
    }
    st
}

fn report(f: MathFn, dtype: &str, st: &Stats, bound: f64) {
    println!(
        "| {f:?} | {dtype} | {} | {:.3} | {:.4} | {:e}, {:e} |",
        st.n,
        st.max,
        st.mean(),
        st.worst.0,
        st.worst.1
    );
    assert!(st.max <= bound, "{f:?} {dtype}: {st} exceeds {bound} ulp");
}

fn run_f32(step: u32, pow_points: usize) {
    for f in UNARY {
        let (st, outside) = sweep32(f, step);
        report(f, "f32", &st, bound32(f));
        assert!(outside <= bound32(f), "{f:?} f32 outside the domain: {outside} ulp");
    }
    report(MathFn::Pow, "f32", &pow_stats32(pow_points), bound32(MathFn::Pow));
}

fn run_f64(points: usize) {
    for f in UNARY {
        report(f, "f64", &sweep64(f, points), BOUND64);
    }
    report(MathFn::Pow, "f64", &pow_stats64(points), BOUND64);
}

#[test]
fn coarse_f32() {
    run_f32(40_961, 100_000);
}

#[test]
fn coarse_f64() {
    run_f64(60_000);
}

#[test]
#[ignore = "long: run in release, see the file docs"]
fn dense_f32() {
    run_f32(97, 10_000_000);
}

/// Every f32 input of every unary function (2^32 each; about an hour in
/// release on 2 cores): the functions are split over two threads.
/// `GRADLIFT_MATH_ONLY=Tanh,Logistic` (names as in `MathFn`'s Debug)
/// restricts the run to those functions.
#[test]
#[ignore = "very long: run in release"]
fn exhaustive_f32() {
    let only = std::env::var("GRADLIFT_MATH_ONLY").ok();
    let fns: Vec<MathFn> = UNARY
        .into_iter()
        .filter(|f| {
            only.as_ref().is_none_or(|o| o.split(',').any(|n| n.trim() == format!("{f:?}")))
        })
        .collect();
    let (a, b) = fns.split_at(fns.len() / 2);
    std::thread::scope(|s| {
        for part in [a, b] {
            s.spawn(move || {
                for &f in part {
                    let (st, outside) = sweep32(f, 1);
                    report(f, "f32 (all inputs)", &st, bound32(f));
                    assert!(outside <= bound32(f), "{f:?} f32 outside the domain: {outside} ulp");
                }
            });
        }
    });
}

#[test]
#[ignore = "long: run in release, see the file docs"]
fn dense_f64() {
    run_f64(3_000_000);
}
