//! Tutorial part 3: a network inside a physics pipeline. Two models learn
//! where a projectile lands as its launch conditions drift with a control
//! variable `t`:
//!
//! - direct: MLP 1→100→ReLU→50→ReLU→1 predicts the landing position;
//! - physics-informed: MLP 1→100→ReLU→50→ReLU→2 predicts the drifts of
//!   `x0` and `v0`, and the kinematics computes the position.
//!
//! ```text
//! cargo run --release --example drift_pipeline [-- --out DIR --quiet]
//! ```
//!
//! Both train with Adam lr 1e-3 for 4000 steps from `data/drift_init.npz`.
//! Writes `drift_loss.png` and `drift_fit.png` to `--out`.

#[allow(dead_code)]
mod common;

use std::time::Instant;

use common::app::{eval_loss, train, Args, Result};
use common::drift::{self as dr, LR, STEPS};
use common::plot::{self, Mark, Panel, Series};
use gradlift::optim::{Adam, Trainer};
use gradlift::{jit, Tensor, Var};
use plotters::prelude::SeriesLabelPosition;

fn main() -> Result<()> {
    let args = Args::parse("Tutorial part 3: an MLP vs a physics-informed MLP.");
    let wall = Instant::now();
    let [t, target] = dr::data()?;
    let data = [&t, &target];
    println!("Tutorial part 3 — drift pipeline");
    println!("data: t = linspace(0, 1, 100); landing position after T = 3 s with");
    println!("      x0 = 15 + 2 sin 20t, v0 = 10 + 5t², a = -9.8");
    println!("start: data/drift_init.npz (torch default init, seed 3); the direct model's");
    println!(
        "       1-output last layer is drawn from U(-1/√50, 1/√50) with seed {} (the file \
         has only the 2-output layer)",
        dr::OUT_SEED
    );

    let mut results = Vec::new();
    for (name, loss, init) in [
        ("direct MLP", dr::direct_loss as fn(&[Var], &[Var]) -> Var, dr::direct_init()?),
        ("physics-informed", dr::physics_loss, dr::physics_init()?),
    ] {
        let mut tr = Trainer::new(loss, init, Adam::new(LR))?;
        let run = train(&mut tr, &data, STEPS, &args.progress(STEPS as u64, name))?;
        let final_loss = eval_loss(loss, tr.params(), &data)?;
        println!("\n{name}: Adam lr {LR}, {STEPS} steps");
        for step in [0, 1, 10, 100, 1000, 2000, 3000] {
            println!("    step {step:>4}: MSE {:.6}", run.losses[step]);
        }
        println!("    final MSE {final_loss:.6}");
        println!(
            "    first step {:.1} ms (trace + compile), then {:.0} steps/s",
            run.first_step_s * 1e3,
            run.steps_per_s
        );
        results.push((name, run, final_loss, tr.params().clone()));
    }
    let (direct, physics) = (&results[0], &results[1]);
    println!(
        "\nfinal MSE: direct {:.6}, physics-informed {:.6} ({}; JAX from the same start: \
         physics-informed 0.014893)",
        direct.2,
        physics.2,
        if physics.2 < direct.2 {
            "physics-informed is lower"
        } else {
            "physics-informed is NOT lower"
        }
    );

    // Predictions of both trained models.
    let predict = jit(|p: &[Var]| {
        let (phys, dir, t) = (&p[..6], &p[6..12], p[12]);
        let (dx0, dv0) = dr::drifts(phys, t);
        vec![dx0, dv0, dr::physics(phys, t), dr::direct(dir, t)]
    })
    .named("predict");
    let mut inputs: Vec<&Tensor> = physics.3.tensors().iter().collect();
    inputs.extend(direct.3.tensors());
    inputs.push(&t);
    let out = predict.call(&inputs)?;
    let ts: Vec<f64> = t.to_f64_vec();
    let series = |label: &str, v: &Tensor, color, mark| {
        Series::new(label, ts.iter().copied().zip(v.to_f64_vec()).collect(), color, mark)
    };
    let truth = |label: &str, f: fn(f32) -> f32| {
        let pts = ts.iter().map(|&x| (x, f(x as f32) as f64)).collect();
        Series::new(label, pts, plot::GREY, Mark::Dots)
    };
    let (dx0, dv0, pos_phys, pos_direct) = (&out[0], &out[1], &out[2], &out[3]);
    // Only x0 + T·v0 enters the position, so the two drifts are not
    // separately identifiable: the plots show what each output learnt.
    let combined: Vec<(f64, f64)> = ts
        .iter()
        .zip(dx0.to_f64_vec().iter().zip(dv0.to_f64_vec()))
        .map(|(&x, (a, b))| (x, a + dr::T_END * b))
        .collect();
    let fit_png = args.out_file("drift_fit.png")?;
    let panels = [
        Panel::new("landing position", "t", "position (m)")
            .legend(SeriesLabelPosition::UpperLeft)
            .with(Series::new(
                "truth",
                ts.iter().copied().zip(target.to_f64_vec()).collect(),
                plot::GREY,
                Mark::Dots,
            ))
            .with(series("physics-informed", pos_phys, plot::BLUE, Mark::Line))
            .with(series("direct MLP", pos_direct, plot::ORANGE, Mark::Line)),
        Panel::new("x0 drift (physics-informed output 0)", "t", "x0 - 15 (m)")
            .legend(SeriesLabelPosition::UpperLeft)
            .with(truth("truth 2 sin 20t", dr::x0_drift))
            .with(series("learnt", dx0, plot::BLUE, Mark::Line)),
        Panel::new("v0 drift (physics-informed output 1)", "t", "v0 - 10 (m/s)")
            .legend(SeriesLabelPosition::LowerRight)
            .with(truth("truth 5t²", dr::v0_drift))
            .with(series("learnt", dv0, plot::BLUE, Mark::Line)),
        Panel::new("x0 drift + T·v0 drift (what the position sees)", "t", "m")
            .legend(SeriesLabelPosition::UpperLeft)
            .with(truth("truth", |t| dr::x0_drift(t) + dr::T_END as f32 * dr::v0_drift(t)))
            .with(Series::new("learnt", combined, plot::BLUE, Mark::Line)),
    ];
    plot::save_png(&fit_png, &panels, 2, (640, 420))?;
    let loss_png = args.out_file("drift_loss.png")?;
    let panel = Panel::new("training loss (Adam lr 1e-3)", "step", "MSE")
        .log_y()
        .with(Series::by_step("direct MLP", &direct.1.losses, plot::ORANGE))
        .with(Series::by_step("physics-informed", &physics.1.losses, plot::BLUE));
    plot::save_png(&loss_png, &[panel], 1, (720, 460))?;
    println!("\nplots: {}, {}", fit_png.display(), loss_png.display());
    println!("wall time {:.2} s", wall.elapsed().as_secs_f64());
    Ok(())
}
