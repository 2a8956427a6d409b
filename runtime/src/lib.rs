//! gradlift's runtime: buffers, the thread pool, the program executor
//! (kernel pointers + buffer plan), GEMM and the other library calls, and the
//! executable cache. It uses ir's dtypes, shapes and tensors but never sees a
//! graph.

pub mod kernel;

pub use kernel::{CodeHandle, CompiledKernel, KernelFn};
