//! How long the optimisation pipeline takes on the graphs it is for:
//!
//! - the gradient graph of a 784→512→512→10 MLP training step (relu,
//!   softmax cross-entropy on integer labels, `ad::grad` with respect to
//!   the six weights and biases, an SGD update); target: under 5 ms for
//!   optimisation plus (later) fusion;
//! - a random program of about 10^5 instructions with hidden identities
//!   (every op family, every dtype), returning every unused value;
//! - a 10^5-instruction chain of `x·1`, `neg(neg(·))` and additions.
//!
//! Run with `cargo bench -p gradlift-compiler --bench passes`; the median
//! of each is in `target/criterion/<group>/<name>/new/estimates.json`.
//! Every benchmark also prints its graph's size before and after and the
//! pipeline's per-pass table once.

#[path = "../tests/passes_common/mod.rs"]
mod passes_common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use gradlift_compiler::passes::{optimize, PipelineOptions};
use gradlift_ir::random_graph::{random_function, GraphConfig};
use gradlift_ir::{BinaryOp, DType, Dims, Function, Op, Shape, Tensor, Type, UnaryOp};

fn opts() -> PipelineOptions {
    // Verification is for tests; a compile in production runs without it.
    PipelineOptions { verify: false, ..PipelineOptions::default() }
}

fn describe(what: &str, f: &Function) {
    let (g, report) = optimize(f, &opts()).expect("optimize");
    println!(
        "{what}: {} -> {} instructions, {} round(s)\n{report}",
        f.num_instructions(),
        g.num_instructions(),
        report.rounds
    );
}

/// A random program of about `n` instructions (every op family and dtype,
/// special constants) with identities hidden in it, returning every value
/// nothing else uses (so that DCE leaves the work in).
fn random_program(n: usize) -> Function {
    let cfg = GraphConfig { min_nodes: n / 2, max_nodes: n / 2, ..GraphConfig::default() };
    let mut f = passes_common::add_redundancy(&random_function(42, &cfg), 42, 0.5);
    let mut used = vec![false; f.len()];
    for (_, node) in f.instructions() {
        for a in &node.args {
            used[a.index()] = true;
        }
    }
    let sinks = f.instructions().map(|(v, _)| v).filter(|v| !used[v.index()]).collect();
    f.set_results(sinks).unwrap();
    f
}

/// `blocks` times: `v = neg(neg(v·1)) + x`, plus an unused duplicate.
fn chain(blocks: usize) -> Function {
    let mut f = Function::new("chain");
    let x = f.add_param(Some("x"), Type::new(DType::F32, Shape::new(&[16]))).unwrap();
    let one = f.push(Op::Constant { value: Arc::new(Tensor::scalar(1.0f32)) }, &[], None).unwrap();
    let ones = f
        .push(Op::BroadcastInDim { shape: Shape::new(&[16]), dims: Dims::new() }, &[one], None)
        .unwrap();
    let mut v = x;
    for _ in 0..blocks {
        let m = f.push(Op::Binary(BinaryOp::Mul), &[v, ones], None).unwrap();
        let n = f.push(Op::Unary(UnaryOp::Neg), &[m], None).unwrap();
        let nn = f.push(Op::Unary(UnaryOp::Neg), &[n], None).unwrap();
        v = f.push(Op::Binary(BinaryOp::Add), &[nn, x], None).unwrap();
        f.push(Op::Binary(BinaryOp::Add), &[nn, x], None).unwrap();
    }
    f.set_results(vec![v]).unwrap();
    f
}

fn bench_passes(c: &mut Criterion) {
    let mlp = passes_common::models::mlp_train_step(&[784, 512, 512, 10], 128, 0.01);
    describe("mlp_train_step 784-512-512-10", &mlp);
    let random = random_program(100_000);
    describe("random program", &random);
    let long = chain(20_000);
    describe("chain", &long);

    let mut group = c.benchmark_group("optimize");
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("mlp_train_step_784_512_512_10", |b| {
        b.iter(|| optimize(black_box(&mlp), &opts()).expect("optimize"))
    });
    group.sample_size(10);
    group.bench_function("random_1e5", |b| {
        b.iter(|| optimize(black_box(&random), &opts()).expect("optimize"))
    });
    group.bench_function("chain_1e5", |b| {
        b.iter(|| optimize(black_box(&long), &opts()).expect("optimize"))
    });
    group.finish();
}

criterion_group!(benches, bench_passes);
criterion_main!(benches);
