//! Generated tensors: linspace/arange against numpy's values, seeded random
//! samples (reproducible, counter-based, sensible statistics).

use gradlift_ir::{npy, DType, IrError, Tensor};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/npy/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn is_tensor_err<T: std::fmt::Debug>(r: Result<T, IrError>, needle: &str) {
    match r {
        Err(IrError::Tensor { msg }) => {
            assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}")
        }
        other => panic!("expected a tensor error containing {needle:?}, got {other:?}"),
    }
}

/// Splits a fixture key like `f64_m3_7_50` into a dtype and three numbers
/// (`m` is a minus sign).
fn parse_key(key: &str) -> (DType, f64, f64, f64) {
    let parts: Vec<&str> = key.split('_').collect();
    let num = |s: &str| -> f64 { s.replace('m', "-").parse().unwrap() };
    let dtype = DType::from_name(parts[0]).unwrap();
    (dtype, num(parts[1]), num(parts[2]), num(parts[3]))
}

#[test]
fn linspace_matches_numpy_bit_for_bit() {
    let cases = npy::read_npz(fixture("linspace.npz")).unwrap();
    assert_eq!(cases.len(), 10);
    for (key, expected) in cases {
        let (dtype, start, stop, num) = parse_key(&key);
        let got = Tensor::linspace(start, stop, num as usize, dtype).unwrap();
        assert_eq!(got, expected, "linspace case {key}: got {got}, numpy {expected}");
    }
}

#[test]
fn arange_matches_numpy_bit_for_bit() {
    let cases = npy::read_npz(fixture("arange.npz")).unwrap();
    assert_eq!(cases.len(), 10);
    for (key, expected) in cases {
        let (dtype, start, stop, step) = parse_key(&key);
        let got = Tensor::arange(start, stop, step, dtype).unwrap();
        assert_eq!(got, expected, "arange case {key}: got {got}, numpy {expected}");
    }
}

#[test]
fn linspace_and_arange_basics() {
    let t = Tensor::linspace(0.0, 1.0, 5, DType::F64).unwrap();
    assert_eq!(t.as_slice::<f64>().unwrap(), &[0.0, 0.25, 0.5, 0.75, 1.0]);
    assert_eq!(Tensor::linspace(0.0, 1.0, 0, DType::F32).unwrap().dims(), &[0]);
    let t = Tensor::arange(0.0, 5.0, 1.0, DType::I64).unwrap();
    assert_eq!(t.as_slice::<i64>().unwrap(), &[0, 1, 2, 3, 4]);
    // Wrong direction gives an empty range, as in numpy.
    assert_eq!(Tensor::arange(0.0, 5.0, -1.0, DType::F64).unwrap().len(), 0);
    assert_eq!(Tensor::arange(3.0, 3.0, 1.0, DType::I32).unwrap().len(), 0);
    let t = Tensor::arange(0.0, 2.5, 1.0, DType::I32).unwrap();
    assert_eq!(t.as_slice::<i32>().unwrap(), &[0, 1, 2]);
}

#[test]
fn linspace_and_arange_errors() {
    is_tensor_err(Tensor::linspace(0.0, 1.0, 3, DType::I32), "float dtype");
    is_tensor_err(Tensor::linspace(0.0, f64::NAN, 3, DType::F64), "finite");
    is_tensor_err(Tensor::linspace(f64::INFINITY, 1.0, 3, DType::F32), "finite");
    assert!(matches!(
        Tensor::linspace(0.0, 1.0, usize::MAX, DType::F64),
        Err(IrError::ShapeOverflow { .. })
    ));
    is_tensor_err(Tensor::arange(0.0, 1.0, 0.0, DType::F64), "non-zero");
    is_tensor_err(Tensor::arange(0.0, 1.0, -0.0, DType::F64), "non-zero");
    is_tensor_err(Tensor::arange(0.0, f64::NAN, 1.0, DType::F64), "finite");
    is_tensor_err(Tensor::arange(0.0, 1.0, f64::INFINITY, DType::F64), "finite");
    is_tensor_err(Tensor::arange(0.0, 4.0, 1.0, DType::Bool), "numeric dtype");
    is_tensor_err(Tensor::arange(0.0, 4.0, 0.5, DType::I32), "integral step");
    is_tensor_err(Tensor::arange(0.5, 4.0, 1.0, DType::I64), "integral start");
    is_tensor_err(Tensor::arange(0.0, 4e9, 1.5e9, DType::I32), "leaves the range of i32");
    is_tensor_err(Tensor::arange(2147483000.0, 2147484000.0, 1.0, DType::I32), "range");
    assert_eq!(Tensor::arange(0.0, 4e9, 1.5e9, DType::I64).unwrap().len(), 3);
    assert_eq!(Tensor::arange(0.0, 3e9, 1e9, DType::I32).unwrap().len(), 3);
    is_tensor_err(Tensor::arange(0.0, 1e300, 1e-300, DType::F64), "too many elements");
}

#[test]
fn random_samples_are_reproducible_from_the_seed() {
    for dtype in [DType::F32, DType::F64] {
        let a = Tensor::rand_uniform(42, [3, 4], -1.0, 2.0, dtype).unwrap();
        let b = Tensor::rand_uniform(42, [3, 4], -1.0, 2.0, dtype).unwrap();
        assert_eq!(a, b);
        let c = Tensor::rand_uniform(43, [3, 4], -1.0, 2.0, dtype).unwrap();
        assert_ne!(a, c);
        let a = Tensor::rand_normal(7, [5], 0.0, 1.0, dtype).unwrap();
        assert_eq!(a, Tensor::rand_normal(7, [5], 0.0, 1.0, dtype).unwrap());
        assert_ne!(a, Tensor::rand_normal(8, [5], 0.0, 1.0, dtype).unwrap());
    }
}

#[test]
fn element_i_depends_only_on_seed_and_i() {
    let long = Tensor::rand_uniform(9, [1000], 0.0, 1.0, DType::F64).unwrap();
    let short = Tensor::rand_uniform(9, [10], 0.0, 1.0, DType::F64).unwrap();
    assert_eq!(short.as_slice::<f64>().unwrap(), &long.as_slice::<f64>().unwrap()[..10]);
    let shaped = Tensor::rand_uniform(9, [4, 25, 10], 0.0, 1.0, DType::F64).unwrap();
    assert_eq!(shaped.reshape([1000]).unwrap(), long);

    let long = Tensor::rand_normal(9, [999], 1.0, 2.0, DType::F32).unwrap();
    let short = Tensor::rand_normal(9, [3, 3], 1.0, 2.0, DType::F32).unwrap();
    assert_eq!(short.as_slice::<f32>().unwrap(), &long.as_slice::<f32>().unwrap()[..9]);

    // The documented counter layout: uniform element i is ChaCha8 words
    // [2i, 2i+2) of the stream seeded with seed_from_u64(seed).
    let values = Tensor::rand_uniform(9, [1000], 0.0, 1.0, DType::F64).unwrap();
    for i in [0usize, 1, 31, 32, 33, 777, 999] {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        rng.set_word_pos(2 * i as u128);
        let expected = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        assert_eq!(values.get::<f64>(&[i]).unwrap(), expected, "element {i}");
    }
}

#[test]
fn f32_samples_are_the_f64_samples_rounded() {
    let wide = Tensor::rand_normal(3, [500], -1.0, 0.5, DType::F64).unwrap();
    let narrow = Tensor::rand_normal(3, [500], -1.0, 0.5, DType::F32).unwrap();
    assert_eq!(wide.cast(DType::F32), narrow);
    let wide = Tensor::rand_uniform(3, [500], 10.0, 20.0, DType::F64).unwrap();
    let narrow = Tensor::rand_uniform(3, [500], 10.0, 20.0, DType::F32).unwrap();
    assert_eq!(wide.cast(DType::F32), narrow);
}

fn mean_and_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

#[test]
fn uniform_samples_stay_in_range_with_the_right_moments() {
    let n = 100_000;
    for dtype in [DType::F32, DType::F64] {
        let t = Tensor::rand_uniform(2024, [n], -3.0, 5.0, dtype).unwrap();
        let x = t.to_f64_vec();
        assert!(x.iter().all(|&v| (-3.0..5.0).contains(&v)));
        let (mean, std) = mean_and_std(&x);
        // Uniform on [-3, 5): mean 1, std 8/sqrt(12) ~ 2.309.
        let sigma_mean = 8.0 / 12f64.sqrt() / (n as f64).sqrt();
        assert!((mean - 1.0).abs() < 5.0 * sigma_mean, "mean {mean}");
        assert!((std - 8.0 / 12f64.sqrt()).abs() < 0.02, "std {std}");
    }
    // A degenerate interval returns low, as numpy does.
    let t = Tensor::rand_uniform(1, [4], 2.0, 2.0, DType::F64).unwrap();
    assert_eq!(t.as_slice::<f64>().unwrap(), &[2.0; 4]);
    // A one-ulp interval still never reaches high.
    let high = 1.0f64.next_up();
    let t = Tensor::rand_uniform(1, [1000], 1.0, high, DType::F64).unwrap();
    assert!(t.as_slice::<f64>().unwrap().iter().all(|&v| v == 1.0));
    let t = Tensor::rand_uniform(1, [1000], 1.0, 1.0 + 1e-9, DType::F32).unwrap();
    assert!(t.as_slice::<f32>().unwrap().iter().all(|&v| v == 1.0));
}

#[test]
fn normal_samples_have_the_right_moments() {
    let n = 100_000;
    for dtype in [DType::F32, DType::F64] {
        let t = Tensor::rand_normal(5, [n], 2.0, 3.0, dtype).unwrap();
        let x = t.to_f64_vec();
        assert!(x.iter().all(|v| v.is_finite()));
        let (mean, std) = mean_and_std(&x);
        assert!((mean - 2.0).abs() < 5.0 * 3.0 / (n as f64).sqrt(), "mean {mean}");
        assert!((std - 3.0).abs() < 0.05, "std {std}");
        // About 68.27% within one sigma, 95.45% within two.
        let within =
            |k: f64| x.iter().filter(|&&v| (v - 2.0).abs() < k * 3.0).count() as f64 / n as f64;
        assert!((within(1.0) - 0.6827).abs() < 0.01, "one sigma {}", within(1.0));
        assert!((within(2.0) - 0.9545).abs() < 0.005, "two sigma {}", within(2.0));
    }
    let t = Tensor::rand_normal(5, [3], 4.0, 0.0, DType::F64).unwrap();
    assert_eq!(t.as_slice::<f64>().unwrap(), &[4.0; 3]);
}

#[test]
fn random_errors() {
    is_tensor_err(Tensor::rand_uniform(0, [2], 0.0, 1.0, DType::I32), "float dtype");
    is_tensor_err(Tensor::rand_uniform(0, [2], 1.0, 0.0, DType::F32), "low <= high");
    is_tensor_err(Tensor::rand_uniform(0, [2], f64::NAN, 1.0, DType::F32), "finite");
    is_tensor_err(Tensor::rand_uniform(0, [2], -f64::MAX, f64::MAX, DType::F64), "finite");
    is_tensor_err(Tensor::rand_normal(0, [2], 0.0, 1.0, DType::Bool), "float dtype");
    is_tensor_err(Tensor::rand_normal(0, [2], 0.0, -1.0, DType::F64), "std >= 0");
    is_tensor_err(Tensor::rand_normal(0, [2], f64::INFINITY, 1.0, DType::F64), "finite mean");
    assert!(matches!(
        Tensor::rand_normal(0, [usize::MAX, 3], 0.0, 1.0, DType::F64),
        Err(IrError::ShapeOverflow { .. })
    ));
    assert_eq!(Tensor::rand_normal(0, [0, 3], 0.0, 1.0, DType::F64).unwrap().len(), 0);
}
