//! Linear algebra: `matmul` with numpy semantics, built on the raw
//! `dot_general`.

use gradlift_ir::{Dims, DotDims, Op, Shape, Value};

use super::broadcast_shapes;
use crate::error::Error;
use crate::trace::{emit, Emitter, Var};

impl Var {
    /// Matrix product with numpy's `matmul` semantics:
    ///
    /// - 1-D · 1-D: the inner product (a scalar);
    /// - 2-D · 2-D: the matrix product `[m,k] · [k,n] → [m,n]`;
    /// - 1-D · N-D and N-D · 1-D: the vector is a row (column) that is
    ///   dropped from the result;
    /// - N-D · M-D: a stack of matrix products over the leading (batch)
    ///   dimensions, which broadcast by numpy rules.
    ///
    /// Scalars are rejected (use `*`). Both operands must share a dtype.
    #[track_caller]
    pub fn matmul(self, rhs: Var) -> Var {
        emit("matmul", &[self, rhs], |cx, v| matmul(cx, v[0], v[1]))
    }

    /// The raw `dot_general`: contracts `lhs_contract` dims of `self` with
    /// `rhs_contract` dims of `rhs`, batching over `lhs_batch`/`rhs_batch`;
    /// the result dims are batch, then free lhs, then free rhs (XLA order).
    #[track_caller]
    pub fn dot_general(self, rhs: Var, dims: DotDims) -> Var {
        emit("dot_general", &[self, rhs], |cx, v| {
            cx.same_dtype(v[0], v[1])?;
            cx.push(Op::DotGeneral(Box::new(dims)), &[v[0], v[1]])
        })
    }
}

fn dot(
    cx: &mut Emitter<'_>,
    a: Value,
    b: Value,
    batch: usize,
    lhs_contract: usize,
    rhs_contract: usize,
) -> Result<Value, Error> {
    let batch: Dims = (0..batch).collect();
    let dims = DotDims {
        lhs_batch: batch.clone(),
        rhs_batch: batch,
        lhs_contract: [lhs_contract].into_iter().collect(),
        rhs_contract: [rhs_contract].into_iter().collect(),
    };
    cx.push(Op::DotGeneral(Box::new(dims)), &[a, b])
}

fn matmul(cx: &mut Emitter<'_>, a: Value, b: Value) -> Result<Value, Error> {
    cx.same_dtype(a, b)?;
    let (sa, sb) = (cx.shape(a).clone(), cx.shape(b).clone());
    let (ra, rb) = (sa.rank(), sb.rank());
    if ra == 0 || rb == 0 {
        return Err(cx.error("matmul needs operands of rank 1 or more (use * for scalars)"));
    }
    let ka = sa.dims()[ra - 1];
    // The rhs's contracting dim: its only dim, or its rows.
    let rhs_k = if rb == 1 { 0 } else { rb - 2 };
    let kb = sb.dims()[rhs_k];
    if ka != kb {
        return Err(cx.error(format!(
            "contracting dimensions differ: lhs {sa} has {ka} columns, rhs {sb} has {kb} rows"
        )));
    }
    match (ra, rb) {
        (1, _) => dot(cx, a, b, 0, 0, rhs_k),
        // With a plain matrix on the right, the lhs's leading dims stay free
        // dims of one dot_general: no batch broadcast needed.
        (_, 1) | (_, 2) => dot(cx, a, b, 0, ra - 1, 0),
        _ => {
            let (ba, bb) = (Shape::new(&sa.dims()[..ra - 2]), Shape::new(&sb.dims()[..rb - 2]));
            let Some(batch) = broadcast_shapes(&ba, &bb) else {
                return Err(cx.error(format!(
                    "batch dimensions {ba} (of lhs {sa}) and {bb} (of rhs {sb}) do not broadcast"
                )));
            };
            let with = |tail: &[usize]| {
                let mut d = batch.0.clone();
                d.extend_from_slice(tail);
                Shape(d)
            };
            let a = cx.broadcast_to(a, &with(&sa.dims()[ra - 2..]))?;
            let b = cx.broadcast_to(b, &with(&sb.dims()[rb - 2..]))?;
            let nb = batch.rank();
            dot(cx, a, b, nb, nb + 1, nb)
        }
    }
}
