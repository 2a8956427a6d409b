//! Every kind of parse error, with its exact `FILE:LINE:COL: message` first
//! line; verifier and shape-rule errors on parsed input carry positions too.

use gradlift_ir::text::{parse_function, parse_module};
use gradlift_ir::verify::verify_function;
use gradlift_ir::IrError;

/// The first line of the error for `src` (which must not parse).
fn first_line(src: &str) -> String {
    match parse_module(src, "t.gir") {
        Ok(m) => panic!("parsed, but should not have:\n{src}\n{m}"),
        Err(e) => {
            assert!(matches!(e, IrError::Parse { .. }), "not a parse error: {e:?}");
            e.to_string().lines().next().unwrap_or("").to_string()
        }
    }
}

/// Wraps instructions in a function with some parameters.
fn body(lines: &str) -> String {
    format!(
        "func @f(%x: f32[2,3], %y: f32[3], %i: i32[4], %b: bool[2,3], %s: f32[]) -> f32[2,3] {{\n{lines}\n  return %x\n}}\n"
    )
}

fn check(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (src, want) in cases {
        let got = first_line(src);
        if got != *want {
            failures.push(format!("source:\n{src}\n  want: {want}\n  got:  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn lexical_errors() {
    check(&[
        (
            "func @f() -> f32[] {\n  %0 = constant 1.0 : f32[] $\n",
            "t.gir:2:29: unexpected character '$'",
        ),
        (
            "func @f(% x: f32[]) -> f32[] {}",
            "t.gir:1:9: expected a value name (letters, digits, _) after `%`",
        ),
        (
            "func @() -> f32[] {}",
            "t.gir:1:6: expected a function name (letters, digits, _) after `@`",
        ),
        ("func @f() -> f32[1e] {}", "t.gir:1:18: malformed number `1e`"),
        ("func @f() -> f32[12abc] {}", "t.gir:1:18: malformed number `12abc`"),
        (
            "func @f() -> f32[] {\n  %é = neg %x : f32[]\n}",
            "t.gir:2:3: expected a value name (letters, digits, _) after `%`",
        ),
        ("# only a comment\n\u{feff}", "t.gir:2:1: unexpected character '\\u{feff}'"),
    ]);
}

#[test]
fn structural_errors() {
    check(&[
        ("fn @f() -> f32[] {}", "t.gir:1:1: expected `func`, found `fn`"),
        ("func f() -> f32[] {}", "t.gir:1:6: expected a function name `@name` after `func`, found `f`"),
        ("func @f -> f32[] {}", "t.gir:1:9: expected `(` and the parameters, found `->`"),
        ("func @f(%x f32[]) -> f32[] {}", "t.gir:1:12: expected `:` and the parameter's type, found `f32`"),
        ("func @f(%x: f32[] %y: f32[]) -> f32[] {}", "t.gir:1:19: expected `,` or `)` after a parameter, found `%y`"),
        ("func @f() f32[] {}", "t.gir:1:11: expected `->` and the result types, found `f32`"),
        ("func @f() -> f32[] \n  return", "t.gir:2:3: expected `{` and the function body, found `return`"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = neg %x : f32[]\n", "t.gir:3:1: end of input in the body of @f (opened at 1:29): expected an instruction or `return`"),
        ("func @f(%x: f32[]) -> f32[] {\n  return %x\n", "t.gir:3:1: expected `}` after the return values, found end of input"),
        ("func @f(%x: f32[]) -> f32[] {\n  neg %x : f32[]\n}", "t.gir:2:3: expected an instruction `%name = ...` or `return`, found `neg`"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y neg %x : f32[]\n}", "t.gir:2:6: expected `=` after the value name, found `neg`"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = %x : f32[]\n}", "t.gir:2:8: expected an op name, found `%x`"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = neg %x f32[]\n}", "t.gir:2:15: expected `,` or `:` and the result type, found `f32`"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = neg %x :\n}", "t.gir:3:1: expected a type like f32[2,3], found `}`"),
        ("func @f(%x: f32[]) -> f32[] {\n  return %x\n} trailing", "t.gir:3:3: expected `func`, found `trailing`"),
        ("func @f(%x: f32[]) -> f32[] {\n  return %x %x\n}", "t.gir:2:13: expected `}` after the return values, found `%x`"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = neg %x, : f32[]\n}", "t.gir:2:16: expected an operand `%name` or an attribute `name=value`, found `:`"),
        ("func @f(%x: f32[]) -> f32[] {\n  %y = neg , : f32[]\n}", "t.gir:2:12: expected an operand `%name` or an attribute `name=value`, found `,`"),
    ]);
}

#[test]
fn name_errors() {
    check(&[
        (&body("  %z = add %x, %w : f32[2,3]"), "t.gir:2:16: undefined value %w"),
        (&body("  %x = neg %x : f32[2,3]"), "t.gir:2:3: %x is already defined (at 1:9)"),
        (&body("  %0 = neg %x : f32[2,3]\n  %0 = neg %x : f32[2,3]"), "t.gir:3:3: %0 is already defined (at 2:3)"),
        ("func @f(%x: f32[], %x: f32[]) -> f32[] {\n  return %x\n}", "t.gir:1:20: %x is already defined (at 1:9)"),
        (&body("  %z = neg %z : f32[2,3]"), "t.gir:2:12: undefined value %z"),
        (
            "func @f(%x: f32[]) -> f32[] {\n  return %x\n}\n\nfunc @f(%x: f32[]) -> f32[] {\n  return %x\n}",
            "t.gir:5:6: function @f is already defined (at 1:6)",
        ),
        ("func @f(%x: f32[]) -> f32[] {\n  return %y\n}", "t.gir:2:10: undefined value %y"),
    ]);
}

#[test]
fn op_and_attribute_errors() {
    check(&[
        (&body("  %z = frobnicate %x : f32[2,3]"), "t.gir:2:8: unknown op `frobnicate`"),
        (&body("  %z = parameter %x : f32[2,3]"), "t.gir:2:8: unknown op `parameter`"),
        (&body("  %z = neg %x, axis=1 : f32[2,3]"), "t.gir:2:16: unknown attribute `axis` for neg"),
        (&body("  %z = transpose %x, perm=[1,0], prem=[0,1] : f32[3,2]"), "t.gir:2:34: unknown attribute `prem` for transpose"),
        (&body("  %z = argmax %x, axis=1, axis=0 : i64[2]"), "t.gir:2:27: duplicate attribute `axis`"),
        (&body("  %z = slice %x, start=[0,0], stride=[1,1] : f32[2,3]"), "t.gir:2:8: slice: missing attribute `limit`"),
        (&body("  %z = iota : i64[3]"), "t.gir:2:8: iota: missing attribute `axis`"),
        (&body("  %z = argmax %x, axis=[1] : i64[2]"), "t.gir:2:19: attribute `axis` takes an integer"),
        (&body("  %z = argmax %x, axis=-1 : i64[2]"), "t.gir:2:19: attribute `axis` is negative (-1)"),
        (&body("  %z = reverse %x, axes=1 : f32[2,3]"), "t.gir:2:20: attribute `axes` takes a list like [0,1]"),
        (&body("  %z = reverse %x, axes=[0,-1] : f32[2,3]"), "t.gir:2:20: attribute `axes` has a negative entry (-1)"),
        (&body("  %z = convert %x, to=f16 : f32[2,3]"), "t.gir:2:20: unknown dtype `f16` (expected f32, f64, i32, i64 or bool)"),
        (&body("  %z = convert %x, to=[1] : f32[2,3]"), "t.gir:2:20: attribute `to` takes a dtype"),
        (&body("  %z = argmax %x, axis=1.5 : i64[2]"), "t.gir:2:24: expected an integer, found `1.5`"),
        (&body("  %z = argmax %x, axis=99999999999999999999 : i64[2]"), "t.gir:2:24: integer `99999999999999999999` is out of range"),
        (&body("  %z = argmax %x, axis= : i64[2]"), "t.gir:2:25: expected an attribute value (an integer, a list [..] or a dtype), found `:`"),
        (&body("  %z = argmax %x, axis : i64[2]"), "t.gir:2:24: expected `=` after the attribute name, found `:`"),
        (&body("  %z = reverse %x, axes=[0,1 : f32[2,3]"), "t.gir:2:30: expected `,` or `]`, found `:`"),
        (&body("  %z = reverse axes=[0], %x : f32[2,3]"), "t.gir:2:26: operands come before attributes"),
        (&body("  %z = add %x : f32[2,3]"), "t.gir:2:8: add takes 2 operand(s), got 1"),
        (&body("  %z = concatenate axis=0 : f32[2,3]"), "t.gir:2:8: concatenate takes at least 1 operand(s), got 0"),
        (&body("  %z = constant 1.0, 2.0 : f32[2]"), "t.gir:2:20: expected `:` and the result type, found `,`"),
    ]);
}

#[test]
fn type_errors() {
    check(&[
        (
            &body("  %z = neg %x : f16[2,3]"),
            "t.gir:2:17: unknown dtype `f16` (expected f32, f64, i32, i64 or bool)",
        ),
        (
            &body("  %z = neg %x : f32"),
            "t.gir:3:3: expected `[` and the dimensions after the dtype, found `return`",
        ),
        (&body("  %z = neg %x : f32[2,-3]"), "t.gir:2:23: dimension -3 is negative"),
        (
            &body("  %z = neg %x : f32[2.5]"),
            "t.gir:2:21: expected an integer dimension, found `2.5`",
        ),
        (&body("  %z = neg %x : f32[2,]"), "t.gir:2:23: expected a dimension, found `]`"),
        (
            "func @f(%x: f32[99999999999,99999999999]) -> f32[] {}",
            "t.gir:1:13: type f32[99999999999,99999999999] has too many elements to address",
        ),
        (
            "func @f(%x: f32[99999999999999999999]) -> f32[] {}",
            "t.gir:1:17: integer `99999999999999999999` is out of range",
        ),
        (&body("  %z = neg %x : f32[3]"), "t.gir:2:17: declared f32[3] but neg gives f32[2,3]"),
        (&body("  %z = neg %x : f64[2,3]"), "t.gir:2:17: declared f64[2,3] but neg gives f32[2,3]"),
        (
            &body("  %z = lt %x, %x : f32[2,3]"),
            "t.gir:2:20: declared f32[2,3] but lt gives bool[2,3]",
        ),
        (
            "func @f(%x: f32[2]) -> f32[3] {\n  return %x\n}",
            "t.gir:2:10: return value %x has type f32[2] but the signature declares f32[3]",
        ),
        (
            "func @f(%x: f32[2]) -> (f32[2], f32[2]) {\n  return %x\n}",
            "t.gir:2:3: return gives 1 value(s) but the signature declares 2",
        ),
        ("func @f() -> () {\n  return\n}", "t.gir:1:14: a function returns at least one value"),
        (
            "func @f(%x: f32[2]) -> f32[2] {\n  return\n}",
            "t.gir:2:3: return gives 0 value(s) but the signature declares 1",
        ),
    ]);
}

#[test]
fn shape_rule_errors() {
    check(&[
        (
            &body("  %z = add %x, %y : f32[2,3]"),
            "t.gir:2:8: add: operand shapes differ: [2,3] vs [3] (broadcasting is explicit: use broadcast_in_dim) (operands: f32[2,3], f32[3])",
        ),
        (&body("  %z = exp %i : i32[4]"), "t.gir:2:8: exp: expects a float dtype (f32, f64), got i32 (operands: i32[4])"),
        (&body("  %z = select %x, %x, %x : f32[2,3]"), "t.gir:2:8: select: predicate must be bool, got f32 (operands: f32[2,3], f32[2,3], f32[2,3])"),
        (&body("  %z = broadcast_in_dim %y, dims=[1] : f32[3,2]"), "t.gir:2:8: broadcast_in_dim: operand dim 0 has size 3, which cannot broadcast to result dim 1 of size 2 (operands: f32[3])"),
        (&body("  %z = reshape %x : f32[5]"), "t.gir:2:8: reshape: cannot reshape 6 elements into [5] (5 elements) (operands: f32[2,3])"),
        (&body("  %z = transpose %x, perm=[0,0] : f32[2,2]"), "t.gir:2:8: transpose: perm is not a permutation: axis 0 repeated (operands: f32[2,3])"),
        (&body("  %z = slice %x, start=[0,2], limit=[2,1] : f32[2,0]"), "t.gir:2:8: slice: dim 1: need 0 <= start (2) <= limit (1) <= size (3) (operands: f32[2,3])"),
        (&body("  %z = slice %x, start=[0], limit=[2] : f32[2]"), "t.gir:2:8: slice: start, limit and stride need 2 entries each (operands: f32[2,3])"),
        (&body("  %z = concatenate %x, %y, axis=0 : f32[3,3]"), "t.gir:2:8: concatenate: operand 1 has shape [3], which differs from operand 0's [2,3] off axis 0 (operands: f32[2,3], f32[3])"),
        (&body("  %z = pad %x, %s, low=[-3,0], high=[0,0] : f32[0,3]"), "t.gir:2:8: pad: dim 0: padded size -1 is negative (operands: f32[2,3], f32[])"),
        (&body("  %z = pad %x, %y, low=[0,0], high=[0,0] : f32[2,3]"), "t.gir:2:8: pad: padding value must be a f32[] scalar, got f32[3] (operands: f32[2,3], f32[3])"),
        (&body("  %z = reduce_sum %b, axes=[0] : bool[3]"), "t.gir:2:8: reduce_sum: expects a numeric dtype (f32, f64, i32, i64), got bool (operands: bool[2,3])"),
        (&body("  %z = reduce_sum %x, axes=[2] : f32[2,3]"), "t.gir:2:8: reduce_sum: axis 2 out of range for rank 2 (operands: f32[2,3])"),
        (&body("  %z = argmax %x, axis=2 : i64[2]"), "t.gir:2:8: argmax: axis 2 out of range for rank 2 (operands: f32[2,3])"),
        (&body("  %z = dot_general %x, %y, lhs_batch=[], rhs_batch=[], lhs_contract=[0], rhs_contract=[0] : f32[3]"), "t.gir:2:8: dot_general: contracting dims differ: lhs dim 0 is 2, rhs dim 0 is 3 (operands: f32[2,3], f32[3])"),
        (&body("  %z = gather %x, %x, axis=0 : f32[2,3]"), "t.gir:2:8: gather: indices must be i32 or i64, got f32 (operands: f32[2,3], f32[2,3])"),
        (&body("  %z = scatter_add %x, %i, %x, axis=1 : f32[2,3]"), "t.gir:2:8: scatter_add: updates must be f32[2,4] (x[:axis] ++ idx ++ x[axis+1:]), got f32[2,3] (operands: f32[2,3], i32[4], f32[2,3])"),
        (&body("  %z = iota axis=0 : bool[3]"), "t.gir:2:8: iota: iota needs a numeric dtype, got bool (operands: )"),
    ]);
}

#[test]
fn literal_errors() {
    check(&[
        (&body("  %c = constant [1.0, 2.0] : f32[3]"), "t.gir:2:17: the literal has shape [2] but the type is f32[3]"),
        (&body("  %c = constant [[1.0], [2.0, 3.0]] : f32[2,2]"), "t.gir:2:34: this list has 2 element(s) but an earlier list at the same depth has 1"),
        (&body("  %c = constant [[1.0], 2.0] : f32[2,1]"), "t.gir:2:25: an element where a list was expected (lists must nest evenly)"),
        (&body("  %c = constant [1.0, [2.0]] : f32[2,1]"), "t.gir:2:23: a list where an element was expected (lists must nest evenly)"),
        (&body("  %c = constant [1.0,] : f32[1]"), "t.gir:2:22: expected an element in the literal, found `]`"),
        (&body("  %c = constant [1.0 2.0] : f32[2]"), "t.gir:2:22: expected `,` or `]` in the literal, found `2.0`"),
        (&body("  %c = constant [,] : f32[0]"), "t.gir:2:18: expected an element or `]` in the literal, found `,`"),
        (&body("  %c = constant : f32[]"), "t.gir:2:17: expected a literal (a number, true, false, inf, nan or a list [..]), found `:`"),
        (&body("  %c = constant [1.0 : f32[1]"), "t.gir:2:22: expected `,` or `]` in the literal, found `:`"),
        (&body("  %c = constant true : f32[]"), "t.gir:2:17: expected a float (like 1.5, -2e-3, inf, nan) for f32, found `true`"),
        (&body("  %c = constant 1.5 : i32[]"), "t.gir:2:17: expected an integer for i32, found `1.5`"),
        (&body("  %c = constant 3000000000 : i32[]"), "t.gir:2:17: integer `3000000000` is out of range for i32"),
        (&body("  %c = constant 9223372036854775808 : i64[]"), "t.gir:2:17: integer `9223372036854775808` is out of range for i64"),
        (&body("  %c = constant 1 : bool[]"), "t.gir:2:17: expected true or false for bool, found `1`"),
        (&body("  %c = constant 1e39 : f32[]"), "t.gir:2:17: `1e39` is out of range for f32"),
        (&body("  %c = constant -1e309 : f64[]"), "t.gir:2:17: `-1e309` is out of range for f64"),
        (&body("  %c = constant nan:0x3f800000 : f32[]"), "t.gir:2:17: `nan:0x3f800000` is not a NaN bit pattern for f32"),
        (&body("  %c = constant nan:0x7ff8000000000000 : f32[]"), "t.gir:2:17: `nan:0x7ff8000000000000` needs 1 to 8 hex digits for f32"),
        (&body("  %c = constant nan:0xzz : f64[]"), "t.gir:2:17: `nan:0xzz` needs 1 to 16 hex digits for f64"),
        (&body("  %c = constant infinity : f64[]"), "t.gir:2:17: expected a float (like 1.5, -2e-3, inf, nan) for f64, found `infinity`"),
        (&body("  %c = constant [1.0,true] : f32[2]"), "t.gir:2:22: expected a float (like 1.5, -2e-3, inf, nan) for f32, found `true`"),
        (&body("  %c = constant [1.0, # one\n      2.0, 3000000000] : i32[3]"), "t.gir:2:18: expected an integer for i32, found `1.0`"),
        (&body("  %c = constant [1, # one\n  2, 3000000000] : i32[3]"), "t.gir:3:6: integer `3000000000` is out of range for i32"),
        (&body("  %c = constant [[1],\n[2,3]] : i32[2,1]"), "t.gir:3:5: this list has 2 element(s) but an earlier list at the same depth has 1"),
        (&body("  %c = constant [] : f32[2]"), "t.gir:2:17: the literal has shape [0] but the type is f32[2]"),
        (&body("  %c = constant [[]] : f32[0,2]"), "t.gir:2:17: the literal has shape [1,0] but the type is f32[0,2]"),
        (&body("  %c = constant 0.0 : f32[100000,1000]"), "t.gir:2:17: a scalar literal splatted to f32[100000,1000] (100000000 elements); at most 16777216 are allowed"),
    ]);
}

#[test]
fn snippet_shows_context_and_caret() {
    let src = "func @f(%x: f32[3]) -> f32[3] {\n  %y = neg %x : f32[3]\n  %z = add %y, %w : f32[3]\n  return %z\n}\n";
    let e = parse_module(src, "s.gir").unwrap_err();
    let want = "\
s.gir:3:16: undefined value %w
1 | func @f(%x: f32[3]) -> f32[3] {
2 |   %y = neg %x : f32[3]
3 |   %z = add %y, %w : f32[3]
  |                ^";
    assert_eq!(e.to_string(), want);
    // A huge line is cut to a window around the fault.
    let long = format!("func @f() -> f32[{}] {{\n  return %q\n}}", "1,".repeat(100_000));
    let msg = parse_module(&long, "l.gir").unwrap_err().to_string();
    assert!(msg.len() < 1000, "{}", msg.len());
    assert!(msg.starts_with("l.gir:1:146: rank larger than 64"), "{msg}");
    let lines: Vec<&str> = msg.lines().collect();
    let caret = lines.last().unwrap().find('^').unwrap();
    assert_eq!(&lines[1][caret..caret + 1], "1", "{msg}");
}

#[test]
fn parse_function_wants_exactly_one() {
    let one = "func @f(%x: f32[]) -> f32[] {\n  return %x\n}\n";
    assert!(parse_function(one, "o.gir").is_ok());
    let two = format!("{one}\n{}", one.replace("@f", "@g"));
    let e = parse_function(&two, "o.gir").unwrap_err().to_string();
    assert!(
        e.starts_with("o.gir:5:1: expected end of input after the function, found `func`"),
        "{e}"
    );
    let e = parse_function("", "o.gir").unwrap_err().to_string();
    assert!(e.starts_with("o.gir:1:1: expected `func`, found end of input"), "{e}");
    assert_eq!(parse_module("", "o.gir").unwrap().funcs().len(), 0);
    assert_eq!(parse_module("  # nothing\n\n", "o.gir").unwrap().funcs().len(), 0);
}

#[test]
fn verifier_errors_on_parsed_input_carry_positions() {
    let src = "func @f(%x: f32[3]) -> f32[3] {\n  %y = neg %x : f32[3]\n  %z = exp %y : f32[3]\n  return %z\n}\n";
    let mut f = parse_function(src, "v.gir").unwrap();
    verify_function(&f).unwrap();
    // Break an invariant the parser guarantees: a duplicated name.
    let z = f.results()[0];
    f.set_value_name(z, Some("y")).unwrap();
    let e = verify_function(&f).unwrap_err();
    assert_eq!(e.to_string(), "v.gir:3:3: in @f: %y is defined more than once");
    let loc = e.loc().unwrap();
    assert_eq!((&*loc.file, loc.line, loc.col), ("v.gir", 3, 3));
    // Instructions and parameters all carry locations.
    for (v, _) in f.iter() {
        assert!(f.loc(v).is_some());
    }
    assert_eq!(f.loc(f.param(0)).unwrap().col, 9);
}

#[test]
fn crlf_and_odd_whitespace_are_fine() {
    let src = "func @f(\r\n  %x: f32[3]\r\n) -> f32[3]\r\n{\r\n\t%y = neg\r\n %x\r\n : f32[ 3 ]\r\n  return %y # done\r\n}\r\n";
    let f = parse_function(src, "w.gir").unwrap();
    assert_eq!(f.num_instructions(), 1);
    let e = parse_function("func @f(%x: f32[3]) -> f32[3] {\r\n  return %q\r\n}\r\n", "w.gir")
        .unwrap_err();
    assert!(e.to_string().ends_with("2 |   return %q\n  |          ^"), "{e}");
}
