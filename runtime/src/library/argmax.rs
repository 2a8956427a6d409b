//! `argmax x, axis=K` → i64: the index of the first maximum along the axis;
//! NaN counts as larger than everything, so the first NaN wins; -0 and +0
//! are equal (the first wins). The axis is never empty (shape rule).

use gradlift_ir::{DType, Type};

use super::split_at_axis;

#[derive(Clone, Debug)]
pub(crate) struct ArgmaxPlan {
    dtype: DType,
    outer: usize,
    n: usize,
    inner: usize,
}

/// What argmax needs of an element type.
trait Key: Copy + PartialOrd {
    fn is_nan(self) -> bool;
}

impl Key for f32 {
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}
impl Key for f64 {
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}
impl Key for i32 {
    fn is_nan(self) -> bool {
        false
    }
}
impl Key for i64 {
    fn is_nan(self) -> bool {
        false
    }
}

impl ArgmaxPlan {
    pub(crate) fn new(x: &Type, axis: usize) -> ArgmaxPlan {
        let (outer, n, inner) = split_at_axis(x.dims(), axis);
        ArgmaxPlan { dtype: x.dtype, outer, n, inner }
    }

    /// # Safety
    ///
    /// `x` holds the operand and `out` the i64 result, both aligned, no
    /// overlap.
    pub(crate) unsafe fn run(&self, x: *const u8, out: *mut u8) {
        match self.dtype {
            DType::F32 => self.typed::<f32>(x, out),
            DType::F64 => self.typed::<f64>(x, out),
            DType::I32 => self.typed::<i32>(x, out),
            DType::I64 => self.typed::<i64>(x, out),
            // The shape rule admits numeric dtypes only.
            DType::Bool => unreachable!("argmax on bool"),
        }
    }

    unsafe fn typed<T: Key>(&self, x: *const u8, out: *mut u8) {
        let (outer, n, inner) = (self.outer, self.n, self.inner);
        if outer * inner == 0 {
            return;
        }
        let x = std::slice::from_raw_parts(x.cast::<T>(), outer * n * inner);
        let out = std::slice::from_raw_parts_mut(out.cast::<i64>(), outer * inner);
        for (o, best) in out.chunks_exact_mut(inner).enumerate() {
            let block = &x[o * n * inner..][..n * inner];
            // The running best index of each column lives in the output;
            // rows are scanned in order so the access stays sequential.
            best.fill(0);
            for j in 1..n {
                let row = &block[j * inner..][..inner];
                for (i, b) in best.iter_mut().enumerate() {
                    let cur = block[*b as usize * inner + i];
                    if !cur.is_nan() && (row[i].is_nan() || row[i] > cur) {
                        *b = j as i64;
                    }
                }
            }
        }
    }
}
