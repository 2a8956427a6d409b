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
    InvalidProgram {
        /// What is wrong, naming the step, buffer and types.
        msg: String,
    },

    /// A library step names an op the runtime has no library routine for.
    #[error("invalid program: step {step}: `{op}` is not a library op (supported: {supported})")]
    UnsupportedOp {
        /// Index of the step in the program.
        step: usize,
        /// The op's IR name.
        op: &'static str,
        /// The ops that are supported.
        supported: &'static str,
    },

    /// `run`/`call` got the wrong number of arguments.
    #[error("expected {expected} argument(s), got {got}")]
    ArgCount {
        /// Number of parameters.
        expected: usize,
        /// Number of arguments given.
        got: usize,
    },

    /// An argument's dtype or shape differs from its parameter's type.
    #[error("{} expects {expected}, got {got}", param_name(*index, name))]
    ArgType {
        /// Parameter index.
        index: usize,
        /// Parameter name in the IR, if any.
        name: Option<String>,
        /// The parameter's type.
        expected: Box<Type>,
        /// The argument's type.
        got: Box<Type>,
    },

    /// A donated parameter was passed as `Arg::Ref`: it may be written in
    /// place, so the runtime needs a mutable borrow.
    #[error("{} is donated (updated in place): pass it as Arg::Mut", param_name(*index, name))]
    DonatedNotMut {
        /// Parameter index.
        index: usize,
        /// Parameter name in the IR, if any.
        name: Option<String>,
    },

    /// `call` cannot run a program that updates an argument in place.
    #[error(
        "{} is donated (updated in place): use Executable::run with Arg::Mut instead of call",
        param_name(*index, name)
    )]
    CallWithDonation {
        /// Index of the (first) donated parameter.
        index: usize,
        /// Its name in the IR, if any.
        name: Option<String>,
    },

    /// `run` got the wrong number of result tensors.
    #[error("expected {expected} result tensor(s), got {got}")]
    ResultCount {
        /// Number of results.
        expected: usize,
        /// Number of result tensors given.
        got: usize,
    },

    /// A result tensor's dtype or shape differs from the result's type.
    #[error("result {index} expects {expected}, got {got}")]
    ResultType {
        /// Result index.
        index: usize,
        /// The result's type.
        expected: Box<Type>,
        /// The given tensor's type.
        got: Box<Type>,
    },

    /// [`Profile::add`] got the profile of another program.
    ///
    /// [`Profile::add`]: crate::Profile::add
    #[error(
        "cannot add profiles of different programs ({left} and {right} steps, or other kernels)"
    )]
    ProfileMismatch {
        /// Steps in the profile added to.
        left: usize,
        /// Steps in the profile added.
        right: usize,
    },

    /// The operating system refused to start a worker thread.
    #[error("cannot start thread pool worker: {msg}")]
    ThreadSpawn {
        /// The operating system's error.
        msg: String,
    },
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
