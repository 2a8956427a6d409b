//! The runtime's one error type.

use gradlift_ir::Type;

/// Everything that can go wrong building or running an [`Executable`].
///
/// Messages name the parameter, result, step, op and types involved, so a
/// user (or the compiler author) can see which value was at fault.
///
/// [`Executable`]: crate::Executable
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    /// The program breaks an invariant the executor relies on (a buffer id
    /// out of range, a temp slot outside the arena, operand types that do
    /// not match the op, a write into a read-only buffer, ...).
    #[error("invalid program: {msg}")]
    InvalidProgram { msg: String },

    /// A library step names an op the runtime has no library routine for.
    #[error("invalid program: step {step}: `{op}` is not a library op (supported: {supported})")]
    UnsupportedOp { step: usize, op: &'static str, supported: &'static str },

    /// `run`/`call` got the wrong number of arguments.
    #[error("expected {expected} argument(s), got {got}")]
    ArgCount { expected: usize, got: usize },

    /// An argument's dtype or shape differs from its parameter's type.
    #[error("{} expects {expected}, got {got}", param_name(*index, name))]
    ArgType { index: usize, name: Option<String>, expected: Box<Type>, got: Box<Type> },

    /// A donated parameter was passed as `Arg::Ref`: it may be written in
    /// place, so the runtime needs a mutable borrow.
    #[error("{} is donated (updated in place): pass it as Arg::Mut", param_name(*index, name))]
    DonatedNotMut { index: usize, name: Option<String> },

    /// `call` cannot run a program that updates an argument in place.
    #[error(
        "{} is donated (updated in place): use Executable::run with Arg::Mut instead of call",
        param_name(*index, name)
    )]
    CallWithDonation { index: usize, name: Option<String> },

    /// `run` got the wrong number of result tensors.
    #[error("expected {expected} result tensor(s), got {got}")]
    ResultCount { expected: usize, got: usize },

    /// A result tensor's dtype or shape differs from the result's type.
    #[error("result {index} expects {expected}, got {got}")]
    ResultType { index: usize, expected: Box<Type>, got: Box<Type> },

    /// The operating system refused to start a worker thread.
    #[error("cannot start thread pool worker: {msg}")]
    ThreadSpawn { msg: String },
}

/// `parameter 2 (%v0)` or `parameter 2`.
fn param_name(index: usize, name: &Option<String>) -> String {
    match name {
        Some(n) => format!("parameter {index} (%{n})"),
        None => format!("parameter {index}"),
    }
}

/// Shorthand for [`RuntimeError::InvalidProgram`].
pub(crate) fn invalid(msg: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidProgram { msg: msg.into() }
}
