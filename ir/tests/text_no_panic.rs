//! No input makes the parser panic, hang or overflow the stack: random
//! strings, random mutations of valid text, absurd nesting, shapes and
//! integers. Inputs that once misbehaved stay in `REGRESSIONS`.

use std::time::{Duration, Instant};

use gradlift_ir::random_graph::{random_function, random_module, GraphConfig};
use gradlift_ir::text::{parse_module, print_module};
use gradlift_ir::verify::verify_module;
use proptest::prelude::*;

/// Parses `src`; when it parses, the module must verify and round-trip.
fn parse_total(src: &str) {
    if let Ok(m) = parse_module(src, "fuzz.gir") {
        verify_module(&m).unwrap_or_else(|e| panic!("parsed but does not verify: {e}\n{src}"));
        let text = print_module(&m);
        let back = parse_module(&text, "fuzz.gir")
            .unwrap_or_else(|e| panic!("reprint does not parse: {e}\n{text}"));
        assert_eq!(back, m);
    }
}

const VOCAB: &[&str] = &[
    "func",
    "@f",
    "@g",
    "(",
    ")",
    "->",
    "{",
    "}",
    "%x",
    "%0",
    "%1",
    "%y",
    ":",
    ",",
    "=",
    "[",
    "]",
    "f32",
    "f64",
    "i32",
    "i64",
    "bool",
    "[]",
    "[2]",
    "[2,3]",
    "return",
    "add",
    "neg",
    "constant",
    "iota",
    "axis",
    "=0",
    "=1",
    "dims",
    "=[0]",
    "reduce_sum",
    "axes",
    "slice",
    "start",
    "limit",
    "pad",
    "low",
    "high",
    "interior",
    "=[-1]",
    "concatenate",
    "dot_general",
    "gather",
    "scatter_add",
    "select",
    "convert",
    "to",
    "true",
    "nan",
    "nan:0x7fc00001",
    "-inf",
    "1.5",
    "-0.0",
    "1e39",
    "99999999999999999999",
    "#",
    "\n",
    " ",
    "\t",
    "é",
    "%",
    "@",
    "-",
    "0x",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..80).prop_map(|v| v.join(" "))
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop_oneof![
        prop::sample::select(VOCAB).prop_map(str::to_string),
        "[ -~]{1,3}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop_oneof![
        (any::<usize>(), 1usize..8).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), piece.clone()).prop_map(|(at, s)| Edit::Insert(at, s)),
        (any::<usize>(), piece).prop_map(|(at, s)| Edit::Replace(at, s)),
    ]
}

/// Applies edits at character boundaries (the input stays valid UTF-8).
fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let n = chars.len();
        match e {
            Edit::Delete(at, len) if n > 0 => {
                let at = at % n;
                chars.drain(at..(at + len).min(n));
            }
            Edit::Insert(at, s) => {
                let at = at % (n + 1);
                chars.splice(at..at, s.chars());
            }
            Edit::Replace(at, s) if n > 0 => {
                let at = at % n;
                chars.splice(at..at + 1, s.chars());
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_never_panic(s in "\\PC{0,200}") {
        parse_total(&s);
    }

    #[test]
    fn token_soup_never_panics(s in token_soup()) {
        parse_total(&s);
    }

    #[test]
    fn mutated_graphs_never_panic(seed in any::<u64>(), edits in prop::collection::vec(edit(), 1..6)) {
        let text = print_module(&random_module(seed, 2, &GraphConfig::default()));
        parse_total(&apply(&text, &edits));
    }
}

/// Runs `f` on a thread with a small stack (so recursion would overflow)
/// and checks it finishes in reasonable time.
fn on_small_stack(what: &str, f: impl FnOnce() + Send + 'static) {
    let start = Instant::now();
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(f)
        .expect("spawn")
        .join()
        .unwrap_or_else(|_| panic!("{what}: panicked"));
    // Generous: catches hangs and quadratic blow-ups, not slowness.
    assert!(start.elapsed() < Duration::from_secs(20), "{what}: took {:?}", start.elapsed());
}

fn expect_err(what: &str, src: String, msg_part: &'static str) {
    let what = what.to_string();
    on_small_stack(&what.clone(), move || {
        let e = parse_module(&src, "big.gir").expect_err(&what).to_string();
        assert!(e.contains(msg_part), "{what}: {}", e.lines().next().unwrap_or(""));
        assert!(e.len() < 2000, "{what}: error message of {} bytes", e.len());
    });
}

#[test]
fn million_deep_literal_is_rejected_early() {
    let deep = format!(
        "func @f() -> f32[] {{\n  %c = constant {}1.0{} : f32[]\n  return %c\n}}\n",
        "[".repeat(1_000_000),
        "]".repeat(1_000_000)
    );
    expect_err("deep literal", deep, "literal nested deeper than 64");
    let unclosed = format!("func @f() -> f32[] {{\n  %c = constant {}", "[".repeat(1_000_000));
    expect_err("unclosed literal", unclosed, "literal nested deeper than 64");
    let closers = format!("func @f() -> f32[] {{\n  %c = constant [1.0{}", "]".repeat(1_000_000));
    expect_err("closers", closers, "");
}

#[test]
fn absurd_shapes_and_integers_are_errors() {
    let cases: Vec<(String, &str)> = vec![
        ("func @f(%x: f32[99999999999,99999999999]) -> f32[] {}".into(), "too many elements"),
        ("func @f(%x: f32[18446744073709551616]) -> f32[] {}".into(), "out of range"),
        (format!("func @f(%x: f32[{}]) -> f32[] {{}}", "9".repeat(100_000)), "out of range"),
        (format!("func @f(%x: f32[{}]) -> f32[] {{}}", "1,".repeat(1_000_000)), "rank larger than 64"),
        (
            "func @f(%x: f32[0,9223372036854775807], %s: f32[]) -> f32[1,1] {\n  \
             %y = pad %x, %s, low=[0,0], high=[0,0], interior=[9223372036854775807,9223372036854775807] : f32[1,1]\n  \
             return %y\n}"
                .into(),
            "too large",
        ),
        (
            "func @f(%x: f32[3], %s: f32[]) -> f32[3] {\n  \
             %y = pad %x, %s, low=[9223372036854775807], high=[9223372036854775807], interior=[9223372036854775807] : f32[3]\n  \
             return %y\n}"
                .into(),
            "too large",
        ),
        (
            "func @f(%x: f32[3]) -> f32[3] {\n  %y = slice %x, start=[0], limit=[3], stride=[0] : f32[3]\n  return %y\n}"
                .into(),
            "stride[0] is 0",
        ),
        (
            "func @f() -> f32[] {\n  %c = constant 1.0 : f32[65536,65536,65536]\n  return %c\n}".into(),
            "at most 16777216 are allowed",
        ),
        (
            "func @f() -> i64[] {\n  %c = constant -9223372036854775809 : i64[]\n  return %c\n}".into(),
            "out of range for i64",
        ),
        (
            format!("func @f() -> f64[] {{\n  %c = constant 1{} : f64[]\n  return %c\n}}", "0".repeat(400)),
            "out of range for f64",
        ),
        (
            format!("func @f() -> f64[] {{\n  %c = constant 1e-{} : f64[]\n  return %q\n}}", "9".repeat(100)),
            "undefined value %q",
        ),
    ];
    for (i, (src, part)) in cases.into_iter().enumerate() {
        expect_err(&format!("absurd case {i}"), src, part);
    }
}

#[test]
fn truncated_and_empty_inputs() {
    assert!(parse_module("", "e.gir").unwrap().funcs().is_empty());
    let cases: Vec<(&str, &str)> = vec![
        ("@", "expected a function name"),
        ("%", "expected a value name"),
        ("func @", "expected a function name"),
        ("func @f(%", "expected a value name"),
        ("func @f(%x: f32[]) -> f32[] {", "end of input in the body of @f"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = neg %x : f32[]", "end of input in the body of @f"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = neg", "expected an operand"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = constant [", "expected an element or `]`"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = constant nan:0x", "expected `:`"),
        ("func @f(%x: f32[", "expected a dimension"),
        ("func @f(%x: f32[]) -> (f32[]", "expected `,` or `)`"),
        ("func", "expected a function name"),
        ("}", "expected `func`"),
        ("->", "expected `func`"),
        ("-", "unexpected character '-'"),
        ("\u{0}", "unexpected character '\\0'"),
    ];
    for (src, part) in cases {
        expect_err(&format!("{src:?}"), src.to_string(), part);
    }
}

#[test]
fn long_inputs_stay_linear() {
    // Many functions (a linear name check, not repeated Module::push).
    let mut many = String::new();
    for i in 0..100_000 {
        many.push_str(&format!("func @f{i}(%x: f32[]) -> f32[] {{ return %x }}\n"));
    }
    on_small_stack("many functions", move || {
        assert_eq!(parse_module(&many, "m.gir").unwrap().funcs().len(), 100_000);
    });
    // One concatenate with 200k operands, a 1 MB name, 1M commas of junk.
    let mut wide = String::from("func @f(%x: f32[1]) -> f32[200000] {\n  %y = concatenate ");
    wide.push_str(&"%x, ".repeat(200_000));
    wide.push_str("axis=0 : f32[200000]\n  return %y\n}\n");
    on_small_stack("wide concatenate", move || {
        parse_module(&wide, "w.gir").unwrap();
    });
    let name = "n".repeat(1 << 20);
    let long_name =
        format!("func @f(%{name}: f32[]) -> f32[] {{\n  %y = neg %{name} : f32[]\n  return %y\n}}");
    on_small_stack("long name", move || {
        parse_module(&long_name, "n.gir").unwrap();
    });
    let junk =
        format!("func @f() -> f32[] {{\n  %c = constant [{}] : f32[1]", ",".repeat(1_000_000));
    expect_err("commas", junk, "expected an element or `]`");
    let comment = format!("#{}\nfunc", "x".repeat(1 << 22));
    expect_err("long comment", comment, "expected a function name");
}

/// Inputs that once misbehaved (or nearly did); keep them here.
const REGRESSIONS: &[&str] = &[
    "func @f() -> f32[0] {\n  %c = constant [[]] : f32[0]\n  return %c\n}",
    "func @f() -> f32[1,0] {\n  %c = constant [[]] : f32[1,0]\n  return %c\n}",
    "func @f() -> f32[2,0,3] {\n  %c = constant [[],[]] : f32[2,0,3]\n  return %c\n}",
    "func @f() -> f32[2,0] {\n  %c = constant [[],[[]]] : f32[2,0]\n  return %c\n}",
    "func @f() -> f32[1] {\n  %c = constant [[[]]] : f32[1]\n  return %c\n}",
    "func @f() -> f32[] {\n  %c = constant -nan : f32[]\n  return %c\n}",
    "func @f() -> f32[] {\n  %c = constant -nan:0x7fc00000 : f32[]\n  return %c\n}",
    "func @f() -> f32[] {\n  %c = constant nan:0x : f32[]\n  return %c\n}",
    "func @f() -> f32[] {\n  %c = constant 1. : f32[]\n  return %c\n}",
    "func @f() -> f32[] {\n  %c = constant 1.e5 : f32[]\n  return %c\n}",
    "func @f() -> f32[] {\n  %c = constant -0 : f32[]\n  return %c\n}",
    "func @f(%x: f32[0]) -> i64[] {\n  %y = argmax %x, axis=0 : i64[]\n  return %y\n}",
    "func @f(%x: f32[0], %i: i32[2]) -> f32[2] {\n  %y = gather %x, %i, axis=0 : f32[2]\n  return %y\n}",
    "func @f() -> f32[] {\n  %0 = iota axis=0 : f32[]\n  return %0\n}",
    "func @f(%x: f32[2]) -> f32[2] {\n  %y = reshape %x : f32[2]\n  return %x, %x\n}",
];

#[test]
fn regressions() {
    for src in REGRESSIONS {
        parse_total(src);
    }
}

#[test]
fn generated_text_survives_every_single_deletion() {
    let f =
        random_function(5, &GraphConfig { min_nodes: 8, max_nodes: 8, ..GraphConfig::default() });
    let text = f.to_string();
    for i in 0..text.len() {
        if text.is_char_boundary(i) && text.is_char_boundary(i + 1) {
            let mut s = text.clone();
            s.remove(i);
            parse_total(&s);
        }
    }
}
