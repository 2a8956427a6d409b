//! Sources and data movement: iota, broadcast_in_dim, reshape, transpose,
//! slice, concatenate, pad, reverse. Each computes, for every result element
//! in row-major order, which operand element it copies (an index map), then
//! copies; nothing here does arithmetic on elements.

use crate::dtype::DType;
use crate::error::IrError;
use crate::op::{PadAttrs, SliceAttrs};
use crate::tensor::{Data, Tensor};
use crate::types::Shape;

use super::elem::{
    for_each_index, index_map, internal, split_at_axis, strides, take, typed, unsupported, Elem,
};

/// `iota axis=K : DT[shape]`: each element is its index along `axis`,
/// converted with Rust `as` (exact below 2^24 for f32, 2^53 for f64).
pub(super) fn iota(dtype: DType, shape: &Shape, axis: usize) -> Result<Data, IrError> {
    let dims = shape.dims();
    let mut along: Vec<usize> = Vec::with_capacity(shape.size());
    for_each_index(dims, |idx| along.push(idx[axis]));
    Ok(match dtype {
        DType::F32 => Data::F32(along.iter().map(|&i| i as f32).collect()),
        DType::F64 => Data::F64(along.iter().map(|&i| i as f64).collect()),
        DType::I32 => Data::I32(along.iter().map(|&i| i as i32).collect()),
        DType::I64 => Data::I64(along.iter().map(|&i| i as i64).collect()),
        DType::Bool => return Err(unsupported("iota", dtype)),
    })
}

/// Operand dim i becomes result dim `dims[i]`; operand dims of size 1
/// stretch to the result's size.
pub(super) fn broadcast_in_dim(x: &Tensor, shape: &Shape, dims: &[usize]) -> Data {
    let (xd, xs) = (x.dims(), strides(x.dims()));
    let map = index_map(shape.dims(), |o| {
        (0..xd.len()).map(|i| if xd[i] == 1 { 0 } else { o[dims[i]] * xs[i] }).sum()
    });
    copy(x.data(), &map)
}

/// Result dim i is operand dim `perm[i]`.
pub(super) fn transpose(x: &Tensor, perm: &[usize]) -> Data {
    let xs = strides(x.dims());
    let out: Vec<usize> = perm.iter().map(|&p| x.dims()[p]).collect();
    let map = index_map(&out, |o| o.iter().zip(perm).map(|(&i, &p)| i * xs[p]).sum());
    copy(x.data(), &map)
}

/// Result element `o` is operand element `start + o * stride`.
pub(super) fn slice(x: &Tensor, s: &SliceAttrs, shape: &Shape) -> Data {
    let xs = strides(x.dims());
    let map = index_map(shape.dims(), |o| {
        (0..o.len()).map(|i| (s.start[i] + o[i] * s.stride[i]) * xs[i]).sum()
    });
    copy(x.data(), &map)
}

/// The operands one after another along `axis`.
pub(super) fn concatenate(parts: &[&Tensor], axis: usize) -> Result<Data, IrError> {
    let first = parts.first().ok_or_else(|| internal("concatenate of nothing".into()))?;
    let (outer, _, inner) = split_at_axis(first.dims(), axis);
    for_dtype!(first.dtype(), T => {
        let mut out: Vec<T> = Vec::new();
        let slices = parts.iter().map(|p| typed::<T>(p)).collect::<Result<Vec<_>, _>>()?;
        for o in 0..outer {
            for (part, data) in parts.iter().zip(&slices) {
                let chunk = part.dims()[axis] * inner;
                out.extend_from_slice(&data[o * chunk..(o + 1) * chunk]);
            }
        }
        Ok(T::wrap(out))
    })
}

/// XLA pad: `interior[i]` copies of `value` between neighbours along dim i,
/// then `low[i]` before and `high[i]` after; a negative low/high removes
/// that many elements from that end instead.
pub(super) fn pad(
    x: &Tensor,
    value: &Tensor,
    p: &PadAttrs,
    shape: &Shape,
) -> Result<Data, IrError> {
    let (xd, xs) = (x.dims(), strides(x.dims()));
    // Operand element for each result element, or None where it is padding.
    let mut map: Vec<Option<usize>> = Vec::with_capacity(shape.size());
    for_each_index(shape.dims(), |o| {
        let mut src = Some(0usize);
        for i in 0..o.len() {
            // Position in the interior-padded operand; i128 so that any i64
            // low is safe.
            let pos = o[i] as i128 - p.low[i] as i128;
            let step = p.interior[i] as i128 + 1;
            if pos < 0 || pos % step != 0 || pos / step >= xd[i] as i128 {
                src = None;
                break;
            }
            src = src.map(|s| s + (pos / step) as usize * xs[i]);
        }
        map.push(src);
    });
    for_dtype!(x.dtype(), T => {
        let (xv, fill) = (typed::<T>(x)?, typed::<T>(value)?);
        let fill = *fill.first().ok_or_else(|| internal("pad value is empty".into()))?;
        let out: Vec<T> = map.iter().map(|s| s.map_or(fill, |i| xv[i])).collect();
        Ok(T::wrap(out))
    })
}

/// Index `j` along each axis in `axes` becomes `n - 1 - j`.
pub(super) fn reverse(x: &Tensor, axes: &[usize]) -> Data {
    let (xd, xs) = (x.dims(), strides(x.dims()));
    let map = index_map(xd, |o| {
        (0..o.len())
            .map(|i| if axes.contains(&i) { (xd[i] - 1 - o[i]) * xs[i] } else { o[i] * xs[i] })
            .sum()
    });
    copy(x.data(), &map)
}

/// `out[i] = x[map[i]]` for any dtype.
fn copy(x: &Data, map: &[usize]) -> Data {
    match x {
        Data::F32(v) => Data::F32(take(v, map)),
        Data::F64(v) => Data::F64(take(v, map)),
        Data::I32(v) => Data::I32(take(v, map)),
        Data::I64(v) => Data::I64(take(v, map)),
        Data::Bool(v) => Data::Bool(take(v, map)),
    }
}
