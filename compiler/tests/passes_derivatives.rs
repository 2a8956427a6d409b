//! Derivative graphs shrink under the pipeline and keep their results:
//! gradients of the kinematics MSE loss, a dense layer, an MLP training
//! step, and a second derivative.

mod passes_common;

use gradlift_compiler::ad::{grad, hessian};
use gradlift_compiler::passes::{optimize, PipelineOptions};
use gradlift_ir::text::print_function;
use gradlift_ir::{Data, Function, Tensor};
use passes_common::models::{dense_layer_loss, kinematics_loss, mlp_train_step};
use passes_common::{compare, eval, random_args, Compare};

/// Optimises `g`, checks the op count went down and the results (on a few
/// random argument sets) kept their bits; returns (before, after) counts.
fn shrinks(g: &Function, args: &dyn Fn(u64) -> Vec<Tensor>) -> (usize, usize) {
    let opts = PipelineOptions { verify: true, ..PipelineOptions::default() };
    let (h, report) = optimize(g, &opts).unwrap();
    assert!(report.converged, "{report}");
    let (before, after) = (g.num_instructions(), h.num_instructions());
    assert!(
        after < before,
        "@{}: {before} -> {after} instructions\n{report}\n{}",
        g.name(),
        print_function(&h)
    );
    for seed in 0..3 {
        let a = args(seed);
        let (want, got) = (eval(g, &a).unwrap(), eval(&h, &a).unwrap());
        if let Some(d) = compare(&want, &got, Compare::BitsNanAsOne) {
            panic!("@{}: {d}\n{}", g.name(), print_function(&h));
        }
    }
    eprintln!("@{}: {before} -> {after} instructions\n{report}", g.name());
    (before, after)
}

/// Random finite arguments (uniform in [-1, 1]) of `f`'s parameter types;
/// integer parameters (labels) in `0..classes`.
fn finite_args(f: &Function, seed: u64, classes: i32) -> Vec<Tensor> {
    random_args(f, seed)
        .into_iter()
        .map(|t| {
            let data = match t.data() {
                Data::F32(v) => Data::F32(
                    v.iter()
                        .enumerate()
                        .map(|(i, _)| {
                            (((i as u64 * 2654435761 + seed) % 2001) as f32 - 1000.0) / 1000.0
                        })
                        .collect(),
                ),
                Data::I32(v) => Data::I32(
                    v.iter().enumerate().map(|(i, _)| (i as i32 + seed as i32) % classes).collect(),
                ),
                other => other.clone(),
            };
            Tensor::new(t.shape().clone(), data).unwrap()
        })
        .collect()
}

#[test]
fn kinematics_gradient_shrinks() {
    let f = kinematics_loss();
    let g = grad(&f, &[0, 1, 2], 0).unwrap();
    shrinks(&g, &|s| finite_args(&g, s, 1));
}

#[test]
fn dense_layer_gradient_shrinks() {
    let f = dense_layer_loss(4, 5, 3);
    let g = grad(&f, &[0, 1, 2], 0).unwrap();
    shrinks(&g, &|s| finite_args(&g, s, 1));
}

#[test]
fn mlp_training_step_shrinks() {
    let g = mlp_train_step(&[12, 8, 8, 4], 6, 0.1);
    let (before, after) = shrinks(&g, &|s| finite_args(&g, s, 4));
    assert!(after * 10 <= before * 9, "{before} -> {after}");
}

#[test]
fn second_derivative_shrinks() {
    let f = dense_layer_loss(2, 3, 2);
    let h = hessian(&f, 2, 0).unwrap();
    shrinks(&h, &|s| finite_args(&h, s, 1));
}
