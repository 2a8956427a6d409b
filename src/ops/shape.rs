//! Shape ops: reshape, transpose, broadcast, adding and removing size-1
//! dimensions, slicing, padding, reversing, concatenating and stacking.

use gradlift_ir::{Dims, Op, PadAttrs, Shape, SliceAttrs, Value};
use smallvec::SmallVec;

use super::{raw_axes, Arg, Axis, Operand};
use crate::error::Error;
use crate::trace::{emit, Emitter, Var};

impl Var {
    /// The same elements in row-major order with a new shape (the element
    /// counts must match). Reshaping to the current shape records nothing.
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Var {
        let shape = Shape::new(shape);
        emit("reshape", &[self], |cx, v| cx.reshape(v[0], &shape))
    }

    /// [`Var::reshape`] where one entry may be `-1`: that dimension is
    /// inferred from the element count (numpy's `reshape(-1, 3)`).
    #[track_caller]
    pub fn reshape_infer(self, shape: &[isize]) -> Var {
        let shape: SmallVec<[isize; 4]> = shape.into();
        emit("reshape", &[self], |cx, v| {
            let n = cx.shape(v[0]).size();
            let target = infer_shape(cx, &shape, n)?;
            cx.reshape(v[0], &target)
        })
    }

    /// All elements as one dimension, in row-major order.
    #[track_caller]
    pub fn flatten(self) -> Var {
        emit("reshape", &[self], |cx, v| {
            let n = cx.shape(v[0]).size();
            cx.reshape(v[0], &Shape::new(&[n]))
        })
    }

    /// Permutes the dimensions: result dim `i` is operand dim `perm[i]`
    /// (negative entries count from the end).
    #[track_caller]
    pub fn transpose<A: Axis>(self, perm: &[A]) -> Var {
        let perm = raw_axes(perm);
        emit("transpose", &[self], |cx, v| {
            let rank = cx.shape(v[0]).rank();
            let perm = cx.axes(&perm, rank)?;
            if perm.len() != rank {
                return Err(cx.error(format!(
                    "perm has {} entries for rank {rank}; it must list every axis once",
                    perm.len()
                )));
            }
            cx.push(Op::Transpose { perm }, &[v[0]])
        })
    }

    /// The matrix transpose of a 2-D value (`x.t()` as in PyTorch); 0-D and
    /// 1-D values are returned as they are, higher ranks are an error (use
    /// [`Var::transpose`] or [`Var::swap_axes`]).
    #[track_caller]
    pub fn t(self) -> Var {
        emit("t", &[self], |cx, v| match cx.shape(v[0]).rank() {
            0 | 1 => Ok(v[0]),
            2 => cx.push(Op::Transpose { perm: [1, 0].into_iter().collect() }, &[v[0]]),
            r => Err(cx.error(format!(
                "t() expects at most 2 dimensions, got {r}; use transpose or swap_axes"
            ))),
        })
    }

    /// Exchanges two dimensions.
    #[track_caller]
    pub fn swap_axes<A: Axis>(self, a: A, b: A) -> Var {
        let ab = raw_axes(&[a, b]);
        emit("transpose", &[self], |cx, v| {
            let rank = cx.shape(v[0]).rank();
            let (a, b) = (cx.axis(ab[0], rank)?, cx.axis(ab[1], rank)?);
            let mut perm: Dims = (0..rank).collect();
            perm.swap(a, b);
            cx.push(Op::Transpose { perm }, &[v[0]])
        })
    }

    /// Broadcasts to `shape` by numpy rules (dimensions aligned from the
    /// right; size-1 dimensions stretch; new leading dimensions are added).
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Var {
        let shape = Shape::new(shape);
        emit("broadcast_to", &[self], |cx, v| cx.broadcast_to(v[0], &shape))
    }

    /// Inserts a size-1 dimension at `axis` (`-1` appends one at the end).
    #[track_caller]
    pub fn expand_dims<A: Axis>(self, axis: A) -> Var {
        let axis = raw_axes(&[axis])[0];
        emit("expand_dims", &[self], |cx, v| {
            let shape = cx.shape(v[0]).clone();
            let axis = cx.axis(axis, shape.rank() + 1)?;
            let mut dims = shape.0.clone();
            dims.insert(axis, 1);
            cx.push(Op::Reshape { shape: Shape(dims) }, &[v[0]])
        })
    }

    /// Removes the given size-1 dimensions.
    #[track_caller]
    pub fn squeeze<A: Axis>(self, axes: &[A]) -> Var {
        let axes = raw_axes(axes);
        emit("squeeze", &[self], |cx, v| {
            let shape = cx.shape(v[0]).clone();
            let axes = cx.axes(&axes, shape.rank())?;
            if let Some(&a) = axes.iter().find(|&&a| shape.dims()[a] != 1) {
                return Err(cx.error(format!(
                    "cannot squeeze axis {a} of size {}: only size-1 axes can be removed",
                    shape.dims()[a]
                )));
            }
            let dims: Dims =
                (0..shape.rank()).filter(|i| !axes.contains(i)).map(|i| shape.dims()[i]).collect();
            cx.push(Op::Reshape { shape: Shape(dims) }, &[v[0]])
        })
    }

    /// Removes every size-1 dimension.
    #[track_caller]
    pub fn squeeze_all(self) -> Var {
        emit("squeeze", &[self], |cx, v| {
            let dims: Dims = cx.shape(v[0]).dims().iter().copied().filter(|&d| d != 1).collect();
            cx.reshape(v[0], &Shape(dims))
        })
    }

    /// The strided box `start[i] .. limit[i]` stepping `stride[i]` in each
    /// dimension (one entry per dimension; `start <= limit <= size`).
    #[track_caller]
    pub fn slice(self, start: &[usize], limit: &[usize], stride: &[usize]) -> Var {
        let attrs = SliceAttrs { start: start.into(), limit: limit.into(), stride: stride.into() };
        emit("slice", &[self], |cx, v| cx.push(Op::Slice(Box::new(attrs)), &[v[0]]))
    }

    /// Elements `start .. end` along one axis (numpy's `x[:, start:end]`);
    /// other axes are kept whole.
    #[track_caller]
    pub fn slice_axis<A: Axis>(self, axis: A, start: usize, end: usize) -> Var {
        let axis = raw_axes(&[axis])[0];
        emit("slice_axis", &[self], |cx, v| {
            let axis = cx.axis(axis, cx.shape(v[0]).rank())?;
            slice_axis(cx, v[0], axis, start, end)
        })
    }

    /// Element `index` along `axis`, with that axis removed (numpy's
    /// `x[:, index]`, ndarray's `index_axis`).
    #[track_caller]
    pub fn index_axis<A: Axis>(self, axis: A, index: usize) -> Var {
        let axis = raw_axes(&[axis])[0];
        emit("index_axis", &[self], |cx, v| {
            let shape = cx.shape(v[0]).clone();
            let axis = cx.axis(axis, shape.rank())?;
            let s = slice_axis(cx, v[0], axis, index, index.saturating_add(1))?;
            let mut dims = shape.0;
            dims.remove(axis);
            cx.reshape(s, &Shape(dims))
        })
    }

    /// Pads with `value` (a scalar: weakly typed, or a traced `dtype[]`):
    /// `low[i]`/`high[i]` elements before/after dimension `i` (negative
    /// amounts crop) and `interior[i]` elements between neighbours.
    #[track_caller]
    pub fn pad(self, value: impl Operand, low: &[i64], high: &[i64], interior: &[usize]) -> Var {
        let attrs = PadAttrs { low: low.into(), high: high.into(), interior: interior.into() };
        let build = move |cx: &mut Emitter<'_>, x: Value, value: Value| {
            cx.push(Op::Pad(Box::new(attrs)), &[x, value])
        };
        match value.to_arg() {
            Arg::Var(p) => emit("pad", &[self, p], |cx, v| build(cx, v[0], v[1])),
            Arg::Scalar(s) => emit("pad", &[self], |cx, v| {
                let p = cx.scalar(s, cx.dtype(v[0]))?;
                build(cx, v[0], p)
            }),
        }
    }

    /// Reverses the order of elements along `axes`.
    #[track_caller]
    pub fn reverse<A: Axis>(self, axes: &[A]) -> Var {
        let axes = raw_axes(axes);
        emit("reverse", &[self], |cx, v| {
            let axes = cx.axes(&axes, cx.shape(v[0]).rank())?;
            cx.push(Op::Reverse { axes }, &[v[0]])
        })
    }
}

fn slice_axis(
    cx: &mut Emitter<'_>,
    x: Value,
    axis: usize,
    start: usize,
    end: usize,
) -> Result<Value, Error> {
    let shape = cx.shape(x).clone();
    let size = shape.dims()[axis];
    if start > end || end > size {
        return Err(cx.error(format!(
            "range {start}..{end} is out of bounds for axis {axis} of size {size}"
        )));
    }
    let mut start_all: Dims = smallvec::smallvec![0; shape.rank()];
    let mut limit = shape.0.clone();
    start_all[axis] = start;
    limit[axis] = end;
    let stride = smallvec::smallvec![1; shape.rank()];
    cx.push(Op::Slice(Box::new(SliceAttrs { start: start_all, limit, stride })), &[x])
}

/// The shape `spec` with its one `-1` entry inferred from `n` elements.
fn infer_shape(cx: &mut Emitter<'_>, spec: &[isize], n: usize) -> Result<Shape, Error> {
    let mut dims = Dims::with_capacity(spec.len());
    let mut hole = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 if hole.is_none() => {
                hole = Some(i);
                dims.push(1);
            }
            -1 => return Err(cx.error("only one dimension may be -1")),
            d if d < 0 => return Err(cx.error(format!("invalid dimension {d}"))),
            d => dims.push(d as usize),
        }
    }
    if let Some(i) = hole {
        let known: usize = dims.iter().product();
        if known == 0 || !n.is_multiple_of(known) {
            return Err(cx.error(format!(
                "cannot infer the -1 dimension: {n} elements do not split into {:?}",
                spec
            )));
        }
        dims[i] = n / known;
    }
    Ok(Shape(dims))
}

/// Joins values along an existing `axis` (negative counts from the end).
/// All must share the dtype and every other dimension.
#[track_caller]
pub fn concat<A: Axis>(xs: &[Var], axis: A) -> Var {
    let axis = raw_axes(&[axis])[0];
    emit("concatenate", xs, |cx, v| {
        let Some(&first) = v.first() else {
            return Err(cx.error("needs at least one value"));
        };
        for &x in &v[1..] {
            cx.same_dtype(first, x)?;
        }
        let axis = cx.axis(axis, cx.shape(first).rank())?;
        cx.push(Op::Concatenate { axis }, v)
    })
}

/// Joins values of one shape along a new `axis` (numpy's `stack`; `axis`
/// may be `0..=rank`, or negative).
#[track_caller]
pub fn stack<A: Axis>(xs: &[Var], axis: A) -> Var {
    let axis = raw_axes(&[axis])[0];
    emit("stack", xs, |cx, v| {
        let Some(&first) = v.first() else {
            return Err(cx.error("needs at least one value"));
        };
        let shape = cx.shape(first).clone();
        let axis = cx.axis(axis, shape.rank() + 1)?;
        let mut dims = shape.0.clone();
        dims.insert(axis, 1);
        let expanded = Shape(dims);
        let mut parts: SmallVec<[Value; 4]> = SmallVec::with_capacity(v.len());
        for &x in v {
            cx.same_dtype(first, x)?;
            if cx.shape(x) != &shape {
                let other = cx.shape(x).clone();
                return Err(
                    cx.error(format!("every value must have one shape; got {shape} and {other}"))
                );
            }
            parts.push(cx.push(Op::Reshape { shape: expanded.clone() }, &[x])?);
        }
        cx.push(Op::Concatenate { axis }, &parts)
    })
}
