//! The error type of the IR crate and source locations.

use std::fmt;
use std::sync::Arc;

use crate::types::Shape;

/// Where an instruction came from: the user's Rust source line for traced
/// code (`#[track_caller]`), or the position in a `.gir` file for parsed code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub fn new(file: impl Into<Arc<str>>, line: u32, col: u32) -> Loc {
        Loc { file: file.into(), line, col }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// Formats an optional location as a `FILE:LINE:COL: ` prefix.
pub(crate) struct LocPrefix<'a>(pub &'a Option<Loc>);

impl fmt::Display for LocPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(loc) => write!(f, "{loc}: "),
            None => Ok(()),
        }
    }
}

/// Everything that can go wrong in the IR crate.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum IrError {
    /// A shape whose element count (or byte size) does not fit in memory.
    #[error("shape {shape} has too many elements to address")]
    ShapeOverflow { shape: Shape },

    /// An op's shape/dtype rule rejected its operands.
    #[error("{}{op}: {msg} (operands: {operands})", LocPrefix(loc))]
    Op {
        op: &'static str,
        /// The operand types, e.g. `f32[2,3], f32[3]`.
        operands: String,
        msg: String,
        loc: Option<Loc>,
    },

    /// Malformed IR text.
    #[error("{file}:{line}:{col}: {msg}{}", Snippet(snippet))]
    Parse { file: String, line: u32, col: u32, msg: String, snippet: String },

    /// A graph breaks an invariant (SSA, types, shapes, dominance).
    #[error("{}in @{func}: {msg}", LocPrefix(loc))]
    Verify { func: String, msg: String, loc: Option<Loc> },

    /// Evaluation failed (bad arguments, a function that does not exist).
    #[error("{}{msg}", LocPrefix(loc))]
    Eval { msg: String, loc: Option<Loc> },

    /// A host tensor was built from inconsistent parts.
    #[error("tensor: {msg}")]
    Tensor { msg: String },

    /// Reading or writing a file (npy/npz) failed.
    #[error("{path}: {msg}")]
    Io { path: String, msg: String },
}

struct Snippet<'a>(&'a str);

impl fmt::Display for Snippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "\n{}", self.0)
        }
    }
}

impl IrError {
    /// The source location attached to this error, if any.
    pub fn loc(&self) -> Option<&Loc> {
        match self {
            IrError::Op { loc, .. } | IrError::Verify { loc, .. } | IrError::Eval { loc, .. } => {
                loc.as_ref()
            }
            IrError::ShapeOverflow { .. }
            | IrError::Parse { .. }
            | IrError::Tensor { .. }
            | IrError::Io { .. } => None,
        }
    }

    /// Attaches a location to an error that has none yet.
    pub fn with_loc(mut self, new: Option<Loc>) -> IrError {
        match &mut self {
            IrError::Op { loc, .. } | IrError::Verify { loc, .. } | IrError::Eval { loc, .. } => {
                if loc.is_none() {
                    *loc = new;
                }
            }
            IrError::ShapeOverflow { .. }
            | IrError::Parse { .. }
            | IrError::Tensor { .. }
            | IrError::Io { .. } => {}
        }
        self
    }
}
