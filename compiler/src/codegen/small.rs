//! Small kernels: a body whose values are all tiny, with any mix of shapes
//! and reductions used inside, becomes a straight sequence of *stages*,
//! each an ordinary loop or reduction kernel (analysed, planned and
//! emitted by the rest of `codegen`) placed one after the other in a
//! single function over one work unit.
//!
//! **Which values are materialised.** The results, every reduction (a
//! reduction is only ever a stage result), and an expensive elementwise
//! value (unary, binary, compare, select) that more than one stage would
//! otherwise recompute. Everything else (views, converts, constants, iota,
//! and elementwise values used by one stage) is recomputed inside the
//! stages that read it, per point of their iteration space, as loop
//! fusion does.
//!
//! **Grouping.** Materialised values are taken in program order; each
//! joins the first stage after every stage it reads from whose iteration
//! space it shares (same shape; reductions also the same axes, other
//! values of that shape become side outputs), or opens a new stage. So
//! sibling reductions share one pass and independent updates of one shape
//! share one loop nest, and a reduction's consumers run in later stages.
//!
//! **Memory.** Results are written to the output buffers (and read back
//! from there by later stages); other materialised values live in one
//! scratch buffer the runtime provides (`scratch_bytes`), at offsets
//! reused once a value's last reader has run. Scratch rather than stack
//! slots: the number of intermediate values of a body is unbounded, the
//! runtime's per-call workspace already exists, and calls on threads with
//! small stacks stay safe.

use std::collections::{BTreeSet, HashMap};

use cranelift_codegen::ir::{self, types, InstBuilder};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{DataId, Module};
use gradlift_ir::{Function, Op, Shape, Value};

use super::analysis::{is_reduce, Kernel};
use super::emit::{load_buffer_ptrs, Gen, Ptrs};
use super::plan::Plan;
use super::{describe_nest, kernel_function};
use crate::error::CompileError;

/// Values of at most this many elements make a body small (fusion's
/// small-kernel bound).
pub(crate) const SMALL_VALUE: usize = 256;

/// Byte alignment of each value in the scratch buffer.
const SCRATCH_ALIGN: usize = 16;

/// Where a buffer of a stage lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Kernel input `i`.
    Input(usize),
    /// Kernel output `j`.
    Output(usize),
    /// At this byte offset of the scratch buffer.
    Scratch(usize),
}

/// One stage: an ordinary kernel body and where its parameters and
/// results live.
#[derive(Clone, Debug)]
pub(crate) struct Stage {
    pub body: Function,
    /// One per parameter of `body`.
    pub inputs: Vec<Slot>,
    /// One per result of `body`.
    pub outputs: Vec<Slot>,
}

/// A small body cut into stages.
#[derive(Clone, Debug)]
pub(crate) struct Stages {
    pub stages: Vec<Stage>,
    /// Size of the scratch buffer (0: none).
    pub scratch_bytes: usize,
}

/// Is every value of `body` (instructions and parameters) at most
/// [`SMALL_VALUE`] elements?
pub(crate) fn is_small(body: &Function) -> bool {
    body.iter().all(|(_, node)| node.ty.shape.size() <= SMALL_VALUE)
}

/// Is `op` worth computing once rather than in every stage that reads it?
fn expensive(op: &Op) -> bool {
    match op {
        Op::Unary(_) | Op::Binary(_) | Op::Compare(_) | Op::Select => true,
        Op::Parameter { .. }
        | Op::Constant { .. }
        | Op::Iota { .. }
        | Op::Convert { .. }
        | Op::StopGradient
        | Op::BroadcastInDim { .. }
        | Op::Reshape { .. }
        | Op::Transpose { .. }
        | Op::Slice(_)
        | Op::Reverse { .. }
        | Op::Reduce { .. }
        | Op::Concatenate { .. }
        | Op::Pad(_)
        | Op::Argmax { .. }
        | Op::DotGeneral(_)
        | Op::Gather { .. }
        | Op::ScatterAdd { .. }
        | Op::CustomJvp(_) => false,
    }
}

/// The iteration space of a stage: a shape, and the reduced axes once a
/// reduction has joined.
#[derive(Clone, Debug)]
struct Space {
    shape: Shape,
    axes: Option<Vec<usize>>,
}

impl Space {
    /// The space a materialised value needs.
    fn of(body: &Function, v: Value) -> Space {
        match body.op(v) {
            Op::Reduce { axes, .. } if !axes.is_empty() => {
                let mut a = axes.to_vec();
                a.sort_unstable();
                Space { shape: body.ty(body.args(v)[0]).shape.clone(), axes: Some(a) }
            }
            _ => Space { shape: body.ty(v).shape.clone(), axes: None },
        }
    }

    /// Can a value needing `other` be computed in this space? Then the
    /// space both need.
    fn join(&self, other: &Space) -> Option<Space> {
        if self.shape != other.shape {
            return None;
        }
        match (&self.axes, &other.axes) {
            (Some(a), Some(b)) if a != b => None,
            (a, b) => Some(Space { shape: self.shape.clone(), axes: a.clone().or(b.clone()) }),
        }
    }
}

/// The grouping of materialised values into stages.
struct Grouping {
    /// Stage of each materialised value (`usize::MAX` for the others).
    stage_of: Vec<usize>,
    /// Materialised values of each stage, in program order.
    roots: Vec<Vec<usize>>,
}

/// Cuts a (checked) body into stages. `name` is used in errors.
pub(crate) fn split_stages(name: &str, body: &Function) -> Result<Stages, CompileError> {
    let n = body.len();
    let np = body.num_params();
    let results: Vec<usize> = body.results().iter().map(|r| r.index()).collect();
    let mut live = vec![false; n];
    for &r in &results {
        live[r] = true;
    }
    for i in (np..n).rev() {
        if live[i] {
            for a in body.args(Value::from_index(i)) {
                live[a.index()] = true;
            }
        }
    }
    let mut mat = vec![false; n];
    for &r in &results {
        mat[r] = true;
    }
    for (v, node) in body.instructions() {
        if live[v.index()] && is_reduce(&node.op) {
            mat[v.index()] = true;
        }
    }
    // Materialise, one at a time and last first (which can only lower the
    // counts of earlier values), expensive values more than one stage
    // would recompute.
    let grouping = loop {
        let g = group(body, &live, &mat);
        let needs = stages_needing(body, &live, &mat, &g);
        let shared = (np..n).rev().find(|&i| {
            live[i] && !mat[i] && expensive(body.op(Value::from_index(i))) && needs[i] > 1
        });
        match shared {
            Some(i) => mat[i] = true,
            None => break g,
        }
    };
    build_stages(name, body, &mat, &grouping)
}

/// Groups the materialised values (program order, first fitting stage).
fn group(body: &Function, live: &[bool], mat: &[bool]) -> Grouping {
    let n = body.len();
    let mut stage_of = vec![usize::MAX; n];
    let mut spaces: Vec<Space> = Vec::new();
    let mut roots: Vec<Vec<usize>> = Vec::new();
    // The earliest stage that may compute a consumer of each value: after
    // a reduction's stage; a materialised elementwise value can also be
    // recomputed by consumers in its own stage.
    // Parameters stay 0: consumers read them from the inputs, also when
    // they are results (and a stage copies them to the outputs).
    let mut after = vec![0usize; n];
    for i in 0..n {
        if !live[i] {
            continue;
        }
        let v = Value::from_index(i);
        let reads = body.args(v).iter().map(|a| after[a.index()]).max().unwrap_or(0);
        if !mat[i] {
            after[i] = reads;
            continue;
        }
        let space = Space::of(body, v);
        let fit = (reads..spaces.len()).find_map(|s| spaces[s].join(&space).map(|j| (s, j)));
        let s = match fit {
            Some((s, joined)) => {
                spaces[s] = joined;
                s
            }
            None => {
                spaces.push(space);
                roots.push(Vec::new());
                spaces.len() - 1
            }
        };
        roots[s].push(i);
        stage_of[i] = s;
        after[i] = match body.op(v) {
            Op::Parameter { .. } => 0,
            op if is_reduce(op) => s + 1,
            _ => s,
        };
    }
    Grouping { stage_of, roots }
}

/// For each value, the number of stages that compute it (materialised:
/// one; otherwise the stages whose roots need it through values that are
/// not materialised).
fn stages_needing(body: &Function, live: &[bool], mat: &[bool], g: &Grouping) -> Vec<usize> {
    let n = body.len();
    let np = body.num_params();
    let mut sets: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for i in (np..n).rev() {
        if !live[i] {
            continue;
        }
        if mat[i] {
            sets[i] = BTreeSet::from([g.stage_of[i]]);
        }
        let mine = sets[i].clone();
        for a in body.args(Value::from_index(i)) {
            let a = a.index();
            if a >= np && !mat[a] {
                sets[a].extend(mine.iter().copied());
            }
        }
    }
    sets.iter().map(BTreeSet::len).collect()
}

/// A stage cut out of the body, before its buffers are placed.
struct Cut {
    body: Function,
    /// The value each parameter of `body` is.
    inputs: Vec<usize>,
    /// The value each result of `body` is, and its result index if any.
    outputs: Vec<(usize, Option<usize>)>,
}

/// Cuts each stage out of `body` as a kernel body of its own and lays out
/// the scratch buffer.
fn build_stages(
    name: &str,
    body: &Function,
    mat: &[bool],
    g: &Grouping,
) -> Result<Stages, CompileError> {
    let np = body.num_params();
    let results: Vec<usize> = body.results().iter().map(|r| r.index()).collect();
    let mut cuts: Vec<Cut> = Vec::new();
    for (s, roots) in g.roots.iter().enumerate() {
        // The stage computes its roots, the values they need that are not
        // materialised, and elementwise values materialised in this stage;
        // it reads parameters and the values of earlier stages.
        let computed = |i: usize| {
            i >= np
                && (!mat[i] || (g.stage_of[i] == s && !is_reduce(body.op(Value::from_index(i)))))
        };
        let mut inside: BTreeSet<usize> = BTreeSet::new();
        let mut inputs: BTreeSet<usize> = BTreeSet::new();
        let mut stack: Vec<usize> = Vec::new();
        for &r in roots {
            if r < np {
                inputs.insert(r);
            } else if inside.insert(r) {
                stack.push(r);
            }
        }
        while let Some(x) = stack.pop() {
            for a in body.args(Value::from_index(x)) {
                let a = a.index();
                if !computed(a) {
                    inputs.insert(a);
                } else if inside.insert(a) {
                    stack.push(a);
                }
            }
        }
        let mut f = Function::new(format!("{}_stage{s}", body.name()));
        let mut map: Vec<Option<Value>> = vec![None; body.len()];
        for &i in &inputs {
            let v = Value::from_index(i);
            map[i] = Some(f.add_param(body.value_name(v), body.ty(v).clone())?);
        }
        for &i in &inside {
            let v = Value::from_index(i);
            let args: Vec<Value> = body
                .args(v)
                .iter()
                .map(|a| map[a.index()].ok_or_else(|| internal(name, "stage operand missing")))
                .collect::<Result<_, _>>()?;
            map[i] = Some(f.push(body.op(v).clone(), &args, body.loc(v).cloned())?);
        }
        let mut outs = Vec::new();
        let mut out_values = Vec::new();
        for &r in roots {
            let rv = map[r].ok_or_else(|| internal(name, "stage root missing"))?;
            let dests: Vec<usize> = (0..results.len()).filter(|&j| results[j] == r).collect();
            if dests.is_empty() {
                out_values.push(rv);
                outs.push((r, None));
            }
            for j in dests {
                out_values.push(rv);
                outs.push((r, Some(j)));
            }
        }
        f.set_results(out_values)?;
        cuts.push(Cut { body: f, inputs: inputs.into_iter().collect(), outputs: outs });
    }
    let reads: Vec<Vec<usize>> =
        cuts.iter().map(|c| c.inputs.iter().copied().filter(|&i| i >= np).collect()).collect();
    let (offsets, scratch_bytes) = scratch_layout(body, mat, g, &reads, &results);
    // Where each value a stage reads lives.
    let home = |i: usize| -> Slot {
        if i < np {
            Slot::Input(i)
        } else if let Some(j) = results.iter().position(|&r| r == i) {
            Slot::Output(j)
        } else {
            Slot::Scratch(offsets[i])
        }
    };
    let stages = cuts
        .into_iter()
        .map(|c| Stage {
            body: c.body,
            inputs: c.inputs.into_iter().map(home).collect(),
            outputs: c
                .outputs
                .into_iter()
                .map(|(v, j)| j.map_or_else(|| Slot::Scratch(offsets[v]), Slot::Output))
                .collect(),
        })
        .collect();
    Ok(Stages { stages, scratch_bytes })
}

/// Byte offsets in scratch of the materialised values that are not
/// results, reusing space whose value is dead: two values may overlap
/// unless one is written by or before a stage that reads the other.
fn scratch_layout(
    body: &Function,
    mat: &[bool],
    g: &Grouping,
    reads: &[Vec<usize>],
    results: &[usize],
) -> (Vec<usize>, usize) {
    let n = body.len();
    let np = body.num_params();
    let mut last = g.stage_of.clone();
    for (s, rs) in reads.iter().enumerate() {
        for &i in rs {
            last[i] = last[i].max(s);
        }
    }
    let mut offsets = vec![0usize; n];
    // (first stage, last stage, offset, bytes) of placed values.
    let mut placed: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut total = 0;
    let mut order: Vec<usize> = (np..n).filter(|&i| mat[i] && !results.contains(&i)).collect();
    order.sort_by_key(|&i| (g.stage_of[i], i));
    for i in order {
        let ty = body.ty(Value::from_index(i));
        let bytes = ty.shape.size() * ty.dtype.size_bytes();
        let (first, end) = (g.stage_of[i], last[i]);
        let conflicts: Vec<(usize, usize)> = placed
            .iter()
            .filter(|p| !(p.1 < first || end < p.0))
            .map(|p| (p.2, p.2 + p.3))
            .collect();
        let mut candidates: Vec<usize> = std::iter::once(0)
            .chain(conflicts.iter().map(|c| c.1.next_multiple_of(SCRATCH_ALIGN)))
            .collect();
        candidates.sort_unstable();
        let at = candidates
            .into_iter()
            .find(|&at| {
                conflicts.iter().all(|&(lo, hi)| at + bytes <= lo || hi <= at || bytes == 0)
            })
            .unwrap_or(total);
        offsets[i] = at;
        placed.push((first, end, at, bytes));
        total = total.max((at + bytes).next_multiple_of(SCRATCH_ALIGN));
    }
    (offsets, total)
}

/// A stage ready to emit: its analysis, schedule and embedded constants.
pub(crate) struct Part {
    pub stage: Stage,
    pub k: Kernel,
    pub p: Plan,
    pub data: Vec<DataId>,
}

/// A small kernel ready to emit.
pub(crate) struct SmallCode {
    pub num_params: usize,
    pub num_results: usize,
    pub parts: Vec<Part>,
    pub scratch_bytes: usize,
}

impl SmallCode {
    /// Whether a stage's body is emitted in an order Cranelift must keep
    /// (see `emit::keeps_order`).
    pub fn keeps_order(&self) -> bool {
        self.parts.iter().any(|pt| super::emit::keeps_order(&pt.k))
    }

    /// Comment lines describing the stages, for `clif_text`.
    pub fn header(&self, name: &str) -> String {
        let mut out = format!(
            "; kernel @{name}: Small, {} stage(s), {} scratch bytes\n",
            self.parts.len(),
            self.scratch_bytes
        );
        let slots = |ss: &[Slot]| -> String {
            let v: Vec<String> = ss
                .iter()
                .map(|s| match s {
                    Slot::Input(i) => format!("in{i}"),
                    Slot::Output(j) => format!("out{j}"),
                    Slot::Scratch(o) => format!("scratch+{o}"),
                })
                .collect();
            v.join(", ")
        };
        for (i, pt) in self.parts.iter().enumerate() {
            out.push_str(&format!(
                "; stage {i}: {}, reads [{}], writes [{}]\n;   {}\n",
                describe_nest(&pt.k),
                slots(&pt.stage.inputs),
                slots(&pt.stage.outputs),
                pt.p
            ));
        }
        out
    }
}

/// The CLIF of a small kernel: its stages one after the other in `main`,
/// which ignores its unit range (there is one unit).
pub(crate) fn build_small_function(
    module: &JITModule,
    fctx: &mut FunctionBuilderContext,
    name: &str,
    code: &SmallCode,
) -> Result<ir::Function, CompileError> {
    let mut func = kernel_function(module, name, "main");
    let mut gvs: HashMap<DataId, ir::GlobalValue> = HashMap::new();
    for pt in &code.parts {
        for &d in &pt.data {
            gvs.entry(d).or_insert_with(|| module.declare_data_in_func(d, &mut func));
        }
    }
    let failure = {
        let mut b = FunctionBuilder::new(&mut func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let bufs = b.block_params(entry)[0];
        let (np, nr) = (code.num_params, code.num_results);
        let table = np + nr + usize::from(code.scratch_bytes > 0);
        let all = load_buffer_ptrs(&mut b, bufs, table);
        let mut data: HashMap<DataId, ir::Value> = HashMap::new();
        let mut ids: Vec<&DataId> = gvs.keys().collect();
        ids.sort_unstable();
        for d in ids {
            data.insert(*d, b.ins().symbol_value(types::I64, gvs[d]));
        }
        let mut failure = None;
        for pt in &code.parts {
            let mut ptr = |slot: &Slot| match *slot {
                Slot::Input(i) => all[i],
                Slot::Output(j) => all[np + j],
                // Only values without elements, never read or written, live
                // in a scratch buffer of no bytes.
                Slot::Scratch(_) if code.scratch_bytes == 0 => b.ins().iconst(types::I64, 0),
                Slot::Scratch(0) => all[np + nr],
                Slot::Scratch(off) => b.ins().iadd_imm_s(all[np + nr], off as i64),
            };
            let inputs = pt.stage.inputs.iter().map(&mut ptr).collect();
            let outputs = pt.stage.outputs.iter().map(&mut ptr).collect();
            let ptrs = Ptrs {
                inputs,
                outputs,
                scratch: Vec::new(),
                data: pt.data.iter().map(|d| data[d]).collect(),
            };
            // (Stages of small kernels are at most 256 elements: no staging.)
            let g = Gen::new(&pt.k, &pt.p, ptrs, None);
            g.inline_body(&mut b);
            if failure.is_none() {
                failure = g.failure.into_inner();
            }
        }
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(module.target_config());
        failure
    };
    match failure {
        Some(msg) => Err(CompileError::codegen(name, msg)),
        None => Ok(func),
    }
}

fn internal(name: &str, msg: &str) -> CompileError {
    CompileError::codegen(name, format!("internal error splitting a small kernel: {msg}"))
}
