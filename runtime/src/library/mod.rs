//! Library routines: the IR ops the compiler does not turn into JIT kernels.
//!
//! | op | routine | dtypes |
//! | --- | --- | --- |
//! | `dot_general` | `dot.rs`: GEMM (the `gemm` crate) for f32/f64, a wrapping loop for i32/i64 | numeric |
//! | `gather` | `indexing.rs`: clamped indices (XLA clip mode) | all |
//! | `scatter_add` | `indexing.rs`: clamped indices, duplicates add in increasing index order | numeric |
//! | `pad` | `pad.rs`: negative low/high crop, interior padding | all |
//! | `concatenate` | `movement.rs` | all |
//! | `reverse` | `movement.rs` | all |
//! | `argmax` | `argmax.rs`: first maximum, NaN is the maximum, i64 result | numeric |
//! | `reshape`, `stop_gradient` | a plain copy of the bytes | all |
//!
//! Semantics are exactly the reference interpreter's (`gradlift_ir::interp`),
//! bit for bit, except that f32/f64 `dot_general` sums in GEMM's order (with
//! FMA) rather than sequentially. Every routine is planned once, when the
//! executable is built (checking the operand
//! types with the IR's shape rule), and then writes straight into its output
//! buffer without allocating.

pub(crate) mod argmax;
pub(crate) mod dot;
pub(crate) mod indexing;
pub(crate) mod movement;
pub(crate) mod pad;

use gradlift_ir::{shape, DType, Op, Type};

use crate::pool::ThreadPool;

/// The ops a library step may compute, for error messages.
pub const SUPPORTED_OPS: &str =
    "dot_general, gather, scatter_add, pad, concatenate, reverse, argmax, reshape, stop_gradient";

/// A library step, planned: the op's geometry worked out once.
#[derive(Clone, Debug)]
pub(crate) enum LibraryCall {
    /// `reshape`, `stop_gradient`: copy `bytes` bytes.
    Copy {
        bytes: usize,
    },
    Concatenate(movement::ConcatPlan),
    Reverse(movement::ReversePlan),
    Pad(pad::PadPlan),
    Gather(indexing::GatherPlan),
    ScatterAdd(indexing::ScatterPlan),
    Argmax(argmax::ArgmaxPlan),
    Dot(dot::DotPlan),
}

/// Why a library step cannot be planned.
#[derive(Debug)]
pub(crate) enum PlanError {
    /// The op has no library routine.
    Unsupported,
    /// The operand or output types do not fit the op.
    Types(String),
}

/// Per-call scratch a routine may use: the workspace's packing area (sized
/// by [`LibraryCall::pack_bytes`]), an index buffer (sized by
/// [`LibraryCall::index_len`]) and the thread pool.
pub(crate) struct LibCtx<'a> {
    pub pack: *mut u8,
    pub index: &'a mut [usize],
    pub pool: &'a ThreadPool,
}

impl LibraryCall {
    /// Plans `op` on operands of types `inputs` producing `output`. The
    /// IR's shape rule must accept the operands and give exactly `output`.
    pub(crate) fn plan(op: &Op, inputs: &[&Type], output: &Type) -> Result<LibraryCall, PlanError> {
        let supported = matches!(
            op,
            Op::DotGeneral(_)
                | Op::Gather { .. }
                | Op::ScatterAdd { .. }
                | Op::Pad(_)
                | Op::Concatenate { .. }
                | Op::Reverse { .. }
                | Op::Argmax { .. }
                | Op::Reshape { .. }
                | Op::StopGradient
        );
        if !supported {
            return Err(PlanError::Unsupported);
        }
        let want = shape::infer(op, inputs).map_err(|e| PlanError::Types(e.to_string()))?;
        if &want != output {
            return Err(PlanError::Types(format!(
                "{} of {} gives {want}, but the output buffer is {output}",
                op.name(),
                inputs.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(match op {
            Op::Reshape { .. } | Op::StopGradient => LibraryCall::Copy { bytes: byte_size(output) },
            Op::Concatenate { axis } => {
                LibraryCall::Concatenate(movement::ConcatPlan::new(inputs, *axis))
            }
            Op::Reverse { axes } => {
                LibraryCall::Reverse(movement::ReversePlan::new(inputs[0], axes))
            }
            Op::Pad(p) => LibraryCall::Pad(pad::PadPlan::new(inputs[0], p, output)),
            Op::Gather { axis } => {
                LibraryCall::Gather(indexing::GatherPlan::new(inputs[0], inputs[1], *axis))
            }
            Op::ScatterAdd { axis } => {
                LibraryCall::ScatterAdd(indexing::ScatterPlan::new(inputs[0], inputs[1], *axis))
            }
            Op::Argmax { axis } => LibraryCall::Argmax(argmax::ArgmaxPlan::new(inputs[0], *axis)),
            Op::DotGeneral(d) => LibraryCall::Dot(dot::DotPlan::new(inputs[0], inputs[1], d)),
            // Checked above.
            _ => return Err(PlanError::Unsupported),
        })
    }

    /// Bytes of packing scratch the call needs (64-byte aligned).
    pub(crate) fn pack_bytes(&self) -> usize {
        match self {
            LibraryCall::Dot(d) => d.pack_bytes(),
            _ => 0,
        }
    }

    /// Length of the index buffer the call needs.
    pub(crate) fn index_len(&self) -> usize {
        match self {
            LibraryCall::Reverse(r) => r.index_len(),
            LibraryCall::Pad(p) => p.index_len(),
            _ => 0,
        }
    }

    /// Whether the output may be the same memory as input `i` (an in-place
    /// update).
    pub(crate) fn may_alias_input(&self, i: usize) -> bool {
        matches!(self, LibraryCall::ScatterAdd(_)) && i == 0
    }

    /// Runs the call.
    ///
    /// # Safety
    ///
    /// `ins[i]` points to a readable buffer of input `i`'s planned type,
    /// `out` to a writable buffer of the output type that overlaps no input
    /// (except where [`LibraryCall::may_alias_input`] allows it, in which
    /// case it is the same address), and `cx` provides the scratch the plan
    /// asked for.
    pub(crate) unsafe fn run(&self, ins: &[*const u8], out: *mut u8, cx: &mut LibCtx<'_>) {
        match self {
            LibraryCall::Copy { bytes } => {
                if *bytes > 0 && ins[0] != out.cast_const() {
                    std::ptr::copy_nonoverlapping(ins[0], out, *bytes);
                }
            }
            LibraryCall::Concatenate(p) => p.run(ins, out),
            LibraryCall::Reverse(p) => p.run(ins[0], out, cx.index),
            LibraryCall::Pad(p) => p.run(ins[0], ins[1], out, cx.index),
            LibraryCall::Gather(p) => p.run(ins[0], ins[1], out),
            LibraryCall::ScatterAdd(p) => p.run(ins[0], ins[1], ins[2], out),
            LibraryCall::Argmax(p) => p.run(ins[0], out),
            LibraryCall::Dot(p) => p.run(ins[0], ins[1], out, cx),
        }
    }
}

/// Bytes of a dense buffer of type `ty`.
pub(crate) fn byte_size(ty: &Type) -> usize {
    ty.shape.size() * ty.dtype.size_bytes()
}

/// `(outer, n, inner)`: the element counts before, at and after `axis`.
pub(crate) fn split_at_axis(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}

/// Row-major strides, in elements.
pub(crate) fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![0usize; dims.len()];
    let mut acc = 1usize;
    for i in (0..dims.len()).rev() {
        s[i] = acc;
        acc *= dims[i];
    }
    s
}

/// Copies `n` elements of `esize` bytes from `src` (stepping `src_step`
/// elements) to `dst` (stepping `dst_step` elements). Element moves, not
/// arithmetic: bit exact for every dtype.
///
/// # Safety
///
/// Both ranges are valid for the elements touched and do not overlap.
pub(crate) unsafe fn copy_strided(
    esize: usize,
    src: *const u8,
    src_step: isize,
    dst: *mut u8,
    dst_step: isize,
    n: usize,
) {
    if src_step == 1 && dst_step == 1 {
        std::ptr::copy_nonoverlapping(src, dst, n * esize);
        return;
    }
    macro_rules! go {
        ($t:ty) => {{
            let (s, d) = (src.cast::<$t>(), dst.cast::<$t>());
            for i in 0..n as isize {
                d.offset(i * dst_step).write_unaligned(s.offset(i * src_step).read_unaligned());
            }
        }};
    }
    match esize {
        1 => go!(u8),
        4 => go!(u32),
        8 => go!(u64),
        _ => unreachable!("element size {esize}"),
    }
}

/// Advances the row-major multi-index `idx` over `dims` by one (the last
/// axis fastest). Returns false after the last index (wrapping to zeros).
pub(crate) fn next_index(idx: &mut [usize], dims: &[usize]) -> bool {
    for k in (0..dims.len()).rev() {
        idx[k] += 1;
        if idx[k] < dims[k] {
            return true;
        }
        idx[k] = 0;
    }
    false
}

/// Index-typed read: indices are i32 or i64 (shape rule).
///
/// # Safety
///
/// `p` points to at least `j + 1` elements of `dtype`.
pub(crate) unsafe fn read_index(p: *const u8, dtype: DType, j: usize) -> i64 {
    match dtype {
        DType::I32 => i64::from(p.cast::<i32>().add(j).read_unaligned()),
        _ => p.cast::<i64>().add(j).read_unaligned(),
    }
}
