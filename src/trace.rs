//! Tracing: running ordinary Rust code on [`Var`]s records it as an IR
//! [`Function`].
//!
//! A `Var` is a small `Copy` handle (trace id, value) into a thread-local
//! stack of active traces. Each active trace owns the `Function` under
//! construction, the first error it met and a small table of file names (so
//! each recorded op costs one `Arc` clone for its source location, not an
//! allocation). Ops cannot return `Result`, so a failing op records the
//! first error of its trace and returns a *poisoned* `Var`; ops on poisoned
//! values do nothing, and [`trace`] returns the recorded error.
//!
//! Nothing here recurses: a trace is a loop of pushes onto a `Vec`.

use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use gradlift_ir::graph::is_valid_name;
use gradlift_ir::{DType, Function, IrError, Loc, Module, Op, Shape, Tensor, Type, Value};
use smallvec::SmallVec;

use crate::error::Error;

mod signature;

pub use signature::{IntoOutputs, TraceFn};

/// Values at or above this index are poisoned: they index the trace's table
/// of placeholder types, not its function. A trace holds fewer nodes.
const POISON_BASE: u32 = 1 << 31;

/// A traced array value: a `Copy` handle into the trace being recorded.
///
/// Arithmetic operators and the methods in this crate record ops into the
/// innermost active trace of the current thread. A `Var` is only meaningful
/// inside the trace that created it; using it anywhere else records a
/// [`Error::ForeignValue`].
///
/// `Var` deliberately implements neither `PartialEq` nor `PartialOrd`:
/// `x.eq(y)` and `x.lt(y)` are traced, elementwise comparisons.
///
/// The methods, by topic: elementwise math (`exp`, `sigmoid`, `square`,
/// `relu`, `powi`, `maximum`, ...), comparisons (`eq ne lt le gt ge`) and
/// logic (`and or not`), `cast`, `stop_gradient`; reductions (`sum`,
/// `mean`, `max`, `min`, `prod` with `_all`/`_keepdims` forms, `argmax`);
/// `matmul` and `dot_general`; shapes (`reshape`, `transpose`, `t`,
/// `broadcast_to`, `expand_dims`, `squeeze`, `slice`, `slice_axis`,
/// `index_axis`, `pad`, `reverse`); indexing (`take`, `scatter_add`); and
/// `full_like`/`zeros_like`/`ones_like`/`scalar_like`. Free functions:
/// [`select`](crate::select), [`concat`](crate::concat),
/// [`stack`](crate::stack), [`constant`](crate::constant),
/// [`full`](crate::full), [`zeros`](crate::zeros), [`ones`](crate::ones),
/// [`scalar`](crate::scalar), [`iota`](crate::iota), [`arange`](crate::arange).
#[derive(Clone, Copy, Debug)]
pub struct Var {
    trace: u32,
    value: Value,
}

impl Var {
    /// A poisoned value that belongs to no trace (an op used outside any
    /// trace has nowhere to record its error).
    fn orphan() -> Var {
        Var { trace: 0, value: Value::from_index(POISON_BASE as usize) }
    }

    /// True if the op that produced this value failed (or depends on one
    /// that did). The error itself is returned by [`trace`].
    pub fn is_poisoned(self) -> bool {
        self.value.index() >= POISON_BASE as usize
    }

    /// The IR value this handle stands for, or `None` if it is poisoned.
    pub fn value(self) -> Option<Value> {
        (!self.is_poisoned()).then_some(self.value)
    }

    /// The value's type. Infallible: a poisoned value reports a best guess
    /// (the type of the failing op's first operand), and a value whose trace
    /// has finished or lives on another thread reports `f32[]`.
    pub fn ty(self) -> Type {
        with_trace(self.trace, |st| st.type_of(self.value)).unwrap_or(Type::scalar(DType::F32))
    }

    /// The value's shape (see [`Var::ty`] for poisoned values).
    pub fn shape(self) -> Shape {
        self.ty().shape
    }

    /// The value's element type (see [`Var::ty`] for poisoned values).
    pub fn dtype(self) -> DType {
        self.ty().dtype
    }

    /// The number of dimensions (0 for a scalar).
    pub fn rank(self) -> usize {
        self.ty().rank()
    }
}

/// One active trace.
struct TraceState {
    id: u32,
    func: Function,
    /// The first error recorded; later ones are dropped.
    error: Option<Error>,
    /// Placeholder types of poisoned values, indexed by `value - POISON_BASE`.
    poison: Vec<Type>,
    /// Interned source file names: `Location::file()` strings are `'static`,
    /// usually one or two per trace, so a short list beats a hash map.
    files: Vec<(&'static str, Arc<str>)>,
    /// Values of enclosing traces used here (closure conversion): the outer
    /// value and the placeholder standing for it until the trace ends,
    /// when it becomes an extra parameter.
    captures: Vec<(Var, Value)>,
}

impl TraceState {
    fn type_of(&self, v: Value) -> Type {
        let i = v.index();
        if i >= POISON_BASE as usize {
            self.poison.get(i - POISON_BASE as usize).cloned().unwrap_or(Type::scalar(DType::F32))
        } else {
            self.func.ty(v).clone()
        }
    }

    fn loc(&mut self, at: &'static Location<'static>) -> Loc {
        let file = at.file();
        let hit = self
            .files
            .iter()
            .find(|(f, _)| std::ptr::eq(*f, file))
            .or_else(|| self.files.iter().find(|(f, _)| *f == file));
        let file = match hit {
            Some((_, arc)) => arc.clone(),
            None => {
                let arc: Arc<str> = Arc::from(file);
                self.files.push((file, arc.clone()));
                arc
            }
        };
        Loc { file, line: at.line(), col: at.column() }
    }

    /// Records `e` if it is the trace's first error and returns a poisoned
    /// value whose placeholder type is `guess` (or `f32[]`).
    fn fail(&mut self, e: Error, guess: Option<Type>) -> Var {
        if self.error.is_none() {
            self.error = Some(e);
        }
        let limit = (u32::MAX - POISON_BASE) as usize;
        if self.poison.len() < limit {
            self.poison.push(guess.unwrap_or(Type::scalar(DType::F32)));
        }
        let k = self.poison.len().saturating_sub(1);
        Var { trace: self.id, value: Value::from_index(POISON_BASE as usize + k) }
    }
}

thread_local! {
    static STACK: RefCell<Vec<TraceState>> = const { RefCell::new(Vec::new()) };
}

/// Trace ids are unique across threads, so a `Var` sent to another thread
/// never matches a trace there. 0 means "no trace".
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

fn fresh_id() -> u32 {
    loop {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        if id != 0 {
            return id;
        }
    }
}

/// Runs `f` on the active trace with id `id`, if there is one.
fn with_trace<R>(id: u32, f: impl FnOnce(&TraceState) -> R) -> Option<R> {
    STACK
        .try_with(|stack| {
            let stack = stack.try_borrow().ok()?;
            stack.iter().rev().find(|s| s.id == id).map(f)
        })
        .ok()
        .flatten()
}

/// The recording context of one user-level op: the trace, the user's source
/// location (shared by every node the op expands into) and the op's name
/// for error messages.
pub(crate) struct Emitter<'a> {
    st: &'a mut TraceState,
    caller: &'static Location<'static>,
    op: &'static str,
    inputs: &'a [Value],
    loc: Option<Loc>,
}

impl Emitter<'_> {
    /// The user-level op being recorded (`add`, `matmul`, ...).
    pub(crate) fn op_name(&self) -> &'static str {
        self.op
    }

    /// The user's source location, as recorded on every node of this op.
    pub(crate) fn loc(&mut self) -> Loc {
        match &self.loc {
            Some(loc) => loc.clone(),
            None => {
                let loc = self.st.loc(self.caller);
                self.loc = Some(loc.clone());
                loc
            }
        }
    }

    /// The type of a value of this trace.
    pub(crate) fn ty(&self, v: Value) -> &Type {
        self.st.func.ty(v)
    }

    pub(crate) fn dtype(&self, v: Value) -> DType {
        self.st.func.ty(v).dtype
    }

    pub(crate) fn shape(&self, v: Value) -> &Shape {
        &self.st.func.ty(v).shape
    }

    /// Appends one instruction at the user's location; the IR shape rule
    /// checks it.
    pub(crate) fn push(&mut self, op: Op, args: &[Value]) -> Result<Value, Error> {
        if self.st.func.len() >= POISON_BASE as usize {
            return Err(self.error(format!("a trace holds at most {POISON_BASE} values")));
        }
        let loc = self.loc();
        Ok(self.st.func.push(op, args, Some(loc))?)
    }

    /// An error about this op's operands or attributes, naming the op, the
    /// operand types and the user's location.
    pub(crate) fn error(&mut self, msg: impl Into<String>) -> Error {
        let operands = self
            .inputs
            .iter()
            .map(|&v| self.st.func.ty(v).to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Error::Ir(IrError::Op { op: self.op, operands, msg: msg.into(), loc: Some(self.loc()) })
    }
}

/// Records one user-level op into the innermost active trace.
///
/// `inputs` are checked first: a value from another trace records
/// [`Error::ForeignValue`]; a poisoned input is returned as is (the op is a
/// no-op). Then `build` appends the op's nodes; an error it returns is
/// recorded (if first) and a poisoned value comes back.
#[track_caller]
pub(crate) fn emit(
    op: &'static str,
    inputs: &[Var],
    build: impl FnOnce(&mut Emitter<'_>, &[Value]) -> Result<Value, Error>,
) -> Var {
    let caller = Location::caller();
    STACK
        .try_with(|stack| {
            let Ok(mut stack) = stack.try_borrow_mut() else { return Var::orphan() };
            let Some(top) = stack.len().checked_sub(1) else { return Var::orphan() };
            let id = stack[top].id;
            let mut values: SmallVec<[Value; 4]> = SmallVec::new();
            for &x in inputs {
                if x.trace != id {
                    match capture(&mut stack, x) {
                        Some(Ok(v)) => {
                            values.push(v);
                            continue;
                        }
                        Some(Err(poisoned)) => return poisoned,
                        None => {}
                    }
                    let detail = foreign_detail(&stack, x.trace);
                    let st = &mut stack[top];
                    let loc = Some(st.loc(caller));
                    return st.fail(Error::ForeignValue { op, detail, loc }, None);
                }
                if x.is_poisoned() {
                    return x;
                }
                values.push(x.value);
            }
            let st = &mut stack[top];
            let mut cx = Emitter { st, caller, op, inputs: &values, loc: None };
            match build(&mut cx, &values) {
                Ok(v) => Var { trace: id, value: v },
                Err(e) => {
                    let guess = values.first().map(|&v| cx.st.func.ty(v).clone());
                    cx.st.fail(e, guess)
                }
            }
        })
        .unwrap_or_else(|_| Var::orphan())
}

/// The value standing in the innermost trace for `x`, a value of an
/// enclosing active trace (closure conversion, as JAX lifts closed-over
/// tracers): a placeholder node now, an extra parameter when the trace
/// ends. `None` when `x` is not from an enclosing trace.
fn capture(stack: &mut [TraceState], x: Var) -> Option<Result<Value, Var>> {
    let top = stack.len().checked_sub(1)?;
    let outer = stack[..top].iter().position(|s| s.id == x.trace)?;
    if x.is_poisoned() {
        // Poison from outside: the enclosing trace already holds the error.
        return Some(Err(x));
    }
    if let Some(&(_, inner)) =
        stack[top].captures.iter().find(|(o, _)| o.trace == x.trace && o.value == x.value)
    {
        return Some(Ok(inner));
    }
    let ty = stack[outer].func.ty(x.value).clone();
    let st = &mut stack[top];
    let placeholder = match Tensor::zeros_of(&ty) {
        Ok(t) => st.func.push(Op::Constant { value: Arc::new(t) }, &[], None),
        Err(e) => Err(e),
    };
    Some(match placeholder {
        Ok(v) => {
            st.captures.push((x, v));
            Ok(v)
        }
        Err(e) => Err(st.fail(e.into(), Some(ty))),
    })
}

/// Rebuilds a finished trace's function with its captured values as
/// extra parameters after the declared ones (placeholders replaced).
fn close_over(f: &Function, captures: &[(Var, Value)]) -> Result<Function, Error> {
    let mut out = Function::new(f.name());
    let mut map: Vec<Option<Value>> = vec![None; f.len()];
    for p in f.params() {
        map[p.index()] = Some(out.add_param(f.value_name(p), f.ty(p).clone())?);
    }
    for (_, ph) in captures {
        map[ph.index()] = Some(out.add_param(None, f.ty(*ph).clone())?);
    }
    for (v, node) in f.instructions() {
        if map[v.index()].is_some() {
            continue;
        }
        let args: Vec<Value> = node.args.iter().map(|a| map[a.index()].unwrap_or(*a)).collect();
        let nv = out.push(node.op.clone(), &args, f.loc(v).cloned())?;
        out.set_value_name(nv, f.value_name(v))?;
        map[v.index()] = Some(nv);
    }
    out.set_results(f.results().iter().map(|r| map[r.index()].unwrap_or(*r)).collect())?;
    Ok(out)
}

/// Explains where a foreign value came from.
fn foreign_detail(stack: &[TraceState], trace: u32) -> String {
    let current = stack.last().map(|s| s.func.name()).unwrap_or("?");
    match stack.iter().find(|s| s.id == trace) {
        Some(s) => format!(
            "an operand belongs to the enclosing trace @{}, but ops are recorded into the \
             innermost trace @{current}; pass the value in as an argument of the inner function",
            s.func.name()
        ),
        None if trace == 0 => format!(
            "an operand was created outside any trace; @{current} cannot use it (build \
             constants inside the traced function)"
        ),
        None => format!(
            "an operand belongs to a trace that has finished or runs on another thread, not to \
             @{current}; values cannot outlive or leave their trace"
        ),
    }
}

/// Pops the trace with id `id` when dropped, so a panic in user code leaves
/// the thread's trace stack as it found it.
struct ActiveTrace {
    id: u32,
}

impl ActiveTrace {
    fn start(func: Function) -> ActiveTrace {
        let id = fresh_id();
        let st = TraceState {
            id,
            func,
            error: None,
            poison: Vec::new(),
            files: Vec::new(),
            captures: Vec::new(),
        };
        // If the thread-local is gone (thread teardown) the trace simply
        // records nothing and `finish` reports it.
        let _ = STACK.try_with(|s| s.borrow_mut().push(st));
        ActiveTrace { id }
    }

    fn take(&self) -> Option<TraceState> {
        STACK
            .try_with(|s| {
                let mut s = s.try_borrow_mut().ok()?;
                let i = s.iter().rposition(|t| t.id == self.id)?;
                Some(s.remove(i))
            })
            .ok()
            .flatten()
    }

    fn finish(self) -> Option<TraceState> {
        let st = self.take();
        std::mem::forget(self);
        st
    }
}

impl Drop for ActiveTrace {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// Builds a traced function step by step: its name, then its parameters
/// (named or not), then the Rust function to trace.
///
/// ```
/// use gradlift::{DType, Tracer, Type, Var};
/// let f = Tracer::new("scale")
///     .param("x", Type::new(DType::F32, [3]))
///     .param("k", Type::scalar(DType::F32))
///     .trace(|x: Var, k: Var| x * k)?;
/// assert_eq!(f.value_name(f.param(0)), Some("x"));
/// # Ok::<(), gradlift::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Tracer {
    name: String,
    params: Vec<(Option<String>, Type)>,
}

impl Tracer {
    /// A tracer for a function named `name` (printed `@name`).
    pub fn new(name: impl Into<String>) -> Tracer {
        Tracer { name: name.into(), params: Vec::new() }
    }

    /// Adds a named parameter (printed `%name`).
    pub fn param(mut self, name: &str, ty: Type) -> Tracer {
        self.params.push((Some(name.to_string()), ty));
        self
    }

    /// Adds unnamed parameters (printed by number).
    pub fn params(mut self, tys: impl IntoIterator<Item = Type>) -> Tracer {
        self.params.extend(tys.into_iter().map(|t| (None, t)));
        self
    }

    /// Traces `f` on fresh parameters and returns the recorded function, or
    /// the first error met while tracing.
    #[track_caller]
    pub fn trace<M, F: TraceFn<M>>(self, f: F) -> Result<Function, Error> {
        let name = self.name.clone();
        let (func, captures) = self.trace_capturing(f)?;
        if let Some(first) = captures.first() {
            let outer = with_trace(first.trace, |t| t.func.name().to_string()).unwrap_or_default();
            return Err(Error::Signature {
                func: name,
                msg: format!(
                    "the function uses {} value(s) of the enclosing trace @{outer}; a closed \
                     function cannot hold them (transforms such as grad pass them along: use \
                     those, or pass the values as arguments)",
                    captures.len()
                ),
            });
        }
        Ok(func)
    }

    /// Like [`Tracer::trace`], but values of enclosing traces that `f` uses
    /// become extra parameters after the declared ones; returns them (the
    /// outer values to pass for those parameters) with the function.
    #[track_caller]
    pub(crate) fn trace_capturing<M, F: TraceFn<M>>(
        self,
        f: F,
    ) -> Result<(Function, Vec<Var>), Error> {
        let caller = Location::caller();
        let Tracer { name, params } = self;
        let sig_err = |msg: String| Error::Signature { func: name.clone(), msg };
        if !is_valid_name(&name) {
            return Err(sig_err(format!(
                "invalid function name {name:?}: use letters, digits and _"
            )));
        }
        if let Some(n) = f.arity() {
            if n != params.len() {
                return Err(Error::Arity { func: name, expected: n, got: params.len() });
            }
        }
        let mut func = Function::new(name.clone());
        let mut args = Vec::with_capacity(params.len());
        for (i, (pname, ty)) in params.iter().enumerate() {
            if let Some(p) = pname {
                if !is_valid_name(p) || p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(sig_err(format!(
                        "invalid parameter name {p:?}: use letters, digits and _ (not all digits)"
                    )));
                }
                if params[..i].iter().any(|(q, _)| q.as_deref() == Some(p)) {
                    return Err(sig_err(format!("two parameters are named %{p}")));
                }
            }
            args.push(func.add_param(pname.as_deref(), ty.clone())?);
        }

        let active = ActiveTrace::start(func);
        let vars: Vec<Var> = args.iter().map(|&value| Var { trace: active.id, value }).collect();
        let outputs = f.call_traced(&vars);
        let id = active.id;
        let Some(mut st) = active.finish() else {
            return Err(sig_err(
                "the thread's trace state is unavailable (thread teardown)".into(),
            ));
        };
        if let Some(e) = st.error.take() {
            return Err(e);
        }
        if outputs.is_empty() {
            return Err(sig_err("the traced function returned no values".into()));
        }
        let mut results = Vec::with_capacity(outputs.len());
        for out in outputs {
            if out.trace != id && !out.is_poisoned() {
                // A value of an enclosing trace returned as is: capture it.
                if let Some(ty) = with_trace(out.trace, |t| t.func.ty(out.value).clone()) {
                    let existing = st
                        .captures
                        .iter()
                        .find(|(o, _)| o.trace == out.trace && o.value == out.value);
                    let v = match existing {
                        Some(&(_, v)) => v,
                        None => {
                            let v = st.func.push(
                                Op::Constant { value: Arc::new(Tensor::zeros_of(&ty)?) },
                                &[],
                                None,
                            )?;
                            st.captures.push((out, v));
                            v
                        }
                    };
                    results.push(v);
                    continue;
                }
            }
            if out.trace != id {
                let loc = Some(st.loc(caller));
                let detail = "the traced function returned a value of another trace".to_string();
                return Err(Error::ForeignValue { op: "return", detail, loc });
            }
            results.push(out.value);
        }
        st.func.set_results(results)?;
        // Every push already ran the op's shape rule; in debug builds the
        // verifier double-checks the whole function (names, SSA, results).
        #[cfg(debug_assertions)]
        gradlift_ir::verify::verify_function(&st.func)?;
        if st.captures.is_empty() {
            return Ok((st.func, Vec::new()));
        }
        let closed = close_over(&st.func, &st.captures)?;
        Ok((closed, st.captures.iter().map(|(o, _)| *o).collect()))
    }

    /// Like [`Tracer::trace`], wrapped in a one-function [`Module`].
    #[track_caller]
    pub fn trace_module<M, F: TraceFn<M>>(self, f: F) -> Result<Module, Error> {
        self.trace(f).map(Module::from)
    }
}

/// Traces `f` on parameters of the given types and returns the recorded
/// IR function (parameters unnamed), or the first error met while tracing.
///
/// `f` may be a `fn` or closure of 1 to 8 `Var` arguments, or of one
/// `&[Var]` (any number of arguments), returning a `Var`, a tuple of `Var`s,
/// an array or a `Vec<Var>` (see [`TraceFn`], [`IntoOutputs`]). Closures need
/// their argument types written (`|x: Var| x * x`), because the arity is
/// chosen from the closure's type.
#[track_caller]
pub fn trace<M, F: TraceFn<M>>(name: &str, f: F, arg_types: &[Type]) -> Result<Function, Error> {
    Tracer::new(name).params(arg_types.iter().cloned()).trace(f)
}

/// Like [`trace`], with named parameters (printed `%t`, `%a`, ...).
#[track_caller]
pub fn trace_named<M, F: TraceFn<M>>(
    name: &str,
    f: F,
    params: &[(&str, Type)],
) -> Result<Function, Error> {
    let mut t = Tracer::new(name);
    for (n, ty) in params {
        t = t.param(n, ty.clone());
    }
    t.trace(f)
}

/// Like [`trace`], wrapped in a one-function [`Module`].
#[track_caller]
pub fn trace_module<M, F: TraceFn<M>>(
    name: &str,
    f: F,
    arg_types: &[Type],
) -> Result<Module, Error> {
    Tracer::new(name).params(arg_types.iter().cloned()).trace_module(f)
}

/// Records every instruction of `f` into the innermost active trace, with
/// `f`'s parameters bound to `inputs`, and returns the values of `f`'s
/// results. This is how transformed functions (gradients, JVPs) are called
/// from traced code. Nodes keep their own source locations. Errors (a
/// foreign or poisoned input, a signature mismatch) poison every output.
#[track_caller]
pub(crate) fn inline_function(f: &Function, inputs: &[Var]) -> Vec<Var> {
    let nres = f.results().len().max(1);
    let op: &'static str = "call";
    let caller = Location::caller();
    let poisoned = |st: &mut TraceState, e: Error| -> Vec<Var> {
        let first = st.fail(e, None);
        let mut out = vec![first];
        for _ in 1..nres {
            out.push(st.fail(Error::Ir(IrError::Eval { msg: String::new(), loc: None }), None));
        }
        out
    };
    STACK
        .try_with(|stack| {
            let Ok(mut stack) = stack.try_borrow_mut() else { return vec![Var::orphan(); nres] };
            let Some(top) = stack.len().checked_sub(1) else { return vec![Var::orphan(); nres] };
            let id = stack[top].id;
            let mut map: Vec<Value> = Vec::with_capacity(f.len());
            for &x in inputs {
                if x.trace != id {
                    match capture(&mut stack, x) {
                        Some(Ok(v)) => {
                            map.push(v);
                            continue;
                        }
                        Some(Err(poisoned)) => return vec![poisoned; nres],
                        None => {}
                    }
                    let detail = foreign_detail(&stack, x.trace);
                    let st = &mut stack[top];
                    let loc = Some(st.loc(caller));
                    return poisoned(st, Error::ForeignValue { op, detail, loc });
                }
                if x.is_poisoned() {
                    return vec![x; nres];
                }
                map.push(x.value);
            }
            let st = &mut stack[top];
            let types_ok = inputs.len() == f.num_params();
            if !types_ok {
                let loc = Some(st.loc(caller));
                let e = IrError::Op {
                    op,
                    operands: String::new(),
                    msg: format!(
                        "@{} takes {} arguments, got {}",
                        f.name(),
                        f.num_params(),
                        inputs.len()
                    ),
                    loc,
                };
                return poisoned(st, e.into());
            }
            for (i, &mv) in map.iter().enumerate() {
                let want = f.ty(f.param(i));
                let got = st.func.ty(mv).clone();
                if *want != got {
                    let loc = Some(st.loc(caller));
                    let e = IrError::Op {
                        op,
                        operands: String::new(),
                        msg: format!("argument {i} of @{} must be {want}, got {got}", f.name()),
                        loc,
                    };
                    return poisoned(st, e.into());
                }
            }
            let fallback = Some(st.loc(caller));
            for (_, node) in f.instructions() {
                let args: SmallVec<[Value; 4]> = node.args.iter().map(|a| map[a.index()]).collect();
                let v = map.len();
                let loc = f.loc(Value::from_index(v)).cloned().or_else(|| fallback.clone());
                match st.func.push(node.op.clone(), &args, loc) {
                    Ok(nv) => map.push(nv),
                    Err(e) => return poisoned(st, e.into()),
                }
            }
            f.results().iter().map(|r| Var { trace: id, value: map[r.index()] }).collect()
        })
        .unwrap_or_else(|_| vec![Var::orphan(); nres])
}

/// Records `e` as the innermost trace's error (if it is the first) and
/// returns `n` poisoned values. Used by transforms whose failure is only
/// known after tracing a sub-function.
pub(crate) fn fail_outputs(e: Error, n: usize) -> Vec<Var> {
    STACK
        .try_with(|stack| {
            let Ok(mut stack) = stack.try_borrow_mut() else { return vec![Var::orphan(); n] };
            let Some(st) = stack.last_mut() else { return vec![Var::orphan(); n] };
            let mut out = vec![st.fail(e, None)];
            for _ in 1..n {
                out.push(st.fail(Error::Ir(IrError::Eval { msg: String::new(), loc: None }), None));
            }
            out
        })
        .unwrap_or_else(|_| vec![Var::orphan(); n.max(1)])
}
