//! gradlift's compiler: graph transforms (forward and reverse mode
//! differentiation), optimisation passes, fusion and code generation.
//! Every stage is a function from one graph to the next.

pub mod ad;
pub mod codegen;
pub mod compile;
pub mod emit;
pub mod error;
pub mod fusion;
pub mod inline;
mod ir_loc;
pub mod memory;
pub mod passes;

pub use error::CompileError;
