//! Each simplification rule fires on a minimal example (checked on the
//! printed IR), each near-identity that is not exact does not fire, and the
//! folding and CSE cases that matter are pinned down. Every rewritten
//! function is also evaluated against its input on random arguments with
//! special values (-0.0, NaN, inf).

mod passes_common;

use gradlift_compiler::passes::{ConstantFold, Cse, Dce, Pass, Simplify};
use gradlift_ir::interp::eval_function;
use gradlift_ir::text::{parse_function, print_function};
use gradlift_ir::verify::verify_function;
use gradlift_ir::{Function, Tensor};
use passes_common::{compare, random_args, Compare};

/// The body of a printed function: its instruction lines and the return,
/// trimmed, one per line.
fn body(f: &Function) -> String {
    let text = print_function(f);
    let lines: Vec<&str> = text.lines().collect();
    lines[1..lines.len() - 1].iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n")
}

fn parse(src: &str) -> Function {
    parse_function(src, "rule.gir").unwrap_or_else(|e| panic!("{e}\n{src}"))
}

/// Runs `pass` then DCE (to drop what the rewrite left unused); checks the
/// result verifies and evaluates like the input. Returns the body and
/// whether `pass` reported a change.
fn run(pass: &dyn Pass, src: &str) -> (String, bool) {
    let f = parse(src);
    let (g, changed) = pass.run(&f).unwrap();
    let (g, _) = Dce.run(&g).unwrap();
    verify_function(&g).unwrap();
    for seed in 0..20 {
        let args = random_args(&f, seed);
        let (want, got) = (eval_function(&f, &args).unwrap(), eval_function(&g, &args).unwrap());
        if let Some(d) = compare(&want, &got, Compare::BitsNanAsOne) {
            panic!("{} changed a result: {d}\n{src}\n{}", pass.name(), print_function(&g));
        }
    }
    (body(&g), changed)
}

/// `src` simplifies to `want` (a body).
#[track_caller]
fn fires(src: &str, want: &str) {
    let (got, changed) = run(&Simplify, src);
    assert!(changed, "expected a rewrite of\n{src}");
    assert_eq!(got, want, "\n{src}");
}

/// Simplify leaves `src` alone.
#[track_caller]
fn keeps(src: &str) {
    let f = parse(src);
    let (g, changed) = Simplify.run(&f).unwrap();
    assert!(!changed, "unexpected rewrite of\n{src}\ninto\n{}", print_function(&g));
    assert_eq!(print_function(&g), print_function(&f));
}

/// A one-instruction-deep function of `x: TY` returning `%r`.
fn func(ty: &str, rty: &str, lines: &str) -> String {
    format!("func @f(%x: {ty}, %y: {ty}) -> {rty} {{\n{lines}\n  return %r\n}}\n")
}

// ---- arithmetic ---------------------------------------------------------

#[test]
fn times_one_is_the_identity() {
    // x·1 == x == 1·x
    for (ty, one) in [("f32[3]", "1.0"), ("f64[3]", "1.0"), ("i32[3]", "1"), ("i64[3]", "1")] {
        fires(
            &func(ty, ty, &format!("%c = constant {one} : {ty}\n%r = mul %x, %c : {ty}")),
            "return %x",
        );
        fires(
            &func(ty, ty, &format!("%c = constant {one} : {ty}\n%r = mul %c, %x : {ty}")),
            "return %x",
        );
    }
    // ... through a broadcast scalar too.
    fires(
        &func("f32[2,3]", "f32[2,3]", "%c = constant 1.0 : f32[]\n%b = broadcast_in_dim %c, dims=[] : f32[2,3]\n%r = mul %x, %b : f32[2,3]"),
        "return %x",
    );
}

#[test]
fn integer_times_zero_is_zero_but_float_times_zero_is_kept() {
    // x·0 == 0 for integers
    fires(
        &func("i32[3]", "i32[3]", "%z = constant 0 : i32[3]\n%r = mul %x, %z : i32[3]"),
        "%z = constant [0,0,0] : i32[3]\nreturn %z",
    );
    // not for floats: NaN·0 and inf·0 are NaN
    keeps(&func("f32[3]", "f32[3]", "%z = constant 0.0 : f32[3]\n%r = mul %x, %z : f32[3]"));
    keeps(&func("f32[3]", "f32[3]", "%z = constant -0.0 : f32[3]\n%r = mul %z, %x : f32[3]"));
    let f = parse(&func("f32[]", "f32[]", "%z = constant 0.0 : f32[]\n%r = mul %x, %z : f32[]"));
    let nan = eval_function(&f, &[Tensor::scalar(f32::NAN), Tensor::scalar(0.0f32)]).unwrap();
    assert!(nan[0].item::<f32>().unwrap().is_nan(), "NaN·0 is NaN, which is why x·0 stays");
}

#[test]
fn divided_by_one_is_the_identity() {
    // x/1 == x
    fires(
        &func("f64[2]", "f64[2]", "%c = constant 1.0 : f64[2]\n%r = div %x, %c : f64[2]"),
        "return %x",
    );
    fires(
        &func("i64[2]", "i64[2]", "%c = constant 1 : i64[2]\n%r = div %x, %c : i64[2]"),
        "return %x",
    );
    // 1/x is not x
    keeps(&func("f64[2]", "f64[2]", "%c = constant 1.0 : f64[2]\n%r = div %c, %x : f64[2]"));
}

#[test]
fn plus_negative_zero_is_the_identity_but_plus_zero_is_not() {
    // x + (-0.0) == x == (-0.0) + x
    fires(
        &func("f32[3]", "f32[3]", "%z = constant -0.0 : f32[3]\n%r = add %x, %z : f32[3]"),
        "return %x",
    );
    fires(
        &func("f32[3]", "f32[3]", "%z = constant -0.0 : f32[3]\n%r = add %z, %x : f32[3]"),
        "return %x",
    );
    // integers: x + 0 == x
    fires(
        &func("i32[3]", "i32[3]", "%z = constant 0 : i32[3]\n%r = add %z, %x : i32[3]"),
        "return %x",
    );
    // x + 0.0 is not x: -0 + +0 == +0
    let src = func("f32[]", "f32[]", "%z = constant 0.0 : f32[]\n%r = add %x, %z : f32[]");
    keeps(&src);
    let out =
        eval_function(&parse(&src), &[Tensor::scalar(-0.0f32), Tensor::scalar(0.0f32)]).unwrap();
    assert_eq!(out[0].item::<f32>().unwrap().to_bits(), 0, "-0 + +0 is +0");
}

#[test]
fn minus_zero_is_the_identity_but_minus_negative_zero_is_not() {
    // x - (+0.0) == x (also for x = -0.0)
    fires(
        &func("f32[3]", "f32[3]", "%z = constant 0.0 : f32[3]\n%r = sub %x, %z : f32[3]"),
        "return %x",
    );
    fires(
        &func("i64[3]", "i64[3]", "%z = constant 0 : i64[3]\n%r = sub %x, %z : i64[3]"),
        "return %x",
    );
    // x - (-0.0) == x + 0.0, not x
    keeps(&func("f32[3]", "f32[3]", "%z = constant -0.0 : f32[3]\n%r = sub %x, %z : f32[3]"));
    // 0 - x is not x
    keeps(&func("f32[3]", "f32[3]", "%z = constant 0.0 : f32[3]\n%r = sub %z, %x : f32[3]"));
}

#[test]
fn adding_a_negation_is_a_subtraction() {
    // x + neg(y) == x - y == neg(y) + x
    fires(
        &func("f32[3]", "f32[3]", "%n = neg %y : f32[3]\n%r = add %x, %n : f32[3]"),
        "%r = sub %x, %y : f32[3]\nreturn %r",
    );
    fires(
        &func("f32[3]", "f32[3]", "%n = neg %y : f32[3]\n%r = add %n, %x : f32[3]"),
        "%r = sub %x, %y : f32[3]\nreturn %r",
    );
    // x - neg(y) == x + y
    fires(
        &func("i32[3]", "i32[3]", "%n = neg %y : i32[3]\n%r = sub %x, %n : i32[3]"),
        "%r = add %x, %y : i32[3]\nreturn %r",
    );
}

#[test]
fn idempotent_binary_ops_of_one_value() {
    // max(x, x) == min(x, x) == and(x, x) == or(x, x) == x
    for (op, ty) in [("max", "f32[3]"), ("min", "f64[3]"), ("and", "bool[3]"), ("or", "i32[3]")] {
        fires(&func(ty, ty, &format!("%r = {op} %x, %x : {ty}")), "return %x");
    }
    // ... but x - x is not 0 (inf - inf is NaN) and x / x is not 1
    keeps(&func("f32[3]", "f32[3]", "%r = sub %x, %x : f32[3]"));
    keeps(&func("f32[3]", "f32[3]", "%r = div %x, %x : f32[3]"));
}

#[test]
fn logical_identities_and_absorbers() {
    // and(x, all ones) == x; or(x, no bits) == x
    fires(
        &func("bool[2]", "bool[2]", "%t = constant true : bool[2]\n%r = and %x, %t : bool[2]"),
        "return %x",
    );
    fires(
        &func("i32[2]", "i32[2]", "%t = constant -1 : i32[2]\n%r = and %t, %x : i32[2]"),
        "return %x",
    );
    fires(
        &func("bool[2]", "bool[2]", "%t = constant false : bool[2]\n%r = or %x, %t : bool[2]"),
        "return %x",
    );
    fires(
        &func("i64[2]", "i64[2]", "%t = constant 0 : i64[2]\n%r = or %t, %x : i64[2]"),
        "return %x",
    );
    // and(x, no bits) == no bits; or(x, all ones) == all ones
    fires(
        &func("bool[2]", "bool[2]", "%t = constant false : bool[2]\n%r = and %x, %t : bool[2]"),
        "%t = constant [false,false] : bool[2]\nreturn %t",
    );
    fires(
        &func("i32[2]", "i32[2]", "%t = constant -1 : i32[2]\n%r = or %x, %t : i32[2]"),
        "%t = constant [-1,-1] : i32[2]\nreturn %t",
    );
    // and(x, 1) is not x for integers
    keeps(&func("i32[2]", "i32[2]", "%t = constant 1 : i32[2]\n%r = and %x, %t : i32[2]"));
}

#[test]
fn involutions_and_idempotent_unary_ops() {
    // neg(neg(x)) == x
    fires(&func("f32[3]", "f32[3]", "%a = neg %x : f32[3]\n%r = neg %a : f32[3]"), "return %x");
    fires(&func("i32[3]", "i32[3]", "%a = neg %x : i32[3]\n%r = neg %a : i32[3]"), "return %x");
    // not(not(x)) == x
    fires(&func("bool[3]", "bool[3]", "%a = not %x : bool[3]\n%r = not %a : bool[3]"), "return %x");
    // abs(neg(x)) == abs(x)
    fires(
        &func("f64[3]", "f64[3]", "%a = neg %x : f64[3]\n%r = abs %a : f64[3]"),
        "%r = abs %x : f64[3]\nreturn %r",
    );
    // f(f(x)) == f(x) for abs, sign, floor, ceil, round
    for op in ["abs", "sign", "floor", "ceil", "round"] {
        fires(
            &func("f32[3]", "f32[3]", &format!("%a = {op} %x : f32[3]\n%r = {op} %a : f32[3]")),
            &format!("%a = {op} %x : f32[3]\nreturn %a"),
        );
    }
    // floor(ceil(x)) is ceil(x), but that is not a rule here; neg(abs(x)) is not abs(x)
    keeps(&func("f32[3]", "f32[3]", "%a = abs %x : f32[3]\n%r = neg %a : f32[3]"));
}

// ---- select, convert, stop_gradient ------------------------------------

#[test]
fn select_rules() {
    // select(true, x, y) == x; select(false, x, y) == y
    fires(
        &func("f32[2]", "f32[2]", "%p = constant true : bool[2]\n%r = select %p, %x, %y : f32[2]"),
        "return %x",
    );
    fires(
        &func("f32[2]", "f32[2]", "%p = constant false : bool[]\n%b = broadcast_in_dim %p, dims=[] : bool[2]\n%r = select %b, %x, %y : f32[2]"),
        "return %y",
    );
    // select(p, x, x) == x
    fires(
        &func("f32[2]", "f32[2]", "%p = lt %x, %y : bool[2]\n%r = select %p, %x, %x : f32[2]"),
        "return %x",
    );
    // select(not(p), x, y) == select(p, y, x)
    fires(
        &func(
            "f32[2]",
            "f32[2]",
            "%p = lt %x, %y : bool[2]\n%n = not %p : bool[2]\n%r = select %n, %x, %y : f32[2]",
        ),
        "%p = lt %x, %y : bool[2]\n%r = select %p, %y, %x : f32[2]\nreturn %r",
    );
    // a predicate that is not a splat stays
    keeps(&func(
        "f32[2]",
        "f32[2]",
        "%p = constant [true, false] : bool[2]\n%r = select %p, %x, %y : f32[2]",
    ));
}

#[test]
fn convert_rules() {
    // convert(x: T, to=T) == x
    fires(&func("f32[2]", "f32[2]", "%r = convert %x, to=f32 : f32[2]"), "return %x");
    // convert(convert(x: A, to=B), to=A) == x when every A survives the trip
    for (a, b) in [("f32", "f64"), ("i32", "i64"), ("i32", "f64"), ("bool", "f32"), ("bool", "i64")]
    {
        fires(
            &func(
                &format!("{a}[2]"),
                &format!("{a}[2]"),
                &format!("%c = convert %x, to={b} : {b}[2]\n%r = convert %c, to={a} : {a}[2]"),
            ),
            "return %x",
        );
    }
    // ... and not when some do not: f64 → f32 rounds, i32 → f32 rounds above 2^24,
    // i64 → f64 rounds above 2^53, f32 → i32 truncates, f32 → bool loses all but != 0
    for (a, b) in [("f64", "f32"), ("i32", "f32"), ("i64", "f64"), ("f32", "i32"), ("f32", "bool")]
    {
        keeps(&func(
            &format!("{a}[2]"),
            &format!("{a}[2]"),
            &format!("%c = convert %x, to={b} : {b}[2]\n%r = convert %c, to={a} : {a}[2]"),
        ));
    }
}

#[test]
fn stop_gradient_of_stop_gradient() {
    // stop_gradient(stop_gradient(x)) == stop_gradient(x)
    fires(
        &func("f32[2]", "f32[2]", "%a = stop_gradient %x : f32[2]\n%r = stop_gradient %a : f32[2]"),
        "%a = stop_gradient %x : f32[2]\nreturn %a",
    );
    // stop_gradient is not removed: it matters to later differentiation
    keeps(&func("f32[2]", "f32[2]", "%r = stop_gradient %x : f32[2]"));
}

// ---- shape ops ---------------------------------------------------------

#[test]
fn broadcast_rules() {
    // broadcast(x) to x's own shape with dims 0, 1, ... == x
    fires(
        &func("f32[2,3]", "f32[2,3]", "%r = broadcast_in_dim %x, dims=[0,1] : f32[2,3]"),
        "return %x",
    );
    // broadcast(broadcast(x, dims=d), dims=e) == broadcast(x, dims=e∘d)
    fires(
        &func("f32[3]", "f32[4,2,3]", "%a = broadcast_in_dim %x, dims=[1] : f32[2,3]\n%r = broadcast_in_dim %a, dims=[1,2] : f32[4,2,3]"),
        "%r = broadcast_in_dim %x, dims=[2] : f32[4,2,3]\nreturn %r",
    );
    // broadcast(x) that only inserts size-1 dims == reshape(x)
    fires(
        &func("f32[2,3]", "f32[2,1,3]", "%r = broadcast_in_dim %x, dims=[0,2] : f32[2,1,3]"),
        "%r = reshape %x : f32[2,1,3]\nreturn %r",
    );
    // a size-1 dim stretched twice
    fires(
        &func("f32[1,3]", "f32[5,4,3]", "%a = broadcast_in_dim %x, dims=[0,1] : f32[4,3]\n%r = broadcast_in_dim %a, dims=[1,2] : f32[5,4,3]"),
        "%r = broadcast_in_dim %x, dims=[1,2] : f32[5,4,3]\nreturn %r",
    );
}

#[test]
fn reshape_rules() {
    // reshape(x) to x's own shape == x
    fires(&func("f32[2,3]", "f32[2,3]", "%r = reshape %x : f32[2,3]"), "return %x");
    // reshape(reshape(x)) == reshape(x), and == x when it comes back to x's shape
    fires(
        &func("f32[2,3]", "f32[3,2]", "%a = reshape %x : f32[6]\n%r = reshape %a : f32[3,2]"),
        "%r = reshape %x : f32[3,2]\nreturn %r",
    );
    fires(
        &func("f32[2,3]", "f32[2,3]", "%a = reshape %x : f32[6]\n%r = reshape %a : f32[2,3]"),
        "return %x",
    );
}

#[test]
fn moving_a_broadcast_scalar_gives_a_broadcast() {
    // reshape / transpose / slice / reverse of broadcast(s) == broadcast(s) for a rank-0 s
    let src = "func @f(%s: f32[]) -> (f32[6], f32[3,2], f32[1,2], f32[2,3]) {
  %b = broadcast_in_dim %s, dims=[] : f32[2,3]
  %r = reshape %b : f32[6]
  %t = transpose %b, perm=[1,0] : f32[3,2]
  %l = slice %b, start=[1,0], limit=[2,3], stride=[1,2] : f32[1,2]
  %v = reverse %b, axes=[1] : f32[2,3]
  return %r, %t, %l, %v
}";
    let (got, changed) = run(&Simplify, src);
    assert!(changed);
    assert_eq!(
        got,
        "%r = broadcast_in_dim %s, dims=[] : f32[6]
%t = broadcast_in_dim %s, dims=[] : f32[3,2]
%l = broadcast_in_dim %s, dims=[] : f32[1,2]
%v = broadcast_in_dim %s, dims=[] : f32[2,3]
return %r, %t, %l, %v"
    );
}

#[test]
fn transpose_rules() {
    // transpose(x, perm=[0, 1, ...]) == x
    fires(&func("f32[2,3]", "f32[2,3]", "%r = transpose %x, perm=[0,1] : f32[2,3]"), "return %x");
    // transpose(transpose(x, perm=p), perm=q) == transpose(x, perm=p∘q)
    fires(
        &func("f32[2,3,4]", "f32[3,2,4]", "%a = transpose %x, perm=[2,0,1] : f32[4,2,3]\n%r = transpose %a, perm=[2,1,0] : f32[3,2,4]"),
        "%r = transpose %x, perm=[1,0,2] : f32[3,2,4]\nreturn %r",
    );
    fires(
        &func("f32[2,3,4]", "f32[2,3,4]", "%a = transpose %x, perm=[2,0,1] : f32[4,2,3]\n%r = transpose %a, perm=[1,2,0] : f32[2,3,4]"),
        "return %x",
    );
}

#[test]
fn slice_reverse_concatenate_pad_rules() {
    // slice(x) from 0 to the end with stride 1 == x
    fires(
        &func(
            "f32[2,3]",
            "f32[2,3]",
            "%r = slice %x, start=[0,0], limit=[2,3], stride=[1,1] : f32[2,3]",
        ),
        "return %x",
    );
    keeps(&func(
        "f32[2,3]",
        "f32[2,2]",
        "%r = slice %x, start=[0,1], limit=[2,3], stride=[1,1] : f32[2,2]",
    ));
    // reverse(x, axes) == reverse(x, the axes longer than 1) (== x when none are)
    fires(&func("f32[1,3]", "f32[1,3]", "%r = reverse %x, axes=[0] : f32[1,3]"), "return %x");
    fires(
        &func("f32[1,3]", "f32[1,3]", "%r = reverse %x, axes=[0,1] : f32[1,3]"),
        "%r = reverse %x, axes=[1] : f32[1,3]\nreturn %r",
    );
    fires(&func("f32[2,3]", "f32[2,3]", "%r = reverse %x, axes=[] : f32[2,3]"), "return %x");
    // reverse(reverse(x, A), B) == reverse(x, A △ B)
    fires(
        &func(
            "f32[2,3]",
            "f32[2,3]",
            "%a = reverse %x, axes=[1,0] : f32[2,3]\n%r = reverse %a, axes=[0,1] : f32[2,3]",
        ),
        "return %x",
    );
    fires(
        &func(
            "f32[2,3]",
            "f32[2,3]",
            "%a = reverse %x, axes=[0] : f32[2,3]\n%r = reverse %a, axes=[0,1] : f32[2,3]",
        ),
        "%r = reverse %x, axes=[1] : f32[2,3]\nreturn %r",
    );
    // concatenate(x) == x
    fires(&func("f32[2,3]", "f32[2,3]", "%r = concatenate %x, axis=1 : f32[2,3]"), "return %x");
    // pad(x, v) by nothing == x
    fires(
        &func(
            "f32[2,3]",
            "f32[2,3]",
            "%v = constant 0.0 : f32[]\n%r = pad %x, %v, low=[0,0], high=[0,0] : f32[2,3]",
        ),
        "return %x",
    );
    keeps(&func(
        "f32[2,3]",
        "f32[2,4]",
        "%v = constant 0.0 : f32[]\n%r = pad %x, %v, low=[0,1], high=[0,0] : f32[2,4]",
    ));
}

#[test]
fn transposes_around_dot_general() {
    // dot_general(transpose(x), y) == dot_general(x, y) read through the perm
    fires(
        "func @f(%x: f32[6,4], %y: f32[6,8]) -> f32[4,8] {
  %t = transpose %x, perm=[1,0] : f32[4,6]
  %r = dot_general %t, %y, lhs_batch=[], rhs_batch=[], lhs_contract=[1], rhs_contract=[0] : f32[4,8]
  return %r
}",
        "%r = dot_general %x, %y, lhs_batch=[], rhs_batch=[], lhs_contract=[0], rhs_contract=[0] : f32[4,8]\nreturn %r",
    );
    // transpose(dot_general(x, y)) == dot_general(y, x) when the perm swaps the free dims
    fires(
        "func @f(%x: f32[4,6], %y: f32[6,8]) -> f32[8,4] {
  %d = dot_general %x, %y, lhs_batch=[], rhs_batch=[], lhs_contract=[1], rhs_contract=[0] : f32[4,8]
  %r = transpose %d, perm=[1,0] : f32[8,4]
  return %r
}",
        "%r = dot_general %y, %x, lhs_batch=[], rhs_batch=[], lhs_contract=[0], rhs_contract=[1] : f32[8,4]\nreturn %r",
    );
    // ... but not when the dot has another use (that would compute it twice)
    keeps(
        "func @f(%x: f32[4,6], %y: f32[6,8]) -> (f32[8,4], f32[4,8]) {
  %d = dot_general %x, %y, lhs_batch=[], rhs_batch=[], lhs_contract=[1], rhs_contract=[0] : f32[4,8]
  %r = transpose %d, perm=[1,0] : f32[8,4]
  return %r, %d
}",
    );
    // ... nor when the transpose reorders the free dims of one operand
    keeps(
        "func @f(%x: f32[2,3,5], %y: f32[5]) -> f32[3,2] {
  %t = transpose %x, perm=[1,0,2] : f32[3,2,5]
  %r = dot_general %t, %y, lhs_batch=[], rhs_batch=[], lhs_contract=[2], rhs_contract=[0] : f32[3,2]
  return %r
}",
    );
}

// ---- reductions --------------------------------------------------------

#[test]
fn reduce_over_nothing_or_size_one_axes() {
    // reduce(x, axes=[]) == x
    fires(&func("f32[2,3]", "f32[2,3]", "%r = reduce_sum %x, axes=[] : f32[2,3]"), "return %x");
    // reduce_{max,min,prod}(x) over size-1 axes == reshape(x)
    for op in ["reduce_max", "reduce_min", "reduce_prod"] {
        fires(
            &func("f32[2,1,3]", "f32[2,3]", &format!("%r = {op} %x, axes=[1] : f32[2,3]")),
            "%r = reshape %x : f32[2,3]\nreturn %r",
        );
    }
    // reduce_sum too, for integers
    fires(
        &func("i32[2,1]", "i32[2]", "%r = reduce_sum %x, axes=[1] : i32[2]"),
        "%r = reshape %x : i32[2]\nreturn %r",
    );
    // but not for floats: the sum starts at +0.0, and 0 + -0.0 == +0.0
    let src = func("f32[1]", "f32[]", "%r = reduce_sum %x, axes=[0] : f32[]");
    keeps(&src);
    let neg_zero = Tensor::from_vec([1], vec![-0.0f32]).unwrap();
    let out = eval_function(&parse(&src), &[neg_zero.clone(), neg_zero]).unwrap();
    assert_eq!(out[0].item::<f32>().unwrap().to_bits(), 0, "reduce_sum([-0.0]) is +0.0");
}

#[test]
fn reduce_max_and_min_over_a_broadcast_reduce_the_operand() {
    // reduce_max(broadcast(y), A) == y when A are exactly the new dims (max(y, y) == y)
    fires(
        &func(
            "f32[3]",
            "f32[3]",
            "%b = broadcast_in_dim %x, dims=[1] : f32[4,3]\n%r = reduce_max %b, axes=[0] : f32[3]",
        ),
        "return %x",
    );
    // ... over a stretched size-1 dim and a real dim: the real one is reduced on y
    fires(
        &func("f32[1,3]", "f32[]", "%b = broadcast_in_dim %x, dims=[0,1] : f32[5,3]\n%r = reduce_min %b, axes=[0,1] : f32[]"),
        "%r = reduce_min %x, axes=[0,1] : f32[]\nreturn %r",
    );
    // ... keeping a broadcast for the dims that stay
    fires(
        &func("f32[3]", "f32[2,3]", "%b = broadcast_in_dim %x, dims=[2] : f32[2,4,3]\n%r = reduce_max %b, axes=[1] : f32[2,3]"),
        "%r = broadcast_in_dim %x, dims=[1] : f32[2,3]\nreturn %r",
    );
    // not when a new dim is empty: the result is then -inf, not y
    keeps(&func(
        "f32[3]",
        "f32[3]",
        "%b = broadcast_in_dim %x, dims=[1] : f32[0,3]\n%r = reduce_max %b, axes=[0] : f32[3]",
    ));
}

#[test]
fn reduce_sum_over_a_broadcast_only_when_nothing_repeats() {
    // a sum over a broadcast that repeats elements is not one copy: kept
    keeps(&func(
        "f32[3]",
        "f32[3]",
        "%b = broadcast_in_dim %x, dims=[1] : f32[2,3]\n%r = reduce_sum %b, axes=[0] : f32[3]",
    ));
    keeps(&func(
        "i32[3]",
        "i32[3]",
        "%b = broadcast_in_dim %x, dims=[1] : i32[2,3]\n%r = reduce_sum %b, axes=[0] : i32[3]",
    ));
    keeps(&func(
        "f32[3]",
        "f32[3]",
        "%b = broadcast_in_dim %x, dims=[1] : f32[2,3]\n%r = reduce_prod %b, axes=[0] : f32[3]",
    ));
    // a size-1 new dim plus a real dim of y: the same additions in the same order
    fires(
        &func("f32[3]", "f32[2]", "%b = broadcast_in_dim %x, dims=[1] : f32[1,3,2]\n%r = reduce_sum %b, axes=[0,1] : f32[2]"),
        "%0 = reduce_sum %x, axes=[0] : f32[]\n%r = broadcast_in_dim %0, dims=[] : f32[2]\nreturn %r",
    );
    // integers: a size-1 new dim alone is `0 + y == y`
    fires(
        &func(
            "i32[3]",
            "i32[3]",
            "%b = broadcast_in_dim %x, dims=[1] : i32[1,3]\n%r = reduce_sum %b, axes=[0] : i32[3]",
        ),
        "return %x",
    );
}

// ---- constant folding --------------------------------------------------

#[test]
fn folding_evaluates_ops_on_literals() {
    let src = "func @f() -> (f32[], f32[2], i32[]) {
  %a = constant 2.0 : f32[]
  %b = constant 3.0 : f32[]
  %s = add %a, %b : f32[]
  %v = constant [1.0, 2.0, 3.0, 4.0] : f32[4]
  %t = slice %v, start=[1], limit=[4], stride=[2] : f32[2]
  %i = constant [7, 8] : i32[2]
  %m = reduce_max %i, axes=[0] : i32[]
  return %s, %t, %m
}";
    let (got, changed) = run(&ConstantFold::default(), src);
    assert!(changed);
    assert_eq!(
        got,
        "%s = constant 5.0 : f32[]\n%t = constant [2.0,4.0] : f32[2]\n%m = constant 8 : i32[]\nreturn %s, %t, %m"
    );
}

#[test]
fn folding_keeps_broadcasts_of_scalars_small() {
    // splat arithmetic is done once on the scalar and broadcast again
    let src = "func @f() -> f32[100,100] {
  %a = constant 2.0 : f32[]
  %b = broadcast_in_dim %a, dims=[] : f32[100,100]
  %c = constant 3.0 : f32[]
  %d = broadcast_in_dim %c, dims=[] : f32[100,100]
  %e = mul %b, %d : f32[100,100]
  %r = exp %e : f32[100,100]
  return %r
}";
    let (got, _) = run(&ConstantFold::default(), src);
    assert_eq!(got, "%0 = constant 403.4288 : f32[]\n%r = broadcast_in_dim %0, dims=[] : f32[100,100]\nreturn %r");
    // a literal of equal elements becomes a broadcast scalar
    let (got, _) = run(
        &ConstantFold::default(),
        "func @f() -> f64[2,2] {\n  %c = constant 0.5 : f64[2,2]\n  return %c\n}",
    );
    assert_eq!(
        got,
        "%0 = constant 0.5 : f64[]\n%c = broadcast_in_dim %0, dims=[] : f64[2,2]\nreturn %c"
    );
    // data movement of a splat is a splat
    let (got, _) = run(
        &ConstantFold::default(),
        "func @f() -> f32[3,2] {\n  %c = constant 1.5 : f32[]\n  %b = broadcast_in_dim %c, dims=[] : f32[2,3]\n  %t = transpose %b, perm=[1,0] : f32[3,2]\n  return %t\n}",
    );
    assert_eq!(
        got,
        "%c = constant 1.5 : f32[]\n%t = broadcast_in_dim %c, dims=[] : f32[3,2]\nreturn %t"
    );
}

#[test]
fn folding_stops_at_the_size_limit_and_leaves_sources() {
    // a 40x40 outer product of two 40-element literals would make 1600 elements: kept
    let xs: Vec<String> = (0..40).map(|i| format!("{i}.0")).collect();
    let lit = format!("[{}]", xs.join(", "));
    let src = format!(
        "func @f() -> f32[40,40] {{
  %a = constant {lit} : f32[40]
  %b = constant {lit} : f32[40]
  %r = dot_general %a, %b, lhs_batch=[], rhs_batch=[], lhs_contract=[], rhs_contract=[] : f32[40,40]
  return %r
}}"
    );
    let f = parse(&src);
    assert!(!ConstantFold::default().run(&f).unwrap().1);
    // ... and a 4x4 one is folded
    let small = src.replace("40", "4").replace(&lit, "[0.0, 1.0, 2.0, 3.0]");
    let f = parse(&small);
    assert!(ConstantFold::default().run(&f).unwrap().1);
    // iota is a source, not folded into a literal
    let f = parse("func @f() -> i32[8] {\n  %r = iota axis=0 : i32[8]\n  return %r\n}");
    assert!(!ConstantFold::default().run(&f).unwrap().1);
    // a small broadcast feeding a reduction is evaluated
    let (got, _) = run(
        &ConstantFold::default(),
        "func @f() -> f32[] {\n  %c = constant 2.0 : f32[]\n  %b = broadcast_in_dim %c, dims=[] : f32[4]\n  %r = reduce_sum %b, axes=[0] : f32[]\n  return %r\n}",
    );
    assert_eq!(got, "%r = constant 8.0 : f32[]\nreturn %r");
}

#[test]
fn folding_gives_the_interpreters_bits_nan_payloads_included() {
    let src = "func @f() -> (f32[2], f64[]) {
  %a = constant [nan:0x7fc00001, 1.0] : f32[2]
  %b = constant [2.0, nan:0xffc00002] : f32[2]
  %r = add %a, %b : f32[2]
  %c = constant -0.0 : f64[]
  %z = constant 0.0 : f64[]
  %s = add %c, %z : f64[]
  return %r, %s
}";
    let f = parse(src);
    let (g, _) = ConstantFold::default().run(&f).unwrap();
    let (want, got) = (eval_function(&f, &[]).unwrap(), eval_function(&g, &[]).unwrap());
    assert_eq!(compare(&want, &got, Compare::Bits), None);
    assert_eq!(body(&Dce.run(&g).unwrap().0).lines().last(), Some("return %r, %s"));
    assert!(print_function(&g).contains("%s = constant 0.0 : f64[]"), "{}", print_function(&g));
}

// ---- CSE ---------------------------------------------------------------

#[test]
fn cse_merges_by_op_attributes_and_operands() {
    let src = "func @f(%x: f32[3], %y: f32[3]) -> (f32[3], f32[3], f32[3], f32[3], f32[], f32[]) {
  %a = add %x, %y : f32[3]
  %b = add %y, %x : f32[3]
  %c = sub %x, %y : f32[3]
  %d = sub %y, %x : f32[3]
  %p = constant 0.0 : f32[]
  %n = constant -0.0 : f32[]
  %q = constant 0.0 : f32[]
  %s = reduce_sum %x, axes=[0] : f32[]
  %m = reduce_max %x, axes=[0] : f32[]
  %t = add %p, %q : f32[]
  %u = add %p, %n : f32[]
  return %a, %b, %c, %d, %t, %u
}";
    let (got, changed) = run(&Cse, src);
    assert!(changed);
    // add commutes (merged, first name kept); sub does not; 0.0 and -0.0 differ
    assert_eq!(
        got,
        "%a = add %x, %y : f32[3]
%c = sub %x, %y : f32[3]
%d = sub %y, %x : f32[3]
%p = constant 0.0 : f32[]
%n = constant -0.0 : f32[]
%t = add %p, %p : f32[]
%u = add %p, %n : f32[]
return %a, %a, %c, %d, %t, %u"
    );
}

#[test]
fn dce_drops_what_no_result_uses_but_keeps_parameters() {
    let src = "func @f(%x: f32[3], %unused: f32[3]) -> f32[3] {
  %a = exp %x : f32[3]
  %b = log %x : f32[3]
  return %a
}";
    let (got, changed) = run(&Dce, src);
    assert!(changed);
    assert_eq!(got, "%a = exp %x : f32[3]\nreturn %a");
    assert_eq!(
        print_function(&Dce.run(&parse(src)).unwrap().0).lines().next(),
        Some("func @f(%x: f32[3], %unused: f32[3]) -> f32[3] {")
    );
}
