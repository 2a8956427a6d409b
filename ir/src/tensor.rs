//! Host tensors: owned, dense, row-major arrays with a dtype and a shape.
//!
//! A [`Tensor`] is what users pass into compiled functions and get back out.
//! Every constructor that takes user input returns `Result<_, IrError>`;
//! nothing here panics on bad shapes, dtypes or indices.
//!
//! ```
//! use gradlift_ir::{DType, Tensor};
//!
//! let t = Tensor::from_vec([2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])?;
//! assert_eq!(t.get::<f32>(&[1, 2])?, 6.0);
//! assert_eq!(t.to_string(), "f32[2,3] [[1, 2, 3], [4, 5, 6]]");
//!
//! let x = Tensor::linspace(0.0, 1.0, 5, DType::F64)?;
//! assert_eq!(x.as_slice::<f64>()?, &[0.0, 0.25, 0.5, 0.75, 1.0]);
//! # Ok::<(), gradlift_ir::IrError>(())
//! ```

mod display;
mod generate;

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::dtype::DType;
use crate::error::IrError;
use crate::types::{Shape, Type};

/// The elements of a tensor, one vector per dtype.
#[derive(Clone, Debug)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
}

impl Data {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
            Data::I32(_) => DType::I32,
            Data::I64(_) => DType::I64,
            Data::Bool(_) => DType::Bool,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All-zero (false) data of a dtype.
    pub fn zeros(dtype: DType, n: usize) -> Data {
        match dtype {
            DType::F32 => Data::F32(vec![0.0; n]),
            DType::F64 => Data::F64(vec![0.0; n]),
            DType::I32 => Data::I32(vec![0; n]),
            DType::I64 => Data::I64(vec![0; n]),
            DType::Bool => Data::Bool(vec![false; n]),
        }
    }

    /// All-one (true) data of a dtype.
    pub fn ones(dtype: DType, n: usize) -> Data {
        match dtype {
            DType::F32 => Data::F32(vec![1.0; n]),
            DType::F64 => Data::F64(vec![1.0; n]),
            DType::I32 => Data::I32(vec![1; n]),
            DType::I64 => Data::I64(vec![1; n]),
            DType::Bool => Data::Bool(vec![true; n]),
        }
    }

    /// Element `i` widened to f64 (bool is 0 or 1; i64 beyond 2^53 rounds).
    fn f64_at(&self, i: usize) -> f64 {
        match self {
            Data::F32(v) => f64::from(v[i]),
            Data::F64(v) => v[i],
            Data::I32(v) => f64::from(v[i]),
            Data::I64(v) => v[i] as f64,
            Data::Bool(v) => f64::from(u8::from(v[i])),
        }
    }

    /// Converts every element to `to` with the IR's `convert` rules:
    /// float→int truncates toward zero (saturating, NaN→0), int→int wraps,
    /// →bool is `x != 0`, bool→ is 0/1, f64→f32 rounds to nearest.
    pub fn cast(&self, to: DType) -> Data {
        // `as` implements exactly these rules for every numeric pair; bool
        // sources go through u8 (0/1), bool targets compare with zero.
        macro_rules! cast_numeric {
            ($v:expr, $zero:expr) => {
                match to {
                    DType::F32 => Data::F32($v.iter().map(|&x| x as f32).collect()),
                    DType::F64 => Data::F64($v.iter().map(|&x| x as f64).collect()),
                    DType::I32 => Data::I32($v.iter().map(|&x| x as i32).collect()),
                    DType::I64 => Data::I64($v.iter().map(|&x| x as i64).collect()),
                    DType::Bool => Data::Bool($v.iter().map(|&x| x != $zero).collect()),
                }
            };
        }
        match self {
            Data::F32(v) => cast_numeric!(v, 0.0),
            Data::F64(v) => cast_numeric!(v, 0.0),
            Data::I32(v) => cast_numeric!(v, 0),
            Data::I64(v) => cast_numeric!(v, 0),
            Data::Bool(v) if to == DType::Bool => Data::Bool(v.clone()),
            Data::Bool(v) => cast_numeric!(v.iter().map(|&b| u8::from(b)).collect::<Vec<u8>>(), 0),
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that can be a tensor element: `f32`, `f64`, `i32`, `i64`,
/// `bool`. Sealed: the dtype list is closed.
///
/// Generic constructors and accessors ([`Tensor::from_vec`],
/// [`Tensor::as_slice`], [`Tensor::get`], ...) take the element type as a
/// parameter and check it against the tensor's dtype at run time.
pub trait Element:
    sealed::Sealed + Copy + PartialEq + fmt::Debug + fmt::Display + Send + Sync + 'static
{
    /// The dtype of a tensor of this element type.
    const DTYPE: DType;
    /// The elements, if `data` holds this type.
    fn slice_of(data: &Data) -> Option<&[Self]>;
    /// The elements, mutably, if `data` holds this type.
    fn slice_of_mut(data: &mut Data) -> Option<&mut [Self]>;
    /// The element vector, if `data` holds this type; else `data` back.
    fn vec_of(data: Data) -> Result<Vec<Self>, Data>;
    /// Wraps a vector of elements.
    fn into_data(values: Vec<Self>) -> Data;
    /// The value widened to f64 (bool is 0 or 1).
    fn to_f64(self) -> f64;
}

macro_rules! element {
    ($t:ty, $variant:ident, |$x:ident| $to_f64:expr) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn slice_of(data: &Data) -> Option<&[$t]> {
                match data {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn slice_of_mut(data: &mut Data) -> Option<&mut [$t]> {
                match data {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn vec_of(data: Data) -> Result<Vec<$t>, Data> {
                match data {
                    Data::$variant(v) => Ok(v),
                    other => Err(other),
                }
            }
            fn into_data(values: Vec<$t>) -> Data {
                Data::$variant(values)
            }
            fn to_f64(self) -> f64 {
                let $x = self;
                $to_f64
            }
        }
    };
}

element!(f32, F32, |x| f64::from(x));
element!(f64, F64, |x| x);
element!(i32, I32, |x| f64::from(x));
element!(i64, I64, |x| x as f64);
element!(bool, Bool, |x| f64::from(u8::from(x)));

/// An owned, dense, row-major array.
///
/// Equality and hashing are bitwise (NaN equals a NaN with the same bits,
/// `0.0 != -0.0`): two tensors are equal when they hold identical bytes.
/// Compare numerically with [`Tensor::allclose`].
#[derive(Clone, Debug)]
pub struct Tensor {
    shape: Shape,
    data: Data,
}

fn tensor_err(msg: impl Into<String>) -> IrError {
    IrError::Tensor { msg: msg.into() }
}

impl Tensor {
    /// Builds a tensor; the data length must equal the shape's element count.
    pub fn new(shape: impl Into<Shape>, data: Data) -> Result<Tensor, IrError> {
        let shape = shape.into();
        let n = shape.num_elements()?;
        if n != data.len() {
            return Err(tensor_err(format!(
                "shape {shape} holds {n} elements but {} {} values were given",
                data.len(),
                data.dtype()
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor of `shape` holding `values` in row-major order.
    pub fn from_vec<T: Element>(
        shape: impl Into<Shape>,
        values: Vec<T>,
    ) -> Result<Tensor, IrError> {
        Tensor::new(shape, T::into_data(values))
    }

    /// Like [`Tensor::from_vec`], copying the values.
    pub fn from_slice<T: Element>(
        shape: impl Into<Shape>,
        values: &[T],
    ) -> Result<Tensor, IrError> {
        Tensor::from_vec(shape, values.to_vec())
    }

    /// A 0-d tensor (shape `[]`) holding `x`.
    pub fn scalar<T: Element>(x: T) -> Tensor {
        Tensor { shape: Shape::scalar(), data: T::into_data(vec![x]) }
    }

    /// A tensor of zeros (false).
    pub fn zeros(dtype: DType, shape: impl Into<Shape>) -> Result<Tensor, IrError> {
        let shape = shape.into();
        let n = shape.num_elements()?;
        Ok(Tensor { shape, data: Data::zeros(dtype, n) })
    }

    /// A tensor of ones (true).
    pub fn ones(dtype: DType, shape: impl Into<Shape>) -> Result<Tensor, IrError> {
        let shape = shape.into();
        let n = shape.num_elements()?;
        Ok(Tensor { shape, data: Data::ones(dtype, n) })
    }

    /// A tensor with every element equal to `value`.
    pub fn full<T: Element>(shape: impl Into<Shape>, value: T) -> Result<Tensor, IrError> {
        let shape = shape.into();
        let n = shape.num_elements()?;
        Ok(Tensor { shape, data: T::into_data(vec![value; n]) })
    }

    /// A zero (false) tensor of a type.
    pub fn zeros_of(ty: &Type) -> Result<Tensor, IrError> {
        Tensor::zeros(ty.dtype, ty.shape.clone())
    }

    /// The shape (`[]` for a scalar).
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dimension sizes.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// Number of dimensions (0 for a scalar).
    pub fn rank(&self) -> usize {
        self.shape.rank()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// Dtype and shape together, printed like `f32[2,3]`.
    pub fn ty(&self) -> Type {
        Type { dtype: self.dtype(), shape: self.shape.clone() }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements (some dimension is 0).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements, untyped.
    pub fn data(&self) -> &Data {
        &self.data
    }

    /// The elements, untyped and mutable. Changing the vector's length
    /// breaks the tensor's invariant; prefer [`Tensor::as_mut_slice`].
    pub fn data_mut(&mut self) -> &mut Data {
        &mut self.data
    }

    /// The elements, untyped, without copying.
    pub fn into_data(self) -> Data {
        self.data
    }

    /// The elements in row-major order, if the dtype is `T`'s.
    pub fn as_slice<T: Element>(&self) -> Result<&[T], IrError> {
        T::slice_of(&self.data).ok_or_else(|| self.dtype_mismatch(T::DTYPE))
    }

    /// The elements in row-major order, mutably, if the dtype is `T`'s.
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T], IrError> {
        let dtype = self.dtype();
        T::slice_of_mut(&mut self.data).ok_or_else(|| dtype_mismatch(dtype, T::DTYPE))
    }

    /// A copy of the elements in row-major order, if the dtype is `T`'s.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>, IrError> {
        self.as_slice::<T>().map(<[T]>::to_vec)
    }

    /// The elements in row-major order without copying, if the dtype is `T`'s.
    pub fn into_vec<T: Element>(self) -> Result<Vec<T>, IrError> {
        T::vec_of(self.data).map_err(|data| dtype_mismatch(data.dtype(), T::DTYPE))
    }

    /// The element at a multi-index (one coordinate per dimension).
    pub fn get<T: Element>(&self, index: &[usize]) -> Result<T, IrError> {
        let values = self.as_slice::<T>()?;
        let flat = self.flat_index(index)?;
        Ok(values[flat])
    }

    /// The only element of a one-element tensor (any shape), like numpy's
    /// `item()`.
    pub fn item<T: Element>(&self) -> Result<T, IrError> {
        let values = self.as_slice::<T>()?;
        match values {
            [x] => Ok(*x),
            _ => Err(tensor_err(format!(
                "item() needs a tensor with exactly one element, got {}",
                self.ty()
            ))),
        }
    }

    /// Every element widened to f64, whatever the dtype (bool is 0 or 1;
    /// i64 magnitudes beyond 2^53 round). Handy in tests.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.data.f64_at(i)).collect()
    }

    /// A copy with a new shape holding the same number of elements.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Tensor, IrError> {
        self.clone().into_reshape(shape)
    }

    /// Like [`Tensor::reshape`], reusing the buffer.
    pub fn into_reshape(self, shape: impl Into<Shape>) -> Result<Tensor, IrError> {
        let shape = shape.into();
        let n = shape.num_elements()?;
        if n != self.len() {
            return Err(tensor_err(format!(
                "cannot reshape {} ({} elements) to {shape} ({n} elements)",
                self.ty(),
                self.len()
            )));
        }
        Ok(Tensor { shape, data: self.data })
    }

    /// A copy converted to `dtype` with the IR's `convert` rules (see
    /// [`Data::cast`]).
    pub fn cast(&self, dtype: DType) -> Tensor {
        Tensor { shape: self.shape.clone(), data: self.data.cast(dtype) }
    }

    /// numpy's `allclose`: same shape and, elementwise,
    /// `|a - b| <= atol + rtol * |b|`, with infinities equal only to
    /// themselves and NaN never close. Dtypes may differ (values compare as
    /// f64).
    pub fn allclose(&self, other: &Tensor, rtol: f64, atol: f64) -> bool {
        self.close_to(other, rtol, atol, false)
    }

    /// Like [`Tensor::allclose`], but NaN is close to NaN.
    pub fn allclose_nan(&self, other: &Tensor, rtol: f64, atol: f64) -> bool {
        self.close_to(other, rtol, atol, true)
    }

    /// The largest elementwise `|a - b|` over tensors of the same shape
    /// (values compare as f64; 0 for empty tensors). Positions where both
    /// are NaN, or both the same infinity, count as 0; a NaN against a
    /// number makes the result NaN.
    pub fn max_abs_diff(&self, other: &Tensor) -> Result<f64, IrError> {
        if self.shape != other.shape {
            return Err(tensor_err(format!(
                "max_abs_diff needs equal shapes, got {} and {}",
                self.ty(),
                other.ty()
            )));
        }
        let mut worst = 0.0f64;
        for i in 0..self.len() {
            let (a, b) = (self.data.f64_at(i), other.data.f64_at(i));
            let d = if a == b || (a.is_nan() && b.is_nan()) { 0.0 } else { (a - b).abs() };
            if d.is_nan() {
                return Ok(f64::NAN);
            }
            worst = worst.max(d);
        }
        Ok(worst)
    }

    fn close_to(&self, other: &Tensor, rtol: f64, atol: f64, equal_nan: bool) -> bool {
        if self.shape != other.shape {
            return false;
        }
        (0..self.len()).all(|i| {
            let (a, b) = (self.data.f64_at(i), other.data.f64_at(i));
            if a == b {
                true
            } else if a.is_nan() || b.is_nan() {
                equal_nan && a.is_nan() && b.is_nan()
            } else if a.is_infinite() || b.is_infinite() {
                false
            } else {
                (a - b).abs() <= atol + rtol * b.abs()
            }
        })
    }

    /// The row-major position of a multi-index, checked against the shape.
    fn flat_index(&self, index: &[usize]) -> Result<usize, IrError> {
        let dims = self.dims();
        if index.len() != dims.len() || index.iter().zip(dims).any(|(&i, &d)| i >= d) {
            return Err(tensor_err(format!(
                "index {index:?} is out of bounds for a tensor of type {}",
                self.ty()
            )));
        }
        Ok(index.iter().zip(dims).fold(0, |flat, (&i, &d)| flat * d + i))
    }

    fn dtype_mismatch(&self, wanted: DType) -> IrError {
        dtype_mismatch(self.dtype(), wanted)
    }
}

fn dtype_mismatch(actual: DType, wanted: DType) -> IrError {
    tensor_err(format!("tensor holds {actual} elements, not {wanted}"))
}

impl PartialEq for Tensor {
    fn eq(&self, other: &Tensor) -> bool {
        if self.shape != other.shape {
            return false;
        }
        match (&self.data, &other.data) {
            (Data::F32(a), Data::F32(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            (Data::F64(a), Data::F64(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            (Data::I32(a), Data::I32(b)) => a == b,
            (Data::I64(a), Data::I64(b)) => a == b,
            (Data::Bool(a), Data::Bool(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Tensor {}

impl Hash for Tensor {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.shape.hash(state);
        self.dtype().hash(state);
        match &self.data {
            Data::F32(v) => v.iter().for_each(|x| x.to_bits().hash(state)),
            Data::F64(v) => v.iter().for_each(|x| x.to_bits().hash(state)),
            Data::I32(v) => v.hash(state),
            Data::I64(v) => v.hash(state),
            Data::Bool(v) => v.hash(state),
        }
    }
}
