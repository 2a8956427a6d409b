//! The host `Tensor` API: constructors, typed accessors, reshape, cast,
//! comparisons and printing.

use gradlift_ir::{DType, Data, IrError, Tensor};

fn is_tensor_err<T: std::fmt::Debug>(r: Result<T, IrError>, needle: &str) {
    match r {
        Err(IrError::Tensor { msg }) => {
            assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}")
        }
        other => panic!("expected a tensor error containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn from_vec_checks_the_element_count() {
    let t = Tensor::from_vec([2, 3], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
    assert_eq!(t.dims(), &[2, 3]);
    assert_eq!(t.dtype(), DType::I32);
    assert_eq!(t.rank(), 2);
    assert_eq!(t.len(), 6);
    is_tensor_err(Tensor::from_vec([2, 3], vec![1.0f32; 5]), "holds 6 elements but 5 f32");
    is_tensor_err(Tensor::from_slice([4], &[true; 3]), "holds 4 elements");
    assert!(matches!(
        Tensor::from_vec([usize::MAX, 2], Vec::<f32>::new()),
        Err(IrError::ShapeOverflow { .. })
    ));
}

#[test]
fn scalar_zeros_ones_full() {
    let s = Tensor::scalar(2.5f64);
    assert_eq!(s.dims(), &[] as &[usize]);
    assert_eq!(s.item::<f64>().unwrap(), 2.5);
    for dtype in DType::ALL {
        let z = Tensor::zeros(dtype, [2, 2]).unwrap();
        let o = Tensor::ones(dtype, [2, 2]).unwrap();
        assert_eq!(z.dtype(), dtype);
        assert_eq!(z.to_f64_vec(), vec![0.0; 4]);
        assert_eq!(o.to_f64_vec(), vec![1.0; 4]);
    }
    assert_eq!(Tensor::full([3], 7i64).unwrap().as_slice::<i64>().unwrap(), &[7, 7, 7]);
    assert_eq!(Tensor::full([0, 5], true).unwrap().len(), 0);
    assert!(matches!(
        Tensor::zeros(DType::F64, [1 << 40, 1 << 40]),
        Err(IrError::ShapeOverflow { .. })
    ));
}

#[test]
fn typed_accessors_check_the_dtype() {
    let mut t = Tensor::from_vec([2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(t.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
    is_tensor_err(t.as_slice::<f64>(), "tensor holds f32 elements, not f64");
    is_tensor_err(t.to_vec::<bool>(), "not bool");
    t.as_mut_slice::<f32>().unwrap()[3] = 40.0;
    is_tensor_err(t.as_mut_slice::<i32>(), "not i32");
    assert_eq!(t.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 40.0]);
    is_tensor_err(t.clone().into_vec::<i64>(), "not i64");
    assert_eq!(t.into_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 40.0]);
}

#[test]
fn get_and_item() {
    let t = Tensor::from_vec([2, 3, 4], (0..24i64).collect()).unwrap();
    assert_eq!(t.get::<i64>(&[0, 0, 0]).unwrap(), 0);
    assert_eq!(t.get::<i64>(&[1, 2, 3]).unwrap(), 23);
    assert_eq!(t.get::<i64>(&[1, 0, 2]).unwrap(), 14);
    is_tensor_err(t.get::<i64>(&[2, 0, 0]), "out of bounds");
    is_tensor_err(t.get::<i64>(&[0, 0]), "out of bounds");
    is_tensor_err(t.get::<i64>(&[0, 0, 0, 0]), "out of bounds");
    is_tensor_err(t.get::<i32>(&[0, 0, 0]), "not i32");
    assert!(Tensor::scalar(true).get::<bool>(&[]).unwrap());

    assert_eq!(Tensor::from_vec([1, 1], vec![9i32]).unwrap().item::<i32>().unwrap(), 9);
    is_tensor_err(t.item::<i64>(), "exactly one element");
    is_tensor_err(Tensor::zeros(DType::F32, [0]).unwrap().item::<f32>(), "exactly one element");
    is_tensor_err(Tensor::scalar(1.0f32).item::<f64>(), "not f64");
}

#[test]
fn to_f64_vec_widens_every_dtype() {
    let b = Tensor::from_vec([3], vec![true, false, true]).unwrap();
    assert_eq!(b.to_f64_vec(), vec![1.0, 0.0, 1.0]);
    let i = Tensor::from_vec([2], vec![i32::MIN, 5]).unwrap();
    assert_eq!(i.to_f64_vec(), vec![-2147483648.0, 5.0]);
    let f = Tensor::from_vec([2], vec![0.1f32, -2.0]).unwrap();
    assert_eq!(f.to_f64_vec(), vec![f64::from(0.1f32), -2.0]);
}

#[test]
fn reshape_keeps_row_major_order() {
    let t = Tensor::from_vec([2, 3], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
    let r = t.reshape([3, 1, 2]).unwrap();
    assert_eq!(r.dims(), &[3, 1, 2]);
    assert_eq!(r.get::<i32>(&[2, 0, 0]).unwrap(), 5);
    assert_eq!(t.reshape([6]).unwrap().into_reshape([2, 3]).unwrap(), t);
    is_tensor_err(t.reshape([4]), "cannot reshape i32[2,3] (6 elements) to [4] (4 elements)");
    assert_eq!(Tensor::scalar(1i64).reshape([1, 1]).unwrap().dims(), &[1, 1]);
}

#[test]
fn cast_follows_the_convert_rules() {
    let f = Tensor::from_vec(
        [8],
        vec![1.9f32, -1.9, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3e9, -0.0, 0.5],
    )
    .unwrap();
    // float -> int: truncate toward zero, saturate, NaN -> 0.
    assert_eq!(
        f.cast(DType::I32).as_slice::<i32>().unwrap(),
        &[1, -1, 0, i32::MAX, i32::MIN, i32::MAX, 0, 0]
    );
    assert_eq!(
        f.cast(DType::I64).as_slice::<i64>().unwrap(),
        &[1, -1, 0, i64::MAX, i64::MIN, 3_000_000_000, 0, 0]
    );
    // -> bool is x != 0 (NaN is true, -0.0 is false).
    assert_eq!(
        f.cast(DType::Bool).as_slice::<bool>().unwrap(),
        &[true, true, true, true, true, true, false, true]
    );
    // int -> int wraps.
    let i = Tensor::from_vec([3], vec![(1i64 << 32) + 5, 1 << 31, -1]).unwrap();
    assert_eq!(i.cast(DType::I32).as_slice::<i32>().unwrap(), &[5, i32::MIN, -1]);
    // bool -> 0/1.
    let b = Tensor::from_vec([2], vec![true, false]).unwrap();
    assert_eq!(b.cast(DType::F32).as_slice::<f32>().unwrap(), &[1.0, 0.0]);
    assert_eq!(b.cast(DType::I64).as_slice::<i64>().unwrap(), &[1, 0]);
    assert_eq!(b.cast(DType::Bool), b);
    // Rounding to nearest, directly (no double rounding through f64).
    let big = (1i64 << 53) + (1 << 29) + 1;
    let i = Tensor::from_vec([1], vec![big]).unwrap();
    assert_eq!(i.cast(DType::F32).as_slice::<f32>().unwrap(), &[big as f32]);
    let d = Tensor::from_vec([2], vec![0.1f64, 1e300]).unwrap();
    assert_eq!(d.cast(DType::F32).as_slice::<f32>().unwrap(), &[0.1f32, f32::INFINITY]);
    // Same dtype is a copy, bits included.
    let nan = Tensor::from_vec([1], vec![f64::from_bits(0x7ff8_0000_dead_beef)]).unwrap();
    assert_eq!(nan.cast(DType::F64), nan);
}

#[test]
fn allclose_is_numpys() {
    let a = Tensor::from_vec([4], vec![1.0f64, 2.0, f64::INFINITY, 0.0]).unwrap();
    let b = Tensor::from_vec([4], vec![1.0 + 1e-9, 2.0, f64::INFINITY, 1e-9]).unwrap();
    assert!(a.allclose(&b, 1e-8, 1e-8));
    assert!(!a.allclose(&b, 0.0, 0.0));
    let c = Tensor::from_vec([4], vec![1.0f64, 2.0, f64::NEG_INFINITY, 0.0]).unwrap();
    assert!(!a.allclose(&c, 1.0, 1.0));
    // NaN only with allclose_nan.
    let n = Tensor::from_vec([2], vec![f32::NAN, 1.0]).unwrap();
    assert!(!n.allclose(&n, 0.0, 0.0));
    assert!(n.allclose_nan(&n, 0.0, 0.0));
    let m = Tensor::from_vec([2], vec![0.0f32, 1.0]).unwrap();
    assert!(!n.allclose_nan(&m, 1.0, 1.0));
    // Shapes must match; dtypes may differ.
    assert!(!a.allclose(&a.reshape([2, 2]).unwrap(), 1.0, 1.0));
    let i = Tensor::from_vec([2], vec![1i32, 2]).unwrap();
    let f = Tensor::from_vec([2], vec![1.0f32, 2.0]).unwrap();
    assert!(i.allclose(&f, 0.0, 0.0));
    // rtol scales with |other|, as in numpy.
    let x = Tensor::from_vec([1], vec![100.0f64]).unwrap();
    let y = Tensor::from_vec([1], vec![101.0f64]).unwrap();
    assert!(x.allclose(&y, 0.01, 0.0));
    assert!(!x.allclose(&y, 0.0099, 0.0));
}

#[test]
fn max_abs_diff() {
    let a = Tensor::from_vec([3], vec![1.0f64, -2.0, f64::NAN]).unwrap();
    let b = Tensor::from_vec([3], vec![1.5f64, 1.0, f64::NAN]).unwrap();
    assert_eq!(a.max_abs_diff(&b).unwrap(), 3.0);
    let c = Tensor::from_vec([3], vec![1.0f64, -2.0, 0.0]).unwrap();
    assert!(a.max_abs_diff(&c).unwrap().is_nan());
    let inf = Tensor::from_vec([1], vec![f32::INFINITY]).unwrap();
    assert_eq!(inf.max_abs_diff(&inf).unwrap(), 0.0);
    let one = Tensor::from_vec([1], vec![1.0f32]).unwrap();
    assert_eq!(inf.max_abs_diff(&one).unwrap(), f64::INFINITY);
    assert_eq!(
        Tensor::zeros(DType::F32, [0])
            .unwrap()
            .max_abs_diff(&Tensor::zeros(DType::I32, [0]).unwrap())
            .unwrap(),
        0.0
    );
    is_tensor_err(a.max_abs_diff(&one), "equal shapes");
}

#[test]
fn equality_is_bitwise() {
    let nan = Tensor::scalar(f32::NAN);
    assert_eq!(nan, nan.clone());
    assert_ne!(Tensor::scalar(0.0f64), Tensor::scalar(-0.0f64));
    assert_ne!(Tensor::scalar(1i32), Tensor::scalar(1i64));
    assert_ne!(
        Tensor::from_vec([2], vec![1i32, 2]).unwrap(),
        Tensor::from_vec([1, 2], vec![1i32, 2]).unwrap()
    );
}

#[test]
fn data_cast_is_exposed() {
    let d = Data::I32(vec![0, 3]);
    assert!(matches!(d.cast(DType::Bool), Data::Bool(v) if v == [false, true]));
}

#[test]
fn display_small_tensors() {
    let t = Tensor::from_vec([2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    assert_eq!(t.to_string(), "f32[2,3] [[1, 2, 3], [4, 5, 6]]");
    assert_eq!(format!("{t:.2}"), "f32[2,3] [[1.00, 2.00, 3.00], [4.00, 5.00, 6.00]]");
    assert_eq!(Tensor::scalar(3.5f64).to_string(), "f64[] 3.5");
    assert_eq!(Tensor::scalar(-7i64).to_string(), "i64[] -7");
    let b = Tensor::from_vec([2], vec![true, false]).unwrap();
    assert_eq!(b.to_string(), "bool[2] [true, false]");
    assert_eq!(Tensor::zeros(DType::F32, [0]).unwrap().to_string(), "f32[0] []");
    assert_eq!(Tensor::zeros(DType::I32, [2, 0]).unwrap().to_string(), "i32[2,0] [[], []]");
    let odd = Tensor::from_vec(
        [6],
        vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e-7, 2.5e20, -0.125],
    )
    .unwrap();
    assert_eq!(odd.to_string(), "f64[6] [NaN, inf, -inf, 1e-7, 2.5e20, -0.125]");
    assert_eq!(format!("{odd:.1}"), "f64[6] [NaN, inf, -inf, 1.0e-7, 2.5e20, -0.1]");
    let f = Tensor::from_vec([2], vec![0.1f32, 1.0 / 3.0]).unwrap();
    assert_eq!(f.to_string(), "f32[2] [0.1, 0.33333334]");
}

#[test]
fn display_summarises_large_tensors() {
    let t = Tensor::from_vec([2000], (0..2000i32).collect()).unwrap();
    assert_eq!(t.to_string(), "i32[2000] [0, 1, 2, ..., 1997, 1998, 1999]");
    // Exactly at numpy's threshold nothing is elided.
    let t = Tensor::from_vec([1000], (0..1000i32).collect()).unwrap();
    assert!(!t.to_string().contains("..."));
    assert!(t.to_string().ends_with("998, 999]"));
    let t = Tensor::from_vec([40, 30], (0..1200i64).collect()).unwrap();
    let row = |r: i64| {
        let b = r * 30;
        format!("[{}, {}, {}, ..., {}, {}, {}]", b, b + 1, b + 2, b + 27, b + 28, b + 29)
    };
    let expect = format!(
        "i64[40,30] [{}, {}, {}, ..., {}, {}, {}]",
        row(0),
        row(1),
        row(2),
        row(37),
        row(38),
        row(39)
    );
    assert_eq!(t.to_string(), expect);
    // Short axes of a large tensor print in full.
    let t = Tensor::zeros(DType::Bool, [2, 600]).unwrap();
    let s = t.to_string();
    assert!(s.starts_with("bool[2,600] [[false, false, false, ..., false, false, false], [false"));
}
