//! Trace-time checks shared by `nn`, `loss` and `relax`: a failed check is
//! recorded as an op error at the user's line, like any op's shape rule.

use gradlift_ir::Type;

use crate::ops::{Arg, Operand};
use crate::trace::{emit, Var};

/// Checks the types of `inputs` inside the current trace. On failure
/// records an op error named `op` (with the operand types and the user's
/// source line) and returns the poisoned value to hand back; a poisoned
/// input is returned as is, so the first error of the trace stands.
#[track_caller]
pub(crate) fn validate(
    op: &'static str,
    inputs: &[Var],
    check: impl FnOnce(&[Type]) -> Result<(), String>,
) -> Result<(), Var> {
    let out = emit(op, inputs, |cx, v| {
        let types: Vec<Type> = v.iter().map(|&x| cx.ty(x).clone()).collect();
        match (check(&types), v.first()) {
            (Ok(()), Some(&first)) => Ok(first),
            (Ok(()), None) => Err(cx.error("needs at least one traced operand")),
            (Err(msg), _) => Err(cx.error(msg)),
        }
    });
    if out.is_poisoned() {
        Err(out)
    } else {
        Ok(())
    }
}

/// Records the error `msg` for op `op` at the user's line and returns the
/// poisoned value.
#[track_caller]
pub(crate) fn fail(op: &'static str, inputs: &[Var], msg: String) -> Var {
    emit(op, inputs, |cx, _| Err(cx.error(msg)))
}

/// An operand as a traced value: a `Var` as is, a Rust scalar as a
/// constant of `like`'s dtype (weakly typed).
#[track_caller]
pub(crate) fn operand_var(o: impl Operand, like: Var) -> Var {
    match o.to_arg() {
        Arg::Var(v) => v,
        Arg::Scalar(s) => like.scalar_like(s),
    }
}

/// The scalar value of an operand that is a Rust number, if it is one.
pub(crate) fn operand_number(o: impl Operand) -> Option<f64> {
    match o.to_arg() {
        Arg::Scalar(crate::Scalar::Float(v)) => Some(v),
        Arg::Scalar(crate::Scalar::Int(i)) => Some(i as f64),
        _ => None,
    }
}
