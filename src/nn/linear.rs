//! [`Linear`] layers in PyTorch's layout and the [`Mlp`] builder.
//!
//! A layer is a description; its parameters live in a [`Params`] set and
//! reach `forward` as traced values (`&[Var]`, in `Params` order).

use std::path::Path;

use gradlift_ir::{DType, DotDims, IrError, Type};

use super::activation::Activation;
use super::check::validate;
use super::init::{Fans, Init, Key};
use crate::error::Error;
use crate::params::Params;
use crate::trace::Var;

/// A fully connected layer `y = x wᵀ + b`, as `torch.nn.Linear`: the
/// weight is `[out, in]` and the bias `[out]`, so PyTorch state dicts load
/// unchanged. `x` is `[..., in]` (any number of leading batch dimensions)
/// and `y` is `[..., out]`.
///
/// ```
/// use gradlift::nn::Linear;
/// use gradlift::{eval, Tensor, Var};
/// let layer = Linear::new(3, 2);
/// let p = layer.init(7)?; // "w" [2, 3], "b" [2]
/// let x = Tensor::from_slice([3], &[1.0f32, 0.0, 0.0])?;
/// let y = eval(|w: Var, b: Var, x: Var| layer.forward(&[w, b], x), &[&p.tensors()[0], &p.tensors()[1], &x])?;
/// // The first column of w, plus b.
/// let (w, b) = (p.tensors()[0].to_vec::<f32>()?, p.tensors()[1].to_vec::<f32>()?);
/// assert_eq!(y[0].to_vec::<f32>()?, vec![w[0] + b[0], w[3] + b[1]]);
/// # Ok::<(), gradlift::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear {
    in_features: usize,
    out_features: usize,
    bias: bool,
    weight_init: Init,
    bias_init: Init,
    dtype: DType,
}

impl Linear {
    /// A layer from `in_features` to `out_features` with a bias,
    /// initialised as PyTorch's default ([`Init::TorchLinear`]), in f32.
    pub fn new(in_features: usize, out_features: usize) -> Linear {
        Linear {
            in_features,
            out_features,
            bias: true,
            weight_init: Init::TorchLinear,
            bias_init: Init::TorchLinear,
            dtype: DType::F32,
        }
    }

    /// With (default) or without a bias.
    pub fn bias(mut self, on: bool) -> Linear {
        self.bias = on;
        self
    }

    /// How the weight is initialised.
    pub fn weight_init(mut self, init: Init) -> Linear {
        self.weight_init = init;
        self
    }

    /// How the bias is initialised (its fans are the weight's).
    pub fn bias_init(mut self, init: Init) -> Linear {
        self.bias_init = init;
        self
    }

    /// The parameters' dtype for [`Linear::init`] (default f32).
    pub fn dtype(mut self, dtype: DType) -> Linear {
        self.dtype = dtype;
        self
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Whether the layer has a bias.
    pub fn has_bias(&self) -> bool {
        self.bias
    }

    /// The parameter types: the weight `[out, in]`, then the bias `[out]`
    /// if the layer has one.
    pub fn param_types(&self) -> Vec<Type> {
        let mut t = vec![Type::new(self.dtype, [self.out_features, self.in_features])];
        if self.bias {
            t.push(Type::new(self.dtype, [self.out_features]));
        }
        t
    }

    /// Fresh parameters `w` (and `b`) drawn from `seed`, each from its own
    /// stream (`Key::new(seed).named("w")`, ...).
    pub fn init(&self, seed: u64) -> Result<Params, Error> {
        let mut p = Params::new();
        self.init_into(&mut p, Key::new(seed), "w", "b")?;
        Ok(p)
    }

    /// Draws this layer's weight and bias from `key.named(w_name)` and
    /// `key.named(b_name)` and appends them to `params`.
    fn init_into(
        &self,
        params: &mut Params,
        key: Key,
        w_name: &str,
        b_name: &str,
    ) -> Result<(), Error> {
        let shape = [self.out_features, self.in_features];
        let fans = Fans::of_torch_weight(&shape);
        params
            .push(w_name, self.weight_init.sample(key.named(w_name), &shape, fans, self.dtype)?)?;
        if self.bias {
            let b =
                self.bias_init.sample(key.named(b_name), &[self.out_features], fans, self.dtype)?;
            params.push(b_name, b)?;
        }
        Ok(())
    }

    /// `x wᵀ + b` for `params = [w, b]` (or `[w]` without a bias). Wrong
    /// parameter counts or shapes are recorded as trace errors at the
    /// caller's line.
    #[track_caller]
    pub fn forward(&self, params: &[Var], x: Var) -> Var {
        let names: &[&str] = if self.bias { &["w", "b"] } else { &["w"] };
        let mut inputs = vec![x];
        inputs.extend_from_slice(params);
        let checked = validate("linear", &inputs, |t| {
            check_params(&t[1..], &self.param_types(), names)?;
            check_input(&t[0], &t[1..], self.in_features)
        });
        if let Err(poisoned) = checked {
            return poisoned;
        }
        affine(x, params[0], params.get(1).copied())
    }
}

/// `x wᵀ (+ b)`: one `dot_general` contracting the last axis of `x` with
/// axis 1 of `w` (no transpose), then the broadcast bias.
#[track_caller]
fn affine(x: Var, w: Var, b: Option<Var>) -> Var {
    let last = x.rank().saturating_sub(1);
    let dims = DotDims {
        lhs_batch: Default::default(),
        rhs_batch: Default::default(),
        lhs_contract: [last].into_iter().collect(),
        rhs_contract: [1].into_iter().collect(),
    };
    let y = x.dot_general(w, dims);
    match b {
        Some(b) => y + b,
        None => y,
    }
}

/// Checks parameter types against the expected ones, naming the parameter.
fn check_params(got: &[Type], want: &[Type], names: &[impl AsRef<str>]) -> Result<(), String> {
    if got.len() != want.len() {
        let list: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        return Err(format!(
            "expects {} parameters ({}), got {}",
            want.len(),
            list.join(", "),
            got.len()
        ));
    }
    for ((g, w), name) in got.iter().zip(want).zip(names) {
        if g.shape != w.shape {
            return Err(format!(
                "parameter {} has shape {}, the model expects {}",
                name.as_ref(),
                g.shape,
                w.shape
            ));
        }
    }
    Ok(())
}

/// Checks the input's last dimension and that parameters share its dtype.
fn check_input(x: &Type, params: &[Type], in_features: usize) -> Result<(), String> {
    if !x.dtype.is_float() {
        return Err(format!("the input must be a float value, got {}", x.dtype));
    }
    if x.rank() == 0 || x.dims()[x.rank() - 1] != in_features {
        return Err(format!("the input {x} must have shape [..., {in_features}]"));
    }
    if let Some(p) = params.iter().find(|p| p.dtype != x.dtype) {
        return Err(format!(
            "the parameters are {} but the input is {}; .cast() one of them",
            p.dtype, x.dtype
        ));
    }
    Ok(())
}

/// A multilayer perceptron: [`Linear`] layers of the given sizes with an
/// activation between them (none after the last layer unless
/// [`Mlp::output_activation`] says so).
///
/// Parameters are named `w1, b1, w2, b2, …` (torch layout, `wK: [out, in]`),
/// the keys of a PyTorch `nn.Sequential` exported layer by layer, and of the
/// tutorial's `data/drift_init.npz`:
///
/// ```
/// use gradlift::nn::{Activation, Mlp};
/// let mlp = Mlp::new(&[1, 100, 50, 2]).activation(Activation::Relu);
/// let p = mlp.load_npz(concat!(env!("CARGO_MANIFEST_DIR"), "/data/drift_init.npz"))?;
/// assert_eq!(p.names(), ["w1", "b1", "w2", "b2", "w3", "b3"]);
/// # Ok::<(), gradlift::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    sizes: Vec<usize>,
    activation: Activation,
    output_activation: Activation,
    bias: bool,
    weight_init: Init,
    bias_init: Init,
    dtype: DType,
}

impl Mlp {
    /// Layers `sizes[0] → sizes[1] → … → sizes[n-1]` (at least two sizes),
    /// with no activation yet ([`Mlp::activation`] sets one), biases,
    /// PyTorch's default init, f32.
    pub fn new(sizes: &[usize]) -> Mlp {
        Mlp {
            sizes: sizes.to_vec(),
            activation: Activation::Identity,
            output_activation: Activation::Identity,
            bias: true,
            weight_init: Init::TorchLinear,
            bias_init: Init::TorchLinear,
            dtype: DType::F32,
        }
    }

    /// The activation between layers.
    pub fn activation(mut self, a: Activation) -> Mlp {
        self.activation = a;
        self
    }

    /// The activation after the last layer (default: none).
    pub fn output_activation(mut self, a: Activation) -> Mlp {
        self.output_activation = a;
        self
    }

    /// With (default) or without biases.
    pub fn bias(mut self, on: bool) -> Mlp {
        self.bias = on;
        self
    }

    /// How weights are initialised (default [`Init::TorchLinear`]).
    pub fn weight_init(mut self, init: Init) -> Mlp {
        self.weight_init = init;
        self
    }

    /// How biases are initialised (default [`Init::TorchLinear`]).
    pub fn bias_init(mut self, init: Init) -> Mlp {
        self.bias_init = init;
        self
    }

    /// The parameters' dtype for [`Mlp::init`] and [`Mlp::load_npz`]
    /// (default f32).
    pub fn dtype(mut self, dtype: DType) -> Mlp {
        self.dtype = dtype;
        self
    }

    /// The layer sizes.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The layers, first to last.
    pub fn layers(&self) -> Vec<Linear> {
        self.sizes
            .windows(2)
            .map(|w| Linear {
                in_features: w[0],
                out_features: w[1],
                bias: self.bias,
                weight_init: self.weight_init,
                bias_init: self.bias_init,
                dtype: self.dtype,
            })
            .collect()
    }

    /// The parameter names in order: `w1, b1, w2, b2, …` (no `bK` without
    /// biases).
    pub fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for k in 1..self.sizes.len() {
            names.push(format!("w{k}"));
            if self.bias {
                names.push(format!("b{k}"));
            }
        }
        names
    }

    /// The parameter types, in the order of [`Mlp::param_names`].
    pub fn param_types(&self) -> Vec<Type> {
        self.layers().iter().flat_map(Linear::param_types).collect()
    }

    /// Fresh parameters drawn from `seed`: parameter `name` from
    /// `Key::new(seed).named(name)`, so each depends only on the seed and
    /// its name.
    pub fn init(&self, seed: u64) -> Result<Params, Error> {
        self.check_sizes()?;
        let key = Key::new(seed);
        let mut p = Params::new();
        for (k, layer) in self.layers().iter().enumerate() {
            layer.init_into(&mut p, key, &format!("w{}", k + 1), &format!("b{}", k + 1))?;
        }
        Ok(p)
    }

    /// Checks that `params` holds this model's parameters: the names of
    /// [`Mlp::param_names`] in order, with the types of [`Mlp::param_types`].
    pub fn check(&self, params: &Params) -> Result<(), Error> {
        self.check_sizes()?;
        let names = self.param_names();
        let expected: Vec<(&str, Type)> =
            names.iter().map(String::as_str).zip(self.param_types()).collect();
        params.check(&expected)
    }

    /// Loads this model's parameters from an `.npz` file (its arrays named
    /// `w1, b1, …`; other arrays are ignored) and checks their shapes and
    /// dtypes against the model.
    pub fn load_npz(&self, path: impl AsRef<Path>) -> Result<Params, Error> {
        self.check_sizes()?;
        let names = self.param_names();
        let keys: Vec<&str> = names.iter().map(String::as_str).collect();
        let p = Params::load_npz_keys(path.as_ref(), &keys)?;
        self.check(&p).map_err(|e| {
            Error::Ir(IrError::Io { path: path.as_ref().display().to_string(), msg: e.to_string() })
        })?;
        Ok(p)
    }

    /// The network applied to `x` (`[..., sizes[0]]` → `[..., sizes[n-1]]`)
    /// with `params` in the order of [`Mlp::param_names`]: what
    /// [`optim::Trainer`](crate::optim::Trainer) passes its loss closure.
    /// Wrong counts, shapes or dtypes are recorded as trace errors at the
    /// caller's line, naming the parameter.
    #[track_caller]
    pub fn forward(&self, params: &[Var], x: Var) -> Var {
        let names = self.param_names();
        let mut inputs = vec![x];
        inputs.extend_from_slice(params);
        let checked = validate("mlp", &inputs, |t| {
            self.sizes_problem().map_or(Ok(()), Err)?;
            check_params(&t[1..], &self.param_types(), &names)?;
            check_input(&t[0], &t[1..], self.sizes[0])
        });
        if let Err(poisoned) = checked {
            return poisoned;
        }
        let per_layer = if self.bias { 2 } else { 1 };
        let n_layers = self.sizes.len() - 1;
        let mut h = x;
        for (k, p) in params.chunks(per_layer).enumerate() {
            h = affine(h, p[0], p.get(1).copied());
            h = if k + 1 < n_layers {
                self.activation.apply(h)
            } else {
                self.output_activation.apply(h)
            };
        }
        h
    }

    fn check_sizes(&self) -> Result<(), Error> {
        match self.sizes_problem() {
            Some(msg) => Err(Error::Signature { func: "mlp".into(), msg }),
            None => Ok(()),
        }
    }

    fn sizes_problem(&self) -> Option<String> {
        (self.sizes.len() < 2).then(|| {
            format!("an MLP needs at least two sizes (input and output), got {:?}", self.sizes)
        })
    }
}
