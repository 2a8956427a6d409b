//! Named parameter sets: the trainable tensors of a model, in a fixed
//! order, saved to and loaded from `.npz` (numpy's format, so weights move
//! freely between gradlift, JAX and PyTorch scripts).

use std::path::Path;

use gradlift_ir::npy::{read_npz, write_npz};
use gradlift_ir::{DType, Tensor, Type};

use crate::error::Error;

/// An ordered set of named tensors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    names: Vec<String>,
    tensors: Vec<Tensor>,
}

impl Params {
    /// An empty set.
    pub fn new() -> Params {
        Params::default()
    }

    /// Adds a tensor; names must be unique.
    pub fn push(&mut self, name: &str, t: Tensor) -> Result<(), Error> {
        if self.names.iter().any(|n| n == name) {
            return Err(Error::Signature {
                func: "params".into(),
                msg: format!("two parameters are named {name:?}"),
            });
        }
        self.names.push(name.to_string());
        self.tensors.push(t);
        Ok(())
    }

    /// Builder form of [`Params::push`].
    pub fn with(mut self, name: &str, t: Tensor) -> Result<Params, Error> {
        self.push(name, t)?;
        Ok(self)
    }

    /// Loads every array of an `.npz` file, in file order.
    pub fn load_npz(path: impl AsRef<Path>) -> Result<Params, Error> {
        let mut p = Params::new();
        for (name, t) in read_npz(path.as_ref())? {
            p.push(&name, t)?;
        }
        Ok(p)
    }

    /// Loads the named arrays of an `.npz` file, in the order given.
    pub fn load_npz_keys(path: impl AsRef<Path>, keys: &[&str]) -> Result<Params, Error> {
        let all = Params::load_npz(path.as_ref())?;
        let mut p = Params::new();
        for k in keys {
            let t = all.get(k).ok_or_else(|| {
                Error::Ir(gradlift_ir::IrError::Io {
                    path: path.as_ref().display().to_string(),
                    msg: format!("no array named {k:?} (it has: {})", all.names.join(", ")),
                })
            })?;
            p.push(k, t.clone())?;
        }
        Ok(p)
    }

    /// Saves every tensor to an `.npz` file (readable with `numpy.load`).
    pub fn save_npz(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let items: Vec<(&str, &Tensor)> =
            self.names.iter().map(String::as_str).zip(&self.tensors).collect();
        Ok(write_npz(path.as_ref(), &items)?)
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// True when there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The tensors, in order.
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }

    /// Mutable access to the tensors (same order as the names).
    pub fn tensors_mut(&mut self) -> &mut [Tensor] {
        &mut self.tensors
    }

    /// The tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.names.iter().position(|n| n == name).map(|i| &self.tensors[i])
    }

    /// (name, tensor) pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.names.iter().map(String::as_str).zip(&self.tensors)
    }

    /// The same parameters converted to `dtype` (e.g. PyTorch's f32
    /// weights to f64 for a fit).
    pub fn cast(&self, dtype: DType) -> Params {
        Params {
            names: self.names.clone(),
            tensors: self.tensors.iter().map(|t| t.cast(dtype)).collect(),
        }
    }

    /// The tensors' types, in order (the argument types of a function of
    /// these parameters).
    pub fn types(&self) -> Vec<Type> {
        self.tensors.iter().map(Tensor::ty).collect()
    }

    /// Checks that the set holds exactly the `expected` names, in that
    /// order, with those types (say, after loading weights for a model).
    /// The error names the first parameter that differs.
    pub fn check(&self, expected: &[(&str, Type)]) -> Result<(), Error> {
        let fail = |msg: String| Err(Error::Signature { func: "params".into(), msg });
        for (i, (name, ty)) in expected.iter().enumerate() {
            match (self.names.get(i), self.tensors.get(i)) {
                (Some(n), Some(t)) if n == name && t.ty() == *ty => {}
                (Some(n), Some(t)) if n == name => {
                    return fail(format!("parameter {name:?} is {}, expected {ty}", t.ty()))
                }
                (Some(n), _) => {
                    return fail(format!("parameter {i} is {n:?}, expected {name:?} ({ty})"))
                }
                _ => return fail(format!("parameter {name:?} ({ty}) is missing")),
            }
        }
        if let Some(extra) = self.names.get(expected.len()) {
            return fail(format!(
                "unexpected parameter {extra:?} (expected {} parameters)",
                expected.len()
            ));
        }
        Ok(())
    }
}
