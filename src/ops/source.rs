//! Values made inside a trace from nothing: constants, filled arrays,
//! `iota`/`arange`. They are recorded into the innermost active trace.

use std::sync::Arc;

use gradlift_ir::{DType, Op, Shape, Tensor};

use super::Scalar;
use crate::trace::{emit, Var};

/// A literal array, recorded as a `constant` (the tensor is copied into the
/// graph).
#[track_caller]
pub fn constant(value: &Tensor) -> Var {
    let value = Arc::new(value.clone());
    emit("constant", &[], |cx, _| cx.push(Op::Constant { value }, &[]))
}

/// A `dtype[]` scalar constant (`value` is converted as a weakly typed
/// scalar: `scalar(0.5, DType::I32)` is an error).
#[track_caller]
pub fn scalar(value: impl Into<Scalar>, dtype: DType) -> Var {
    filled("scalar", &[], value.into(), dtype)
}

/// An array of `shape` filled with `value`: a scalar constant broadcast.
#[track_caller]
pub fn full(shape: &[usize], value: impl Into<Scalar>, dtype: DType) -> Var {
    filled("full", shape, value.into(), dtype)
}

/// An array of zeros (false for bool).
#[track_caller]
pub fn zeros(shape: &[usize], dtype: DType) -> Var {
    filled("zeros", shape, one_or_zero(false, dtype), dtype)
}

/// An array of ones (true for bool).
#[track_caller]
pub fn ones(shape: &[usize], dtype: DType) -> Var {
    filled("ones", shape, one_or_zero(true, dtype), dtype)
}

#[track_caller]
fn filled(op: &'static str, shape: &[usize], value: Scalar, dtype: DType) -> Var {
    let shape = Shape::new(shape);
    emit(op, &[], |cx, _| {
        let c = cx.scalar(value, dtype)?;
        cx.broadcast_to(c, &shape)
    })
}

fn one_or_zero(one: bool, dtype: DType) -> Scalar {
    match dtype {
        DType::Bool => Scalar::Bool(one),
        _ => Scalar::Int(one.into()),
    }
}

/// An array of `shape` whose elements are their index along `axis`
/// (numeric dtypes).
#[track_caller]
pub fn iota(dtype: DType, shape: &[usize], axis: usize) -> Var {
    let shape = Shape::new(shape);
    emit("iota", &[], |cx, _| cx.push(Op::Iota { dtype, shape, axis }, &[]))
}

/// `[0, 1, ..., n-1]` (numeric dtypes).
#[track_caller]
pub fn arange(n: usize, dtype: DType) -> Var {
    iota(dtype, &[n], 0)
}

impl Var {
    /// An array of this value's type filled with `value`.
    #[track_caller]
    pub fn full_like(self, value: impl Into<Scalar>) -> Var {
        let value = value.into();
        emit("full_like", &[self], |cx, v| {
            let ty = cx.ty(v[0]).clone();
            let c = cx.scalar(value, ty.dtype)?;
            cx.broadcast_to(c, &ty.shape)
        })
    }

    /// A scalar (`dtype[]`) of this value's dtype.
    #[track_caller]
    pub fn scalar_like(self, value: impl Into<Scalar>) -> Var {
        let value = value.into();
        emit("scalar_like", &[self], |cx, v| cx.scalar(value, cx.dtype(v[0])))
    }

    /// Zeros (false) of this value's type.
    #[track_caller]
    pub fn zeros_like(self) -> Var {
        emit("zeros_like", &[self], |cx, v| {
            let ty = cx.ty(v[0]).clone();
            let c = cx.scalar(one_or_zero(false, ty.dtype), ty.dtype)?;
            cx.broadcast_to(c, &ty.shape)
        })
    }

    /// Ones (true) of this value's type.
    #[track_caller]
    pub fn ones_like(self) -> Var {
        emit("ones_like", &[self], |cx, v| {
            let ty = cx.ty(v[0]).clone();
            let c = cx.scalar(one_or_zero(true, ty.dtype), ty.dtype)?;
            cx.broadcast_to(c, &ty.shape)
        })
    }
}
