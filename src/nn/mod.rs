//! Neural-network building blocks on traced values: activations,
//! seeded initialisers, a [`Linear`] layer in PyTorch's layout and an
//! [`Mlp`] builder whose parameters are a [`Params`](crate::Params) set.
//!
//! ```
//! use gradlift::nn::{Activation, Mlp};
//! use gradlift::{eval, Tensor, Var};
//!
//! // 1 → 16 → ReLU → 2, PyTorch's default `nn.Linear` init from seed 0.
//! let mlp = Mlp::new(&[1, 16, 2]).activation(Activation::Relu);
//! let params = mlp.init(0)?;
//! assert_eq!(params.names(), ["w1", "b1", "w2", "b2"]);
//! assert_eq!(params.get("w1").unwrap().dims(), [16, 1]); // torch layout [out, in]
//!
//! let x = Tensor::from_slice([3, 1], &[0.0f32, 0.5, 1.0])?;
//! let mut args: Vec<&Tensor> = params.tensors().iter().collect();
//! args.push(&x);
//! let y = eval(
//!     |a: &[Var]| {
//!         let (p, x) = a.split_at(4);
//!         mlp.forward(p, x[0])
//!     },
//!     &args,
//! )?;
//! assert_eq!(y[0].dims(), [3, 2]);
//! # Ok::<(), gradlift::Error>(())
//! ```
//!
//! # What is here
//!
//! - Activations ([`relu`], [`leaky_relu`], [`tanh`], [`sigmoid`], [`gelu`],
//!   [`softplus`], [`silu`], [`softmax`], [`log_softmax`]) as functions and as
//!   the [`Activation`] enum a model stores. They follow `jax.nn`: the same
//!   formulas, so values and gradients match JAX to rounding.
//! - Initialisers ([`Init`]) drawn from a seeded, **counter-based** generator
//!   ([`Key`]): a parameter's values depend only on the seed and the
//!   parameter's name (or index), never on the order of draws, the thread
//!   count or the other parameters.
//! - [`Linear`] (`y = x wᵀ + b`, `w: [out, in]` as `torch.nn.Linear`, so
//!   PyTorch weights load unchanged) and [`Mlp`], a stack of them.
//!
//! A model is a description (sizes, activation, init) plus a separate
//! [`Params`](crate::Params) set: `forward` takes the parameters as a
//! `&[Var]` slice in `Params` order, which is exactly what
//! [`optim::Trainer`](crate::optim::Trainer) hands its loss closure, and
//! what [`grad`](crate::grad) differentiates.

pub(crate) mod activation;
mod check;
mod init;
mod linear;

pub use activation::{
    gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus, tanh, Activation,
};
pub(crate) use check::{fail, operand_number, operand_var, validate};
pub use init::{Fans, Init, Key};
pub use linear::{Linear, Mlp};
