//! Checking a [`Program`] once and turning it into what a call needs: where
//! each buffer lives, the kernel pointer tables, planned library calls and
//! the layout of a workspace's memory.

use gradlift_ir::{Tensor, Type};

use crate::error::{invalid, RuntimeError};
use crate::kernel::KernelFn;
use crate::library::{byte_size, LibraryCall, PlanError, SUPPORTED_OPS};
use crate::program::{BufferId, BufferKind, Program, Step, ARENA_ALIGN};
use crate::workspace::{dangling, AlignedBuf, Workspace};

/// A step ready to run.
#[derive(Clone, Debug)]
pub(crate) enum PlannedStep {
    Kernel {
        main: KernelFn,
        finish: Option<KernelFn>,
        units: usize,
        grain: usize,
        /// `units * unit_cost`, saturating: the inline-or-split decision.
        work: usize,
        /// Start of this kernel's buffer table in `Workspace::tables`.
        table: usize,
    },
    Library {
        call: Box<LibraryCall>,
        inputs: Vec<BufferId>,
        output: BufferId,
    },
    Copy {
        from: BufferId,
        to: BufferId,
        bytes: usize,
    },
}

/// Where a buffer's base pointer comes from.
#[derive(Clone, Copy, Debug)]
enum Home {
    /// Bound per call to argument `i`.
    Param(usize),
    /// Bound per call to result tensor `i`.
    Result(usize),
    /// Byte offset in the workspace block.
    Mem(usize),
    /// The data of the constant held by buffer `id` of the program.
    Const(BufferId),
    /// A zero-sized buffer.
    Empty,
}

/// Byte ranges of a workspace's block: `[0, arena)` temps, then kernel
/// scratch the runtime supplies, then GEMM packing space.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MemLayout {
    pub pack_at: usize,
    pub total: usize,
}

/// A checked program, ready to run.
#[derive(Debug)]
pub(crate) struct Plan {
    pub steps: Vec<PlannedStep>,
    homes: Vec<Home>,
    /// Buffers bound per call: `(buffer, param index)`.
    pub param_bufs: Vec<(BufferId, usize)>,
    /// `(buffer, result index)`.
    pub result_bufs: Vec<(BufferId, usize)>,
    /// Table entries that follow a per-call buffer: `(table position, buffer)`.
    pub patches: Vec<(usize, BufferId)>,
    /// What every table entry holds: a buffer, or runtime scratch at a
    /// byte offset of the workspace block.
    table: Vec<Entry>,
    pub mem: MemLayout,
    index_len: usize,
    max_inputs: usize,
}

#[derive(Clone, Copy, Debug)]
enum Entry {
    Buffer(BufferId),
    Scratch { at: usize, bytes: usize },
}

impl Plan {
    /// Checks `p` and plans it. Errors name the step, buffer and types.
    pub(crate) fn new(p: &Program) -> Result<Plan, RuntimeError> {
        let homes = check_buffers(p)?;
        let mut plan = Plan {
            steps: Vec::with_capacity(p.steps.len()),
            param_bufs: Vec::new(),
            result_bufs: Vec::new(),
            patches: Vec::new(),
            table: Vec::new(),
            mem: MemLayout::default(),
            index_len: 0,
            max_inputs: 0,
            homes,
        };
        for (id, h) in plan.homes.iter().enumerate() {
            match *h {
                Home::Param(i) => plan.param_bufs.push((id, i)),
                Home::Result(i) => plan.result_bufs.push((id, i)),
                Home::Mem(_) | Home::Const(_) | Home::Empty => {}
            }
        }
        let scratch_at = p.arena_bytes.next_multiple_of(ARENA_ALIGN);
        let mut scratch_bytes = 0usize;
        let mut pack_bytes = 0usize;
        let mut written = vec![false; p.buffers.len()];
        for (s, step) in p.steps.iter().enumerate() {
            let planned = match step {
                Step::Kernel { kernel, inputs, outputs, scratch } => {
                    let what = format!("step {s} (kernel {})", kernel.name);
                    for &id in inputs.iter().chain(outputs).chain(scratch) {
                        check_id(p, id, &what)?;
                    }
                    for &id in outputs {
                        check_writable(p, id, &what)?;
                        written[id] = true;
                    }
                    let table = plan.table.len();
                    plan.table.extend(inputs.iter().chain(outputs).map(|&id| Entry::Buffer(id)));
                    if scratch.is_empty() {
                        // The runtime supplies the scratch, after the arena.
                        let mut at = 0usize;
                        for &bytes in &kernel.scratch_bytes {
                            plan.table.push(Entry::Scratch { at: scratch_at + at, bytes });
                            at += bytes.next_multiple_of(ARENA_ALIGN);
                        }
                        scratch_bytes = scratch_bytes.max(at);
                    } else {
                        check_scratch(p, &kernel.scratch_bytes, scratch, &what)?;
                        plan.table.extend(scratch.iter().map(|&id| Entry::Buffer(id)));
                    }
                    PlannedStep::Kernel {
                        main: kernel.main,
                        finish: kernel.finish,
                        units: kernel.units,
                        grain: kernel.grain.max(1),
                        work: kernel.units.saturating_mul(kernel.unit_cost.max(1)),
                        table,
                    }
                }
                Step::Library { op, inputs, output } => {
                    let what = format!("step {s} (library {})", op.name());
                    for &id in inputs.iter().chain(std::iter::once(output)) {
                        check_id(p, id, &what)?;
                    }
                    check_writable(p, *output, &what)?;
                    written[*output] = true;
                    let tys: Vec<&Type> = inputs.iter().map(|&id| &p.buffers[id].ty).collect();
                    let call = match LibraryCall::plan(op, &tys, &p.buffers[*output].ty) {
                        Ok(c) => c,
                        Err(PlanError::Unsupported) => {
                            return Err(RuntimeError::UnsupportedOp {
                                step: s,
                                op: op.name(),
                                supported: SUPPORTED_OPS,
                            })
                        }
                        Err(PlanError::Types(msg)) => {
                            return Err(invalid(format!("{what}: {msg}")))
                        }
                    };
                    for (i, &id) in inputs.iter().enumerate() {
                        let same = same_memory(p, &plan.homes, id, *output);
                        if overlaps(p, &plan.homes, id, *output)
                            && !(same && call.may_alias_input(i))
                        {
                            return Err(invalid(format!(
                                "{what}: output b{output} shares memory with input {i} (b{id})"
                            )));
                        }
                    }
                    pack_bytes = pack_bytes.max(call.pack_bytes());
                    plan.index_len = plan.index_len.max(call.index_len());
                    plan.max_inputs = plan.max_inputs.max(inputs.len());
                    PlannedStep::Library {
                        call: Box::new(call),
                        inputs: inputs.clone(),
                        output: *output,
                    }
                }
                Step::Copy { from, to } => {
                    let what = format!("step {s} (copy)");
                    check_id(p, *from, &what)?;
                    check_id(p, *to, &what)?;
                    check_writable(p, *to, &what)?;
                    written[*to] = true;
                    let (a, b) = (&p.buffers[*from].ty, &p.buffers[*to].ty);
                    if a.dtype != b.dtype || a.shape.size() != b.shape.size() {
                        return Err(invalid(format!(
                            "{what}: cannot copy b{from} ({a}) into b{to} ({b}): \
                             dtype and element count must match"
                        )));
                    }
                    PlannedStep::Copy { from: *from, to: *to, bytes: byte_size(a) }
                }
            };
            plan.steps.push(planned);
        }
        for &(id, r) in &plan.result_bufs {
            if !written[id] && byte_size(&p.buffers[id].ty) > 0 {
                return Err(invalid(format!("result {r} (b{id}) is never written")));
            }
        }
        for (pos, e) in plan.table.iter().enumerate() {
            if let Entry::Buffer(id) = *e {
                if matches!(plan.homes[id], Home::Param(_) | Home::Result(_)) {
                    plan.patches.push((pos, id));
                }
            }
        }
        let pack_at = (scratch_at + scratch_bytes).next_multiple_of(ARENA_ALIGN);
        plan.mem = MemLayout { pack_at, total: pack_at + pack_bytes };
        Ok(plan)
    }

    /// A fresh workspace: the block allocated, temps' and constants'
    /// pointers resolved, tables filled except the per-call entries.
    pub(crate) fn workspace(&self, p: &Program) -> Workspace {
        let mut mem = AlignedBuf::zeroed(self.mem.total);
        let base = mem.as_mut_ptr();
        let ptrs: Vec<*mut u8> = self
            .homes
            .iter()
            .map(|h| match *h {
                // SAFETY: validated offsets lie inside the block.
                Home::Mem(at) => unsafe { base.add(at) },
                Home::Const(id) => match &p.buffers[id].kind {
                    BufferKind::Constant(t) => const_ptr(t),
                    _ => dangling(),
                },
                Home::Param(_) | Home::Result(_) | Home::Empty => dangling(),
            })
            .collect();
        let tables = self
            .table
            .iter()
            .map(|e| match *e {
                Entry::Buffer(id) => ptrs[id],
                Entry::Scratch { bytes: 0, .. } => dangling(),
                // SAFETY: inside the block (see `MemLayout`).
                Entry::Scratch { at, .. } => unsafe { base.add(at) },
            })
            .collect();
        Workspace {
            mem,
            ptrs,
            tables,
            ins: Vec::with_capacity(self.max_inputs),
            index: vec![0; self.index_len],
        }
    }
}

/// Checks every buffer's type against its home and returns the homes.
fn check_buffers(p: &Program) -> Result<Vec<Home>, RuntimeError> {
    for (i, prm) in p.params.iter().enumerate() {
        if prm.ty.shape.num_elements().is_err() {
            return Err(invalid(format!("parameter {i} has type {}, too large", prm.ty)));
        }
    }
    let mut result_seen = vec![None; p.results.len()];
    let mut homes = Vec::with_capacity(p.buffers.len());
    for (id, b) in p.buffers.iter().enumerate() {
        let bytes =
            b.ty.shape
                .num_elements()
                .map_err(|_| invalid(format!("b{id}: type {} is too large", b.ty)))?
                * b.ty.dtype.size_bytes();
        let home = match &b.kind {
            BufferKind::Param { index } => {
                let prm = p.params.get(*index).ok_or_else(|| {
                    invalid(format!("b{id} is parameter {index}, but there are {}", p.params.len()))
                })?;
                if prm.ty != b.ty {
                    return Err(invalid(format!(
                        "b{id} has type {}, but parameter {index} is {}",
                        b.ty, prm.ty
                    )));
                }
                Home::Param(*index)
            }
            BufferKind::Result { index } => {
                let ty = p.results.get(*index).ok_or_else(|| {
                    invalid(format!("b{id} is result {index}, but there are {}", p.results.len()))
                })?;
                if *ty != b.ty {
                    return Err(invalid(format!(
                        "b{id} has type {}, but result {index} is {ty}",
                        b.ty
                    )));
                }
                if let Some(other) = result_seen[*index].replace(id) {
                    return Err(invalid(format!(
                        "result {index} has two buffers, b{other} and b{id}"
                    )));
                }
                Home::Result(*index)
            }
            BufferKind::Constant(t) => {
                if t.ty() != b.ty {
                    return Err(invalid(format!(
                        "b{id} has type {}, but its constant is {}",
                        b.ty,
                        t.ty()
                    )));
                }
                if bytes == 0 {
                    Home::Empty
                } else {
                    Home::Const(id)
                }
            }
            BufferKind::Temp { offset } => {
                if offset % ARENA_ALIGN != 0 {
                    return Err(invalid(format!(
                        "b{id}: temp offset {offset} is not a multiple of {ARENA_ALIGN}"
                    )));
                }
                if offset.checked_add(bytes).is_none_or(|end| end > p.arena_bytes) {
                    return Err(invalid(format!(
                        "b{id}: temp {} at offset {offset} ({bytes} bytes) ends past the arena ({} bytes)",
                        b.ty, p.arena_bytes
                    )));
                }
                if bytes == 0 {
                    Home::Empty
                } else {
                    Home::Mem(*offset)
                }
            }
        };
        homes.push(home);
    }
    if let Some(r) = result_seen.iter().position(Option::is_none) {
        return Err(invalid(format!("result {r} has no buffer")));
    }
    Ok(homes)
}

fn check_id(p: &Program, id: BufferId, what: &str) -> Result<(), RuntimeError> {
    if id >= p.buffers.len() {
        return Err(invalid(format!(
            "{what}: buffer b{id} does not exist (the program has {})",
            p.buffers.len()
        )));
    }
    Ok(())
}

/// Only temps, results and donated parameters may be written.
fn check_writable(p: &Program, id: BufferId, what: &str) -> Result<(), RuntimeError> {
    let why = match &p.buffers[id].kind {
        BufferKind::Temp { .. } | BufferKind::Result { .. } => return Ok(()),
        BufferKind::Param { index } if p.params[*index].donated => return Ok(()),
        BufferKind::Param { index } => format!("parameter {index}, which is not donated"),
        BufferKind::Constant(_) => "a constant".to_string(),
    };
    Err(invalid(format!("{what}: writes b{id}, {why}")))
}

fn check_scratch(
    p: &Program,
    want: &[usize],
    scratch: &[BufferId],
    what: &str,
) -> Result<(), RuntimeError> {
    if scratch.len() != want.len() {
        return Err(invalid(format!(
            "{what}: the kernel needs {} scratch buffer(s), the step gives {}",
            want.len(),
            scratch.len()
        )));
    }
    for (&id, &bytes) in scratch.iter().zip(want) {
        let b = &p.buffers[id];
        if !matches!(b.kind, BufferKind::Temp { .. }) {
            return Err(invalid(format!("{what}: scratch buffer b{id} is not a temp")));
        }
        if b.byte_size() < bytes {
            return Err(invalid(format!(
                "{what}: scratch buffer b{id} ({}) has {} bytes, the kernel needs {bytes}",
                b.ty,
                b.byte_size()
            )));
        }
    }
    Ok(())
}

/// Arena byte range of a buffer in workspace memory.
fn arena_range(p: &Program, homes: &[Home], id: BufferId) -> Option<(usize, usize)> {
    match homes[id] {
        Home::Mem(at) => Some((at, at + p.buffers[id].byte_size())),
        _ => None,
    }
}

/// Whether two buffers may share bytes during a call.
fn overlaps(p: &Program, homes: &[Home], a: BufferId, b: BufferId) -> bool {
    match (homes[a], homes[b]) {
        (Home::Empty, _) | (_, Home::Empty) => false,
        (Home::Param(i), Home::Param(j)) | (Home::Result(i), Home::Result(j)) => i == j,
        (Home::Const(_), Home::Const(_)) => a == b,
        (Home::Mem(_), Home::Mem(_)) => {
            let ((a0, a1), (b0, b1)) = (
                arena_range(p, homes, a).unwrap_or((0, 0)),
                arena_range(p, homes, b).unwrap_or((0, 0)),
            );
            a0 < b1 && b0 < a1
        }
        _ => false,
    }
}

/// Whether two buffers are exactly the same memory.
fn same_memory(p: &Program, homes: &[Home], a: BufferId, b: BufferId) -> bool {
    match (homes[a], homes[b]) {
        (Home::Param(i), Home::Param(j)) | (Home::Result(i), Home::Result(j)) => i == j,
        (Home::Mem(x), Home::Mem(y)) => {
            x == y && p.buffers[a].byte_size() == p.buffers[b].byte_size()
        }
        _ => a == b,
    }
}

/// Base pointer of a tensor's data (read-only use).
pub(crate) fn const_ptr(t: &Tensor) -> *mut u8 {
    if t.is_empty() {
        return dangling();
    }
    data_ptr(t).cast_mut()
}

/// Base pointer of a tensor's elements.
pub(crate) fn data_ptr(t: &Tensor) -> *const u8 {
    use gradlift_ir::Data;
    match t.data() {
        Data::F32(v) => v.as_ptr().cast(),
        Data::F64(v) => v.as_ptr().cast(),
        Data::I32(v) => v.as_ptr().cast(),
        Data::I64(v) => v.as_ptr().cast(),
        Data::Bool(v) => v.as_ptr().cast(),
    }
}

/// Base pointer of a tensor's elements, for writing.
pub(crate) fn data_mut_ptr(t: &mut Tensor) -> *mut u8 {
    use gradlift_ir::Data;
    match t.data_mut() {
        Data::F32(v) => v.as_mut_ptr().cast(),
        Data::F64(v) => v.as_mut_ptr().cast(),
        Data::I32(v) => v.as_mut_ptr().cast(),
        Data::I64(v) => v.as_mut_ptr().cast(),
        Data::Bool(v) => v.as_mut_ptr().cast(),
    }
}
