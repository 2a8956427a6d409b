//! The reference interpreter: the oracle every later stage (transforms,
//! passes, the JIT) is tested against. Plain, obvious code; speed is not a
//! goal, but memory is bounded (each value is dropped after its last use)
//! and nothing recurses (a 10^6-node chain runs on a 1 MiB stack).
//!
//! Semantics follow XLA / jax.lax, computed in the op's own dtype (f32 math
//! is done in f32 with Rust's `f32` methods, never through f64):
//!
//! - **Unary**: `neg`/`abs` wrap for integers (`abs(MIN) = MIN`); `sign` is
//!   -1/0/1, keeps ±0 and NaN; `exp log log1p expm1 sqrt sin cos tanh` are
//!   Rust's `exp ln ln_1p exp_m1 sqrt sin cos tanh`; `rsqrt` is `1 / sqrt`;
//!   `logistic` is `1 / (1 + exp(-x))`, exactly 0 and 1 at the extremes;
//!   `floor ceil`; `round` is half away from zero (`f32::round`); `not` is
//!   logical for bool and bitwise for integers.
//! - **Binary**: `add sub mul` wrap for integers. `div`: IEEE for floats;
//!   integers truncate toward zero, `x / 0 = -1`, `MIN / -1 = MIN`. `rem`:
//!   fmod (sign of the dividend) for floats; integers `x rem 0 = x`,
//!   `MIN rem -1 = 0`. `pow` is `powf`. `max`/`min` propagate NaN and order
//!   -0 below +0. `and`/`or`: logical for bool, bitwise for integers.
//! - **Compare** (`eq ne lt le gt ge`, any dtype): IEEE, so NaN compares
//!   false except under `ne`, and -0 == +0; false < true.
//! - **select**, elementwise. **convert**: Rust `as` between numbers (float →
//!   int truncates toward zero and saturates, NaN → 0; int → int wraps; to a
//!   float rounds to nearest), `x != 0` to bool (NaN → true), 0/1 from bool.
//! - **iota**: the index along the axis, converted with `as`.
//! - **Shape ops** follow XLA: `broadcast_in_dim` (size-1 dims stretch),
//!   row-major `reshape`, `transpose` (result dim i = operand dim perm[i]),
//!   strided `slice`, `concatenate`, `pad` (interior first, then low/high,
//!   negative low/high crop), `reverse`.
//! - **Reductions** start each result at the identity (sum 0, prod 1, max
//!   -inf or MIN, min +inf or MAX) and fold the operand in row-major order,
//!   one element at a time in the dtype; max/min propagate NaN. Reducing
//!   over no axes returns the operand unchanged (bit for bit).
//! - **argmax** → i64: the first maximum; the first NaN wins.
//! - **dot_general**: result dims batch, lhs free, rhs free; each element
//!   is `0 + l*r + ...` in the dtype, sequential over the contracting index
//!   in row-major order (no FMA); integers wrap.
//! - **gather** = `np.take(x, idx, axis, mode='clip')`: indices are clamped
//!   into `[0, n-1]`. **scatter_add** adds the updates at the clamped
//!   indices, duplicates accumulating in row-major order of the updates.
//! - **stop_gradient**: identity.
//!
//! The NaN an op returns is some NaN: its sign and payload are unspecified.

use std::sync::Arc;

use smallvec::SmallVec;

use crate::error::IrError;
use crate::graph::{Function, Module, Node};
use crate::op::Op;
use crate::tensor::{Data, Tensor};
use crate::verify;

/// Runs `$body` with the type alias `$T` naming the element type of the
/// dtype `$dt` (bool included).
macro_rules! for_dtype {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::dtype::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::dtype::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::dtype::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::dtype::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::dtype::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}

mod elem;
mod elementwise;
mod indexing;
mod linalg;
mod reduce;
mod shape_ops;

use elem::internal;

/// Evaluates `f` on `args` (one tensor per parameter, of the parameter's
/// exact type) and returns its results in order.
///
/// The function is verified first; a malformed graph gives the verifier's
/// error. Wrong argument counts, dtypes or shapes give [`IrError::Eval`]
/// naming the parameter.
pub fn eval_function(f: &Function, args: &[Tensor]) -> Result<Vec<Tensor>, IrError> {
    eval_function_with_stats(f, args).map(|(results, _)| results)
}

/// Evaluates function `func` of `m` (`None`: the first function).
pub fn eval_module(
    m: &Module,
    func: Option<&str>,
    args: &[Tensor],
) -> Result<Vec<Tensor>, IrError> {
    eval_function(m.func(func)?, args)
}

/// What one evaluation held in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct EvalStats {
    /// The most values alive at once (arguments and results included).
    pub peak_live_values: usize,
}

/// [`eval_function`], also reporting how many values were alive at most
/// (tests use it to check that intermediates are dropped after their last
/// use).
pub fn eval_function_with_stats(
    f: &Function,
    args: &[Tensor],
) -> Result<(Vec<Tensor>, EvalStats), IrError> {
    verify::verify_function(f)?;
    check_args(f, args)?;

    let n = f.len();
    let last_use = last_uses(f);
    let mut slots: Vec<Slot<'_>> = (0..n).map(|_| Slot::Empty).collect();
    let mut live = 0usize;
    let mut stats = EvalStats::default();

    for (v, node) in f.iter() {
        let i = v.index();
        let result = match &node.op {
            // Arguments are borrowed, constants shared: no copies.
            Op::Parameter { index } => match args.get(*index as usize) {
                Some(t) => Slot::Arg(t),
                None => return Err(internal(format!("no argument for parameter {index}"))),
            },
            Op::Constant { value } => Slot::Owned(Arc::clone(value)),
            Op::StopGradient => slots[node.args[0].index()].clone(),
            // A reshape of a value used for the last time reuses its buffer.
            Op::Reshape { shape } => {
                let x = node.args[0].index();
                let data = if last_use[x] == Some(i) {
                    let data = std::mem::take(&mut slots[x]).into_tensor()?.into_data();
                    live -= 1;
                    data
                } else {
                    slots[x].get()?.data().clone()
                };
                Slot::Owned(Arc::new(Tensor::new(shape.clone(), data)?))
            }
            _ => {
                let mut ins: SmallVec<[&Tensor; 3]> = SmallVec::new();
                for a in &node.args {
                    ins.push(slots[a.index()].get()?);
                }
                let data = eval_op(node, &ins).map_err(|e| e.with_loc(f.loc(v).cloned()))?;
                Slot::Owned(Arc::new(Tensor::new(node.ty.shape.clone(), data)?))
            }
        };
        check_result(f, node, i, &result)?;
        if last_use[i].is_some() {
            slots[i] = result;
            live += 1;
        }
        stats.peak_live_values = stats.peak_live_values.max(live);
        for a in &node.args {
            let a = a.index();
            if last_use[a] == Some(i) && !matches!(slots[a], Slot::Empty) {
                slots[a] = Slot::Empty;
                live -= 1;
            }
        }
    }

    let results = f.results();
    let mut out = Vec::with_capacity(results.len());
    for (k, r) in results.iter().enumerate() {
        let slot = &mut slots[r.index()];
        let used_again = results[k + 1..].contains(r);
        out.push(if used_again {
            slot.get()?.clone()
        } else {
            std::mem::take(slot).into_tensor()?
        });
    }
    Ok((out, stats))
}

/// The semantics of one instruction on its operand values: one exhaustive
/// match over the op list. Parameters, constants, stop_gradient and
/// reshape are short-cut by the caller to avoid copies; their arms here say
/// the same thing the slow way.
fn eval_op(node: &Node, ins: &[&Tensor]) -> Result<Data, IrError> {
    let arg = |k: usize| -> Result<&Tensor, IrError> {
        ins.get(k)
            .copied()
            .ok_or_else(|| internal(format!("{}: missing operand {k}", node.op.name())))
    };
    match &node.op {
        Op::Parameter { .. } => Err(internal("parameters are bound, not evaluated".into())),
        Op::Constant { value } => Ok(value.data().clone()),
        Op::Iota { dtype, shape, axis } => shape_ops::iota(*dtype, shape, *axis),
        Op::Unary(u) => elementwise::unary(*u, arg(0)?),
        Op::Binary(b) => elementwise::binary(*b, arg(0)?, arg(1)?),
        Op::Compare(c) => elementwise::compare(*c, arg(0)?, arg(1)?),
        Op::Select => elementwise::select(arg(0)?, arg(1)?, arg(2)?),
        Op::Convert { to } => Ok(elementwise::convert(arg(0)?.data(), *to)),
        Op::BroadcastInDim { shape, dims } => Ok(shape_ops::broadcast_in_dim(arg(0)?, shape, dims)),
        Op::Reshape { .. } => Ok(arg(0)?.data().clone()),
        Op::Transpose { perm } => Ok(shape_ops::transpose(arg(0)?, perm)),
        Op::Slice(s) => Ok(shape_ops::slice(arg(0)?, s, &node.ty.shape)),
        Op::Concatenate { axis } => shape_ops::concatenate(ins, *axis),
        Op::Pad(p) => shape_ops::pad(arg(0)?, arg(1)?, p, &node.ty.shape),
        Op::Reverse { axes } => Ok(shape_ops::reverse(arg(0)?, axes)),
        Op::Reduce { kind, axes } => reduce::reduce(*kind, arg(0)?, axes),
        Op::Argmax { axis } => reduce::argmax(arg(0)?, *axis),
        Op::DotGeneral(d) => linalg::dot_general(arg(0)?, arg(1)?, d),
        Op::Gather { axis } => indexing::gather(arg(0)?, arg(1)?, *axis),
        Op::ScatterAdd { axis } => indexing::scatter_add(arg(0)?, arg(1)?, arg(2)?, *axis),
        Op::StopGradient => Ok(arg(0)?.data().clone()),
        Op::CustomJvp(rule) => {
            let args: Vec<Tensor> = ins.iter().map(|t| (*t).clone()).collect();
            let mut out = eval_function(&rule.primal, &args)?;
            out.pop().map(Tensor::into_data).ok_or_else(|| internal("custom_jvp: no result".into()))
        }
    }
}

/// A value during evaluation: not (or no longer) alive, a borrowed
/// argument, or a tensor shared by the values that pass it through.
#[derive(Clone, Default)]
enum Slot<'a> {
    #[default]
    Empty,
    Arg(&'a Tensor),
    Owned(Arc<Tensor>),
}

impl<'a> Slot<'a> {
    fn get(&self) -> Result<&Tensor, IrError> {
        match self {
            Slot::Empty => Err(internal("a value was used after it was dropped".into())),
            Slot::Arg(t) => Ok(t),
            Slot::Owned(t) => Ok(t),
        }
    }

    /// The tensor, moved out when nothing else shares it.
    fn into_tensor(self) -> Result<Tensor, IrError> {
        match self {
            Slot::Empty => Err(internal("a result was dropped".into())),
            Slot::Arg(t) => Ok(t.clone()),
            Slot::Owned(t) => Ok(Arc::try_unwrap(t).unwrap_or_else(|t| (*t).clone())),
        }
    }
}

/// For each value, the index of the last node that uses it; `None` if
/// nothing uses it, `Some(usize::MAX)` for results (kept to the end).
fn last_uses(f: &Function) -> Vec<Option<usize>> {
    let mut last = vec![None; f.len()];
    for (v, node) in f.iter() {
        for a in &node.args {
            last[a.index()] = Some(v.index());
        }
    }
    for r in f.results() {
        last[r.index()] = Some(usize::MAX);
    }
    last
}

/// Argument count, then each argument's dtype and shape.
fn check_args(f: &Function, args: &[Tensor]) -> Result<(), IrError> {
    if args.len() != f.num_params() {
        return Err(IrError::Eval {
            msg: format!(
                "@{} takes {} argument(s) ({}), got {}",
                f.name(),
                f.num_params(),
                f.param_types().iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
                args.len()
            ),
            loc: None,
        });
    }
    for (p, arg) in f.params().zip(args) {
        let want = f.ty(p);
        if arg.dtype() != want.dtype || arg.dims() != want.dims() {
            let name = match f.value_name(p) {
                Some(n) => format!("parameter {} (%{n})", p.index()),
                None => format!("parameter {}", p.index()),
            };
            return Err(IrError::Eval {
                msg: format!("@{}: {name} expects {want}, got {}", f.name(), arg.ty()),
                loc: f.loc(p).cloned(),
            });
        }
    }
    Ok(())
}

/// Every value must have the type the graph declares; a mismatch is an
/// interpreter bug, reported rather than passed on.
fn check_result(f: &Function, node: &Node, i: usize, slot: &Slot<'_>) -> Result<(), IrError> {
    let t = slot.get()?;
    if t.dtype() != node.ty.dtype || t.dims() != node.ty.dims() {
        return Err(internal(format!(
            "@{}: {} at node {i} produced {}, the graph says {}",
            f.name(),
            node.op.name(),
            t.ty(),
            node.ty
        )));
    }
    Ok(())
}
