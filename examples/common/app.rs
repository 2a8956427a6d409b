//! The examples' command line (`--out DIR`, `--quiet`) and progress bars.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gradlift::optim::Trainer;
use gradlift::{jit, Params, Tensor, Var};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// Options shared by the tutorial examples.
#[derive(Clone, Debug)]
pub struct Args {
    /// Where the PNG plots go (created if missing).
    pub out: PathBuf,
    /// No progress bars.
    pub quiet: bool,
}

/// The error of every example's `main`.
pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

impl Args {
    /// Parses `--out DIR` (default `out/`), `--quiet` and `--help` from the
    /// process arguments; exits with a usage line on anything else.
    pub fn parse(about: &str) -> Args {
        let mut args = Args { out: PathBuf::from("out"), quiet: false };
        let name = std::env::args().next().unwrap_or_default();
        let usage = format!("usage: {name} [--out DIR] [--quiet]\n\n{about}");
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quiet" | "-q" => args.quiet = true,
                "--out" | "-o" => match it.next() {
                    Some(dir) => args.out = PathBuf::from(dir),
                    None => fail(&usage, "--out needs a directory"),
                },
                "--help" | "-h" => {
                    println!("{usage}");
                    std::process::exit(0);
                }
                other => match other.strip_prefix("--out=") {
                    Some(dir) => args.out = PathBuf::from(dir),
                    None => fail(&usage, &format!("unknown argument {other:?}")),
                },
            }
        }
        args
    }

    /// Creates the output folder and returns the path of `file` in it.
    pub fn out_file(&self, file: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.out)?;
        Ok(self.out.join(file))
    }

    /// A progress bar over `len` steps labelled `what`; hidden with
    /// `--quiet` or when stdout is not a terminal (piped output stays clean).
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.quiet || !std::io::stdout().is_terminal() {
            return ProgressBar::hidden();
        }
        let style = ProgressStyle::with_template(
            "{prefix:>22} [{bar:32.cyan/blue}] {pos:>6}/{len:6} {rate:>14} eta {eta:>3}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} steps/s", s.per_sec());
        })
        .progress_chars("=> ");
        let bar = ProgressBar::new(len).with_style(style).with_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }
}

fn fail(usage: &str, msg: &str) -> ! {
    eprintln!("error: {msg}\n{usage}");
    std::process::exit(2)
}

/// Updates a progress bar every `every` steps with the current loss (so
/// formatting does not slow a fast loop).
pub fn tick(bar: &ProgressBar, step: usize, every: usize, loss: f64) {
    if step.is_multiple_of(every) {
        bar.set_position(step as u64);
        if !bar.is_hidden() {
            bar.set_message(format!("loss {loss:.4e}"));
        }
    }
}

/// `[x, y]` with 5 decimals, e.g. `(5.00000, -9.80000)`.
pub fn pair(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.5}")).collect();
    format!("({})", parts.join(", "))
}

/// What a training run measured.
#[derive(Clone, Debug)]
pub struct Run {
    /// The loss of every step, before its update.
    pub losses: Vec<f64>,
    /// Seconds of the first step (tracing and compiling included).
    pub first_step_s: f64,
    /// Steps per second after the first.
    pub steps_per_s: f64,
}

/// Runs `steps` training steps on `data`, showing `bar`.
pub fn train(tr: &mut Trainer, data: &[&Tensor], steps: usize, bar: &ProgressBar) -> Result<Run> {
    let mut losses = Vec::with_capacity(steps);
    let start = Instant::now();
    losses.push(tr.step(data)?);
    let first_step_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for step in 1..steps {
        let loss = tr.step(data)?;
        losses.push(loss);
        tick(bar, step, 100, loss);
    }
    let rest = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let steps_per_s = if steps > 1 { (steps - 1) as f64 / rest } else { f64::NAN };
    Ok(Run { losses, first_step_s, steps_per_s })
}

/// `loss(params, data)` evaluated once (compiled), e.g. after the last
/// update of a [`Trainer`].
pub fn eval_loss<L>(loss: L, params: &Params, data: &[&Tensor]) -> Result<f64>
where
    L: Fn(&[Var], &[Var]) -> Var + Clone + Send + Sync + 'static,
{
    let np = params.len();
    let f = jit(move |args: &[Var]| -> Var { loss(&args[..np], &args[np..]) }).named("loss");
    let mut refs: Vec<&Tensor> = params.tensors().iter().collect();
    refs.extend_from_slice(data);
    let out = f.call(&refs)?;
    Ok(out[0].to_f64_vec().first().copied().unwrap_or(f64::NAN))
}
