//! `pad x, value, low=[..], high=[..], interior=[..]` as XLA defines it:
//! `interior[i]` copies of `value` between neighbours along dim i, then
//! `low[i]` before and `high[i]` after; a negative low/high crops that many
//! elements from that end instead. Element moves only, any dtype.

use gradlift_ir::{PadAttrs, Type};

use super::{copy_strided, strides};

#[derive(Clone, Debug)]
pub(crate) struct PadPlan {
    esize: usize,
    out_elems: usize,
    /// Per operand dim: the first and one-past-last operand index that
    /// lands inside the result (empty if the dim is cropped away).
    src_lo: Vec<usize>,
    src_hi: Vec<usize>,
    src_strides: Vec<usize>,
    /// Result position of operand index 0 (may be negative) and the step
    /// between neighbours (`interior + 1`), per dim.
    dst_start: Vec<i64>,
    dst_step: Vec<usize>,
    dst_strides: Vec<usize>,
}

impl PadPlan {
    pub(crate) fn new(x: &Type, p: &PadAttrs, out: &Type) -> PadPlan {
        let (xd, od) = (x.dims(), out.dims());
        let r = xd.len();
        let mut plan = PadPlan {
            esize: x.dtype.size_bytes(),
            out_elems: out.shape.size(),
            src_lo: Vec::with_capacity(r),
            src_hi: Vec::with_capacity(r),
            src_strides: strides(xd),
            dst_start: Vec::with_capacity(r),
            dst_step: Vec::with_capacity(r),
            dst_strides: strides(od),
        };
        for i in 0..r {
            let step = p.interior[i] as i128 + 1;
            let low = p.low[i] as i128;
            // Operand index j lands at low + j * step; keep 0 <= that < out.
            let lo = if low >= 0 { 0 } else { (-low + step - 1) / step };
            let hi = if od[i] as i128 - 1 - low < 0 {
                0
            } else {
                ((od[i] as i128 - 1 - low) / step + 1).min(xd[i] as i128)
            };
            let lo = lo.min(xd[i] as i128);
            plan.src_lo.push(lo as usize);
            plan.src_hi.push(hi.max(lo) as usize);
            plan.dst_start.push(p.low[i]);
            plan.dst_step.push(step as usize);
        }
        plan
    }

    pub(crate) fn index_len(&self) -> usize {
        self.src_lo.len()
    }

    /// # Safety
    ///
    /// `x`, `value` (one element) and `out` hold the operands and result,
    /// `out` overlapping neither; `idx` has at least
    /// [`PadPlan::index_len`] entries.
    pub(crate) unsafe fn run(
        &self,
        x: *const u8,
        value: *const u8,
        out: *mut u8,
        idx: &mut [usize],
    ) {
        fill(self.esize, value, out, self.out_elems);
        let r = self.src_lo.len();
        if r == 0 {
            // A scalar pads to itself.
            std::ptr::copy_nonoverlapping(x, out, self.esize * self.out_elems);
            return;
        }
        if (0..r).any(|i| self.src_lo[i] >= self.src_hi[i]) {
            return;
        }
        // Walk the kept operand indices of every dim but the last; move the
        // last dim's kept run with a strided copy.
        let idx = &mut idx[..r];
        let last = r - 1;
        let (lo, hi) = (&self.src_lo, &self.src_hi);
        idx.fill(0);
        loop {
            let mut src = 0usize;
            let mut dst = 0usize;
            for i in 0..r {
                let j = if i == last { lo[i] } else { lo[i] + idx[i] };
                src += j * self.src_strides[i];
                let pos = self.dst_start[i] + (j * self.dst_step[i]) as i64;
                dst += pos as usize * self.dst_strides[i];
            }
            copy_strided(
                self.esize,
                x.add(src * self.esize),
                1,
                out.add(dst * self.esize),
                self.dst_step[last] as isize,
                hi[last] - lo[last],
            );
            if !next_kept(&mut idx[..last], &lo[..last], &hi[..last]) {
                break;
            }
        }
    }
}

/// Advances `idx` (offsets from `lo`) over the boxes `[lo, hi)`.
fn next_kept(idx: &mut [usize], lo: &[usize], hi: &[usize]) -> bool {
    for k in (0..idx.len()).rev() {
        idx[k] += 1;
        if lo[k] + idx[k] < hi[k] {
            return true;
        }
        idx[k] = 0;
    }
    false
}

/// Writes `n` copies of the element at `value` to `out`.
unsafe fn fill(esize: usize, value: *const u8, out: *mut u8, n: usize) {
    macro_rules! go {
        ($t:ty) => {{
            let v = value.cast::<$t>().read_unaligned();
            let o = out.cast::<$t>();
            for i in 0..n {
                o.add(i).write_unaligned(v);
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
