//! gradlift: differentiable, JIT-compiled numerical Rust.
//!
//! Write an ordinary Rust function on traced values ([`Var`]); [`trace`]
//! records it as an IR [`Function`] with every op's source line:
//!
//! ```
//! use gradlift::{trace, DType, Type, Var};
//!
//! fn position(t: Var, a: Var, x0: Var, v0: Var) -> Var {
//!     x0 + v0 * t + 0.5 * a * t * t
//! }
//!
//! let row = Type::new(DType::F32, [1, 2]);
//! let f = trace(
//!     "position",
//!     position,
//!     &[Type::new(DType::F32, [10, 1]), row.clone(), row.clone(), row],
//! )?;
//! assert_eq!(f.result_types(), [Type::new(DType::F32, [10, 2])]);
//! # Ok::<(), gradlift::Error>(())
//! ```
//!
//! Operators and methods broadcast by numpy rules (the IR keeps
//! broadcasting explicit, so the tracer inserts `broadcast_in_dim`), Rust
//! scalars are weakly typed (`0.5` above becomes an `f32` constant), and
//! dtypes are never promoted silently. Errors never panic: the first one is
//! recorded with the user's source line and returned by `trace`.
//!
//! Later stages (differentiation, compilation, optimisers, layers, losses,
//! relaxations) build on the traced IR.

#![warn(missing_docs)]

pub mod error;
mod ops;
mod trace;

pub use error::Error;
pub use gradlift_ir as ir;
pub use gradlift_ir::{
    DType, Data, DotDims, Function, IrError, Loc, Module, Shape, Tensor, Type, Value,
};
pub use ops::{
    arange, concat, constant, full, iota, ones, scalar, select, stack, where_, zeros, Axis, Number,
    Operand, Scalar,
};
pub use trace::{trace, trace_module, trace_named, IntoOutputs, TraceFn, Tracer, Var};
