//! Optimisers whose update is traced and compiled into the same executable
//! as the forward and backward pass: one call of [`Trainer::step`] is one
//! training step, with parameters and optimiser state updated in place
//! (donated buffers, no copies of the parameters).
//!
//! ```
//! use gradlift::optim::{Adam, Trainer};
//! use gradlift::{Params, Tensor, Var};
//! // Fit w so that w·x ≈ y.
//! let params = Params::new().with("w", Tensor::scalar(0.0f32))?;
//! let loss = |p: &[Var], d: &[Var]| (p[0] * d[0] - d[1]).square().mean_all();
//! let mut tr = Trainer::new(loss, params, Adam::new(0.1))?;
//! let x = Tensor::from_slice([3], &[1.0f32, 2.0, 3.0])?;
//! let y = Tensor::from_slice([3], &[2.0f32, 4.0, 6.0])?;
//! for _ in 0..300 {
//!     tr.step(&[&x, &y])?;
//! }
//! assert!((tr.params().tensors()[0].item::<f32>()? - 2.0).abs() < 1e-3);
//! # Ok::<(), gradlift::Error>(())
//! ```

use std::path::Path;
use std::sync::Arc;

use gradlift_ir::npy::{read_npz_map, write_npz};
use gradlift_ir::{DType, Tensor};
use smallvec::SmallVec;

use crate::error::Error;
use crate::jit::{jit, Arg, Jit};
use crate::params::Params;
use crate::trace::{IntoOutputs, TraceFn, Var};
use crate::transforms::value_and_grad;
use crate::Profile;

/// A learning rate as a function of the step count (0 at the first step).
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// The same rate at every step.
    Constant(f64),
    /// `initial · gamma^floor(step / every)`.
    Step {
        /// The rate of the first `every` steps.
        initial: f64,
        /// Steps between decays.
        every: u64,
        /// The factor applied at each decay.
        gamma: f64,
    },
    /// `initial · gamma^step`.
    Exponential {
        /// The rate at step 0.
        initial: f64,
        /// The factor per step.
        gamma: f64,
    },
    /// Cosine decay from `initial` to `final_value` over `total` steps,
    /// constant afterwards.
    Cosine {
        /// The rate at step 0.
        initial: f64,
        /// Steps of the decay.
        total: u64,
        /// The rate from step `total` on.
        final_value: f64,
    },
}

impl From<f64> for Schedule {
    fn from(lr: f64) -> Schedule {
        Schedule::Constant(lr)
    }
}

impl Schedule {
    /// The rate at `step` (host-side, for plots and checks).
    pub fn value(&self, step: u64) -> f64 {
        match *self {
            Schedule::Constant(lr) => lr,
            Schedule::Step { initial, every, gamma } => {
                initial * gamma.powi((step / every.max(1)) as i32)
            }
            Schedule::Exponential { initial, gamma } => initial * gamma.powf(step as f64),
            Schedule::Cosine { initial, total, final_value } => {
                let frac = (step.min(total) as f64) / (total.max(1) as f64);
                final_value
                    + 0.5 * (initial - final_value) * (1.0 + (std::f64::consts::PI * frac).cos())
            }
        }
    }

    /// The rate at the traced step count `step` (a float scalar).
    pub fn traced(&self, step: Var) -> Var {
        match *self {
            Schedule::Constant(lr) => step.full_like(lr),
            Schedule::Step { initial, every, gamma } => {
                let k = (step / every.max(1) as f64).floor();
                step.full_like(gamma).pow(k) * initial
            }
            Schedule::Exponential { initial, gamma } => step.full_like(gamma).pow(step) * initial,
            Schedule::Cosine { initial, total, final_value } => {
                let frac = step.minimum(total as f64) / total.max(1) as f64;
                (frac * std::f64::consts::PI).cos() * (0.5 * (initial - final_value))
                    + (0.5 * (initial - final_value) + final_value)
            }
        }
    }
}

/// Gradient clipping, applied before the update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Clip {
    /// Clamp every gradient element into `[-c, c]`.
    Value(f64),
    /// Scale all gradients together so their global L2 norm is at most `c`.
    GlobalNorm(f64),
}

/// An optimiser: per-parameter state slots and a traced update rule.
pub trait Optimizer: Send + Sync {
    /// Short name (`adam`).
    fn name(&self) -> &'static str;
    /// The state slots each parameter gets (zeros at the start).
    fn slots(&self) -> &'static [&'static str];
    /// The learning-rate schedule.
    fn schedule(&self) -> &Schedule;
    /// One parameter's update: `t` is the 1-based step number and `lr` the
    /// rate (both float scalars of the parameter's dtype), `state` its
    /// slots. Returns the new parameter and the new slots.
    fn update(&self, t: Var, lr: Var, p: Var, g: Var, state: &[Var]) -> (Var, Vec<Var>);
}

/// Stochastic gradient descent with optional momentum (heavy ball or
/// Nesterov) and L2 weight decay, as `torch.optim.SGD`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sgd {
    /// The learning rate (schedule).
    pub lr: Schedule,
    /// Momentum factor (0: none).
    pub momentum: f64,
    /// Nesterov momentum instead of heavy-ball.
    pub nesterov: bool,
    /// Weight decay factor.
    pub weight_decay: f64,
}

impl Sgd {
    /// Plain SGD at rate `lr`.
    pub fn new(lr: impl Into<Schedule>) -> Sgd {
        Sgd { lr: lr.into(), momentum: 0.0, nesterov: false, weight_decay: 0.0 }
    }
    /// Sets the momentum factor.
    pub fn momentum(mut self, m: f64) -> Sgd {
        self.momentum = m;
        self
    }
    /// Uses Nesterov momentum.
    pub fn nesterov(mut self, on: bool) -> Sgd {
        self.nesterov = on;
        self
    }
    /// Sets L2 weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Sgd {
        self.weight_decay = wd;
        self
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }
    fn slots(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["velocity"]
        } else {
            &[]
        }
    }
    fn schedule(&self) -> &Schedule {
        &self.lr
    }
    fn update(&self, _t: Var, lr: Var, p: Var, g: Var, state: &[Var]) -> (Var, Vec<Var>) {
        let g = if self.weight_decay != 0.0 { g + p * self.weight_decay } else { g };
        if self.momentum == 0.0 {
            return (p - lr * g, vec![]);
        }
        let v = state[0] * self.momentum + g;
        let step = if self.nesterov { g + v * self.momentum } else { v };
        (p - lr * step, vec![v])
    }
}

/// Adam (and AdamW with decoupled weight decay), as `optax.adam` /
/// `torch.optim.Adam`: ε is added outside the square root, and the bias
/// corrections are applied to the step size and the root, as torch does.
#[derive(Clone, Debug, PartialEq)]
pub struct Adam {
    /// The learning rate (schedule).
    pub lr: Schedule,
    /// Decay of the first-moment average.
    pub beta1: f64,
    /// Decay of the second-moment average.
    pub beta2: f64,
    /// Added to the denominator for stability.
    pub eps: f64,
    /// Weight decay factor.
    pub weight_decay: f64,
    /// Decoupled weight decay (AdamW) instead of an L2 term in the gradient.
    pub decoupled: bool,
}

impl Adam {
    /// Adam at rate `lr` with β = (0.9, 0.999), ε = 1e-8.
    pub fn new(lr: impl Into<Schedule>) -> Adam {
        Adam {
            lr: lr.into(),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        }
    }
    /// AdamW: decoupled weight decay (default 0.01, as torch).
    pub fn adamw(lr: impl Into<Schedule>, weight_decay: f64) -> Adam {
        Adam { weight_decay, decoupled: true, ..Adam::new(lr) }
    }
    /// Sets β1 and β2.
    pub fn betas(mut self, b1: f64, b2: f64) -> Adam {
        self.beta1 = b1;
        self.beta2 = b2;
        self
    }
    /// Sets ε.
    pub fn eps(mut self, eps: f64) -> Adam {
        self.eps = eps;
        self
    }
    /// Sets the weight decay (L2 for Adam, decoupled for AdamW).
    pub fn weight_decay(mut self, wd: f64) -> Adam {
        self.weight_decay = wd;
        self
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        if self.decoupled {
            "adamw"
        } else {
            "adam"
        }
    }
    fn slots(&self) -> &'static [&'static str] {
        &["m", "v"]
    }
    fn schedule(&self) -> &Schedule {
        &self.lr
    }
    fn update(&self, t: Var, lr: Var, p: Var, g: Var, state: &[Var]) -> (Var, Vec<Var>) {
        let g =
            if self.weight_decay != 0.0 && !self.decoupled { g + p * self.weight_decay } else { g };
        let m = state[0] * self.beta1 + g * (1.0 - self.beta1);
        let v = state[1] * self.beta2 + g.square() * (1.0 - self.beta2);
        let bc1 = 1.0 - t.full_like(self.beta1).pow(t);
        let bc2 = 1.0 - t.full_like(self.beta2).pow(t);
        // lr m̂ / (√v̂ + ε) with the bias corrections folded into two
        // scalars, as torch computes it: per element one square root and one
        // division, where optax's form takes three divisions (the step
        // of a 5 000-weight layer is bound by them). Equal up to rounding.
        let step = lr / bc1;
        let inv_root_bc2 = 1.0 / bc2.sqrt();
        let mut p_new = p - step * m / (v.sqrt() * inv_root_bc2 + self.eps);
        if self.decoupled && self.weight_decay != 0.0 {
            p_new -= lr * self.weight_decay * p;
        }
        (p_new, vec![m, v])
    }
}

/// RMSProp, as `torch.optim.RMSprop` (`alpha` = 0.99, ε outside the root).
#[derive(Clone, Debug, PartialEq)]
pub struct RmsProp {
    /// The learning rate (schedule).
    pub lr: Schedule,
    /// Decay of the squared-gradient average.
    pub alpha: f64,
    /// Added to the denominator for stability.
    pub eps: f64,
    /// Momentum factor (0: none).
    pub momentum: f64,
}

impl RmsProp {
    /// RMSProp at rate `lr` (α = 0.99, ε = 1e-8).
    pub fn new(lr: impl Into<Schedule>) -> RmsProp {
        RmsProp { lr: lr.into(), alpha: 0.99, eps: 1e-8, momentum: 0.0 }
    }
    /// Sets α.
    pub fn alpha(mut self, a: f64) -> RmsProp {
        self.alpha = a;
        self
    }
    /// Sets the momentum factor.
    pub fn momentum(mut self, m: f64) -> RmsProp {
        self.momentum = m;
        self
    }
}

impl Optimizer for RmsProp {
    fn name(&self) -> &'static str {
        "rmsprop"
    }
    fn slots(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["square_avg", "momentum"]
        } else {
            &["square_avg"]
        }
    }
    fn schedule(&self) -> &Schedule {
        &self.lr
    }
    fn update(&self, _t: Var, lr: Var, p: Var, g: Var, state: &[Var]) -> (Var, Vec<Var>) {
        let sq = state[0] * self.alpha + g.square() * (1.0 - self.alpha);
        let step = g / (sq.sqrt() + self.eps);
        if self.momentum != 0.0 {
            let b = state[1] * self.momentum + step;
            (p - lr * b, vec![sq, b])
        } else {
            (p - lr * step, vec![sq])
        }
    }
}

/// Adagrad, as `torch.optim.Adagrad` (ε = 1e-10).
#[derive(Clone, Debug, PartialEq)]
pub struct Adagrad {
    /// The learning rate (schedule).
    pub lr: Schedule,
    /// Added to the denominator for stability.
    pub eps: f64,
}

impl Adagrad {
    /// Adagrad at rate `lr`.
    pub fn new(lr: impl Into<Schedule>) -> Adagrad {
        Adagrad { lr: lr.into(), eps: 1e-10 }
    }
}

impl Optimizer for Adagrad {
    fn name(&self) -> &'static str {
        "adagrad"
    }
    fn slots(&self) -> &'static [&'static str] {
        &["sum"]
    }
    fn schedule(&self) -> &Schedule {
        &self.lr
    }
    fn update(&self, _t: Var, lr: Var, p: Var, g: Var, state: &[Var]) -> (Var, Vec<Var>) {
        let s = state[0] + g.square();
        (p - lr * g / (s.sqrt() + self.eps), vec![s])
    }
}

/// Applies `clip` to all gradients together.
pub fn clip_gradients(grads: &[Var], clip: Clip) -> Vec<Var> {
    match clip {
        Clip::Value(c) => grads.iter().map(|g| g.maximum(-c).minimum(c)).collect(),
        Clip::GlobalNorm(c) => {
            let Some(first) = grads.first() else { return Vec::new() };
            let mut total = first.square().sum_all();
            for g in &grads[1..] {
                total += g.square().sum_all().cast(first.dtype());
            }
            let norm = total.sqrt();
            // scale = min(1, c / norm); a zero norm keeps the gradients.
            let scale = (norm.full_like(c) / norm.maximum(1e-30)).minimum(1.0);
            grads.iter().map(|g| *g * scale.cast(g.dtype())).collect()
        }
    }
}

/// A type-erased traced function, so a [`Trainer`] can hold its step.
#[derive(Clone)]
struct StepFn(Arc<DynTraceable>);

/// A shareable traced function of any arity.
type DynTraceable = dyn Fn(&[Var]) -> Vec<Var> + Send + Sync;

/// Marker for [`StepFn`]'s [`TraceFn`] implementation.
pub struct StepFnMarker;

impl TraceFn<StepFnMarker> for StepFn {
    fn arity(&self) -> Option<usize> {
        None
    }
    fn call_traced(self, args: &[Var]) -> Vec<Var> {
        (self.0)(args).into_outputs()
    }
}

/// One compiled training step per data signature: loss, gradient, clipping
/// and the optimiser update in one executable; parameters, optimiser state
/// and the step count updated in place.
pub struct Trainer {
    params: Params,
    slots: &'static [&'static str],
    state: Vec<Tensor>,
    step: Tensor,
    loss: Vec<Tensor>,
    jit: Jit<StepFn, StepFnMarker>,
}

impl Trainer {
    /// A trainer minimising `loss(params, data)` (a float scalar) over
    /// `params` with `opt`.
    pub fn new<L, O>(loss: L, params: Params, opt: O) -> Result<Trainer, Error>
    where
        L: Fn(&[Var], &[Var]) -> Var + Clone + Send + Sync + 'static,
        O: Optimizer + 'static,
    {
        Trainer::with_clip(loss, params, opt, None)
    }

    /// Like [`Trainer::new`], clipping gradients first.
    pub fn with_clip<L, O>(
        loss: L,
        params: Params,
        opt: O,
        clip: Option<Clip>,
    ) -> Result<Trainer, Error>
    where
        L: Fn(&[Var], &[Var]) -> Var + Clone + Send + Sync + 'static,
        O: Optimizer + 'static,
    {
        let np = params.len();
        let slots = opt.slots();
        let ns = slots.len();
        let mut state = Vec::with_capacity(np * ns);
        for t in params.tensors() {
            if !t.dtype().is_float() {
                return Err(Error::Signature {
                    func: "trainer".into(),
                    msg: format!("parameters must be float tensors, got {}", t.ty()),
                });
            }
            for _ in 0..ns {
                state.push(Tensor::zeros(t.dtype(), t.shape().clone())?);
            }
        }
        let opt = Arc::new(opt);
        let body = move |all: &[Var]| -> Vec<Var> {
            let (p, rest) = all.split_at(np);
            let (s, rest) = rest.split_at(np * ns);
            let (count, data) = rest.split_at(1);
            let data = data.to_vec();
            let l = loss.clone();
            let argnums: Vec<usize> = (0..np).collect();
            let (value, grads) = value_and_grad(move |ps: &[Var]| vec![l(ps, &data)], &argnums)(p);
            let grads = match clip {
                Some(c) => clip_gradients(&grads, c),
                None => grads,
            };
            let t_new = count[0] + 1i64;
            let mut new_params = Vec::with_capacity(np);
            let mut new_state = Vec::with_capacity(np * ns);
            for i in 0..np {
                let dt = p[i].dtype();
                let t = t_new.cast(dt);
                let lr = opt.schedule().traced(count[0].cast(dt));
                let (pn, sn) = opt.update(t, lr, p[i], grads[i], &s[i * ns..(i + 1) * ns]);
                new_params.push(pn);
                new_state.extend(sn);
            }
            let mut out = vec![value];
            out.extend(new_params);
            out.extend(new_state);
            out.push(t_new);
            out
        };
        let donations: Vec<(usize, usize)> = (0..np + np * ns + 1).map(|k| (1 + k, k)).collect();
        let jit = jit(StepFn(Arc::new(body))).named("train_step").donate(&donations);
        Ok(Trainer { params, slots, state, step: Tensor::scalar(0i64), loss: Vec::new(), jit })
    }

    /// Runs one training step on `data` and returns the loss before the
    /// update. Compiles on the first call for these data types.
    pub fn step(&mut self, data: &[&Tensor]) -> Result<f64, Error> {
        self.step_with(data, |jit, args, loss| jit.run(args, loss)).map(|(loss, ())| loss)
    }

    /// Like [`Trainer::step`], timing each kernel and product of the step
    /// (see [`Profile`]); the step itself is the same.
    pub fn step_profiled(&mut self, data: &[&Tensor]) -> Result<(f64, Profile), Error> {
        self.step_with(data, |jit, args, loss| jit.run_profiled(args, loss))
    }

    /// One step, the compiled call made by `call` (plain or profiled).
    fn step_with<R>(
        &mut self,
        data: &[&Tensor],
        call: impl FnOnce(&Jit<StepFn, StepFnMarker>, &mut [Arg<'_>], &mut [Tensor]) -> Result<R, Error>,
    ) -> Result<(f64, R), Error> {
        if self.loss.is_empty() {
            // First call: compile, and size the loss result from the
            // executable (the loss dtype is the loss function's).
            let mut refs: Vec<&Tensor> = self.params.tensors().iter().chain(&self.state).collect();
            refs.push(&self.step);
            refs.extend_from_slice(data);
            self.loss = self.jit.compiled(&refs)?.executable.new_results();
        }
        let mut args: SmallVec<[Arg<'_>; 32]> = SmallVec::new();
        for p in self.params.tensors_mut() {
            args.push(Arg::Mut(p));
        }
        for s in &mut self.state {
            args.push(Arg::Mut(s));
        }
        args.push(Arg::Mut(&mut self.step));
        for d in data {
            args.push(Arg::Ref(d));
        }
        let out = call(&self.jit, &mut args, &mut self.loss)?;
        let loss =
            self.loss.first().and_then(|l| l.to_f64_vec().first().copied()).unwrap_or(f64::NAN);
        Ok((loss, out))
    }

    /// The traced training step for `data` (parameters, optimiser state,
    /// step count, then the data; results: the loss, then the updated
    /// parameters, state and count), without compiling it.
    pub fn traced_step(&self, data: &[&Tensor]) -> Result<gradlift_ir::Function, Error> {
        let mut refs: Vec<&Tensor> = self.params.tensors().iter().chain(&self.state).collect();
        refs.push(&self.step);
        refs.extend_from_slice(data);
        self.jit.traced(&refs)
    }

    /// The compiled training step for `data`: its fused program, memory
    /// plan and compile times.
    pub fn compiled_step(
        &self,
        data: &[&Tensor],
    ) -> Result<Arc<gradlift_compiler::compile::Compiled>, Error> {
        let mut refs: Vec<&Tensor> = self.params.tensors().iter().chain(&self.state).collect();
        refs.push(&self.step);
        refs.extend_from_slice(data);
        self.jit.compiled(&refs)
    }

    /// The current parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step.item::<i64>().unwrap_or(0) as u64
    }

    /// The optimiser state, named `param.slot` (e.g. `w1.m`).
    pub fn state(&self) -> Params {
        let mut out = Params::new();
        let ns = self.slots.len();
        for (i, name) in self.params.names().iter().enumerate() {
            for (k, slot) in self.slots.iter().enumerate() {
                // Names are unique by construction.
                let _ = out.push(&format!("{name}.{slot}"), self.state[i * ns + k].clone());
            }
        }
        out
    }

    /// Saves parameters, optimiser state and step count to an `.npz`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let state = self.state();
        let mut items: Vec<(String, &Tensor)> = Vec::new();
        for (n, t) in self.params.iter() {
            items.push((format!("param.{n}"), t));
        }
        for (n, t) in state.iter() {
            items.push((format!("state.{n}"), t));
        }
        items.push(("step".to_string(), &self.step));
        let refs: Vec<(&str, &Tensor)> = items.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        Ok(write_npz(path.as_ref(), &refs)?)
    }

    /// Restores what [`Trainer::save`] wrote (same parameter names, types
    /// and optimiser).
    pub fn restore(&mut self, path: impl AsRef<Path>) -> Result<(), Error> {
        let m = read_npz_map(path.as_ref())?;
        let missing = |k: &str| {
            Error::Ir(gradlift_ir::IrError::Io {
                path: path.as_ref().display().to_string(),
                msg: format!("no array {k:?} (or a different type than the trainer's)"),
            })
        };
        let ns = self.slots.len();
        let names: Vec<String> = self.params.names().to_vec();
        for (i, name) in names.iter().enumerate() {
            let key = format!("param.{name}");
            let t = m
                .get(&key)
                .filter(|t| t.ty() == self.params.tensors()[i].ty())
                .ok_or_else(|| missing(&key))?;
            self.params.tensors_mut()[i] = t.clone();
            for (k, slot) in self.slots.iter().enumerate() {
                let key = format!("state.{name}.{slot}");
                let t = m
                    .get(&key)
                    .filter(|t| t.ty() == self.state[i * ns + k].ty())
                    .ok_or_else(|| missing(&key))?;
                self.state[i * ns + k] = t.clone();
            }
        }
        self.step = m
            .get("step")
            .filter(|t| t.dtype() == DType::I64)
            .ok_or_else(|| missing("step"))?
            .clone();
        Ok(())
    }
}
