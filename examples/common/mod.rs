//! Code shared by the tutorial examples (`examples/*.rs`) and their
//! integration tests (`tests/tutorial_*.rs`), so the tests check exactly
//! what the examples run.
//!
//! | module | what |
//! | --- | --- |
//! | `kinematics` | tutorial part 1: projectile fit (data, model, losses) |
//! | `softcut` | tutorial part 2: hard-cut sweep and soft-cut significance |
//! | `drift` | tutorial part 3: MLP vs physics-informed MLP |
//! | `app` | command line, progress bars, number formatting |
//! | `plot` | PNG line charts (plotters, with a shipped font) |
//!
//! Each example and test uses only part of this module, so the includers
//! allow dead code on it.

pub mod app;
pub mod drift;
pub mod kinematics;
pub mod plot;
pub mod softcut;

use std::path::PathBuf;

/// A file of the repository's `data/` folder, wherever the program runs.
pub fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data").join(name)
}

/// Evenly spaced values as `numpy.linspace(start, stop, n, dtype=float32)`:
/// computed in f64 (`start + i·step`, the last value exactly `stop`), then
/// rounded to f32.
pub fn linspace_f32(start: f64, stop: f64, n: usize) -> Vec<f32> {
    if n == 1 {
        return vec![start as f32];
    }
    let step = (stop - start) / (n - 1) as f64;
    (0..n)
        .map(|i| if i + 1 == n { stop as f32 } else { (start + i as f64 * step) as f32 })
        .collect()
}
