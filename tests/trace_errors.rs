//! Errors never panic: the first error of a trace is returned by `trace`,
//! values never cross traces, and nested traces are independent.

mod trace_common;

use std::cell::Cell;

use gradlift::{trace, trace_named, DType, Error, Tracer, Type, Var};
use trace_common::*;

#[test]
fn value_from_a_finished_trace() {
    let leaked = Cell::new(None);
    trace(
        "first",
        |x: Var| {
            leaked.set(Some(x));
            x
        },
        &[f32s(&[2])],
    )
    .unwrap();
    let old = leaked.get().unwrap();
    // Outside any trace: a poisoned value with a placeholder type, no panic.
    let outside = old.exp() + 1.0;
    assert!(outside.is_poisoned());
    assert_eq!(outside.ty(), Type::scalar(DType::F32));
    assert_eq!(old.ty(), Type::scalar(DType::F32), "the trace is gone");

    let err = trace("second", |y: Var| y + old, &[f32s(&[2])]).unwrap_err();
    match &err {
        Error::ForeignValue { op, loc, .. } => {
            assert_eq!(*op, "add");
            assert!(loc.is_some());
        }
        other => panic!("expected a foreign-value error, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("value from another trace") && msg.contains("@second"), "{msg}");
}

#[test]
fn nested_traces_are_independent() {
    let mut inner_result = None;
    let outer = trace(
        "outer",
        |x: Var| {
            let y = x.exp();
            inner_result = Some(trace("inner", |z: Var| z * 2.0, &[f32s(&[7])]));
            // The outer trace continues after the inner one finished.
            y + x
        },
        &[f32s(&[3])],
    )
    .unwrap();
    assert_eq!(ops(&verified(outer)), ["exp", "add"]);
    let inner = verified(inner_result.unwrap().unwrap());
    assert_eq!(ops(&inner), ["constant", "broadcast_in_dim", "mul"]);
    assert_eq!(inner.param_types(), [f32s(&[7])]);
}

#[test]
fn outer_value_inside_a_closed_inner_trace_fails_the_inner_trace_only() {
    let mut inner_result = None;
    let outer = trace(
        "outer",
        |x: Var| {
            inner_result = Some(trace("inner", |z: Var| z + x, &[f32s(&[3])]));
            x.sin()
        },
        &[f32s(&[3])],
    )
    .unwrap();
    assert_eq!(ops(&verified(outer)), ["sin"]);
    let err = inner_result.unwrap().unwrap_err();
    let msg = err.to_string();
    // `trace` returns a closed function: a captured outer value is an
    // error there (transforms such as grad capture it instead).
    assert!(matches!(err, Error::Signature { .. }), "{msg}");
    assert!(msg.contains("enclosing trace @outer") && msg.contains("@inner"), "{msg}");
}

#[test]
fn inner_value_returned_to_outer_trace() {
    let err = trace(
        "outer",
        |x: Var| {
            let mut leaked = None;
            let _ = trace(
                "inner",
                |z: Var| {
                    leaked = Some(z);
                    z
                },
                &[f32s(&[3])],
            );
            x + leaked.unwrap()
        },
        &[f32s(&[3])],
    )
    .unwrap_err();
    assert!(matches!(err, Error::ForeignValue { op: "add", .. }), "{err}");
    // Returning a foreign value directly is caught too.
    let mut stash = None;
    let _ = trace(
        "a",
        |x: Var| {
            stash = Some(x);
            x
        },
        &[f32s(&[])],
    );
    let err = trace("b", |_y: Var| stash.unwrap(), &[f32s(&[])]).unwrap_err();
    assert!(matches!(err, Error::ForeignValue { op: "return", .. }), "{err}");
}

#[test]
fn poisoned_trace_returns_the_first_error_only() {
    let mut first_line = 0;
    let mut seen = None;
    let err = trace(
        "f",
        |x: Var, y: Var, z: Var| {
            first_line = line!() + 1;
            let bad = x + y; // [2] + [3]: the first error
            let worse = bad * z.cast(DType::I32); // would be a dtype error; a no-op now
            let unrelated = z.sum_all() + 1.0; // ops on healthy values still work
            let later = x.reshape(&[5]); // a second, independent error: dropped
            seen = Some((bad, worse, unrelated, later));
            worse.exp() + unrelated
        },
        &[f32s(&[2]), f32s(&[3]), f32s(&[4, 4])],
    )
    .unwrap_err();
    match &err {
        Error::Broadcast { op: "add", loc, .. } => {
            assert_eq!(loc.as_ref().unwrap().line, first_line)
        }
        other => panic!("expected the first (broadcast) error, got {other:?}"),
    }
    let (bad, worse, unrelated, later) = seen.unwrap();
    assert!(bad.is_poisoned() && worse.is_poisoned() && later.is_poisoned());
    assert!(!unrelated.is_poisoned());
    assert_eq!(bad.value(), None);
}

#[test]
fn poisoned_values_report_a_placeholder_type_inside_the_trace() {
    let _ = trace(
        "f",
        |x: Var, y: Var| {
            let bad = x + y;
            assert!(bad.is_poisoned());
            // The guess is the failing op's first operand type, so user code
            // that inspects shapes keeps running until trace() reports.
            assert_eq!(bad.ty(), f32s(&[2, 5]));
            assert_eq!((bad.rank(), bad.dtype()), (2, DType::F32));
            assert_eq!(bad.shape().dims(), [2, 5]);
            bad
        },
        &[f32s(&[2, 5]), f32s(&[3])],
    )
    .unwrap_err();
}

#[test]
fn arity_mismatch() {
    let err = trace("f", |x: Var, y: Var| x + y, &[f32s(&[2])]).unwrap_err();
    assert_eq!(err, Error::Arity { func: "f".into(), expected: 2, got: 1 });
    assert!(err.to_string().contains("takes 2 argument(s) but 1"), "{err}");
}

#[test]
fn bad_names_and_empty_results() {
    let err = trace("no spaces", |x: Var| x, &[f32s(&[])]).unwrap_err();
    assert!(matches!(err, Error::Signature { .. }), "{err}");
    let err = trace_named("f", |x: Var, y: Var| x + y, &[("x", f32s(&[])), ("x", f32s(&[]))])
        .unwrap_err();
    assert!(err.to_string().contains("two parameters are named %x"), "{err}");
    let err = trace_named("f", |x: Var| x, &[("12", f32s(&[]))]).unwrap_err();
    assert!(matches!(err, Error::Signature { .. }), "{err}");
    let err = trace("f", |_: &[Var]| Vec::<Var>::new(), &[]).unwrap_err();
    assert!(err.to_string().contains("returned no values"), "{err}");
    let err = Tracer::new("f").param("x", Type::new(DType::F32, [usize::MAX, 2])).trace(|x: Var| x);
    assert!(matches!(err, Err(Error::Ir(_))), "{err:?}");
}

#[test]
fn a_panic_in_user_code_leaves_the_trace_stack_clean() {
    let mut leaked = None;
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        trace(
            "f",
            |x: Var| -> Var {
                leaked = Some(x);
                panic!("user bug");
            },
            &[f32s(&[])],
        )
    }));
    assert!(caught.is_err());
    // The panicked trace is gone: its values are foreign to a new trace,
    // and the new trace records into its own function.
    let leaked = leaked.unwrap();
    let err = trace("g", |y: Var| y * leaked, &[f32s(&[])]).unwrap_err();
    assert!(matches!(err, Error::ForeignValue { .. }), "{err}");
    let ok = trace("h", |y: Var| y * 2.0, &[f32s(&[])]).unwrap();
    assert_eq!(ops(&verified(ok)), ["constant", "mul"]);
}

#[test]
fn a_value_sent_to_another_thread_is_foreign_there() {
    let mut result = None;
    trace(
        "f",
        |x: Var| {
            result = Some(
                std::thread::spawn(move || {
                    let outside = x.exp();
                    let inside = trace("g", |y: Var| y + x, &[f32s(&[2])]);
                    (outside.is_poisoned(), inside)
                })
                .join()
                .unwrap(),
            );
            x
        },
        &[f32s(&[2])],
    )
    .unwrap();
    let (outside_poisoned, inside) = result.unwrap();
    assert!(outside_poisoned);
    assert!(matches!(inside, Err(Error::ForeignValue { .. })));
}

#[test]
fn shape_rule_errors_carry_the_users_location() {
    let mut line = 0;
    let err = trace(
        "f",
        |i: Var| {
            line = line!() + 1;
            i.exp()
        },
        &[Type::new(DType::I32, [3])],
    )
    .unwrap_err();
    assert_eq!(err.loc().unwrap().line, line);
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("tests/trace_errors.rs:{line}:")), "{msg}");
    assert!(msg.contains("exp: expects a float dtype"), "{msg}");
}
