//! The program executor.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use gradlift_ir::Tensor;

use crate::error::RuntimeError;
use crate::kernel::KernelFn;
use crate::library::LibCtx;
use crate::plan::{data_mut_ptr, data_ptr, Plan, PlannedStep};
use crate::pool::ThreadPool;
use crate::program::{BufferId, Program, Step};
use crate::workspace::{dangling, Workspace};

/// Kernels whose `units * unit_cost` is below this run inline on the
/// calling thread: handing work to the pool costs more than it saves.
///
/// Measured (`cargo bench -p gradlift-runtime --bench executor`, 2-vCPU
/// project machine): the pool's fork-join round trip is 1.1 µs (group
/// `pool`), the time an inline f32 add takes on ~4k elements (3.9-4.6
/// Gelem/s, group `split`). 2^15 units of cost 1 (~8 µs inline) keeps the
/// round trip under ~15% of the work. In that run the machine was shared
/// (load average ~9 on 2 cores), the second core was never free, and the
/// 2-thread split lost at every size up to 2^20 elements (e.g. 262 µs inline
/// against 341 µs split at 2^20), so the crossover on an idle machine is
/// still to be measured.
pub const INLINE_WORK: usize = 1 << 15;

/// Pieces per thread a split kernel is cut into, so a thread slowed by
/// other processes does not hold up the whole kernel.
const PIECES_PER_THREAD: usize = 4;

/// An argument of [`Executable::run`].
#[derive(Debug)]
pub enum Arg<'a> {
    /// Read only.
    Ref(&'a Tensor),
    /// May be updated in place: required for donated parameters.
    Mut(&'a mut Tensor),
}

impl Arg<'_> {
    /// The argument's tensor.
    pub fn tensor(&self) -> &Tensor {
        match self {
            Arg::Ref(t) => t,
            Arg::Mut(t) => t,
        }
    }
}

impl<'a> From<&'a Tensor> for Arg<'a> {
    fn from(t: &'a Tensor) -> Arg<'a> {
        Arg::Ref(t)
    }
}

impl<'a> From<&'a mut Tensor> for Arg<'a> {
    fn from(t: &'a mut Tensor) -> Arg<'a> {
        Arg::Mut(t)
    }
}

/// A checked [`Program`], ready to run any number of times, from any number
/// of threads at once (`Executable` is `Send + Sync`).
///
/// Each call borrows a workspace (arena, scratch, pointer tables) from a
/// pool kept by the executable and returns it afterwards, so concurrent
/// calls never share scratch memory and, once every concurrent caller has
/// had its workspace made, a call allocates nothing. Library `dot_general`
/// steps on f32/f64 are the exception: the `gemm` crate allocates its
/// packing buffers inside each call (see the crate docs).
pub struct Executable {
    program: Program,
    plan: Plan,
    pool: Arc<ThreadPool>,
    workspaces: Mutex<Vec<Workspace>>,
}

impl std::fmt::Debug for Executable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executable")
            .field("steps", &self.program.steps.len())
            .field("buffers", &self.program.buffers.len())
            .field("threads", &self.pool.threads())
            .finish()
    }
}

impl Executable {
    /// Checks `program` and prepares it to run on the global thread pool
    /// ([`ThreadPool::global`]).
    ///
    /// Errors: a buffer id out of range, a type that disagrees with its
    /// parameter, result, constant or op, a temp slot outside the arena or
    /// not 64-byte aligned, a write into a constant or a non-donated
    /// parameter, an unsupported library op, a library output sharing
    /// memory with its input, a result nothing writes.
    pub fn new(program: Program) -> Result<Executable, RuntimeError> {
        Executable::with_pool(program, Arc::clone(ThreadPool::global()))
    }

    /// Like [`Executable::new`], running on `pool` (e.g. `ThreadPool::new(1)`
    /// for single-threaded execution).
    pub fn with_pool(program: Program, pool: Arc<ThreadPool>) -> Result<Executable, RuntimeError> {
        let plan = Plan::new(&program)?;
        Ok(Executable { program, plan, pool, workspaces: Mutex::new(Vec::new()) })
    }

    /// The program this executable runs.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The pool [`Executable::run`] uses.
    pub fn pool(&self) -> &Arc<ThreadPool> {
        &self.pool
    }

    /// Zero tensors of the result types, for callers that reuse result
    /// tensors across calls of [`Executable::run`].
    pub fn new_results(&self) -> Vec<Tensor> {
        self.program
            .results
            .iter()
            .map(|ty| {
                // Result types were checked when the executable was made.
                Tensor::zeros_of(ty).unwrap_or_else(|_| Tensor::scalar(0.0f32))
            })
            .collect()
    }

    /// Runs the program on `args` (one per parameter, donated ones as
    /// [`Arg::Mut`]), writing into `results` (one tensor per result, of the
    /// result's type; their previous contents are overwritten).
    ///
    /// Arguments and results are checked first; on error nothing has been
    /// written. Allocates nothing in steady state.
    pub fn run(&self, args: &mut [Arg<'_>], results: &mut [Tensor]) -> Result<(), RuntimeError> {
        self.run_on(&self.pool, args, results)
    }

    /// [`Executable::run`] on another thread pool, for this call only.
    pub fn run_on(
        &self,
        pool: &ThreadPool,
        args: &mut [Arg<'_>],
        results: &mut [Tensor],
    ) -> Result<(), RuntimeError> {
        self.run_inner(pool, args, results, None)
    }

    /// Like [`Executable::run`], also timing every step: where a call's
    /// time goes (which kernel, which product). The clock is read between
    /// steps only, so the steps run exactly as in [`Executable::run`];
    /// add the profiles of several calls with [`Profile::add`].
    pub fn run_profiled(
        &self,
        args: &mut [Arg<'_>],
        results: &mut [Tensor],
    ) -> Result<Profile, RuntimeError> {
        let mut seconds = vec![0.0; self.plan.steps.len()];
        self.run_inner(&self.pool, args, results, Some(&mut seconds))?;
        let steps = self
            .program
            .steps
            .iter()
            .zip(seconds)
            .enumerate()
            .map(|(index, (step, seconds))| StepTime {
                index,
                label: step_label(self, step),
                seconds,
            })
            .collect();
        Ok(Profile { calls: 1, steps })
    }

    fn run_inner(
        &self,
        pool: &ThreadPool,
        args: &mut [Arg<'_>],
        results: &mut [Tensor],
        times: Option<&mut [f64]>,
    ) -> Result<(), RuntimeError> {
        self.check_args(args)?;
        self.check_results(results)?;
        let mut ws = self.take_workspace();
        // Bind the caller's tensors.
        for &(id, i) in &self.plan.param_bufs {
            let a = &mut args[i];
            ws.ptrs[id] = if a.tensor().is_empty() {
                dangling()
            } else {
                match a {
                    Arg::Ref(t) => data_ptr(t).cast_mut(),
                    Arg::Mut(t) => data_mut_ptr(t),
                }
            };
        }
        for &(id, i) in &self.plan.result_bufs {
            let t = &mut results[i];
            ws.ptrs[id] = if t.is_empty() { dangling() } else { data_mut_ptr(t) };
        }
        for &(pos, id) in &self.plan.patches {
            ws.tables[pos] = ws.ptrs[id];
        }
        // SAFETY: the plan checked every buffer against its type and home,
        // and the bindings above point at tensors of exactly those types
        // (checked), borrowed for the whole call.
        unsafe { self.run_steps(&mut ws, pool, times) };
        self.put_workspace(ws);
        Ok(())
    }

    /// Runs a program without donated parameters on `args`, returning new
    /// result tensors. Allocates the results; use [`Executable::run`] in
    /// loops.
    pub fn call(&self, args: &[&Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        if let Some((index, p)) = self.program.params.iter().enumerate().find(|(_, p)| p.donated) {
            return Err(RuntimeError::CallWithDonation { index, name: p.name.clone() });
        }
        let mut wrapped: Vec<Arg<'_>> = args.iter().map(|&t| Arg::Ref(t)).collect();
        let mut results = self.new_results();
        self.run(&mut wrapped, &mut results)?;
        Ok(results)
    }

    fn check_args(&self, args: &[Arg<'_>]) -> Result<(), RuntimeError> {
        let params = &self.program.params;
        if args.len() != params.len() {
            return Err(RuntimeError::ArgCount { expected: params.len(), got: args.len() });
        }
        for (index, (p, a)) in params.iter().zip(args).enumerate() {
            let t = a.tensor();
            if t.dtype() != p.ty.dtype || t.dims() != p.ty.dims() {
                return Err(RuntimeError::ArgType {
                    index,
                    name: p.name.clone(),
                    expected: Box::new(p.ty.clone()),
                    got: Box::new(t.ty()),
                });
            }
            if p.donated && matches!(a, Arg::Ref(_)) {
                return Err(RuntimeError::DonatedNotMut { index, name: p.name.clone() });
            }
        }
        Ok(())
    }

    fn check_results(&self, results: &[Tensor]) -> Result<(), RuntimeError> {
        let want = &self.program.results;
        if results.len() != want.len() {
            return Err(RuntimeError::ResultCount { expected: want.len(), got: results.len() });
        }
        for (index, (ty, t)) in want.iter().zip(results).enumerate() {
            if t.dtype() != ty.dtype || t.dims() != ty.dims() {
                return Err(RuntimeError::ResultType {
                    index,
                    expected: Box::new(ty.clone()),
                    got: Box::new(t.ty()),
                });
            }
        }
        Ok(())
    }

    fn take_workspace(&self) -> Workspace {
        let spare = self.workspaces.lock().unwrap_or_else(|e| e.into_inner()).pop();
        spare.unwrap_or_else(|| self.plan.workspace(&self.program))
    }

    fn put_workspace(&self, ws: Workspace) {
        self.workspaces.lock().unwrap_or_else(|e| e.into_inner()).push(ws);
    }

    /// # Safety
    ///
    /// Every pointer in `ws` is bound to a live buffer of its planned type.
    unsafe fn run_steps(&self, ws: &mut Workspace, pool: &ThreadPool, times: Option<&mut [f64]>) {
        let mut clock = times.map(|t| (t, Instant::now()));
        for (s, step) in self.plan.steps.iter().enumerate() {
            match step {
                PlannedStep::Kernel { main, finish, units, grain, work, table } => {
                    let bufs = ws.tables.as_ptr().add(*table);
                    run_kernel(pool, *main, bufs, *units, *grain, *work);
                    if let Some(f) = finish {
                        f(bufs, 0, 1);
                    }
                }
                PlannedStep::Library { call, inputs, output } => {
                    ws.ins.clear();
                    ws.ins.extend(inputs.iter().map(|&id| ws.ptrs[id].cast_const()));
                    let pack = ws.mem.as_mut_ptr().add(self.plan.mem.pack_at);
                    let mut cx = LibCtx { pack, index: &mut ws.index, pool };
                    call.run(&ws.ins, ws.ptrs[*output], &mut cx);
                }
                PlannedStep::Copy { from, to, bytes } => {
                    if *bytes > 0 {
                        std::ptr::copy(ws.ptrs[*from], ws.ptrs[*to], *bytes);
                    }
                }
            }
            if let Some((times, last)) = &mut clock {
                let now = Instant::now();
                times[s] = (now - *last).as_secs_f64();
                *last = now;
            }
        }
    }
}

/// What a profile calls a step: the kernel's name, the library op with its
/// operand and result types, or the copy.
fn step_label(exe: &Executable, step: &Step) -> String {
    let ty = |id: BufferId| exe.program.buffers[id].ty.to_string();
    match step {
        Step::Kernel { kernel, .. } => kernel.name.clone(),
        Step::Library { op, inputs, output } => {
            let ins: Vec<String> = inputs.iter().map(|&id| ty(id)).collect();
            format!("{} {} -> {}", op.name(), ins.join(", "), ty(*output))
        }
        Step::Copy { from, .. } => format!("copy {}", ty(*from)),
    }
}

/// Time spent in each step of a program, from [`Executable::run_profiled`].
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// How many calls were added up.
    pub calls: usize,
    /// One entry per program step, in program order.
    pub steps: Vec<StepTime>,
}

/// One step's share of a [`Profile`].
#[derive(Clone, Debug, PartialEq)]
pub struct StepTime {
    /// The step's position in the program.
    pub index: usize,
    /// The kernel's name (`fusion_3`), or the library op with its types.
    pub label: String,
    /// Wall-clock seconds, summed over the profile's calls.
    pub seconds: f64,
}

impl Profile {
    /// Adds another call's profile of the same program.
    ///
    /// Errors: the profiles are of different programs (step count or labels
    /// differ).
    pub fn add(&mut self, other: &Profile) -> Result<(), RuntimeError> {
        let same = self.steps.len() == other.steps.len()
            && self.steps.iter().zip(&other.steps).all(|(a, b)| a.label == b.label);
        if !same {
            return Err(RuntimeError::ProfileMismatch {
                left: self.steps.len(),
                right: other.steps.len(),
            });
        }
        for (a, b) in self.steps.iter_mut().zip(&other.steps) {
            a.seconds += b.seconds;
        }
        self.calls += other.calls;
        Ok(())
    }

    /// Total seconds over all steps and calls.
    pub fn total(&self) -> f64 {
        self.steps.iter().map(|s| s.seconds).sum()
    }
}

impl std::fmt::Display for Profile {
    /// A table of the steps, slowest first, with each one's mean time per
    /// call and share of the total.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.total();
        let calls = self.calls.max(1) as f64;
        writeln!(
            f,
            "{} call(s), {:.3} us per call over {} steps",
            self.calls,
            total / calls * 1e6,
            self.steps.len()
        )?;
        writeln!(f, "{:>5} {:>10} {:>6}  label", "step", "us/call", "share")?;
        let mut order: Vec<&StepTime> = self.steps.iter().collect();
        order.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        for s in order {
            let share = if total > 0.0 { s.seconds / total * 100.0 } else { 0.0 };
            writeln!(
                f,
                "{:>5} {:>10.3} {:>5.1}%  {}",
                s.index,
                s.seconds / calls * 1e6,
                share,
                s.label
            )?;
        }
        Ok(())
    }
}

/// The kernel's table, shared by the threads running its pieces.
#[derive(Clone, Copy)]
struct Table(*const *mut u8);

impl Table {
    /// Taken through a method so closures capture the whole (Sync) value.
    fn get(self) -> *const *mut u8 {
        self.0
    }
}
// SAFETY: the kernel contract: calls on disjoint unit ranges may run
// concurrently; the table itself is only read.
unsafe impl Sync for Table {}

/// Runs `main` over `[0, units)`: inline when the work is small or the pool
/// has one thread, else in grain-aligned pieces across the pool.
///
/// # Safety
///
/// `bufs` is the kernel's complete buffer table.
unsafe fn run_kernel(
    pool: &ThreadPool,
    main: KernelFn,
    bufs: *const *mut u8,
    units: usize,
    grain: usize,
    work: usize,
) {
    if units == 0 {
        return;
    }
    let grains = units.div_ceil(grain);
    let threads = pool.threads();
    if threads == 1 || work < INLINE_WORK || grains == 1 {
        main(bufs, 0, units);
        return;
    }
    // Enough pieces to balance, each still worth at least half the inline
    // threshold.
    let by_work = (work / (INLINE_WORK / 2)).max(2);
    let pieces = grains.min(threads * PIECES_PER_THREAD).min(by_work);
    // Piece `p` gets grains [p·grains/pieces, (p+1)·grains/pieces): sizes
    // differ by at most one grain, so the threads end up with about the
    // same work even when there are only a few grains per piece.
    let bound = |p: usize| (p * grains / pieces * grain).min(units);
    let table = Table(bufs);
    pool.for_each(pieces, &|p| {
        // SAFETY: pieces cover [0, units) exactly once, in disjoint ranges.
        unsafe { main(table.get(), bound(p), bound(p + 1)) }
    });
}
