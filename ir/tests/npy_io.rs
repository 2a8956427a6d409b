//! `.npy` / `.npz` reading (fixtures written by numpy, see
//! fixtures/npy/make_fixtures.py), writing, and round trips.

use std::path::PathBuf;

use gradlift_ir::{npy, DType, IrError, Tensor};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npy").join(name)
}

fn repo_data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data").join(name)
}

/// A fresh path under cargo's per-test scratch directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("npy_io");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn io_msg<T: std::fmt::Debug>(r: Result<T, IrError>) -> (String, String) {
    match r {
        Err(IrError::Io { path, msg }) => (path, msg),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn reads_every_supported_dtype_exactly() {
    let t = npy::read_npy(fixture("f4.npy")).unwrap();
    assert_eq!(t.dtype(), DType::F32);
    assert_eq!(t.dims(), &[2, 3]);
    let v = t.as_slice::<f32>().unwrap();
    assert_eq!(&v[..3], &[0.0, 1.5, -2.25]);
    assert!(v[3].is_nan());
    assert_eq!(&v[4..], &[f32::INFINITY, f32::NEG_INFINITY]);

    let t = npy::read_npy(fixture("f8.npy")).unwrap();
    assert_eq!((t.dtype(), t.dims()), (DType::F64, &[2usize, 3][..]));
    let v = t.as_slice::<f64>().unwrap();
    assert_eq!(&v[..3], &[0.0, 1.5, -2.25]);
    assert!(v[3].is_nan());
    assert_eq!(v[4], f64::INFINITY);
    assert_eq!(v[5].to_bits(), (-0.0f64).to_bits());

    let t = npy::read_npy(fixture("i4.npy")).unwrap();
    assert_eq!(t.dims(), &[2, 3]);
    assert_eq!(t.as_slice::<i32>().unwrap(), &[0, 1, -1, i32::MAX, i32::MIN, 42]);

    let t = npy::read_npy(fixture("i8.npy")).unwrap();
    assert_eq!(t.dims(), &[2, 3]);
    assert_eq!(t.as_slice::<i64>().unwrap(), &[0, 1, -1, i64::MAX, i64::MIN, 42]);

    let t = npy::read_npy(fixture("b1.npy")).unwrap();
    assert_eq!(t.dims(), &[2, 3]);
    assert_eq!(t.as_slice::<bool>().unwrap(), &[true, false, true, false, false, true]);
}

#[test]
fn big_endian_reads_like_little_endian() {
    for name in ["f4", "f8", "i4", "i8"] {
        let le = npy::read_npy(fixture(&format!("{name}.npy"))).unwrap();
        let be = npy::read_npy(fixture(&format!("{name}_be.npy"))).unwrap();
        assert_eq!(le, be, "{name}");
    }
}

#[test]
fn reads_0d_and_size_0_arrays() {
    let t = npy::read_npy(fixture("scalar_f8.npy")).unwrap();
    assert_eq!(t, Tensor::scalar(3.25f64));
    assert_eq!(npy::read_npy(fixture("scalar_i4.npy")).unwrap(), Tensor::scalar(-7i32));
    assert_eq!(npy::read_npy(fixture("scalar_b1.npy")).unwrap(), Tensor::scalar(true));

    let t = npy::read_npy(fixture("empty_f4.npy")).unwrap();
    assert_eq!((t.dtype(), t.dims()), (DType::F32, &[0usize][..]));
    let t = npy::read_npy(fixture("empty_i8_2x0x3.npy")).unwrap();
    assert_eq!((t.dtype(), t.dims()), (DType::I64, &[2usize, 0, 3][..]));
}

#[test]
fn fortran_order_is_converted_to_row_major() {
    let t = npy::read_npy(fixture("fortran_f8_2x3x4.npy")).unwrap();
    assert_eq!(t.dims(), &[2, 3, 4]);
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..4 {
                let want = (100 * i + 10 * j + k) as f64;
                assert_eq!(t.get::<f64>(&[i, j, k]).unwrap(), want, "[{i},{j},{k}]");
            }
        }
    }
    let t = npy::read_npy(fixture("fortran_i4_2x3.npy")).unwrap();
    assert_eq!(t, Tensor::from_vec([2, 3], vec![1i32, 2, 3, 4, 5, 6]).unwrap());
    let t = npy::read_npy(fixture("fortran_be_i8_3x2.npy")).unwrap();
    assert_eq!(t, Tensor::from_vec([3, 2], vec![1i64, 2, 3, 4, 5, 6]).unwrap());
}

#[test]
fn reads_format_versions_2_and_3() {
    let want = Tensor::from_vec([3], vec![1.0f32, 2.0, 3.0]).unwrap();
    assert_eq!(npy::read_npy(fixture("v2_f4.npy")).unwrap(), want);
    assert_eq!(npy::read_npy(fixture("v3_f4.npy")).unwrap(), want);
}

#[test]
fn unsupported_dtypes_are_clear_errors() {
    let cases = [
        ("unsupported_u1.npy", "'|u1' (uint8)"),
        ("unsupported_f2.npy", "'<f2' (float16)"),
        ("unsupported_i2.npy", "'<i2' (int16)"),
        ("unsupported_c8.npy", "'<c8' (complex64)"),
        ("unsupported_str.npy", "'<U2' (str)"),
        ("unsupported_object.npy", "'|O' (Python objects)"),
        ("unsupported_record.npy", "structured arrays are not supported"),
    ];
    for (name, needle) in cases {
        let (path, msg) = io_msg(npy::read_npy(fixture(name)));
        assert!(path.ends_with(name), "{path}");
        assert!(msg.contains(needle), "{name}: {msg}");
        let err = npy::read_npy(fixture(name)).unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains("gradlift reads f4, f8, i4, i8 and b1"),
            "{err}"
        );
    }
}

#[test]
fn missing_file_names_the_path() {
    let (path, msg) = io_msg(npy::read_npy(fixture("no_such_file.npy")));
    assert!(path.ends_with("no_such_file.npy"));
    assert!(msg.starts_with("cannot open"), "{msg}");
    let (path, _) = io_msg(npy::read_npz(fixture("no_such_file.npz")));
    assert!(path.ends_with("no_such_file.npz"));
}

fn expected_multi() -> Vec<(String, Tensor)> {
    vec![
        ("zeta".into(), Tensor::from_vec([2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap()),
        ("alpha".into(), Tensor::scalar(5i64)),
        ("mid".into(), Tensor::from_vec([2], vec![true, false]).unwrap()),
        ("empty".into(), Tensor::zeros(DType::F64, [0, 2]).unwrap()),
    ]
}

#[test]
fn reads_npz_in_archive_order() {
    assert_eq!(npy::read_npz(fixture("multi.npz")).unwrap(), expected_multi());
    assert_eq!(npy::read_npz(fixture("multi_compressed.npz")).unwrap(), expected_multi());
    let map = npy::read_npz_map(fixture("multi.npz")).unwrap();
    assert_eq!(map.keys().collect::<Vec<_>>(), ["alpha", "empty", "mid", "zeta"]);
    assert_eq!(map["alpha"], Tensor::scalar(5i64));
    let positional = npy::read_npz(fixture("positional.npz")).unwrap();
    assert_eq!(positional[0].0, "arr_0");
    assert_eq!(positional[0].1, Tensor::from_vec([3], vec![0i32, 1, 2]).unwrap());
    assert_eq!(positional[1].0, "arr_1");
    assert_eq!(positional[1].1, Tensor::ones(DType::F64, [2]).unwrap());
}

#[test]
fn npz_member_errors_name_the_member() {
    let (path, msg) = io_msg(npy::read_npz(fixture("unsupported_member.npz")));
    assert!(path.ends_with("unsupported_member.npz"));
    assert!(msg.contains("array 'bad'") && msg.contains("'<u2' (uint16)"), "{msg}");
    // A plain .npy is not an archive, and an archive is not an .npy.
    let (_, msg) = io_msg(npy::read_npz(fixture("f4.npy")));
    assert!(msg.contains("not a valid .npz"), "{msg}");
    let (_, msg) = io_msg(npy::read_npy(fixture("multi.npz")));
    assert!(msg.contains("bad magic"), "{msg}");
}

#[test]
fn reads_the_tutorial_data() {
    let softcut = npy::read_npz(repo_data("softcut.npz")).unwrap();
    let keys: Vec<&str> = softcut.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["m_s", "m_b", "seed"]);
    let m_s = &softcut[0].1;
    assert_eq!((m_s.dtype(), m_s.dims()), (DType::F32, &[500usize][..]));
    assert_eq!(&m_s.as_slice::<f32>().unwrap()[..3], &[1096.1677, 1117.9941, 1060.8992]);
    assert_eq!(m_s.get::<f32>(&[499]).unwrap(), 1100.6263);
    let m_b = &softcut[1].1;
    assert_eq!((m_b.dtype(), m_b.dims()), (DType::F32, &[10000usize][..]));
    assert_eq!(m_b.get::<f32>(&[2]).unwrap(), 1134.0);
    let sum: f64 = m_b.to_f64_vec().iter().sum();
    assert!((sum - 6995305.298126221).abs() < 1e-6, "{sum}");
    assert_eq!(softcut[2].1, Tensor::scalar(3i64));

    let drift = npy::read_npz_map(repo_data("drift_init.npz")).unwrap();
    let shapes: Vec<(&str, Vec<usize>)> =
        drift.iter().map(|(k, t)| (k.as_str(), t.dims().to_vec())).collect();
    assert_eq!(
        shapes,
        [
            ("b1", vec![100]),
            ("b2", vec![50]),
            ("b3", vec![2]),
            ("w1", vec![100, 1]),
            ("w2", vec![50, 100]),
            ("w3", vec![2, 50]),
        ]
    );
    assert!(drift.values().all(|t| t.dtype() == DType::F32));
    assert_eq!(drift["w1"].get::<f32>(&[0, 0]).unwrap(), -0.99147296);
    assert_eq!(drift["w2"].get::<f32>(&[0, 2]).unwrap(), 0.054284777);
    assert_eq!(drift["w2"].get::<f32>(&[49, 99]).unwrap(), 0.077_030_3);
    assert_eq!(drift["b3"].as_slice::<f32>().unwrap(), &[-0.0861263, -0.047926396]);
    let w2_sum: f64 = drift["w2"].to_f64_vec().iter().sum();
    assert!((w2_sum - -2.6967395164174377).abs() < 1e-9, "{w2_sum}");
}

/// Tensors of every dtype with awkward values: NaN payloads, infinities,
/// signed zeros, extreme integers, 0-d, size-0 and rank 3.
fn awkward_tensors() -> Vec<(&'static str, Tensor)> {
    let f32s = vec![
        0.0f32,
        -0.0,
        f32::NAN,
        f32::from_bits(0xffc0_1234),
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE / 4.0,
        f32::MAX,
    ];
    let f64s = vec![
        0.0f64,
        -0.0,
        f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::INFINITY,
        f64::NEG_INFINITY,
        5e-324,
        f64::MIN,
    ];
    vec![
        ("f32", Tensor::from_vec([2, 4], f32s).unwrap()),
        ("f64", Tensor::from_vec([2, 2, 2], f64s).unwrap()),
        ("i32", Tensor::from_vec([4], vec![i32::MIN, -1, 0, i32::MAX]).unwrap()),
        ("i64", Tensor::from_vec([2, 2], vec![i64::MIN, -1, 0, i64::MAX]).unwrap()),
        ("bool", Tensor::from_vec([3], vec![true, false, true]).unwrap()),
        ("scalar_f32", Tensor::scalar(-1.5f32)),
        ("scalar_bool", Tensor::scalar(false)),
        ("empty_i32", Tensor::zeros(DType::I32, [0]).unwrap()),
        ("empty_f64", Tensor::zeros(DType::F64, [3, 0, 2]).unwrap()),
        ("big_i64", Tensor::from_vec([1000], (0..1000i64).map(|i| i * i * i).collect()).unwrap()),
    ]
}

#[test]
fn npy_round_trips_every_dtype_bit_for_bit() {
    for (name, t) in awkward_tensors() {
        let bytes = npy::write_npy_bytes(&t).unwrap();
        assert_eq!(npy::read_npy_bytes(&bytes).unwrap(), t, "{name} via bytes");
        let path = scratch(&format!("{name}.npy"));
        npy::write_npy(&path, &t).unwrap();
        assert_eq!(npy::read_npy(&path).unwrap(), t, "{name} via file");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name}: file and bytes agree");
    }
}

#[test]
fn npz_round_trips() {
    let tensors = awkward_tensors();
    let arrays: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, t)| (*k, t)).collect();
    let path = scratch("awkward.npz");
    npy::write_npz(&path, &arrays).unwrap();
    let back = npy::read_npz(&path).unwrap();
    assert_eq!(back.len(), tensors.len());
    for ((k, t), (k2, t2)) in tensors.iter().zip(&back) {
        assert_eq!((*k, t), (k2.as_str(), t2));
    }
    let bytes = npy::write_npz_bytes(&arrays).unwrap();
    assert_eq!(npy::read_npz_bytes(&bytes).unwrap(), back);
    // An empty archive is valid.
    assert!(npy::read_npz_bytes(&npy::write_npz_bytes(&[]).unwrap()).unwrap().is_empty());
}

#[test]
fn npz_write_rejects_bad_keys() {
    let t = Tensor::scalar(1.0f32);
    let (_, msg) = io_msg(npy::write_npz_bytes(&[("a", &t), ("b", &t), ("a", &t)]));
    assert!(msg.contains("'a' is given twice"), "{msg}");
    let (_, msg) = io_msg(npy::write_npz_bytes(&[("", &t)]));
    assert!(msg.contains("empty name"), "{msg}");
}

#[test]
fn write_to_a_missing_directory_names_the_path() {
    let path = scratch("no/such/dir/x.npy");
    let (p, msg) = io_msg(npy::write_npy(&path, &Tensor::scalar(1i32)));
    assert!(p.ends_with("x.npy") && msg.starts_with("cannot write"), "{p}: {msg}");
    let (p, _) = io_msg(npy::write_npz(path.with_extension("npz"), &[]));
    assert!(p.ends_with("x.npz"));
}

/// The exact bytes numpy expects: magic, version 1.0, little-endian header
/// length, a Python dict literal padded with spaces to a 64-byte boundary
/// and ended by a newline, then the raw little-endian elements.
#[test]
fn written_header_is_byte_exact() {
    let t = Tensor::from_vec([2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let bytes = npy::write_npy_bytes(&t).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0);
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, ), }";
    assert_eq!(header.trim_end_matches([' ', '\n']), dict);
    assert!(header.ends_with('\n'));
    assert!(header[dict.len()..header.len() - 1].bytes().all(|b| b == b' '));
    let data: Vec<u8> =
        [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    assert_eq!(&bytes[10 + header_len..], &data[..]);

    let cases = [
        (Tensor::scalar(2i64), "{'descr': '<i8', 'fortran_order': False, 'shape': (), }"),
        (
            Tensor::zeros(DType::Bool, [0]).unwrap(),
            "{'descr': '|b1', 'fortran_order': False, 'shape': (0, ), }",
        ),
        (
            Tensor::zeros(DType::I32, [7]).unwrap(),
            "{'descr': '<i4', 'fortran_order': False, 'shape': (7, ), }",
        ),
        (
            Tensor::zeros(DType::F64, [1, 2, 3]).unwrap(),
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 3, ), }",
        ),
    ];
    for (t, dict) in cases {
        let bytes = npy::write_npy_bytes(&t).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert_eq!(header.trim_end_matches([' ', '\n']), dict);
        assert_eq!(bytes.len(), 10 + header_len + t.len() * t.dtype().size_bytes());
    }
}

/// Writes the awkward tensors for `fixtures/npy/check_written.py`, which
/// checks that numpy reads them back exactly. Run by hand:
///
/// ```text
/// GRADLIFT_NPY_OUT=/tmp/npyout cargo test -p gradlift-ir --test npy_io -- --ignored
/// python ir/tests/fixtures/npy/check_written.py /tmp/npyout
/// ```
#[test]
#[ignore = "writes files for the numpy cross-check script"]
fn write_files_for_numpy() {
    let dir = PathBuf::from(std::env::var("GRADLIFT_NPY_OUT").expect("set GRADLIFT_NPY_OUT"));
    std::fs::create_dir_all(&dir).unwrap();
    let tensors = awkward_tensors();
    for (name, t) in &tensors {
        npy::write_npy(dir.join(format!("{name}.npy")), t).unwrap();
    }
    let arrays: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, t)| (*k, t)).collect();
    npy::write_npz(dir.join("all.npz"), &arrays).unwrap();
}
