//! Tutorial part 2: optimise an analysis cut by gradient descent through a
//! soft (sigmoid) relaxation of the hard cut.
//!
//! ```text
//! cargo run --release --example softcut [-- --out DIR --quiet]
//! ```
//!
//! 1. the hard cut `s/√b` at 10 000 cuts in `linspace(500, 1500, 10000)`
//!    (one compiled call compares every cut with every event);
//! 2. Adam lr 1 for 2000 steps from `a = 500` on the soft significance
//!    `Σσ(10(m_s − a)) / √Σσ(10(m_b − a))`.
//!
//! Writes `softcut_significance.png` and `softcut_path.png` to `--out`.

#[allow(dead_code)]
mod common;

use std::time::Instant;

use common::app::{eval_loss, tick, Args, Result};
use common::plot::{self, Mark, Panel, Series};
use common::softcut::{self as sc, A0, K, LR, STEPS};
use gradlift::optim::{Adam, Trainer};
use plotters::prelude::SeriesLabelPosition;

fn main() -> Result<()> {
    let args = Args::parse("Tutorial part 2: optimise a cut through a soft relaxation.");
    let wall = Instant::now();
    let [m_s, m_b] = sc::data()?;
    println!("Tutorial part 2 — soft cut");
    println!("data: data/softcut.npz, {} signal and {} background masses", m_s.len(), m_b.len());
    let (_, hard0) = sc::significance_f64(A0 as f64, &m_s, &m_b);
    println!("hard s/√b at a = {A0}: {hard0:.4}");

    // (1) The hard-cut sweep, and the soft significance at the same cuts.
    let cuts = sc::sweep_cuts();
    let start = Instant::now();
    let (hard, soft) = sc::sweep(&cuts, &m_s, &m_b)?;
    let sweep_s = start.elapsed().as_secs_f64();
    let best = sc::argmax(&hard);
    let best_soft = sc::argmax(&soft);
    println!(
        "\n(1) hard cut at {} values of linspace(500, 1500, {0}) ({sweep_s:.2} s)",
        cuts.len()
    );
    println!("    best cut {:.4}   s/√b = {:.4}", cuts[best], hard[best]);
    println!(
        "    (the soft significance, k = {K}, peaks at {:.4} with {:.4} on the same grid)",
        cuts[best_soft], soft[best_soft]
    );

    // (2) Adam on the soft significance.
    println!("\n(2) Adam lr {LR}, {STEPS} steps from a = {A0}, maximising the soft s/√b (k = {K})");
    let mut tr = Trainer::new(sc::loss_two_samples, sc::params()?, Adam::new(LR))?;
    let bar = args.progress(STEPS as u64, "Adam lr 1");
    let data = [&m_s, &m_b];
    let mut path = vec![A0 as f64];
    let mut zs = Vec::with_capacity(STEPS);
    let start = Instant::now();
    for step in 0..STEPS {
        let loss = tr.step(&data)?;
        zs.push(-loss);
        path.push(tr.params().tensors()[0].item::<f32>()? as f64);
        tick(&bar, step, 20, loss);
        if step % 250 == 0 {
            bar.suspend(|| {
                println!("    step {step:>4}: a = {:>9.4}  soft s/√b = {:.4}", path[step], -loss)
            });
        }
    }
    let train_s = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let cut = path[STEPS];
    let z_final = -eval_loss(sc::loss_two_samples, tr.params(), &data)?;
    let (soft64, hard64) = sc::significance_f64(cut, &m_s, &m_b);
    println!("    step {STEPS:>4}: a = {cut:>9.4}  soft s/√b = {z_final:.4}");
    println!("cut = {cut:.4}");
    println!("    soft s/√b {z_final:.4} (f32, compiled); in f64 on the host: soft {soft64:.4}, hard {hard64:.4}");
    println!(
        "    lecture 1027.398 / 12.650, JAX 1027.4 / 12.6502; hard-cut optimum {:.4} / {:.4}",
        cuts[best], hard[best]
    );
    println!(
        "    {STEPS} steps in {train_s:.3} s ({:.0} steps/s, first step with compile included)",
        STEPS as f64 / train_s
    );

    // Plots.
    let sig_png = args.out_file("softcut_significance.png")?;
    let line = |x: f64, lo: f64, hi: f64| vec![(x, lo), (x, hi)];
    let grid = |v: &[f32], lo: f32, hi: f32| -> Vec<(f64, f64)> {
        cuts.iter()
            .zip(v)
            .filter(|(c, _)| (lo..=hi).contains(*c))
            .map(|(&c, &z)| (c as f64, z as f64))
            .collect()
    };
    let panels = [
        Panel::new("s/√b against the cut", "cut a", "s/√b")
            .with(Series::new("hard cut", grid(&hard, 500.0, 1500.0), plot::BLUE, Mark::Line))
            .with(Series::new(
                "soft cut, k = 10",
                grid(&soft, 500.0, 1500.0),
                plot::ORANGE,
                Mark::ThinLine,
            ))
            .with(Series::new(
                &format!("Adam result a = {cut:.1}"),
                line(cut, 0.0, 13.0),
                plot::RED,
                Mark::Line,
            )),
        Panel::new("near the optimum", "cut a", "s/√b")
            .legend(SeriesLabelPosition::LowerLeft)
            .with(Series::new("hard cut", grid(&hard, 990.0, 1060.0), plot::BLUE, Mark::Line))
            .with(Series::new(
                "soft cut, k = 10",
                grid(&soft, 990.0, 1060.0),
                plot::ORANGE,
                Mark::Line,
            ))
            .with(Series::new(
                &format!("Adam result a = {cut:.1}"),
                line(cut, 12.3, 12.7),
                plot::RED,
                Mark::Line,
            ))
            .with(Series::new(
                &format!("best hard cut {:.1}", cuts[best]),
                line(cuts[best] as f64, 12.3, 12.7),
                plot::GREEN,
                Mark::ThinLine,
            )),
    ];
    plot::save_png(&sig_png, &panels, 2, (640, 440))?;
    let path_png = args.out_file("softcut_path.png")?;
    let panels = [
        Panel::new("Adam lr 1: the cut per step", "step", "cut a")
            .legend(SeriesLabelPosition::LowerRight)
            .with(Series::by_step("a", &path, plot::BLUE))
            .with(Series::new(
                &format!("best hard cut {:.1}", cuts[best]),
                vec![(0.0, cuts[best] as f64), (STEPS as f64, cuts[best] as f64)],
                plot::GREEN,
                Mark::ThinLine,
            )),
        Panel::new("the cut per step, from step 400", "step", "cut a")
            .legend(SeriesLabelPosition::LowerRight)
            .with(Series::new(
                "a",
                path.iter().enumerate().skip(400).map(|(i, &a)| (i as f64, a)).collect(),
                plot::BLUE,
                Mark::Line,
            )),
        Panel::new("Adam lr 1: soft s/√b per step", "step", "s/√b")
            .legend(SeriesLabelPosition::LowerRight)
            .with(Series::by_step("soft s/√b", &zs, plot::ORANGE)),
    ];
    plot::save_png(&path_png, &panels, 3, (520, 420))?;
    println!("\nplots: {}, {}", sig_png.display(), path_png.display());
    println!("wall time {:.2} s", wall.elapsed().as_secs_f64());
    Ok(())
}
