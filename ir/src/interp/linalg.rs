//! dot_general.

use crate::error::IrError;
use crate::op::DotDims;
use crate::tensor::{Data, Tensor};

use super::elem::{offsets, strides, typed, unsupported, Num};

/// `dot_general l, r` with XLA dimension numbers. Result dims: the batch
/// dims (in `lhs_batch` order), then lhs free dims, then rhs free dims, each
/// group in operand order. Each result element is `0 + l*r + l*r + ...`
/// accumulated in the dtype (products rounded, no fused multiply-add),
/// sequentially over the contracting index in row-major order of the
/// contracting dims as listed in `lhs_contract`. Integers wrap.
pub(super) fn dot_general(l: &Tensor, r: &Tensor, d: &DotDims) -> Result<Data, IrError> {
    match l.data() {
        Data::F32(_) => Ok(Data::F32(dot_typed(typed(l)?, typed(r)?, l.dims(), r.dims(), d))),
        Data::F64(_) => Ok(Data::F64(dot_typed(typed(l)?, typed(r)?, l.dims(), r.dims(), d))),
        Data::I32(_) => Ok(Data::I32(dot_typed(typed(l)?, typed(r)?, l.dims(), r.dims(), d))),
        Data::I64(_) => Ok(Data::I64(dot_typed(typed(l)?, typed(r)?, l.dims(), r.dims(), d))),
        Data::Bool(_) => Err(unsupported("dot_general", l.dtype())),
    }
}

fn dot_typed<T: Num>(l: &[T], r: &[T], ld: &[usize], rd: &[usize], d: &DotDims) -> Vec<T> {
    let (ls, rs) = (strides(ld), strides(rd));
    let free = |rank: usize, batch: &[usize], contract: &[usize]| -> Vec<usize> {
        (0..rank).filter(|i| !batch.contains(i) && !contract.contains(i)).collect()
    };
    let l_free = free(ld.len(), &d.lhs_batch, &d.lhs_contract);
    let r_free = free(rd.len(), &d.rhs_batch, &d.rhs_contract);
    // Flat offset contributions of each index group; paired batch (and
    // contracting) dims have equal sizes, so the lists line up.
    let (l_batch, r_batch) = (offsets(&d.lhs_batch, ld, &ls), offsets(&d.rhs_batch, rd, &rs));
    let (l_con, r_con) = (offsets(&d.lhs_contract, ld, &ls), offsets(&d.rhs_contract, rd, &rs));
    let (l_off, r_off) = (offsets(&l_free, ld, &ls), offsets(&r_free, rd, &rs));

    let mut out = Vec::with_capacity(l_batch.len() * l_off.len() * r_off.len());
    for (&lb, &rb) in l_batch.iter().zip(&r_batch) {
        for &lf in &l_off {
            for &rf in &r_off {
                let mut acc = T::ZERO;
                for (&lc, &rc) in l_con.iter().zip(&r_con) {
                    acc = acc.plus(l[lb + lf + lc].times(r[rb + rf + rc]));
                }
                out.push(acc);
            }
        }
    }
    out
}
