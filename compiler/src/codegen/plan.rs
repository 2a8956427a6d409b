//! The schedule of a kernel: which loop nest, which dim is vectorised,
//! how the iteration space is cut into work units, and whether reductions
//! are split into chunks whose partial results `finish` combines.
//!
//! Everything here depends on shapes only, never on the thread count, so
//! the bits of every result are the same however the runtime spreads the
//! units over threads.

use std::fmt;

use gradlift_ir::{BinaryOp, UnaryOp};

use super::analysis::{ENode, Kernel, KernelKind};
use super::packet::{parts_per_packet, LANES};

/// Elements a work unit aims at (loop kernels, and reductions with many
/// outputs).
pub(crate) const UNIT_TARGET: u64 = 1 << 14;
/// Elements a reduction chunk aims at when few outputs are split.
pub(crate) const CHUNK_TARGET: u64 = 1 << 14;
/// Reductions with fewer outputs than this are split into chunks.
pub(crate) const CHUNK_MAX_OUTPUTS: u64 = 64;
/// Work (in cheap elements, see [`point_weight`]) a piece of a split
/// kernel should get at least (the runtime's split grain). A piece costs
/// the runtime one atomic claim; the fork-join round trip (~1 µs) is paid
/// once per kernel and bounded by the runtime's own inline threshold.
pub(crate) const GRAIN_TARGET: u64 = 1 << 13;
/// What a transcendental function (exp, log, logistic, tanh, sin, pow, ...)
/// costs per element, in cheap elements (a load-add-store loop takes
/// ~0.25 ns per element, the runtime's unit of work, see
/// `gradlift_runtime::INLINE_WORK`). The 4-lane polynomial kernels take
/// 0.9-1.7 ns (docs/math.md), 4-7 cheap elements; the weight was set when
/// underflowing lanes made a sigmoid ~4 ns, and errs towards splitting: a
/// split costs one fork-join (~1 µs) per kernel, and the soft-cut step
/// (a sigmoid over 10^4 events) runs 1.3x faster on two threads than on one.
pub(crate) const MATH_WEIGHT: u64 = 15;

/// The loop nest shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No point to compute: `main` does nothing.
    Empty,
    /// Reductions over nothing: store the identity.
    FillIdentity,
    /// Elementwise: the innermost dim is vectorised.
    Loop,
    /// Reduction whose innermost dim is reduced: vector accumulators along
    /// it, one horizontal reduction per output.
    RowReduce,
    /// Reduction whose innermost dim is kept: vectors across outputs, the
    /// reduced dims loop inside.
    ColReduce,
}

/// How one dim is covered by a work unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cover {
    /// One coordinate, from the unit index.
    Fixed,
    /// A block of this many coordinates, from the unit index.
    Block(u64),
    /// The whole extent.
    Full,
}

/// A kernel's schedule.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub mode: Mode,
    /// Kernel dims (indices into `Kernel::dims`) in loop order, outer first.
    /// `ColReduce`: kept dims, then reduced dims; the last kept dim is the
    /// vectorised one.
    pub order: Vec<usize>,
    /// How each kernel dim is covered by a unit.
    pub cover: Vec<Cover>,
    /// The dims cut by the unit index, in mixed-radix order (last fastest).
    pub unit_dims: Vec<usize>,
    /// The vectorised kernel dim.
    pub vector_dim: Option<usize>,
    pub units: u64,
    /// Elements per unit (the largest unit).
    pub unit_cost: u64,
    pub grain: u64,
    /// Partial results per reduction output (1: no split, no `finish`).
    pub chunks: u64,
    /// The reduced dim whose blocks are the chunks.
    pub chunk_dim: Option<usize>,
    /// Vector accumulators per reduction output.
    pub accs: usize,
    /// Cost of one iteration point in cheap elements ([`point_weight`]):
    /// units and chunks hold about the same work whatever the body, and
    /// the runtime gets `unit_cost * weight` as the work of a unit.
    pub weight: u64,
}

impl Plan {
    /// Elements in a block of dim `d` per unit.
    fn covered(&self, k: &Kernel, d: usize) -> u64 {
        match self.cover[d] {
            Cover::Fixed => 1,
            Cover::Block(b) => b.min(k.dims[d].extent),
            Cover::Full => k.dims[d].extent,
        }
    }
}

/// The cost of one iteration point relative to a cheap one (a load, an
/// add and a store): 1, plus [`MATH_WEIGHT`] per transcendental function
/// evaluated per point (those hoisted out of the loops do not count).
/// Depends on the body only, so plans stay independent of the thread count.
pub(crate) fn point_weight(k: &Kernel) -> u64 {
    let math = k
        .exprs
        .iter()
        .zip(&k.deps)
        .filter(|&(e, &d)| {
            d != 0
                && match e {
                    ENode::Unary { op, .. } => matches!(
                        op,
                        UnaryOp::Exp
                            | UnaryOp::Log
                            | UnaryOp::Log1p
                            | UnaryOp::Expm1
                            | UnaryOp::Sin
                            | UnaryOp::Cos
                            | UnaryOp::Tanh
                            | UnaryOp::Logistic
                    ),
                    ENode::Binary { op, .. } => matches!(op, BinaryOp::Pow),
                    _ => false,
                }
        })
        .count() as u64;
    1 + MATH_WEIGHT * math
}

/// Chooses the schedule of an analysed kernel.
pub(crate) fn plan(k: &Kernel) -> Plan {
    plan_with(k, true)
}

/// The schedule of a kernel whose units all run in one call, one after
/// the other (a stage of a small kernel): reductions are never split into
/// chunks, so there are no partial results and no `finish`.
pub(crate) fn plan_inline(k: &Kernel) -> Plan {
    plan_with(k, false)
}

fn plan_with(k: &Kernel, chunking: bool) -> Plan {
    let n = k.dims.len();
    let mut p = Plan {
        mode: Mode::Loop,
        order: (0..n).collect(),
        cover: vec![Cover::Full; n],
        unit_dims: Vec::new(),
        vector_dim: None,
        units: 1,
        unit_cost: 1,
        grain: 1,
        chunks: 1,
        chunk_dim: None,
        accs: 1,
        weight: if chunking { point_weight(k) } else { 1 },
    };
    // Targets in iteration points: fewer points when each costs more.
    let w = p.weight;
    let unit_target = UNIT_TARGET.div_ceil(w);
    let reduction = k.kind == KernelKind::Reduction;
    if (reduction && k.kept_size == 0) || (!reduction && k.is_empty()) {
        p.mode = Mode::Empty;
        p.units = 0;
        return p;
    }
    if reduction && k.reduced_size == 0 {
        p.mode = Mode::FillIdentity;
        p.weight = 1;
        p.units = k.kept_size.div_ceil(UNIT_TARGET);
        p.unit_cost = k.kept_size.min(UNIT_TARGET);
        p.grain = 1;
        return p;
    }
    let kept: Vec<usize> = (0..n).filter(|&d| !k.dims[d].reduced).collect();
    let reduced: Vec<usize> = (0..n).filter(|&d| k.dims[d].reduced).collect();
    if !reduction {
        p.vector_dim = n.checked_sub(1);
        let order = p.order.clone();
        cut_units(k, &mut p, &order, 1, true, unit_target);
    } else {
        let vregs: usize = k
            .outputs
            .iter()
            .filter(|o| o.reduce.is_some())
            .map(|o| parts_per_packet(o.dtype))
            .sum();
        p.accs = if vregs <= 2 {
            4
        } else if vregs <= 4 {
            2
        } else {
            1
        };
        let mut column = !reduced.is_empty() && kept.last().is_some_and(|&d| d == n - 1);
        if !chunking && column && k.dims[n - 1].extent < LANES as u64 {
            // Inline (small) kernels: columns narrower than a packet would
            // run in scalar code; reduce each with strided packets along
            // the reduced dims instead.
            column = false;
        }
        p.order = kept.iter().chain(&reduced).copied().collect();
        let big = chunking
            && k.kept_size < CHUNK_MAX_OUTPUTS
            && k.reduced_size.saturating_mul(w) >= 2 * CHUNK_TARGET;
        if column {
            p.mode = Mode::ColReduce;
            let kin = n - 1;
            p.vector_dim = Some(kin);
            let step = (p.accs * LANES) as u64;
            let vb = unit_target.div_ceil(k.reduced_size).max(step).next_multiple_of(step);
            for &d in &kept {
                p.cover[d] = Cover::Fixed;
            }
            p.cover[kin] = Cover::Block(vb.min(k.dims[kin].extent));
            p.unit_dims = kept.clone();
            if big {
                chunk(k, &mut p, &reduced, false);
            }
        } else {
            p.mode = Mode::RowReduce;
            // Rows shorter than two packets run scalar: no vector
            // accumulators to set up and fold per output.
            p.vector_dim =
                reduced.last().copied().filter(|&d| k.dims[d].extent >= 2 * LANES as u64);
            if big && !reduced.is_empty() {
                for &d in &kept {
                    p.cover[d] = Cover::Fixed;
                }
                p.unit_dims = kept.clone();
                chunk(k, &mut p, &reduced, reduced.len() == 1);
            } else {
                cut_units(k, &mut p, &kept, k.reduced_size, false, unit_target);
            }
        }
    }
    p.units = p.unit_dims.iter().map(|&d| k.dims[d].extent.div_ceil(p.covered(k, d))).product();
    p.unit_cost = (0..n).map(|d| p.covered(k, d)).product::<u64>().max(1);
    p.grain = GRAIN_TARGET.div_ceil(p.unit_cost.saturating_mul(p.weight)).max(1);
    p
}

/// Cuts `dims` (outer first) into units of about `target` elements:
/// dims from the inside stay whole while they fit, the next is blocked, the
/// rest are one coordinate per unit. `inner` is the number of elements each
/// point of `dims` stands for; `vector_last` rounds a block of the last dim
/// to whole packets.
fn cut_units(k: &Kernel, p: &mut Plan, dims: &[usize], inner: u64, vector_last: bool, target: u64) {
    let mut inner = inner.max(1);
    for (pos, &d) in dims.iter().enumerate().rev() {
        let e = k.dims[d].extent;
        if inner.saturating_mul(e) >= target && e > 1 {
            let mut block = target.div_ceil(inner);
            if vector_last && pos + 1 == dims.len() {
                block = block.next_multiple_of(4 * LANES as u64);
            }
            for &o in &dims[..pos] {
                p.cover[o] = Cover::Fixed;
            }
            p.cover[d] = if block >= e { Cover::Full } else { Cover::Block(block) };
            p.unit_dims = dims[..=pos].to_vec();
            return;
        }
        inner = inner.saturating_mul(e);
    }
}

/// Splits the outermost reduced dim into chunks of about [`CHUNK_TARGET`]
/// cheap elements (fewer points when each costs more), if that gives more
/// than one chunk.
fn chunk(k: &Kernel, p: &mut Plan, reduced: &[usize], vector: bool) {
    let r0 = reduced[0];
    let inner: u64 = reduced[1..].iter().map(|&d| k.dims[d].extent).product::<u64>().max(1);
    let mut cr = CHUNK_TARGET.div_ceil(p.weight).div_ceil(inner).max(1);
    if vector {
        cr = cr.next_multiple_of((p.accs * LANES) as u64);
    }
    let c = k.dims[r0].extent.div_ceil(cr);
    if c <= 1 {
        return;
    }
    p.cover[r0] = if cr == 1 { Cover::Fixed } else { Cover::Block(cr) };
    p.unit_dims.push(r0);
    p.chunks = c;
    p.chunk_dim = Some(r0);
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?}, order {:?}, cover {:?}, vector dim {:?}, {} units of {} elements (grain {})",
            self.mode,
            self.order,
            self.cover,
            self.vector_dim,
            self.units,
            self.unit_cost,
            self.grain
        )?;
        if self.chunks > 1 {
            write!(f, ", {} chunks of dim {:?}", self.chunks, self.chunk_dim)?;
        }
        if self.weight > 1 {
            write!(f, ", weight {}", self.weight)?;
        }
        if matches!(self.mode, Mode::RowReduce | Mode::ColReduce) {
            write!(f, ", {} accumulators", self.accs)?;
        }
        Ok(())
    }
}
