//! Losses: values and gradients against hand-computed numbers and against
//! optax/JAX (f64), reductions, gradient checks to second order, stability
//! at extreme logits, and errors recorded in the trace.

mod nn_common;

use gradlift::loss::{self, Reduction};
use gradlift::{grad, trace, DType, Error, Tensor, Type, Var};
use gradlift_compiler::ad::{check_grads, Modes};
use nn_common::reference as r;
use nn_common::{assert_close, assert_finite, both, err_line, t64, t64s, vals};

/// A loss of two values with a reduction.
type Loss = fn(Var, Var, Reduction) -> Var;

fn huber1(p: Var, t: Var, red: Reduction) -> Var {
    loss::huber_with(p, t, 1.0, red)
}

fn huber05(p: Var, t: Var, red: Reduction) -> Var {
    loss::huber_with(p, t, 0.5, red)
}

/// (each, mean, sum, d mean / d first argument) of a loss at (a, b).
fn evaluate(f: Loss, a: &Tensor, b: &Tensor) -> [Vec<f64>; 4] {
    let out = both(
        move |a: Var, b: Var| {
            let g = grad(move |a: Var, b: Var| f(a, b, Reduction::Mean), &[0])(&[a, b]);
            (f(a, b, Reduction::None), f(a, b, Reduction::Mean), f(a, b, Reduction::Sum), g[0])
        },
        &[a, b],
    );
    [vals(&out[0]), vals(&out[1]), vals(&out[2]), vals(&out[3])]
}

#[test]
fn regression_losses_match_hand_computed_numbers() {
    let p = t64(&[1.0, -2.0, 4.0, 0.5]);
    let t = t64(&[3.0, -2.0, 1.0, 0.0]);
    // errors e = p - t: -2, 0, 3, 0.5
    let [each, mean, sum, g] = evaluate(loss::mse_with, &p, &t);
    assert_eq!(each, [4.0, 0.0, 9.0, 0.25]);
    assert_eq!(mean, [13.25 / 4.0]);
    assert_eq!(sum, [13.25]);
    assert_eq!(g, [-1.0, 0.0, 1.5, 0.25]); // 2e / n
    let [each, mean, _, g] = evaluate(loss::mae_with, &p, &t);
    assert_eq!(each, [2.0, 0.0, 3.0, 0.5]);
    assert_eq!(mean, [1.375]);
    assert_eq!(g, [-0.25, 0.0, 0.25, 0.25]); // sign(e) / n, 0 at e = 0
    let [each, _, sum, g] = evaluate(huber1, &p, &t);
    // |e| > 1: |e| - 0.5; else e²/2
    assert_eq!(each, [1.5, 0.0, 2.5, 0.125]);
    assert_eq!(sum, [4.125]);
    assert_eq!(g, [-0.25, 0.0, 0.25, 0.125]); // clip(e, ±1) / n
                                              // The plain functions reduce by mean.
    let out = both(
        |p: Var, t: Var| (loss::mse(p, t), loss::mae(p, t), loss::huber(p, t, 1.0)),
        &[&p, &t],
    );
    assert_eq!([vals(&out[0])[0], vals(&out[1])[0], vals(&out[2])[0]], [3.3125, 1.375, 1.03125]);
}

#[test]
fn regression_losses_match_optax() {
    let (p, t) = (t64(&r::REG_PRED), t64(&r::REG_TARGET));
    let n = r::REG_PRED.len() as f64;
    let cases: [(&str, Loss, &[f64], &[f64]); 4] = [
        ("mse", loss::mse_with, &r::MSE_EACH, &r::MSE_GRAD_MEAN),
        ("mae", loss::mae_with, &r::MAE_EACH, &r::MAE_GRAD_MEAN),
        ("huber1", huber1, &r::HUBER1_EACH, &r::HUBER1_GRAD_MEAN),
        ("huber05", huber05, &r::HUBER05_EACH, &r::HUBER05_GRAD_MEAN),
    ];
    for (name, f, each_want, grad_want) in cases {
        eprintln!("{name}");
        let [each, mean, sum, g] = evaluate(f, &p, &t);
        assert_close(&each, each_want, 1e-15, 0.0);
        let total: f64 = each_want.iter().sum();
        assert_close(&sum, &[total], 1e-15, 0.0);
        assert_close(&mean, &[total / n], 1e-15, 0.0);
        assert_close(&g, grad_want, 1e-15, 0.0);
    }
}

#[test]
fn binary_cross_entropy_matches_optax_including_extreme_logits() {
    let (x, y) = (t64(&r::BCE_X), t64(&r::BCE_Y));
    let [each, mean, sum, g] = evaluate(loss::binary_cross_entropy_with_logits_with, &x, &y);
    assert_close(&each, &r::BCE_EACH, 1e-14, 1e-300);
    let total: f64 = r::BCE_EACH.iter().sum();
    assert_close(&sum, &[total], 1e-14, 0.0);
    assert_close(&mean, &[total / 9.0], 1e-14, 0.0);
    assert_close(&g, &r::BCE_GRAD_MEAN, 1e-14, 1e-300);
    // Hand-checked: x = 0 gives log 2 whatever the label, gradient (σ(0) - y) / n.
    assert_close(&[each[4]], &[std::f64::consts::LN_2], 1e-15, 0.0);
    assert_close(&[g[4]], &[0.5 / 9.0], 1e-15, 0.0);
    // At x = ±1e4 the wrong label costs |x|, the right one nothing.
    assert_eq!([each[0], each[8]], [0.0, 0.0]);
    assert_eq!(each[7], 100.0);
    // bool labels are accepted.
    let yb = Tensor::from_slice([9], &[false, true, false, true, false, false, true, false, true])
        .unwrap();
    let out = both(|x: Var, y: Var| loss::binary_cross_entropy_with_logits(x, y), &[&x, &yb]);
    assert_finite(&out[0]);
}

#[test]
fn softmax_cross_entropy_matches_optax_with_integer_labels() {
    let logits = t64s(&[4, 5], &r::SCE_LOGITS);
    for labels in [
        Tensor::from_slice([4], &r::SCE_LABELS).unwrap(),
        Tensor::from_slice([4], &r::SCE_LABELS).unwrap().cast(DType::I32),
    ] {
        let out = both(
            |x: Var, l: Var| {
                let g = grad(|x: Var, l: Var| loss::softmax_cross_entropy(x, l), &[0])(&[x, l]);
                (
                    loss::softmax_cross_entropy_with(x, l, Reduction::None),
                    loss::softmax_cross_entropy(x, l),
                    loss::softmax_cross_entropy_with(x, l, Reduction::Sum),
                    g[0],
                )
            },
            &[&logits, &labels],
        );
        // optax subtracts logsumexp ≈ 1e4 from the label's logit, which
        // costs it ~1e-12 (an ulp of 1e4) in row 1; we subtract the row
        // maximum first, which is exact, so allow for optax's rounding.
        assert_close(&vals(&out[0]), &r::SCE_EACH, 1e-13, 2e-12);
        assert_close(&[vals(&out[0])[1]], &[1.0 + (-1f64).exp().ln_1p()], 1e-15, 0.0);
        let total: f64 = r::SCE_EACH.iter().sum();
        assert_close(&vals(&out[1]), &[total / 4.0], 1e-13, 1e-12);
        assert_close(&vals(&out[2]), &[total], 1e-13, 2e-12);
        assert_close(&vals(&out[3]), &r::SCE_GRAD_MEAN, 1e-13, 1e-300);
    }
    // Hand-computed: uniform logits over 4 classes cost log 4; the gradient
    // of the mean is (softmax - one_hot) / n.
    let x = t64s(&[2, 4], &[0.0; 8]);
    let l = Tensor::from_slice([2], &[1i64, 3]).unwrap();
    let out = both(
        |x: Var, l: Var| {
            let g = grad(|x: Var, l: Var| loss::softmax_cross_entropy(x, l), &[0])(&[x, l]);
            (loss::softmax_cross_entropy(x, l), g[0])
        },
        &[&x, &l],
    );
    assert_close(&vals(&out[0]), &[4f64.ln()], 1e-15, 0.0);
    assert_eq!(vals(&out[1]), [0.125, -0.375, 0.125, 0.125, 0.125, 0.125, 0.125, -0.375]);
}

#[test]
fn softmax_cross_entropy_takes_any_batch_shape_and_flags_bad_labels() {
    // [2, 3] examples of 4 classes; labels [2, 3].
    let x = Tensor::rand_normal(1, [2, 3, 4], 0.0, 2.0, DType::F64).unwrap();
    let l = Tensor::from_slice([2, 3], &[0i32, 1, 2, 3, 0, 1]).unwrap();
    let out = both(
        |x: Var, l: Var| {
            let flat = loss::softmax_cross_entropy_with(
                x.reshape(&[6, 4]),
                l.reshape(&[6]),
                Reduction::None,
            );
            (loss::softmax_cross_entropy_with(x, l, Reduction::None), flat)
        },
        &[&x, &l],
    );
    assert_eq!(out[0].dims(), [2, 3]);
    assert_eq!(vals(&out[0]), vals(&out[1]));
    // Out-of-range labels give NaN for their example (as optax), and no
    // gradient.
    let l = Tensor::from_slice([2, 3], &[0i32, -1, 2, 4, 0, 1]).unwrap();
    let out = both(
        |x: Var, l: Var| {
            let g = grad(
                |x: Var, l: Var| {
                    loss::softmax_cross_entropy_with(x, l, Reduction::None)
                        .index_axis(0, 0)
                        .index_axis(0, 0)
                },
                &[0],
            )(&[x, l]);
            (loss::softmax_cross_entropy_with(x, l, Reduction::None), g[0])
        },
        &[&x, &l],
    );
    let v = vals(&out[0]);
    assert!(v[1].is_nan() && v[3].is_nan());
    assert!([0, 2, 4, 5].iter().all(|&i| v[i].is_finite()));
    assert_finite(&out[1]);
}

#[test]
fn losses_pass_gradient_checks_to_second_order() {
    let ty = Type::new(DType::F64, [5]);
    let p = t64(&[0.3, -1.7, 2.2, 0.9, -0.4]);
    let t = t64(&[1.0, -1.0, 0.1, 0.95, -2.0]); // no error at a kink (0 or ±δ)
    let cases: [(&str, Loss); 4] = [
        ("mse", loss::mse_with),
        ("mae", loss::mae_with),
        ("huber", huber05),
        ("bce", loss::binary_cross_entropy_with_logits_with),
    ];
    let y01 = t64(&[0.0, 1.0, 0.25, 1.0, 0.5]);
    for (name, f) in cases {
        for red in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            let g =
                trace(name, move |a: Var, b: Var| f(a, b, red), &[ty.clone(), ty.clone()]).unwrap();
            let target = if name == "bce" { y01.clone() } else { t.clone() };
            check_grads(&g, &[p.clone(), target], 2, Modes::BOTH, 7)
                .unwrap_or_else(|e| panic!("{name} {red:?}: {e}"));
        }
    }
    let g = trace(
        "sce",
        |x: Var, l: Var| loss::softmax_cross_entropy(x, l),
        &[Type::new(DType::F64, [3, 4]), Type::new(DType::I64, [3])],
    )
    .unwrap();
    let x = t64s(&[3, 4], &[0.1, 2.0, -1.0, 0.5, 3.0, 3.0, 1.0, -2.0, -0.3, 0.2, 0.0, 0.7]);
    let l = Tensor::from_slice([3], &[1i64, 0, 3]).unwrap();
    check_grads(&g, &[x, l], 2, Modes::BOTH, 8).unwrap();
}

#[test]
fn extreme_logits_give_finite_values_and_gradients() {
    for dtype in [DType::F32, DType::F64] {
        let x = t64(&[-1e4, -100.0, 100.0, 1e4]).cast(dtype);
        let y = t64(&[1.0, 1.0, 0.0, 0.0]).cast(dtype);
        let out = both(
            |x: Var, y: Var| {
                let g =
                    grad(|x: Var, y: Var| loss::binary_cross_entropy_with_logits(x, y), &[0])(&[
                        x, y,
                    ]);
                (loss::binary_cross_entropy_with_logits_with(x, y, Reduction::None), g[0])
            },
            &[&x, &y],
        );
        assert_close(&vals(&out[0]), &[1e4, 100.0, 100.0, 1e4], 1e-7, 0.0);
        assert_close(&vals(&out[1]), &[-0.25, -0.25, 0.25, 0.25], 1e-7, 0.0);

        let logits =
            t64s(&[3, 3], &[1e4, -1e4, 0.0, -1e4, -1e4, -1e4, 100.0, -100.0, 1e4]).cast(dtype);
        let labels = Tensor::from_slice([3], &[1i32, 2, 1]).unwrap();
        let out = both(
            |x: Var, l: Var| {
                let g = grad(|x: Var, l: Var| loss::softmax_cross_entropy(x, l), &[0])(&[x, l]);
                (loss::softmax_cross_entropy_with(x, l, Reduction::None), g[0])
            },
            &[&logits, &labels],
        );
        assert_close(&vals(&out[0]), &[2e4, 3f64.ln(), 1e4 + 100.0], 1e-6, 0.0);
        assert_finite(&out[1]);
        let g = vals(&out[1]);
        assert_close(&g[..3], &[1.0 / 3.0, -1.0 / 3.0, 0.0], 1e-6, 1e-12);
    }
}

/// Traces `f` on the given types and returns the error.
#[track_caller]
fn trace_err<M, F: gradlift::TraceFn<M>>(f: F, types: &[Type]) -> Error {
    trace("f", f, types).unwrap_err()
}

#[test]
fn bad_inputs_are_trace_errors_at_the_callers_line() {
    let f32s = |d: &[usize]| Type::new(DType::F32, d);
    let mse = |p: Var, t: Var| loss::mse(p, t);
    let line = line!() - 1;
    let e = trace_err(mse, &[f32s(&[8, 1]), f32s(&[8])]);
    assert!(
        e.to_string().contains("mse: predictions [8,1] and targets [8] must have the same shape"),
        "{e}"
    );
    assert_eq!(err_line(&e), line);
    let e = trace_err(|p: Var, t: Var| loss::mae(p, t), &[f32s(&[3]), Type::new(DType::F64, [3])]);
    assert!(e.to_string().contains("predictions are f32 but targets are f64"), "{e}");
    let e = trace_err(|p: Var, t: Var| loss::huber(p, t, 0.0), &[f32s(&[3]), f32s(&[3])]);
    assert!(e.to_string().contains("delta must be positive"), "{e}");
    let e = trace_err(
        |p: Var, t: Var| loss::mse(p, t),
        &[Type::new(DType::I32, [3]), Type::new(DType::I32, [3])],
    );
    assert!(e.to_string().contains("needs a float value, got i32"), "{e}");

    let sce = |x: Var, l: Var| loss::softmax_cross_entropy(x, l);
    let line = line!() - 1;
    let e = trace_err(sce, &[f32s(&[4, 3]), f32s(&[4])]);
    assert!(
        e.to_string().contains(
            "softmax_cross_entropy: labels must be integer class indices (i32 or i64), got f32"
        ),
        "{e}"
    );
    assert_eq!(err_line(&e), line);
    let e = trace_err(
        |x: Var, l: Var| loss::softmax_cross_entropy(x, l),
        &[f32s(&[4, 3]), Type::new(DType::I64, [3])],
    );
    assert!(
        e.to_string().contains("logits f32[4,3] must be [..., classes] with labels of shape [...]"),
        "{e}"
    );
    let e = trace_err(
        |x: Var, l: Var| loss::binary_cross_entropy_with_logits(x, l),
        &[f32s(&[4]), Type::new(DType::I32, [4])],
    );
    assert!(e.to_string().contains("labels must be f32 (like the logits) or bool, got i32"), "{e}");

    // The first error stands; later ops on the poisoned value do nothing.
    let e = trace_err(
        |p: Var, t: Var| loss::mse(p, t).exp() + loss::mae(t, p),
        &[f32s(&[2]), f32s(&[3])],
    );
    assert!(e.to_string().contains("mse:"), "{e}");
}
