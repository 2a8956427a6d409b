//! Generated tensors: `linspace`, `arange` (numpy semantics) and seeded,
//! counter-based random samples.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{tensor_err, Data, Tensor};
use crate::dtype::DType;
use crate::error::IrError;
use crate::types::Shape;

impl Tensor {
    /// `num` evenly spaced values from `start` to `stop` inclusive, like
    /// `numpy.linspace(start, stop, num, dtype=dtype)`: computed in f64 as
    /// `start + i * step` (the last one exactly `stop`), then rounded to the
    /// dtype. Float dtypes only; the result has shape `[num]`.
    pub fn linspace(start: f64, stop: f64, num: usize, dtype: DType) -> Result<Tensor, IrError> {
        if !dtype.is_float() {
            return Err(tensor_err(format!("linspace needs a float dtype, got {dtype}")));
        }
        if !start.is_finite() || !stop.is_finite() {
            return Err(tensor_err(format!(
                "linspace needs finite bounds, got {start} and {stop}"
            )));
        }
        let shape = Shape::new(&[num]);
        shape.num_elements()?;
        let delta = stop - start;
        let values: Vec<f64> = if num <= 1 {
            vec![start; num]
        } else {
            let div = (num - 1) as f64;
            let step = delta / div;
            let mut v: Vec<f64> = if step == 0.0 {
                // numpy's fallback when the step underflows: scale after
                // dividing, so the spacing survives.
                (0..num).map(|i| i as f64 / div * delta + start).collect()
            } else {
                (0..num).map(|i| i as f64 * step + start).collect()
            };
            v[num - 1] = stop;
            v
        };
        Tensor::new(shape, Data::F64(values).cast(dtype))
    }

    /// Values `start, start + step, ...` up to but excluding `stop`, like
    /// `numpy.arange(start, stop, step, dtype=dtype)`: length
    /// `ceil((stop - start) / step)` (0 if negative), element values as
    /// numpy computes them (in the dtype, from the first two elements).
    /// Integer dtypes need integral `start` and `step` and every value in
    /// range; bool is rejected; `step` must be non-zero.
    pub fn arange(start: f64, stop: f64, step: f64, dtype: DType) -> Result<Tensor, IrError> {
        if step == 0.0 {
            return Err(tensor_err("arange step must be non-zero"));
        }
        if !(start.is_finite() && stop.is_finite() && step.is_finite()) {
            return Err(tensor_err(format!(
                "arange needs finite arguments, got start={start} stop={stop} step={step}"
            )));
        }
        let len = (stop - start) / step;
        let len = len.ceil().max(0.0);
        // Never NaN (finite over finite non-zero); infinite when stop - start
        // overflows. Every shape a tensor can hold is far below 2^62 elements.
        if len >= (1u64 << 62) as f64 {
            return Err(tensor_err(format!(
                "arange(start={start}, stop={stop}, step={step}) has too many elements"
            )));
        }
        let n = len as usize;
        let shape = Shape::new(&[n]);
        shape.num_elements()?;
        let data = match dtype {
            DType::F64 => {
                let delta = (start + step) - start;
                Data::F64(
                    (0..n)
                        .map(|i| match i {
                            0 => start,
                            1 => start + step,
                            _ => start + i as f64 * delta,
                        })
                        .collect(),
                )
            }
            DType::F32 => {
                let (first, second) = (start as f32, (start + step) as f32);
                let delta = second - first;
                Data::F32(
                    (0..n)
                        .map(|i| match i {
                            0 => first,
                            1 => second,
                            _ => first + i as f32 * delta,
                        })
                        .collect(),
                )
            }
            DType::I32 | DType::I64 => Data::I64(int_arange(start, step, n, dtype)?).cast(dtype),
            DType::Bool => return Err(tensor_err("arange needs a numeric dtype, got bool")),
        };
        Tensor::new(shape, data)
    }

    /// Samples uniform on `[low, high)`, reproducible from `seed`.
    ///
    /// Counter-based: element `i` (row-major) is a function of `(seed, i)`
    /// only — ChaCha8 words `[2i, 2i+2)` of the stream seeded with
    /// `ChaCha8Rng::seed_from_u64(seed)` — so it does not depend on the
    /// shape or the element count, and f32 samples are the f64 samples
    /// rounded. Float dtypes only.
    pub fn rand_uniform(
        seed: u64,
        shape: impl Into<Shape>,
        low: f64,
        high: f64,
        dtype: DType,
    ) -> Result<Tensor, IrError> {
        if !dtype.is_float() {
            return Err(tensor_err(format!("rand_uniform needs a float dtype, got {dtype}")));
        }
        if !(low.is_finite() && high.is_finite() && low <= high && (high - low).is_finite()) {
            return Err(tensor_err(format!(
                "rand_uniform needs finite bounds with low <= high, got [{low}, {high})"
            )));
        }
        let shape = shape.into();
        let n = shape.num_elements()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let data = match dtype {
            DType::F64 => Data::F64(
                (0..n)
                    .map(|_| {
                        below(low + (high - low) * unit_closed_open(rng.next_u64()), low, high)
                    })
                    .collect(),
            ),
            _ => Data::F32(
                (0..n)
                    .map(|_| {
                        let x = (low + (high - low) * unit_closed_open(rng.next_u64())) as f32;
                        below_f32(x, low, high)
                    })
                    .collect(),
            ),
        };
        Tensor::new(shape, data)
    }

    /// Samples from the normal distribution `N(mean, std^2)`, reproducible
    /// from `seed`, by Box–Muller in f64 (then rounded to the dtype).
    ///
    /// Counter-based like [`Tensor::rand_uniform`]: element `i` uses ChaCha8
    /// words `[4i, 4i+4)` of the stream seeded with
    /// `ChaCha8Rng::seed_from_u64(seed)`, and nothing else. Float dtypes only.
    pub fn rand_normal(
        seed: u64,
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        dtype: DType,
    ) -> Result<Tensor, IrError> {
        if !dtype.is_float() {
            return Err(tensor_err(format!("rand_normal needs a float dtype, got {dtype}")));
        }
        if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
            return Err(tensor_err(format!(
                "rand_normal needs a finite mean and a finite std >= 0, got mean={mean} std={std}"
            )));
        }
        let shape = shape.into();
        let n = shape.num_elements()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let samples = (0..n).map(|_| {
            // u1 in (0, 1] keeps the logarithm finite; u2 in [0, 1).
            let u1 = 1.0 - unit_closed_open(rng.next_u64());
            let u2 = unit_closed_open(rng.next_u64());
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            mean + std * z
        });
        let data = match dtype {
            DType::F64 => Data::F64(samples.collect()),
            _ => Data::F32(samples.map(|x| x as f32).collect()),
        };
        Tensor::new(shape, data)
    }
}

/// The top 53 bits of a random word as a float in `[0, 1)`.
fn unit_closed_open(word: u64) -> f64 {
    (word >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Keeps a sample below `high` when rounding carried it up (unless the
/// interval is empty, where numpy also returns `low`).
fn below(x: f64, low: f64, high: f64) -> f64 {
    if x >= high && high > low {
        high.next_down().max(low)
    } else {
        x
    }
}

/// [`below`] for a sample already rounded to f32.
fn below_f32(x: f32, low: f64, high: f64) -> f32 {
    if f64::from(x) >= high && high > low {
        let top = high as f32;
        let top = if f64::from(top) >= high { top.next_down() } else { top };
        top.max(low as f32)
    } else {
        x
    }
}

/// The values of an integer `arange`, checked to fit `dtype`.
fn int_arange(start: f64, step: f64, n: usize, dtype: DType) -> Result<Vec<i64>, IrError> {
    let (min, max) = match dtype {
        DType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    };
    let as_int = |x: f64, what: &str| -> Result<i64, IrError> {
        // 2^63 is exact in f64; anything at or above it does not fit.
        if x.fract() != 0.0 || x < -(2f64.powi(63)) || x >= 2f64.powi(63) {
            return Err(tensor_err(format!(
                "arange with dtype {dtype} needs an integral {what} that fits, got {x}"
            )));
        }
        Ok(x as i64)
    };
    let (start, step) = (as_int(start, "start")?, as_int(step, "step")?);
    let last = (n as i64 - 1).max(0);
    let out_of_range = || {
        tensor_err(format!(
            "arange(start={start}, step={step}) with {n} elements leaves the range of {dtype}"
        ))
    };
    if n > 0 {
        let end =
            step.checked_mul(last).and_then(|d| start.checked_add(d)).ok_or_else(out_of_range)?;
        if start < min || start > max || end < min || end > max {
            return Err(out_of_range());
        }
    }
    Ok((0..n as i64).map(|i| start + i * step).collect())
}
