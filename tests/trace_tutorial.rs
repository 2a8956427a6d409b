//! The tutorial's three workloads trace into the graphs we expect.

mod trace_common;

use gradlift::ir::Op;
use gradlift::{trace, trace_module, trace_named, DType, Type, Var};
use trace_common::*;

fn position(t: Var, a: Var, x0: Var, v0: Var) -> Var {
    x0 + v0 * t + 0.5 * a * t * t
}

fn kinematics_params() -> Vec<(&'static str, Type)> {
    let row = f32s(&[1, 2]);
    vec![("t", f32s(&[10, 1])), ("a", row.clone()), ("x0", row.clone()), ("v0", row)]
}

#[test]
fn kinematics_position_traces_with_explicit_broadcasts() {
    let f = verified(trace_named("position", position, &kinematics_params()).unwrap());
    assert_eq!(f.name(), "position");
    let names: Vec<_> = f.params().map(|p| f.value_name(p)).collect();
    assert_eq!(names, [Some("t"), Some("a"), Some("x0"), Some("v0")]);
    assert_eq!(
        ops(&f),
        [
            // v0 * t: both sides broadcast to [10,2]
            "broadcast_in_dim",
            "broadcast_in_dim",
            "mul",
            // x0 + ...
            "broadcast_in_dim",
            "add",
            // 0.5 * a: a weakly typed f32 constant, broadcast to a's shape
            "constant",
            "broadcast_in_dim",
            "mul",
            // (0.5 * a) * t, then * t
            "broadcast_in_dim",
            "broadcast_in_dim",
            "mul",
            "broadcast_in_dim",
            "mul",
            "add",
        ],
        "{}",
        dump(&f)
    );
    assert_eq!(f.result_types(), [f32s(&[10, 2])]);
    // Every broadcast aligns trailing dims: [10,1] and [1,2] use dims=[0,1],
    // the scalar constant dims=[].
    for (dims, shape) in broadcasts(&f) {
        let want: Vec<usize> = if shape == [1, 2] { vec![] } else { vec![0, 1] };
        assert_eq!(dims, want, "broadcast to {shape:?}");
    }
    let (_, c) = f.instructions().find(|(_, n)| n.op.name() == "constant").unwrap();
    match &c.op {
        Op::Constant { value } => assert_eq!(value.ty(), Type::scalar(DType::F32)),
        other => panic!("expected a constant, got {other:?}"),
    }
}

#[test]
fn kinematics_mse_loss() {
    let mut params = kinematics_params();
    params.push(("target", f32s(&[10, 2])));
    let loss = |t: Var, a: Var, x0: Var, v0: Var, target: Var| {
        (position(t, a, x0, v0) - target).square().mean_all()
    };
    let f = verified(trace_named("loss", loss, &params).unwrap());
    assert_eq!(f.num_params(), 5);
    assert_eq!(f.num_instructions(), 14 + 5, "{}", dump(&f));
    assert_eq!(&ops(&f)[14..], ["sub", "mul", "reduce_sum", "constant", "div"]);
    assert_eq!(f.result_types(), [Type::scalar(DType::F32)]);
    match &f.node(f.results()[0]).op {
        Op::Binary(b) => assert_eq!(b.name(), "div"),
        other => panic!("loss should end in div, got {other:?}"),
    }
    // The mean divides by the 20 elements reduced, as an f32 constant.
    let consts: Vec<f32> = f
        .instructions()
        .filter_map(|(_, n)| match &n.op {
            Op::Constant { value } => match value.data() {
                gradlift::Data::F32(v) => Some(v[0]),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(consts, [0.5, 20.0]);
}

/// `sum(sigmoid(k(m_s − a))) / sqrt(sum(sigmoid(k(m_b − a))))`.
fn significance(m_s: Var, m_b: Var, a: Var) -> Var {
    let k = 10.0;
    let passed = |m: Var| (k * (m - a)).sigmoid().sum_all();
    passed(m_s) / passed(m_b).sqrt()
}

#[test]
fn soft_cut_significance() {
    let f = trace(
        "significance",
        significance,
        &[f32s(&[500]), f32s(&[10000]), Type::scalar(DType::F32)],
    )
    .unwrap();
    let f = verified(f);
    let per_sample = [
        "broadcast_in_dim",
        "sub",
        "constant",
        "broadcast_in_dim",
        "mul",
        "logistic",
        "reduce_sum",
    ];
    let mut want: Vec<&str> = per_sample.to_vec();
    want.extend(per_sample);
    want.extend(["sqrt", "div"]);
    assert_eq!(ops(&f), want, "{}", dump(&f));
    assert_eq!(f.result_types(), [Type::scalar(DType::F32)]);
    // The cut value a (a scalar) is broadcast to each sample's length.
    let shapes: Vec<Vec<usize>> = broadcasts(&f).into_iter().map(|(_, s)| s).collect();
    assert_eq!(shapes, [vec![500], vec![500], vec![10000], vec![10000]]);
    let logistic_types: Vec<Type> = f
        .instructions()
        .filter(|(_, n)| n.op.name() == "logistic")
        .map(|(_, n)| n.ty.clone())
        .collect();
    assert_eq!(logistic_types, [f32s(&[500]), f32s(&[10000])]);
}

/// torch layout: `y = x Wᵀ + b`.
fn linear(x: Var, w: Var, b: Var) -> Var {
    x.matmul(w.t()) + b
}

#[allow(clippy::too_many_arguments)]
fn mlp_kinematics(x: Var, w1: Var, b1: Var, w2: Var, b2: Var, w3: Var, b3: Var) -> Var {
    let h = linear(x, w1, b1).relu();
    let h = linear(h, w2, b2).relu();
    let out = linear(h, w3, b3);
    let t = 3.0;
    (15.0 + out.index_axis(1, 0)) + (10.0 + out.index_axis(1, 1)) * t - 4.9 * t * t
}

#[test]
fn mlp_feeding_kinematics() {
    let params = [
        f32s(&[100, 1]),
        f32s(&[100, 1]),
        f32s(&[100]),
        f32s(&[50, 100]),
        f32s(&[50]),
        f32s(&[2, 50]),
        f32s(&[2]),
    ];
    let m = trace_module("mlp", mlp_kinematics, &params).unwrap();
    gradlift::ir::verify::verify_module(&m).unwrap();
    let f = verified(m.func(Some("mlp")).unwrap().clone());
    // Per linear layer: transpose, dot_general, broadcast b, add (4 ops);
    // per ReLU: constant 0, broadcast, max (3); the kinematics head: two
    // index_axis (slice + reshape), three scalar ops (constant, broadcast,
    // op), one add, one scalar subtraction.
    assert_eq!(f.num_instructions(), 3 * 4 + 2 * 3 + 2 * 2 + 3 * 3 + 1 + 3, "{}", dump(&f));
    assert_eq!(count(&f, "dot_general"), 3);
    assert_eq!(count(&f, "transpose"), 3);
    assert_eq!(count(&f, "max"), 2);
    assert_eq!(count(&f, "slice"), 2);
    let dots: Vec<Type> = f
        .instructions()
        .filter(|(_, n)| n.op.name() == "dot_general")
        .map(|(_, n)| n.ty.clone())
        .collect();
    assert_eq!(dots, [f32s(&[100, 100]), f32s(&[100, 50]), f32s(&[100, 2])]);
    for (_, n) in f.instructions() {
        if let Op::DotGeneral(d) = &n.op {
            assert!(d.lhs_batch.is_empty() && d.rhs_batch.is_empty());
            assert_eq!(
                (d.lhs_contract.as_slice(), d.rhs_contract.as_slice()),
                (&[1][..], &[0][..])
            );
        }
    }
    assert_eq!(f.result_types(), [f32s(&[100])]);
    // - 4.9 * t * t is folded by Rust into one scalar: 44.1 as f32.
    assert_eq!(&ops(&f)[ops(&f).len() - 3..], ["constant", "broadcast_in_dim", "sub"]);
}
