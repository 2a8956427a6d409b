//! The pass pipeline: a straight list of passes run in rounds until a whole
//! list's worth of passes in a row changes nothing, or a round cap is hit.
//! The verifier runs on the input and after every pass when asked (by
//! default in debug builds, so in tests); every pass reports whether it
//! changed the graph and how long it took; `GRADLIFT_DUMP=DIR` (or
//! [`PipelineOptions::dump_dir`]) writes the IR after every stage to
//! `DIR/NN-<func>-<pass>.gir`, as XLA's dump flags do.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gradlift_ir::text::{print_function_with, PrintOptions};
use gradlift_ir::verify::verify_function;
use gradlift_ir::{Function, IrError};

use super::fold::DEFAULT_FOLD_MAX_ELEMENTS;
use super::{ConstantFold, Cse, Dce, Pass, Simplify};
use crate::error::CompileError;

/// The environment variable naming a directory to dump IR into.
pub const DUMP_ENV: &str = "GRADLIFT_DUMP";

/// How the pipeline runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineOptions {
    /// The most rounds of the pass list. The pipeline stops earlier once
    /// every pass of the list has run in a row without changing anything.
    pub max_rounds: usize,
    /// Verify the input and the output of every pass. Default: on in debug
    /// builds (tests), off in release builds.
    pub verify: bool,
    /// Write the IR after every stage into this directory. `None`: the
    /// directory named by `GRADLIFT_DUMP`, if that is set and not empty.
    pub dump_dir: Option<PathBuf>,
    /// The largest literal (in elements) constant folding creates.
    pub fold_max_elements: usize,
}

impl Default for PipelineOptions {
    fn default() -> PipelineOptions {
        PipelineOptions {
            max_rounds: 8,
            verify: cfg!(debug_assertions),
            dump_dir: None,
            fold_max_elements: DEFAULT_FOLD_MAX_ELEMENTS,
        }
    }
}

/// One run of one pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageReport {
    /// Round number, from 1.
    pub round: usize,
    pub pass: &'static str,
    pub changed: bool,
    /// Instructions (parameters excluded) before and after.
    pub instructions_before: usize,
    pub instructions_after: usize,
    /// Wall time of the pass alone (verification and dumps excluded).
    pub time: Duration,
}

/// What the pipeline did, stage by stage. `Display` prints a small table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineReport {
    /// The function's name.
    pub func: String,
    pub stages: Vec<StageReport>,
    /// Rounds started.
    pub rounds: usize,
    /// Whether the pipeline stopped at a fixed point (rather than at the
    /// round cap).
    pub converged: bool,
    /// Time spent in the verifier.
    pub verify_time: Duration,
    /// Wall time of the whole pipeline, verification and dumps included.
    pub total_time: Duration,
}

impl PipelineReport {
    /// Time spent in passes.
    pub fn pass_time(&self) -> Duration {
        self.stages.iter().map(|s| s.time).sum()
    }

    /// Instructions before the first pass.
    pub fn instructions_before(&self) -> Option<usize> {
        self.stages.first().map(|s| s.instructions_before)
    }

    /// Instructions after the last pass.
    pub fn instructions_after(&self) -> Option<usize> {
        self.stages.last().map(|s| s.instructions_after)
    }
}

impl fmt::Display for PipelineReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "optimize @{}: {} round(s), {}, {:.3} ms in passes, {:.3} ms verifying",
            self.func,
            self.rounds,
            if self.converged { "converged" } else { "stopped at the round cap" },
            ms(self.pass_time()),
            ms(self.verify_time),
        )?;
        writeln!(f, "round  pass        changed  instructions        time")?;
        for s in &self.stages {
            writeln!(
                f,
                "{:>5}  {:<10}  {:<7}  {:>7} -> {:<7}  {:>8.3} ms",
                s.round,
                s.pass,
                if s.changed { "yes" } else { "no" },
                s.instructions_before,
                s.instructions_after,
                ms(s.time),
            )?;
        }
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The standard list: dce, cse, fold, simplify, cse, dce.
pub fn standard_passes(opts: &PipelineOptions) -> Vec<Box<dyn Pass>> {
    vec![
        Box::new(Dce),
        Box::new(Cse),
        Box::new(ConstantFold { max_elements: opts.fold_max_elements }),
        Box::new(Simplify),
        Box::new(Cse),
        Box::new(Dce),
    ]
}

/// Optimises `f` with [`standard_passes`].
pub fn optimize(
    f: &Function,
    opts: &PipelineOptions,
) -> Result<(Function, PipelineReport), CompileError> {
    run_pipeline(f, &standard_passes(opts), opts)
}

/// Runs `passes` in order, round after round, until `passes.len()` passes
/// in a row report no change or `opts.max_rounds` rounds have run.
pub fn run_pipeline(
    f: &Function,
    passes: &[Box<dyn Pass>],
    opts: &PipelineOptions,
) -> Result<(Function, PipelineReport), CompileError> {
    let start = Instant::now();
    let dump = Dump::new(opts, f.name());
    let mut report = PipelineReport {
        func: f.name().to_string(),
        stages: Vec::new(),
        rounds: 0,
        converged: passes.is_empty(),
        verify_time: Duration::ZERO,
        total_time: Duration::ZERO,
    };
    if opts.verify {
        let t = Instant::now();
        verify_function(f).map_err(|e| broken(f, "before the first pass", &e))?;
        report.verify_time += t.elapsed();
    }
    if let Some(d) = &dump {
        d.write(0, "input", f)?;
    }
    let mut cur = f.clone();
    let mut unchanged_in_a_row = 0usize;
    'rounds: for round in 1..=opts.max_rounds {
        report.rounds = round;
        for pass in passes {
            let t = Instant::now();
            let (next, changed) = pass.run(&cur)?;
            let time = t.elapsed();
            report.stages.push(StageReport {
                round,
                pass: pass.name(),
                changed,
                instructions_before: cur.num_instructions(),
                instructions_after: next.num_instructions(),
                time,
            });
            if opts.verify {
                let t = Instant::now();
                verify_function(&next)
                    .map_err(|e| broken(&next, &format!("after pass {}", pass.name()), &e))?;
                report.verify_time += t.elapsed();
            }
            if let Some(d) = &dump {
                d.write(report.stages.len(), pass.name(), &next)?;
            }
            cur = next;
            unchanged_in_a_row = if changed { 0 } else { unchanged_in_a_row + 1 };
            if unchanged_in_a_row >= passes.len() {
                report.converged = true;
                break 'rounds;
            }
        }
    }
    report.total_time = start.elapsed();
    if let Some(d) = &dump {
        d.write_report(&report)?;
    }
    Ok((cur, report))
}

/// Where and how the IR is dumped.
struct Dump {
    dir: PathBuf,
    func: String,
}

impl Dump {
    fn new(opts: &PipelineOptions, func: &str) -> Option<Dump> {
        let dir = opts
            .dump_dir
            .clone()
            .or_else(|| std::env::var_os(DUMP_ENV).filter(|d| !d.is_empty()).map(PathBuf::from))?;
        Some(Dump { dir, func: func.to_string() })
    }

    fn write(&self, stage: usize, pass: &'static str, f: &Function) -> Result<(), CompileError> {
        let text = print_function_with(f, &PrintOptions { locs: true });
        let path = self.dir.join(format!("{stage:02}-{}-{pass}.gir", self.func));
        write_file(&self.dir, &path, &text)
    }

    fn write_report(&self, report: &PipelineReport) -> Result<(), CompileError> {
        let path = self.dir.join(format!("{}-passes.txt", self.func));
        write_file(&self.dir, &path, &report.to_string())
    }
}

fn write_file(dir: &Path, path: &Path, text: &str) -> Result<(), CompileError> {
    std::fs::create_dir_all(dir).and_then(|()| std::fs::write(path, text)).map_err(|e| {
        CompileError::Ir(IrError::Io {
            path: path.display().to_string(),
            msg: format!("cannot write the IR dump: {e}"),
        })
    })
}

/// A verifier error, saying when it was found (`after pass cse`) and
/// keeping the location of the offending instruction.
fn broken(f: &Function, when: &str, e: &IrError) -> CompileError {
    CompileError::Ir(IrError::Verify {
        func: f.name().to_string(),
        msg: format!("{when}: invalid IR: {e}"),
        loc: e.loc().cloned(),
    })
}
