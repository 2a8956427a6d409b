//! Optimisation passes, one per file, each a `Function -> Function` behind
//! the [`Pass`] trait, and the pipeline that runs them as a straight list.
//!
//! | pass | file | what it does |
//! | --- | --- | --- |
//! | `dce` | `dce.rs` | drops instructions no result depends on |
//! | `cse` | `cse.rs` | merges instructions with the same op and operands |
//! | `fold` | `fold.rs` | evaluates ops on constants with the reference interpreter |
//! | `simplify` | `simplify.rs` | algebraic identities that hold bit for bit |
//!
//! Every pass is one forward loop over the nodes (plus, for DCE, one
//! backward marking loop): no recursion, no quadratic scans. Values that
//! survive keep their names and source locations; a pass that reports
//! "unchanged" returns a function that prints byte for byte like its input.
//!
//! ```
//! use gradlift_compiler::passes::{optimize, PipelineOptions};
//! use gradlift_ir::text::{parse_function, print_function};
//!
//! let f = parse_function(
//!     "func @f(%x: f32[3]) -> f32[3] {
//!        %one = constant 1.0 : f32[]
//!        %0 = broadcast_in_dim %one, dims=[] : f32[3]
//!        %1 = mul %x, %0 : f32[3]
//!        %2 = neg %1 : f32[3]
//!        %y = neg %2 : f32[3]
//!        return %y
//!      }",
//!     "f.gir",
//! )?;
//! let (g, report) = optimize(&f, &PipelineOptions::default())?;
//! assert_eq!(print_function(&g), "func @f(%x: f32[3]) -> f32[3] {\n  return %x\n}\n");
//! assert!(report.converged);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cse;
pub mod dce;
pub mod fold;
pub mod pipeline;
pub(crate) mod rebuild;
pub mod simplify;
mod splat;

use gradlift_ir::Function;

use crate::error::CompileError;

pub use cse::Cse;
pub use dce::Dce;
pub use fold::ConstantFold;
pub use pipeline::{
    optimize, run_pipeline, standard_passes, PipelineOptions, PipelineReport, StageReport,
};
pub use simplify::Simplify;

/// One optimisation pass: a pure function from one graph to the next
/// (`Send + Sync`, so one pipeline can serve many compiling threads).
pub trait Pass: Send + Sync {
    /// Short lower-case name, used in reports and dump file names.
    fn name(&self) -> &'static str;

    /// Rewrites `f`. The flag says whether anything changed; when it is
    /// false the returned function prints exactly like `f`.
    fn run(&self, f: &Function) -> Result<(Function, bool), CompileError>;
}
