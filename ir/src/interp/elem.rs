//! Typed access to tensor data, so that kernels which do the same thing for
//! every dtype (shape ops, reductions, dot_general) are written once as
//! generic functions, plus the row-major index walk they share.

use crate::dtype::DType;
use crate::error::IrError;
use crate::tensor::{Data, Tensor};

/// An element type of a [`Data`] vector.
pub(crate) trait Elem: Copy + PartialOrd + 'static {
    const DTYPE: DType;
    /// The elements if `d` holds this type.
    fn slice(d: &Data) -> Option<&[Self]>;
    fn wrap(v: Vec<Self>) -> Data;
}

macro_rules! impl_elem {
    ($t:ty, $variant:ident) => {
        impl Elem for $t {
            const DTYPE: DType = DType::$variant;
            fn slice(d: &Data) -> Option<&[Self]> {
                match d {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> Data {
                Data::$variant(v)
            }
        }
    };
}

impl_elem!(f32, F32);
impl_elem!(f64, F64);
impl_elem!(i32, I32);
impl_elem!(i64, I64);
impl_elem!(bool, Bool);

/// Arithmetic on the numeric element types, as the interpreter defines it:
/// integers wrap, float max/min propagate NaN and order -0 below +0.
pub(crate) trait Num: Elem {
    const ZERO: Self;
    const ONE: Self;
    /// The identity of `maximum`: -inf, or the integer MIN.
    const MAX_IDENTITY: Self;
    /// The identity of `minimum`: +inf, or the integer MAX.
    const MIN_IDENTITY: Self;
    fn plus(self, other: Self) -> Self;
    fn times(self, other: Self) -> Self;
    fn maximum(self, other: Self) -> Self;
    fn minimum(self, other: Self) -> Self;
    fn is_nan(self) -> bool;
}

macro_rules! impl_num_float {
    ($t:ty) => {
        impl Num for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const MAX_IDENTITY: Self = <$t>::NEG_INFINITY;
            const MIN_IDENTITY: Self = <$t>::INFINITY;
            fn plus(self, other: Self) -> Self {
                self + other
            }
            fn times(self, other: Self) -> Self {
                self * other
            }
            fn maximum(self, other: Self) -> Self {
                if self.is_nan() {
                    self
                } else if other.is_nan() {
                    other
                } else if self == other {
                    // Equal: only ±0 can differ; +0 is the larger.
                    if self.is_sign_positive() {
                        self
                    } else {
                        other
                    }
                } else if self > other {
                    self
                } else {
                    other
                }
            }
            fn minimum(self, other: Self) -> Self {
                if self.is_nan() {
                    self
                } else if other.is_nan() {
                    other
                } else if self == other {
                    // Equal: only ±0 can differ; -0 is the smaller.
                    if self.is_sign_negative() {
                        self
                    } else {
                        other
                    }
                } else if self < other {
                    self
                } else {
                    other
                }
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}

macro_rules! impl_num_int {
    ($t:ty) => {
        impl Num for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const MAX_IDENTITY: Self = <$t>::MIN;
            const MIN_IDENTITY: Self = <$t>::MAX;
            fn plus(self, other: Self) -> Self {
                self.wrapping_add(other)
            }
            fn times(self, other: Self) -> Self {
                self.wrapping_mul(other)
            }
            fn maximum(self, other: Self) -> Self {
                Ord::max(self, other)
            }
            fn minimum(self, other: Self) -> Self {
                Ord::min(self, other)
            }
            fn is_nan(self) -> bool {
                false
            }
        }
    };
}

impl_num_float!(f32);
impl_num_float!(f64);
impl_num_int!(i32);
impl_num_int!(i64);

/// The elements of `t` as `T`, or an internal error if the dtype differs
/// (impossible on a verified graph).
pub(crate) fn typed<T: Elem>(t: &Tensor) -> Result<&[T], IrError> {
    T::slice(t.data())
        .ok_or_else(|| internal(format!("expected a {} operand, got {}", T::DTYPE, t.dtype())))
}

/// An error that only a bug in the interpreter can cause.
pub(crate) fn internal(msg: String) -> IrError {
    IrError::Eval { msg: format!("internal interpreter error: {msg}"), loc: None }
}

/// An op applied to a dtype it has no semantics for (the verifier rejects
/// such graphs, so this is only reachable through an interpreter bug).
pub(crate) fn unsupported(op: &str, dtype: DType) -> IrError {
    internal(format!("{op} is not defined on {dtype}"))
}

/// Calls `f` with every multi-index of `dims` in row-major order (last axis
/// fastest). A loop, not recursion; nothing is called for an empty shape, and
/// a scalar shape is visited once with `[]`.
pub(crate) fn for_each_index(dims: &[usize], mut f: impl FnMut(&[usize])) {
    if dims.contains(&0) {
        return;
    }
    let mut idx = vec![0usize; dims.len()];
    loop {
        f(&idx);
        let mut k = dims.len();
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < dims[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

/// For every element of a result of shape `dims` (row-major), the flat index
/// of the operand element it copies, as computed by `src`.
pub(crate) fn index_map(dims: &[usize], mut src: impl FnMut(&[usize]) -> usize) -> Vec<usize> {
    let mut map = Vec::with_capacity(dims.iter().product());
    for_each_index(dims, |idx| map.push(src(idx)));
    map
}

/// `out[i] = x[map[i]]`.
pub(crate) fn take<T: Elem>(x: &[T], map: &[usize]) -> Vec<T> {
    map.iter().map(|&i| x[i]).collect()
}

/// Row-major strides (in elements) of a shape.
pub(crate) fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![0usize; dims.len()];
    let mut acc = 1usize;
    for i in (0..dims.len()).rev() {
        s[i] = acc;
        acc *= dims[i];
    }
    s
}

/// Flat offsets of every multi-index over the selected axes `axes` of a
/// shape with strides `strides`, in row-major order over `axes` as listed
/// (the first listed axis varies slowest).
pub(crate) fn offsets(axes: &[usize], dims: &[usize], strides: &[usize]) -> Vec<usize> {
    let sel: Vec<usize> = axes.iter().map(|&a| dims[a]).collect();
    index_map(&sel, |idx| idx.iter().zip(axes).map(|(&i, &a)| i * strides[a]).sum())
}

/// `(outer, n, inner)`: the sizes before, at and after `axis`, so element
/// `(o, j, i)` of a row-major array sits at `(o * n + j) * inner + i`.
pub(crate) fn split_at_axis(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}
