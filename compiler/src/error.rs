//! The compiler crate's error type.

use gradlift_ir::{IrError, Loc};

use crate::ir_loc::LocPrefix;

/// Everything that can go wrong while transforming or compiling a graph.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// An IR-level error (shape rule, verifier, interpreter).
    #[error(transparent)]
    Ir(#[from] IrError),

    /// A transform was asked for something it cannot do (a derivative with
    /// respect to an integer input, a result index out of range, ...).
    #[error("{}{transform}: {msg}", LocPrefix(loc))]
    Transform { transform: &'static str, msg: String, loc: Option<Loc> },

    /// Code generation could not compile a kernel body: an op or shape the
    /// code generator does not handle, or an error from Cranelift (the
    /// message then holds the annotated CLIF).
    #[error("{}kernel {kernel}: {msg}", LocPrefix(loc))]
    Codegen { kernel: String, msg: String, loc: Option<Loc> },
}

impl CompileError {
    /// A `Transform` error without a location.
    pub fn transform(transform: &'static str, msg: impl Into<String>) -> CompileError {
        CompileError::Transform { transform, msg: msg.into(), loc: None }
    }

    pub(crate) fn codegen(kernel: &str, msg: impl Into<String>) -> CompileError {
        CompileError::Codegen { kernel: kernel.to_string(), msg: msg.into(), loc: None }
    }
}
