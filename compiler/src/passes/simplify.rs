//! Algebraic simplification with rules that never change a result: each
//! identity below holds bit for bit for every input, infinities, -0.0 and
//! NaN included (a NaN stays a NaN; its payload, which the IR leaves
//! unspecified, may differ: `x·1` quiets a signalling NaN, `x` does not,
//! and `dot_general(y, x)` multiplies `r·l` where `dot_general(x, y)`
//! multiplies `l·r`).
//!
//! Rules are one match, one short arm per rule under its identity. Each
//! node is rewritten as the forward walk reaches it, so its operands are
//! already simplified; a rule either names an existing value or proposes a
//! new op, which is offered to the rules again, at most
//! [`MAX_REWRITES_PER_NODE`] times.
//!
//! Not rules, because they are not exact: `x + 0.0 → x` (`-0 + +0 == +0`),
//! `x·0 → 0` for floats (`NaN·0`, `inf·0`), `reduce_sum` over a broadcast
//! that repeats elements (a sum of n copies is not one copy), `reduce_sum`
//! over size-1 axes of floats (the sum starts at +0.0 and `0 + -0.0 ==
//! +0.0`), `x - x → 0` for floats, reassociation of sums and products,
//! and `transpose(dot_general(..))` when the dot has other uses (exact, but
//! it would compute the product twice).

use std::borrow::Cow;

use gradlift_ir::{
    Args, BinaryOp, DType, Dims, DotDims, Function, IrError, Op, ReduceKind, Type, UnaryOp, Value,
};

use super::rebuild::Rebuild;
use super::splat::{
    is_add_identity, is_all_ones, is_false, is_int_zero, is_no_bits, is_one, is_sub_identity,
    is_true, Splats,
};
use super::Pass;
use crate::error::CompileError;

/// How many times one node may be rewritten before it is emitted as is
/// (every rule makes the graph smaller or simpler, so chains are short).
pub const MAX_REWRITES_PER_NODE: usize = 8;

/// Algebraic simplification.
#[derive(Clone, Copy, Debug, Default)]
pub struct Simplify;

impl Pass for Simplify {
    fn name(&self) -> &'static str {
        "simplify"
    }

    fn run(&self, f: &Function) -> Result<(Function, bool), CompileError> {
        let mut cx = Cx { rb: Rebuild::new(f)?, splats: Splats::default(), uses: use_counts(f) };
        let mut changed = false;
        for (v, node) in f.instructions() {
            let mut op = Cow::Borrowed(&node.op);
            let mut args = cx.rb.args(v);
            let mut rewritten = false;
            let mut replaced = None;
            for _ in 0..MAX_REWRITES_PER_NODE {
                match rewrite(&mut cx, v, &op, &args)? {
                    None => break,
                    Some(Rewrite::To(x)) => {
                        replaced = Some(x);
                        break;
                    }
                    Some(Rewrite::Op(new_op, new_args)) => {
                        (op, args, rewritten) = (Cow::Owned(new_op), new_args, true);
                    }
                }
            }
            let out = match replaced {
                Some(x) => {
                    cx.rb.alias(v, x)?;
                    x
                }
                None if rewritten => cx.rb.emit(v, op.into_owned(), &args)?,
                None => cx.rb.keep(v, &args)?,
            };
            changed |= rewritten || replaced.is_some();
            check_type(f, v, cx.rb.out().ty(out))?;
        }
        Ok((cx.rb.finish()?, changed))
    }
}

/// What a rule does with a node.
enum Rewrite {
    /// The node equals this existing value.
    To(Value),
    /// The node equals this op on these operands.
    Op(Op, Args),
}

fn to(x: Value) -> Option<Rewrite> {
    Some(Rewrite::To(x))
}

fn op(op: Op, args: &[Value]) -> Option<Rewrite> {
    Some(Rewrite::Op(op, Args::from_slice(args)))
}

/// The rules: the first that matches `op(a)` (the rewrite of source node
/// `v`) applies.
fn rewrite(cx: &mut Cx, v: Value, o: &Op, a: &[Value]) -> Result<Option<Rewrite>, IrError> {
    use BinaryOp::{Add, And, Div, Max, Min, Mul, Or, Sub};
    use UnaryOp::{Abs, Ceil, Floor, Neg, Not, Round, Sign};
    Ok(match o {
        // x·1 == x == 1·x
        Op::Binary(Mul) if cx.splat_is(a[1], is_one) => to(a[0]),
        Op::Binary(Mul) if cx.splat_is(a[0], is_one) => to(a[1]),
        // x·0 == 0 for integers (not floats: NaN·0 and inf·0 are NaN)
        Op::Binary(Mul) if cx.splat_is(a[1], is_int_zero) => to(a[1]),
        Op::Binary(Mul) if cx.splat_is(a[0], is_int_zero) => to(a[0]),
        // x/1 == x
        Op::Binary(Div) if cx.splat_is(a[1], is_one) => to(a[0]),
        // x + (-0.0) == x == (-0.0) + x; integers: x + 0 == x (not x + 0.0: -0 + +0 == +0)
        Op::Binary(Add) if cx.splat_is(a[1], is_add_identity) => to(a[0]),
        Op::Binary(Add) if cx.splat_is(a[0], is_add_identity) => to(a[1]),
        // x - (+0.0) == x (also for x = -0.0); integers: x - 0 == x
        Op::Binary(Sub) if cx.splat_is(a[1], is_sub_identity) => to(a[0]),
        // x + neg(y) == x - y == neg(y) + x (IEEE defines x - y as x + (-y))
        Op::Binary(Add) if cx.is_unary(a[1], Neg) => op(Op::Binary(Sub), &[a[0], cx.arg(a[1])]),
        Op::Binary(Add) if cx.is_unary(a[0], Neg) => op(Op::Binary(Sub), &[a[1], cx.arg(a[0])]),
        // x - neg(y) == x + y
        Op::Binary(Sub) if cx.is_unary(a[1], Neg) => op(Op::Binary(Add), &[a[0], cx.arg(a[1])]),
        // max(x, x) == min(x, x) == and(x, x) == or(x, x) == x
        Op::Binary(Max | Min | And | Or) if a[0] == a[1] => to(a[0]),
        // and(x, all ones) == x; or(x, no bits) == x
        Op::Binary(And) if cx.splat_is(a[1], is_all_ones) => to(a[0]),
        Op::Binary(And) if cx.splat_is(a[0], is_all_ones) => to(a[1]),
        Op::Binary(Or) if cx.splat_is(a[1], is_no_bits) => to(a[0]),
        Op::Binary(Or) if cx.splat_is(a[0], is_no_bits) => to(a[1]),
        // and(x, no bits) == no bits; or(x, all ones) == all ones
        Op::Binary(And) if cx.splat_is(a[1], is_no_bits) => to(a[1]),
        Op::Binary(And) if cx.splat_is(a[0], is_no_bits) => to(a[0]),
        Op::Binary(Or) if cx.splat_is(a[1], is_all_ones) => to(a[1]),
        Op::Binary(Or) if cx.splat_is(a[0], is_all_ones) => to(a[0]),
        // neg(neg(x)) == x; not(not(x)) == x (integers wrap: -(-MIN) == MIN)
        Op::Unary(u @ (Neg | Not)) if cx.is_unary(a[0], *u) => to(cx.arg(a[0])),
        // abs(neg(x)) == abs(x)
        Op::Unary(Abs) if cx.is_unary(a[0], Neg) => op(Op::Unary(Abs), &[cx.arg(a[0])]),
        // f(f(x)) == f(x) for f in abs, sign, floor, ceil, round
        Op::Unary(u @ (Abs | Sign | Floor | Ceil | Round)) if cx.is_unary(a[0], *u) => to(a[0]),
        // select(true, x, y) == x; select(false, x, y) == y
        Op::Select if cx.splat_is(a[0], is_true) => to(a[1]),
        Op::Select if cx.splat_is(a[0], is_false) => to(a[2]),
        // select(p, x, x) == x
        Op::Select if a[1] == a[2] => to(a[1]),
        // select(not(p), x, y) == select(p, y, x)
        Op::Select if cx.is_unary(a[0], Not) => op(Op::Select, &[cx.arg(a[0]), a[2], a[1]]),
        // convert(x: T, to=T) == x
        Op::Convert { to: t } if cx.ty(a[0]).dtype == *t => to(a[0]),
        // convert(convert(x: A, to=B), to=A) == x when every A survives the trip through B
        Op::Convert { to: t } if cx.round_trip(a[0], *t) => to(cx.arg(a[0])),
        // stop_gradient(stop_gradient(x)) == stop_gradient(x)
        Op::StopGradient if matches!(cx.op(a[0]), Op::StopGradient) => to(a[0]),
        // broadcast(x) to x's own shape with dims 0, 1, ... == x
        Op::BroadcastInDim { shape, dims } if cx.ty(a[0]).shape == *shape && is_iota(dims) => {
            to(a[0])
        }
        // broadcast(broadcast(x, dims=d), dims=e) == broadcast(x, dims=e∘d)
        Op::BroadcastInDim { shape, dims } if cx.is_broadcast(a[0]) => {
            let inner = cx.broadcast_dims(a[0]);
            let dims = inner.iter().map(|&d| dims[d]).collect();
            op(Op::BroadcastInDim { shape: shape.clone(), dims }, &[cx.arg(a[0])])
        }
        // broadcast(x) that only inserts size-1 dims == reshape(x) (x not rank 0: that is a splat)
        Op::BroadcastInDim { shape, .. }
            if cx.ty(a[0]).rank() > 0 && cx.ty(a[0]).shape.size() == shape.size() =>
        {
            op(Op::Reshape { shape: shape.clone() }, &[a[0]])
        }
        // reshape(x) to x's own shape == x
        Op::Reshape { shape } if cx.ty(a[0]).shape == *shape => to(a[0]),
        // reshape(reshape(x)) == reshape(x)
        Op::Reshape { shape } if matches!(cx.op(a[0]), Op::Reshape { .. }) => {
            op(Op::Reshape { shape: shape.clone() }, &[cx.arg(a[0])])
        }
        // moving the elements of a broadcast scalar s gives a broadcast of s
        Op::Reshape { .. } | Op::Transpose { .. } | Op::Slice(_) | Op::Reverse { .. }
            if cx.is_scalar_broadcast(a[0]) =>
        {
            let shape = cx.rb.src().ty(v).shape.clone();
            op(Op::BroadcastInDim { shape, dims: Dims::new() }, &[cx.arg(a[0])])
        }
        // transpose(x, perm=[0, 1, ...]) == x
        Op::Transpose { perm } if is_iota(perm) => to(a[0]),
        // transpose(transpose(x, perm=p), perm=q) == transpose(x, perm=p∘q)
        Op::Transpose { perm } if matches!(cx.op(a[0]), Op::Transpose { .. }) => {
            let Op::Transpose { perm: inner } = cx.op(a[0]) else { return Ok(None) };
            let perm = perm.iter().map(|&q| inner[q]).collect();
            op(Op::Transpose { perm }, &[cx.arg(a[0])])
        }
        // transpose(dot_general(x, y), perm) == dot_general(y, x) when perm puts y's free dims
        // first (products commute; the sums run in the same order)
        Op::Transpose { perm } if cx.swapped_dot(a[0], perm).is_some() && cx.single_use(a[0]) => {
            let dims = cx.swapped_dot(a[0], perm).map(Box::new);
            let (x, y) = (cx.arg(a[0]), cx.rb.out().args(a[0])[1]);
            dims.and_then(|d| op(Op::DotGeneral(d), &[y, x]))
        }
        // slice(x) from 0 to the end with stride 1 == x
        Op::Slice(s)
            if s.limit.as_slice() == cx.ty(a[0]).dims()
                && s.start.iter().all(|&i| i == 0)
                && s.stride.iter().all(|&i| i == 1) =>
        {
            to(a[0])
        }
        // reverse(x, axes) == reverse(x, the axes longer than 1) (== x when none are)
        Op::Reverse { axes }
            if axes.is_empty() || axes.iter().any(|&i| cx.ty(a[0]).dims()[i] <= 1) =>
        {
            let axes: Dims = axes.iter().copied().filter(|&i| cx.ty(a[0]).dims()[i] > 1).collect();
            if axes.is_empty() {
                to(a[0])
            } else {
                op(Op::Reverse { axes }, &[a[0]])
            }
        }
        // reverse(reverse(x, A), B) == reverse(x, A △ B) (== x when A and B are the same)
        Op::Reverse { axes } if matches!(cx.op(a[0]), Op::Reverse { .. }) => {
            let Op::Reverse { axes: inner } = cx.op(a[0]) else { return Ok(None) };
            let mut both: Dims = inner.iter().copied().filter(|i| !axes.contains(i)).collect();
            both.extend(axes.iter().copied().filter(|i| !inner.contains(i)));
            both.sort_unstable();
            if both.is_empty() {
                to(cx.arg(a[0]))
            } else {
                op(Op::Reverse { axes: both }, &[cx.arg(a[0])])
            }
        }
        // concatenate(x) == x
        Op::Concatenate { .. } if a.len() == 1 => to(a[0]),
        // pad(x, v) by nothing anywhere == x
        Op::Pad(p)
            if p.low.iter().chain(&p.high).all(|&i| i == 0)
                && p.interior.iter().all(|&i| i == 0) =>
        {
            to(a[0])
        }
        // reduce(x, axes=[]) == x
        Op::Reduce { axes, .. } if axes.is_empty() => to(a[0]),
        // reduce_{max,min,prod}(x) over size-1 axes == reshape(x); reduce_sum too, for integers
        Op::Reduce { kind, axes }
            if axes.iter().all(|&i| cx.ty(a[0]).dims()[i] == 1)
                && (*kind != ReduceKind::Sum || cx.ty(a[0]).dtype.is_int()) =>
        {
            let shape = cx.rb.src().ty(v).shape.clone();
            op(Op::Reshape { shape }, &[a[0]])
        }
        // reduce(broadcast(y), A) == broadcast(reduce(y, A's dims of y)) when each element of
        // y is repeated: any number n >= 1 of times for max/min (max(y, y) == y), once for
        // sum/prod
        Op::Reduce { kind, axes } if cx.is_broadcast(a[0]) => {
            reduce_of_broadcast(cx, v, *kind, axes, a[0])?
        }
        // dot_general(transpose(x), y) == dot_general(x, y) read through the perm, when the
        // free dims of x keep their order (and the same for y)
        Op::DotGeneral(d) if cx.through_transpose(d, a, 0).is_some() => {
            let d = cx.through_transpose(d, a, 0).map(Box::new);
            d.and_then(|d| op(Op::DotGeneral(d), &[cx.arg(a[0]), a[1]]))
        }
        Op::DotGeneral(d) if cx.through_transpose(d, a, 1).is_some() => {
            let d = cx.through_transpose(d, a, 1).map(Box::new);
            d.and_then(|d| op(Op::DotGeneral(d), &[a[0], cx.arg(a[1])]))
        }
        _ => None,
    })
}

/// `reduce(broadcast_in_dim(y, dims), axes)` as a reduce over `y` and a
/// broadcast, when exact (see the rule). `None` when it does not apply.
fn reduce_of_broadcast(
    cx: &mut Cx,
    v: Value,
    kind: ReduceKind,
    axes: &[usize],
    b: Value,
) -> Result<Option<Rewrite>, IrError> {
    let y = cx.arg(b);
    let (y_dims, b_dims): (Dims, Dims) = (cx.ty(y).shape.0.clone(), cx.ty(b).shape.0.clone());
    let dims = cx.broadcast_dims(b);
    // The y dim each broadcast dim comes from.
    let mut from: Vec<Option<usize>> = vec![None; b_dims.len()];
    for (i, &d) in dims.iter().enumerate() {
        from[d] = Some(i);
    }
    // How often each y element is repeated in one reduction, and whether
    // some reduced axis is made by the broadcast at all.
    let mut repeats: usize = 1;
    let mut by_broadcast = false;
    let mut y_axes = Dims::new();
    for &ax in axes {
        match from[ax] {
            Some(i) => {
                y_axes.push(i);
                if y_dims[i] != b_dims[ax] {
                    repeats = repeats.saturating_mul(b_dims[ax]);
                    by_broadcast = true;
                }
            }
            None => {
                repeats = repeats.saturating_mul(b_dims[ax]);
                by_broadcast = true;
            }
        }
    }
    let float = cx.ty(y).dtype.is_float();
    let exact = match kind {
        ReduceKind::Max | ReduceKind::Min => repeats >= 1,
        ReduceKind::Prod => repeats == 1,
        // With no axes of y left the sum would be `0 + y`, which turns -0.0 into +0.0.
        ReduceKind::Sum => repeats == 1 && (!y_axes.is_empty() || !float),
    };
    if !by_broadcast || !exact {
        return Ok(None);
    }
    y_axes.sort_unstable();
    let reduced = if y_axes.is_empty() {
        y
    } else {
        cx.rb.helper(v, Op::Reduce { kind, axes: y_axes.clone() }, &[y])?
    };
    // Result dims are the broadcast's dims outside `axes`, in order.
    let mut position = vec![usize::MAX; b_dims.len()];
    let mut next = 0;
    for (d, p) in position.iter_mut().enumerate() {
        if !axes.contains(&d) {
            *p = next;
            next += 1;
        }
    }
    let dims: Dims =
        (0..y_dims.len()).filter(|i| !y_axes.contains(i)).map(|i| position[dims[i]]).collect();
    let shape = cx.rb.src().ty(v).shape.clone();
    Ok(op(Op::BroadcastInDim { shape, dims }, &[reduced]))
}

/// How many times each value of `f` is used (as an operand or a result).
fn use_counts(f: &Function) -> Vec<u32> {
    let mut uses = vec![0u32; f.len()];
    for (_, node) in f.instructions() {
        for a in &node.args {
            uses[a.index()] = uses[a.index()].saturating_add(1);
        }
    }
    for r in f.results() {
        uses[r.index()] = uses[r.index()].saturating_add(1);
    }
    uses
}

/// The dimension numbers of `dot_general` when operand `side` (0: lhs, 1:
/// rhs) is read through `transpose(_, perm)`, if the operand's free dims
/// stay in order (they give the result's dim order).
fn dot_through_perm(d: &DotDims, side: usize, perm: &[usize]) -> Option<DotDims> {
    let (batch, contract) =
        if side == 0 { (&d.lhs_batch, &d.lhs_contract) } else { (&d.rhs_batch, &d.rhs_contract) };
    let free: Dims = (0..perm.len())
        .filter(|j| !batch.contains(j) && !contract.contains(j))
        .map(|j| perm[j])
        .collect();
    if free.windows(2).any(|w| w[0] > w[1]) {
        return None;
    }
    let through = |dims: &Dims| -> Dims { dims.iter().map(|&j| perm[j]).collect() };
    let mut out = d.clone();
    if side == 0 {
        (out.lhs_batch, out.lhs_contract) = (through(batch), through(contract));
    } else {
        (out.rhs_batch, out.rhs_contract) = (through(batch), through(contract));
    }
    Some(out)
}

/// The dimension numbers of `dot_general(y, x)` if `transpose(dot_general(x,
/// y, d), perm)` equals it: `perm` keeps the batch dims and moves the rhs
/// free dims before the lhs free dims.
fn swap_dot(d: &DotDims, lhs_rank: usize, rhs_rank: usize, perm: &[usize]) -> Option<DotDims> {
    let nb = d.lhs_batch.len();
    let nl = lhs_rank.checked_sub(nb + d.lhs_contract.len())?;
    let nr = rhs_rank.checked_sub(nb + d.rhs_contract.len())?;
    let want = (0..nb).chain(nb + nl..nb + nl + nr).chain(nb..nb + nl);
    if !want.eq(perm.iter().copied()) {
        return None;
    }
    Some(DotDims {
        lhs_batch: d.rhs_batch.clone(),
        rhs_batch: d.lhs_batch.clone(),
        lhs_contract: d.rhs_contract.clone(),
        rhs_contract: d.lhs_contract.clone(),
    })
}

/// `[0, 1, 2, ...]`.
fn is_iota(dims: &[usize]) -> bool {
    dims.iter().enumerate().all(|(i, &d)| i == d)
}

/// Every value of `from` converts to `via` and back unchanged.
fn exact_round_trip(from: DType, via: DType) -> bool {
    use DType::{Bool, F32, F64, I32, I64};
    match (from, via) {
        (F32, F64) | (I32, I64) | (I32, F64) => true,
        // false/true go to 0/1 and back through `!= 0`.
        (Bool, _) => true,
        (F32 | F64 | I32 | I64, _) => false,
    }
}

/// The type a rewrite of `v` ends with must be `v`'s.
fn check_type(f: &Function, v: Value, got: &Type) -> Result<(), IrError> {
    let want = f.ty(v);
    if got == want {
        return Ok(());
    }
    Err(IrError::Verify {
        func: f.name().to_string(),
        msg: format!(
            "simplify rewrote {} of type {want} into a value of type {got}",
            f.op(v).name()
        ),
        loc: f.loc(v).cloned(),
    })
}

/// What the rules look at: the output function so far and splat facts.
struct Cx<'f> {
    rb: Rebuild<'f>,
    splats: Splats,
    /// Use counts of the source function's values.
    uses: Vec<u32>,
}

impl Cx<'_> {
    fn op(&self, v: Value) -> &Op {
        self.rb.out().op(v)
    }

    /// The first operand of output value `v`.
    fn arg(&self, v: Value) -> Value {
        self.rb.out().args(v)[0]
    }

    fn ty(&self, v: Value) -> &Type {
        self.rb.out().ty(v)
    }

    fn splat_is(&mut self, v: Value, test: fn(&gradlift_ir::Data) -> bool) -> bool {
        self.splats.is(self.rb.out(), v, test)
    }

    fn is_unary(&self, v: Value, u: UnaryOp) -> bool {
        *self.op(v) == Op::Unary(u)
    }

    fn is_broadcast(&self, v: Value) -> bool {
        matches!(self.op(v), Op::BroadcastInDim { .. })
    }

    /// A broadcast of a rank-0 value.
    fn is_scalar_broadcast(&self, v: Value) -> bool {
        self.is_broadcast(v) && self.ty(self.arg(v)).rank() == 0
    }

    /// The `dims` of broadcast `v`.
    fn broadcast_dims(&self, v: Value) -> Dims {
        match self.op(v) {
            Op::BroadcastInDim { dims, .. } => dims.clone(),
            _ => Dims::new(),
        }
    }

    /// Output value `v` has one use: it was emitted for a source value
    /// used once (every value equal to it is reached through that use).
    fn single_use(&self, v: Value) -> bool {
        self.rb.origin(v).is_some_and(|u| self.uses[u.index()] == 1)
    }

    /// See [`swap_dot`]; `None` unless `v` is a `dot_general`.
    fn swapped_dot(&self, v: Value, perm: &[usize]) -> Option<DotDims> {
        let Op::DotGeneral(d) = self.op(v) else { return None };
        let args = self.rb.out().args(v);
        swap_dot(d, self.ty(args[0]).rank(), self.ty(args[1]).rank(), perm)
    }

    /// See [`dot_through_perm`]; `None` unless operand `side` is a transpose.
    fn through_transpose(&self, d: &DotDims, args: &[Value], side: usize) -> Option<DotDims> {
        let Op::Transpose { perm } = self.op(args[side]) else { return None };
        dot_through_perm(d, side, perm)
    }

    /// `v` is `convert(x, to=via)` with `x` of dtype `to`, and the trip
    /// `to → via → to` is exact.
    fn round_trip(&self, v: Value, to: DType) -> bool {
        match self.op(v) {
            Op::Convert { to: via } => {
                self.ty(self.arg(v)).dtype == to && exact_round_trip(to, *via)
            }
            _ => false,
        }
    }
}
