#![warn(missing_docs)]
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
//! - **Per-call overhead**: a 3-kernel step on 3-element vectors (kernels
//!   inline) runs in 141 ns per `run` (`benches/executor.rs`, group
//!   `overhead`).
//! - **Thread pool**: our own ([`ThreadPool`]), a fork-join over a small
//!   piece range with spinning-then-sleeping workers: a 1.1 µs round trip
//!   against rayon's 23.6 µs in the same run, and allocation-free (see
//!   [`pool`]).
//! - **GEMM**: the `gemm` crate (AVX-512 microkernels with its `x86-v4`
//!   feature), called single-threaded on pieces the runtime spreads over its
//!   own pool, deterministically (see [`library`]). Last run of
//!   `benches/gemm.rs`, GFLOP/s, criterion medians, with
//!   `benches/numpy_sgemm.py` (OpenBLAS) right after, on the 2-vCPU machine
//!   while other jobs kept its load average at 6-7.5 (so the second thread
//!   found no free core, and every number is about half the quiet-machine
//!   figures of `shared/peers/RESULTS.md`):
//!
//!   | shape | ours 1t | ours 2t | raw `gemm` 1t | `matrixmultiply` 1t | numpy 1t | numpy 2t |
//!   | --- | --- | --- | --- | --- | --- | --- |
//!   | 100x100x50 | 40.2 | 42.0 | 42.3 | 27.1 | 96.8 | 98.5 |
//!   | 256x784x512 | 69.1 | 62.9 | 54.2 | 48.6 | 100.8 | 21.3 |
//!   | 1024^3 | 59.9 | 59.5 | 71.6 | 58.3 | 62.9 | 40.8 |
//!   | 4096^3 | 68.3 | 66.3 | 68.3 | 62.9 | 67.5 | 64.9 |
//!
//!   `gemm` beat `matrixmultiply` 0.3 (AVX-512 too) at every shape in this
//!   run and in a first one of raw calls (1024^3 50.6 vs 46.3, 4096^3 40.4
//!   vs 37.0, 256x784x512 103.6 vs 97.3, 100x100x50 81.5 vs 57.8); it also
//!   has f64 kernels of the same design. Against numpy it is on par for big
//!   products and well behind (0.4x) on tiny ones.
//!   Known cost: `gemm` allocates inside every call (1 allocation per
//!   64^3 call, counted in `tests/no_alloc.rs`) and has no API to take
//!   scratch memory; everything else the executor does is allocation-free.

pub mod error;
pub mod executable;
pub mod kernel;
pub mod library;
mod plan;
pub mod pool;
pub mod program;
mod workspace;

pub use error::RuntimeError;
pub use executable::{Arg, Executable, Profile, StepTime, INLINE_WORK};
pub use kernel::{CodeHandle, CompiledKernel, KernelFn};
pub use pool::ThreadPool;
pub use program::{BufferDesc, BufferId, BufferKind, ParamDesc, Program, Step, ARENA_ALIGN};
