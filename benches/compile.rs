//! Compile-time benchmarks: optimisation + fusion of the gradient graph of
//! a 784→512→512→10 MLP training step (target under 5 ms) and of a
//! 10^5-op graph; the whole compilation (passes, fusion, code generation,
//! planning) of the three tutorial training steps.

use criterion::{criterion_group, criterion_main, Criterion};
use gradlift::nn::{Activation, Mlp};
use gradlift::optim::{Adam, Sgd, Trainer};
use gradlift::{trace, DType, Params, Tensor, Type, Var};
use gradlift_compiler::compile::{compile, CompileOptions};
use gradlift_compiler::fusion::fuse;
use gradlift_compiler::passes::pipeline::{optimize, PipelineOptions};

fn mlp_step() -> gradlift::Function {
    let mlp = Mlp::new(&[784, 512, 512, 10]).activation(Activation::Relu);
    let x = Tensor::zeros(DType::F32, [256, 784]).unwrap();
    let y = Tensor::zeros(DType::I32, [256]).unwrap();
    let m = mlp.clone();
    let loss =
        move |p: &[Var], d: &[Var]| gradlift::loss::softmax_cross_entropy(m.forward(p, d[0]), d[1]);
    let tr = Trainer::new(loss, mlp.init(0).unwrap(), Adam::new(1e-3)).unwrap();
    tr.traced_step(&[&x, &y]).unwrap()
}

fn big_graph() -> gradlift::Function {
    trace(
        "big",
        |x: Var, w: Var| {
            let mut y = x;
            for i in 0..33_334 {
                y = match i % 3 {
                    0 => (y * w).tanh() + x,
                    1 => (y - x).sin() * w,
                    _ => y.exp().log1p() - w,
                };
            }
            y.sum_all()
        },
        &[Type::new(DType::F32, [64]), Type::new(DType::F32, [64])],
    )
    .unwrap()
}

fn tutorial_steps() -> Vec<(&'static str, gradlift::Function)> {
    let f32z = |d: &[usize]| Tensor::zeros(DType::F32, gradlift::Shape::new(d)).unwrap();
    let kin = {
        let p = Params::new()
            .with("a", f32z(&[1, 2]))
            .unwrap()
            .with("x0", f32z(&[1, 2]))
            .unwrap()
            .with("v0", f32z(&[1, 2]))
            .unwrap();
        let loss = |p: &[Var], d: &[Var]| {
            ((p[1] + p[2] * d[0] + 0.5 * p[0] * d[0] * d[0]) - d[1]).square().mean_all()
        };
        Trainer::new(loss, p, Sgd::new(0.01))
            .unwrap()
            .traced_step(&[&f32z(&[10, 1]), &f32z(&[10, 2])])
            .unwrap()
    };
    let soft = {
        let p = Params::new().with("a", Tensor::scalar(500.0f32)).unwrap();
        let loss = |p: &[Var], d: &[Var]| {
            -((((d[0] - p[0]) * 10.0).sigmoid().sum_all())
                / (((d[1] - p[0]) * 10.0).sigmoid().sum_all()).sqrt())
        };
        Trainer::new(loss, p, Adam::new(1.0))
            .unwrap()
            .traced_step(&[&f32z(&[500]), &f32z(&[10000])])
            .unwrap()
    };
    let drift = {
        let mlp = Mlp::new(&[1, 100, 50, 2]).activation(Activation::Relu);
        let m = mlp.clone();
        let loss = move |p: &[Var], d: &[Var]| {
            let out = m.forward(p, d[0]);
            let pred = ((15.0 + out.slice_axis(1, 0, 1)) + (10.0 + out.slice_axis(1, 1, 2)) * 3.0
                - 4.9 * 9.0)
                .reshape(&[100]);
            (pred - d[1]).square().mean_all()
        };
        Trainer::new(loss, mlp.init(3).unwrap(), Adam::new(1e-3))
            .unwrap()
            .traced_step(&[&f32z(&[100, 1]), &f32z(&[100])])
            .unwrap()
    };
    vec![
        ("kinematics_sgd", kin),
        ("softcut_adam", soft),
        ("drift_adam", drift),
        ("mlp_adam_b256", mlp_step()),
    ]
}

fn bench(c: &mut Criterion) {
    let opts = PipelineOptions { verify: false, ..Default::default() };
    let mlp = mlp_step();
    let big = big_graph();
    eprintln!(
        "mlp step: {} instructions; big graph: {} instructions",
        mlp.num_instructions(),
        big.num_instructions()
    );
    let mut g = c.benchmark_group("optimize_and_fuse");
    g.sample_size(20);
    g.bench_function("mlp_784_512_512_10_step", |b| {
        b.iter(|| fuse(&optimize(&mlp, &opts).unwrap().0).unwrap())
    });
    g.sample_size(10);
    g.bench_function("graph_1e5_ops", |b| {
        b.iter(|| fuse(&optimize(&big, &opts).unwrap().0).unwrap())
    });
    g.finish();
    let mut g = c.benchmark_group("compile_training_step");
    g.sample_size(10);
    for (name, f) in tutorial_steps() {
        let copts = CompileOptions { pipeline: opts.clone(), ..Default::default() };
        let compiled = compile(&f, &copts).unwrap();
        eprintln!(
            "{name}: {} ({} kernels, {} library calls)",
            compiled.times,
            compiled.fused.num_kernels(),
            compiled.fused.num_library_calls()
        );
        g.bench_function(name, |b| b.iter(|| compile(&f, &copts).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
