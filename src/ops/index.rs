//! Indexing: `take` (gather along one axis) and its transpose `scatter_add`.
//! Indices are clamped into range, as in XLA.

use gradlift_ir::Op;

use super::{raw_axes, Axis};
use crate::trace::{emit, Var};

impl Var {
    /// numpy's `take(x, idx, axis)`: the elements at integer indices `idx`
    /// (i32 or i64, any shape) along `axis`. The result shape is
    /// `x[:axis] ++ idx ++ x[axis+1:]`. Out-of-range indices are clamped.
    #[track_caller]
    pub fn take<A: Axis>(self, idx: Var, axis: A) -> Var {
        let axis = raw_axes(&[axis])[0];
        emit("gather", &[self, idx], |cx, v| {
            let axis = cx.axis(axis, cx.shape(v[0]).rank())?;
            cx.push(Op::Gather { axis }, &[v[0], v[1]])
        })
    }

    /// The IR's name for [`Var::take`].
    #[track_caller]
    pub fn gather<A: Axis>(self, idx: Var, axis: A) -> Var {
        self.take(idx, axis)
    }

    /// `x` with `updates` added at indices `idx` along `axis` (repeated
    /// indices accumulate): the transpose of [`Var::take`]. `updates` has
    /// the shape `take` would return.
    #[track_caller]
    pub fn scatter_add<A: Axis>(self, idx: Var, updates: Var, axis: A) -> Var {
        let axis = raw_axes(&[axis])[0];
        emit("scatter_add", &[self, idx, updates], |cx, v| {
            let axis = cx.axis(axis, cx.shape(v[0]).rank())?;
            cx.same_dtype(v[0], v[2])?;
            cx.push(Op::ScatterAdd { axis }, &[v[0], v[1], v[2]])
        })
    }
}
