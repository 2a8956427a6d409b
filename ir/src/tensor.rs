//! Host tensors: owned, dense, row-major arrays with a dtype and a shape.

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
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
            Data::I32(_) => DType::I32,
            Data::I64(_) => DType::I64,
            Data::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

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
}

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

impl Tensor {
    /// Builds a tensor; the data length must equal the shape's element count.
    pub fn new(shape: impl Into<Shape>, data: Data) -> Result<Tensor, IrError> {
        let shape = shape.into();
        let n = shape.num_elements()?;
        if n != data.len() {
            return Err(IrError::Tensor {
                msg: format!(
                    "shape {shape} holds {n} elements but {} {} values were given",
                    data.len(),
                    data.dtype()
                ),
            });
        }
        Ok(Tensor { shape, data })
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn ty(&self) -> Type {
        Type { dtype: self.dtype(), shape: self.shape.clone() }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn data(&self) -> &Data {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut Data {
        &mut self.data
    }

    pub fn into_data(self) -> Data {
        self.data
    }

    /// A zero (false) tensor of a type.
    pub fn zeros_of(ty: &Type) -> Result<Tensor, IrError> {
        let n = ty.shape.num_elements()?;
        Ok(Tensor { shape: ty.shape.clone(), data: Data::zeros(ty.dtype, n) })
    }
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
