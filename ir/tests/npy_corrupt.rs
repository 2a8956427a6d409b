//! Corrupt, truncated and hostile `.npy` / `.npz` input: always an error,
//! never a panic, a hang or a huge allocation.

use std::path::PathBuf;

use gradlift_ir::{npy, IrError, Tensor};

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/npy").join(name);
    std::fs::read(path).unwrap()
}

/// An `.npy` (format 1.0) with a hand-written header and data.
fn npy_with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

fn npy_error(bytes: &[u8]) -> String {
    match npy::read_npy_bytes(bytes) {
        Err(IrError::Io { path, msg }) => {
            assert_eq!(path, "<in-memory .npy>");
            msg
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn every_truncation_of_an_npy_is_an_error() {
    for name in ["f8.npy", "b1.npy", "v2_f4.npy", "scalar_i4.npy", "fortran_f8_2x3x4.npy"] {
        let bytes = fixture_bytes(name);
        assert!(npy::read_npy_bytes(&bytes).is_ok());
        for len in 0..bytes.len() {
            assert!(npy::read_npy_bytes(&bytes[..len]).is_err(), "{name} cut at {len} bytes");
        }
    }
    let msg = npy_error(&fixture_bytes("f8.npy")[..150]);
    assert!(msg.contains("truncated data") && msg.contains("f64[2,3] (48 bytes)"), "{msg}");
    assert_eq!(npy_error(&[]), "not an .npy file: too short for the magic string");
    assert_eq!(npy_error(&fixture_bytes("f8.npy")[..9]), "truncated header");
    assert_eq!(npy_error(&fixture_bytes("f8.npy")[..40]), "truncated header");
}

#[test]
fn every_truncation_of_an_npz_is_an_error() {
    for name in ["multi.npz", "multi_compressed.npz"] {
        let bytes = fixture_bytes(name);
        assert!(npy::read_npz_bytes(&bytes).is_ok());
        for len in 0..bytes.len() {
            assert!(npy::read_npz_bytes(&bytes[..len]).is_err(), "{name} cut at {len} bytes");
        }
    }
}

#[test]
fn bad_preambles() {
    let good = fixture_bytes("f4.npy");
    let mut bad = good.clone();
    bad[1] = b'X';
    assert!(npy_error(&bad).contains("bad magic"));
    let mut bad = good.clone();
    bad[6] = 9;
    assert!(npy_error(&bad).contains("unsupported .npy format version 9.0"));
    // A version-2 header length of nearly 4 GiB is refused before reading.
    let mut bad = b"\x93NUMPY\x02\x00".to_vec();
    bad.extend(0xffff_fff0u32.to_le_bytes());
    assert!(npy_error(&bad).contains("implausibly long"));
}

#[test]
fn bad_headers() {
    let data = [0u8; 64];
    let cases = [
        ("not a dict", "bad header"),
        // Python 2 era long integers (numpy rewrites these; we refuse them).
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1L,)}", "shape entry '1L'"),
        ("{'descr': '<f4', 'fortran_order': False}", "bad header"),
        ("{'descr': '<f4', 'shape': (2,)}", "bad header"),
        ("{'descr': '<f4', 'fortran_order': 'no', 'shape': (2,)}", "bad header"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': 2}", "'shape' is not a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", "unterminated 'shape'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "shape entry '-2'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (0x10,)}", "shape entry '0x10'"),
        ("{'descr': 7, 'fortran_order': False, 'shape': (2,)}", "bad header"),
        ("{'descr': '<q9', 'fortran_order': False, 'shape': (2,)}", "bad header"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (3,)}", "truncated"),
        ("{'descr': '<f4', 'fortran_order': False, 'shap': (1,)}", "no 'shape' key"),
        ("{'descr': '<f4', 'fortran_order': False, 'sh\\x61pe': (1,)}", "escape sequences"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1_0,)}", "shape entry '1_0'"),
    ];
    for (header, needle) in cases {
        let msg = npy_error(&npy_with_header(header, &data[..4]));
        assert!(msg.contains(needle), "{header}: {msg}");
    }
    // Not UTF-8.
    let msg = npy_error(&npy_with_header("{'descr': '<f4'\u{0}", &[]));
    assert!(msg.contains("bad header"), "{msg}");
    let mut bytes =
        npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", &data[..4]);
    bytes[12] = 0xff;
    assert!(npy::read_npy_bytes(&bytes).is_err());
}

#[test]
fn hostile_shapes_are_refused_without_allocating() {
    let cases = [
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615,)}",
        // Zero elements, but the other dimensions' product still overflows.
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296)}",
        "{'descr': '<f8', 'fortran_order': True, 'shape': (4294967296, 4294967296, 0)}",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551616,)}",
        // A repeated key: the dict keeps the last one, so every one is checked.
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'shape': (0, 4294967296, 4294967296)}",
    ];
    for header in cases {
        let msg = npy_error(&npy_with_header(header, &[]));
        assert!(
            msg.contains("too many elements") || msg.contains("shape entry"),
            "{header}: {msg}"
        );
    }
    // A plausible but unbacked shape reads only what is there.
    let msg = npy_error(&npy_with_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,)}",
        &[0u8; 16],
    ));
    assert!(msg.contains("truncated data") && msg.contains("only 16 bytes follow"), "{msg}");
}

#[test]
fn deeply_nested_headers_are_refused() {
    let deep = format!(
        "{{'descr': {}'<f4'{}, 'fortran_order': False, 'shape': (1,)}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
    bytes.extend((deep.len() as u32).to_le_bytes());
    bytes.extend(deep.as_bytes());
    assert!(npy_error(&bytes).contains("nested too deeply"));
}

#[test]
fn odd_but_valid_headers_read() {
    // No trailing comma, no spaces.
    let t = npy::read_npy_bytes(&npy_with_header(
        "{'descr':'<i4','fortran_order':False,'shape':(2,1)}\n",
        &[1, 0, 0, 0, 2, 0, 0, 0],
    ))
    .unwrap();
    assert_eq!(t, Tensor::from_vec([2, 1], vec![1i32, 2]).unwrap());
    // Keys in another order, with a record field that happens to be called
    // 'shape' elsewhere in the text does not confuse the shape check.
    let t = npy::read_npy_bytes(&npy_with_header(
        "{'shape': (1,), 'fortran_order': False, 'descr': '<f4'}",
        &1.5f32.to_le_bytes(),
    ))
    .unwrap();
    assert_eq!(t, Tensor::from_vec([1], vec![1.5f32]).unwrap());
    let msg = npy_error(&npy_with_header(
        "{'descr': [('shape', '<f4')], 'fortran_order': False, 'shape': (1,)}",
        &[0u8; 4],
    ));
    assert!(msg.contains("structured arrays are not supported"), "{msg}");
    // Trailing bytes after the data are ignored, as numpy does.
    let mut bytes = fixture_bytes("i4.npy");
    bytes.extend(b"trailing");
    assert_eq!(npy::read_npy_bytes(&bytes).unwrap().dims(), &[2, 3]);
    // Bool bytes other than 0/1 read as true.
    let t = npy::read_npy_bytes(&npy_with_header(
        "{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}",
        &[0, 1, 7],
    ))
    .unwrap();
    assert_eq!(t.as_slice::<bool>().unwrap(), &[false, true, true]);
}

/// A small deterministic generator, so the fuzz cases are the same on
/// every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn random_corruption_never_panics() {
    let mut rng = SplitMix(2024);
    for name in ["f4.npy", "fortran_f8_2x3x4.npy", "v3_f4.npy", "scalar_b1.npy"] {
        let good = fixture_bytes(name);
        for _ in 0..1500 {
            let mut bytes = good.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() % bytes.len() as u64) as usize;
                bytes[at] = rng.next() as u8;
            }
            let _ = npy::read_npy_bytes(&bytes);
        }
    }
    for name in ["multi.npz", "multi_compressed.npz"] {
        let good = fixture_bytes(name);
        for _ in 0..1500 {
            let mut bytes = good.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() % bytes.len() as u64) as usize;
                bytes[at] = rng.next() as u8;
            }
            let _ = npy::read_npz_bytes(&bytes);
        }
    }
}
