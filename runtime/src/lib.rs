//! gradlift's runtime: the program executor (kernel pointers + buffer
//! plan), the thread pool, GEMM and the other library routines. It uses
//! ir's dtypes, shapes and tensors but never sees a graph.
//!
//! The compiler hands the runtime a [`Program`]: typed buffers (the
//! caller's arguments and results, constants, slots of a per-call arena)
//! and a straight list of steps (JIT kernels, library calls, copies).
//! [`Executable::new`] checks it once; [`Executable::run`] then runs it as
//! often as needed, from any number of threads, allocating nothing in
//! steady state.
//!
//! ```
//! use std::sync::Arc;
//! use gradlift_ir::{DType, Op, Tensor, Type};
//! use gradlift_runtime::{Arg, BufferKind, Executable, Program, Step};
//!
//! // result = reverse(x)
//! let ty = Type::new(DType::F32, [3]);
//! let mut p = Program::new();
//! p.add_param(Some("x"), ty.clone(), false);
//! p.add_result(ty.clone());
//! let x = p.add_buffer(ty.clone(), BufferKind::Param { index: 0 });
//! let out = p.add_buffer(ty, BufferKind::Result { index: 0 });
//! p.push(Step::Library { op: Op::Reverse { axes: [0].into_iter().collect() }, inputs: vec![x], output: out });
//!
//! let exe = Executable::new(p)?;
//! let x = Tensor::from_vec([3], vec![1.0f32, 2.0, 3.0])?;
//! let mut results = exe.new_results();
//! exe.run(&mut [Arg::Ref(&x)], &mut results)?;
//! assert_eq!(results[0].as_slice::<f32>()?, &[3.0, 2.0, 1.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Choices, with the measurements behind them
//!
//! - **Thread pool**: our own ([`ThreadPool`]), a fork-join over a small
//!   piece range with spinning-then-sleeping workers; faster than rayon for
//!   the small loops kernels need and allocation-free (see [`pool`]).
//! - **GEMM**: the `gemm` crate (AVX-512 microkernels with its `x86-v4`
//!   feature), called single-threaded on pieces the runtime spreads over its
//!   own pool, deterministically (see [`library`]). It was faster than
//!   `matrixmultiply` at every size measured (`benches/gemm.rs`).
//!   Known cost: `gemm` allocates its packing buffers inside every call, so
//!   an f32/f64 `dot_general` step makes a few allocations per call (the
//!   crate has no API to pass it scratch memory); everything else the
//!   executor does is allocation-free.

pub mod error;
pub mod executable;
pub mod kernel;
pub mod library;
mod plan;
pub mod pool;
pub mod program;
mod workspace;

pub use error::RuntimeError;
pub use executable::{Arg, Executable, INLINE_WORK};
pub use kernel::{CodeHandle, CompiledKernel, KernelFn};
pub use pool::ThreadPool;
pub use program::{BufferDesc, BufferId, BufferKind, ParamDesc, Program, Step, ARENA_ALIGN};
