//! Splats: values whose elements are all the same bits (a literal of equal
//! elements, or a `broadcast_in_dim` of one), and the scalar each holds.
//! Fold and simplify ask these questions about the function they are
//! building; answers are cached per value and computed with a loop down a
//! broadcast chain, never by recursion.

use std::sync::Arc;

use gradlift_ir::{Data, Function, Op, Shape, Tensor, Value};

/// A value that is one scalar repeated.
#[derive(Clone, Debug)]
pub(crate) struct Splat {
    /// The repeated element as a rank-0 tensor.
    pub(crate) scalar: Arc<Tensor>,
    /// A rank-0 constant instruction holding it, if the chain has one.
    pub(crate) node: Option<Value>,
}

/// Splat facts about the values of one function under construction.
#[derive(Default)]
pub(crate) struct Splats {
    cache: Vec<Option<Option<Splat>>>,
}

impl Splats {
    /// The splat `v` is, if it is one. Values with no elements are not
    /// splats (they hold no scalar).
    pub(crate) fn get(&mut self, f: &Function, v: Value) -> Option<Splat> {
        if self.cache.len() < f.len() {
            self.cache.resize(f.len(), None);
        }
        // Walk down the broadcast chain to a cached value or its root...
        let mut chain = Vec::new();
        let mut cur = v;
        let root = loop {
            if let Some(known) = &self.cache[cur.index()] {
                break known.clone();
            }
            match f.op(cur) {
                Op::BroadcastInDim { .. } => {
                    chain.push(cur);
                    cur = f.args(cur)[0];
                }
                Op::Constant { value } => {
                    let s = literal_splat(value)
                        .map(|scalar| Splat { node: (value.rank() == 0).then_some(cur), scalar });
                    self.cache[cur.index()] = Some(s.clone());
                    break s;
                }
                _ => {
                    self.cache[cur.index()] = Some(None);
                    break None;
                }
            }
        };
        // ...then record the answer for every broadcast on the way.
        for c in chain {
            self.cache[c.index()] = Some(root.clone());
        }
        root
    }

    /// Whether `v` is a splat whose scalar passes `test`.
    pub(crate) fn is(&mut self, f: &Function, v: Value, test: fn(&Data) -> bool) -> bool {
        self.get(f, v).is_some_and(|s| test(s.scalar.data()))
    }
}

/// The scalar of a literal whose elements all have the same bits.
pub(crate) fn literal_splat(t: &Arc<Tensor>) -> Option<Arc<Tensor>> {
    if t.rank() == 0 {
        return Some(Arc::clone(t));
    }
    fn first_if_uniform<T: Copy>(v: &[T], same: impl Fn(&T, &T) -> bool) -> Option<Vec<T>> {
        let first = *v.first()?;
        v.iter().all(|x| same(x, &first)).then(|| vec![first])
    }
    let data = match t.data() {
        Data::F32(v) => Data::F32(first_if_uniform(v, |a, b| a.to_bits() == b.to_bits())?),
        Data::F64(v) => Data::F64(first_if_uniform(v, |a, b| a.to_bits() == b.to_bits())?),
        Data::I32(v) => Data::I32(first_if_uniform(v, |a, b| a == b)?),
        Data::I64(v) => Data::I64(first_if_uniform(v, |a, b| a == b)?),
        Data::Bool(v) => Data::Bool(first_if_uniform(v, |a, b| a == b)?),
    };
    Tensor::new(Shape::scalar(), data).ok().map(Arc::new)
}

/// Two rank-0 tensors hold the same bits.
pub(crate) fn same_bits(a: &Tensor, b: &Tensor) -> bool {
    a == b
}

// Tests on a splat's scalar, one per identity element the rules use.

/// 1 (floats and integers).
pub(crate) fn is_one(d: &Data) -> bool {
    match d {
        Data::F32(v) => v[0] == 1.0,
        Data::F64(v) => v[0] == 1.0,
        Data::I32(v) => v[0] == 1,
        Data::I64(v) => v[0] == 1,
        Data::Bool(_) => false,
    }
}

/// The exact identity of `add`: -0.0 for floats (`-0 + +0 == +0`, so +0.0
/// is not one), 0 for integers.
pub(crate) fn is_add_identity(d: &Data) -> bool {
    match d {
        Data::F32(v) => v[0].to_bits() == (-0.0f32).to_bits(),
        Data::F64(v) => v[0].to_bits() == (-0.0f64).to_bits(),
        Data::I32(v) => v[0] == 0,
        Data::I64(v) => v[0] == 0,
        Data::Bool(_) => false,
    }
}

/// The exact right identity of `sub`: +0.0 for floats, 0 for integers.
pub(crate) fn is_sub_identity(d: &Data) -> bool {
    match d {
        Data::F32(v) => v[0].to_bits() == 0,
        Data::F64(v) => v[0].to_bits() == 0,
        Data::I32(v) => v[0] == 0,
        Data::I64(v) => v[0] == 0,
        Data::Bool(_) => false,
    }
}

/// Integer zero (floats excluded: `x·0` is not 0 for NaN or inf).
pub(crate) fn is_int_zero(d: &Data) -> bool {
    match d {
        Data::I32(v) => v[0] == 0,
        Data::I64(v) => v[0] == 0,
        Data::F32(_) | Data::F64(_) | Data::Bool(_) => false,
    }
}

/// All bits set: `true`, or -1 for integers (the identity of `and`).
pub(crate) fn is_all_ones(d: &Data) -> bool {
    match d {
        Data::Bool(v) => v[0],
        Data::I32(v) => v[0] == -1,
        Data::I64(v) => v[0] == -1,
        Data::F32(_) | Data::F64(_) => false,
    }
}

/// No bits set: `false`, or 0 for integers (the identity of `or`).
pub(crate) fn is_no_bits(d: &Data) -> bool {
    match d {
        Data::Bool(v) => !v[0],
        Data::I32(v) => v[0] == 0,
        Data::I64(v) => v[0] == 0,
        Data::F32(_) | Data::F64(_) => false,
    }
}

/// `true` (a select predicate).
pub(crate) fn is_true(d: &Data) -> bool {
    matches!(d, Data::Bool(v) if v[0])
}

/// `false` (a select predicate).
pub(crate) fn is_false(d: &Data) -> bool {
    matches!(d, Data::Bool(v) if !v[0])
}
