//! IEEE behaviour of the CLIF math kernels at NaN, ±inf, ±0, denormals and
//! other edge inputs, against the reference interpreter's semantics (Rust
//! std); vector and scalar code paths agree bit for bit.

mod math_support;

use gradlift_compiler::codegen::math::harness::{Elem, Kernel, Lanes};
use gradlift_compiler::codegen::math::{libcall_symbols, MathFn};
use math_support::*;

/// The accuracy contract (ulps) checked by the tests.
fn bound32(f: MathFn) -> f64 {
    match f {
        MathFn::Exp | MathFn::Log | MathFn::Tanh | MathFn::Logistic => 2.0,
        MathFn::Round | MathFn::Rem => 0.0,
        _ => 4.0,
    }
}

fn bound64(f: MathFn) -> f64 {
    match f {
        MathFn::Round | MathFn::Rem => 0.0,
        _ => 4.0,
    }
}

fn all() -> impl Iterator<Item = MathFn> {
    MathFn::ALL.into_iter()
}

fn unary() -> impl Iterator<Item = MathFn> {
    all().filter(|f| f.arity() == 1)
}

/// Checks one f32 result against std evaluated in f64: NaN where std is
/// NaN; identical bits where std gives ±0 or ±inf; else within the bound.
fn check32(f: MathFn, x: f32, y: f32, got: f32, slack: f64) {
    let want = std64_for_f32(f, x as f64, y as f64);
    let w32 = want as f32;
    let ctx = || {
        format!(
            "{f:?} f32 x={x:e} ({:#x}) y={y:e}: got {got:e} ({:#x}), std {want:e}",
            x.to_bits(),
            got.to_bits()
        )
    };
    if want.is_nan() {
        assert!(got.is_nan(), "{}", ctx());
    } else if w32 == 0.0 || w32.is_infinite() {
        assert_eq!(got.to_bits(), w32.to_bits(), "{}", ctx());
    } else {
        let e = ulp32(got, want);
        assert!(e <= bound32(f) + slack, "{} ({e:.2} ulp)", ctx());
    }
}

fn check64(f: MathFn, x: f64, y: f64, got: f64) {
    let want = std64(f, x, y);
    let ctx = || {
        format!(
            "{f:?} f64 x={x:e} ({:#x}) y={y:e}: got {got:e} ({:#x}), std {want:e}",
            x.to_bits(),
            got.to_bits()
        )
    };
    if want.is_nan() {
        assert!(got.is_nan(), "{}", ctx());
    } else if want == 0.0 || want.is_infinite() {
        assert_eq!(got.to_bits(), want.to_bits(), "{}", ctx());
    } else {
        // std itself may be off by up to 1 ulp.
        let e = ulp64_std(got, want);
        let slack = if bound64(f) == 0.0 { 0.0 } else { 1.0 };
        assert!(e <= bound64(f) + slack, "{} ({e:.2} ulp)", ctx());
    }
}

fn both_lanes32(f: MathFn, a: &[f32], b: &[f32]) -> Vec<f32> {
    let v = apply32(&kernel(f, Elem::F32, Lanes::Vector), a, b);
    let s = apply32(&kernel(f, Elem::F32, Lanes::Scalar), a, b);
    for i in 0..a.len() {
        assert!(
            same32(v[i], s[i]),
            "{f:?} f32 x={:e} y={:e}: vector {:e} scalar {:e}",
            a[i],
            b[i],
            v[i],
            s[i]
        );
    }
    v
}

fn both_lanes64(f: MathFn, a: &[f64], b: &[f64]) -> Vec<f64> {
    let v = apply64(&kernel(f, Elem::F64, Lanes::Vector), a, b);
    let s = apply64(&kernel(f, Elem::F64, Lanes::Scalar), a, b);
    for i in 0..a.len() {
        assert!(
            same64(v[i], s[i]),
            "{f:?} f64 x={:e} y={:e}: vector {:e} scalar {:e}",
            a[i],
            b[i],
            v[i],
            s[i]
        );
    }
    v
}

#[test]
fn unary_specials_f32() {
    let xs = specials32();
    for f in unary() {
        let got = both_lanes32(f, &xs, &xs);
        for (&x, &g) in xs.iter().zip(&got) {
            check32(f, x, x, g, 0.0);
        }
    }
}

#[test]
fn unary_specials_f64() {
    let xs = specials64();
    for f in unary() {
        let got = both_lanes64(f, &xs, &xs);
        for (&x, &g) in xs.iter().zip(&got) {
            check64(f, x, x, g);
        }
    }
}

/// Pairs of edge values plus small integers, halves and thirds.
fn pairs32() -> (Vec<f32>, Vec<f32>) {
    let mut vals = specials32();
    vals.extend([
        3.0,
        -3.0,
        4.0,
        -4.0,
        5.0,
        -5.0,
        1.0 / 3.0,
        -1.0 / 3.0,
        1e-3,
        0.75,
        1.25,
        0.999_999_94,
        1.000_000_1,
    ]);
    let mut a = vec![];
    let mut b = vec![];
    for &x in &vals {
        for &y in &vals {
            a.push(x);
            b.push(y);
        }
    }
    (a, b)
}

fn pairs64() -> (Vec<f64>, Vec<f64>) {
    let mut vals = specials64();
    vals.extend([
        3.0,
        -3.0,
        4.0,
        -4.0,
        5.0,
        -5.0,
        1.0 / 3.0,
        -1.0 / 3.0,
        1e-3,
        0.75,
        1.25,
        0.999_999_999_999_999_9,
        1.000_000_000_000_000_2,
    ]);
    let mut a = vec![];
    let mut b = vec![];
    for &x in &vals {
        for &y in &vals {
            a.push(x);
            b.push(y);
        }
    }
    (a, b)
}

#[test]
fn pow_and_rem_specials_f32() {
    let (a, b) = pairs32();
    for f in [MathFn::Pow, MathFn::Rem] {
        let got = both_lanes32(f, &a, &b);
        for i in 0..a.len() {
            check32(f, a[i], b[i], got[i], 0.0);
            if f == MathFn::Rem || got[i].is_nan() || got[i] == 0.0 || got[i].is_infinite() {
                // Exact results, and the IEEE classes, match the f32 interpreter too.
                let interp = std32(f, a[i], b[i]);
                assert!(
                    same32(got[i], interp) || f == MathFn::Pow,
                    "{f:?} {:e} {:e}: {:e} vs {:e}",
                    a[i],
                    b[i],
                    got[i],
                    interp
                );
            }
        }
    }
}

#[test]
fn pow_and_rem_specials_f64() {
    let (a, b) = pairs64();
    for f in [MathFn::Pow, MathFn::Rem] {
        let got = both_lanes64(f, &a, &b);
        for i in 0..a.len() {
            check64(f, a[i], b[i], got[i]);
        }
    }
}

#[test]
fn named_cases_f32() {
    let one = |f: MathFn, x: f32| apply32(&kernel(f, Elem::F32, Lanes::Vector), &[x], &[x])[0];
    let two =
        |f: MathFn, x: f32, y: f32| apply32(&kernel(f, Elem::F32, Lanes::Vector), &[x], &[y])[0];
    let bits = |v: f32| v.to_bits();
    use MathFn::*;
    assert_eq!(one(Exp, f32::NEG_INFINITY), 0.0);
    assert_eq!(one(Exp, f32::INFINITY), f32::INFINITY);
    assert!(one(Exp, f32::NAN).is_nan());
    // Large negative arguments give denormals, then 0 (not FLT_MIN).
    let d = one(Exp, -100.0);
    assert!(d > 0.0 && d < f32::MIN_POSITIVE, "exp(-100) = {d:e}");
    assert_eq!(d, (-100f64).exp() as f32);
    assert_eq!(one(Exp, -104.0), 0.0);
    assert_eq!(one(Log, 0.0), f32::NEG_INFINITY);
    assert_eq!(one(Log, -0.0), f32::NEG_INFINITY);
    assert!(one(Log, -1.0).is_nan());
    assert_eq!(one(Log, f32::INFINITY), f32::INFINITY);
    assert_eq!(one(Log, 1.0), 0.0);
    assert!(ulp32(one(Log, 1e-45), (1e-45f32 as f64).ln()) <= 1.0);
    assert_eq!(one(Log1p, -1.0), f32::NEG_INFINITY);
    assert!(one(Log1p, -2.0).is_nan());
    assert_eq!(bits(one(Log1p, -0.0)), bits(-0.0));
    assert_eq!(one(Log1p, 1e-40), 1e-40);
    assert_eq!(one(Expm1, f32::NEG_INFINITY), -1.0);
    assert_eq!(bits(one(Expm1, -0.0)), bits(-0.0));
    assert_eq!(one(Tanh, f32::INFINITY), 1.0);
    assert_eq!(one(Tanh, f32::NEG_INFINITY), -1.0);
    assert_eq!(bits(one(Tanh, -0.0)), bits(-0.0));
    assert_eq!(one(Logistic, f32::NEG_INFINITY), 0.0);
    assert_eq!(one(Logistic, f32::INFINITY), 1.0);
    assert_eq!(one(Logistic, 0.0), 0.5);
    // 0 exactly where the interpreter's exp(-x) overflows; just above, the
    // true (denormal) value, as there.
    let z = gradlift_compiler::codegen::math::LOGISTIC_ZERO_F32;
    assert_eq!((std32(Logistic, z.next_down(), 0.0), one(Logistic, z.next_down())), (0.0, 0.0));
    let (want, got) = (std32(Logistic, z, 0.0), one(Logistic, z));
    assert!(want > 0.0 && got > 0.0 && ulp32(got, logistic64(z as f64, -1e300)) <= 2.0);
    assert!(one(Sin, f32::INFINITY).is_nan() && one(Cos, f32::NEG_INFINITY).is_nan());
    assert_eq!(bits(one(Sin, -0.0)), bits(-0.0));
    assert_eq!(one(Cos, -0.0), 1.0);
    // pow: the C99 special cases.
    assert_eq!(two(Pow, f32::NAN, 0.0), 1.0);
    assert_eq!(two(Pow, f32::NAN, -0.0), 1.0);
    assert_eq!(two(Pow, 1.0, f32::NAN), 1.0);
    assert_eq!(two(Pow, -1.0, f32::INFINITY), 1.0);
    assert_eq!(two(Pow, -1.0, f32::NEG_INFINITY), 1.0);
    assert_eq!(two(Pow, -2.0, 3.0), -8.0);
    assert_eq!(two(Pow, -2.0, -3.0), -0.125);
    assert_eq!(two(Pow, -2.0, 2.0), 4.0);
    assert!(two(Pow, -2.0, 0.5).is_nan());
    assert_eq!(bits(two(Pow, -0.0, -3.0)), bits(f32::NEG_INFINITY));
    assert_eq!(two(Pow, -0.0, -2.0), f32::INFINITY);
    assert_eq!(two(Pow, 0.0, -0.5), f32::INFINITY);
    assert_eq!(bits(two(Pow, -0.0, 3.0)), bits(-0.0));
    assert_eq!(bits(two(Pow, -0.0, 0.5)), bits(0.0));
    assert_eq!(two(Pow, 0.5, f32::INFINITY), 0.0);
    assert_eq!(two(Pow, 0.5, f32::NEG_INFINITY), f32::INFINITY);
    assert_eq!(two(Pow, 2.0, f32::NEG_INFINITY), 0.0);
    assert_eq!(bits(two(Pow, f32::NEG_INFINITY, -3.0)), bits(-0.0));
    assert_eq!(bits(two(Pow, f32::NEG_INFINITY, 3.0)), bits(f32::NEG_INFINITY));
    assert_eq!(two(Pow, f32::NEG_INFINITY, 0.5), f32::INFINITY);
    assert_eq!(two(Pow, 2.0, 10.0), 1024.0);
    assert_eq!(two(Pow, 2.0, -149.0), 1e-45);
    // round: half away from zero, keeps -0 and NaN, huge values unchanged.
    assert_eq!(one(Round, 0.5), 1.0);
    assert_eq!(one(Round, -0.5), -1.0);
    assert_eq!(one(Round, 2.5), 3.0);
    assert_eq!(one(Round, 0.499_999_97), 0.0);
    assert_eq!(bits(one(Round, -0.3)), bits(-0.0));
    assert_eq!(bits(one(Round, -0.0)), bits(-0.0));
    assert!(one(Round, f32::NAN).is_nan());
    assert_eq!(one(Round, 1e30), 1e30);
    assert_eq!(one(Round, 8_388_609.0), 8_388_609.0);
    // fmod: exact, sign of the dividend.
    assert_eq!(two(Rem, 5.5, 2.0), 1.5);
    assert_eq!(two(Rem, -5.5, 2.0), -1.5);
    assert_eq!(two(Rem, 5.5, -2.0), 1.5);
    assert_eq!(bits(two(Rem, -4.0, 2.0)), bits(-0.0));
    assert!(two(Rem, 1.0, 0.0).is_nan());
    assert!(two(Rem, f32::INFINITY, 1.0).is_nan());
    assert_eq!(two(Rem, 1.5, f32::INFINITY), 1.5);
    assert_eq!(two(Rem, 1e30, 3.0), 1e30f32 % 3.0);
}

#[test]
fn named_cases_f64() {
    let one = |f: MathFn, x: f64| apply64(&kernel(f, Elem::F64, Lanes::Vector), &[x], &[x])[0];
    let two =
        |f: MathFn, x: f64, y: f64| apply64(&kernel(f, Elem::F64, Lanes::Vector), &[x], &[y])[0];
    let bits = |v: f64| v.to_bits();
    use MathFn::*;
    assert_eq!(one(Exp, f64::NEG_INFINITY), 0.0);
    assert_eq!(one(Exp, f64::INFINITY), f64::INFINITY);
    let d = one(Exp, -740.0);
    assert!(d > 0.0 && d < f64::MIN_POSITIVE);
    assert_eq!(one(Exp, -746.0), 0.0);
    assert_eq!(one(Exp, 710.0), f64::INFINITY);
    assert_eq!(one(Log, 0.0), f64::NEG_INFINITY);
    assert!(one(Log, -1e-300).is_nan());
    assert_eq!(one(Log, 5e-324), (5e-324f64).ln());
    assert_eq!(one(Log1p, -1.0), f64::NEG_INFINITY);
    assert_eq!(bits(one(Log1p, -0.0)), bits(-0.0));
    assert_eq!(one(Expm1, f64::NEG_INFINITY), -1.0);
    assert_eq!(one(Expm1, 1e-300), 1e-300);
    assert_eq!(bits(one(Tanh, -0.0)), bits(-0.0));
    assert_eq!(one(Tanh, 30.0), 1.0);
    assert_eq!(one(Logistic, f64::NEG_INFINITY), 0.0);
    let z = gradlift_compiler::codegen::math::LOGISTIC_ZERO_F64;
    assert_eq!((-z.next_down()).exp(), f64::INFINITY);
    assert_eq!(one(Logistic, z.next_down()), 0.0);
    assert!((-z).exp().is_finite() && one(Logistic, z) > 0.0);
    assert_eq!(bits(one(Sin, -0.0)), bits(-0.0));
    assert!(one(Cos, f64::INFINITY).is_nan());
    assert_eq!(one(Sin, 1e22), (1e22f64).sin());
    assert_eq!(two(Pow, f64::NAN, 0.0), 1.0);
    assert_eq!(two(Pow, 1.0, f64::NAN), 1.0);
    assert_eq!(two(Pow, -1.0, f64::NEG_INFINITY), 1.0);
    assert_eq!(two(Pow, -3.0, 3.0), -27.0);
    assert!(two(Pow, -3.0, 2.5).is_nan());
    assert_eq!(bits(two(Pow, -0.0, -1.0)), bits(f64::NEG_INFINITY));
    assert_eq!(two(Pow, 2.0, -1074.0), 5e-324);
    assert_eq!(two(Pow, 2.0, 1024.0), f64::INFINITY);
    assert_eq!(two(Pow, 10.0, 22.0), 1e22);
    assert_eq!(one(Round, -2.5), -3.0);
    assert_eq!(one(Round, 0.499_999_999_999_999_94), 0.0);
    assert_eq!(one(Round, 4_503_599_627_370_497.0), 4_503_599_627_370_497.0);
    assert_eq!(bits(two(Rem, -1.0, 1.0)), bits(-0.0));
    assert_eq!(two(Rem, 1e300, 7.0), 1e300 % 7.0);
    assert_eq!(two(Rem, 5e-324, 1e-310), 5e-324);
}

/// Vector and scalar code agree bit for bit on a coarse sweep of all f32
/// bit patterns (length not a multiple of 4: the vector kernel's tail runs).
#[test]
fn vector_matches_scalar_f32() {
    let mut xs: Vec<f32> = (0..65_539u64).map(|i| f32::from_bits((i * 65_537) as u32)).collect();
    xs.extend(specials32());
    let ys: Vec<f32> = xs.iter().rev().copied().collect();
    for f in all() {
        both_lanes32(f, &xs, &ys);
    }
}

#[test]
fn vector_matches_scalar_f64() {
    let mut r = Rng(7);
    let mut xs: Vec<f64> =
        (0..30_001).map(|i| if i % 2 == 0 { r.any_f64() } else { r.range(-50.0, 50.0) }).collect();
    xs.extend(specials64());
    let ys: Vec<f64> = xs.iter().rev().copied().collect();
    for f in all() {
        both_lanes64(f, &xs, &ys);
    }
}

/// fmod is exact: bit-for-bit equal to Rust's `%` on random pairs across
/// all magnitudes (small and huge quotients, denormals).
#[test]
fn rem_is_exact() {
    let mut r = Rng(11);
    let n = 200_003;
    let a: Vec<f32> = (0..n).map(|_| f32::from_bits(r.next_u64() as u32)).collect();
    let b: Vec<f32> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                f32::from_bits(r.next_u64() as u32)
            } else {
                // Divisors near the dividend: small quotients.
                a[i] * r.range(-3.0, 3.0) as f32
            }
        })
        .collect();
    let got = apply32(&kernel(MathFn::Rem, Elem::F32, Lanes::Vector), &a, &b);
    for i in 0..n {
        assert!(
            same32(got[i], a[i] % b[i]),
            "fmod({:e}, {:e}) = {:e}, want {:e}",
            a[i],
            b[i],
            got[i],
            a[i] % b[i]
        );
    }
    let a: Vec<f64> = (0..n).map(|_| r.any_f64()).collect();
    let b: Vec<f64> =
        (0..n).map(|i| if i % 3 == 0 { r.any_f64() } else { a[i] * r.range(-3.0, 3.0) }).collect();
    let got = apply64(&kernel(MathFn::Rem, Elem::F64, Lanes::Vector), &a, &b);
    for i in 0..n {
        assert!(
            same64(got[i], a[i] % b[i]),
            "fmod({:e}, {:e}) = {:e}, want {:e}",
            a[i],
            b[i],
            got[i],
            a[i] % b[i]
        );
    }
}

/// round is exact: equal to Rust's `round` on every 97th f32 bit pattern
/// and on halves.
#[test]
fn round_is_exact() {
    let k = kernel(MathFn::Round, Elem::F32, Lanes::Vector);
    for xs in f32_patterns(997) {
        let got = apply32(&k, &xs, &xs);
        for (x, g) in xs.iter().zip(got) {
            assert!(same32(g, x.round()), "round({x:e}) = {g:e}");
        }
    }
    let halves: Vec<f64> = (-4000..4000).map(|i| i as f64 + 0.5).collect();
    let got = apply64(&kernel(MathFn::Round, Elem::F64, Lanes::Vector), &halves, &halves);
    for (x, g) in halves.iter().zip(got) {
        assert!(same64(g, x.round()), "round({x}) = {g}");
    }
}

#[test]
fn libcall_symbols_are_callable() {
    let syms = libcall_symbols();
    assert!(!syms.is_empty());
    for (name, addr) in syms {
        assert!(!addr.is_null(), "{name}");
    }
    // Compiling with them registered is what the harness does.
    let _ = Kernel::compile(MathFn::Sin, Elem::F32, Lanes::Vector).unwrap();
}
