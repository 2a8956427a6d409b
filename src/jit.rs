//! `jit`: compile a traced function (or any transform of one) into native
//! kernels on first call per input signature, and call it on host tensors.

use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use gradlift_compiler::compile::{compile, CompileOptions, Compiled};
use gradlift_compiler::memory::Donation;
use gradlift_ir::interp::eval_function;
use gradlift_ir::{Function, Tensor, Type};
use gradlift_runtime::ThreadPool;

pub use gradlift_runtime::Arg;

use crate::error::Error;
use crate::trace::{trace, TraceFn};

/// How a jitted function is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// Native kernels compiled with Cranelift, run on the thread pool.
    #[default]
    Jit,
    /// The reference interpreter (slow, simple: the oracle).
    Interpreter,
}

/// What one input signature compiled to.
enum Entry {
    Native(Arc<Compiled>),
    Interpreted(Arc<Function>),
}

/// A function compiled per input signature (see [`jit`]).
pub struct Jit<F, M> {
    f: F,
    name: String,
    backend: Backend,
    pool: Option<Arc<ThreadPool>>,
    donations: Vec<Donation>,
    cache: RwLock<Vec<(Vec<Type>, Arc<Entry>)>>,
    _marker: PhantomData<fn() -> M>,
}

/// Compiles `f` on first call for each input signature (shapes and
/// dtypes) and runs the compiled code afterwards, like `jax.jit`. `f` may
/// be any traceable function, including transforms: `jit(grad(f, &[0]))`.
///
/// ```
/// use gradlift::{jit, Tensor, Var};
/// let f = jit(|x: Var, y: Var| (x * y).sin().sum_all());
/// let x = Tensor::from_slice([3], &[1.0f32, 2.0, 3.0])?;
/// let out = f.call(&[&x, &x])?;
/// let want: f32 = [1.0f32, 4.0, 9.0].iter().map(|v| v.sin()).sum();
/// assert!((out[0].item::<f32>()? - want).abs() < 1e-6);
/// # Ok::<(), gradlift::Error>(())
/// ```
pub fn jit<M, F: TraceFn<M> + Clone>(f: F) -> Jit<F, M> {
    Jit {
        f,
        name: "jit".to_string(),
        backend: Backend::Jit,
        pool: None,
        donations: Vec::new(),
        cache: RwLock::new(Vec::new()),
        _marker: PhantomData,
    }
}

impl<M, F: TraceFn<M> + Clone> Jit<F, M> {
    /// Names the traced function (`@name` in dumps and errors).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Chooses the backend (default: native code).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Runs on a pool of `threads` threads instead of the global one.
    pub fn threads(mut self, threads: usize) -> Result<Self, Error> {
        let pool = ThreadPool::new(threads).map_err(Error::Runtime)?;
        self.pool = Some(Arc::new(pool));
        Ok(self)
    }

    /// Donates parameters to results: each `(result, param)` pair writes
    /// result `result` into argument `param` (passed as [`Arg::Mut`] to
    /// [`Jit::run`]) instead of returning it, in place when possible. A
    /// training step updates its weights this way, without copies.
    pub fn donate(mut self, pairs: &[(usize, usize)]) -> Self {
        self.donations = pairs.iter().map(|&(result, param)| Donation { result, param }).collect();
        self
    }

    fn lookup(&self, args: &[&Tensor]) -> Option<Arc<Entry>> {
        let cache = self.cache.read().ok()?;
        cache
            .iter()
            .find(|(sig, _)| {
                sig.len() == args.len()
                    && sig
                        .iter()
                        .zip(args)
                        .all(|(t, a)| t.dtype == a.dtype() && t.shape == *a.shape())
            })
            .map(|(_, e)| e.clone())
    }

    fn entry(&self, args: &[&Tensor]) -> Result<Arc<Entry>, Error> {
        if let Some(e) = self.lookup(args) {
            return Ok(e);
        }
        let types: Vec<Type> = args.iter().map(|a| a.ty()).collect();
        let e = Arc::new(self.build(&types)?);
        if let Ok(mut cache) = self.cache.write() {
            cache.push((types, e.clone()));
        }
        Ok(e)
    }

    fn build(&self, types: &[Type]) -> Result<Entry, Error> {
        let f = trace(&self.name, self.f.clone(), types)?;
        Ok(match self.backend {
            Backend::Interpreter => Entry::Interpreted(Arc::new(f)),
            Backend::Jit => {
                let opts = CompileOptions {
                    donations: self.donations.clone(),
                    pool: self.pool.clone(),
                    ..Default::default()
                };
                Entry::Native(Arc::new(compile(&f, &opts)?))
            }
        })
    }

    /// The traced IR function for arguments of these types (without
    /// compiling it): what `gradlift opt`/`clif` would take as input.
    pub fn traced(&self, args: &[&Tensor]) -> Result<Function, Error> {
        let types: Vec<Type> = args.iter().map(|a| a.ty()).collect();
        trace(&self.name, self.f.clone(), &types)
    }

    /// The compiled form for arguments of these types (compiling it if
    /// needed): the optimised graph, the fused program, the memory plan and
    /// the time each stage took.
    pub fn compiled(&self, args: &[&Tensor]) -> Result<Arc<Compiled>, Error> {
        match &*self.entry(args)? {
            Entry::Native(c) => Ok(c.clone()),
            Entry::Interpreted(_) => {
                Err(Error::Runtime(gradlift_runtime::RuntimeError::InvalidProgram {
                    msg: "this function runs on the interpreter backend".into(),
                }))
            }
        }
    }

    /// Calls the function: compiles on the first call for these argument
    /// types, then runs the compiled code. Allocates the results; use
    /// [`Jit::run`] to reuse result tensors (and to donate arguments).
    pub fn call(&self, args: &[&Tensor]) -> Result<Vec<Tensor>, Error> {
        match &*self.entry(args)? {
            Entry::Native(c) => Ok(c.executable.call(args)?),
            Entry::Interpreted(f) => {
                let owned: Vec<Tensor> = args.iter().map(|t| (*t).clone()).collect();
                Ok(eval_function(f, &owned)?)
            }
        }
    }

    /// Runs the function writing into `results` (tensors of the result
    /// types, reused across calls: a steady-state call allocates nothing).
    /// Donated parameters (see [`Jit::donate`]) are passed as [`Arg::Mut`]
    /// and receive their results; `results` holds the others, in order.
    pub fn run(&self, args: &mut [Arg<'_>], results: &mut [Tensor]) -> Result<(), Error> {
        let entry = self.entry_for(args)?;
        match &*entry {
            Entry::Native(c) => Ok(c.executable.run(args, results)?),
            Entry::Interpreted(f) => {
                let owned: Vec<Tensor> = args.iter().map(|a| a.tensor().clone()).collect();
                let mut outs = eval_function(f, &owned)?;
                let mut rest = Vec::new();
                for (k, t) in outs.drain(..).enumerate() {
                    match self.donations.iter().find(|d| d.result == k) {
                        Some(d) => match &mut args[d.param] {
                            Arg::Mut(dst) => **dst = t,
                            Arg::Ref(_) => {
                                return Err(Error::Runtime(
                                    gradlift_runtime::RuntimeError::DonatedNotMut {
                                        index: d.param,
                                        name: None,
                                    },
                                ))
                            }
                        },
                        None => rest.push(t),
                    }
                }
                for (r, t) in results.iter_mut().zip(rest) {
                    *r = t;
                }
                Ok(())
            }
        }
    }

    /// Like [`Jit::run`], timing every step of the compiled program (see
    /// [`gradlift_runtime::Profile`]): which kernel or product the time
    /// goes to. Print it, or add several calls' profiles together.
    ///
    /// Errors: as [`Jit::run`]; a function on the interpreter backend has
    /// no steps to time.
    pub fn run_profiled(
        &self,
        args: &mut [Arg<'_>],
        results: &mut [Tensor],
    ) -> Result<gradlift_runtime::Profile, Error> {
        match &*self.entry_for(args)? {
            Entry::Native(c) => Ok(c.executable.run_profiled(args, results)?),
            Entry::Interpreted(_) => {
                Err(Error::Runtime(gradlift_runtime::RuntimeError::InvalidProgram {
                    msg: "this function runs on the interpreter backend: nothing to profile".into(),
                }))
            }
        }
    }

    /// The cached (or newly compiled) entry for these arguments' types.
    fn entry_for(&self, args: &[Arg<'_>]) -> Result<Arc<Entry>, Error> {
        let found = self.cache.read().ok().and_then(|c| {
            c.iter()
                .find(|(sig, _)| {
                    sig.len() == args.len()
                        && sig.iter().zip(args).all(|(t, a)| {
                            t.dtype == a.tensor().dtype() && t.shape == *a.tensor().shape()
                        })
                })
                .map(|(_, e)| e.clone())
        });
        match found {
            Some(e) => Ok(e),
            None => self.entry(&args.iter().map(|a| a.tensor()).collect::<Vec<_>>()),
        }
    }
}
