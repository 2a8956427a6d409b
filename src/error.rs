//! The facade's error type: everything a public gradlift entry point can
//! return. Each variant names the op, the shapes or dtypes involved and, when
//! the error comes from traced code, the user's source line, which `Display`
//! prints first (`src/main.rs:12:9: add: ...`).

use std::fmt;

use gradlift_ir::{DType, IrError, Loc, Shape};

/// Everything that can go wrong in gradlift.
///
/// Tracing records the *first* error of a trace (later errors are usually
/// consequences of it) and [`trace`](crate::trace) returns it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from the IR crate: an op's shape/dtype rule rejected its
    /// operands (with the user's location), a verifier failure, bad text.
    #[error(transparent)]
    Ir(#[from] IrError),

    /// Two shapes that numpy's broadcasting rules cannot reconcile. (The
    /// shapes are boxed to keep `Error`, and every `Result` holding it,
    /// small.)
    #[error(
        "{}{op}: cannot broadcast shapes {lhs} and {rhs} (numpy rules: aligned from the last \
         dimension, sizes must be equal or 1)",
        LocPrefix(loc)
    )]
    Broadcast {
        /// The user-level op (`add`, `select`, `matmul`, `broadcast_to`, ...).
        op: &'static str,
        /// The first shape (for `broadcast_to`: the value's shape).
        lhs: Box<Shape>,
        /// The second shape (for `broadcast_to`: the target shape).
        rhs: Box<Shape>,
        /// The user's source location.
        loc: Option<Loc>,
    },

    /// Two traced values of different dtypes meet in one op. gradlift never
    /// promotes silently; the message suggests the explicit `.cast`.
    #[error(
        "{}{op}: operand dtypes differ ({lhs} vs {rhs}); gradlift does not promote dtypes \
         implicitly: convert one operand, e.g. `.cast(DType::{})`",
        LocPrefix(loc),
        suggested_cast(*lhs, *rhs)
    )]
    DTypeMismatch {
        /// The user-level op.
        op: &'static str,
        /// The first operand's dtype.
        lhs: DType,
        /// The second operand's dtype.
        rhs: DType,
        /// The user's source location.
        loc: Option<Loc>,
    },

    /// A Rust scalar (`2.0 * x`) that cannot take the traced value's dtype,
    /// e.g. `0.5` next to an integer value.
    #[error("{}{op}: the scalar {value} cannot be used as {dtype}: {reason}", LocPrefix(loc))]
    Scalar {
        /// The user-level op.
        op: &'static str,
        /// The scalar as written (`0.5`, `3000000000`, `true`).
        value: String,
        /// The dtype it had to take.
        dtype: DType,
        /// Why it cannot, and what to do instead.
        reason: String,
        /// The user's source location.
        loc: Option<Loc>,
    },

    /// A traced value used outside the trace that created it (a finished
    /// trace, an enclosing trace, or another thread's trace).
    #[error("{}{op}: value from another trace: {detail}", LocPrefix(loc))]
    ForeignValue {
        /// The user-level op (`return` when a traced function returns it).
        op: &'static str,
        /// Which trace the value belongs to, and what to do instead.
        detail: String,
        /// The user's source location.
        loc: Option<Loc>,
    },

    /// `trace` was given a number of argument types that does not match the
    /// traced function's arity.
    #[error("trace @{func}: the function takes {expected} argument(s) but {got} argument type(s) were given")]
    Arity {
        /// The traced function's name.
        func: String,
        /// The number of `Var` arguments the Rust function takes.
        expected: usize,
        /// The number of argument types given.
        got: usize,
    },

    /// A bad function signature: an invalid function or parameter name, two
    /// parameters with one name, or a traced function that returns nothing.
    #[error("trace @{func}: {msg}")]
    Signature {
        /// The traced function's name.
        func: String,
        /// What is wrong.
        msg: String,
    },

    /// A transform (grad, jvp, fusion, code generation) failed: a gradient
    /// with respect to an integer input, a non-scalar loss, ...
    #[error(transparent)]
    Compile(#[from] gradlift_compiler::CompileError),

    /// Calling compiled code failed: wrong argument types or count, a
    /// donated argument not passed mutably.
    #[error(transparent)]
    Runtime(#[from] gradlift_runtime::RuntimeError),
}

impl Error {
    /// The user's source location the error points at, if any.
    pub fn loc(&self) -> Option<&Loc> {
        match self {
            Error::Ir(e) => e.loc(),
            Error::Broadcast { loc, .. }
            | Error::DTypeMismatch { loc, .. }
            | Error::Scalar { loc, .. }
            | Error::ForeignValue { loc, .. } => loc.as_ref(),
            Error::Arity { .. } | Error::Signature { .. } => None,
            Error::Compile(gradlift_compiler::CompileError::Ir(e)) => e.loc(),
            Error::Compile(gradlift_compiler::CompileError::Transform { loc, .. })
            | Error::Compile(gradlift_compiler::CompileError::Codegen { loc, .. }) => loc.as_ref(),
            Error::Runtime(_) => None,
        }
    }
}

/// The dtype to suggest casting to when `a` and `b` meet: the float one, the
/// wider one, the non-bool one.
fn suggested_cast(a: DType, b: DType) -> &'static str {
    let rank = |d: DType| match d {
        DType::Bool => 0,
        DType::I32 => 1,
        DType::I64 => 2,
        DType::F32 => 3,
        DType::F64 => 4,
    };
    let wide = if rank(a) >= rank(b) { a } else { b };
    match wide {
        DType::F32 => "F32",
        DType::F64 => "F64",
        DType::I32 => "I32",
        DType::I64 => "I64",
        DType::Bool => "Bool",
    }
}

/// Formats an optional location as a `FILE:LINE:COL: ` prefix.
struct LocPrefix<'a>(&'a Option<Loc>);

impl fmt::Display for LocPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(loc) => write!(f, "{loc}: "),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_stay_small() {
        // clippy's `result_large_err` flags results over 128 bytes, in our
        // code and in every user function returning `Result<_, Error>`.
        assert!(std::mem::size_of::<Error>() < 128, "{}", std::mem::size_of::<Error>());
    }
}
