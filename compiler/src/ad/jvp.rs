//! Forward mode: a tangent rule for every op (one exhaustive match). A rule
//! sees the primal operands and result (already copied into the new graph)
//! and the operand tangents, `None` being a symbolic zero, and emits tangent
//! ops that are *linear* in the operand tangents: only neg, add, sub, mul and
//! div by a primal, select on a primal predicate, convert, the shape ops,
//! reduce_sum, dot_general with one primal side, gather, scatter_add and pad,
//! where any primal operand that stands in for a missing tangent is zero.
//! That is what lets `transpose.rs` turn the same code into reverse mode.

use gradlift_ir::{
    BinaryOp, CompareOp, DType, Dims, IrError, Op, ReduceKind, Shape, UnaryOp, Value,
};

use crate::emit::Emitter;

type T = Option<Value>;

/// The tangent of `op(x...) = y`, given operand tangents `dx`.
pub(crate) fn jvp_rule(
    e: &mut Emitter,
    op: &Op,
    x: &[Value],
    y: Value,
    dx: &[T],
) -> Result<T, IrError> {
    if dx.iter().all(Option::is_none) {
        return Ok(None);
    }
    let t = match op {
        Op::Parameter { .. } | Op::Constant { .. } | Op::Iota { .. } => None,
        Op::Unary(u) => match dx[0] {
            Some(d) => unary(e, *u, x[0], y, d)?,
            None => None,
        },
        Op::Binary(b) => binary(e, *b, x[0], x[1], y, dx[0], dx[1])?,
        Op::Compare(_) | Op::Argmax { .. } | Op::StopGradient => None,
        Op::Select => {
            let ty = e.ty(y);
            let on_true = e.materialize(dx[1], &ty)?;
            let on_false = e.materialize(dx[2], &ty)?;
            Some(e.select(x[0], on_true, on_false)?)
        }
        Op::Convert { to } => match dx[0] {
            Some(d) if to.is_float() => Some(e.convert(d, *to)?),
            _ => None,
        },
        Op::BroadcastInDim { .. }
        | Op::Reshape { .. }
        | Op::Transpose { .. }
        | Op::Slice(_)
        | Op::Reverse { .. } => match dx[0] {
            Some(d) => Some(e.op(op.clone(), &[d])?),
            None => None,
        },
        Op::Concatenate { .. } => {
            let mut parts = Vec::with_capacity(x.len());
            for (xi, di) in x.iter().zip(dx) {
                let ty = e.ty(*xi);
                parts.push(e.materialize(*di, &ty)?);
            }
            Some(e.op(op.clone(), &parts)?)
        }
        Op::Pad(_) => {
            let (tx, tv) = (e.ty(x[0]), e.ty(x[1]));
            let d = e.materialize(dx[0], &tx)?;
            let dv = e.materialize(dx[1], &tv)?;
            Some(e.op(op.clone(), &[d, dv])?)
        }
        Op::Reduce { kind, axes } => match dx[0] {
            Some(d) => reduce(e, *kind, axes, x[0], y, d)?,
            None => None,
        },
        Op::DotGeneral(_) => {
            let a = match dx[0] {
                Some(d) => Some(e.op(op.clone(), &[d, x[1]])?),
                None => None,
            };
            let b = match dx[1] {
                Some(d) => Some(e.op(op.clone(), &[x[0], d])?),
                None => None,
            };
            e.add_opt(a, b)?
        }
        Op::Gather { .. } => match dx[0] {
            Some(d) => Some(e.op(op.clone(), &[d, x[1]])?),
            None => None,
        },
        // The user's rule, inlined: its tangent output (its primal output
        // duplicates `y` and is left to dead-code removal).
        Op::CustomJvp(rule) => {
            let mut args: Vec<Value> = x.to_vec();
            for (xi, di) in x.iter().zip(dx) {
                let ty = e.ty(*xi);
                args.push(e.materialize(*di, &ty)?);
            }
            let outs = crate::inline::inline(e, &rule.jvp, &args)?;
            Some(outs[1])
        }
        Op::ScatterAdd { .. } => {
            let (tx, tu) = (e.ty(x[0]), e.ty(x[2]));
            let d = e.materialize(dx[0], &tx)?;
            let du = e.materialize(dx[2], &tu)?;
            Some(e.op(op.clone(), &[d, x[1], du])?)
        }
    };
    Ok(t)
}

fn unary(e: &mut Emitter, u: UnaryOp, x: Value, y: Value, d: Value) -> Result<T, IrError> {
    let t = match u {
        // d(-x) = -dx
        UnaryOp::Neg => e.neg(d)?,
        // d|x| = sign(x) dx
        UnaryOp::Abs => {
            let s = e.unary(UnaryOp::Sign, x)?;
            e.mul(d, s)?
        }
        UnaryOp::Sign | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round | UnaryOp::Not => {
            return Ok(None)
        }
        // d exp(x) = exp(x) dx
        UnaryOp::Exp => e.mul(d, y)?,
        // d log(x) = dx / x
        UnaryOp::Log => e.div(d, x)?,
        // d log1p(x) = dx / (1 + x)
        UnaryOp::Log1p => {
            let one = e.full_like(x, 1.0)?;
            let xp1 = e.add(x, one)?;
            e.div(d, xp1)?
        }
        // d expm1(x) = (expm1(x) + 1) dx
        UnaryOp::Expm1 => {
            let one = e.full_like(x, 1.0)?;
            let yp1 = e.add(y, one)?;
            e.mul(d, yp1)?
        }
        // d sqrt(x) = dx / (2 sqrt(x))
        UnaryOp::Sqrt => {
            let two = e.full_like(x, 2.0)?;
            let den = e.mul(y, two)?;
            e.div(d, den)?
        }
        // d x^(-1/2) = -1/2 x^(-1/2) / x dx
        UnaryOp::Rsqrt => {
            let half = e.full_like(x, -0.5)?;
            let q = e.div(y, x)?;
            let c = e.mul(half, q)?;
            e.mul(d, c)?
        }
        // d sin(x) = cos(x) dx
        UnaryOp::Sin => {
            let c = e.unary(UnaryOp::Cos, x)?;
            e.mul(d, c)?
        }
        // d cos(x) = -sin(x) dx
        UnaryOp::Cos => {
            let s = e.unary(UnaryOp::Sin, x)?;
            let c = e.neg(s)?;
            e.mul(d, c)?
        }
        // d tanh(x) = (1 - tanh(x)^2) dx
        UnaryOp::Tanh => {
            let one = e.full_like(x, 1.0)?;
            let y2 = e.mul(y, y)?;
            let c = e.sub(one, y2)?;
            e.mul(d, c)?
        }
        // d σ(x) = σ(x) (1 - σ(x)) dx
        UnaryOp::Logistic => {
            let one = e.full_like(x, 1.0)?;
            let om = e.sub(one, y)?;
            let c = e.mul(y, om)?;
            e.mul(d, c)?
        }
    };
    Ok(Some(t))
}

fn binary(
    e: &mut Emitter,
    b: BinaryOp,
    x: Value,
    z: Value,
    y: Value,
    dx: T,
    dz: T,
) -> Result<T, IrError> {
    let t = match b {
        BinaryOp::Add => e.add_opt(dx, dz)?,
        BinaryOp::Sub => match (dx, dz) {
            (d, None) => d,
            (None, Some(d)) => Some(e.neg(d)?),
            (Some(a), Some(c)) => Some(e.sub(a, c)?),
        },
        // d(x z) = dx z + x dz
        BinaryOp::Mul => {
            let a = dx.map(|d| e.mul(d, z)).transpose()?;
            let c = dz.map(|d| e.mul(x, d)).transpose()?;
            e.add_opt(a, c)?
        }
        // d(x / z) = (dx - dz y) / z
        BinaryOp::Div => {
            let dzy = dz.map(|d| e.mul(d, y)).transpose()?;
            let num = match (dx, dzy) {
                (d, None) => d,
                (None, Some(c)) => Some(e.neg(c)?),
                (Some(a), Some(c)) => Some(e.sub(a, c)?),
            };
            num.map(|n| e.div(n, z)).transpose()?
        }
        // d x^z = z x^(z-1) dx + log(x) x^z dz, with the conventions of JAX:
        // the dx coefficient is 0 where z == 0, and log(x) is taken at 1
        // where x == 0 (there x^z is 0 or 1 and the product must not be NaN).
        BinaryOp::Pow => {
            let a = match dx {
                Some(d) => {
                    let one = e.full_like(x, 1.0)?;
                    let zero = e.full_like(x, 0.0)?;
                    let zm1 = e.sub(z, one)?;
                    let p = e.binary(BinaryOp::Pow, x, zm1)?;
                    let c = e.mul(z, p)?;
                    let z0 = e.compare(CompareOp::Eq, z, zero)?;
                    let c = e.select(z0, zero, c)?;
                    Some(e.mul(d, c)?)
                }
                None => None,
            };
            let c = match dz {
                Some(d) => {
                    let one = e.full_like(x, 1.0)?;
                    let zero = e.full_like(x, 0.0)?;
                    let x0 = e.compare(CompareOp::Eq, x, zero)?;
                    let xs = e.select(x0, one, x)?;
                    let l = e.unary(UnaryOp::Log, xs)?;
                    let coef = e.mul(l, y)?;
                    Some(e.mul(d, coef)?)
                }
                None => None,
            };
            e.add_opt(a, c)?
        }
        // Balanced at ties (each side gets half), which is what central
        // differences measure there.
        BinaryOp::Max | BinaryOp::Min => {
            let cmp = if b == BinaryOp::Max { CompareOp::Gt } else { CompareOp::Lt };
            let one = e.full_like(x, 1.0)?;
            let half = e.full_like(x, 0.5)?;
            let zero = e.full_like(x, 0.0)?;
            let wins = e.compare(cmp, x, z)?;
            let tie = e.compare(CompareOp::Eq, x, z)?;
            let tie_w = e.select(tie, half, zero)?;
            let wx = e.select(wins, one, tie_w)?;
            let a = dx.map(|d| e.mul(d, wx)).transpose()?;
            let c = match dz {
                Some(d) => {
                    let wz = e.sub(one, wx)?;
                    Some(e.mul(d, wz)?)
                }
                None => None,
            };
            e.add_opt(a, c)?
        }
        // rem(x, z) = x - trunc(x / z) z: d = dx - trunc(x / z) dz
        BinaryOp::Rem => {
            let c = match dz {
                Some(d) => {
                    let q = e.div(x, z)?;
                    let s = e.unary(UnaryOp::Sign, q)?;
                    let a = e.unary(UnaryOp::Abs, q)?;
                    let fl = e.unary(UnaryOp::Floor, a)?;
                    let tr = e.mul(s, fl)?;
                    let m = e.mul(d, tr)?;
                    Some(e.neg(m)?)
                }
                None => None,
            };
            e.add_opt(dx, c)?
        }
        BinaryOp::And | BinaryOp::Or => None,
    };
    Ok(t)
}

fn reduce(
    e: &mut Emitter,
    kind: ReduceKind,
    axes: &Dims,
    x: Value,
    y: Value,
    d: Value,
) -> Result<T, IrError> {
    let xty = e.ty(x);
    let n_reduced: usize = axes.iter().map(|&a| xty.dims()[a]).product();
    if n_reduced == 0 {
        // An empty reduction is a constant (the identity).
        return Ok(None);
    }
    let t = match kind {
        ReduceKind::Sum => e.reduce_sum(d, axes)?,
        // The tangent is the mean of the tangents at the positions that
        // attain the extremum (ties share equally).
        ReduceKind::Max | ReduceKind::Min => {
            let yb = e.unreduce(y, &xty.shape, axes)?;
            let hit = e.compare(CompareOp::Eq, x, yb)?;
            let w = e.convert(hit, xty.dtype)?;
            let count = e.reduce_sum(w, axes)?;
            let dw = e.mul(d, w)?;
            let num = e.reduce_sum(dw, axes)?;
            e.div(num, count)?
        }
        // d Π x = Σ_i dx_i Π_{j≠i} x_j, with the products of the others
        // computed by prefix and suffix scans (exact where some x_j = 0).
        ReduceKind::Prod => {
            let others = prod_of_others(e, x, axes)?;
            let dd = e.mul(d, others)?;
            e.reduce_sum(dd, axes)?
        }
    };
    Ok(Some(t))
}

/// For each element of `x`, the product of the other elements of its
/// reduction group (the elements sharing its coordinates off `axes`).
fn prod_of_others(e: &mut Emitter, x: Value, axes: &Dims) -> Result<Value, IrError> {
    let xty = e.ty(x);
    let rank = xty.rank();
    // Move the reduced axes last and flatten to [m, n].
    let kept: Vec<usize> = (0..rank).filter(|i| !axes.contains(i)).collect();
    let mut perm: Vec<usize> = kept.clone();
    perm.extend(axes.iter().copied());
    let m: usize = kept.iter().map(|&i| xty.dims()[i]).product();
    let n: usize = axes.iter().map(|&i| xty.dims()[i]).product();
    let xt = e.transpose(x, &perm)?;
    let permuted = e.ty(xt).shape;
    let flat = e.reshape(xt, &Shape::new(&[m, n]))?;
    let prefix = exclusive_scan_prod(e, flat, m, n)?;
    let rev = e.op(Op::Reverse { axes: Dims::from_slice(&[1]) }, &[flat])?;
    let suffix_r = exclusive_scan_prod(e, rev, m, n)?;
    let suffix = e.op(Op::Reverse { axes: Dims::from_slice(&[1]) }, &[suffix_r])?;
    let others = e.mul(prefix, suffix)?;
    let back = e.reshape(others, &permuted)?;
    let mut inv = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    e.transpose(back, &inv)
}

/// Exclusive prefix product along axis 1 of an [m, n] array (Hillis–Steele
/// doubling: log2(n) steps of shift-and-multiply).
fn exclusive_scan_prod(e: &mut Emitter, x: Value, m: usize, n: usize) -> Result<Value, IrError> {
    let dt: DType = e.ty(x).dtype;
    let one = e.scalar(dt, 1.0)?;
    // Shift right by one, filling with 1: exclusive from inclusive later is
    // the same as scanning the shifted input inclusively.
    let shifted = shift_right(e, x, one, m, n, 1)?;
    let mut acc = shifted;
    let mut k = 1;
    while k < n {
        let s = shift_right(e, acc, one, m, n, k)?;
        acc = e.mul(acc, s)?;
        k *= 2;
    }
    Ok(acc)
}

/// `x` shifted right by `k` along axis 1, filled with `fill`.
fn shift_right(
    e: &mut Emitter,
    x: Value,
    fill: Value,
    m: usize,
    n: usize,
    k: usize,
) -> Result<Value, IrError> {
    let k = k.min(n);
    let head = e.slice(x, &[0, 0], &[m, n - k], &[1, 1])?;
    e.pad(head, fill, &[0, k as i64], &[0, 0], &[0, 0])
}
