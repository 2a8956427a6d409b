//! Reductions: `sum mean max min prod` over chosen axes (Python-style
//! negative axes allowed), over all axes (`*_all`), or keeping the reduced
//! axes as size 1 (`*_keepdims`, for broadcasting back: `x - x.max_keepdims(&[-1])`);
//! and `argmax`.

use gradlift_ir::{BinaryOp, Dims, Op, ReduceKind, Shape, Value};

use super::{raw_axes, Axis, RawAxes};
use crate::error::Error;
use crate::trace::{emit, Emitter, Var};

/// What to reduce: a reduction kind, or the mean (a sum divided by the
/// number of elements reduced).
#[derive(Clone, Copy)]
enum Reduction {
    Kind(ReduceKind),
    Mean,
}

impl Reduction {
    fn name(self) -> &'static str {
        match self {
            Reduction::Kind(k) => k.name(),
            Reduction::Mean => "mean",
        }
    }
}

/// Records a reduction over `axes` (`None`: every axis).
#[track_caller]
fn reduce(x: Var, how: Reduction, axes: Option<RawAxes>, keepdims: bool) -> Var {
    emit(how.name(), &[x], |cx, v| {
        let x = v[0];
        let in_shape = cx.shape(x).clone();
        let axes: Dims = match axes {
            Some(a) => cx.axes(&a, in_shape.rank())?,
            None => (0..in_shape.rank()).collect(),
        };
        let mut sorted = axes.clone();
        sorted.sort_unstable();
        let out = match how {
            Reduction::Kind(kind) => cx.push(Op::Reduce { kind, axes: sorted.clone() }, &[x])?,
            Reduction::Mean => mean(cx, x, &sorted)?,
        };
        if !keepdims {
            return Ok(out);
        }
        let kept: Dims = (0..in_shape.rank())
            .map(|i| if sorted.contains(&i) { 1 } else { in_shape.dims()[i] })
            .collect();
        cx.reshape(out, &Shape(kept))
    })
}

/// `sum(x, axes) / n`, where `n` is the number of elements reduced (float).
fn mean(cx: &mut Emitter<'_>, x: Value, axes: &[usize]) -> Result<Value, Error> {
    let dtype = cx.dtype(x);
    if !dtype.is_float() {
        return Err(
            cx.error(format!("the mean of a {dtype} value; .cast() it to a float dtype first"))
        );
    }
    let n: usize = axes.iter().map(|&a| cx.shape(x).dims()[a]).product();
    let sum = cx.push(Op::Reduce { kind: ReduceKind::Sum, axes: axes.into() }, &[x])?;
    let out_shape = cx.shape(sum).clone();
    let count = cx.scalar((n as f64).into(), dtype)?;
    let count = cx.broadcast_to(count, &out_shape)?;
    cx.push(Op::Binary(BinaryOp::Div), &[sum, count])
}

macro_rules! reductions {
    ($($how:expr => $name:ident, $keep:ident, $all:ident, $what:literal;)*) => {
        impl Var {
            $(
                #[doc = concat!("The ", $what, " over `axes` (negative axes count from the end); the axes are removed.")]
                #[track_caller]
                pub fn $name<A: Axis>(self, axes: &[A]) -> Var {
                    reduce(self, $how, Some(raw_axes(axes)), false)
                }

                #[doc = concat!("The ", $what, " over `axes`, kept as size-1 dimensions (so the result broadcasts against `self`).")]
                #[track_caller]
                pub fn $keep<A: Axis>(self, axes: &[A]) -> Var {
                    reduce(self, $how, Some(raw_axes(axes)), true)
                }

                #[doc = concat!("The ", $what, " of all elements: a scalar.")]
                #[track_caller]
                pub fn $all(self) -> Var {
                    reduce(self, $how, None, false)
                }
            )*
        }
    };
}

reductions! {
    Reduction::Kind(ReduceKind::Sum) => sum, sum_keepdims, sum_all, "sum";
    Reduction::Mean => mean, mean_keepdims, mean_all, "mean (float dtypes)";
    Reduction::Kind(ReduceKind::Max) => max, max_keepdims, max_all, "maximum (NaN-propagating)";
    Reduction::Kind(ReduceKind::Min) => min, min_keepdims, min_all, "minimum (NaN-propagating)";
    Reduction::Kind(ReduceKind::Prod) => prod, prod_keepdims, prod_all, "product";
}

impl Var {
    /// The index (i64) of the first maximum along `axis`, which is removed;
    /// NaN counts as the maximum. The axis must not be empty.
    #[track_caller]
    pub fn argmax<A: Axis>(self, axis: A) -> Var {
        let axis = raw_axes(&[axis])[0];
        emit("argmax", &[self], |cx, v| {
            let axis = cx.axis(axis, cx.shape(v[0]).rank())?;
            cx.push(Op::Argmax { axis }, &[v[0]])
        })
    }
}
