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
//! # Tracing
//!
//! - [`Var`] is a `Copy` handle, so traced code reads like numpy:
//!   `x * x + 2.0 * y`, no clones or borrows. Closures passed to [`trace`]
//!   need their argument types written (`|x: Var| x.exp()`); functions of
//!   1 to 8 `Var`s or of a `&[Var]` slice may return a `Var`, a tuple, an
//!   array or a `Vec` ([`TraceFn`], [`IntoOutputs`]). [`trace_named`] and
//!   [`Tracer`] name the parameters; [`trace_module`] wraps the result in a
//!   [`Module`].
//! - Binary ops, comparisons and [`select`] broadcast by numpy rules; the IR
//!   keeps broadcasting explicit, so the tracer inserts `broadcast_in_dim`.
//! - Rust scalars are weakly typed ([`Scalar`]): `0.5` above becomes an `f32`
//!   constant; next to an integer value only integral numbers are accepted.
//!   Two traced values of different dtypes are an error that suggests a
//!   [`Var::cast`]: nothing is promoted silently.
//! - Axes are Python-style: negative axes count from the end ([`Axis`]).
//! - Every op records the user's source line (`#[track_caller]`), shown
//!   first in error messages and kept on the IR nodes.
//! - Errors never panic. An op that fails records the trace's first error
//!   and returns a poisoned `Var`; ops on poisoned values do nothing, and
//!   [`trace`] returns that first error. Values cannot cross traces: using a
//!   `Var` of another (enclosing, finished or other-thread) trace is an
//!   [`Error::ForeignValue`]. Traces nest: a trace started inside a traced
//!   function records its own function.
//!
//! ```
//! use gradlift::{trace, DType, Error, Type, Var};
//!
//! let err = trace(
//!     "f",
//!     |x: Var, y: Var| (x + y).exp(),
//!     &[Type::new(DType::F32, [2, 3]), Type::new(DType::F32, [4])],
//! )
//! .unwrap_err();
//! assert!(matches!(err, Error::Broadcast { op: "add", .. }));
//! assert!(err.to_string().contains("add: cannot broadcast shapes [2,3] and [4]"));
//! ```
//!
//! Later stages (differentiation, compilation, optimisers, layers, losses,
//! relaxations) build on the traced IR.

#![warn(missing_docs)]

pub mod cli;
mod custom;
pub mod error;
mod jit;
pub mod loss;
pub mod nn;
mod ops;
pub mod optim;
mod params;
pub mod relax;
mod trace;
mod transforms;

pub use custom::{custom_jvp, select_safe, straight_through};
pub use error::Error;
pub use gradlift_compiler::ad::Modes;
pub use gradlift_ir as ir;
pub use gradlift_ir::{
    DType, Data, DotDims, Function, IrError, Loc, Module, Shape, Tensor, Type, Value,
};
pub use gradlift_runtime::{Profile, StepTime};
pub use jit::{jit, Arg, Backend, Jit};
pub use ops::{
    arange, concat, constant, full, iota, ones, scalar, select, stack, where_, zeros, Axis, Number,
    Operand, Scalar,
};
pub use params::Params;
pub use trace::{trace, trace_module, trace_named, IntoOutputs, TraceFn, Tracer, Var};
pub use transforms::{
    check_grads, eval, grad, hessian, jacfwd, jacrev, jvp, value_and_grad, value_and_grad_with_aux,
    vjp,
};
