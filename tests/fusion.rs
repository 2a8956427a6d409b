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
