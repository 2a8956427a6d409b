//! Parameter initialisers drawn from a seeded, counter-based generator.
//!
//! A [`Key`] is a 64-bit seed; [`Key::fold_in`] / [`Key::named`] derive one
//! independent key per parameter (as `jax.random.fold_in`), and the key's
//! samples are [`Tensor::rand_uniform`] / [`Tensor::rand_normal`], where
//! element `i` is a function of `(key, i)` alone (ChaCha8 words at a fixed
//! counter). So a parameter's values depend only on the seed and its name
//! or index: not on the thread count, the order in which parameters are
//! drawn, or the other parameters of the model.

use gradlift_ir::{DType, Shape, Tensor};

use crate::error::Error;

/// A random key: a seed from which independent per-parameter keys are
/// derived (see the module docs).
///
/// ```
/// use gradlift::nn::Key;
/// use gradlift::DType;
/// let k = Key::new(42);
/// let a = k.named("w1").uniform(&[2, 3], -1.0, 1.0, DType::F32)?;
/// let b = k.named("w1").uniform(&[2, 3], -1.0, 1.0, DType::F32)?;
/// let c = k.named("w2").uniform(&[2, 3], -1.0, 1.0, DType::F32)?;
/// assert_eq!(a, b);
/// assert_ne!(a, c);
/// # Ok::<(), gradlift::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key(u64);

impl Key {
    /// The key of a seed. Its samples are those of `Tensor::rand_*(seed, ..)`.
    pub fn new(seed: u64) -> Key {
        Key(seed)
    }

    /// The raw 64-bit seed this key stands for (what `Tensor::rand_*` get).
    pub fn seed(self) -> u64 {
        self.0
    }

    /// A new key that depends on this key and `data` (a parameter index, a
    /// step number), like `jax.random.fold_in`: distinct `data` give
    /// distinct keys, and the map is a fixed function (SplitMix64 mixing),
    /// so results never change between runs or versions of Rust.
    pub fn fold_in(self, data: u64) -> Key {
        Key(mix(mix(self.0 ^ GOLDEN).wrapping_add(mix(data.wrapping_add(GOLDEN.rotate_left(17))))))
    }

    /// The key of a parameter named `name`: [`Key::fold_in`] of the name's
    /// 64-bit FNV-1a hash.
    pub fn named(self, name: &str) -> Key {
        self.fold_in(fnv1a(name.as_bytes()))
    }

    /// Samples uniform on `[low, high)` (see [`Tensor::rand_uniform`]).
    pub fn uniform(
        self,
        shape: &[usize],
        low: f64,
        high: f64,
        dtype: DType,
    ) -> Result<Tensor, Error> {
        Ok(Tensor::rand_uniform(self.0, Shape::new(shape), low, high, dtype)?)
    }

    /// Samples from `N(mean, std²)` (see [`Tensor::rand_normal`]).
    pub fn normal(
        self,
        shape: &[usize],
        mean: f64,
        std: f64,
        dtype: DType,
    ) -> Result<Tensor, Error> {
        Ok(Tensor::rand_normal(self.0, Shape::new(shape), mean, std, dtype)?)
    }
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 finalizer: a bijection on `u64` that mixes every input
/// bit into every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 64-bit FNV-1a: a fixed, portable hash of a parameter name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The fan-in and fan-out of a parameter, which scale the variance-aware
/// initialisers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fans {
    /// Inputs feeding each output unit.
    pub fan_in: usize,
    /// Outputs each input unit feeds.
    pub fan_out: usize,
}

impl Fans {
    /// The fans of a weight in PyTorch's layout `[out, in, *kernel]`, as
    /// `torch.nn.init._calculate_fan_in_and_fan_out`: `fan_in = in ·
    /// kernel`, `fan_out = out · kernel`. A 1-D shape `[n]` (a bias) has
    /// both fans `n`, a scalar both 1.
    pub fn of_torch_weight(shape: &[usize]) -> Fans {
        match shape {
            [] => Fans { fan_in: 1, fan_out: 1 },
            [n] => Fans { fan_in: *n, fan_out: *n },
            [out, inp, kernel @ ..] => {
                let k: usize = kernel.iter().product();
                Fans { fan_in: inp * k, fan_out: out * k }
            }
        }
    }
}

/// How to initialise one parameter.
///
/// The gains follow `torch.nn.init.calculate_gain`: 1 for linear/sigmoid
/// layers, √2 for ReLU (the `kaiming_*` constructors' default), 5/3 for
/// tanh, `√(2 / (1 + slope²))` for leaky ReLU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every element `value`.
    Constant(f64),
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (exclusive).
        high: f64,
    },
    /// Normal `N(mean, std²)`.
    Normal {
        /// The mean.
        mean: f64,
        /// The standard deviation.
        std: f64,
    },
    /// Glorot/Xavier uniform: `U(-a, a)`, `a = gain · √(6 / (fan_in + fan_out))`.
    XavierUniform {
        /// The gain.
        gain: f64,
    },
    /// Glorot/Xavier normal: `N(0, σ²)`, `σ = gain · √(2 / (fan_in + fan_out))`.
    XavierNormal {
        /// The gain.
        gain: f64,
    },
    /// He/Kaiming uniform (fan-in mode): `U(-a, a)`, `a = gain · √(3 / fan_in)`.
    KaimingUniform {
        /// The gain.
        gain: f64,
    },
    /// He/Kaiming normal (fan-in mode): `N(0, σ²)`, `σ = gain / √fan_in`.
    KaimingNormal {
        /// The gain.
        gain: f64,
    },
    /// PyTorch's default for `nn.Linear` weights *and* biases:
    /// `U(-1/√fan_in, 1/√fan_in)` with the fan-in of the layer's weight.
    /// (For the weight this is `kaiming_uniform_(a=√5)`: gain `√(1/3)`.)
    TorchLinear,
}

impl Init {
    /// Uniform on `[low, high)`.
    pub fn uniform(low: f64, high: f64) -> Init {
        Init::Uniform { low, high }
    }

    /// `N(0, std²)`.
    pub fn normal(std: f64) -> Init {
        Init::Normal { mean: 0.0, std }
    }

    /// Glorot/Xavier uniform with gain 1 (`torch.nn.init.xavier_uniform_`,
    /// `jax.nn.initializers.glorot_uniform`).
    pub fn xavier_uniform() -> Init {
        Init::XavierUniform { gain: 1.0 }
    }

    /// Glorot/Xavier normal with gain 1 (`torch.nn.init.xavier_normal_`).
    pub fn xavier_normal() -> Init {
        Init::XavierNormal { gain: 1.0 }
    }

    /// He/Kaiming uniform with the ReLU gain √2
    /// (`torch.nn.init.kaiming_uniform_(nonlinearity="relu")`,
    /// `jax.nn.initializers.he_uniform`).
    pub fn kaiming_uniform() -> Init {
        Init::KaimingUniform { gain: std::f64::consts::SQRT_2 }
    }

    /// He/Kaiming normal with the ReLU gain √2
    /// (`torch.nn.init.kaiming_normal_(nonlinearity="relu")`; JAX's
    /// `he_normal` draws a truncated normal instead).
    pub fn kaiming_normal() -> Init {
        Init::KaimingNormal { gain: std::f64::consts::SQRT_2 }
    }

    /// Draws a tensor of `shape` from `key`. `fans` scales the Xavier,
    /// Kaiming and PyTorch-default rules (see [`Fans::of_torch_weight`]).
    /// Float dtypes only; an empty shape gives an empty tensor.
    pub fn sample(
        &self,
        key: Key,
        shape: &[usize],
        fans: Fans,
        dtype: DType,
    ) -> Result<Tensor, Error> {
        if !dtype.is_float() {
            return Err(bad(format!("initialisers need a float dtype, got {dtype}")));
        }
        let n: usize = shape.iter().product();
        if n == 0 {
            return Ok(Tensor::zeros(dtype, Shape::new(shape))?);
        }
        let fan = |f: usize, what: &str| -> Result<f64, Error> {
            if f == 0 {
                Err(bad(format!("{self:?} needs a non-zero {what} for shape {shape:?}")))
            } else {
                Ok(f as f64)
            }
        };
        let symmetric = |a: f64| key.uniform(shape, -a, a, dtype);
        let normal = |std: f64| key.normal(shape, 0.0, std, dtype);
        match *self {
            Init::Zeros => Ok(Tensor::zeros(dtype, Shape::new(shape))?),
            Init::Constant(v) => {
                Ok(Tensor::new(Shape::new(shape), gradlift_ir::Data::F64(vec![v; n]).cast(dtype))?)
            }
            Init::Uniform { low, high } => key.uniform(shape, low, high, dtype),
            Init::Normal { mean, std } => key.normal(shape, mean, std, dtype),
            Init::XavierUniform { gain } => {
                let sum = fan(fans.fan_in + fans.fan_out, "fan_in + fan_out")?;
                symmetric(gain * (6.0 / sum).sqrt())
            }
            Init::XavierNormal { gain } => {
                let sum = fan(fans.fan_in + fans.fan_out, "fan_in + fan_out")?;
                normal(gain * (2.0 / sum).sqrt())
            }
            Init::KaimingUniform { gain } => {
                symmetric(gain * (3.0 / fan(fans.fan_in, "fan_in")?).sqrt())
            }
            Init::KaimingNormal { gain } => normal(gain / fan(fans.fan_in, "fan_in")?.sqrt()),
            Init::TorchLinear => symmetric(1.0 / fan(fans.fan_in, "fan_in")?.sqrt()),
        }
    }
}

fn bad(msg: String) -> Error {
    Error::Ir(gradlift_ir::IrError::Tensor { msg })
}
