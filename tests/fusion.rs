//! Fusion: fused programs compute what the graph computes (interpreter on
//! both), and the tutorial's training steps fuse into few kernels
//! (snapshots show which ops landed in which kernel).

use gradlift::ir::interp::eval_function;
use gradlift::ir::random_graph::{random_function, GraphConfig};
use gradlift::{trace_named, value_and_grad, DType, Function, Type, Var};
use gradlift_compiler::fusion::{eval_fused, fuse, print_fused};

fn f32t(dims: &[usize]) -> Type {
    Type::new(DType::F32, dims)
}

fn random_args(f: &Function, seed: u64) -> Vec<gradlift::Tensor> {
    f.params()
        .enumerate()
        .map(|(i, p)| {
            let ty = f.ty(p);
            let t = gradlift::Tensor::rand_normal(
                seed * 31 + i as u64,
                ty.shape.clone(),
                0.0,
                2.0,
                DType::F64,
            )
            .unwrap();
            t.cast(ty.dtype)
        })
        .collect()
}

#[test]
fn fused_programs_evaluate_like_their_graphs() {
    let cfg = GraphConfig::default();
    for seed in 0..600 {
        let f = random_function(seed, &cfg);
        let args = random_args(&f, seed);
        let want = eval_function(&f, &args).unwrap();
        let prog = fuse(&f).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{f}"));
        let got = eval_fused(&prog, &args)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{}", print_fused(&prog)));
        assert_eq!(got.len(), want.len());
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g == w || g.allclose_nan(w, 0.0, 0.0),
                "seed {seed}, result {k}: {g} vs {w}\n{f}\n{}",
                print_fused(&prog)
            );
        }
    }
}

fn kinematics_loss(a: Var, x0: Var, v0: Var, t: Var, target: Var) -> Var {
    let pos = x0 + v0 * t + 0.5 * a * t * t;
    (pos - target).square().mean_all()
}

/// One SGD step of the tutorial's kinematics fit: loss, then the updated
/// parameters.
fn kinematics_sgd_step(a: Var, x0: Var, v0: Var, t: Var, target: Var) -> (Var, Var, Var, Var) {
    let (loss, g) = value_and_grad(kinematics_loss, &[0, 1, 2])(&[a, x0, v0, t, target]);
    let lr = 0.01;
    (loss, a - lr * g[0], x0 - lr * g[1], v0 - lr * g[2])
}

#[test]
fn kinematics_sgd_step_fuses_into_at_most_three_kernels() {
    let f = trace_named(
        "kinematics_sgd_step",
        kinematics_sgd_step,
        &[
            ("a", f32t(&[1, 2])),
            ("x0", f32t(&[1, 2])),
            ("v0", f32t(&[1, 2])),
            ("t", f32t(&[10, 1])),
            ("target", f32t(&[10, 2])),
        ],
    )
    .unwrap();
    let prog = fuse(&f).unwrap();
    let text = print_fused(&prog);
    assert_eq!(prog.num_library_calls(), 0, "{text}");
    assert!(prog.num_kernels() <= 3, "{} kernels:\n{text}", prog.num_kernels());
    insta::assert_snapshot!("kinematics_sgd_step_fused", text);
}

/// The three tutorial training steps (loss + gradient + optimiser update)
/// after optimisation and fusion: which ops land in which kernel.
mod training_steps {
    use gradlift::optim::{Adam, Sgd, Trainer};
    use gradlift::{DType, Params, Tensor, Var};
    use gradlift_compiler::fusion::{fuse, print_fused};
    use gradlift_compiler::passes::pipeline::{optimize, PipelineOptions};

    fn fused_text(tr: &Trainer, data: &[&Tensor]) -> (String, usize, usize) {
        let f = tr.traced_step(data).unwrap();
        let (g, _) = optimize(&f, &PipelineOptions::default()).unwrap();
        let prog = fuse(&g).unwrap();
        (print_fused(&prog), prog.num_kernels(), prog.num_library_calls())
    }

    #[test]
    fn kinematics_sgd_step() {
        let t = Tensor::linspace(0.0, 5.0, 10, DType::F32).unwrap().reshape([10, 1]).unwrap();
        let target = Tensor::zeros(DType::F32, [10, 2]).unwrap();
        let z = || Tensor::zeros(DType::F32, [1, 2]).unwrap();
        let params =
            Params::new().with("a", z()).unwrap().with("x0", z()).unwrap().with("v0", z()).unwrap();
        let loss = |p: &[Var], d: &[Var]| {
            ((p[1] + p[2] * d[0] + 0.5 * p[0] * d[0] * d[0]) - d[1]).square().mean_all()
        };
        let tr = Trainer::new(loss, params, Sgd::new(0.01)).unwrap();
        let (text, kernels, calls) = fused_text(&tr, &[&t, &target]);
        assert!(kernels <= 3 && calls == 0, "{kernels} kernels, {calls} calls\n{text}");
        insta::assert_snapshot!("kinematics_sgd_train_step", text);
    }

    #[test]
    fn softcut_adam_step() {
        let m_s = Tensor::rand_normal(1, [500], 1100.0, 50.0, DType::F32).unwrap();
        let m_b = Tensor::rand_normal(2, [10000], 700.0, 300.0, DType::F32).unwrap();
        let params = Params::new().with("a", Tensor::scalar(500.0f32)).unwrap();
        let loss = |p: &[Var], d: &[Var]| {
            let s = ((d[0] - p[0]) * 10.0).sigmoid().sum_all();
            let b = ((d[1] - p[0]) * 10.0).sigmoid().sum_all();
            -(s / b.sqrt())
        };
        let tr = Trainer::new(loss, params, Adam::new(1.0)).unwrap();
        let (text, kernels, calls) = fused_text(&tr, &[&m_s, &m_b]);
        // Forward sums over m_s and m_b, the scalar loss, the two gradient
        // sums (they need the other sample's forward sum), the Adam update.
        assert!(kernels <= 6 && calls == 0, "{kernels} kernels, {calls} calls\n{text}");
        insta::assert_snapshot!("softcut_adam_train_step", text);
    }

    #[test]
    fn drift_pipeline_adam_step() {
        let p = Params::load_npz_keys(
            concat!(env!("CARGO_MANIFEST_DIR"), "/data/drift_init.npz"),
            &["w1", "b1", "w2", "b2", "w3", "b3"],
        )
        .unwrap();
        let t = Tensor::linspace(0.0, 1.0, 100, DType::F32).unwrap().reshape([100, 1]).unwrap();
        let target = Tensor::zeros(DType::F32, [100]).unwrap();
        let loss = |p: &[Var], d: &[Var]| {
            let h1 = (d[0].matmul(p[0].t()) + p[1]).relu();
            let h2 = (h1.matmul(p[2].t()) + p[3]).relu();
            let out = h2.matmul(p[4].t()) + p[5];
            let pred = ((15.0 + out.slice_axis(1, 0, 1)) + (10.0 + out.slice_axis(1, 1, 2)) * 3.0
                - 4.9 * 9.0)
                .reshape(&[100]);
            (pred - d[1]).square().mean_all()
        };
        let tr = Trainer::new(loss, p, Adam::new(1e-3)).unwrap();
        let (text, kernels, calls) = fused_text(&tr, &[&t, &target]);
        insta::assert_snapshot!(
            "drift_pipeline_adam_train_step",
            format!("# {kernels} kernels, {calls} library calls\n{text}")
        );
    }
}
