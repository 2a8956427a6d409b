//! XLA-style loop fusion: a graph becomes a straight list of steps over
//! buffers, each step either a fused kernel (a small IR function whose ops
//! run in one loop nest) or a library call (`dot_general`, `gather`, ...).
//!
//! - Elementwise ops, broadcasts, reshapes, transposes, slices, reverses,
//!   selects, converts, iotas and scalar constants fuse into their consumers.
//! - Reductions are fusion roots together with their elementwise producers;
//!   sibling reductions over the same iteration space share one kernel
//!   (multi-output fusion), as do values that must be materialised and have
//!   exactly one consuming kernel of the same iteration space.
//! - A producer with consumers in several kernels is duplicated into each
//!   when it is cheap (index arithmetic, converts, constants) and
//!   materialised once otherwise; an expensive producer smaller than the
//!   kernel that would absorb it is materialised rather than recomputed per
//!   element.
//! - `dot_general`, `gather`, `scatter_add`, `pad`, `concatenate` and
//!   `argmax` stay library calls; the elementwise work around them is fused.
//!   Products of at most a few terms per output (an outer product, a layer
//!   on one input feature) are first rewritten as elementwise ops, which
//!   fuse (`dots`).
//!
//! The result prints as nested regions in IR syntax (`print`), evaluates with
//! the reference interpreter (`eval`), and is what memory planning and code
//! generation consume.

mod dots;
mod eval;
mod partition;
mod print;
mod split;

use std::sync::Arc;

use gradlift_ir::{Function, Loc, Op, Tensor, Type};

pub use eval::eval_fused;
pub use partition::{fuse, fuse_with, FuseOptions};
pub use print::print_fused;
pub use split::split_reductions;

/// Index of a buffer (a materialised value) of a fused program.
pub type BufId = usize;

/// Where a buffer's contents come from.
#[derive(Clone, Debug, PartialEq)]
pub enum BufDef {
    /// Parameter `index` of the function.
    Param(usize),
    /// A non-scalar constant of the graph.
    Constant(Arc<Tensor>),
    /// Output `output` of step `step`.
    Step { step: usize, output: usize },
}

/// A buffer: its type and where it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    pub ty: Type,
    pub def: BufDef,
}

/// What a kernel's loop nest iterates over.
#[derive(Clone, Debug, PartialEq)]
pub enum KernelKind {
    /// Every output has this shape (the iteration space).
    Loop,
    /// The roots are reductions over these axes of operands of one shape
    /// (side outputs, if any, have that shape).
    Reduce,
    /// Every value is small (at most a few hundred elements): any mix of
    /// shapes, reductions included, computed op by op in one call.
    Small,
}

/// One step of a fused program.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A fused kernel: `body`'s parameters are `inputs`, its results are
    /// `outputs`.
    Kernel {
        name: String,
        kind: KernelKind,
        body: Function,
        inputs: Vec<BufId>,
        outputs: Vec<BufId>,
    },
    /// One op computed by a runtime library routine.
    Library { op: Op, inputs: Vec<BufId>, output: BufId, loc: Option<Loc> },
}

/// A fused program: buffers and a straight list of steps computing them.
#[derive(Clone, Debug, PartialEq)]
pub struct FusedProgram {
    pub name: String,
    /// Parameter names (for printing and error messages) and types.
    pub params: Vec<(Option<String>, Type)>,
    pub buffers: Vec<Buffer>,
    pub steps: Vec<Step>,
    /// The buffer holding each result of the function.
    pub results: Vec<BufId>,
}

impl FusedProgram {
    /// Number of kernel steps.
    pub fn num_kernels(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::Kernel { .. })).count()
    }

    /// Number of library-call steps.
    pub fn num_library_calls(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::Library { .. })).count()
    }
}
