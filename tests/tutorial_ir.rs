//! Snapshots of the IR the tutorial's functions trace to, and of their
//! derivatives (forward and reverse), so changes to tracing or to the
//! derivative rules are reviewed like code.

use gradlift::ir::text::print_function;
use gradlift::{trace_named, DType, Type, Var};
use gradlift_compiler::ad;

fn f32t(dims: &[usize]) -> Type {
    Type::new(DType::F32, dims)
}

/// Tutorial part 1: projectile position and its MSE against the data.
fn kinematics_loss(a: Var, x0: Var, v0: Var, t: Var, target: Var) -> Var {
    let pos = x0 + v0 * t + 0.5 * a * t * t;
    (pos - target).square().mean_all()
}

/// Tutorial part 2: the soft-cut significance s/√b with a sigmoid of rate k.
fn softcut_significance(a: Var, m_s: Var, m_b: Var) -> Var {
    let k = 10.0;
    let s = ((m_s - a) * k).sigmoid().sum_all();
    let b = ((m_b - a) * k).sigmoid().sum_all();
    s / b.sqrt()
}

/// Tutorial part 3: an MLP 1→100→50→2 (torch layout y = x Wᵀ + b) whose two
/// outputs correct the initial position and velocity fed to the kinematics.
#[allow(clippy::too_many_arguments)]
fn drift_pipeline(x: Var, w1: Var, b1: Var, w2: Var, b2: Var, w3: Var, b3: Var) -> Var {
    let h1 = (x.matmul(w1.t()) + b1).relu();
    let h2 = (h1.matmul(w2.t()) + b2).relu();
    let out = h2.matmul(w3.t()) + b3;
    let x0 = 15.0 + out.slice_axis(1, 0, 1);
    let v0 = 10.0 + out.slice_axis(1, 1, 2);
    (x0 + v0 * 3.0 - 4.9 * 9.0).reshape(&[100])
}

fn kinematics_params() -> Vec<(&'static str, Type)> {
    vec![
        ("a", f32t(&[1, 2])),
        ("x0", f32t(&[1, 2])),
        ("v0", f32t(&[1, 2])),
        ("t", f32t(&[10, 1])),
        ("target", f32t(&[10, 2])),
    ]
}

#[test]
fn traced_tutorial_functions() {
    let k = trace_named("kinematics_loss", kinematics_loss, &kinematics_params()).unwrap();
    insta::assert_snapshot!("kinematics_loss", print_function(&k));
    let s = trace_named(
        "softcut",
        softcut_significance,
        &[("a", f32t(&[])), ("m_s", f32t(&[500])), ("m_b", f32t(&[10000]))],
    )
    .unwrap();
    insta::assert_snapshot!("softcut", print_function(&s));
    let d = trace_named(
        "drift_pipeline",
        drift_pipeline,
        &[
            ("x", f32t(&[100, 1])),
            ("w1", f32t(&[100, 1])),
            ("b1", f32t(&[100])),
            ("w2", f32t(&[50, 100])),
            ("b2", f32t(&[50])),
            ("w3", f32t(&[2, 50])),
            ("b3", f32t(&[2])),
        ],
    )
    .unwrap();
    insta::assert_snapshot!("drift_pipeline", print_function(&d));
}

#[test]
fn derivative_ir() {
    let f = trace_named(
        "log_ab",
        |a: Var, b: Var| (a * b).log(),
        &[("a", f32t(&[])), ("b", f32t(&[]))],
    )
    .unwrap();
    insta::assert_snapshot!("log_ab_jvp", print_function(&ad::jvp(&f, &[0, 1]).unwrap()));
    insta::assert_snapshot!("log_ab_vjp", print_function(&ad::vjp(&f, &[0, 1]).unwrap()));

    let k = trace_named("kinematics_loss", kinematics_loss, &kinematics_params()).unwrap();
    insta::assert_snapshot!(
        "kinematics_loss_jvp",
        print_function(&ad::jvp(&k, &[0, 1, 2]).unwrap())
    );
    insta::assert_snapshot!(
        "kinematics_loss_grad",
        print_function(&ad::grad(&k, &[0, 1, 2], 0).unwrap())
    );

    let layer = trace_named(
        "mlp_layer",
        |x: Var, w: Var, b: Var| (x.matmul(w.t()) + b).relu(),
        &[("x", f32t(&[8, 4])), ("w", f32t(&[3, 4])), ("b", f32t(&[3]))],
    )
    .unwrap();
    insta::assert_snapshot!("mlp_layer_jvp", print_function(&ad::jvp(&layer, &[1, 2]).unwrap()));
    insta::assert_snapshot!("mlp_layer_vjp", print_function(&ad::vjp(&layer, &[1, 2]).unwrap()));
}
