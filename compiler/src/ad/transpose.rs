//! Transpose rules for the linear ops (one exhaustive match). Given the
//! cotangent of a linear node's result, a rule returns the cotangent of each
//! of its *linear* operands; primal operands (coefficients, predicates,
//! indices, zero fillers) get `None`. A non-linear op reaching here is a
//! typed error: the JVP rules only ever emit linear ops on tangents.

use smallvec::{smallvec, SmallVec};

use gradlift_ir::{BinaryOp, Dims, DotDims, IrError, Op, ReduceKind, Type, UnaryOp, Value};

use crate::emit::Emitter;

/// Cotangents for the operands of one node.
pub(crate) type Cts = SmallVec<[Option<Value>; 3]>;

/// One operand of the node being transposed: its type and, when it is a
/// primal (non-linear) operand, its value in the output graph.
pub(crate) struct Operand {
    pub ty: Type,
    pub primal: Option<Value>,
}

impl Operand {
    fn linear(&self) -> bool {
        self.primal.is_none()
    }
}

fn not_linear(op: &Op) -> IrError {
    IrError::Eval {
        msg: format!(
            "internal: {} is not linear in its tangent operands, cannot transpose",
            op.name()
        ),
        loc: None,
    }
}

fn primal(op: &Op, a: &Operand) -> Result<Value, IrError> {
    a.primal.ok_or_else(|| not_linear(op))
}

/// Cotangents of the operands of `op(args) = out`, given `ct` (the cotangent
/// of `out`, of type `out_ty`).
pub(crate) fn transpose_rule(
    e: &mut Emitter,
    op: &Op,
    args: &[Operand],
    out_ty: &Type,
    ct: Value,
) -> Result<Cts, IrError> {
    let mut cts: Cts = smallvec![None; args.len()];
    match op {
        Op::Unary(UnaryOp::Neg) => cts[0] = Some(e.neg(ct)?),
        Op::Unary(
            UnaryOp::Abs
            | UnaryOp::Sign
            | UnaryOp::Exp
            | UnaryOp::Log
            | UnaryOp::Log1p
            | UnaryOp::Expm1
            | UnaryOp::Sqrt
            | UnaryOp::Rsqrt
            | UnaryOp::Sin
            | UnaryOp::Cos
            | UnaryOp::Tanh
            | UnaryOp::Logistic
            | UnaryOp::Floor
            | UnaryOp::Ceil
            | UnaryOp::Round
            | UnaryOp::Not,
        ) => return Err(not_linear(op)),
        Op::Binary(BinaryOp::Add) => {
            for (c, a) in cts.iter_mut().zip(args) {
                if a.linear() {
                    *c = Some(ct);
                }
            }
        }
        Op::Binary(BinaryOp::Sub) => {
            if args[0].linear() {
                cts[0] = Some(ct);
            }
            if args[1].linear() {
                cts[1] = Some(e.neg(ct)?);
            }
        }
        Op::Binary(BinaryOp::Mul) => match (args[0].linear(), args[1].linear()) {
            (true, false) => cts[0] = Some(e.mul(ct, primal(op, &args[1])?)?),
            (false, true) => cts[1] = Some(e.mul(primal(op, &args[0])?, ct)?),
            _ => return Err(not_linear(op)),
        },
        Op::Binary(BinaryOp::Div) => {
            if !args[0].linear() || args[1].linear() {
                return Err(not_linear(op));
            }
            cts[0] = Some(e.div(ct, primal(op, &args[1])?)?);
        }
        Op::Binary(
            BinaryOp::Pow
            | BinaryOp::Max
            | BinaryOp::Min
            | BinaryOp::Rem
            | BinaryOp::And
            | BinaryOp::Or,
        ) => return Err(not_linear(op)),
        Op::Select => {
            let p = primal(op, &args[0])?;
            let zero = e.zeros(out_ty)?;
            if args[1].linear() {
                cts[1] = Some(e.select(p, ct, zero)?);
            }
            if args[2].linear() {
                cts[2] = Some(e.select(p, zero, ct)?);
            }
        }
        Op::Convert { .. } => cts[0] = Some(e.convert(ct, args[0].ty.dtype)?),
        Op::BroadcastInDim { dims, .. } => cts[0] = Some(unbroadcast(e, ct, &args[0].ty, dims)?),
        Op::Reshape { .. } => cts[0] = Some(e.reshape(ct, &args[0].ty.shape)?),
        Op::Transpose { perm } => {
            let mut inv = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            cts[0] = Some(e.transpose(ct, &inv)?);
        }
        Op::Slice(s) => {
            let in_dims = args[0].ty.dims();
            let out_dims = out_ty.dims();
            let mut low = Vec::with_capacity(in_dims.len());
            let mut high = Vec::with_capacity(in_dims.len());
            let mut interior = Vec::with_capacity(in_dims.len());
            for i in 0..in_dims.len() {
                let (d, n) = (in_dims[i], out_dims[i]);
                if n == 0 {
                    low.push(0);
                    high.push(d as i64);
                    interior.push(0);
                } else {
                    let last = s.start[i] + (n - 1) * s.stride[i];
                    low.push(s.start[i] as i64);
                    high.push((d - last - 1) as i64);
                    interior.push(s.stride[i] - 1);
                }
            }
            let zero = e.scalar(out_ty.dtype, 0.0)?;
            cts[0] = Some(e.pad(ct, zero, &low, &high, &interior)?);
        }
        Op::Concatenate { axis } => {
            let dims = out_ty.dims();
            let mut offset = 0;
            for (k, a) in args.iter().enumerate() {
                let len = a.ty.dims()[*axis];
                if a.linear() {
                    let mut start = vec![0; dims.len()];
                    let mut limit = dims.to_vec();
                    start[*axis] = offset;
                    limit[*axis] = offset + len;
                    cts[k] = Some(e.slice(ct, &start, &limit, &vec![1; dims.len()])?);
                }
                offset += len;
            }
        }
        Op::Pad(p) => {
            // Undo cropping (negative low/high) by padding the cotangent with
            // zeros, then pick the operand's positions with a strided slice.
            let rank = out_ty.rank();
            let zero = e.scalar(out_ty.dtype, 0.0)?;
            let grow_lo: Vec<i64> = p.low.iter().map(|&l| (-l).max(0)).collect();
            let grow_hi: Vec<i64> = p.high.iter().map(|&h| (-h).max(0)).collect();
            let t = if grow_lo.iter().chain(&grow_hi).any(|&g| g > 0) {
                e.pad(ct, zero, &grow_lo, &grow_hi, &vec![0; rank])?
            } else {
                ct
            };
            let tdims = e.ty(t).shape;
            let in_dims = args[0].ty.dims();
            let mut start = Vec::with_capacity(rank);
            let mut limit = Vec::with_capacity(rank);
            let mut stride = Vec::with_capacity(rank);
            for (i, &d) in in_dims.iter().enumerate() {
                let lo = p.low[i].max(0) as usize;
                let span = if d == 0 { 0 } else { (d - 1) * (p.interior[i] + 1) + 1 };
                start.push(lo);
                limit.push((lo + span).min(tdims.dims()[i]));
                stride.push(p.interior[i] + 1);
            }
            let ct_x = e.slice(t, &start, &limit, &stride)?;
            if args[0].linear() {
                cts[0] = Some(ct_x);
            }
            if args[1].linear() {
                let all: Vec<usize> = (0..rank).collect();
                let total = e.reduce_sum(ct, &all)?;
                let inner = e.reduce_sum(ct_x, &all)?;
                cts[1] = Some(e.sub(total, inner)?);
            }
        }
        Op::Reverse { axes } => cts[0] = Some(e.op(Op::Reverse { axes: axes.clone() }, &[ct])?),
        Op::Reduce { kind: ReduceKind::Sum, axes } => {
            cts[0] = Some(e.unreduce(ct, &args[0].ty.shape, axes)?)
        }
        Op::Reduce { kind: ReduceKind::Max | ReduceKind::Min | ReduceKind::Prod, .. } => {
            return Err(not_linear(op))
        }
        Op::DotGeneral(d) => match (args[0].linear(), args[1].linear()) {
            (true, false) => {
                cts[0] = Some(dot_transpose_lhs(
                    e,
                    ct,
                    primal(op, &args[1])?,
                    &args[0].ty,
                    &args[1].ty,
                    d,
                )?)
            }
            (false, true) => {
                let swapped = DotDims {
                    lhs_batch: d.rhs_batch.clone(),
                    rhs_batch: d.lhs_batch.clone(),
                    lhs_contract: d.rhs_contract.clone(),
                    rhs_contract: d.lhs_contract.clone(),
                };
                // out = [B, Fl, Fr]; with the operands swapped it would be
                // [B, Fr, Fl]: permute the cotangent to match.
                let nb = d.lhs_batch.len();
                let nfl = args[0].ty.rank() - nb - d.lhs_contract.len();
                let nfr = args[1].ty.rank() - nb - d.rhs_contract.len();
                let mut perm: Vec<usize> = (0..nb).collect();
                perm.extend(nb + nfl..nb + nfl + nfr);
                perm.extend(nb..nb + nfl);
                let ct_sw = e.transpose(ct, &perm)?;
                let l = primal(op, &args[0])?;
                cts[1] = Some(dot_transpose_lhs(e, ct_sw, l, &args[1].ty, &args[0].ty, &swapped)?);
            }
            _ => return Err(not_linear(op)),
        },
        Op::Gather { axis } => {
            if args[1].linear() {
                return Err(not_linear(op));
            }
            let idx = primal(op, &args[1])?;
            let zeros = e.zeros(&args[0].ty)?;
            cts[0] = Some(e.op(Op::ScatterAdd { axis: *axis }, &[zeros, idx, ct])?);
        }
        Op::ScatterAdd { axis } => {
            let idx = primal(op, &args[1])?;
            if args[0].linear() {
                cts[0] = Some(ct);
            }
            if args[2].linear() {
                cts[2] = Some(e.op(Op::Gather { axis: *axis }, &[ct, idx])?);
            }
        }
        Op::Parameter { .. }
        | Op::Constant { .. }
        | Op::Iota { .. }
        | Op::Compare(_)
        | Op::Argmax { .. }
        | Op::StopGradient
        | Op::CustomJvp(_) => return Err(not_linear(op)),
    }
    // Only linear operands receive cotangents.
    for (c, a) in cts.iter_mut().zip(args) {
        if !a.linear() {
            *c = None;
        }
    }
    Ok(cts)
}

/// Transpose of `broadcast_in_dim x -> out`: sum over the new dims and the
/// stretched size-1 dims, then reshape to the operand's shape.
fn unbroadcast(e: &mut Emitter, ct: Value, x_ty: &Type, dims: &Dims) -> Result<Value, IrError> {
    let out_dims = e.ty(ct).shape;
    let mut axes: Vec<usize> = (0..out_dims.rank()).filter(|d| !dims.contains(d)).collect();
    for (i, &d) in dims.iter().enumerate() {
        if x_ty.dims()[i] == 1 && out_dims.dims()[d] != 1 {
            axes.push(d);
        }
    }
    axes.sort_unstable();
    let summed = e.reduce_sum(ct, &axes)?;
    e.reshape(summed, &x_ty.shape)
}

/// Cotangent of the lhs of `dot_general(lhs, rhs)` given the result's
/// cotangent `ct` (dims [batch, lhs free, rhs free]).
fn dot_transpose_lhs(
    e: &mut Emitter,
    ct: Value,
    rhs: Value,
    lhs_ty: &Type,
    rhs_ty: &Type,
    d: &DotDims,
) -> Result<Value, IrError> {
    let nb = d.lhs_batch.len();
    let lhs_free: Vec<usize> = (0..lhs_ty.rank())
        .filter(|i| !d.lhs_batch.contains(i) && !d.lhs_contract.contains(i))
        .collect();
    let rhs_free: Vec<usize> = (0..rhs_ty.rank())
        .filter(|i| !d.rhs_batch.contains(i) && !d.rhs_contract.contains(i))
        .collect();
    let nfl = lhs_free.len();
    // Contract ct's rhs-free positions with rhs's free dims, batch with batch.
    let dims = DotDims {
        lhs_batch: (0..nb).collect(),
        rhs_batch: d.rhs_batch.clone(),
        lhs_contract: (nb + nfl..nb + nfl + rhs_free.len()).collect(),
        rhs_contract: rhs_free.iter().copied().collect(),
    };
    let r = e.dot_general(ct, rhs, dims)?;
    // r = [batch, lhs free, rhs contract dims in increasing rhs order].
    let mut sorted_rc: Vec<usize> = d.rhs_contract.to_vec();
    sorted_rc.sort_unstable();
    let mut pos = vec![0usize; lhs_ty.rank()];
    for (i, &b) in d.lhs_batch.iter().enumerate() {
        pos[b] = i;
    }
    for (j, &f) in lhs_free.iter().enumerate() {
        pos[f] = nb + j;
    }
    for (k, &lc) in d.lhs_contract.iter().enumerate() {
        let rank_in_r = sorted_rc.iter().position(|&x| x == d.rhs_contract[k]).unwrap_or(0);
        pos[lc] = nb + nfl + rank_in_r;
    }
    e.transpose(r, &pos)
}
