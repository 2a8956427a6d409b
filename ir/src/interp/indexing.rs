//! gather and scatter_add along one axis, with XLA's clamped indices.

use crate::error::IrError;
use crate::tensor::{Data, Tensor};

use super::elem::{internal, split_at_axis, typed, unsupported, Elem, Num};

/// `gather x, idx, axis=K` = `np.take(x, idx, axis=K, mode='clip')`: result
/// element `(o, j, i)` (o over `x[:K]`, j over `idx`, i over `x[K+1:]`) is
/// `x[o, clamp(idx[j], 0, n-1), i]`.
pub(super) fn gather(x: &Tensor, idx: &Tensor, axis: usize) -> Result<Data, IrError> {
    let (outer, n, inner) = split_at_axis(x.dims(), axis);
    let rows = clamped(idx, n)?;
    for_dtype!(x.dtype(), T => {
        let xv = typed::<T>(x)?;
        let mut out: Vec<T> = Vec::with_capacity(outer * rows.len() * inner);
        for o in 0..outer {
            for &c in &rows {
                let start = (o * n + c) * inner;
                out.extend_from_slice(&xv[start..start + inner]);
            }
        }
        Ok(T::wrap(out))
    })
}

/// `scatter_add x, idx, upd, axis=K`: a copy of `x` to which each update
/// `upd[o, j, i]` is added at `[o, clamp(idx[j], 0, n-1), i]`, in row-major
/// order of `upd` (so updates to the same element add up in increasing `j`).
/// The transpose of gather.
pub(super) fn scatter_add(
    x: &Tensor,
    idx: &Tensor,
    upd: &Tensor,
    axis: usize,
) -> Result<Data, IrError> {
    match x.data() {
        Data::F32(_) => scatter_typed::<f32>(x, idx, upd, axis),
        Data::F64(_) => scatter_typed::<f64>(x, idx, upd, axis),
        Data::I32(_) => scatter_typed::<i32>(x, idx, upd, axis),
        Data::I64(_) => scatter_typed::<i64>(x, idx, upd, axis),
        Data::Bool(_) => Err(unsupported("scatter_add", x.dtype())),
    }
}

fn scatter_typed<T: Num>(
    x: &Tensor,
    idx: &Tensor,
    upd: &Tensor,
    axis: usize,
) -> Result<Data, IrError> {
    let (outer, n, inner) = split_at_axis(x.dims(), axis);
    let rows = clamped(idx, n)?;
    let mut out = typed::<T>(x)?.to_vec();
    let mut updates = typed::<T>(upd)?.iter();
    for o in 0..outer {
        for &c in &rows {
            for i in 0..inner {
                let u = updates.next().ok_or_else(|| internal("too few updates".into()))?;
                let at = (o * n + c) * inner + i;
                out[at] = out[at].plus(*u);
            }
        }
    }
    Ok(T::wrap(out))
}

/// The indices (i32 or i64), each clamped into `[0, n-1]`. An empty axis
/// takes no indices (shape rule).
fn clamped(idx: &Tensor, n: usize) -> Result<Vec<usize>, IrError> {
    let raw: Vec<i64> = match idx.data() {
        Data::I32(v) => v.iter().map(|&i| i64::from(i)).collect(),
        Data::I64(v) => v.clone(),
        Data::F32(_) | Data::F64(_) | Data::Bool(_) => {
            return Err(unsupported("indices", idx.dtype()));
        }
    };
    if n == 0 && !raw.is_empty() {
        return Err(internal("indices into an empty axis".into()));
    }
    let last = n as i64 - 1;
    Ok(raw.iter().map(|&i| i.min(last).max(0) as usize).collect())
}
