//! gradlift's compiler: graph transforms (forward and reverse mode
//! differentiation), optimisation passes, fusion and code generation.
//! Every stage is a function from one graph to the next.

pub mod ad;
pub mod codegen;
pub mod emit;
pub mod error;
mod ir_loc;
pub mod passes;

pub use error::CompileError;
