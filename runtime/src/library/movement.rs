//! Data movement without arithmetic: concatenate and reverse. Both move
//! whole elements as bytes, so one routine serves every dtype.

use gradlift_ir::Type;

use super::{copy_strided, next_index, split_at_axis, strides};

/// `concatenate a, b, ..., axis=K`: for each of the `outer` positions
/// before the axis, each operand's contiguous chunk in turn.
#[derive(Clone, Debug)]
pub(crate) struct ConcatPlan {
    outer: usize,
    /// Bytes of each operand's chunk per outer position.
    chunks: Vec<usize>,
}

impl ConcatPlan {
    pub(crate) fn new(parts: &[&Type], axis: usize) -> ConcatPlan {
        let esize = parts[0].dtype.size_bytes();
        let (outer, _, inner) = split_at_axis(parts[0].dims(), axis);
        let chunks = parts.iter().map(|p| p.dims()[axis] * inner * esize).collect();
        ConcatPlan { outer, chunks }
    }

    /// # Safety
    ///
    /// `parts[k]` holds operand k, `out` the result; no overlap.
    pub(crate) unsafe fn run(&self, parts: &[*const u8], out: *mut u8) {
        let mut at = 0usize;
        for o in 0..self.outer {
            for (part, &chunk) in parts.iter().zip(&self.chunks) {
                if chunk > 0 {
                    std::ptr::copy_nonoverlapping(part.add(o * chunk), out.add(at), chunk);
                    at += chunk;
                }
            }
        }
    }
}

/// `reverse x, axes=[..]`: index `j` along each reversed axis becomes
/// `n - 1 - j`. The dims after the last reversed axis stay in order, so
/// they are copied as one contiguous row.
#[derive(Clone, Debug)]
pub(crate) struct ReversePlan {
    esize: usize,
    /// Dims up to and including the last reversed axis.
    dims: Vec<usize>,
    /// Strides of those dims, in rows.
    strides: Vec<usize>,
    reversed: Vec<bool>,
    /// Elements per row (the product of the dims after the last reversed
    /// axis).
    row: usize,
    /// Total bytes (for the no-axis case, a plain copy).
    bytes: usize,
}

impl ReversePlan {
    pub(crate) fn new(x: &Type, axes: &[usize]) -> ReversePlan {
        let d = x.dims();
        // Size-1 axes reverse to themselves.
        let last = (0..d.len()).rev().find(|&i| axes.contains(&i) && d[i] > 1);
        let p = last.map_or(0, |l| l + 1);
        let dims = d[..p].to_vec();
        ReversePlan {
            esize: x.dtype.size_bytes(),
            strides: strides(&dims),
            reversed: (0..p).map(|i| axes.contains(&i)).collect(),
            dims,
            row: d[p..].iter().product(),
            bytes: x.shape.size() * x.dtype.size_bytes(),
        }
    }

    pub(crate) fn index_len(&self) -> usize {
        self.dims.len()
    }

    /// # Safety
    ///
    /// `x` and `out` hold the operand and result, no overlap; `idx` has at
    /// least [`ReversePlan::index_len`] entries.
    pub(crate) unsafe fn run(&self, x: *const u8, out: *mut u8, idx: &mut [usize]) {
        if self.bytes == 0 {
            return;
        }
        if self.dims.is_empty() {
            std::ptr::copy_nonoverlapping(x, out, self.bytes);
            return;
        }
        let idx = &mut idx[..self.dims.len()];
        idx.fill(0);
        let r = self.dims.len() - 1;
        // The last kept dim is reversed: walk it as a loop with a negative
        // source step.
        let n = self.dims[r];
        let row_bytes = self.row * self.esize;
        let mut dst = out;
        loop {
            let src_row: usize = (0..r)
                .map(|i| {
                    let j = if self.reversed[i] { self.dims[i] - 1 - idx[i] } else { idx[i] };
                    j * self.strides[i]
                })
                .sum();
            let src = x.add((src_row + n - 1) * row_bytes);
            if self.row == 1 {
                copy_strided(self.esize, src, -1, dst, 1, n);
            } else {
                for j in 0..n {
                    std::ptr::copy_nonoverlapping(
                        src.sub(j * row_bytes),
                        dst.add(j * row_bytes),
                        row_bytes,
                    );
                }
            }
            dst = dst.add(n * row_bytes);
            if !next_index(&mut idx[..r], &self.dims[..r]) {
                break;
            }
        }
    }
}
