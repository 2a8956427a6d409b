//! Shapes and array types.

use std::fmt;

use smallvec::SmallVec;

use crate::dtype::DType;
use crate::error::IrError;

/// A list of dimension indices or sizes (attributes such as `dims=[0,1]`).
pub type Dims = SmallVec<[usize; 4]>;

/// The dimensions of a dense row-major array. `[]` is a scalar.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Shape(pub Dims);

impl Shape {
    pub fn scalar() -> Shape {
        Shape(Dims::new())
    }

    pub fn new(dims: &[usize]) -> Shape {
        Shape(Dims::from_slice(dims))
    }

    pub fn rank(&self) -> usize {
        self.0.len()
    }

    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of elements, or an error if the product overflows `usize`
    /// (a shape never wraps).
    pub fn num_elements(&self) -> Result<usize, IrError> {
        checked_product(&self.0).ok_or_else(|| IrError::ShapeOverflow { shape: self.clone() })
    }

    /// Number of elements for a shape already known to be valid
    /// (every shape stored in a verified graph or a tensor is).
    pub fn size(&self) -> usize {
        self.0.iter().product()
    }

    /// Row-major strides in elements.
    pub fn strides(&self) -> Dims {
        let mut s: Dims = smallvec::smallvec![0; self.0.len()];
        let mut acc = 1usize;
        for i in (0..self.0.len()).rev() {
            s[i] = acc;
            acc = acc.saturating_mul(self.0[i]);
        }
        s
    }
}

/// Product of sizes with overflow checking. Also guards the byte size of the
/// largest element type, so a valid shape always has an addressable buffer.
pub fn checked_product(dims: &[usize]) -> Option<usize> {
    let mut acc: usize = 1;
    for &d in dims {
        acc = acc.checked_mul(d)?;
    }
    acc.checked_mul(8)?;
    if acc > isize::MAX as usize / 8 {
        return None;
    }
    Some(acc)
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Shape {
        Shape::new(d)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Shape {
        Shape::new(&d)
    }
}

/// The static type of a value: dtype and shape, written `f32[10,2]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Type {
    pub dtype: DType,
    pub shape: Shape,
}

impl Type {
    pub fn new(dtype: DType, shape: impl Into<Shape>) -> Type {
        Type { dtype, shape: shape.into() }
    }

    pub fn scalar(dtype: DType) -> Type {
        Type { dtype, shape: Shape::scalar() }
    }

    pub fn rank(&self) -> usize {
        self.shape.rank()
    }

    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.dtype, self.shape)
    }
}
