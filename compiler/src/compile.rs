//! The whole compilation of one function: optimisation passes, fusion,
//! code generation, memory planning and the runtime program, with the time
//! each stage took (compile time is a feature: every stage reports it).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gradlift_ir::Function;
use gradlift_runtime::{BufferKind, Executable, Program, Step as RStep, ThreadPool};

use crate::codegen::KernelCompiler;
use crate::error::CompileError;
use crate::fusion::{fuse_with, BufDef, FuseOptions, FusedProgram, Step};
use crate::memory::{plan_memory, Donation, MemoryPlan, Placement};
use crate::passes::pipeline::{optimize, PipelineOptions, PipelineReport};

/// How to compile.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    pub pipeline: PipelineOptions,
    pub fusion: FuseOptions,
    /// Results written into donated parameters (in place when possible)
    /// instead of being returned.
    pub donations: Vec<Donation>,
    /// The thread pool to run on (`None`: the global pool).
    pub pool: Option<Arc<ThreadPool>>,
}

/// Wall time of each compilation stage.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageTimes {
    pub passes: Duration,
    pub fusion: Duration,
    pub codegen: Duration,
    pub planning: Duration,
}

impl StageTimes {
    pub fn total(&self) -> Duration {
        self.passes + self.fusion + self.codegen + self.planning
    }
}

impl fmt::Display for StageTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "passes {:.3} ms, fusion {:.3} ms, codegen {:.3} ms, planning {:.3} ms (total {:.3} ms)",
            ms(self.passes),
            ms(self.fusion),
            ms(self.codegen),
            ms(self.planning),
            ms(self.total())
        )
    }
}

/// A compiled function: the executable and everything that led to it.
pub struct Compiled {
    pub executable: Executable,
    pub optimized: Function,
    pub fused: FusedProgram,
    pub plan: MemoryPlan,
    pub report: PipelineReport,
    pub times: StageTimes,
    /// For each result of the function: its index among the executable's
    /// results, or `None` when it is written into a donated parameter.
    pub result_slots: Vec<Option<usize>>,
}

/// Compiles `f` into an executable.
pub fn compile(f: &Function, opts: &CompileOptions) -> Result<Compiled, CompileError> {
    let t0 = Instant::now();
    let (optimized, report) = optimize(f, &opts.pipeline)?;
    let t1 = Instant::now();
    let fused = fuse_with(&optimized, &opts.fusion)?;
    let t2 = Instant::now();
    let mut kc = KernelCompiler::new()?;
    for step in &fused.steps {
        if let Step::Kernel { name, body, kind, .. } = step {
            kc.add_kind(name, body, kind)?;
        }
    }
    let kernels = kc.finish()?;
    let t3 = Instant::now();
    let plan = plan_memory(&fused, &[], &opts.donations);
    let (program, result_slots) = build_program(&fused, &plan, kernels, &opts.donations)?;
    let executable = match &opts.pool {
        Some(pool) => Executable::with_pool(program, pool.clone()),
        None => Executable::new(program),
    }
    .map_err(|e| CompileError::codegen("(program)", e.to_string()))?;
    let t4 = Instant::now();
    let times =
        StageTimes { passes: t1 - t0, fusion: t2 - t1, codegen: t3 - t2, planning: t4 - t3 };
    Ok(Compiled { executable, optimized, fused, plan, report, times, result_slots })
}

/// Turns the fused program, its kernels and memory plan into a runtime
/// program.
fn build_program(
    fused: &FusedProgram,
    plan: &MemoryPlan,
    kernels: Vec<gradlift_runtime::CompiledKernel>,
    donations: &[Donation],
) -> Result<(Program, Vec<Option<usize>>), CompileError> {
    let mut p = Program::new();
    for (i, (name, ty)) in fused.params.iter().enumerate() {
        let donated = donations.iter().any(|d| d.param == i);
        p.add_param(name.as_deref(), ty.clone(), donated);
    }
    // Results that are not donated updates, renumbered.
    let mut result_slots = Vec::with_capacity(fused.results.len());
    for (k, &b) in fused.results.iter().enumerate() {
        if donations.iter().any(|d| d.result == k) {
            result_slots.push(None);
        } else {
            result_slots.push(Some(p.add_result(fused.buffers[b].ty.clone())));
        }
    }
    let slot_of = |k: usize| result_slots[k].unwrap_or(usize::MAX);
    for (b, buf) in fused.buffers.iter().enumerate() {
        let kind = match (&plan.placements[b], &buf.def) {
            (_, BufDef::Constant(t)) => BufferKind::Constant(t.clone()),
            (Placement::Param { index }, _) => BufferKind::Param { index: *index },
            (Placement::Result { index }, _) => BufferKind::Result { index: slot_of(*index) },
            (Placement::Temp { offset }, _) => BufferKind::Temp { offset: *offset },
            (Placement::Constant, _) => {
                return Err(CompileError::codegen(
                    "(program)",
                    format!("buffer {b} planned as a constant but is not one"),
                ))
            }
        };
        p.add_buffer(buf.ty.clone(), kind);
    }
    let copy_target = |p: &mut Program, from: usize, to: &Placement| -> usize {
        let ty = fused.buffers[from].ty.clone();
        let kind = match to {
            Placement::Param { index } => BufferKind::Param { index: *index },
            Placement::Result { index } => BufferKind::Result { index: slot_of(*index) },
            Placement::Temp { offset } => BufferKind::Temp { offset: *offset },
            Placement::Constant => BufferKind::Temp { offset: 0 },
        };
        p.add_buffer(ty, kind)
    };
    let mut kernels = kernels.into_iter();
    for c in plan.copies.iter().filter(|c| c.after.is_none()) {
        let to = copy_target(&mut p, c.from, &c.to);
        p.push(RStep::Copy { from: c.from, to });
    }
    for (s, step) in fused.steps.iter().enumerate() {
        match step {
            Step::Kernel { inputs, outputs, .. } => {
                let kernel = kernels.next().ok_or_else(|| {
                    CompileError::codegen("(program)", "fewer compiled kernels than kernel steps")
                })?;
                p.push(RStep::Kernel {
                    kernel,
                    inputs: inputs.clone(),
                    outputs: outputs.clone(),
                    scratch: Vec::new(),
                });
            }
            Step::Library { op, inputs, output, .. } => {
                p.push(RStep::Library { op: op.clone(), inputs: inputs.clone(), output: *output });
            }
        }
        for c in plan.copies.iter().filter(|c| c.after == Some(s)) {
            let to = copy_target(&mut p, c.from, &c.to);
            p.push(RStep::Copy { from: c.from, to });
        }
    }
    p.arena_bytes = plan.arena_bytes;
    Ok((p, result_slots))
}
