//! The `gradlift` command-line tool: check, run and differentiate `.gir`
//! files. The binary in `src/bin/gradlift.rs` calls [`main`]; everything
//! here returns errors as values, so a bad file or argument prints
//! `FILE:LINE:COL: message` (or a plain message) and exits 1, never panics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use gradlift_compiler::ad;
use gradlift_compiler::compile::{compile, CompileOptions};
use gradlift_ir::text::{parse_module, print_function};
use gradlift_ir::{interp, npy, verify, Function, Module, Tensor};

/// gradlift: differentiable, compiled numerical programs (`.gir` files).
#[derive(Debug, Parser)]
#[command(name = "gradlift", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and verify a file; print its canonical text.
    Check {
        /// The `.gir` file.
        file: PathBuf,
    },
    /// Evaluate a function on `.npy` inputs; write result k to `DIR/out_k.npy`.
    Run {
        /// The `.gir` file.
        file: PathBuf,
        /// The function to run (default: the first in the file).
        #[arg(long)]
        func: Option<String>,
        /// An input: `NAME=PATH.npy`, NAME being the parameter's name
        /// (`x` or `%x`) or its position (`0`).
        #[arg(long = "input", value_name = "NAME=PATH")]
        inputs: Vec<String>,
        /// Where to write `out_0.npy`, `out_1.npy`, ...
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// How to evaluate.
        #[arg(long, value_enum, default_value_t = Backend::Jit)]
        backend: Backend,
    },
    /// Print the Cranelift IR (CLIF) of every fused kernel of a function.
    Clif {
        /// The `.gir` file.
        file: PathBuf,
        /// The function (default: the first in the file).
        #[arg(long)]
        func: Option<String>,
        /// Print the generated machine code instead (Cranelift's
        /// disassembly of the lowered code).
        #[arg(long)]
        asm: bool,
    },
    /// Compile a function, print the time of every stage, and time calls.
    Bench {
        /// The `.gir` file.
        file: PathBuf,
        /// The function (default: the first in the file).
        #[arg(long)]
        func: Option<String>,
        /// Inputs `NAME=PATH.npy`; parameters without one get seeded
        /// random values (normal, integers 0..4, bools alternating).
        #[arg(long = "input", value_name = "NAME=PATH")]
        inputs: Vec<String>,
        /// Timed calls after one warm-up call.
        #[arg(long, default_value_t = 100)]
        iters: usize,
        /// Also time every kernel and library call over as many calls
        /// and print them, slowest first.
        #[arg(long)]
        profile: bool,
    },
    /// Print the function followed by the gradient of one of its results.
    Grad {
        /// The `.gir` file.
        file: PathBuf,
        /// The function (default: the first in the file).
        #[arg(long)]
        func: Option<String>,
        /// Parameters to differentiate with respect to, comma separated
        /// (names or positions).
        #[arg(long, value_delimiter = ',', required = true)]
        wrt: Vec<String>,
        /// The result to differentiate (a float scalar).
        #[arg(long, default_value_t = 0)]
        of: usize,
    },
    /// Optimise and fuse a function: print the fused program (kernels as
    /// nested regions) and its memory plan.
    Opt {
        /// The `.gir` file.
        file: PathBuf,
        /// The function (default: the first in the file).
        #[arg(long)]
        func: Option<String>,
        /// Write the IR after every pass into this directory (also set by
        /// the `GRADLIFT_DUMP` environment variable).
        #[arg(long, value_name = "DIR")]
        dump_dir: Option<PathBuf>,
        /// Also print the pass report (what each pass changed, and its time).
        #[arg(long)]
        report: bool,
    },
    /// Print the forward-mode (JVP) function: extra tangent parameters
    /// `%x_dot` after the primals; results followed by their tangents.
    Jvp {
        /// The `.gir` file.
        file: PathBuf,
        /// The function (default: the first in the file).
        #[arg(long)]
        func: Option<String>,
        /// Parameters that carry tangents, comma separated.
        #[arg(long, value_delimiter = ',', required = true)]
        wrt: Vec<String>,
    },
}

/// Evaluation backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Native kernels compiled with Cranelift (the default).
    Jit,
    /// The reference interpreter.
    Interp,
}

/// Runs the tool on the process arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(1)
        }
    }
}

/// Runs one command; returns what to print on stdout, or the error message.
pub fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Check { file } => {
            let m = load(&file)?;
            Ok(gradlift_ir::text::print_module(&m))
        }
        Command::Run { file, func, inputs, out, backend } => {
            let m = load(&file)?;
            let f = m.func(func.as_deref()).map_err(|e| e.to_string())?;
            let args = read_inputs(f, &inputs)?;
            let results = match backend {
                Backend::Interp => interp::eval_function(f, &args).map_err(|e| e.to_string())?,
                Backend::Jit => {
                    let c = compile(f, &CompileOptions::default()).map_err(|e| e.to_string())?;
                    let refs: Vec<&Tensor> = args.iter().collect();
                    c.executable.call(&refs).map_err(|e| e.to_string())?
                }
            };
            std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            let mut written = String::new();
            for (k, t) in results.iter().enumerate() {
                let path = out.join(format!("out_{k}.npy"));
                npy::write_npy(&path, t).map_err(|e| e.to_string())?;
                written.push_str(&format!("{}: {}\n", path.display(), t.ty()));
            }
            Ok(written)
        }
        Command::Grad { file, func, wrt, of } => {
            let m = load(&file)?;
            let f = m.func(func.as_deref()).map_err(|e| e.to_string())?;
            let wrt = param_indices(f, &wrt)?;
            let g = ad::grad(f, &wrt, of).map_err(|e| e.to_string())?;
            Ok(print_function(&g))
        }
        Command::Clif { file, func, asm } => {
            let m = load(&file)?;
            let f = m.func(func.as_deref()).map_err(|e| e.to_string())?;
            let c = compile(f, &CompileOptions::default()).map_err(|e| e.to_string())?;
            let mut out = String::new();
            for step in &c.fused.steps {
                if let gradlift_compiler::fusion::Step::Kernel { body, .. } = step {
                    let text = if asm {
                        gradlift_compiler::codegen::asm_text(body)
                    } else {
                        gradlift_compiler::codegen::clif_text(body)
                    };
                    out.push_str(&text.map_err(|e| e.to_string())?);
                    out.push('\n');
                }
            }
            Ok(out)
        }
        Command::Bench { file, func, inputs, iters, profile } => {
            let m = load(&file)?;
            let f = m.func(func.as_deref()).map_err(|e| e.to_string())?;
            let args = inputs_or_random(f, &inputs)?;
            let c = compile(f, &CompileOptions::default()).map_err(|e| e.to_string())?;
            let refs: Vec<&Tensor> = args.iter().collect();
            let mut results = c.executable.new_results();
            let mut run_args: Vec<gradlift_runtime::Arg<'_>> =
                refs.iter().map(|t| gradlift_runtime::Arg::Ref(t)).collect();
            c.executable.run(&mut run_args, &mut results).map_err(|e| e.to_string())?;
            let mut times = Vec::with_capacity(iters);
            for _ in 0..iters.max(1) {
                let t = std::time::Instant::now();
                c.executable.run(&mut run_args, &mut results).map_err(|e| e.to_string())?;
                times.push(t.elapsed());
            }
            times.sort();
            let median = times[times.len() / 2];
            let mut out = format!(
                "@{}: {} kernels, {} library calls\ncompile: {}\nrun: median {:.3} us over {} calls (min {:.3} us)\n",
                f.name(),
                c.fused.num_kernels(),
                c.fused.num_library_calls(),
                c.times,
                median.as_secs_f64() * 1e6,
                times.len(),
                times[0].as_secs_f64() * 1e6
            );
            if profile {
                let run = |a: &mut [gradlift_runtime::Arg<'_>], r: &mut [Tensor]| {
                    c.executable.run_profiled(a, r).map_err(|e| e.to_string())
                };
                let mut total = run(&mut run_args, &mut results)?;
                for _ in 1..iters.max(1) {
                    total.add(&run(&mut run_args, &mut results)?).map_err(|e| e.to_string())?;
                }
                out.push_str(&format!("profile: {total}"));
            }
            Ok(out)
        }
        Command::Opt { file, func, dump_dir, report } => {
            let m = load(&file)?;
            let f = m.func(func.as_deref()).map_err(|e| e.to_string())?;
            let opts = gradlift_compiler::passes::pipeline::PipelineOptions {
                dump_dir,
                ..Default::default()
            };
            let (g, rep) = gradlift_compiler::passes::pipeline::optimize(f, &opts)
                .map_err(|e| e.to_string())?;
            let prog = gradlift_compiler::fusion::fuse(&g).map_err(|e| e.to_string())?;
            let plan = gradlift_compiler::memory::plan_memory(&prog, &[], &[]);
            let mut out = gradlift_compiler::fusion::print_fused(&prog);
            out.push_str(&format!("# {plan}\n"));
            if report {
                out.push_str(&format!("{rep}\n"));
            }
            Ok(out)
        }
        Command::Jvp { file, func, wrt } => {
            let m = load(&file)?;
            let f = m.func(func.as_deref()).map_err(|e| e.to_string())?;
            let wrt = param_indices(f, &wrt)?;
            let g = ad::jvp(f, &wrt).map_err(|e| e.to_string())?;
            Ok(print_function(&g))
        }
    }
}

/// Reads, parses and verifies a `.gir` file.
pub fn load(path: &Path) -> Result<Module, String> {
    let src = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path.display().to_string();
    let m = parse_module(&src, &name).map_err(|e| e.to_string())?;
    verify::verify_module(&m).map_err(|e| e.to_string())?;
    Ok(m)
}

/// The label a parameter prints with: its name, or its number among the
/// unnamed values (`0` for `%0`).
fn param_labels(f: &Function) -> Vec<String> {
    let mut next = 0;
    f.params()
        .map(|p| match f.value_name(p) {
            Some(n) => n.to_string(),
            None => {
                let s = next.to_string();
                next += 1;
                s
            }
        })
        .collect()
}

/// Resolves parameter names (`x`, `%x`) or positions to indices.
fn param_indices(f: &Function, names: &[String]) -> Result<Vec<usize>, String> {
    let labels = param_labels(f);
    names
        .iter()
        .map(|n| {
            let n = n.trim().trim_start_matches('%');
            if let Some(i) = labels.iter().position(|l| l == n) {
                return Ok(i);
            }
            match n.parse::<usize>() {
                Ok(i) if i < f.num_params() => Ok(i),
                _ => Err(format!(
                    "@{} has no parameter %{n} (its parameters: {})",
                    f.name(),
                    labels.iter().map(|l| format!("%{l}")).collect::<Vec<_>>().join(", ")
                )),
            }
        })
        .collect()
}

/// Given inputs, and seeded random values for the other parameters.
fn inputs_or_random(f: &Function, specs: &[String]) -> Result<Vec<Tensor>, String> {
    let labels = param_labels(f);
    let mut given: HashMap<usize, Tensor> = HashMap::new();
    for spec in specs {
        let Some((name, path)) = spec.split_once('=') else {
            return Err(format!("--input {spec}: expected NAME=PATH.npy"));
        };
        let idx = param_indices(f, &[name.to_string()])?[0];
        let t = npy::read_npy(Path::new(path)).map_err(|e| e.to_string())?;
        if t.ty() != *f.ty(f.param(idx)) {
            return Err(format!(
                "--input {name}: parameter %{} has type {}, {path} holds {}",
                labels[idx],
                f.ty(f.param(idx)),
                t.ty()
            ));
        }
        given.insert(idx, t);
    }
    (0..f.num_params())
        .map(|i| match given.remove(&i) {
            Some(t) => Ok(t),
            None => {
                let ty = f.ty(f.param(i));
                let t = Tensor::rand_normal(
                    i as u64 + 1,
                    ty.shape.clone(),
                    0.0,
                    1.0,
                    gradlift_ir::DType::F64,
                )
                .map_err(|e| e.to_string())?;
                Ok(t.cast(ty.dtype))
            }
        })
        .collect()
}

/// Loads `NAME=PATH` inputs, one per parameter, checking their types.
fn read_inputs(f: &Function, specs: &[String]) -> Result<Vec<Tensor>, String> {
    let labels = param_labels(f);
    let mut given: HashMap<usize, Tensor> = HashMap::new();
    for spec in specs {
        let Some((name, path)) = spec.split_once('=') else {
            return Err(format!("--input {spec}: expected NAME=PATH.npy"));
        };
        let idx = param_indices(f, &[name.to_string()])?[0];
        if given.contains_key(&idx) {
            return Err(format!("--input: parameter %{} given twice", labels[idx]));
        }
        let t = npy::read_npy(Path::new(path)).map_err(|e| e.to_string())?;
        let want = f.ty(f.param(idx));
        if t.ty() != *want {
            return Err(format!(
                "--input {name}: parameter %{} of @{} has type {want}, but {path} holds {}",
                labels[idx],
                f.name(),
                t.ty()
            ));
        }
        given.insert(idx, t);
    }
    let mut args = Vec::with_capacity(f.num_params());
    for (i, label) in labels.iter().enumerate() {
        match given.remove(&i) {
            Some(t) => args.push(t),
            None => {
                return Err(format!(
                    "missing input for parameter %{label} of @{} (type {}): pass --input {label}=PATH.npy",
                    f.name(),
                    f.ty(f.param(i))
                ))
            }
        }
    }
    Ok(args)
}
