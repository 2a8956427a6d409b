//! Memory planning for a fused program: where every buffer lives.
//!
//! - Parameters and constants live where the caller and the program keep
//!   them; results are written straight into the caller's result tensors.
//! - Every other buffer (and every kernel's scratch) gets a 64-byte aligned
//!   slot in one per-call arena. Slots are reused once a buffer is dead
//!   (liveness over the step list, best-fit placement), and a loop kernel
//!   may write an output over a same-sized input it reads for the last time
//!   when it reads that input element for element (in place).
//! - Donated parameters: a result that updates a donated parameter (a
//!   training step's new weights) is written into the parameter's own
//!   buffer, in place when the kernel computing it is the parameter's last
//!   reader and reads it element for element, otherwise through one copy
//!   after the parameter's last read.

use std::fmt;

use gradlift_ir::{Function, Op};

use crate::fusion::{BufDef, BufId, FusedProgram, KernelKind, Step};

/// Slot alignment in the arena, in bytes.
pub const ALIGN: usize = 64;

/// Where a buffer lives during a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The caller's argument `index` (written only if donated).
    Param { index: usize },
    /// Constant data held by the program.
    Constant,
    /// A slot in the per-call arena.
    Temp { offset: usize },
    /// The caller's result tensor `index`.
    Result { index: usize },
}

/// A copy the program must do after step `after` (or at the very end):
/// a result that is also a parameter or constant, a result repeated, or a
/// donated update that could not be done in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    pub from: BufId,
    pub to: Placement,
    /// Run after this step (`None`: before any step).
    pub after: Option<usize>,
}

/// Where every buffer lives, and how much memory a call needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryPlan {
    /// One placement per buffer of the fused program.
    pub placements: Vec<Placement>,
    /// Arena slots of each step's scratch buffers.
    pub scratch: Vec<Vec<usize>>,
    pub copies: Vec<Copy>,
    /// Bytes of the per-call arena.
    pub arena_bytes: usize,
    /// Most bytes of arena buffers alive at once.
    pub peak_bytes: usize,
    /// Buffers (and scratch buffers) placed in the arena.
    pub num_temps: usize,
    /// Arena slots reused in place by a kernel's output.
    pub num_in_place: usize,
    /// Donated updates done in place (no copy).
    pub donated_in_place: usize,
}

impl fmt::Display for MemoryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "memory plan: {} temporary buffers in an arena of {} bytes (peak live {} bytes), {} in place, {} copies, {} donated updates in place",
            self.num_temps,
            self.arena_bytes,
            self.peak_bytes,
            self.num_in_place,
            self.copies.len(),
            self.donated_in_place
        )
    }
}

/// A result that updates a donated parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Donation {
    pub result: usize,
    pub param: usize,
}

fn bytes(prog: &FusedProgram, b: BufId) -> usize {
    let ty = &prog.buffers[b].ty;
    ty.shape.size() * ty.dtype.size_bytes()
}

fn round_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// Does kernel `body` read its parameter `p` element for element at the
/// iteration index (only elementwise users, same shape as the outputs)?
fn reads_in_place(kind: &KernelKind, body: &Function, p: usize) -> bool {
    if *kind != KernelKind::Loop {
        return false;
    }
    let pv = body.param(p);
    let Some(&r0) = body.results().first() else { return false };
    if body.ty(pv).shape != body.ty(r0).shape {
        return false;
    }
    body.instructions().all(|(_, n)| {
        !n.args.contains(&pv)
            || matches!(
                n.op,
                Op::Unary(_)
                    | Op::Binary(_)
                    | Op::Compare(_)
                    | Op::Select
                    | Op::Convert { .. }
                    | Op::StopGradient
            )
    }) && !body.results().contains(&pv)
}

/// A first-fit-by-size free list of arena slots.
struct Arena {
    /// (offset, size) of free slots.
    free: Vec<(usize, usize)>,
    top: usize,
    live: usize,
    peak: usize,
}

impl Arena {
    fn alloc(&mut self, n: usize) -> usize {
        let n = round_up(n.max(1));
        self.live += n;
        self.peak = self.peak.max(self.live);
        // Best fit among free slots.
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, &(_, s))| s >= n)
            .min_by_key(|(_, &(_, s))| s)
            .map(|(i, _)| i);
        if let Some(i) = best {
            let (off, size) = self.free[i];
            if size == n {
                self.free.remove(i);
            } else {
                self.free[i] = (off + n, size - n);
            }
            return off;
        }
        let off = self.top;
        self.top += n;
        off
    }

    fn release(&mut self, off: usize, n: usize) {
        let n = round_up(n.max(1));
        self.live -= n;
        self.free.push((off, n));
        // Coalesce neighbours.
        self.free.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.free.len());
        for &(o, s) in &self.free {
            match merged.last_mut() {
                Some(last) if last.0 + last.1 == o => last.1 += s,
                _ => merged.push((o, s)),
            }
        }
        self.free = merged;
    }
}

/// Plans memory for `prog`. `scratch[s]` lists the scratch byte sizes of
/// step `s` (from code generation; empty when unknown), `donations` the
/// results that update donated parameters.
pub fn plan_memory(
    prog: &FusedProgram,
    scratch: &[Vec<usize>],
    donations: &[Donation],
) -> MemoryPlan {
    let n = prog.buffers.len();
    let nsteps = prog.steps.len();
    let mut placements: Vec<Option<Placement>> = vec![None; n];
    let mut copies = Vec::new();
    for (b, buf) in prog.buffers.iter().enumerate() {
        match buf.def {
            BufDef::Param(i) => placements[b] = Some(Placement::Param { index: i }),
            BufDef::Constant(_) => placements[b] = Some(Placement::Constant),
            BufDef::Step { .. } => {}
        }
    }
    // Last step reading each buffer.
    let mut last_read: Vec<Option<usize>> = vec![None; n];
    for (s, step) in prog.steps.iter().enumerate() {
        let ins: &[BufId] = match step {
            Step::Kernel { inputs, .. } => inputs,
            Step::Library { inputs, .. } => inputs,
        };
        for &i in ins {
            last_read[i] = Some(s);
        }
    }
    let producer = |b: BufId| match prog.buffers[b].def {
        BufDef::Step { step, .. } => Some(step),
        _ => None,
    };
    // Donated updates first: in place when the producing loop kernel is the
    // parameter's last reader and reads it element for element.
    let mut donated_in_place = 0;
    let mut donated_result = vec![false; prog.results.len()];
    for d in donations {
        let Some(&b) = prog.results.get(d.result) else { continue };
        let Some(pbuf) = prog.buffers.iter().position(|x| x.def == BufDef::Param(d.param)) else {
            continue;
        };
        donated_result[d.result] = true;
        let in_place = match (producer(b), &placements[b]) {
            (Some(s), None) => match &prog.steps[s] {
                Step::Kernel { kind, body, inputs, .. } => {
                    let last = last_read[pbuf].is_none_or(|l| l <= s);
                    let pos = inputs.iter().position(|&i| i == pbuf);
                    last && pos.is_some_and(|p| reads_in_place(kind, body, p))
                        && prog.buffers[pbuf].ty == prog.buffers[b].ty
                }
                Step::Library { .. } => false,
            },
            _ => false,
        };
        if in_place {
            placements[b] = Some(Placement::Param { index: d.param });
            donated_in_place += 1;
        } else {
            let after = last_read[pbuf].max(producer(b));
            copies.push(Copy { from: b, to: Placement::Param { index: d.param }, after });
        }
    }
    // Results: written into the caller's tensors where possible.
    for (k, &b) in prog.results.iter().enumerate() {
        if donated_result[k] {
            continue;
        }
        if placements[b].is_none() {
            placements[b] = Some(Placement::Result { index: k });
        } else {
            copies.push(Copy { from: b, to: Placement::Result { index: k }, after: producer(b) });
        }
    }
    // Everything else: arena slots with liveness. A buffer copied somewhere
    // at the end stays alive until its copy.
    let mut last_use = last_read.clone();
    for c in &copies {
        let end = c.after.unwrap_or(0).max(nsteps.saturating_sub(1));
        last_use[c.from] = Some(last_use[c.from].map_or(end, |l| l.max(end)));
    }
    let mut arena = Arena { free: Vec::new(), top: 0, live: 0, peak: 0 };
    let mut offsets: Vec<Option<usize>> = vec![None; n];
    let mut num_temps = 0;
    let mut num_in_place = 0;
    let mut scratch_slots: Vec<Vec<usize>> = vec![Vec::new(); nsteps];
    for (s, step) in prog.steps.iter().enumerate() {
        let (ins, outs): (&[BufId], Vec<BufId>) = match step {
            Step::Kernel { inputs, outputs, .. } => (inputs, outputs.clone()),
            Step::Library { inputs, output, .. } => (inputs, vec![*output]),
        };
        // In place: a loop kernel's output over an input dying here that it
        // reads element for element.
        let mut reusable: Vec<BufId> = Vec::new();
        if let Step::Kernel { kind, body, .. } = step {
            for (p, &i) in ins.iter().enumerate() {
                if offsets[i].is_some()
                    && last_use[i] == Some(s)
                    && reads_in_place(kind, body, p)
                    && !reusable.contains(&i)
                {
                    reusable.push(i);
                }
            }
        }
        for &o in &outs {
            if placements[o].is_some() {
                continue;
            }
            let size = bytes(prog, o);
            if let Some(pos) = reusable
                .iter()
                .position(|&i| round_up(bytes(prog, i).max(1)) == round_up(size.max(1)))
            {
                let i = reusable.remove(pos);
                // The output takes over the dying input's slot.
                let off = offsets[i].take().unwrap_or(0);
                placements[i] = Some(Placement::Temp { offset: off });
                offsets[o] = Some(off);
                num_in_place += 1;
            } else {
                offsets[o] = Some(arena.alloc(size));
            }
            num_temps += 1;
        }
        if let Some(sizes) = scratch.get(s) {
            for &sz in sizes {
                scratch_slots[s].push(arena.alloc(sz));
                num_temps += 1;
            }
        }
        // Scratch dies with its step; inputs die after their last use.
        for (k, &sz) in scratch.get(s).map(|v| v.as_slice()).unwrap_or(&[]).iter().enumerate() {
            arena.release(scratch_slots[s][k], sz);
        }
        for &i in ins.iter().chain(&outs) {
            if last_use[i].is_none_or(|l| l <= s) {
                if let Some(off) = offsets[i] {
                    if placements[i].is_none() {
                        // Keep the offset for the placement, free the space.
                        arena.release(off, bytes(prog, i));
                        placements[i] = Some(Placement::Temp { offset: off });
                    }
                }
            }
        }
    }
    let placements: Vec<Placement> = placements
        .into_iter()
        .enumerate()
        .map(|(b, p)| p.unwrap_or(Placement::Temp { offset: offsets[b].unwrap_or(0) }))
        .collect();
    MemoryPlan {
        placements,
        scratch: scratch_slots,
        copies,
        arena_bytes: arena.top,
        peak_bytes: arena.peak,
        num_temps,
        num_in_place,
        donated_in_place,
    }
}
