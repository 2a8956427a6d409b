//! A reference executor for compiled kernels on host tensors, used by
//! tests, benchmarks and the command-line tool. Single-threaded and
//! allocating; the runtime's executor is the fast one.

use std::ops::Range;

use gradlift_ir::{DType, Data, Function, Tensor, Type};
use gradlift_runtime::CompiledKernel;

use crate::error::CompileError;

/// A zeroed, 8-byte aligned byte buffer.
struct Buffer {
    words: Vec<u64>,
}

impl Buffer {
    fn new(bytes: usize) -> Buffer {
        Buffer { words: vec![0u64; bytes.div_ceil(8).max(1)] }
    }

    fn ptr(&mut self) -> *mut u8 {
        self.words.as_mut_ptr().cast()
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: u64 has no padding; any byte of it may be read as u8.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast(), self.words.len() * 8) }
    }
}

/// Runs `kernel` (compiled from `body`) on `args`: every unit in one call,
/// then `finish`.
pub fn run_kernel(
    kernel: &CompiledKernel,
    body: &Function,
    args: &[Tensor],
) -> Result<Vec<Tensor>, CompileError> {
    let all = 0..kernel.units;
    run_kernel_ranges(kernel, body, args, std::slice::from_ref(&all))
}

/// Runs `kernel` with `main` called once per range, in the order given
/// (the ranges must cover `0..units` exactly once), then `finish`.
pub fn run_kernel_ranges(
    kernel: &CompiledKernel,
    body: &Function,
    args: &[Tensor],
    ranges: &[Range<usize>],
) -> Result<Vec<Tensor>, CompileError> {
    let err = |msg: String| CompileError::codegen(&kernel.name, msg);
    let params = body.param_types();
    if args.len() != params.len() {
        return Err(err(format!("expects {} arguments, got {}", params.len(), args.len())));
    }
    for (i, (a, t)) in args.iter().zip(&params).enumerate() {
        if a.dtype() != t.dtype || a.dims() != t.dims() {
            return Err(err(format!("argument {i} must be {t}, got {}", a.ty())));
        }
    }
    let mut covered = vec![false; kernel.units];
    for r in ranges {
        if r.start > r.end || r.end > kernel.units {
            return Err(err(format!("range {r:?} outside 0..{}", kernel.units)));
        }
        for c in &mut covered[r.clone()] {
            if *c {
                return Err(err(format!("unit range {r:?} overlaps another")));
            }
            *c = true;
        }
    }
    if covered.iter().any(|c| !c) {
        return Err(err(format!("the ranges do not cover 0..{}", kernel.units)));
    }
    let results = body.result_types();
    let mut outputs: Vec<Buffer> =
        results.iter().map(|t| Buffer::new(t.shape.size() * t.dtype.size_bytes())).collect();
    let mut scratch: Vec<Buffer> = kernel.scratch_bytes.iter().map(|&n| Buffer::new(n)).collect();
    let mut table: Vec<*mut u8> = args.iter().map(input_ptr).collect();
    table.extend(outputs.iter_mut().map(Buffer::ptr));
    table.extend(scratch.iter_mut().map(Buffer::ptr));
    for r in ranges {
        if r.start < r.end {
            // SAFETY: the table holds the inputs (of the body's parameter
            // types, checked above), outputs and scratch buffers of the
            // sizes the kernel was compiled for; the kernel touches only
            // those elements, and the code lives while `kernel.code` does.
            unsafe { (kernel.main)(table.as_ptr(), r.start, r.end) };
        }
    }
    if let Some(finish) = kernel.finish {
        // SAFETY: as above; every unit has completed.
        unsafe { finish(table.as_ptr(), 0, 1) };
    }
    results.iter().zip(&outputs).map(|(t, b)| to_tensor(t, b.bytes()).map_err(err)).collect()
}

/// The address of a tensor's elements (read only by kernels).
fn input_ptr(t: &Tensor) -> *mut u8 {
    match t.data() {
        Data::F32(v) => v.as_ptr() as *mut u8,
        Data::F64(v) => v.as_ptr() as *mut u8,
        Data::I32(v) => v.as_ptr() as *mut u8,
        Data::I64(v) => v.as_ptr() as *mut u8,
        // bool is one byte, 0 or 1: the kernels' layout.
        Data::Bool(v) => v.as_ptr() as *mut u8,
    }
}

fn to_tensor(t: &Type, bytes: &[u8]) -> Result<Tensor, String> {
    let n = t.shape.size();
    let data = match t.dtype {
        DType::F32 => Data::F32(
            bytes
                .chunks_exact(4)
                .take(n)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        DType::F64 => {
            Data::F64(bytes.chunks_exact(8).take(n).map(le_u64).map(f64::from_bits).collect())
        }
        DType::I32 => Data::I32(
            bytes
                .chunks_exact(4)
                .take(n)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        DType::I64 => Data::I64(bytes.chunks_exact(8).take(n).map(|c| le_u64(c) as i64).collect()),
        DType::Bool => {
            if let Some(b) = bytes[..n].iter().find(|&&b| b > 1) {
                return Err(format!("kernel wrote the byte {b} into a bool output"));
            }
            Data::Bool(bytes[..n].iter().map(|&b| b == 1).collect())
        }
    };
    Tensor::new(t.shape.clone(), data).map_err(|e| e.to_string())
}

fn le_u64(c: &[u8]) -> u64 {
    u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
}
