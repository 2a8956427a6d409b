//! The fusion decision: which nodes run in which kernel, which values are
//! materialised. One reverse pass over the nodes (consumers are placed before
//! their producers), then kernels are cut out as IR functions and the steps
//! ordered. No recursion: dependency checks are bounded breadth-first walks.

use std::collections::{BTreeSet, HashMap, VecDeque};

use gradlift_ir::{Function, Op, Shape, Value};

use super::{BufDef, BufId, Buffer, FusedProgram, KernelKind, Step};
use crate::error::CompileError;

/// How a node takes part in fusion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Param,
    /// A constant: inlined into the kernels that use it; materialised as a
    /// constant buffer for library calls and results (scalars), or always
    /// a buffer (non-scalars).
    Constant,
    /// Fusible and cheap to recompute: index arithmetic, converts, iota.
    Cheap,
    /// Fusible, but worth computing once.
    Expensive,
    /// A reduction: the root of a reduction kernel.
    Reduce,
    /// A runtime library call.
    Library,
}

fn classify(f: &Function, v: Value) -> Class {
    match f.op(v) {
        Op::Parameter { .. } => Class::Param,
        Op::Constant { .. } => Class::Constant,
        Op::Iota { .. }
        | Op::BroadcastInDim { .. }
        | Op::Reshape { .. }
        | Op::Transpose { .. }
        | Op::Slice(_)
        | Op::Reverse { .. }
        | Op::Convert { .. }
        | Op::StopGradient => Class::Cheap,
        Op::Unary(_) | Op::Binary(_) | Op::Compare(_) | Op::Select => Class::Expensive,
        Op::Reduce { .. } => Class::Reduce,
        Op::DotGeneral(_)
        | Op::Gather { .. }
        | Op::ScatterAdd { .. }
        | Op::Pad(_)
        | Op::Concatenate { .. }
        | Op::Argmax { .. }
        // `fuse` inlines custom rules first; one left over runs as a call.
        | Op::CustomJvp(_) => Class::Library,
    }
}

/// A kernel under construction.
struct KernelBuild {
    members: BTreeSet<u32>,
    roots: BTreeSet<u32>,
    /// The iteration space: the output shape (loop) or the reduced
    /// operands' shape (reduction).
    space: Shape,
    /// Reduction axes, for reduction kernels.
    axes: Option<Vec<usize>>,
    /// Merged into another kernel (see `Partition::find`).
    merged_into: Option<usize>,
    /// Every value is small: computed op by op, any mix of shapes.
    small: bool,
}

struct Partition<'f> {
    f: &'f Function,
    users: Vec<Vec<u32>>,
    is_result: Vec<bool>,
    kernels: Vec<KernelBuild>,
    /// Kernels each node is a member of (cheap nodes may be in several).
    member_of: Vec<Vec<usize>>,
    /// Nodes that get their own buffer.
    materialized: Vec<bool>,
}

/// Nodes a dependency walk may visit before giving up (and refusing the
/// merge it was checking): keeps fusion linear on huge graphs.
const WALK_LIMIT: usize = 20_000;

/// Iteration spaces below this many elements are "small": recomputing a
/// value per element costs less than launching another kernel.
const SMALL_KERNEL: usize = 4096;

/// Values of at most this many elements may go into "small" kernels.
const SMALL_VALUE: usize = 256;

/// How many later kernels horizontal fusion compares each kernel with.
const HORIZONTAL_WINDOW: usize = 64;

impl<'f> Partition<'f> {
    fn new(f: &'f Function) -> Partition<'f> {
        let n = f.len();
        let mut users = vec![Vec::new(); n];
        for (v, node) in f.iter() {
            for a in &node.args {
                users[a.index()].push(v.index() as u32);
            }
        }
        let mut is_result = vec![false; n];
        for r in f.results() {
            is_result[r.index()] = true;
        }
        Partition {
            f,
            users,
            is_result,
            kernels: Vec::new(),
            member_of: vec![Vec::new(); n],
            materialized: vec![false; n],
        }
    }

    fn find(&self, mut k: usize) -> usize {
        while let Some(m) = self.kernels[k].merged_into {
            k = m;
        }
        k
    }

    fn new_kernel(&mut self, root: usize, space: Shape, axes: Option<Vec<usize>>) -> usize {
        let k = self.kernels.len();
        self.kernels.push(KernelBuild {
            members: BTreeSet::from([root as u32]),
            roots: BTreeSet::from([root as u32]),
            space,
            axes,
            merged_into: None,
            small: false,
        });
        self.member_of[root].push(k);
        self.materialized[root] = true;
        k
    }

    fn add_member(&mut self, k: usize, v: usize) {
        self.kernels[k].members.insert(v as u32);
        self.member_of[v].push(k);
    }

    /// The live kernels consuming `v`, and whether `v` also has a consumer
    /// outside every kernel (a library call or a function result).
    fn consumers(&self, v: usize) -> (Vec<usize>, bool) {
        let mut ks: Vec<usize> = Vec::new();
        let mut external = self.is_result[v];
        for &u in &self.users[v] {
            let u = u as usize;
            if self.member_of[u].is_empty() {
                external = true;
            }
            for &k in &self.member_of[u] {
                let k = self.find(k);
                // A user that is a member of a kernel reads v inside it.
                if !ks.contains(&k) {
                    ks.push(k);
                }
            }
        }
        ks.sort_unstable();
        (ks, external)
    }

    fn space_of(&self, v: usize) -> Shape {
        self.f.ty(Value::from_index(v)).shape.clone()
    }

    /// Does some member of kernel `k` use (through nodes outside `inside`)
    /// any node of `targets`? Conservative: true when the walk is too long.
    fn reaches(&self, k: usize, inside: &BTreeSet<u32>, targets: &BTreeSet<u32>) -> bool {
        if targets.is_empty() {
            return false;
        }
        // Breadth-first over the values kernel `k` reads, upstream. A value
        // that is an output of a kernel stands for that whole kernel (it runs
        // as one step, so everything it reads is upstream too); indices give
        // no bound here, since a kernel's members span the graph.
        let mut seen: HashMap<u32, ()> = HashMap::new();
        let mut expanded: Vec<usize> = vec![k];
        let mut queue: VecDeque<u32> = VecDeque::new();
        // The first hop leaves the pair; direct edges inside it are fine.
        for &m in &self.kernels[k].members {
            for a in self.f.args(Value::from_index(m as usize)) {
                let a = a.index() as u32;
                if !inside.contains(&a) && seen.insert(a, ()).is_none() {
                    queue.push_back(a);
                }
            }
        }
        while let Some(x) = queue.pop_front() {
            if targets.contains(&x) {
                return true;
            }
            if seen.len() > WALK_LIMIT {
                return true;
            }
            let producer = self.member_of[x as usize]
                .iter()
                .map(|&o| self.find(o))
                .find(|&o| self.kernels[o].roots.contains(&x));
            let push = |m: u32, seen: &mut HashMap<u32, ()>, queue: &mut VecDeque<u32>| {
                for a in self.f.args(Value::from_index(m as usize)) {
                    let a = a.index() as u32;
                    if seen.insert(a, ()).is_none() {
                        queue.push_back(a);
                    }
                }
            };
            match producer {
                Some(owner) => {
                    if expanded.contains(&owner) {
                        continue;
                    }
                    expanded.push(owner);
                    for &m in &self.kernels[owner].members {
                        if targets.contains(&m) {
                            return true;
                        }
                        push(m, &mut seen, &mut queue);
                    }
                }
                None => push(x, &mut seen, &mut queue),
            }
        }
        false
    }

    /// Can kernels `a` and `b` run as one step (neither depends on the
    /// other through outside nodes)?
    fn independent(&self, a: usize, b: usize) -> bool {
        let mut inside = self.kernels[a].members.clone();
        inside.extend(self.kernels[b].members.iter().copied());
        // Only outputs (roots) are read across kernels; a path into a
        // kernel's other members is through a duplicated cheap node, which
        // every kernel recomputes for itself.
        !self.reaches(a, &inside, &self.kernels[b].roots)
            && !self.reaches(b, &inside, &self.kernels[a].roots)
    }

    /// Does either kernel read an output of the other directly?
    fn direct_edge(&self, a: usize, b: usize) -> bool {
        let reads = |x: usize, y: usize| {
            self.kernels[x].members.iter().any(|&m| {
                self.f.args(Value::from_index(m as usize)).iter().any(|o| {
                    let o = o.index() as u32;
                    self.kernels[y].roots.contains(&o) && !self.kernels[x].members.contains(&o)
                })
            })
        };
        reads(a, b) || reads(b, a)
    }

    /// Can loop or reduction kernels `a` and `b` become one loop nest?
    /// Independent, and neither consumes the other's outputs (a reduction
    /// result cannot feed the same loop nest).
    fn siblings(&self, a: usize, b: usize) -> bool {
        self.same_space(a, b) && !self.direct_edge(a, b) && self.independent(a, b)
    }

    fn same_space(&self, a: usize, b: usize) -> bool {
        let (ka, kb) = (&self.kernels[a], &self.kernels[b]);
        ka.space == kb.space && ka.axes == kb.axes
    }

    fn merge(&mut self, into: usize, from: usize) {
        let members = std::mem::take(&mut self.kernels[from].members);
        let roots = std::mem::take(&mut self.kernels[from].roots);
        self.kernels[into].members.extend(members);
        self.kernels[into].roots.extend(roots);
        self.kernels[from].merged_into = Some(into);
    }

    /// Materialise `v` as an extra output of the consuming kernel `k` when
    /// it iterates over `v`'s shape and does not depend on `v`'s other
    /// consumers. Returns false when that is not possible.
    fn try_side_output(&mut self, k: usize, v: usize) -> bool {
        if self.kernels[k].space != self.space_of(v) {
            return false;
        }
        let mut others: BTreeSet<u32> = BTreeSet::new();
        for &u in &self.users[v] {
            let inside_k = self.member_of[u as usize].iter().any(|&m| self.find(m) == k);
            if !inside_k {
                others.insert(u);
            }
        }
        let mut inside = self.kernels[k].members.clone();
        inside.insert(v as u32);
        if !others.is_empty() && self.reaches(k, &inside, &others) {
            return false;
        }
        self.add_member(k, v);
        self.kernels[k].roots.insert(v as u32);
        self.materialized[v] = true;
        true
    }

    /// Would fusing an expensive value of `size` elements into kernel `k`
    /// recompute it many times over (per element of a much larger
    /// iteration space)? Small kernels recompute rather than pay for
    /// another kernel.
    fn recompute_is_costly(&self, size: usize, k: usize) -> bool {
        let space = self.kernels[k].space.size();
        size < space && space >= SMALL_KERNEL
    }

    /// Is every value kernel `k` touches (its members and their operands)
    /// at most `SMALL_VALUE` elements?
    fn is_small(&self, k: usize) -> bool {
        self.kernels[k].members.iter().all(|&m| {
            let v = Value::from_index(m as usize);
            self.f.ty(v).shape.size() <= SMALL_VALUE
                && self.f.args(v).iter().all(|a| self.f.ty(*a).shape.size() <= SMALL_VALUE)
        })
    }

    /// Small-kernel fusion: kernels whose values are all tiny (scalar
    /// losses, optimiser updates of small parameters, the whole of a
    /// small model) merge into "small" kernels, computed op by op, so a
    /// tiny training step is one kernel call rather than a dozen. Producer
    /// and consumer kernels merge too, as long as no path between them
    /// leaves the pair (that would be a cycle).
    fn merge_small(&mut self) {
        let mut small: Vec<usize> = (0..self.kernels.len())
            .filter(|&k| self.kernels[k].merged_into.is_none() && self.is_small(k))
            .collect();
        // Topological order of first members, so groups grow forward.
        small.sort_by_key(|&k| self.kernels[k].members.iter().next().copied().unwrap_or(0));
        let mut groups: Vec<usize> = Vec::new();
        for k in small {
            self.kernels[k].small = true;
            let mut joined = false;
            for &g in groups.iter().rev().take(HORIZONTAL_WINDOW) {
                if self.independent(g, k) {
                    self.merge(g, k);
                    joined = true;
                    break;
                }
            }
            if !joined {
                groups.push(k);
            }
        }
    }

    /// After merges, a kernel's outputs are exactly the members read from
    /// outside it: by a library call, as a function result, or by another
    /// kernel that does not compute the value itself.
    fn recompute_roots(&mut self) {
        for k in 0..self.kernels.len() {
            if self.kernels[k].merged_into.is_some() {
                continue;
            }
            let mut roots = BTreeSet::new();
            for &m in &self.kernels[k].members {
                // Constants read from outside have constant buffers.
                if classify(self.f, Value::from_index(m as usize)) == Class::Constant {
                    continue;
                }
                let mut needed = self.is_result[m as usize];
                for &u in &self.users[m as usize] {
                    let owners: Vec<usize> =
                        self.member_of[u as usize].iter().map(|&o| self.find(o)).collect();
                    if owners.is_empty() {
                        needed = true;
                    }
                    // Every kernel computing `u` (cheap values are computed
                    // by each kernel that uses them) must hold `m` itself or
                    // read it from this kernel's output.
                    for o in owners {
                        if o != k && !self.kernels[o].members.contains(&m) {
                            needed = true;
                        }
                    }
                }
                if needed {
                    roots.insert(m);
                }
            }
            self.kernels[k].roots = roots;
        }
    }

    /// Horizontal fusion: merges independent loop kernels over the same
    /// iteration space (e.g. the per-parameter updates of an optimiser
    /// step), so one loop nest does the work of several. Bounded: each
    /// kernel is compared with at most `HORIZONTAL_WINDOW` candidates.
    fn merge_horizontally(&mut self) {
        let live: Vec<usize> = (0..self.kernels.len())
            .filter(|&k| {
                let kb = &self.kernels[k];
                kb.merged_into.is_none() && kb.axes.is_none() && !kb.small
            })
            .collect();
        for (i, &a) in live.iter().enumerate() {
            if self.kernels[a].merged_into.is_some() {
                continue;
            }
            for &b in live[i + 1..].iter().take(HORIZONTAL_WINDOW) {
                if self.kernels[b].merged_into.is_none() && self.siblings(a, b) {
                    self.merge(a, b);
                }
            }
        }
    }

    fn place(&mut self, v: usize) {
        let class = classify(self.f, Value::from_index(v));
        match class {
            Class::Param | Class::Library => {
                self.materialized[v] = true;
                return;
            }
            Class::Reduce => {
                let Op::Reduce { axes, .. } = self.f.op(Value::from_index(v)) else { return };
                let operand = self.f.args(Value::from_index(v))[0];
                let space = self.space_of(operand.index());
                self.new_kernel(v, space, Some(axes.to_vec()));
                return;
            }
            Class::Constant | Class::Cheap | Class::Expensive => {}
        }
        let (ks, external) = self.consumers(v);
        if class == Class::Constant {
            let scalar = self.f.ty(Value::from_index(v)).rank() == 0;
            for k in ks {
                if scalar {
                    self.add_member(k, v);
                }
            }
            if external || !scalar {
                self.materialized[v] = true;
            }
            return;
        }
        let size = self.f.ty(Value::from_index(v)).shape.size();
        if external {
            if ks.len() == 1 && self.try_side_output(ks[0], v) {
                return;
            }
            self.new_kernel(v, self.space_of(v), None);
            return;
        }
        match ks.len() {
            0 => {
                // Dead code (no users, not a result): nothing to compute.
            }
            1 => {
                let k = ks[0];
                if class == Class::Expensive && self.recompute_is_costly(size, k) {
                    // Compute once at its own size rather than per element.
                    self.new_kernel(v, self.space_of(v), None);
                } else {
                    self.add_member(k, v);
                }
            }
            _ => {
                if class == Class::Cheap {
                    for k in ks {
                        self.add_member(k, v);
                    }
                    return;
                }
                // Sibling fusion: merge consumer kernels that iterate over the
                // same space and do not depend on each other.
                // Merge one at a time, checking each candidate against the
                // kernel merged so far (pairwise independence is not enough:
                // a path may run from one member of a group to another).
                let first = ks[0];
                for &k in &ks[1..] {
                    if self.siblings(first, k) {
                        self.merge(first, k);
                    }
                }
                let (ks, _) = self.consumers(v);
                if ks.len() == 1 && !self.recompute_is_costly(size, ks[0]) {
                    self.add_member(ks[0], v);
                    return;
                }
                // Still several consumers: materialise, preferably as a side
                // output of one of them.
                for &k in &ks {
                    if self.try_side_output(k, v) {
                        return;
                    }
                }
                self.new_kernel(v, self.space_of(v), None);
            }
        }
    }
}

/// Fusion choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuseOptions {
    /// Merge kernels whose values are all tiny into op-by-op "small"
    /// kernels (one call for a whole tiny training step).
    pub small_kernels: bool,
}

impl Default for FuseOptions {
    fn default() -> FuseOptions {
        FuseOptions { small_kernels: true }
    }
}

/// Fuses `f` into kernels and library calls (default options).
pub fn fuse(f: &Function) -> Result<FusedProgram, CompileError> {
    fuse_with(f, &FuseOptions::default())
}

/// Fuses `f` into kernels and library calls.
pub fn fuse_with(f: &Function, opts: &FuseOptions) -> Result<FusedProgram, CompileError> {
    let inlined = crate::inline::inline_custom_rules(f)?;
    let live = crate::passes::dce::dce(&inlined)?;
    let expanded = super::dots::expand_short_dots(&live)?;
    let split = super::split::split_reductions(&expanded)?;
    let f = &split;
    let mut p = Partition::new(f);
    for v in (f.num_params()..f.len()).rev() {
        p.place(v);
    }
    if opts.small_kernels {
        p.merge_small();
    }
    p.merge_horizontally();
    p.recompute_roots();
    build_program(f, &p)
}

/// A unit of work before ordering: a live kernel or a library node.
enum Unit {
    Kernel(usize),
    Library(usize),
}

fn build_program(f: &Function, p: &Partition) -> Result<FusedProgram, CompileError> {
    let n = f.len();
    // Buffers: parameters, constant buffers, then step outputs as they come.
    let mut buffers: Vec<Buffer> = Vec::new();
    let mut buf_of: Vec<Option<BufId>> = vec![None; n];
    for pv in f.params() {
        buf_of[pv.index()] = Some(buffers.len());
        buffers.push(Buffer { ty: f.ty(pv).clone(), def: BufDef::Param(pv.index()) });
    }
    for (v, node) in f.instructions() {
        if let Op::Constant { value } = &node.op {
            if p.materialized[v.index()] {
                buf_of[v.index()] = Some(buffers.len());
                buffers.push(Buffer { ty: node.ty.clone(), def: BufDef::Constant(value.clone()) });
            }
        }
    }

    // Units and their producer dependencies.
    let mut units: Vec<Unit> = Vec::new();
    let mut unit_of_node: Vec<Option<usize>> = vec![None; n];
    for (k, kb) in p.kernels.iter().enumerate() {
        if kb.merged_into.is_some() || kb.roots.is_empty() {
            continue;
        }
        for &r in &kb.roots {
            unit_of_node[r as usize] = Some(units.len());
        }
        units.push(Unit::Kernel(k));
    }
    for (v, _) in f.instructions() {
        if classify(f, v) == Class::Library {
            unit_of_node[v.index()] = Some(units.len());
            units.push(Unit::Library(v.index()));
        }
    }
    let inputs_of = |u: &Unit| -> Vec<usize> {
        match u {
            Unit::Kernel(k) => {
                let kb = &p.kernels[*k];
                let mut ins = Vec::new();
                for &m in &kb.members {
                    for a in f.args(Value::from_index(m as usize)) {
                        if !kb.members.contains(&(a.index() as u32)) && !ins.contains(&a.index()) {
                            ins.push(a.index());
                        }
                    }
                }
                ins
            }
            Unit::Library(v) => f.args(Value::from_index(*v)).iter().map(|a| a.index()).collect(),
        }
    };
    let unit_inputs: Vec<Vec<usize>> = units.iter().map(inputs_of).collect();
    let key = |u: &Unit| -> usize {
        match u {
            Unit::Kernel(k) => p.kernels[*k].members.iter().next().copied().unwrap_or(0) as usize,
            Unit::Library(v) => *v,
        }
    };

    // Kahn's algorithm, lowest first node first (deterministic).
    let mut indeg = vec![0usize; units.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    for (i, ins) in unit_inputs.iter().enumerate() {
        let mut deps: Vec<usize> = ins.iter().filter_map(|&a| unit_of_node[a]).collect();
        deps.sort_unstable();
        deps.dedup();
        for d in deps {
            if d == i {
                return Err(internal("a kernel reads its own output"));
            }
            indeg[i] += 1;
            dependents[d].push(i);
        }
    }
    let mut ready: BTreeSet<(usize, usize)> =
        (0..units.len()).filter(|&i| indeg[i] == 0).map(|i| (key(&units[i]), i)).collect();
    let mut order = Vec::with_capacity(units.len());
    while let Some(&first) = ready.iter().next() {
        ready.remove(&first);
        let i = first.1;
        order.push(i);
        for &d in &dependents[i] {
            indeg[d] -= 1;
            if indeg[d] == 0 {
                ready.insert((key(&units[d]), d));
            }
        }
    }
    if order.len() != units.len() {
        return Err(internal("fusion produced a cycle between steps"));
    }

    let mut steps = Vec::with_capacity(order.len());
    for (step_index, &i) in order.iter().enumerate() {
        let ins: Vec<BufId> = unit_inputs[i]
            .iter()
            .map(|&a| {
                buf_of[a]
                    .ok_or_else(|| internal(&format!("value {a} is read before it is computed")))
            })
            .collect::<Result<_, _>>()?;
        match &units[i] {
            Unit::Library(v) => {
                let vv = Value::from_index(*v);
                let out = buffers.len();
                buffers.push(Buffer {
                    ty: f.ty(vv).clone(),
                    def: BufDef::Step { step: step_index, output: 0 },
                });
                buf_of[*v] = Some(out);
                steps.push(Step::Library {
                    op: f.op(vv).clone(),
                    inputs: ins,
                    output: out,
                    loc: f.loc(vv).cloned(),
                });
            }
            Unit::Kernel(k) => {
                let kb = &p.kernels[*k];
                let body = kernel_body(f, kb, &unit_inputs[i], &format!("fusion_{step_index}"))?;
                let mut outs = Vec::with_capacity(kb.roots.len());
                for (o, &r) in kb.roots.iter().enumerate() {
                    let out = buffers.len();
                    buffers.push(Buffer {
                        ty: f.ty(Value::from_index(r as usize)).clone(),
                        def: BufDef::Step { step: step_index, output: o },
                    });
                    buf_of[r as usize] = Some(out);
                    outs.push(out);
                }
                let kind = if kb.small {
                    KernelKind::Small
                } else if kb.axes.is_some() {
                    KernelKind::Reduce
                } else {
                    KernelKind::Loop
                };
                steps.push(Step::Kernel {
                    name: format!("fusion_{step_index}"),
                    kind,
                    body,
                    inputs: ins,
                    outputs: outs,
                });
            }
        }
    }
    let results = f
        .results()
        .iter()
        .map(|r| buf_of[r.index()].ok_or_else(|| internal("a result was not computed")))
        .collect::<Result<_, _>>()?;
    let params =
        f.params().map(|pv| (f.value_name(pv).map(str::to_string), f.ty(pv).clone())).collect();
    Ok(FusedProgram { name: f.name().to_string(), params, buffers, steps, results })
}

/// Cuts kernel `kb` out of `f` as a function of its inputs.
fn kernel_body(
    f: &Function,
    kb: &KernelBuild,
    inputs: &[usize],
    name: &str,
) -> Result<Function, CompileError> {
    let mut body = Function::new(name);
    let mut map: HashMap<usize, Value> = HashMap::new();
    for &a in inputs {
        let av = Value::from_index(a);
        let pv = body.add_param(f.value_name(av), f.ty(av).clone())?;
        map.insert(a, pv);
    }
    for &m in &kb.members {
        let mv = Value::from_index(m as usize);
        let args: Vec<Value> = f
            .args(mv)
            .iter()
            .map(|a| {
                map.get(&a.index()).copied().ok_or_else(|| internal("kernel operand not available"))
            })
            .collect::<Result<_, _>>()?;
        let nv = body.push(f.op(mv).clone(), &args, f.loc(mv).cloned())?;
        if let Some(name) = f.value_name(mv) {
            // Names are unique in `f`, so they stay unique in the body.
            body.set_value_name(nv, Some(name))?;
        }
        map.insert(m as usize, nv);
    }
    let results: Vec<Value> = kb.roots.iter().map(|r| map[&(*r as usize)]).collect();
    body.set_results(results)?;
    Ok(body)
}

fn internal(msg: &str) -> CompileError {
    CompileError::transform("fuse", format!("internal error: {msg}"))
}
