//! Kernel analysis: from a kernel body (a verified `Function`) to a flat
//! list of scalar expressions over an iteration space.
//!
//! The iteration space `S` is the shape of the results (loop kernel) or of
//! the reduced operands (reduction kernel). Walking back from the results,
//! each value is needed at one or more *index maps* (which element of the
//! value a point of `S` reads); shape ops only transform maps and vanish,
//! so the leaves become loads at an index expression of the loop variables
//! ([`super::index`]). What remains are [`ENode`]s: loads, constants, iota
//! and elementwise ops, in topological order.
//!
//! Then loop dims that an access divides (`v / d`, `v mod d`: a reshape
//! merging dims of a transposed view) are split in two, which makes such
//! accesses affine; and adjacent iteration dims that every access sees as
//! one (`coef(outer) == extent(inner) * coef(inner)`, same role) are
//! collapsed, so contiguous elementwise work runs as one long loop.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gradlift_ir::{
    BinaryOp, CompareOp, DType, Data, Function, Op, ReduceKind, Shape, Tensor, UnaryOp, Value,
};
use smallvec::SmallVec;

use super::index::{IndexArena, IndexOverflow, LinId};
use crate::error::CompileError;

/// Index of an [`ENode`] in [`Kernel::exprs`].
pub(crate) type ExprId = u32;

/// Where a load reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Src {
    /// Kernel input `k` (`bufs[k]`).
    Param(u32),
    /// Embedded constant number `k` of [`Kernel::consts`].
    Data(u32),
}

/// A scalar expression at a point of the iteration space.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ENode {
    Load {
        src: Src,
        dtype: DType,
        offset: LinId,
    },
    /// A scalar literal: the value's bits (bool: 0 or 1).
    Const {
        dtype: DType,
        bits: u64,
    },
    /// The index `coord`, converted to `dtype` with `as`.
    Iota {
        dtype: DType,
        coord: LinId,
    },
    Unary {
        op: UnaryOp,
        dtype: DType,
        x: ExprId,
    },
    Binary {
        op: BinaryOp,
        dtype: DType,
        x: ExprId,
        y: ExprId,
    },
    /// `dtype` is the operands' dtype (the result is bool).
    Compare {
        op: CompareOp,
        dtype: DType,
        x: ExprId,
        y: ExprId,
    },
    Select {
        dtype: DType,
        p: ExprId,
        t: ExprId,
        f: ExprId,
    },
    Convert {
        from: DType,
        to: DType,
        x: ExprId,
    },
}

impl ENode {
    /// The dtype of the value.
    pub fn dtype(&self) -> DType {
        match self {
            ENode::Load { dtype, .. }
            | ENode::Const { dtype, .. }
            | ENode::Iota { dtype, .. }
            | ENode::Unary { dtype, .. }
            | ENode::Binary { dtype, .. }
            | ENode::Select { dtype, .. } => *dtype,
            ENode::Compare { .. } => DType::Bool,
            ENode::Convert { to, .. } => *to,
        }
    }

    /// The operand expressions.
    pub fn args(&self) -> SmallVec<[ExprId; 3]> {
        match *self {
            ENode::Load { .. } | ENode::Const { .. } | ENode::Iota { .. } => SmallVec::new(),
            ENode::Unary { x, .. } | ENode::Convert { x, .. } => smallvec::smallvec![x],
            ENode::Binary { x, y, .. } | ENode::Compare { x, y, .. } => smallvec::smallvec![x, y],
            ENode::Select { p, t, f, .. } => smallvec::smallvec![p, t, f],
        }
    }
}

/// One result of the kernel: the expression stored at `offset` of output
/// buffer `k` (its position in [`Kernel::outputs`]).
#[derive(Clone, Debug)]
pub(crate) struct Output {
    pub expr: ExprId,
    pub dtype: DType,
    /// Element offset in the output buffer (over kept dims for reductions).
    pub offset: LinId,
    /// `Some` for a reduction result, `None` for an elementwise result.
    pub reduce: Option<ReduceKind>,
}

/// An iteration dim that survived collapsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dim {
    pub var: u32,
    pub extent: u64,
    pub reduced: bool,
}

/// What kind of kernel a body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KernelKind {
    /// Every result has the iteration shape.
    Loop,
    /// Reductions over the same axes (and maybe elementwise side outputs).
    Reduction,
}

/// The analysed kernel.
#[derive(Clone, Debug)]
pub(crate) struct Kernel {
    pub name: String,
    pub kind: KernelKind,
    /// The iteration shape `S`.
    pub shape: Shape,
    pub arena: IndexArena,
    pub exprs: Vec<ENode>,
    /// Bit set of the loop variables each expression depends on.
    pub deps: Vec<u64>,
    pub outputs: Vec<Output>,
    /// Iteration dims after dropping size-1 dims, splitting and collapsing,
    /// outer first.
    pub dims: Vec<Dim>,
    /// Number of loop variables (the rank of `S`, plus one per split dim).
    pub num_vars: usize,
    /// Number of kernel inputs.
    pub num_params: usize,
    /// Non-scalar constants read through [`Src::Data`].
    pub consts: Vec<Arc<Tensor>>,
    /// Output elements of each reduction (product of kept dims).
    pub kept_size: u64,
    /// Elements folded into each reduction result (product of reduced dims).
    pub reduced_size: u64,
}

impl Kernel {
    /// Whether the iteration space has no points.
    pub fn is_empty(&self) -> bool {
        self.shape.dims().contains(&0)
    }
}

/// The largest kernel rank (loop variables are bits of a `u64`).
const MAX_RANK: usize = 64;

/// How a value is indexed: a coordinate per dim, or its row-major linear
/// index (what reshapes pass through without division).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Map {
    Coords(SmallVec<[LinId; 4]>),
    Linear(LinId),
}

/// An error of kernel `name` at value `v` of `body` (with its source
/// location).
fn error_at(name: &str, body: &Function, v: Option<Value>, msg: String) -> CompileError {
    CompileError::Codegen {
        kernel: name.to_string(),
        msg,
        loc: v.and_then(|v| body.loc(v).cloned()),
    }
}

/// Checks what every kernel body needs: it verifies, every op is one a
/// kernel computes (no library calls), and it has a result.
pub(crate) fn check_body(name: &str, body: &Function) -> Result<(), CompileError> {
    gradlift_ir::verify::verify_function(body)?;
    for (v, node) in body.instructions() {
        if !op_allowed(&node.op) {
            return Err(error_at(
                name,
                body,
                Some(v),
                format!(
                    "`{}` cannot be part of a fused kernel body ({} : {})",
                    node.op.name(),
                    describe_args(body, v),
                    node.ty
                ),
            ));
        }
    }
    if body.results().is_empty() {
        return Err(error_at(name, body, None, "a kernel body needs at least one result".into()));
    }
    Ok(())
}

/// Checks that a (checked) body is one loop nest: reductions only as
/// results, all over one iteration space with the same axes, every other
/// result of that shape. Returns the kind, the iteration shape and the
/// reduced axes.
pub(crate) fn single_nest(
    name: &str,
    body: &Function,
) -> Result<(KernelKind, Shape, Vec<usize>), CompileError> {
    for (v, node) in body.instructions() {
        for &a in &node.args {
            if is_reduce(body.op(a)) {
                return Err(error_at(
                    name,
                    body,
                    Some(v),
                    format!(
                        "the result of `{}` {} is used inside the kernel body; a reduction may only \
                         be a result",
                        body.op(a).name(),
                        body.ty(a)
                    ),
                ));
            }
        }
    }
    classify(body).map_err(|m| error_at(name, body, None, m))
}

/// Analyses a kernel body. Errors name the kernel, the op and its types.
pub(crate) fn analyse(name: &str, body: &Function) -> Result<Kernel, CompileError> {
    check_body(name, body)?;
    let (kind, shape, axes) = single_nest(name, body)?;
    let err = |v: Option<Value>, msg: String| error_at(name, body, v, msg);
    if shape.rank() > MAX_RANK {
        return Err(err(None, format!("rank {} exceeds {MAX_RANK}", shape.rank())));
    }
    let results = body.results();
    let overflow = |_: IndexOverflow| err(None, "index arithmetic overflows i64".into());
    let mut b = Builder {
        body,
        arena: IndexArena::new(shape.dims().iter().map(|&d| d as u64).collect()),
        exprs: Vec::new(),
        cons: HashMap::new(),
        consts: Vec::new(),
    };
    let rank = shape.rank();
    let identity = {
        let mut c: SmallVec<[LinId; 4]> = SmallVec::new();
        for d in 0..rank {
            c.push(b.arena.var(d as u32));
        }
        Map::Coords(c)
    };
    let kept: Vec<usize> = (0..rank).filter(|d| !axes.contains(d)).collect();
    let kept_size: u64 = kept.iter().map(|&d| shape.dims()[d] as u64).product();
    let reduced_size: u64 = axes.iter().map(|&d| shape.dims()[d] as u64).product();

    // Roots: each result at the identity map (a reduction: its operand).
    let mut roots: Vec<(Value, Option<ReduceKind>)> = Vec::new();
    for &r in results {
        match body.op(r) {
            Op::Reduce { kind, axes } if !axes.is_empty() => {
                roots.push((body.args(r)[0], Some(*kind)));
            }
            _ => roots.push((r, None)),
        }
    }
    let mut outputs = Vec::new();
    if !shape.dims().contains(&0) {
        let root_maps: Vec<(Value, Map)> =
            roots.iter().map(|&(v, _)| (v, identity.clone())).collect();
        let memo = b.build(&root_maps).map_err(|e| match e {
            BuildError::Overflow => overflow(IndexOverflow),
            BuildError::Msg(v, m) => err(Some(v), m),
        })?;
        let strides = shape.strides();
        let kept_dims: Vec<usize> = kept.iter().map(|&d| shape.dims()[d]).collect();
        let kept_strides = Shape::new(&kept_dims).strides();
        for &(v, reduce) in &roots {
            let expr = memo[&(v.index(), identity.clone())];
            let parts: Vec<(LinId, i64)> = match reduce {
                None => (0..rank).map(|d| (b.arena.var(d as u32), strides[d] as i64)).collect(),
                Some(_) => kept
                    .iter()
                    .zip(&kept_strides)
                    .map(|(&d, &s)| (b.arena.var(d as u32), s as i64))
                    .collect(),
            };
            let offset = b.arena.combine(&parts, 0).map_err(overflow)?;
            let dtype = b.exprs[expr as usize].dtype();
            outputs.push(Output { expr, dtype, offset, reduce });
        }
    } else {
        // No points: nothing is evaluated; reductions give their identity.
        for &(v, reduce) in &roots {
            let zero = b.arena.constant(0);
            let dtype = body.ty(v).dtype;
            outputs.push(Output { expr: 0, dtype, offset: zero, reduce });
        }
    }
    let dims: Vec<Dim> = (0..rank)
        .filter(|&d| shape.dims()[d] != 1)
        .map(|d| Dim { var: d as u32, extent: shape.dims()[d] as u64, reduced: axes.contains(&d) })
        .collect();
    let mut k = Kernel {
        name: name.to_string(),
        kind,
        num_vars: shape.rank(),
        shape,
        arena: b.arena,
        exprs: b.exprs,
        deps: Vec::new(),
        outputs,
        dims,
        num_params: body.num_params(),
        consts: b.consts,
        kept_size,
        reduced_size,
    };
    if !k.is_empty() {
        split_for_reshapes(&mut k).map_err(overflow)?;
        collapse(&mut k).map_err(overflow)?;
    }
    k.deps = dependencies(&k);
    Ok(k)
}

pub(crate) fn is_reduce(op: &Op) -> bool {
    matches!(op, Op::Reduce { axes, .. } if !axes.is_empty())
}

/// The ops a fused kernel body may contain: one exhaustive match.
fn op_allowed(op: &Op) -> bool {
    match op {
        Op::Constant { .. }
        | Op::Iota { .. }
        | Op::Unary(_)
        | Op::Binary(_)
        | Op::Compare(_)
        | Op::Select
        | Op::Convert { .. }
        | Op::StopGradient
        | Op::BroadcastInDim { .. }
        | Op::Reshape { .. }
        | Op::Transpose { .. }
        | Op::Slice(_)
        | Op::Reverse { .. }
        | Op::Reduce { .. } => true,
        Op::Parameter { .. }
        | Op::Concatenate { .. }
        | Op::Pad(_)
        | Op::Argmax { .. }
        | Op::DotGeneral(_)
        | Op::Gather { .. }
        | Op::ScatterAdd { .. }
        | Op::CustomJvp(_) => false,
    }
}

fn describe_args(body: &Function, v: Value) -> String {
    body.args(v).iter().map(|&a| body.ty(a).to_string()).collect::<Vec<_>>().join(", ")
}

/// Loop or reduction kernel, the iteration shape and the reduced axes.
fn classify(body: &Function) -> Result<(KernelKind, Shape, Vec<usize>), String> {
    let mut red: Option<(Shape, Vec<usize>)> = None;
    for &r in body.results() {
        if let Op::Reduce { axes, .. } = body.op(r) {
            if axes.is_empty() {
                continue;
            }
            let s = body.ty(body.args(r)[0]).shape.clone();
            let mut ax: Vec<usize> = axes.to_vec();
            ax.sort_unstable();
            match &red {
                None => red = Some((s, ax)),
                Some((s0, a0)) if *s0 == s && *a0 == ax => {}
                Some((s0, a0)) => {
                    return Err(format!(
                        "sibling reductions must reduce the same shape over the same axes: \
                         {s0} over {a0:?} vs {s} over {ax:?}"
                    ))
                }
            }
        }
    }
    let (kind, shape, axes) = match red {
        Some((s, a)) => (KernelKind::Reduction, s, a),
        None => (KernelKind::Loop, body.ty(body.results()[0]).shape.clone(), Vec::new()),
    };
    for &r in body.results() {
        if is_reduce(body.op(r)) {
            continue;
        }
        if body.ty(r).shape != shape {
            return Err(format!(
                "every elementwise result must have the iteration shape {shape}, got {}",
                body.ty(r)
            ));
        }
    }
    Ok((kind, shape, axes))
}

enum BuildError {
    Overflow,
    Msg(Value, String),
}

impl From<IndexOverflow> for BuildError {
    fn from(_: IndexOverflow) -> BuildError {
        BuildError::Overflow
    }
}

struct Builder<'a> {
    body: &'a Function,
    arena: IndexArena,
    exprs: Vec<ENode>,
    cons: HashMap<ENode, ExprId>,
    consts: Vec<Arc<Tensor>>,
}

impl Builder<'_> {
    /// Creates the expressions for `roots` (value at map) and returns the
    /// expression of every (value, map) pair that was needed.
    fn build(
        &mut self,
        roots: &[(Value, Map)],
    ) -> Result<HashMap<(usize, Map), ExprId>, BuildError> {
        let n = self.body.len();
        // Backward: the maps each value is needed at, in first-need order.
        let mut needs: Vec<Vec<Map>> = vec![Vec::new(); n];
        let mut seen: HashSet<(usize, Map)> = HashSet::new();
        for (v, m) in roots {
            if seen.insert((v.index(), m.clone())) {
                needs[v.index()].push(m.clone());
            }
        }
        for i in (0..n).rev() {
            let v = Value::from_index(i);
            for k in 0..needs[i].len() {
                let m = needs[i][k].clone();
                for (a, am) in self.operand_maps(v, &m)? {
                    if seen.insert((a.index(), am.clone())) {
                        needs[a.index()].push(am);
                    }
                }
            }
        }
        // Forward: one expression per (value, map); shape ops alias.
        let mut memo: HashMap<(usize, Map), ExprId> = HashMap::new();
        for (i, maps) in needs.iter().enumerate() {
            let v = Value::from_index(i);
            for m in maps {
                let e = self.expr_at(v, m, &memo)?;
                memo.insert((i, m.clone()), e);
            }
        }
        Ok(memo)
    }

    /// The operands of `v` and the maps they are needed at when `v` is
    /// needed at `m`.
    fn operand_maps(&mut self, v: Value, m: &Map) -> Result<Vec<(Value, Map)>, BuildError> {
        let body = self.body;
        let args = body.args(v);
        let out_shape = &body.ty(v).shape;
        Ok(match body.op(v) {
            Op::Parameter { .. } | Op::Constant { .. } | Op::Iota { .. } => Vec::new(),
            Op::Unary(_)
            | Op::Binary(_)
            | Op::Compare(_)
            | Op::Select
            | Op::Convert { .. }
            | Op::StopGradient
            | Op::Reduce { .. } => args.iter().map(|&a| (a, m.clone())).collect(),
            Op::BroadcastInDim { dims, .. } => {
                let c = self.coords(m, out_shape)?;
                let in_dims = body.ty(args[0]).dims().to_vec();
                let zero = self.arena.constant(0);
                let oc = (0..in_dims.len())
                    .map(|j| if in_dims[j] == 1 { zero } else { c[dims[j]] })
                    .collect();
                vec![(args[0], Map::Coords(oc))]
            }
            Op::Reshape { .. } => {
                let l = self.linear(m, out_shape)?;
                vec![(args[0], Map::Linear(l))]
            }
            Op::Transpose { perm } => {
                let c = self.coords(m, out_shape)?;
                let mut oc: SmallVec<[LinId; 4]> = smallvec::smallvec![0; perm.len()];
                for (i, &p) in perm.iter().enumerate() {
                    oc[p] = c[i];
                }
                vec![(args[0], Map::Coords(oc))]
            }
            Op::Slice(s) => {
                let c = self.coords(m, out_shape)?;
                let mut oc = SmallVec::new();
                for k in 0..c.len() {
                    oc.push(self.arena.combine(&[(c[k], s.stride[k] as i64)], s.start[k] as i64)?);
                }
                vec![(args[0], Map::Coords(oc))]
            }
            Op::Reverse { axes } => {
                let c = self.coords(m, out_shape)?;
                let mut oc = SmallVec::new();
                for k in 0..c.len() {
                    oc.push(if axes.contains(&k) {
                        self.arena.combine(&[(c[k], -1)], out_shape.dims()[k] as i64 - 1)?
                    } else {
                        c[k]
                    });
                }
                vec![(args[0], Map::Coords(oc))]
            }
            Op::Concatenate { .. }
            | Op::Pad(_)
            | Op::Argmax { .. }
            | Op::DotGeneral(_)
            | Op::Gather { .. }
            | Op::ScatterAdd { .. }
            | Op::CustomJvp(_) => {
                return Err(BuildError::Msg(v, format!("`{}` is not fusable", body.op(v).name())))
            }
        })
    }

    /// The expression of `v` at `m` (operands are already in `memo`).
    fn expr_at(
        &mut self,
        v: Value,
        m: &Map,
        memo: &HashMap<(usize, Map), ExprId>,
    ) -> Result<ExprId, BuildError> {
        let body = self.body;
        let ty = body.ty(v).clone();
        let dtype = ty.dtype;
        let arg = |k: usize, am: &Map| -> Result<ExprId, BuildError> {
            memo.get(&(body.args(v)[k].index(), am.clone()))
                .copied()
                .ok_or_else(|| BuildError::Msg(v, "internal: operand expression missing".into()))
        };
        let node = match body.op(v) {
            Op::Parameter { index } => {
                let offset = self.linear(m, &ty.shape)?;
                ENode::Load { src: Src::Param(*index), dtype, offset }
            }
            Op::Constant { value } => match splat_bits(value) {
                Some(bits) => ENode::Const { dtype, bits },
                None => {
                    let offset = self.linear(m, &ty.shape)?;
                    let k = match self.consts.iter().position(|c| Arc::ptr_eq(c, value)) {
                        Some(k) => k,
                        None => {
                            self.consts.push(Arc::clone(value));
                            self.consts.len() - 1
                        }
                    };
                    ENode::Load { src: Src::Data(k as u32), dtype, offset }
                }
            },
            Op::Iota { axis, shape, .. } => {
                let coord = match m {
                    Map::Coords(c) => c[*axis],
                    Map::Linear(l) => {
                        let s = shape.strides()[*axis] as i64;
                        let q = self.arena.div(*l, s)?;
                        self.arena.rem(q, shape.dims()[*axis] as i64)?
                    }
                };
                ENode::Iota { dtype, coord }
            }
            Op::Unary(op) => ENode::Unary { op: *op, dtype, x: arg(0, m)? },
            Op::Binary(op) => ENode::Binary { op: *op, dtype, x: arg(0, m)?, y: arg(1, m)? },
            Op::Compare(op) => ENode::Compare {
                op: *op,
                dtype: body.ty(body.args(v)[0]).dtype,
                x: arg(0, m)?,
                y: arg(1, m)?,
            },
            Op::Select => ENode::Select { dtype, p: arg(0, m)?, t: arg(1, m)?, f: arg(2, m)? },
            Op::Convert { to } => {
                let from = body.ty(body.args(v)[0]).dtype;
                if from == *to {
                    return arg(0, m);
                }
                ENode::Convert { from, to: *to, x: arg(0, m)? }
            }
            // Views: the operand's expression at the transformed map.
            Op::StopGradient
            | Op::Reduce { .. }
            | Op::BroadcastInDim { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Slice(_)
            | Op::Reverse { .. } => {
                let maps = self.operand_maps(v, m)?;
                return arg(0, &maps[0].1);
            }
            Op::Concatenate { .. }
            | Op::Pad(_)
            | Op::Argmax { .. }
            | Op::DotGeneral(_)
            | Op::Gather { .. }
            | Op::ScatterAdd { .. }
            | Op::CustomJvp(_) => {
                return Err(BuildError::Msg(v, format!("`{}` is not fusable", body.op(v).name())))
            }
        };
        Ok(self.intern(node))
    }

    fn intern(&mut self, node: ENode) -> ExprId {
        if let Some(&e) = self.cons.get(&node) {
            return e;
        }
        let e = self.exprs.len() as ExprId;
        self.exprs.push(node.clone());
        self.cons.insert(node, e);
        e
    }

    fn coords(&mut self, m: &Map, shape: &Shape) -> Result<SmallVec<[LinId; 4]>, IndexOverflow> {
        match m {
            Map::Coords(c) => Ok(c.clone()),
            Map::Linear(l) => {
                let strides = shape.strides();
                let mut c = SmallVec::new();
                for k in 0..shape.rank() {
                    let q = self.arena.div(*l, strides[k] as i64)?;
                    c.push(self.arena.rem(q, shape.dims()[k] as i64)?);
                }
                Ok(c)
            }
        }
    }

    fn linear(&mut self, m: &Map, shape: &Shape) -> Result<LinId, IndexOverflow> {
        match m {
            Map::Linear(l) => Ok(*l),
            Map::Coords(c) => {
                let strides = shape.strides();
                let parts: Vec<(LinId, i64)> =
                    c.iter().zip(strides.iter()).map(|(&x, &s)| (x, s as i64)).collect();
                self.arena.combine(&parts, 0)
            }
        }
    }
}

/// The bits of a constant whose elements are all equal (bool as 0/1),
/// `None` when they differ. A constant with no elements is never read.
fn splat_bits(t: &Tensor) -> Option<u64> {
    fn all_eq<T: Copy>(v: &[T], key: impl Fn(T) -> u64) -> Option<u64> {
        let first = key(*v.first()?);
        v.iter().all(|&x| key(x) == first).then_some(first)
    }
    match t.data() {
        Data::F32(v) => all_eq(v, |x| u64::from(x.to_bits())),
        Data::F64(v) => all_eq(v, f64::to_bits),
        Data::I32(v) => all_eq(v, |x| x as u32 as u64),
        Data::I64(v) => all_eq(v, |x| x as u64),
        Data::Bool(v) => all_eq(v, u64::from),
    }
    .or(if t.is_empty() { Some(0) } else { None })
}

/// Every index expression the kernel evaluates.
fn index_roots(k: &Kernel) -> Vec<LinId> {
    let mut roots: Vec<LinId> = k.outputs.iter().map(|o| o.offset).collect();
    for e in &k.exprs {
        match e {
            ENode::Load { offset, .. } => roots.push(*offset),
            ENode::Iota { coord, .. } => roots.push(*coord),
            _ => {}
        }
    }
    roots
}

/// Merges adjacent dims that every index expression sees as one.
fn collapse(k: &mut Kernel) -> Result<(), IndexOverflow> {
    loop {
        let roots = index_roots(k);
        let live = k.arena.live(&roots);
        let mut merged = None;
        for p in 0..k.dims.len().saturating_sub(1) {
            let (a, b) = (k.dims[p], k.dims[p + 1]);
            if a.reduced != b.reduced {
                continue;
            }
            let ok = (0..k.arena.len()).filter(|&id| live[id]).all(|id| {
                let id = id as LinId;
                let (ca, cb) = (k.arena.coef(id, a.var), k.arena.coef(id, b.var));
                i128::from(ca) == i128::from(cb) * i128::from(b.extent)
            });
            if ok {
                merged = Some(p);
                break;
            }
        }
        let Some(p) = merged else { return Ok(()) };
        let (a, b) = (k.dims[p], k.dims[p + 1]);
        let mut extents = current_extents(k);
        extents[a.var as usize] = 1;
        extents[b.var as usize] = a.extent * b.extent;
        rebuild(k, extents, &|ar, v| if v == a.var { Ok(ar.constant(0)) } else { Ok(ar.var(v)) })?;
        k.dims[p + 1].extent = a.extent * b.extent;
        k.dims.remove(p);
    }
}

/// The extent of every loop variable (1 for those that no longer occur).
fn current_extents(k: &Kernel) -> Vec<u64> {
    let mut extents: Vec<u64> = vec![1; k.num_vars];
    for d in &k.dims {
        extents[d.var as usize] = d.extent;
    }
    extents
}

/// Rebuilds every index expression of `k` with new variable extents and
/// variable `v` replaced by `subst(v)`.
fn rebuild(
    k: &mut Kernel,
    extents: Vec<u64>,
    subst: &dyn Fn(&mut IndexArena, u32) -> Result<LinId, IndexOverflow>,
) -> Result<(), IndexOverflow> {
    let roots = index_roots(k);
    let (arena, map) = k.arena.rebuild(extents, &roots, subst)?;
    let remap = |id: LinId| map[id as usize].ok_or(IndexOverflow);
    for e in &mut k.exprs {
        match e {
            ENode::Load { offset, .. } => *offset = remap(*offset)?,
            ENode::Iota { coord, .. } => *coord = remap(*coord)?,
            _ => {}
        }
    }
    for o in &mut k.outputs {
        o.offset = remap(o.offset)?;
    }
    k.arena = arena;
    Ok(())
}

/// Splits loop variables that index expressions divide: when some access
/// reads `v / d` or `v mod d` (a reshape merging dims of a transposed or
/// broadcast view) and `d` divides the extent of `v`, the dim of `v`
/// becomes two dims `(v_hi, v_lo)` with `v = d * v_hi + v_lo`, and those
/// accesses become affine: strided loads instead of divisions per element.
fn split_for_reshapes(k: &mut Kernel) -> Result<(), IndexOverflow> {
    use super::index::Atom;
    for _ in 0..MAX_RANK {
        if k.num_vars >= MAX_RANK {
            return Ok(());
        }
        let extents = current_extents(k);
        let live = k.arena.live(&index_roots(k));
        let mut found = None;
        'search: for id in (0..k.arena.len()).filter(|&i| live[i]) {
            for &(a, _) in &k.arena.lin(id as LinId).terms {
                let (Atom::Div(x, d) | Atom::Mod(x, d)) = a else { continue };
                let lx = k.arena.lin(x);
                if let [(Atom::Var(v), 1)] = lx.terms[..] {
                    let n = extents[v as usize];
                    if lx.off == 0 && n > d as u64 && n.is_multiple_of(d as u64) {
                        found = Some((v, d as u64));
                        break 'search;
                    }
                }
            }
        }
        let Some((v, d)) = found else { return Ok(()) };
        let lo = k.num_vars as u32;
        k.num_vars += 1;
        let mut extents = current_extents(k);
        let n = extents[v as usize];
        extents[v as usize] = n / d;
        extents[lo as usize] = d;
        rebuild(k, extents, &|ar, u| {
            if u == v {
                let (hi, l) = (ar.var(v), ar.var(lo));
                ar.combine(&[(hi, d as i64), (l, 1)], 0)
            } else {
                Ok(ar.var(u))
            }
        })?;
        let p = k.dims.iter().position(|dim| dim.var == v).ok_or(IndexOverflow)?;
        let reduced = k.dims[p].reduced;
        k.dims[p].extent = n / d;
        k.dims.insert(p + 1, Dim { var: lo, extent: d, reduced });
    }
    Ok(())
}

/// The loop variables each expression depends on.
fn dependencies(k: &Kernel) -> Vec<u64> {
    let mut deps = vec![0u64; k.exprs.len()];
    for (i, e) in k.exprs.iter().enumerate() {
        deps[i] = match e {
            ENode::Load { offset, .. } => k.arena.vars(*offset),
            ENode::Iota { coord, .. } => k.arena.vars(*coord),
            ENode::Const { .. } => 0,
            _ => e.args().iter().fold(0, |acc, &a| acc | deps[a as usize]),
        };
    }
    deps
}
