//! numpy-like printing: `f32[2,3] [[1, 2, 3], [4, 5, 6]]`.
//!
//! Tensors with more than [`SUMMARY_THRESHOLD`] elements are summarised like
//! numpy does: every axis longer than `2 * EDGE_ITEMS` shows its first and
//! last [`EDGE_ITEMS`] entries around `...`. A precision (`{:.3}`) applies to
//! float elements.

use std::fmt;

use super::{Data, Tensor};

/// Above this many elements the printout is summarised (numpy's threshold).
const SUMMARY_THRESHOLD: usize = 1000;
/// Entries kept at each end of a summarised axis (numpy's edgeitems).
const EDGE_ITEMS: usize = 3;

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision();
        write!(f, "{} ", self.ty())?;
        let printer = Printer {
            data: &self.data,
            dims: self.dims(),
            summarise: self.len() > SUMMARY_THRESHOLD,
            precision,
        };
        printer.axis(f, 0, 0)
    }
}

struct Printer<'a> {
    data: &'a Data,
    dims: &'a [usize],
    summarise: bool,
    precision: Option<usize>,
}

impl Printer<'_> {
    /// Prints the sub-array at `offset` spanning axes `axis..`. Recursion
    /// depth is the tensor's rank.
    fn axis(&self, f: &mut fmt::Formatter<'_>, axis: usize, offset: usize) -> fmt::Result {
        if axis == self.dims.len() {
            return self.element(f, offset);
        }
        let n = self.dims[axis];
        let stride: usize = self.dims[axis + 1..].iter().product();
        let elide = self.summarise && n > 2 * EDGE_ITEMS;
        f.write_str("[")?;
        for i in 0..n {
            if elide && (EDGE_ITEMS..n - EDGE_ITEMS).contains(&i) {
                if i == EDGE_ITEMS {
                    f.write_str(", ...")?;
                }
                continue;
            }
            if i > 0 {
                f.write_str(", ")?;
            }
            self.axis(f, axis + 1, offset + i * stride)?;
        }
        f.write_str("]")
    }

    fn element(&self, f: &mut fmt::Formatter<'_>, i: usize) -> fmt::Result {
        match self.data {
            Data::F32(v) => float(f, f64::from(v[i]), v[i], self.precision),
            Data::F64(v) => float(f, v[i], v[i], self.precision),
            Data::I32(v) => write!(f, "{}", v[i]),
            Data::I64(v) => write!(f, "{}", v[i]),
            Data::Bool(v) => write!(f, "{}", v[i]),
        }
    }
}

/// Shortest round-trip decimal for moderate magnitudes, scientific notation
/// for very small or very large ones (Rust's `{}` would print every digit).
fn float<T: fmt::Display + fmt::LowerExp>(
    f: &mut fmt::Formatter<'_>,
    wide: f64,
    x: T,
    precision: Option<usize>,
) -> fmt::Result {
    let plain = wide == 0.0 || !wide.is_finite() || (1e-4..1e16).contains(&wide.abs());
    match (plain, precision) {
        (true, None) => write!(f, "{x}"),
        (true, Some(p)) => write!(f, "{x:.p$}"),
        (false, None) => write!(f, "{x:e}"),
        (false, Some(p)) => write!(f, "{x:.p$e}"),
    }
}
