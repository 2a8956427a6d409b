//! Trace-time checks shared by `nn`, `loss` and `relax`: a failed check is
//! recorded as an op error at the user's line, like any op's shape rule.

use gradlift_ir::Type;

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
