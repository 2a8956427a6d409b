//! Tutorial part 1: fit a projectile's launch parameters by gradient
//! descent.
//!
//! ```text
//! cargo run --release --example kinematics [-- --out DIR --quiet]
//! ```
//!
//! 1. `v0` alone, from 0, with `a` and `x0` known: SGD lr 0.1, 10 steps;
//! 2. everything from 0 with SGD lr 0.1: it diverges;
//! 3. everything from 0 with SGD lr 0.01 for 10 000 steps;
//! 4. everything from 0 with Adam lr 1 for 1000 steps.
//!
//! Writes `kinematics_loss.png` and `kinematics_fit.png` to `--out`.

#[allow(dead_code)]
mod common;

use std::time::Instant;

use common::app::{eval_loss, pair, train, Args, Result, Run};
use common::kinematics::{self as kin, A, V0, X0};
use common::plot::{self, Mark, Panel, Series};
use gradlift::optim::{Adam, Sgd, Trainer};
use gradlift::{jit, value_and_grad, Params, Var};
use plotters::prelude::SeriesLabelPosition;

fn main() -> Result<()> {
    let args = Args::parse("Tutorial part 1: fit x0, v0 and a of a projectile.");
    let wall = Instant::now();
    let [t, target] = kin::data()?;
    let data = [&t, &target];
    println!("Tutorial part 1 — kinematics fit");
    println!("data: t = linspace(0, 5, 10); target = x0 + v0 t + ½ a t² with");
    println!("      a = {}, v0 = {}, x0 = {}", pair(&A), pair(&V0), pair(&X0));

    // (1) v0 alone.
    println!("\n(1) v0 alone from (0, 0), a and x0 known; SGD lr 0.1, 10 steps");
    let (a_true, x0_true) = (kin::row(A)?, kin::row(X0)?);
    let v0_data = [&t, &target, &a_true, &x0_true];
    let first = jit(|args: &[Var]| {
        let data = args[1..].to_vec();
        let (l, g) = value_and_grad(move |p: &[Var]| kin::loss_v0(p, &data), &[0])(&args[..1]);
        vec![l, g[0]]
    })
    .named("loss_and_grad_v0");
    let v0_zero = kin::row([0.0, 0.0])?;
    let out = first.call(&[&v0_zero, &t, &target, &a_true, &x0_true])?;
    println!(
        "    loss at v0 = 0: {:.2}   dloss/dv0 = {}",
        out[0].item::<f32>()?,
        pair(&out[1].to_vec::<f32>()?)
    );
    let params = Params::new().with("v0", v0_zero)?;
    let mut tr = Trainer::new(kin::loss_v0, params, Sgd::new(0.1))?;
    for step in 0..10 {
        let loss = tr.step(&v0_data)?;
        let v0 = kin::get(tr.params(), "v0")?;
        println!("    step {step:>2}: loss {loss:>10.4}  ->  v0 = {}", pair(&v0));
    }

    // (2) everything with lr 0.1: too large a step.
    println!("\n(2) all parameters from 0; SGD lr 0.1");
    let mut tr = Trainer::new(kin::loss, zeros()?, Sgd::new(0.1))?;
    let mut diverged = Vec::new();
    for step in 0..200 {
        let loss = tr.step(&data)?;
        diverged.push(loss);
        if step < 5 || step % 10 == 0 || !loss.is_finite() {
            println!("    step {step:>3}: loss {loss:.4e}");
        }
        if !loss.is_finite() {
            break;
        }
    }
    let growth = (diverged[10] / diverged[5]).powf(0.2);
    println!(
        "    diverges: the loss grows about {growth:.2}x per step and overflows f32 after {} \
         steps — lr 0.1 is past the stable step size for the t² term",
        diverged.len() - 1
    );

    // (3) lr 0.01, 10 000 steps; (4) Adam lr 1, 1000 steps.
    let (sgd, sgd_params) = fit(&args, Sgd::new(0.01), 10_000, "SGD lr 0.01")?;
    report("(3) all parameters from 0; SGD lr 0.01, 10 000 steps", &sgd, &sgd_params)?;
    let (adam, adam_params) = fit(&args, Adam::new(1.0), 1000, "Adam lr 1")?;
    report("(4) all parameters from 0; Adam lr 1, 1000 steps", &adam, &adam_params)?;
    let (sgd_losses, adam_losses) = (&sgd.losses, &adam.losses);

    // Plots.
    let loss_png = args.out_file("kinematics_loss.png")?;
    let panels = [
        Panel::new("(2) SGD lr 0.1: diverges", "step", "MSE")
            .log_y()
            .legend(SeriesLabelPosition::LowerRight)
            .with(Series::by_step("lr 0.1", &diverged, plot::RED)),
        Panel::new("(3) SGD lr 0.01", "step", "MSE").log_y().with(Series::by_step(
            "lr 0.01",
            sgd_losses,
            plot::BLUE,
        )),
        Panel::new("(4) Adam lr 1", "step", "MSE").log_y().with(Series::by_step(
            "Adam lr 1",
            adam_losses,
            plot::GREEN,
        )),
    ];
    plot::save_png(&loss_png, &panels, 3, (520, 420))?;
    let fit_png = args.out_file("kinematics_fit.png")?;
    let truth: Vec<(f64, f64)> = kin::times()
        .iter()
        .map(|&ti| kin::position_host(ti, A, X0, V0))
        .map(|p| (p[0] as f64, p[1] as f64))
        .collect();
    let curve = |p: &Params| -> Result<Vec<(f64, f64)>> {
        let (a, x0, v0) = (kin::get(p, "a")?, kin::get(p, "x0")?, kin::get(p, "v0")?);
        Ok((0..=100)
            .map(|i| kin::position_host(i as f32 * 0.05, a, x0, v0))
            .map(|p| (p[0] as f64, p[1] as f64))
            .collect())
    };
    let (_, early) = fit(&args, Sgd::new(0.01), 100, "SGD lr 0.01")?;
    let panel = Panel::new("Projectile: data and fitted trajectories", "x (m)", "y (m)")
        .legend(SeriesLabelPosition::LowerLeft)
        .with(Series::new("observed positions", truth, plot::GREY, Mark::Dots))
        .with(Series::new("SGD lr 0.01, 100 steps", curve(&early)?, plot::PURPLE, Mark::ThinLine))
        .with(Series::new("SGD lr 0.01, 10 000 steps", curve(&sgd_params)?, plot::BLUE, Mark::Line))
        .with(Series::new(
            "Adam lr 1, 1000 steps",
            curve(&adam_params)?,
            plot::ORANGE,
            Mark::ThinLine,
        ));
    plot::save_png(&fit_png, &[panel], 1, (720, 480))?;
    println!("\nplots: {}, {}", loss_png.display(), fit_png.display());
    println!("wall time {:.2} s", wall.elapsed().as_secs_f64());
    Ok(())
}

/// Parameters `a`, `x0`, `v0` all zero.
fn zeros() -> Result<Params> {
    kin::params([0.0; 2], [0.0; 2], [0.0; 2])
}

/// Trains all parameters from 0 with `opt` for `steps` steps.
fn fit<O>(args: &Args, opt: O, steps: usize, what: &str) -> Result<(Run, Params)>
where
    O: gradlift::optim::Optimizer + 'static,
{
    let [t, target] = kin::data()?;
    let mut tr = Trainer::new(kin::loss, zeros()?, opt)?;
    let run = train(&mut tr, &[&t, &target], steps, &args.progress(steps as u64, what))?;
    Ok((run, tr.params().clone()))
}

/// Prints a run's losses, timing and final parameters.
fn report(title: &str, run: &Run, p: &Params) -> Result<()> {
    let [t, target] = kin::data()?;
    let final_loss = eval_loss(kin::loss, p, &[&t, &target])?;
    println!("\n{title}");
    for (i, l) in run.losses.iter().enumerate() {
        if i < 3 || (i + 1).is_power_of_two() && i >= 15 {
            println!("    step {i:>5}: loss {l:.4e}");
        }
    }
    println!("    final loss {final_loss:.4e}");
    println!("    a  = {}   (true {})", pair(&kin::get(p, "a")?), pair(&A));
    println!("    v0 = {}   (true {})", pair(&kin::get(p, "v0")?), pair(&V0));
    println!("    x0 = {}   (true {})", pair(&kin::get(p, "x0")?), pair(&X0));
    println!(
        "    first step {:.1} ms (trace + compile), then {:.0} steps/s",
        run.first_step_s * 1e3,
        run.steps_per_s
    );
    Ok(())
}
