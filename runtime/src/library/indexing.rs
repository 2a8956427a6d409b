//! gather and scatter_add along one axis with XLA's clamped indices
//! (`np.take(..., mode='clip')`): every index is clamped into `[0, n-1]`.

use gradlift_ir::{DType, Type};

use super::{read_index, split_at_axis};

/// `gather x, idx, axis=K`: result element `(o, j, i)` (o over `x[:K]`, j
/// over `idx`, i over `x[K+1:]`) is `x[o, clamp(idx[j]), i]`; each `(o, j)`
/// moves one contiguous row of `inner` elements.
#[derive(Clone, Debug)]
pub(crate) struct GatherPlan {
    esize: usize,
    index_dtype: DType,
    outer: usize,
    n: usize,
    inner: usize,
    count: usize,
}

impl GatherPlan {
    pub(crate) fn new(x: &Type, idx: &Type, axis: usize) -> GatherPlan {
        let (outer, n, inner) = split_at_axis(x.dims(), axis);
        GatherPlan {
            esize: x.dtype.size_bytes(),
            index_dtype: idx.dtype,
            outer,
            n,
            inner,
            count: idx.shape.size(),
        }
    }

    /// # Safety
    ///
    /// `x`, `idx` and `out` hold the operands and the result; `out`
    /// overlaps neither.
    pub(crate) unsafe fn run(&self, x: *const u8, idx: *const u8, out: *mut u8) {
        let row = self.inner * self.esize;
        if row == 0 || self.count == 0 {
            return;
        }
        let last = self.n as i64 - 1;
        let mut dst = out;
        for o in 0..self.outer {
            let base = x.add(o * self.n * row);
            for j in 0..self.count {
                let c = read_index(idx, self.index_dtype, j).clamp(0, last) as usize;
                std::ptr::copy_nonoverlapping(base.add(c * row), dst, row);
                dst = dst.add(row);
            }
        }
    }
}

/// `scatter_add x, idx, upd, axis=K`: the result is `x` with every update
/// `upd[o, j, i]` added at `[o, clamp(idx[j]), i]`, in row-major order of
/// `upd`, so duplicates accumulate in increasing `j` (the interpreter's
/// order, bit for bit). Integers wrap.
#[derive(Clone, Debug)]
pub(crate) struct ScatterPlan {
    dtype: DType,
    index_dtype: DType,
    outer: usize,
    n: usize,
    inner: usize,
    count: usize,
}

impl ScatterPlan {
    pub(crate) fn new(x: &Type, idx: &Type, axis: usize) -> ScatterPlan {
        let (outer, n, inner) = split_at_axis(x.dims(), axis);
        ScatterPlan {
            dtype: x.dtype,
            index_dtype: idx.dtype,
            outer,
            n,
            inner,
            count: idx.shape.size(),
        }
    }

    /// # Safety
    ///
    /// `x`, `idx`, `upd` and `out` hold the operands and result, aligned
    /// for the dtype; `out` is either exactly `x` (in place) or overlaps no
    /// operand.
    pub(crate) unsafe fn run(&self, x: *const u8, idx: *const u8, upd: *const u8, out: *mut u8) {
        match self.dtype {
            DType::F32 => self.typed::<f32>(x, idx, upd, out, |a, b| a + b),
            DType::F64 => self.typed::<f64>(x, idx, upd, out, |a, b| a + b),
            DType::I32 => self.typed::<i32>(x, idx, upd, out, i32::wrapping_add),
            DType::I64 => self.typed::<i64>(x, idx, upd, out, i64::wrapping_add),
            // The shape rule admits numeric dtypes only.
            DType::Bool => unreachable!("scatter_add on bool"),
        }
    }

    unsafe fn typed<T: Copy>(
        &self,
        x: *const u8,
        idx: *const u8,
        upd: *const u8,
        out: *mut u8,
        add: impl Fn(T, T) -> T,
    ) {
        let total = self.outer * self.n * self.inner;
        if x != out.cast_const() && total > 0 {
            std::ptr::copy_nonoverlapping(x, out, total * std::mem::size_of::<T>());
        }
        if self.count == 0 || self.inner == 0 || self.outer == 0 {
            return;
        }
        let out = std::slice::from_raw_parts_mut(out.cast::<T>(), total);
        let upd = std::slice::from_raw_parts(upd.cast::<T>(), self.outer * self.count * self.inner);
        let last = self.n as i64 - 1;
        let mut u = upd.chunks_exact(self.inner);
        for o in 0..self.outer {
            for j in 0..self.count {
                let c = read_index(idx, self.index_dtype, j).clamp(0, last) as usize;
                let row = &mut out[(o * self.n + c) * self.inner..][..self.inner];
                // `u` has exactly outer * count rows.
                let src = u.next().unwrap_or_default();
                for (d, &s) in row.iter_mut().zip(src) {
                    *d = add(*d, s);
                }
            }
        }
    }
}
