//! `dot_general` as a batched matrix product.
//!
//! The result (XLA order: batch dims, then lhs free dims, then rhs free
//! dims) is, for each batch index `b`, a row-major `M × N` matrix
//! `C_b = A_b · B_b` with `A_b` the lhs viewed as `M × K` (free dims ×
//! contracting dims) and `B_b` the rhs viewed as `K × N`. When each group of
//! dims of an operand flattens to a single stride (always true for plain
//! and transposed matrices), the operand is used in place through row and
//! column strides; otherwise it is first copied into the workspace's
//! packing area in `[batch, rows, cols]` order. A transposed rhs whose
//! columns lie a multiple of [`TRANSPOSE_STRIDE_BYTES`] apart (the weight
//! of `x · Wᵀ` with 256 or 512 inputs) is copied too, by a blocked
//! transpose: GEMM reads it far faster in that layout.
//!
//! f32 and f64 go through the `gemm` crate (single-threaded calls);
//! i32 and i64 through a plain loop with wrapping arithmetic (exactly the
//! interpreter's result, since wrapping sums do not depend on order).
//!
//! # Threads and determinism
//!
//! Big products are cut into pieces that depend only on the shapes: whole
//! batches, else bands of result columns, rows, or both (tiles), each
//! computing its part of `C` over the full `K`. The pieces are then spread over the pool, so
//! 1, 2 or 8 threads run exactly the same GEMM calls and give the same
//! bits. Splitting never cuts `K`.

use gradlift_ir::{DType, DotDims, Type};

use super::{next_index, strides, LibCtx};
use crate::pool::ThreadPool;
use crate::program::ARENA_ALIGN;

/// Below this many multiply-adds, a product runs as one piece.
const PAR_MACS: usize = 1 << 20;
/// Rough size of one piece, in multiply-adds.
const PIECE_MACS: usize = 1 << 22;
/// Narrowest band of columns (or rows) worth a piece of its own: GEMM
/// packs the other operand once per piece, so bands stay wide.
const MIN_BAND: usize = 256;

#[derive(Clone, Debug)]
pub(crate) struct DotPlan {
    dtype: DType,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    lhs: Side,
    rhs: Side,
    split: Split,
    /// Byte offset of the rhs's packed copy in the packing area.
    rhs_pack_at: usize,
}

/// One operand seen as a matrix per batch.
#[derive(Clone, Debug)]
struct Side {
    /// Element offset of each batch in the operand.
    batch_at: Vec<usize>,
    /// Row and column strides (elements) of the matrix view: of the operand
    /// itself, or of its packed copy.
    rs: isize,
    cs: isize,
    /// How the operand reaches the GEMM.
    feed: Feed,
}

/// How an operand reaches the GEMM.
#[derive(Clone, Debug)]
enum Feed {
    /// In place, through its strides.
    InPlace,
    /// Through a `[batch, rows, cols]` copy gathered element by element:
    /// the offsets of each row and each column in the operand.
    Gather(Vec<usize>, Vec<usize>),
    /// Through a copy made by a blocked transpose (a transposed matrix,
    /// e.g. the weight in `x · Wᵀ`).
    Transpose(Transposed),
}

/// A transposed copy: `rows × cols` per batch, rows `ld` elements apart,
/// of an operand whose columns lie `stride` elements apart and whose rows
/// are adjacent.
#[derive(Clone, Copy, Debug)]
struct Transposed {
    rows: usize,
    cols: usize,
    stride: usize,
    /// Row length of the copy: `cols` plus one cache line, so that the
    /// copy's rows do not share L1 sets the way the operand's columns do.
    ld: usize,
}

/// A transposed operand whose columns lie a multiple of this many bytes
/// apart is transposed into the packing area before the GEMM. At such
/// strides the `gemm` crate's own packing, which gathers one element from
/// each of its panel's columns per step, keeps hitting the same few L1
/// sets: `x · Wᵀ` with `W` 512 × 512 f32 ran at 69 GFLOP/s against 92 for
/// the untransposed layout, and the transpose costs ~0.5 ns an element
/// (a probe calling `gemm` directly, AMD Zen 4, one thread; BENCHMARKS.md).
const TRANSPOSE_STRIDE_BYTES: usize = 1024;

/// Columns per piece of a parallel transpose.
const TRANSPOSE_BAND: usize = 64;

/// How the product is cut into pieces (see the module docs).
#[derive(Clone, Copy, Debug)]
enum Split {
    /// Piece p computes batches `[p * per, (p + 1) * per)`.
    Batches { per: usize, pieces: usize },
    /// Piece p computes result columns `[p * width, (p + 1) * width)`.
    Cols { width: usize, pieces: usize },
    /// Piece p computes result rows `[p * width, (p + 1) * width)`.
    Rows { width: usize, pieces: usize },
    /// Piece p computes the block of row band `p / cols` and column band
    /// `p % cols` (bands of `rw` rows and `cw` columns).
    Tiles { rw: usize, cw: usize, rows: usize, cols: usize },
}

impl Split {
    fn pieces(self) -> usize {
        match self {
            Split::Batches { pieces, .. }
            | Split::Cols { pieces, .. }
            | Split::Rows { pieces, .. } => pieces,
            Split::Tiles { rows, cols, .. } => rows * cols,
        }
    }
}

impl DotPlan {
    /// Plans `l · r` with dimension numbers `d` (already checked by the
    /// shape rule).
    pub(crate) fn new(l: &Type, r: &Type, d: &DotDims) -> DotPlan {
        let free = |rank: usize, batch: &[usize], contract: &[usize]| -> Vec<usize> {
            (0..rank).filter(|i| !batch.contains(i) && !contract.contains(i)).collect()
        };
        let l_free = free(l.rank(), &d.lhs_batch, &d.lhs_contract);
        let r_free = free(r.rank(), &d.rhs_batch, &d.rhs_contract);
        let size =
            |t: &Type, axes: &[usize]| -> usize { axes.iter().map(|&a| t.dims()[a]).product() };
        let batch = size(l, &d.lhs_batch);
        let m = size(l, &l_free);
        let k = size(l, &d.lhs_contract);
        let n = size(r, &r_free);

        let lhs = Side::new(l, &d.lhs_batch, &l_free, &d.lhs_contract, batch);
        let mut rhs = Side::new(r, &d.rhs_batch, &d.rhs_contract, &r_free, batch);
        let esize = l.dtype.size_bytes();
        let macs = batch.saturating_mul(m).saturating_mul(n).saturating_mul(k);
        if l.dtype.is_float() && macs >= PAR_MACS {
            rhs.transpose_if_strided(k, n, esize);
        }
        let lhs_pack = if lhs.copied() { batch * m * lhs.rs as usize * esize } else { 0 };
        DotPlan {
            dtype: l.dtype,
            batch,
            m,
            k,
            n,
            lhs,
            rhs,
            split: split(batch, m, k, n),
            rhs_pack_at: lhs_pack.next_multiple_of(ARENA_ALIGN),
        }
    }

    pub(crate) fn pack_bytes(&self) -> usize {
        let esize = self.dtype.size_bytes();
        let rhs =
            if self.rhs.copied() { self.batch * self.k * self.rhs.rs as usize * esize } else { 0 };
        if rhs > 0 {
            self.rhs_pack_at + rhs
        } else {
            self.rhs_pack_at
        }
    }

    /// # Safety
    ///
    /// `l`, `r` and `out` hold the operands and result (aligned, `out`
    /// overlapping neither); `cx.pack` has [`DotPlan::pack_bytes`] bytes.
    pub(crate) unsafe fn run(&self, l: *const u8, r: *const u8, out: *mut u8, cx: &mut LibCtx<'_>) {
        let esize = self.dtype.size_bytes();
        let lhs = if self.lhs.copied() {
            self.lhs.pack_into(esize, l, cx.pack, cx.pool);
            cx.pack.cast_const()
        } else {
            l
        };
        // A transposed rhs is copied by the pieces themselves where each
        // piece reads its own columns or batches of it: the copy is then
        // made by the core that multiplies it, and stays in its cache.
        let local = matches!(self.rhs.feed, Feed::Transpose(_))
            && matches!(self.split, Split::Cols { .. } | Split::Batches { .. });
        let rhs = if self.rhs.copied() {
            let at = cx.pack.add(self.rhs_pack_at);
            if !local {
                self.rhs.pack_into(esize, r, at, cx.pool);
            }
            at.cast_const()
        } else {
            r
        };
        let job = Job {
            plan: self,
            lhs: Ptr(lhs.cast_mut()),
            rhs: Ptr(rhs.cast_mut()),
            out: Ptr(out),
            local_rhs: local.then_some(Ptr(r.cast_mut())),
        };
        let pieces = self.split.pieces();
        if pieces <= 1 {
            job.piece(0);
        } else {
            cx.pool.for_each(pieces, &|p| job.piece(p));
        }
    }

    /// Element offset of batch `b` in the matrix the product reads: the
    /// operand's own, or the packed copy's (`rows` rows of `side.rs`).
    fn batch_at(side: &Side, b: usize, rows: usize) -> usize {
        if side.copied() {
            b * rows * side.rs as usize
        } else {
            side.batch_at[b]
        }
    }

    /// `C[rows i0.., cols j0..] = A[i0.., :] · B[:, j0..]` for batch `b`,
    /// an `mm × nn` block.
    #[allow(clippy::too_many_arguments)]
    unsafe fn block(
        &self,
        b: usize,
        (i0, mm): (usize, usize),
        (j0, nn): (usize, usize),
        lhs: *const u8,
        rhs: *const u8,
        out: *mut u8,
    ) {
        let (m, k, n) = (self.m, self.k, self.n);
        let a_at = Self::batch_at(&self.lhs, b, m) as isize + i0 as isize * self.lhs.rs;
        let b_at = Self::batch_at(&self.rhs, b, k) as isize + j0 as isize * self.rhs.cs;
        let c_at = b * m * n + i0 * n + j0;
        let (ars, acs, brs, bcs) = (self.lhs.rs, self.lhs.cs, self.rhs.rs, self.rhs.cs);
        match self.dtype {
            DType::F32 => float_block::<f32>(
                (lhs.cast::<f32>().offset(a_at), ars, acs),
                (rhs.cast::<f32>().offset(b_at), brs, bcs),
                out.cast::<f32>().add(c_at),
                (mm, k, nn, n),
                (0.0, 1.0),
            ),
            DType::F64 => float_block::<f64>(
                (lhs.cast::<f64>().offset(a_at), ars, acs),
                (rhs.cast::<f64>().offset(b_at), brs, bcs),
                out.cast::<f64>().add(c_at),
                (mm, k, nn, n),
                (0.0, 1.0),
            ),
            DType::I32 => int_block::<i32>(
                (lhs.cast::<i32>().offset(a_at), ars, acs),
                (rhs.cast::<i32>().offset(b_at), brs, bcs),
                out.cast::<i32>().add(c_at),
                (mm, k, nn, n),
                i32::wrapping_add,
                i32::wrapping_mul,
            ),
            DType::I64 => int_block::<i64>(
                (lhs.cast::<i64>().offset(a_at), ars, acs),
                (rhs.cast::<i64>().offset(b_at), brs, bcs),
                out.cast::<i64>().add(c_at),
                (mm, k, nn, n),
                i64::wrapping_add,
                i64::wrapping_mul,
            ),
            // The shape rule admits numeric dtypes only.
            DType::Bool => unreachable!("dot_general on bool"),
        }
    }
}

/// `C = A · B` over floats through the `gemm` crate (one thread: the
/// pieces are spread over gradlift's pool instead), `mm × k` times `k × nn`
/// into rows of stride `ldc`; `(zero, one)` are `C`'s weight (it is not
/// read) and the product's.
///
/// # Safety
///
/// `a` and `b` with their strides address `mm × k`
/// and `k × nn` readable matrices, `c` an `mm × nn` block of rows `ldc`
/// apart that overlaps neither.
unsafe fn float_block<T: 'static>(
    (a, ars, acs): (*const T, isize, isize),
    (b, brs, bcs): (*const T, isize, isize),
    c: *mut T,
    (mm, k, nn, ldc): (usize, usize, usize, usize),
    (zero, one): (T, T),
) {
    gemm::gemm(
        mm,
        nn,
        k,
        c,
        1,
        ldc as isize,
        false,
        a,
        acs,
        ars,
        b,
        bcs,
        brs,
        zero,
        one,
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
}

/// `C = A · B` over integers, `mm × k` times `k × nn` into rows of stride
/// `ldc`, accumulating row by row (i-k-j order, contiguous in `C`).
unsafe fn int_block<T: Copy + Default>(
    (a, ars, acs): (*const T, isize, isize),
    (b, brs, bcs): (*const T, isize, isize),
    c: *mut T,
    (mm, k, nn, ldc): (usize, usize, usize, usize),
    add: impl Fn(T, T) -> T,
    mul: impl Fn(T, T) -> T,
) {
    for i in 0..mm {
        let row = std::slice::from_raw_parts_mut(c.add(i * ldc), nn);
        row.fill(T::default());
        for kk in 0..k as isize {
            let x = a.offset(i as isize * ars + kk * acs).read();
            let bk = b.offset(kk * brs);
            for (j, dst) in row.iter_mut().enumerate() {
                *dst = add(*dst, mul(x, bk.offset(j as isize * bcs).read()));
            }
        }
    }
}

impl Side {
    /// Views operand `t` as a matrix with rows over `row_axes` and columns
    /// over `col_axes` (each group flattened in the order listed), per
    /// batch over `batch_axes`.
    fn new(
        t: &Type,
        batch_axes: &[usize],
        row_axes: &[usize],
        col_axes: &[usize],
        batch: usize,
    ) -> Side {
        let (dims, st) = (t.dims(), strides(t.dims()));
        let mut batch_at = Vec::with_capacity(batch);
        if batch > 0 {
            let bd: Vec<usize> = batch_axes.iter().map(|&a| dims[a]).collect();
            let mut idx = vec![0usize; bd.len()];
            loop {
                batch_at.push(idx.iter().zip(batch_axes).map(|(&i, &a)| i * st[a]).sum());
                if !next_index(&mut idx, &bd) {
                    break;
                }
            }
        }
        let rows: usize = row_axes.iter().map(|&a| dims[a]).product();
        let cols: usize = col_axes.iter().map(|&a| dims[a]).product();
        match (flat_stride(dims, &st, row_axes), flat_stride(dims, &st, col_axes)) {
            (Some(rs), Some(cs)) => Side { batch_at, rs, cs, feed: Feed::InPlace },
            _ => Side {
                batch_at,
                rs: cols as isize,
                cs: 1,
                feed: Feed::Gather(
                    offsets(dims, &st, row_axes, rows),
                    offsets(dims, &st, col_axes, cols),
                ),
            },
        }
    }

    /// Whether the GEMM reads a copy of the operand in the packing area.
    fn copied(&self) -> bool {
        !matches!(self.feed, Feed::InPlace)
    }

    /// Feeds a `rows × cols` operand used in place with adjacent rows and
    /// columns [`TRANSPOSE_STRIDE_BYTES`] apart through a transposed copy.
    fn transpose_if_strided(&mut self, rows: usize, cols: usize, esize: usize) {
        let stride = self.cs.unsigned_abs();
        if matches!(self.feed, Feed::InPlace)
            && self.rs == 1
            && self.cs > 1
            && rows > 1
            && cols > 1
            && (stride * esize).is_multiple_of(TRANSPOSE_STRIDE_BYTES)
        {
            let ld = cols + 64 / esize;
            self.feed = Feed::Transpose(Transposed { rows, cols, stride, ld });
            self.rs = ld as isize;
            self.cs = 1;
        }
    }

    /// Copies every batch's matrix into `dst` as `[batch, rows, cols]`
    /// (rows `self.rs` apart), transposes spread over `pool` in bands of
    /// columns.
    unsafe fn pack_into(&self, esize: usize, src: *const u8, dst: *mut u8, pool: &ThreadPool) {
        let (row_at, col_at) = match &self.feed {
            Feed::InPlace => return,
            Feed::Gather(row_at, col_at) => (row_at, col_at),
            &Feed::Transpose(t) => {
                let bands = t.cols.div_ceil(TRANSPOSE_BAND);
                let job = TransposeJob {
                    src: Ptr(src.cast_mut()),
                    dst: Ptr(dst),
                    batch_at: &self.batch_at,
                    esize,
                    t,
                    bands,
                };
                let pieces = self.batch_at.len() * bands;
                if self.batch_at.len() * t.rows * t.cols < PAR_TRANSPOSE {
                    (0..pieces).for_each(|p| job.piece(p));
                } else {
                    pool.for_each(pieces, &|p| job.piece(p));
                }
                return;
            }
        };
        macro_rules! go {
            ($t:ty) => {{
                let (s, mut d) = (src.cast::<$t>(), dst.cast::<$t>());
                for &b in &self.batch_at {
                    for &r in row_at {
                        let base = s.add(b + r);
                        for &c in col_at {
                            d.write(base.add(c).read());
                            d = d.add(1);
                        }
                    }
                }
            }};
        }
        match esize {
            4 => go!(u32),
            8 => go!(u64),
            _ => unreachable!("dot_general element size {esize}"),
        }
    }
}

/// The single stride of a group of axes flattened in the order listed, if
/// it exists (each axis's stride is the next one's times its size; size-1
/// axes do not matter).
fn flat_stride(dims: &[usize], st: &[usize], axes: &[usize]) -> Option<isize> {
    let mut prev: Option<usize> = None;
    for &a in axes.iter().filter(|&&a| dims[a] != 1) {
        if let Some(p) = prev {
            if p != st[a] * dims[a] {
                return None;
            }
        }
        prev = Some(st[a]);
    }
    Some(prev.unwrap_or(1) as isize)
}

/// Element offsets of every index of a group of axes, in row-major order
/// over the group as listed.
fn offsets(dims: &[usize], st: &[usize], axes: &[usize], count: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(count);
    if count == 0 {
        return out;
    }
    let gd: Vec<usize> = axes.iter().map(|&a| dims[a]).collect();
    let mut idx = vec![0usize; gd.len()];
    loop {
        out.push(idx.iter().zip(axes).map(|(&i, &a)| i * st[a]).sum());
        if !next_index(&mut idx, &gd) {
            return out;
        }
    }
}

/// Pieces by shape alone (see the module docs).
fn split(batch: usize, m: usize, k: usize, n: usize) -> Split {
    let one = Split::Batches { per: batch.max(1), pieces: 1 };
    let macs = batch.saturating_mul(m).saturating_mul(n).saturating_mul(k.max(1));
    if macs < PAR_MACS {
        return one;
    }
    // At most 1024 pieces: the pool runs a loop of up to 2^16 pieces.
    let want = macs.div_ceil(PIECE_MACS).min(1024);
    if batch >= 2 {
        let per = batch.div_ceil(want.min(batch));
        return Split::Batches { per, pieces: batch.div_ceil(per) };
    }
    let band = |len: usize, want: usize| -> (usize, usize) {
        let pieces = want.min(len / MIN_BAND).max(1);
        let width = len.div_ceil(pieces).next_multiple_of(64);
        (width, len.div_ceil(width))
    };
    // Column bands first (each packs its slice of B once), then row bands
    // for the pieces still wanted, so that many threads have work.
    let (cw, cols) = if n >= 2 * MIN_BAND { band(n, want) } else { (n, 1) };
    let (rw, rows) = if m >= 2 * MIN_BAND { band(m, want.div_ceil(cols)) } else { (m, 1) };
    match (rows, cols) {
        (1, 1) => one,
        (1, pieces) => Split::Cols { width: cw, pieces },
        (pieces, 1) => Split::Rows { width: rw, pieces },
        (rows, cols) => Split::Tiles { rw, cw, rows, cols },
    }
}

/// Below this many elements, an operand is transposed on the calling thread.
const PAR_TRANSPOSE: usize = 1 << 16;

/// A transposed copy made in pieces: piece `p` fills columns
/// `[band * TRANSPOSE_BAND, ..)` of batch `p / bands`'s `rows × cols` copy.
struct TransposeJob<'a> {
    src: Ptr,
    dst: Ptr,
    batch_at: &'a [usize],
    esize: usize,
    t: Transposed,
    bands: usize,
}

// SAFETY: pieces read the operand (never written during the product) and
// write disjoint column bands of the copy.
unsafe impl Sync for TransposeJob<'_> {}

impl TransposeJob<'_> {
    fn piece(&self, p: usize) {
        let (b, band) = (p / self.bands, p % self.bands);
        let j0 = band * TRANSPOSE_BAND;
        let width = TRANSPOSE_BAND.min(self.t.cols - j0);
        // SAFETY: `DotPlan::run`'s contract: the operand holds the band
        // read and the packing area the copy written.
        unsafe { self.t.band(self.esize, self.src, self.batch_at[b], self.dst, b, (j0, width)) }
    }
}

impl Transposed {
    /// Fills columns `[j0, j0 + width)` of batch `b`'s copy at `dst` from
    /// the operand's batch at element `batch_at` of `src`.
    ///
    /// # Safety
    ///
    /// The operand holds every `batch_at + c * stride + r` read, and `dst`
    /// the `[batch, rows, ld]` copy the band lies in.
    unsafe fn band(
        &self,
        esize: usize,
        src: Ptr,
        batch_at: usize,
        dst: Ptr,
        b: usize,
        (j0, width): (usize, usize),
    ) {
        let (src_at, dst_at) = (batch_at + j0 * self.stride, b * self.rows * self.ld + j0);
        match esize {
            4 => transpose::<u32>(
                src.0.cast::<u32>().add(src_at),
                self.stride,
                dst.0.cast::<u32>().add(dst_at),
                self.ld,
                (width, self.rows),
            ),
            8 => transpose::<u64>(
                src.0.cast::<u64>().add(src_at),
                self.stride,
                dst.0.cast::<u64>().add(dst_at),
                self.ld,
                (width, self.rows),
            ),
            e => unreachable!("dot_general element size {e}"),
        }
    }
}

/// `dst[r * dst_rs + c] = src[c * src_rs + r]` for `c < nc`, `r < nr`: a
/// transpose through 16 × 16 tiles, so each source line is read once
/// whatever the strides.
///
/// # Safety
///
/// Both matrices are addressable at every index named above, and do not
/// overlap.
unsafe fn transpose<T: Copy + Default>(
    src: *const T,
    src_rs: usize,
    dst: *mut T,
    dst_rs: usize,
    (nc, nr): (usize, usize),
) {
    const TILE: usize = 16;
    let mut tile = [[T::default(); TILE]; TILE];
    for c0 in (0..nc).step_by(TILE) {
        for r0 in (0..nr).step_by(TILE) {
            let (tc, tr) = ((nc - c0).min(TILE), (nr - r0).min(TILE));
            if tc == TILE && tr == TILE {
                for (c, row) in tile.iter_mut().enumerate() {
                    std::ptr::copy_nonoverlapping(
                        src.add((c0 + c) * src_rs + r0),
                        row.as_mut_ptr(),
                        TILE,
                    );
                }
                for r in 0..TILE {
                    let out = dst.add((r0 + r) * dst_rs + c0);
                    for (c, row) in tile.iter().enumerate() {
                        out.add(c).write(row[r]);
                    }
                }
            } else {
                for c in 0..tc {
                    for r in 0..tr {
                        dst.add((r0 + r) * dst_rs + c0 + c)
                            .write(src.add((c0 + c) * src_rs + r0 + r).read());
                    }
                }
            }
        }
    }
}

/// A raw pointer the pieces of one product share.
#[derive(Clone, Copy)]
struct Ptr(*mut u8);

/// The product's pieces, run from any thread.
struct Job<'a> {
    plan: &'a DotPlan,
    lhs: Ptr,
    rhs: Ptr,
    out: Ptr,
    /// The operand of a transposed rhs each piece copies its own part of
    /// (into `rhs`) before multiplying.
    local_rhs: Option<Ptr>,
}

// SAFETY: pieces read the operands (never written during the product) and
// write disjoint blocks of the result and, for a rhs they copy themselves,
// disjoint columns or batches of the copy, each read only by its writer.
unsafe impl Sync for Job<'_> {}

impl Job<'_> {
    /// Copies columns `[j0, j0 + nn)` of batch `b` of a transposed rhs the
    /// pieces copy themselves.
    ///
    /// # Safety
    ///
    /// `DotPlan::run`'s contract; no other piece reads or writes that part.
    unsafe fn copy_rhs(&self, b: usize, cols: (usize, usize)) {
        if let (Some(src), Feed::Transpose(t)) = (self.local_rhs, &self.plan.rhs.feed) {
            let esize = self.plan.dtype.size_bytes();
            t.band(esize, src, self.plan.rhs.batch_at[b], self.rhs, b, cols);
        }
    }

    fn piece(&self, p: usize) {
        let plan = self.plan;
        let (lhs, rhs, out) = (self.lhs.0.cast_const(), self.rhs.0.cast_const(), self.out.0);
        // SAFETY: `DotPlan::run`'s contract; the piece's block lies inside
        // the result.
        unsafe {
            match plan.split {
                Split::Batches { per, .. } => {
                    for b in p * per..((p + 1) * per).min(plan.batch) {
                        self.copy_rhs(b, (0, plan.n));
                        plan.block(b, (0, plan.m), (0, plan.n), lhs, rhs, out);
                    }
                }
                Split::Cols { width, .. } => {
                    let j0 = p * width;
                    let nn = width.min(plan.n - j0);
                    self.copy_rhs(0, (j0, nn));
                    plan.block(0, (0, plan.m), (j0, nn), lhs, rhs, out);
                }
                Split::Rows { width, .. } => {
                    let i0 = p * width;
                    let mm = width.min(plan.m - i0);
                    plan.block(0, (i0, mm), (0, plan.n), lhs, rhs, out);
                }
                Split::Tiles { rw, cw, cols, .. } => {
                    let (i0, j0) = (p / cols * rw, p % cols * cw);
                    let (mm, nn) = (rw.min(plan.m - i0), cw.min(plan.n - j0));
                    plan.block(0, (i0, mm), (j0, nn), lhs, rhs, out);
                }
            }
        }
    }
}
