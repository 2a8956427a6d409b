//! What can be traced: fns and closures of 1 to 8 `Var`s or of a `&[Var]`
//! slice, returning a `Var`, tuples, arrays or a `Vec`; named parameters;
//! modules.

mod trace_common;

use gradlift::{trace, trace_module, trace_named, DType, Error, Tracer, Type, Var};
use trace_common::*;

fn one(a: Var) -> Var {
    a
}

#[allow(clippy::too_many_arguments)]
fn eight(a: Var, b: Var, c: Var, d: Var, e: Var, f: Var, g: Var, h: Var) -> Var {
    a + b + c + d + e + f + g + h
}

fn types(n: usize) -> Vec<Type> {
    vec![f32s(&[2]); n]
}

#[test]
fn every_fixed_arity() {
    assert_eq!(verified(trace("f", one, &types(1)).unwrap()).num_params(), 1);
    let f = trace("f", |a: Var, b: Var| a + b, &types(2)).unwrap();
    assert_eq!(verified(f).num_params(), 2);
    let f = trace("f", |a: Var, b: Var, c: Var| a + b + c, &types(3)).unwrap();
    assert_eq!(verified(f).num_params(), 3);
    let f = trace("f", |a: Var, _: Var, _: Var, d: Var| a + d, &types(4)).unwrap();
    assert_eq!(verified(f).num_params(), 4);
    let f = trace("f", |a: Var, _: Var, _: Var, _: Var, e: Var| a + e, &types(5)).unwrap();
    assert_eq!(verified(f).num_params(), 5);
    let f = trace("f", |a: Var, _: Var, _: Var, _: Var, _: Var, f: Var| a + f, &types(6)).unwrap();
    assert_eq!(verified(f).num_params(), 6);
    let f = trace("f", |a: Var, _: Var, _: Var, _: Var, _: Var, _: Var, g: Var| a + g, &types(7))
        .unwrap();
    assert_eq!(verified(f).num_params(), 7);
    let f = verified(trace("f", eight, &types(8)).unwrap());
    assert_eq!((f.num_params(), count(&f, "add")), (8, 7));
    // Arguments arrive in order.
    let f = verified(trace("f", |a: Var, b: Var| a - b, &types(2)).unwrap());
    assert_eq!(f.args(f.results()[0]), [f.param(0), f.param(1)]);
}

#[test]
fn result_forms() {
    let f = verified(trace("f", |a: Var, b: Var| (a + b, a * b), &types(2)).unwrap());
    assert_eq!(f.results().len(), 2);
    assert_eq!(ops(&f), ["add", "mul"]);
    let f = verified(trace("f", |a: Var| (a, a.exp(), a.sin()), &types(1)).unwrap());
    assert_eq!(f.results().len(), 3);
    assert_eq!(f.results()[0], f.param(0), "a parameter can be a result");
    let f = verified(trace("f", |a: Var| (a, a.exp(), a.sin(), a.sum_all()), &types(1)).unwrap());
    assert_eq!(f.result_types()[3], f32s(&[]));
    let f = verified(trace("f", |a: Var| [a, a.cos()], &types(1)).unwrap());
    assert_eq!(f.results().len(), 2);
    let f = verified(trace("f", |a: Var| vec![a.exp(); 3], &types(1)).unwrap());
    assert_eq!(f.results().len(), 3);
    let f = verified(trace("f", |a: Var| (a,), &types(1)).unwrap());
    assert_eq!(f.results().len(), 1);
}

#[test]
fn dynamic_arity() {
    let sum_all = |xs: &[Var]| xs.iter().skip(1).fold(xs[0], |acc, &x| acc + x);
    let f = verified(trace("f", sum_all, &types(11)).unwrap());
    assert_eq!((f.num_params(), count(&f, "add")), (11, 10));
    let f = verified(trace("f", |xs: &[Var]| xs.to_vec(), &types(3)).unwrap());
    assert_eq!(f.results(), [f.param(0), f.param(1), f.param(2)]);
}

#[test]
fn closures_may_capture_and_move() {
    let weights = vec![0.5, 0.25];
    let f =
        trace("f", move |x: Var| weights.into_iter().fold(x, |acc, w| acc * w), &types(1)).unwrap();
    assert_eq!(count(&verified(f), "mul"), 2);
}

#[test]
fn named_parameters() {
    let f = trace_named(
        "scale",
        |x: Var, k: Var| x * k,
        &[("x", f32s(&[3])), ("k", Type::scalar(DType::F32))],
    )
    .unwrap();
    let f = verified(f);
    assert_eq!(f.value_name(f.param(0)), Some("x"));
    assert_eq!(f.value_name(f.param(1)), Some("k"));
    assert_eq!(f.param_types(), [f32s(&[3]), Type::scalar(DType::F32)]);

    let f = Tracer::new("mixed")
        .param("t", f32s(&[10, 1]))
        .params([f32s(&[1, 2]), f32s(&[1, 2])])
        .param("v0", f32s(&[1, 2]))
        .trace(|t: Var, a: Var, x0: Var, v0: Var| x0 + v0 * t + 0.5 * a * t * t)
        .unwrap();
    let f = verified(f);
    let names: Vec<_> = f.params().map(|p| f.value_name(p)).collect();
    assert_eq!(names, [Some("t"), None, None, Some("v0")]);
}

#[test]
fn modules() {
    let m = trace_module("f", |x: Var| x.exp(), &types(1)).unwrap();
    gradlift::ir::verify::verify_module(&m).unwrap();
    assert_eq!(m.funcs().len(), 1);
    assert_eq!(m.funcs()[0].name(), "f");
    let m = Tracer::new("g").param("x", f32s(&[2])).trace_module(|x: Var| x.sin()).unwrap();
    assert_eq!(m.func(None).unwrap().value_name(m.funcs()[0].param(0)), Some("x"));
}

#[test]
fn dynamic_arity_with_no_arguments() {
    let f = verified(trace("f", |_: &[Var]| gradlift::full(&[2], 1.0, DType::F64), &[]).unwrap());
    assert_eq!((f.num_params(), f.result_types()), (0, vec![Type::new(DType::F64, [2])]));
    let err = trace("f", one, &[]).unwrap_err();
    assert!(matches!(err, Error::Arity { expected: 1, got: 0, .. }));
}
