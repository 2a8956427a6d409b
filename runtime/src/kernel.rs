//! The contract between code generation and the runtime: a compiled kernel
//! is a native function over a range of *work units*, plus what the runtime
//! must provide around it. The runtime never sees CLIF or a graph.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// Signature of every JIT-compiled kernel entry point.
///
/// `bufs` points to a table of buffer base pointers, in the kernel's order:
/// its inputs, then its outputs, then its scratch buffers. The call computes
/// work units `[start, end)`. Calls on disjoint ranges may run concurrently
/// on different threads; together they must cover `[0, units)` exactly once.
pub type KernelFn = unsafe extern "C" fn(bufs: *const *mut u8, start: usize, end: usize);

/// Keeps the machine code of a set of kernels mapped. Dropping the last
/// reference frees the code (the compiler's JIT module wrapper implements
/// this). Kernel function pointers are valid exactly as long as this lives.
pub type CodeHandle = Arc<dyn Any + Send + Sync>;

/// A compiled kernel and what running it needs.
#[derive(Clone)]
pub struct CompiledKernel {
    /// Name for dumps and profiles (`fusion.3`).
    pub name: String,
    /// The entry point over work units.
    pub main: KernelFn,
    /// Number of work units; `main(bufs, 0, units)` does the whole job.
    pub units: usize,
    /// Smallest number of units worth giving a thread: the runtime never
    /// splits a range below this (a multiple of it, except the last piece).
    pub grain: usize,
    /// Rough cost of one unit, in elements touched, so the runtime can run
    /// small kernels inline on the calling thread.
    pub unit_cost: usize,
    /// Byte sizes of the scratch buffers the kernel needs (partial results
    /// of reductions split across units). They follow the outputs in `bufs`.
    /// Their contents need no initialisation.
    pub scratch_bytes: Vec<usize>,
    /// Run once, single-threaded, after every unit of `main` completed
    /// (`finish(bufs, 0, 1)`), e.g. to combine partial reductions in a fixed
    /// order. Results never depend on how units were spread over threads.
    pub finish: Option<KernelFn>,
    /// Keeps `main` and `finish` alive.
    pub code: CodeHandle,
}

impl fmt::Debug for CompiledKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledKernel")
            .field("name", &self.name)
            .field("units", &self.units)
            .field("grain", &self.grain)
            .field("unit_cost", &self.unit_cost)
            .field("scratch_bytes", &self.scratch_bytes)
            .field("finish", &self.finish.is_some())
            .finish()
    }
}
