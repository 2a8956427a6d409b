//! CLIF emission of a planned kernel: the entry point over work units, the
//! loop nests of the three kernel shapes, and the `finish` function that
//! combines chunked reductions.
//!
//! Every loop is rotated (guard in the preheader, test at the bottom of the
//! body), so Cranelift hoists constants out of it. Expressions are placed
//! at the outermost loop level where all the variables they depend on are
//! known (loads included, which Cranelift would not move): an expression
//! that does not depend on the vectorised variable is computed once as a
//! scalar and splatted where vectors use it.

use std::cell::RefCell;
use std::rc::Rc;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, Block, BlockArg, ExtFuncData, ExternalName, FuncRef, InstBuilder,
    MemFlagsData, Signature, StackSlot, StackSlotData, StackSlotKind, Type, UserExternalName,
    Value,
};
use cranelift_frontend::FunctionBuilder;
use gradlift_ir::{BinaryOp, DType, UnaryOp};
use smallvec::SmallVec;

use super::analysis::{ENode, ExprId, Kernel, Src};
use super::index::LinId;
use super::lower;
use super::math::{batch_index, MathFn};
use super::packet::{
    self, const_value, elem_addr, from_lanes, load_packet, load_scalar, reverse_lanes, splat,
    store_packet, store_scalar, to_lanes, vconst_lanes, Pk, LANES,
};
use super::plan::{Cover, Mode, Plan};

mod reduce;

/// Base pointers of the kernel's buffers, loaded once at entry.
pub(crate) struct Ptrs {
    pub inputs: Vec<Value>,
    pub outputs: Vec<Value>,
    /// One per reduction output when the reduction is chunked.
    pub scratch: Vec<Value>,
    /// Embedded constants.
    pub data: Vec<Value>,
}

/// In kernels of at least this many expressions, the innermost loop keeps
/// a value whose last use is [`SPILL_DISTANCE`] or more expressions after
/// its definition in an explicit stack slot (stored once, reloaded once
/// for nearby uses), and recomputes cheap functions of such a value instead
/// of keeping them too (see [`Gen::new`]). Such values would be spilled by
/// the register allocator anyway (16 xmm registers). Doing it here gives
/// every allocator short live ranges, and the single-pass allocator that
/// very large functions use (see `LARGE_FUNCTION_INSTS`) good code: on the
/// gradient of a 1000-step unrolled logistic map (thousands of values live
/// across the reverse sweep) the kernel ran 1.46 s of CPU time with the
/// backtracking allocator's own spills, 1.16 s this way (one slot per step,
/// 16 KB per packet, in L1).
const SPILL_MIN_EXPRS: usize = 512;
const SPILL_DISTANCE: usize = 48;

/// Whether the kernel's body is long enough for explicit spill slots and
/// interleaved packets. Such code is scheduled here, and Cranelift must
/// keep the order it is emitted in (no e-graph optimiser: see
/// `codegen::tier_for`).
pub(crate) fn keeps_order(k: &Kernel) -> bool {
    k.exprs.len() >= SPILL_MIN_EXPRS
}

/// The packet registers the body needs at nine points in ten, by the live
/// ranges of the values it keeps in registers (values of a loop variable,
/// less those in spill slots or recomputed at their uses).
fn vector_pressure(k: &Kernel, last_use: &[usize], spill: &[bool], remat: &[bool]) -> usize {
    let n = k.exprs.len();
    let mut delta = vec![0i64; n + 1];
    for e in 0..n {
        if k.deps[e] == 0 || spill[e] || remat[e] {
            continue;
        }
        let parts = packet::parts_per_packet(k.exprs[e].dtype()) as i64;
        delta[e] += parts;
        delta[last_use[e].min(n)] -= parts;
    }
    let mut live: Vec<i64> = delta[..n]
        .iter()
        .scan(0i64, |l, d| {
            *l += d;
            Some(*l)
        })
        .collect();
    if live.is_empty() {
        return 0;
    }
    let (_, &mut at, _) = live.select_nth_unstable(n * 9 / 10);
    at.max(0) as usize
}

/// The varying operand of `e` when `e` is cheap to recompute from it: an
/// add, subtract, multiply, min, max, negation, absolute value or
/// comparison whose other operands do not depend on any loop variable.
fn remat_source(k: &Kernel, e: usize) -> Option<usize> {
    let cheap = match &k.exprs[e] {
        ENode::Binary { op, .. } => {
            matches!(
                op,
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Max | BinaryOp::Min
            )
        }
        ENode::Unary { op, .. } => matches!(op, UnaryOp::Neg | UnaryOp::Abs),
        ENode::Compare { .. } => true,
        _ => false,
    };
    if !cheap {
        return None;
    }
    let mut varying = k.exprs[e].args().into_iter().filter(|&a| k.deps[a as usize] != 0);
    let x = varying.next()?;
    varying.next().is_none().then_some(x as usize)
}

/// Elements per block of a staged loop (a multiple of every vector step):
/// one batch call per staged function and block; buffers of 2 KB (f32).
const STAGE_BLOCK: usize = 512;
/// At most this many functions of a kernel are staged (each adds a pass
/// over the block that recomputes what its argument needs).
const MAX_STAGED: usize = 4;
/// Staging needs vector ranges of at least this many elements: shorter
/// ones spend more on the calls than the wider vectors save.
const STAGE_MIN_RANGE: u64 = 64;

/// A math function evaluated by a batch function (see `math::batch`):
/// the vector loop runs in blocks of [`STAGE_BLOCK`] elements; per block,
/// one pass per staged expression stores its argument to a stack buffer
/// and calls the batch function on it in place; a last pass runs the body,
/// reading staged values from the buffers. Values are bit-for-bit those of
/// the inline code, and the packets of a block meet the accumulators in
/// the same order, so reductions are unchanged too.
struct Staging {
    /// The staged expressions, in order.
    exprs: Vec<Staged>,
    /// The expressions each pass computes: pass `j` the argument of staged
    /// expression `j` (with earlier staged values read back), the last the
    /// kernel's outputs.
    want: Vec<Rc<Vec<bool>>>,
}

/// One staged expression.
struct Staged {
    expr: usize,
    /// Its argument.
    arg: usize,
    /// The batch function's index among the module's imports.
    import: u32,
    /// Bytes per element of its buffer.
    size: i64,
}

impl Staging {
    /// The staging of kernel `k` planned as `p`, where the host has batch
    /// functions (imported from index `first_import` on) for the kernel's
    /// transcendental vector expressions.
    fn new(k: &Kernel, p: &Plan, first_import: Option<u32>) -> Option<Staging> {
        let first = first_import?;
        if keeps_order(k) || !matches!(p.mode, Mode::Loop | Mode::RowReduce) {
            return None;
        }
        let v = p.vector_dim?;
        let range = match p.cover[v] {
            Cover::Block(c) => c.min(k.dims[v].extent),
            Cover::Full => k.dims[v].extent,
            Cover::Fixed => 1,
        };
        if range < STAGE_MIN_RANGE {
            return None;
        }
        let var = k.dims[v].var;
        let mut exprs = Vec::new();
        for (e, node) in k.exprs.iter().enumerate() {
            let ENode::Unary { op, dtype, x } = *node else { continue };
            let f = match op {
                UnaryOp::Tanh => MathFn::Tanh,
                UnaryOp::Exp => MathFn::Exp,
                UnaryOp::Logistic => MathFn::Logistic,
                _ => continue,
            };
            if k.deps[e] & (1 << var) == 0 {
                continue;
            }
            if let Some(i) = batch_index(f, dtype) {
                let size = dtype.size_bytes() as i64;
                exprs.push(Staged { expr: e, arg: x as usize, import: first + i as u32, size });
            }
        }
        if exprs.is_empty() || exprs.len() > MAX_STAGED {
            return None;
        }
        let mut stop = vec![false; k.exprs.len()];
        for s in &exprs {
            stop[s.expr] = true;
        }
        let mut want: Vec<Rc<Vec<bool>>> =
            exprs.iter().map(|s| Rc::new(closure(k, [s.arg], &stop))).collect();
        want.push(Rc::new(closure(k, k.outputs.iter().map(|o| o.expr as usize), &stop)));
        Some(Staging { exprs, want })
    }

    fn position(&self, e: usize) -> Option<usize> {
        self.exprs.iter().position(|s| s.expr == e)
    }
}

/// The address of element `i` of the block in the buffer of staged
/// expression `s`, from the buffer's `bias` for the block (see
/// `Gen::vector_loop`): `bias + i * size`, one addressing mode.
fn stage_addr(b: &mut FunctionBuilder, s: &Staged, bias: Value, i: Value) -> Value {
    let off = b.ins().ishl_imm_s(i, s.size.trailing_zeros() as i64);
    b.ins().iadd(bias, off)
}

/// The expressions `roots` need (themselves included), not looking past
/// those in `stop`.
fn closure(k: &Kernel, roots: impl IntoIterator<Item = usize>, stop: &[bool]) -> Vec<bool> {
    let mut need = vec![false; k.exprs.len()];
    let mut todo: Vec<usize> = roots.into_iter().filter(|&e| e < k.exprs.len()).collect();
    while let Some(e) = todo.pop() {
        if std::mem::replace(&mut need[e], true) || stop[e] {
            continue;
        }
        todo.extend(k.exprs[e].args().into_iter().map(|a| a as usize));
    }
    need
}

/// A value kept in a stack slot: its parts at 16-byte steps.
#[derive(Clone)]
struct Spilled {
    slot: usize,
    types: SmallVec<[Type; 2]>,
    vector: bool,
}

/// What is known at a point of the loop nest.
#[derive(Clone)]
struct Env {
    /// The i64 coordinate of each loop variable, where bound.
    vars: Vec<Option<Value>>,
    /// The vectorised variable, when this point is a packet of LANES
    /// consecutive values of it (`vars` holds lane 0).
    vec: Option<u32>,
    scalars: Vec<Option<Value>>,
    packets: Vec<Option<Pk>>,
    /// Whether values computed here may go to stack slots (innermost
    /// loops of long kernels), and the slots of those that did.
    spilling: bool,
    spilled: Vec<Option<Spilled>>,
    /// Rematerialised expressions, computed at each use: whether as a
    /// packet.
    deferred: Vec<Option<bool>>,
    /// Spilled values reloaded recently: the value, and the expression
    /// being computed when it was reloaded (nearby uses share it).
    reloaded: RefCell<Vec<Option<(Pk, usize)>>>,
    /// The expression being computed.
    pos: usize,
    /// The kernel's spill slots free here, by size class (1 or 2 parts);
    /// `None` until this env first spills. Envs interleaved in one loop
    /// body share it.
    free: Rc<RefCell<Option<[Vec<usize>; 2]>>>,
    /// The expressions to compute here, where not all (a phase of a
    /// staged loop: see [`Staging`]).
    want: Option<Rc<Vec<bool>>>,
    /// In a staged loop: per stage buffer, its address less the block's
    /// first index (see `vector_loop`); staged values are read from there.
    stage_bias: Option<Rc<Vec<Value>>>,
}

impl Env {
    fn bound(&self) -> u64 {
        self.vars.iter().enumerate().fold(0, |m, (i, v)| if v.is_some() { m | 1 << i } else { m })
    }

    /// Takes the scalars `other` computed that this env lacks.
    fn absorb_scalars(&mut self, other: &Env) {
        for (mine, theirs) in self.scalars.iter_mut().zip(&other.scalars) {
            if mine.is_none() {
                *mine = *theirs;
            }
        }
    }
}

/// One iteration of a vector loop: `(b, i, env, carried) -> next carried`
/// (see `Gen::vector_loop`).
type LoopBody<'x> = dyn FnMut(&mut FunctionBuilder, Value, &Env, &[Value]) -> Vec<Value> + 'x;

/// A rotated loop being emitted.
struct Frame {
    body: Block,
    exit: Block,
    end: Value,
    step: i64,
}

fn args(vals: &[Value]) -> Vec<BlockArg> {
    vals.iter().map(|&v| v.into()).collect()
}

/// Opens `for i in (lo..end).step_by(step)` carrying `carried`; `end - lo`
/// must be a multiple of `step`. Returns the frame, `i` and the carried
/// values inside the body.
fn open_loop(
    b: &mut FunctionBuilder,
    lo: Value,
    end: Value,
    step: i64,
    carried: &[Value],
) -> (Frame, Value, Vec<Value>) {
    let body = b.create_block();
    let exit = b.create_block();
    let i = b.append_block_param(body, types::I64);
    let mut inside = Vec::with_capacity(carried.len());
    for &c in carried {
        let ty = b.func.dfg.value_type(c);
        inside.push(b.append_block_param(body, ty));
        b.append_block_param(exit, ty);
    }
    let go = b.ins().icmp(IntCC::UnsignedLessThan, lo, end);
    let mut first = vec![lo];
    first.extend_from_slice(carried);
    b.ins().brif(go, body, &args(&first), exit, &args(carried));
    b.switch_to_block(body);
    (Frame { body, exit, end, step }, i, inside)
}

/// Closes a loop opened by [`open_loop`] with the carried values of the
/// next iteration; returns the carried values after the loop.
fn close_loop(b: &mut FunctionBuilder, f: Frame, i: Value, carried: &[Value]) -> Vec<Value> {
    let next = b.ins().iadd_imm_s(i, f.step);
    let again = b.ins().icmp(IntCC::UnsignedLessThan, next, f.end);
    let mut back = vec![next];
    back.extend_from_slice(carried);
    b.ins().brif(again, f.body, &args(&back), f.exit, &args(carried));
    b.switch_to_block(f.exit);
    b.block_params(f.exit).to_vec()
}

/// `lo + ((hi - lo) & !(step - 1))`: the end of whole steps from `lo`.
fn whole_steps_end(b: &mut FunctionBuilder, lo: Value, hi: Value, step: i64) -> Value {
    let n = b.ins().isub(hi, lo);
    let n = b.ins().band_imm_s(n, !(step - 1));
    b.ins().iadd(lo, n)
}

fn flatten(pks: &[Pk]) -> Vec<Value> {
    pks.iter().flat_map(|p| p.parts().to_vec()).collect()
}

fn unflatten(template: &[Pk], vals: &[Value]) -> Vec<Pk> {
    let mut at = 0;
    template
        .iter()
        .map(|t| match t {
            Pk::S(_) => {
                at += 1;
                Pk::S(vals[at - 1])
            }
            Pk::V(p) => {
                at += p.len();
                Pk::V(vals[at - p.len()..at].iter().copied().collect())
            }
        })
        .collect()
}

/// Emits the functions of one planned kernel.
pub(crate) struct Gen<'a> {
    pub k: &'a Kernel,
    pub p: &'a Plan,
    pub ptrs: Ptrs,
    /// The first internal inconsistency met (reported as an error).
    pub failure: RefCell<Option<String>>,
    /// For each expression, whether it is spilled where computed in a
    /// spilling env; `frees_at[e]`: the spilled expressions whose last use
    /// is `e`.
    spill: Vec<bool>,
    /// Expressions recomputed at each use in spilling envs (see `new`).
    remat: Vec<bool>,
    frees_at: Vec<Vec<ExprId>>,
    /// Where spilled values go: shared by the innermost loops, which run
    /// one after the other.
    spill_area: RefCell<SpillArea>,
    /// Packets per iteration of elementwise vector loops: 2 in long
    /// kernels that have the registers, computed expression by expression
    /// in step. A long body is one dependency chain far longer than the
    /// out-of-order window, so one packet at a time leaves the CPU waiting
    /// on latencies. (A power of two.)
    interleave: usize,
    /// Math functions the vector loop hands to batch functions, if any.
    staging: Option<Staging>,
    /// The stage buffers and batch function imports of the function
    /// being built, made at their first use.
    stage_slots: RefCell<Vec<StackSlot>>,
    batch_refs: RefCell<Vec<FuncRef>>,
}

/// Spill slots (size and offset, in bytes) in one stack slot.
#[derive(Default)]
struct SpillArea {
    slot: Option<StackSlot>,
    size: u32,
    slots: Vec<(u32, u32)>,
}

impl<'a> Gen<'a> {
    /// The generator of kernel `k` planned as `p`. `batch_imports`: the
    /// module's import index of the first batch function (`math::batch`)
    /// when vector loops may stage math functions, else `None`.
    pub fn new(k: &'a Kernel, p: &'a Plan, ptrs: Ptrs, batch_imports: Option<u32>) -> Self {
        let n = k.exprs.len();
        let mut last_use: Vec<usize> = (0..n).collect();
        for (e, node) in k.exprs.iter().enumerate() {
            for a in node.args() {
                last_use[a as usize] = last_use[a as usize].max(e);
            }
        }
        for out in &k.outputs {
            // (Kernels with no iterations keep no expressions.)
            if let Some(l) = last_use.get_mut(out.expr as usize) {
                *l = n;
            }
        }
        let long = keeps_order(k);
        let far = |e: usize, last: usize| long && last - e >= SPILL_DISTANCE && last < n;
        // A long-lived cheap op of one varying operand (the others
        // constant) is recomputed at its uses from that operand, which is
        // kept instead: `4 x` and `1 - x` need no slots of their own when
        // `x` has one.
        let mut remat = vec![false; n];
        for e in 0..n {
            if !far(e, last_use[e]) {
                continue;
            }
            let Some(x) = remat_source(k, e) else { continue };
            if remat[x] || last_use[x] == n {
                continue;
            }
            remat[e] = true;
            last_use[x] = last_use[x].max(last_use[e]);
        }
        let spill: Vec<bool> = (0..n).map(|e| !remat[e] && far(e, last_use[e])).collect();
        // Two packets at a time where their registers fit: 16 vector
        // registers, a few of them constants. (On the gradient of the
        // logistic map, 1.5x faster; on its JVP, which already runs two
        // chains per packet and needs 6 registers, 1.5x slower.)
        let interleave =
            if long && vector_pressure(k, &last_use, &spill, &remat) <= 4 { 2 } else { 1 };
        let mut frees_at = vec![Vec::new(); n];
        for e in 0..n {
            if spill[e] {
                frees_at[last_use[e]].push(e as ExprId);
            }
        }
        Gen {
            k,
            p,
            ptrs,
            failure: Default::default(),
            spill,
            remat,
            frees_at,
            spill_area: Default::default(),
            interleave,
            staging: Staging::new(k, p, batch_imports),
            stage_slots: Default::default(),
            batch_refs: Default::default(),
        }
    }

    fn fail(&self, msg: &str) {
        let mut f = self.failure.borrow_mut();
        if f.is_none() {
            *f = Some(format!("internal code generation error: {msg}"));
        }
    }

    fn new_env(&self) -> Env {
        Env {
            vars: vec![None; self.k.num_vars],
            vec: None,
            scalars: vec![None; self.k.exprs.len()],
            packets: vec![None; self.k.exprs.len()],
            spilling: false,
            spilled: vec![None; self.k.exprs.len()],
            deferred: vec![None; self.k.exprs.len()],
            reloaded: RefCell::new(vec![None; self.k.exprs.len()]),
            pos: 0,
            free: Default::default(),
            want: None,
            stage_bias: None,
        }
    }

    /// Stores `pk` (the value of `e`) in a free spill slot of `env`.
    fn spill_value(&self, b: &mut FunctionBuilder, env: &mut Env, e: usize, pk: &Pk) {
        let parts = pk.parts();
        let class = parts.len() - 1;
        let mut area = self.spill_area.borrow_mut();
        // An env starts with every slot free: the innermost loops that
        // spill run one after the other.
        let mut free = env.free.borrow_mut();
        let free = free.get_or_insert_with(|| {
            let mut f = [Vec::new(), Vec::new()];
            for (i, &(size, _)) in area.slots.iter().enumerate().rev() {
                f[size as usize / 16 - 1].push(i);
            }
            f
        });
        let i = free[class].pop().unwrap_or_else(|| {
            let (size, at) = (16 * parts.len() as u32, area.size);
            area.slots.push((size, at));
            area.size += size;
            area.slots.len() - 1
        });
        let base = self.spill_base(b, &mut area);
        let at = area.slots[i].1 as i32;
        for (j, &v) in parts.iter().enumerate() {
            b.ins().store(packet::data_flags(), v, base, at + 16 * j as i32);
        }
        let types = parts.iter().map(|&v| b.func.dfg.value_type(v)).collect();
        env.spilled[e] = Some(Spilled { slot: i, types, vector: pk.is_vector() });
        // Nearby uses take the value from its register.
        env.reloaded.borrow_mut()[e] = Some((pk.clone(), e));
    }

    /// Returns the slot of a spilled value whose last use has passed.
    fn release(&self, env: &mut Env, e: ExprId) {
        let Some(s) = env.spilled[e as usize].take() else { return };
        let class = s.types.len() - 1;
        if let Some(free) = env.free.borrow_mut().as_mut() {
            free[class].push(s.slot);
        }
    }

    /// The address of the spill area (one stack slot, grown as slots are
    /// added; Cranelift merges and hoists the address computations).
    fn spill_base(&self, b: &mut FunctionBuilder, area: &mut SpillArea) -> Value {
        let slot = match area.slot {
            Some(slot) => slot,
            None => {
                let data = StackSlotData::new(StackSlotKind::ExplicitSlot, 0, 4);
                let slot = b.create_sized_stack_slot(data);
                area.slot = Some(slot);
                slot
            }
        };
        b.func.sized_stack_slots[slot].size = area.size;
        b.ins().stack_addr(types::I64, slot, 0)
    }

    /// Reloads a spilled value.
    fn reload(&self, b: &mut FunctionBuilder, s: &Spilled) -> Pk {
        let mut area = self.spill_area.borrow_mut();
        let base = self.spill_base(b, &mut area);
        let at = area.slots[s.slot].1 as i32;
        let vals: SmallVec<[Value; 2]> = s
            .types
            .iter()
            .enumerate()
            .map(|(j, &ty)| b.ins().load(ty, packet::data_flags(), base, at + 16 * j as i32))
            .collect();
        if s.vector {
            Pk::V(vals)
        } else {
            Pk::S(vals[0])
        }
    }

    /// The body of `main(bufs, start, end)`, after the buffer pointers.
    pub fn main_body(&self, b: &mut FunctionBuilder, start: Value, end: Value) {
        match self.p.mode {
            Mode::Empty => {}
            Mode::FillIdentity => self.fill_identity(b, start, end),
            Mode::Loop | Mode::RowReduce | Mode::ColReduce => {
                let mut env0 = self.new_env();
                self.materialize(b, &mut env0);
                let (frame, u, _) = open_loop(b, start, end, 1, &[]);
                self.unit(b, env0, u);
                close_loop(b, frame, u, &[]);
            }
        }
    }

    /// The whole kernel in straight-line code at the builder's position
    /// (every unit, no unit range): a stage of a small kernel. The plan
    /// must not split reductions into chunks.
    pub fn inline_body(&self, b: &mut FunctionBuilder) {
        if self.p.chunks > 1 {
            return self.fail("an inline kernel cannot split reductions into chunks");
        }
        let units = self.p.units as i64;
        match self.p.mode {
            Mode::Empty => {}
            Mode::FillIdentity => {
                let start = packet::iconst(b, types::I64, 0);
                let end = packet::iconst(b, types::I64, units);
                self.fill_identity(b, start, end);
            }
            Mode::Loop | Mode::RowReduce | Mode::ColReduce if units == 1 => {
                let mut env0 = self.new_env();
                self.materialize(b, &mut env0);
                let u = packet::iconst(b, types::I64, 0);
                self.unit(b, env0, u);
            }
            Mode::Loop | Mode::RowReduce | Mode::ColReduce => {
                let start = packet::iconst(b, types::I64, 0);
                let end = packet::iconst(b, types::I64, units);
                self.main_body(b, start, end);
            }
        }
    }

    /// The loop nest of unit `u`; `env` holds what is known outside it.
    fn unit(&self, b: &mut FunctionBuilder, mut env: Env, u: Value) {
        let (ranges, chunk) = self.decompose(b, u, &mut env);
        self.materialize(b, &mut env);
        match self.p.mode {
            Mode::Loop => self.loop_nest(b, env, &ranges),
            Mode::RowReduce => self.row_nest(b, env, &ranges, chunk),
            Mode::ColReduce => self.col_nest(b, env, &ranges, chunk),
            Mode::Empty | Mode::FillIdentity => {}
        }
    }

    /// Unit `u` → fixed coordinates (set in `env`), block ranges of the
    /// other dims, and the chunk index.
    fn decompose(
        &self,
        b: &mut FunctionBuilder,
        u: Value,
        env: &mut Env,
    ) -> (Vec<Option<(Value, Value)>>, Option<Value>) {
        let (k, p) = (self.k, self.p);
        let mut ranges: Vec<Option<(Value, Value)>> = vec![None; k.dims.len()];
        let mut chunk = None;
        let mut rest = u;
        for (pos, &d) in p.unit_dims.iter().enumerate().rev() {
            let extent = k.dims[d].extent;
            let cov = match p.cover[d] {
                Cover::Fixed => 1,
                Cover::Block(x) => x,
                Cover::Full => extent,
            };
            let nb = extent.div_ceil(cov) as i64;
            let bi = if pos == 0 { rest } else { b.ins().urem_imm_s(rest, nb) };
            if pos > 0 {
                rest = b.ins().udiv_imm_s(rest, nb);
            }
            if p.chunk_dim == Some(d) {
                chunk = Some(bi);
            }
            if p.cover[d] == Cover::Fixed {
                env.vars[k.dims[d].var as usize] = Some(bi);
            } else {
                let lo = b.ins().imul_imm_s(bi, cov as i64);
                let hi = b.ins().iadd_imm_s(lo, cov as i64);
                let n = packet::iconst(b, types::I64, extent as i64);
                let hi = b.ins().umin(hi, n);
                ranges[d] = Some((lo, hi));
            }
        }
        for (d, r) in ranges.iter_mut().enumerate() {
            if p.cover[d] == Cover::Full {
                let lo = packet::iconst(b, types::I64, 0);
                let hi = packet::iconst(b, types::I64, k.dims[d].extent as i64);
                *r = Some((lo, hi));
            }
        }
        (ranges, chunk)
    }

    /// Opens scalar loops over `dims` (kernel dim indices, skipping fixed
    /// ones) in every env of `envs`, materialising as variables become
    /// known; `shared` (if any) computes the scalars all envs share.
    fn open_dims(
        &self,
        b: &mut FunctionBuilder,
        dims: &[usize],
        ranges: &[Option<(Value, Value)>],
        shared: Option<&mut Env>,
        envs: &mut [Env],
        carried: Vec<Value>,
    ) -> (Vec<(Frame, Value)>, Vec<Value>) {
        let mut frames = Vec::new();
        let mut carried = carried;
        let mut shared = shared;
        for &d in dims {
            let Some((lo, hi)) = ranges[d] else { continue };
            let (f, i, inside) = open_loop(b, lo, hi, 1, &carried);
            carried = inside;
            let var = self.k.dims[d].var as usize;
            if let Some(s) = shared.as_deref_mut() {
                s.vars[var] = Some(i);
                self.materialize(b, s);
            }
            for e in envs.iter_mut() {
                e.vars[var] = Some(i);
                if let Some(s) = shared.as_deref() {
                    e.absorb_scalars(s);
                }
                self.materialize(b, e);
            }
            frames.push((f, i));
        }
        (frames, carried)
    }

    fn close_dims(
        &self,
        b: &mut FunctionBuilder,
        frames: Vec<(Frame, Value)>,
        carried: Vec<Value>,
    ) -> Vec<Value> {
        let mut carried = carried;
        for (f, i) in frames.into_iter().rev() {
            carried = close_loop(b, f, i, &carried);
        }
        carried
    }

    // ---- loop kernels ----------------------------------------------------

    fn loop_nest(&self, b: &mut FunctionBuilder, env: Env, ranges: &[Option<(Value, Value)>]) {
        let p = self.p;
        let outer: Vec<usize> =
            p.order.iter().copied().filter(|&d| Some(d) != p.vector_dim).collect();
        let mut envs = [env];
        let (frames, _) = self.open_dims(b, &outer, ranges, None, &mut envs, Vec::new());
        let [env] = envs;
        match p.vector_dim.and_then(|v| ranges[v].map(|r| (v, r))) {
            None => self.store_elementwise(b, &env),
            Some((v, (lo, hi))) => {
                let var = self.k.dims[v].var;
                let step = self.interleave * LANES;
                let (vend, exact) = self.steps_end(b, v, lo, hi, step);
                let mut shared = env.clone();
                shared.free = Default::default();
                self.vector_loop(b, &shared, var, (lo, vend), step, &[], &mut |b, i, at, _| {
                    let mut evs: Vec<Env> = (0..self.interleave)
                        .map(|c| {
                            let mut e = at.clone();
                            e.vars[var as usize] = Some(if c == 0 {
                                i
                            } else {
                                b.ins().iadd_imm_s(i, (c * LANES) as i64)
                            });
                            e.vec = Some(var);
                            e.spilling = true;
                            e
                        })
                        .collect();
                    self.materialize_interleaved(b, &mut evs);
                    for e in &evs {
                        self.store_elementwise(b, e);
                    }
                    Vec::new()
                });
                if !exact {
                    // The rest in scalar code (after interleaved packets:
                    // fewer than `interleave` packets, and one copy of the
                    // body less to compile than a single-packet loop).
                    let (f, i, _) = open_loop(b, vend, hi, 1, &[]);
                    let mut et = env;
                    et.free = Default::default();
                    et.vars[var as usize] = Some(i);
                    et.spilling = true;
                    self.materialize(b, &mut et);
                    self.store_elementwise(b, &et);
                    close_loop(b, f, i, &[]);
                }
            }
        }
        self.close_dims(b, frames, Vec::new());
    }

    /// `for i in (lo..end).step_by(step)` over the vectorised variable
    /// `var` (`end - lo` a multiple of `step`), carrying `carried`.
    /// `body(b, i, at, carried)` emits one iteration at `at` (`env`, or in
    /// a staged loop `env` reading the staged values of its block) and
    /// returns the next carried values; returns those after the loop.
    ///
    /// Staged (see [`Staging`]): blocks of [`STAGE_BLOCK`] elements; per
    /// block, one loop per staged function stores its argument to the
    /// function's buffer (`step` elements per iteration), then calls the
    /// batch function on the buffer; then the body's loop over the block.
    #[allow(clippy::too_many_arguments)]
    fn vector_loop(
        &self,
        b: &mut FunctionBuilder,
        env: &Env,
        var: u32,
        (lo, end): (Value, Value),
        step: usize,
        carried: &[Value],
        body: &mut LoopBody,
    ) -> Vec<Value> {
        let Some(st) = self.staging.as_ref().filter(|_| STAGE_BLOCK.is_multiple_of(step)) else {
            let (f, i, inside) = open_loop(b, lo, end, step as i64, carried);
            let next = body(b, i, env, &inside);
            return close_loop(b, f, i, &next);
        };
        // Values carried across blocks go through a stack slot: every
        // vector register is the batch functions' to clobber, and values
        // live across the calls would be kept in spill slots inside the
        // loops too.
        let carry = self.carry_slot(b, carried);
        let (fb, blk, _) = open_loop(b, lo, end, STAGE_BLOCK as i64, &[]);
        let full = b.ins().iadd_imm_s(blk, STAGE_BLOCK as i64);
        let bend = b.ins().umin(full, end);
        // Per buffer, its address less `blk` elements: element `i` of the
        // block is at `bias + i * size` (one addressing mode).
        let starts: Vec<Value> = (0..st.exprs.len()).map(|j| self.stage_start(b, st, j)).collect();
        let bias: Rc<Vec<Value>> = Rc::new(
            starts
                .iter()
                .zip(&st.exprs)
                .map(|(&start, s)| {
                    let off = b.ins().imul_imm_s(blk, s.size);
                    b.ins().isub(start, off)
                })
                .collect(),
        );
        for (j, s) in st.exprs.iter().enumerate() {
            let (f, i, _) = open_loop(b, blk, bend, step as i64, &[]);
            let mut at = env.clone();
            at.want = Some(Rc::clone(&st.want[j]));
            at.stage_bias = Some(Rc::clone(&bias));
            let index: Vec<Value> = (0..step / LANES)
                .map(|c| if c == 0 { i } else { b.ins().iadd_imm_s(i, (c * LANES) as i64) })
                .collect();
            let mut evs: Vec<Env> = index
                .iter()
                .map(|&ic| {
                    let mut e = at.clone();
                    e.vars[var as usize] = Some(ic);
                    e.vec = Some(var);
                    e
                })
                .collect();
            self.materialize_interleaved(b, &mut evs);
            for (e, &ic) in evs.iter().zip(&index) {
                let arg = self.value(b, e, s.arg as ExprId, true);
                let addr = stage_addr(b, s, bias[j], ic);
                store_packet(b, self.k.exprs[s.arg].dtype(), &arg, addr);
            }
            close_loop(b, f, i, &[]);
            let n = b.ins().isub(bend, blk);
            let callee = self.batch_ref(b, st, j);
            b.ins().call(callee, &[starts[j], n]);
        }
        let mut at = env.clone();
        at.want = st.want.last().cloned();
        at.stage_bias = Some(bias);
        let inside = self.load_carried(b, carry, carried);
        let (f, i, cur) = open_loop(b, blk, bend, step as i64, &inside);
        let next = body(b, i, &at, &cur);
        let after = close_loop(b, f, i, &next);
        self.store_carried(b, carry, &after);
        close_loop(b, fb, blk, &[]);
        self.load_carried(b, carry, carried)
    }

    /// A stack slot for `carried` (16 bytes each) holding their values.
    fn carry_slot(&self, b: &mut FunctionBuilder, carried: &[Value]) -> Option<StackSlot> {
        if carried.is_empty() {
            return None;
        }
        let data = StackSlotData::new(StackSlotKind::ExplicitSlot, 16 * carried.len() as u32, 4);
        let slot = b.create_sized_stack_slot(data);
        self.store_carried(b, Some(slot), carried);
        Some(slot)
    }

    fn store_carried(&self, b: &mut FunctionBuilder, slot: Option<StackSlot>, vals: &[Value]) {
        let Some(slot) = slot else { return };
        for (k, &v) in vals.iter().enumerate() {
            b.ins().stack_store(types::I64, v, slot, 16 * k as i32);
        }
    }

    /// The values in `slot`, of the types of `like`.
    fn load_carried(
        &self,
        b: &mut FunctionBuilder,
        slot: Option<StackSlot>,
        like: &[Value],
    ) -> Vec<Value> {
        let Some(slot) = slot else { return Vec::new() };
        like.iter()
            .enumerate()
            .map(|(k, &v)| {
                let ty = b.func.dfg.value_type(v);
                b.ins().stack_load(types::I64, ty, slot, 16 * k as i32)
            })
            .collect()
    }

    /// The address of the buffer of staged expression `j` of `st` (its
    /// slot made at the first use).
    fn stage_start(&self, b: &mut FunctionBuilder, st: &Staging, j: usize) -> Value {
        let mut slots = self.stage_slots.borrow_mut();
        while slots.len() <= j {
            let bytes = STAGE_BLOCK as i64 * st.exprs[slots.len()].size;
            let data = StackSlotData::new(StackSlotKind::ExplicitSlot, bytes as u32, 6);
            slots.push(b.create_sized_stack_slot(data));
        }
        b.ins().stack_addr(types::I64, slots[j], 0)
    }

    /// The import of the batch function of staged expression `j` (made at
    /// the first use): `fn(buf: i64, n: i64)` in the kernel's calling
    /// convention, named by its index among the module's declarations.
    fn batch_ref(&self, b: &mut FunctionBuilder, st: &Staging, j: usize) -> FuncRef {
        let mut refs = self.batch_refs.borrow_mut();
        while refs.len() <= j {
            let index = st.exprs[refs.len()].import;
            let mut sig = Signature::new(b.func.signature.call_conv);
            sig.params.extend([AbiParam::new(types::I64), AbiParam::new(types::I64)]);
            let signature = b.import_signature(sig);
            let name =
                b.func.declare_imported_user_function(UserExternalName { namespace: 0, index });
            refs.push(b.import_function(ExtFuncData {
                name: ExternalName::user(name),
                signature,
                colocated: false,
                patchable: false,
            }));
        }
        refs[j]
    }

    /// The end of whole `step`s of `[lo, hi)` along loop dim `d`, and
    /// whether that is `hi` for every range the units cover (then no loop
    /// is needed after the `step` loop: one copy of the body less to
    /// compile).
    fn steps_end(
        &self,
        b: &mut FunctionBuilder,
        d: usize,
        lo: Value,
        hi: Value,
        step: usize,
    ) -> (Value, bool) {
        if self.whole_steps(d, step as u64) {
            (hi, true)
        } else {
            (whole_steps_end(b, lo, hi, step as i64), false)
        }
    }

    /// Whether every range of loop dim `d` the units cover is a whole
    /// number of `step`s.
    fn whole_steps(&self, d: usize, step: u64) -> bool {
        let whole_blocks = match self.p.cover[d] {
            Cover::Full => true,
            Cover::Block(c) => c.is_multiple_of(step),
            Cover::Fixed => step == 1,
        };
        whole_blocks && self.k.dims[d].extent.is_multiple_of(step)
    }

    /// Stores every elementwise output at the point `env`.
    fn store_elementwise(&self, b: &mut FunctionBuilder, env: &Env) {
        for (o, out) in self.k.outputs.iter().enumerate() {
            if out.reduce.is_some() {
                continue;
            }
            let vector = env.vec.is_some();
            let v = self.value(b, env, out.expr, vector);
            self.store_at(b, env, self.ptrs.outputs[o], out.dtype, out.offset, &v, None);
        }
    }

    /// Stores `v` (scalar or packet) at element `offset` of `base`; with
    /// `chunk = Some((c, C))` at `offset * C + c` (partials).
    #[allow(clippy::too_many_arguments)]
    fn store_at(
        &self,
        b: &mut FunctionBuilder,
        env: &Env,
        base: Value,
        dt: DType,
        offset: LinId,
        v: &Pk,
        chunk: Option<(Value, u64)>,
    ) {
        let size = dt.size_bytes() as i64;
        let index = |b: &mut FunctionBuilder, off: Value| match chunk {
            None => off,
            Some((c, n)) => {
                let s = b.ins().imul_imm_s(off, n as i64);
                b.ins().iadd(s, c)
            }
        };
        let vec_var = env.vec.filter(|_| v.is_vector());
        let Some(var) = vec_var else {
            let off = self.eval_lin(b, offset, &env.vars);
            let off = index(b, off);
            let addr = elem_addr(b, base, off, size);
            store_scalar(b, v.scalar(), addr);
            return;
        };
        let arena = &self.k.arena;
        let contiguous = chunk.is_none()
            && arena.deep_vars(offset) & (1 << var) == 0
            && arena.coef(offset, var) == 1;
        if contiguous {
            let off = self.eval_lin(b, offset, &env.vars);
            let addr = elem_addr(b, base, off, size);
            store_packet(b, dt, v, addr);
            return;
        }
        let lanes = to_lanes(b, dt, v);
        for (l, &x) in lanes.iter().enumerate() {
            let vars = self.lane_vars(b, env, var, l as i64);
            let off = self.eval_lin(b, offset, &vars);
            let off = index(b, off);
            let addr = elem_addr(b, base, off, size);
            store_scalar(b, x, addr);
        }
    }

    // ---- expressions ---------------------------------------------------------

    /// Computes every expression whose variables are all known at `env`
    /// and that it does not hold yet, in topological order.
    fn materialize(&self, b: &mut FunctionBuilder, env: &mut Env) {
        self.materialize_interleaved(b, std::slice::from_mut(env));
    }

    /// [`Self::materialize`] at several points at once, expression by
    /// expression, so that their dependency chains interleave.
    fn materialize_interleaved(&self, b: &mut FunctionBuilder, envs: &mut [Env]) {
        for e in 0..self.k.exprs.len() {
            for env in envs.iter_mut() {
                self.materialize_one(b, env, e);
            }
        }
    }

    /// Computes expression `e` at `env` if its variables are known there
    /// and `env` does not hold it yet.
    fn materialize_one(&self, b: &mut FunctionBuilder, env: &mut Env, e: usize) {
        let d = self.k.deps[e];
        if d & !env.bound() != 0 {
            return;
        }
        if env.want.as_ref().is_some_and(|w| !w[e]) {
            return;
        }
        let vector = env.vec.is_some_and(|v| d & (1 << v) != 0);
        if vector && env.packets[e].is_some() || !vector && env.scalars[e].is_some() {
            return;
        }
        env.pos = e;
        if let Some(pk) = self.staged_value(b, env, e).filter(|_| vector) {
            env.packets[e] = Some(pk);
            return;
        }
        if env.spilling && self.remat[e] {
            env.deferred[e] = Some(vector);
            return;
        }
        let pk = self.compute(b, env, e as ExprId, vector);
        if env.spilling {
            for &x in &self.frees_at[e] {
                self.release(env, x);
            }
            if self.spill[e] {
                self.spill_value(b, env, e, &pk);
            }
        }
        if vector {
            env.packets[e] = Some(pk);
        } else {
            env.scalars[e] = Some(pk.scalar());
        }
    }

    /// The value of staged expression `e` at `env` in a staged loop: the
    /// packet the batch function left in its buffer.
    fn staged_value(&self, b: &mut FunctionBuilder, env: &Env, e: usize) -> Option<Pk> {
        let bias = env.stage_bias.as_ref()?;
        let st = self.staging.as_ref()?;
        let j = st.position(e)?;
        let i = env.vars[env.vec? as usize]?;
        let addr = stage_addr(b, &st.exprs[j], bias[j], i);
        Some(load_packet(b, self.k.exprs[e].dtype(), addr))
    }

    /// Expression `e` at `env`, as a packet (`vector`) or a scalar.
    fn value(&self, b: &mut FunctionBuilder, env: &Env, e: ExprId, vector: bool) -> Pk {
        let dt = self.k.exprs[e as usize].dtype();
        if let Some(packet) = env.deferred[e as usize] {
            let pk = self.compute(b, env, e, packet);
            return self.as_wanted(b, e, pk, vector);
        }
        if let Some(s) = &env.spilled[e as usize] {
            let mut recent = env.reloaded.borrow_mut();
            let pk = match &recent[e as usize] {
                Some((pk, at)) if env.pos < at + SPILL_DISTANCE => pk.clone(),
                _ => {
                    let pk = self.reload(b, s);
                    recent[e as usize] = Some((pk.clone(), env.pos));
                    pk
                }
            };
            drop(recent);
            return self.as_wanted(b, e, pk, vector);
        }
        if vector {
            if let Some(p) = &env.packets[e as usize] {
                return p.clone();
            }
        }
        match env.scalars[e as usize] {
            Some(s) if vector => splat(b, dt, s),
            Some(s) => Pk::S(s),
            None => {
                self.fail(&format!("expression {e} used before it is computed"));
                const_value(b, dt, 0, vector)
            }
        }
    }

    /// `pk`, the value of `e`, as a packet (`vector`) or a scalar: scalars
    /// are splatted; a packet where a scalar is needed is an internal error.
    fn as_wanted(&self, b: &mut FunctionBuilder, e: ExprId, pk: Pk, vector: bool) -> Pk {
        match (vector, pk.is_vector()) {
            (true, false) => splat(b, self.k.exprs[e as usize].dtype(), pk.scalar()),
            (false, true) => {
                self.fail(&format!("expression {e} is a packet where a scalar is needed"));
                Pk::S(pk.scalar())
            }
            _ => pk,
        }
    }

    fn compute(&self, b: &mut FunctionBuilder, env: &Env, e: ExprId, vector: bool) -> Pk {
        let arg = |b: &mut FunctionBuilder, x: ExprId| self.value(b, env, x, vector);
        match self.k.exprs[e as usize] {
            ENode::Load { src, dtype, offset } => self.load(b, env, src, dtype, offset, vector),
            ENode::Const { dtype, bits } => const_value(b, dtype, bits, vector),
            ENode::Iota { dtype, coord } => self.iota(b, env, dtype, coord, vector),
            ENode::Unary { op, dtype, x } => {
                let x = arg(b, x);
                lower::unary(b, op, dtype, &x)
            }
            ENode::Binary { op, dtype, x, y } => {
                let (x, y) = (arg(b, x), arg(b, y));
                lower::binary(b, op, dtype, &x, &y)
            }
            ENode::Compare { op, dtype, x, y } => {
                let (x, y) = (arg(b, x), arg(b, y));
                lower::compare(b, op, dtype, &x, &y)
            }
            ENode::Select { dtype, p, t, f } => {
                let (p, t, f) = (arg(b, p), arg(b, t), arg(b, f));
                lower::select(b, dtype, &p, &t, &f)
            }
            ENode::Convert { from, to, x } => {
                let x = arg(b, x);
                lower::convert(b, from, to, &x)
            }
        }
    }

    fn src_ptr(&self, src: Src) -> Value {
        match src {
            Src::Param(k) => self.ptrs.inputs[k as usize],
            Src::Data(k) => self.ptrs.data[k as usize],
        }
    }

    fn load(
        &self,
        b: &mut FunctionBuilder,
        env: &Env,
        src: Src,
        dt: DType,
        offset: LinId,
        vector: bool,
    ) -> Pk {
        let base = self.src_ptr(src);
        let size = dt.size_bytes() as i64;
        let var = match env.vec {
            Some(v) if vector => v,
            _ => {
                let off = self.eval_lin(b, offset, &env.vars);
                let addr = elem_addr(b, base, off, size);
                return Pk::S(load_scalar(b, dt, addr));
            }
        };
        let arena = &self.k.arena;
        if arena.deep_vars(offset) & (1 << var) == 0 {
            let coef = arena.coef(offset, var);
            let off = self.eval_lin(b, offset, &env.vars);
            if coef == 1 {
                let addr = elem_addr(b, base, off, size);
                return load_packet(b, dt, addr);
            }
            if coef == -1 {
                let first = b.ins().iadd_imm_s(off, -(LANES as i64 - 1));
                let addr = elem_addr(b, base, first, size);
                let p = load_packet(b, dt, addr);
                return reverse_lanes(b, dt, &p);
            }
            let lanes = [0i64, 1, 2, 3].map(|l| {
                let o = b.ins().iadd_imm_s(off, l * coef);
                let addr = elem_addr(b, base, o, size);
                load_scalar(b, dt, addr)
            });
            return from_lanes(b, dt, lanes);
        }
        let lanes = [0i64, 1, 2, 3].map(|l| {
            let vars = self.lane_vars(b, env, var, l);
            let o = self.eval_lin(b, offset, &vars);
            let addr = elem_addr(b, base, o, size);
            load_scalar(b, dt, addr)
        });
        from_lanes(b, dt, lanes)
    }

    /// The variables of lane `l` of the packet at `env`.
    fn lane_vars(
        &self,
        b: &mut FunctionBuilder,
        env: &Env,
        var: u32,
        l: i64,
    ) -> Vec<Option<Value>> {
        let mut vars = env.vars.clone();
        if let Some(i) = vars[var as usize] {
            vars[var as usize] = Some(b.ins().iadd_imm_s(i, l));
        }
        vars
    }

    /// `iota`: the index `coord` converted to `dt` with `as`.
    fn iota(
        &self,
        b: &mut FunctionBuilder,
        env: &Env,
        dt: DType,
        coord: LinId,
        vector: bool,
    ) -> Pk {
        let var = match env.vec {
            Some(v) if vector => v,
            _ => {
                let c = self.eval_lin(b, coord, &env.vars);
                return Pk::S(lower::convert_scalar(b, DType::I64, dt, c));
            }
        };
        let arena = &self.k.arena;
        if arena.deep_vars(coord) & (1 << var) == 0 {
            let coef = arena.coef(coord, var);
            let c0 = self.eval_lin(b, coord, &env.vars);
            let small = arena.range(coord).1 < i128::from(i32::MAX) - 4 * i128::from(coef.abs());
            if small && matches!(dt, DType::F32 | DType::I32) {
                let c32 = b.ins().ireduce(types::I32, c0);
                let base = b.ins().splat(types::I32X4, c32);
                let steps: Vec<u64> = (0..4).map(|l| (l * coef) as u64).collect();
                let steps = vconst_lanes(b, types::I32X4, &steps);
                let v = b.ins().iadd(base, steps);
                return lower::convert(b, DType::I32, dt, &Pk::V(smallvec::smallvec![v]));
            }
            let base = b.ins().splat(types::I64X2, c0);
            let s0 = vconst_lanes(b, types::I64X2, &[0, coef as u64]);
            let s1 = vconst_lanes(b, types::I64X2, &[(2 * coef) as u64, (3 * coef) as u64]);
            let v0 = b.ins().iadd(base, s0);
            let v1 = b.ins().iadd(base, s1);
            return lower::convert(b, DType::I64, dt, &Pk::V(smallvec::smallvec![v0, v1]));
        }
        let lanes = [0i64, 1, 2, 3].map(|l| {
            let vars = self.lane_vars(b, env, var, l);
            self.eval_lin(b, coord, &vars)
        });
        let p = from_lanes(b, DType::I64, lanes);
        lower::convert(b, DType::I64, dt, &p)
    }

    /// An index expression as an i64 value.
    fn eval_lin(&self, b: &mut FunctionBuilder, id: LinId, vars: &[Option<Value>]) -> Value {
        use super::index::Atom;
        let arena = &self.k.arena;
        // The sub-expressions `id` needs, evaluated in id order.
        let mut need = vec![id];
        let mut k = 0;
        while k < need.len() {
            for &(a, _) in &arena.lin(need[k]).terms {
                if let Atom::Div(x, _) | Atom::Mod(x, _) = a {
                    if !need.contains(&x) {
                        need.push(x);
                    }
                }
            }
            k += 1;
        }
        need.sort_unstable();
        let mut vals: Vec<(LinId, Value)> = Vec::with_capacity(need.len());
        for &n in &need {
            let l = arena.lin(n);
            let mut acc: Option<Value> = None;
            for &(a, c) in &l.terms {
                let x = match a {
                    Atom::Var(v) => match vars.get(v as usize).copied().flatten() {
                        Some(x) => x,
                        None => {
                            self.fail(&format!("loop variable {v} used before it is bound"));
                            packet::iconst(b, types::I64, 0)
                        }
                    },
                    Atom::Div(x, d) => {
                        let xv = lookup(&vals, x);
                        b.ins().udiv_imm_s(xv, d)
                    }
                    Atom::Mod(x, m) => {
                        let xv = lookup(&vals, x);
                        b.ins().urem_imm_s(xv, m)
                    }
                };
                let term = if c == 1 { x } else { b.ins().imul_imm_s(x, c) };
                acc = Some(match acc {
                    None => term,
                    Some(s) => b.ins().iadd(s, term),
                });
            }
            let v = match acc {
                None => packet::iconst(b, types::I64, l.off),
                Some(s) if l.off != 0 => b.ins().iadd_imm_s(s, l.off),
                Some(s) => s,
            };
            vals.push((n, v));
        }
        lookup(&vals, id)
    }
}

fn lookup(vals: &[(LinId, Value)], id: LinId) -> Value {
    vals.iter().find(|(n, _)| *n == id).map(|&(_, v)| v).unwrap_or(vals[0].1)
}

/// Loads the buffer table entries `bufs[0..n]`.
pub(crate) fn load_buffer_ptrs(b: &mut FunctionBuilder, bufs: Value, n: usize) -> Vec<Value> {
    let flags = MemFlagsData::trusted().with_readonly();
    (0..n).map(|i| b.ins().load(types::I64, flags, bufs, (8 * i) as i32)).collect()
}
