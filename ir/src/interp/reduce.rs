//! Reductions and argmax.

use crate::error::IrError;
use crate::op::ReduceKind;
use crate::tensor::{Data, Tensor};

use super::elem::{for_each_index, split_at_axis, strides, typed, unsupported, Num};

/// `reduce_{sum,max,min,prod} x, axes=[..]`.
///
/// Each result element starts at the identity (0, -inf/MIN, +inf/MAX, 1)
/// and folds in its operand elements one at a time in row-major order of
/// the operand. With no axes the result is the operand itself (bit for bit:
/// `0 + -0` would be `+0`), as XLA simplifies such a reduce away.
pub(super) fn reduce(kind: ReduceKind, x: &Tensor, axes: &[usize]) -> Result<Data, IrError> {
    match x.data() {
        Data::F32(v) => Ok(Data::F32(reduce_typed(kind, v, x.dims(), axes))),
        Data::F64(v) => Ok(Data::F64(reduce_typed(kind, v, x.dims(), axes))),
        Data::I32(v) => Ok(Data::I32(reduce_typed(kind, v, x.dims(), axes))),
        Data::I64(v) => Ok(Data::I64(reduce_typed(kind, v, x.dims(), axes))),
        Data::Bool(_) => Err(unsupported(kind.name(), x.dtype())),
    }
}

fn reduce_typed<T: Num>(kind: ReduceKind, x: &[T], dims: &[usize], axes: &[usize]) -> Vec<T> {
    if axes.is_empty() {
        return x.to_vec();
    }
    let (init, f): (T, fn(T, T) -> T) = match kind {
        ReduceKind::Sum => (T::ZERO, T::plus),
        ReduceKind::Prod => (T::ONE, T::times),
        ReduceKind::Max => (T::MAX_IDENTITY, T::maximum),
        ReduceKind::Min => (T::MIN_IDENTITY, T::minimum),
    };
    // Stride of each operand dim in the result; 0 for reduced dims.
    let kept: Vec<usize> = (0..dims.len()).filter(|i| !axes.contains(i)).collect();
    let kept_dims: Vec<usize> = kept.iter().map(|&i| dims[i]).collect();
    let kept_strides = strides(&kept_dims);
    let mut out_stride = vec![0usize; dims.len()];
    for (k, &i) in kept.iter().enumerate() {
        out_stride[i] = kept_strides[k];
    }
    let mut acc = vec![init; kept_dims.iter().product()];
    let mut flat = 0usize;
    for_each_index(dims, |idx| {
        let o: usize = idx.iter().zip(&out_stride).map(|(i, s)| i * s).sum();
        acc[o] = f(acc[o], x[flat]);
        flat += 1;
    });
    acc
}

/// `argmax x, axis=K` → i64: the index of the first maximum along `axis`;
/// NaN counts as larger than everything, so the first NaN wins. -0 and +0
/// are equal (the first wins). The axis is never empty (shape rule).
pub(super) fn argmax(x: &Tensor, axis: usize) -> Result<Data, IrError> {
    match x.data() {
        Data::F32(_) => Ok(Data::I64(argmax_typed(typed::<f32>(x)?, x.dims(), axis))),
        Data::F64(_) => Ok(Data::I64(argmax_typed(typed::<f64>(x)?, x.dims(), axis))),
        Data::I32(_) => Ok(Data::I64(argmax_typed(typed::<i32>(x)?, x.dims(), axis))),
        Data::I64(_) => Ok(Data::I64(argmax_typed(typed::<i64>(x)?, x.dims(), axis))),
        Data::Bool(_) => Err(unsupported("argmax", x.dtype())),
    }
}

fn argmax_typed<T: Num>(x: &[T], dims: &[usize], axis: usize) -> Vec<i64> {
    let (outer, n, inner) = split_at_axis(dims, axis);
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| x[(o * n + j) * inner + i];
            let mut best = 0usize;
            for j in 1..n {
                if at(best).is_nan() {
                    break;
                }
                if at(j).is_nan() || at(j) > at(best) {
                    best = j;
                }
            }
            out.push(best as i64);
        }
    }
    out
}
