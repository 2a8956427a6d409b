//! `parse(print(g)) == g` and `print(parse(print(g))) == print(g)`: on
//! random graphs, on constants with every awkward value, and on IR.md's own
//! example.

use std::sync::Arc;

use gradlift_ir::random_graph::{random_function, random_module, GraphConfig, OpFamily};
use gradlift_ir::text::{
    parse_function, parse_module, print_function, print_function_with, print_module, PrintOptions,
};
use gradlift_ir::verify::{verify_function, verify_module};
use gradlift_ir::{DType, Data, Function, Op, Tensor, Type};
use proptest::prelude::*;

fn roundtrip(f: &Function) {
    let text = print_function(f);
    let g = parse_function(&text, "rt.gir").unwrap_or_else(|e| panic!("{e}\n--- text:\n{text}"));
    assert_eq!(&g, f, "parse(print(g)) != g for\n{text}");
    assert_eq!(print_function(&g), text);
    verify_function(&g).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn random_functions_roundtrip(seed in any::<u64>()) {
        roundtrip(&random_function(seed, &GraphConfig::default()));
    }

    #[test]
    fn random_modules_roundtrip(seed in any::<u64>(), n in 0usize..4) {
        let m = random_module(seed, n, &GraphConfig::default());
        let text = print_module(&m);
        let back = parse_module(&text, "m.gir").unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(print_module(&back), text);
        verify_module(&back).unwrap();
    }
}

#[test]
fn bigger_and_narrower_configs_roundtrip() {
    let configs = [
        GraphConfig { max_nodes: 200, min_nodes: 100, ..GraphConfig::default() },
        GraphConfig { max_rank: 6, max_dim: 3, zero_dim_prob: 0.3, ..GraphConfig::default() },
        GraphConfig { name_prob: 0.9, ..GraphConfig::default() },
        GraphConfig { max_params: 0, ..GraphConfig::default() },
        GraphConfig::elementwise(),
        GraphConfig {
            families: vec![OpFamily::DotGeneral, OpFamily::Gather, OpFamily::ScatterAdd],
            ..GraphConfig::default()
        },
    ];
    for cfg in &configs {
        for seed in 0..100 {
            roundtrip(&random_function(seed, cfg));
        }
    }
}

#[test]
fn printing_with_locations_reparses_and_records_them() {
    let f = random_function(11, &GraphConfig { min_nodes: 10, ..GraphConfig::default() });
    let text = print_function(&f);
    let parsed = parse_function(&text, "a.gir").unwrap();
    let with_locs = print_function_with(&parsed, &PrintOptions { locs: true });
    // Every instruction line carries its own position.
    for (i, line) in with_locs.lines().enumerate() {
        if line.starts_with("  %") {
            assert!(line.ends_with(&format!("  # a.gir:{}:3", i + 1)), "{line}");
        }
    }
    let again = parse_function(&with_locs, "b.gir").unwrap();
    assert_eq!(again, f);
    assert_eq!(print_function(&again), text);
}

fn constant_fn(t: Tensor) -> Function {
    let mut f = Function::new("c");
    let v = f.push(Op::Constant { value: Arc::new(t) }, &[], None).unwrap();
    f.set_results(vec![v]).unwrap();
    f
}

fn assert_constant_roundtrips(t: Tensor) -> String {
    let f = constant_fn(t.clone());
    let text = print_function(&f);
    let g = parse_function(&text, "c.gir").unwrap_or_else(|e| panic!("{e}"));
    match g.op(g.results()[0]) {
        Op::Constant { value } => assert_eq!(**value, t, "bits changed through\n{text}"),
        other => panic!("not a constant: {other:?}"),
    }
    assert_eq!(print_function(&g), text);
    text
}

#[test]
fn f32_constants_keep_their_bits() {
    let values = [
        0.0f32,
        -0.0,
        1.0,
        -1.0,
        0.1,
        1.0 / 3.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7fc0_0001),
        f32::from_bits(0x7f80_0001), // signalling
        f32::from_bits(0xffff_ffff),
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        f32::EPSILON,
        f32::from_bits(1),           // smallest denormal
        f32::from_bits(0x007f_ffff), // largest denormal
        f32::from_bits(0x8000_0001),
        16777216.0,
        16777217.0,
        1e-7,
        1e16,
        3.4028233e38,
    ];
    let t = Tensor::new([values.len()], Data::F32(values.to_vec())).unwrap();
    let text = assert_constant_roundtrips(t);
    assert!(text.contains("nan:0x7fc00001"), "{text}");
    assert!(text.contains("nan:0xffc00000"), "{text}");
    assert!(text.contains(",-0.0,"), "{text}");
    assert!(text.contains(",inf,-inf,nan,"), "{text}");
    // Every float bit pattern class, exhaustively sampled.
    let mut bits = 0u32;
    let mut sample = Vec::new();
    for _ in 0..100_000 {
        sample.push(f32::from_bits(bits));
        bits = bits.wrapping_add(0x0000_a7c3).wrapping_mul(0x9e37_79b9) ^ (bits >> 7);
    }
    assert_constant_roundtrips(Tensor::new([sample.len()], Data::F32(sample)).unwrap());
}

#[test]
fn f64_constants_keep_their_bits() {
    let values = [
        0.0f64,
        -0.0,
        0.1,
        1.0 / 3.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff8_0000_0000_0001),
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        9007199254740993.0,
        1e300,
        1e-300,
        f64::from(f32::MAX) * 2.0,
    ];
    let t = Tensor::new([values.len()], Data::F64(values.to_vec())).unwrap();
    let text = assert_constant_roundtrips(t);
    assert!(text.contains("nan:0x7ff8000000000001"), "{text}");
    assert!(text.contains("nan:0xfff8000000000000"), "{text}");
    let mut bits = 0u64;
    let mut sample = Vec::new();
    for _ in 0..100_000 {
        sample.push(f64::from_bits(bits));
        bits = bits.wrapping_add(0x0000_a7c3_1234_5555).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ (bits >> 11);
    }
    assert_constant_roundtrips(Tensor::new([sample.len()], Data::F64(sample)).unwrap());
}

#[test]
fn integer_and_bool_constants_roundtrip() {
    let t =
        Tensor::new([6], Data::I64(vec![i64::MIN, i64::MAX, 0, -1, 1, -(1 << 53) - 1])).unwrap();
    let text = assert_constant_roundtrips(t);
    assert!(text.contains("[-9223372036854775808,9223372036854775807,0,-1,1,"), "{text}");
    let t = Tensor::new([2, 2], Data::I32(vec![i32::MIN, i32::MAX, 0, -7])).unwrap();
    let text = assert_constant_roundtrips(t);
    assert!(text.contains("[[-2147483648,2147483647],[0,-7]]"), "{text}");
    assert_constant_roundtrips(Tensor::new([3], Data::Bool(vec![true, false, true])).unwrap());
    assert_constant_roundtrips(Tensor::new([], Data::Bool(vec![false])).unwrap());
    assert_constant_roundtrips(Tensor::new([], Data::I32(vec![i32::MIN])).unwrap());
}

#[test]
fn literal_shapes_print_as_nested_lists() {
    let cases: [(&[usize], &str); 7] = [
        (&[], "constant 0.0 : f32[]"),
        (&[0], "constant [] : f32[0]"),
        (&[2, 0], "constant [[],[]] : f32[2,0]"),
        (&[2, 0, 3], "constant [[],[]] : f32[2,0,3]"),
        (&[0, 3], "constant [] : f32[0,3]"),
        (&[1, 1, 1], "constant [[[0.0]]] : f32[1,1,1]"),
        (&[2, 1, 2], "constant [[[0.0,0.0]],[[0.0,0.0]]] : f32[2,1,2]"),
    ];
    for (dims, want) in cases {
        let t = Tensor::zeros_of(&Type::new(DType::F32, dims)).unwrap();
        let text = assert_constant_roundtrips(t);
        assert!(text.contains(want), "{text}");
    }
    let t = Tensor::new([2, 3], Data::F32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5])).unwrap();
    let text = assert_constant_roundtrips(t);
    assert!(text.contains("constant [[1.0,2.0,3.0],[4.0,5.0,6.5]] : f32[2,3]"), "{text}");
}

const IR_MD_EXAMPLE: &str = "\
# a comment runs to the end of the line
func @position(%t: f32[10,1], %a: f32[1,2], %x0: f32[1,2], %v0: f32[1,2]) -> f32[10,2] {
  %0 = broadcast_in_dim %v0, dims=[0,1] : f32[10,2]
  %1 = broadcast_in_dim %t, dims=[0,1] : f32[10,2]
  %2 = mul %0, %1 : f32[10,2]
  %3 = broadcast_in_dim %x0, dims=[0,1] : f32[10,2]
  %4 = add %3, %2 : f32[10,2]
  %half = constant 0.5 : f32[]
  %5 = broadcast_in_dim %half, dims=[] : f32[10,2]
  %6 = broadcast_in_dim %a, dims=[0,1] : f32[10,2]
  %7 = mul %5, %6 : f32[10,2]
  %8 = mul %1, %1 : f32[10,2]
  %9 = mul %7, %8 : f32[10,2]
  %10 = add %4, %9 : f32[10,2]
  return %10
}
";

#[test]
fn ir_md_example_reprints_identically() {
    let m = parse_module(IR_MD_EXAMPLE, "position.gir").unwrap();
    verify_module(&m).unwrap();
    let body = IR_MD_EXAMPLE.split_once('\n').unwrap().1;
    assert_eq!(print_module(&m), body);
    assert_eq!(m.to_string(), body);
    assert_eq!(m.funcs()[0].to_string(), body);
    let f = &m.funcs()[0];
    assert_eq!(f.num_params(), 4);
    assert_eq!(f.value_name(f.param(1)), Some("a"));
}

#[test]
fn numbering_is_canonical_and_extensions_parse() {
    let src = "
        func @g(%7: f32[3], %b: f32[]) -> (f32[3], f32[2,2]) {
          %42 = neg %7 : f32[3]   # numbers as written are renumbered
          %s = constant 1 : f32[2,2]
          %3 = slice %42, start=[0], limit=[3] : f32[3]
          %p = pad %3, %b, low=[-1], high=[1] : f32[3]
          return %p,
                 %s
        }";
    let f = parse_function(src, "g.gir").unwrap();
    let want = "\
func @g(%0: f32[3], %b: f32[]) -> (f32[3], f32[2,2]) {
  %1 = neg %0 : f32[3]
  %s = constant [[1.0,1.0],[1.0,1.0]] : f32[2,2]
  %2 = slice %1, start=[0], limit=[3], stride=[1] : f32[3]
  %p = pad %2, %b, low=[-1], high=[1] : f32[3]
  return %p, %s
}
";
    assert_eq!(print_function(&f), want);
    assert_eq!(parse_function(want, "g.gir").unwrap(), f);
}

#[test]
fn every_op_prints_in_irmd_syntax() {
    let src = "\
func @ops(%x: f32[2,3], %i: i32[4], %p: bool[2,3], %s: f32[]) -> f32[2,3] {
  %0 = iota axis=1 : i64[2,3]
  %1 = exp %x : f32[2,3]
  %2 = add %x, %1 : f32[2,3]
  %3 = lt %x, %1 : bool[2,3]
  %4 = select %p, %x, %2 : f32[2,3]
  %5 = convert %0, to=f64 : f64[2,3]
  %6 = broadcast_in_dim %s, dims=[] : f32[2,3]
  %7 = reshape %x : f32[3,2]
  %8 = transpose %7, perm=[1,0] : f32[2,3]
  %9 = slice %x, start=[0,1], limit=[2,3], stride=[1,2] : f32[2,1]
  %10 = concatenate %x, %9, %x, axis=1 : f32[2,7]
  %11 = pad %x, %s, low=[-1,0], high=[1,2] : f32[2,5]
  %12 = pad %x, %s, low=[0,0], high=[0,0], interior=[1,0] : f32[3,3]
  %13 = reverse %x, axes=[1,0] : f32[2,3]
  %14 = reduce_max %x, axes=[] : f32[2,3]
  %15 = reduce_prod %x, axes=[1,0] : f32[]
  %16 = argmax %x, axis=1 : i64[2]
  %17 = dot_general %x, %x, lhs_batch=[0], rhs_batch=[0], lhs_contract=[1], rhs_contract=[1] : f32[2]
  %18 = gather %x, %i, axis=1 : f32[2,4]
  %19 = scatter_add %x, %i, %18, axis=1 : f32[2,3]
  %20 = stop_gradient %19 : f32[2,3]
  %21 = not %p : bool[2,3]
  %22 = and %21, %3 : bool[2,3]
  return %20
}
";
    let f = parse_function(src, "ops.gir").unwrap();
    assert_eq!(print_function(&f), src);
}

/// The parser reads canonical literals and types straight from the bytes;
/// the same text with spaces and newlines inside the brackets goes through
/// the token path. Both must give the same graph.
#[test]
fn spaced_out_text_parses_the_same() {
    for seed in 0..300 {
        let f = random_function(seed, &GraphConfig::default());
        let text = print_function(&f);
        let spaced = text.replace('[', "[ ").replace(',', " ,\n  ").replace(']', " ]");
        let g = parse_function(&spaced, "s.gir").unwrap_or_else(|e| panic!("{e}\n{spaced}"));
        assert_eq!(g, f, "seed {seed}");
    }
}

#[test]
fn location_comments_survive_odd_file_names() {
    let src = "func @f(%x: f32[]) -> f32[] {\n  %y = neg %x : f32[]\n  return %y\n}\n";
    let f = parse_function(src, "dir/we\nird\t.gir").unwrap();
    let text = print_function_with(&f, &PrintOptions { locs: true });
    assert!(text.contains("  %y = neg %x : f32[]  # dir/we?ird?.gir:2:3\n"), "{text}");
    assert_eq!(parse_function(&text, "x.gir").unwrap(), f);
}
