//! Activations: values, first and second derivatives against JAX (f64),
//! gradient checks to second order, stability at extreme inputs, softmax.

mod nn_common;

use gradlift::nn::{self, Activation};
use gradlift::{grad, trace, DType, Tensor, Type, Var};
use gradlift_compiler::ad::{check_grads, Modes};
use nn_common::reference as r;
use nn_common::{assert_close, assert_finite, both, t32, t64, t64s, vals};

type Act = fn(Var) -> Var;

fn leaky(x: Var) -> Var {
    nn::leaky_relu(x, 0.01)
}

/// An activation's name, function, and JAX's values, f' and f'' at `ACT_X`.
type Case = (&'static str, Act, &'static [f64], &'static [f64], &'static [f64]);

const ACTS: [Case; 7] = [
    ("relu", nn::relu, &r::RELU_Y, &r::RELU_D1, &r::RELU_D2),
    ("leaky_relu", leaky, &r::LEAKY_RELU_Y, &r::LEAKY_RELU_D1, &r::LEAKY_RELU_D2),
    ("tanh", nn::tanh, &r::TANH_Y, &r::TANH_D1, &r::TANH_D2),
    ("sigmoid", nn::sigmoid, &r::SIGMOID_Y, &r::SIGMOID_D1, &r::SIGMOID_D2),
    ("gelu", nn::gelu, &r::GELU_Y, &r::GELU_D1, &r::GELU_D2),
    ("softplus", nn::softplus, &r::SOFTPLUS_Y, &r::SOFTPLUS_D1, &r::SOFTPLUS_D2),
    ("silu", nn::silu, &r::SILU_Y, &r::SILU_D1, &r::SILU_D2),
];

/// f, f' and f'' elementwise (derivatives as gradients of sums).
fn with_derivatives(f: Act) -> impl Fn(Var) -> (Var, Var, Var) + Clone {
    move |x: Var| {
        let d1 = move |x: Var| grad(move |x: Var| f(x).sum_all(), &[0])(&[x])[0];
        let d2 = grad(move |x: Var| d1(x).sum_all(), &[0])(&[x])[0];
        (f(x), d1(x), d2)
    }
}

#[test]
fn activations_match_jax_values_and_two_derivatives() {
    let x = t64(&r::ACT_X);
    for (name, f, y, d1, d2) in ACTS {
        let out = both(with_derivatives(f), &[&x]);
        eprintln!("{name}");
        assert_close(&vals(&out[0]), y, 1e-14, 1e-15);
        // Derivatives take other paths than JAX's rules (tanh' is 1 - y²
        // here, (1 + y)(1 - y) in JAX; gelu goes through σ here, tanh in
        // JAX), and where a function saturates, 1 - y keeps only a few
        // bits: the two agree to a few 1e-14 absolute, not relative.
        assert_close(&vals(&out[1]), d1, 1e-13, 3e-14);
        assert_close(&vals(&out[2]), d2, 1e-11, 3e-13);
    }
}

#[test]
fn gelu_keeps_its_precision_in_the_left_tail() {
    let x = t64(&r::ACT_X);
    let y = vals(&both(nn::gelu, &[&x])[0]);
    assert_close(&y, &r::GELU_Y_PRECISE, 4e-15, 0.0);
    // JAX's tanh form is off by ~5e-8 (relative) at x = -5.5.
    assert!((r::GELU_Y[3] / r::GELU_Y_PRECISE[3] - 1.0).abs() > 1e-8);
}

#[test]
fn activations_pass_gradient_checks_to_second_order() {
    // Away from the kinks of relu and leaky_relu (at 0).
    let x = t64(&[-3.1, -1.2, -0.4, 0.35, 0.9, 2.7]);
    for (name, f, ..) in ACTS {
        let g = trace(name, move |x: Var| f(x) * 1.5, &[Type::new(DType::F64, [6])]).unwrap();
        check_grads(&g, std::slice::from_ref(&x), 2, Modes::BOTH, 11)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // softplus is smooth at 0 too (its derivative is a custom rule).
    let g = trace("softplus0", nn::softplus, &[Type::scalar(DType::F64)]).unwrap();
    check_grads(&g, &[Tensor::scalar(0.0f64)], 3, Modes::BOTH, 2).unwrap();
}

#[test]
fn derivatives_at_zero_follow_jax() {
    let x = Tensor::scalar(0.0f64);
    let d = |f: Act| vals(&both(with_derivatives(f), &[&x])[1])[0];
    assert_eq!(d(nn::relu), 0.0);
    assert_eq!(d(leaky), 1.0);
    assert_eq!(d(nn::silu), 0.5);
    assert_eq!(d(nn::gelu), 0.5);
    let sp = both(with_derivatives(nn::softplus), &[&x]);
    assert_close(&vals(&sp[0]), &[std::f64::consts::LN_2], 1e-15, 0.0);
    assert_eq!(vals(&sp[1]), [0.5]);
    assert_eq!(vals(&sp[2]), [0.25]);
}

#[test]
fn activations_stay_finite_at_extreme_inputs_in_f32() {
    let x = t32(&[-1e4, -100.0, -88.0, -30.0, 30.0, 88.0, 100.0, 1e4]);
    for (name, f, ..) in ACTS {
        let out = both(with_derivatives(f), &[&x]);
        for t in &out {
            assert_finite(t);
        }
        eprintln!("{name}: {}", out[0]);
    }
    let sp = both(nn::softplus, &[&x]);
    assert_close(
        &vals(&sp[0]),
        &[0.0, 0.0, 0.0, 9.357623e-14, 30.0, 88.0, 100.0, 1e4],
        1e-6,
        1e-30,
    );
}

#[test]
fn activation_enum_applies_the_functions() {
    let x = t64(&[-2.0, -0.5, 0.5, 2.0]);
    let cases: [(Activation, Act); 7] = [
        (Activation::Relu, nn::relu),
        (Activation::LeakyRelu(0.01), leaky),
        (Activation::Tanh, nn::tanh),
        (Activation::Sigmoid, nn::sigmoid),
        (Activation::Gelu, nn::gelu),
        (Activation::Softplus, nn::softplus),
        (Activation::Silu, nn::silu),
    ];
    for (a, f) in cases {
        let out = both(move |x: Var| (a.apply(x), f(x)), &[&x]);
        assert_eq!(out[0], out[1], "{a:?}");
    }
    let out = both(|x: Var| Activation::Identity.apply(x) * 1.0, &[&x]);
    assert_eq!(out[0], x);
}

#[test]
fn softmax_and_log_softmax_match_jax() {
    let x = t64s(&[4, 5], &r::SCE_LOGITS);
    let out = both(|x: Var| (nn::softmax(x, -1), nn::log_softmax(x, -1), nn::softmax(x, 0)), &[&x]);
    assert_close(&vals(&out[0]), &r::SOFTMAX, 1e-14, 1e-300);
    assert_close(&vals(&out[1]), &r::LOG_SOFTMAX, 1e-14, 1e-300);
    assert_close(&vals(&out[2]), &r::SOFTMAX_AXIS0, 1e-14, 1e-300);
    // Rows sum to 1.
    let sums: Vec<f64> = vals(&out[0]).chunks(5).map(|row| row.iter().sum()).collect();
    assert_close(&sums, &[1.0; 4], 1e-15, 0.0);

    let w: Vec<f64> = (0..20).map(|i| i as f64 / 10.0).collect();
    let w = t64s(&[4, 5], &w);
    let g = both(
        |x: Var, w: Var| grad(|x: Var, w: Var| (w * nn::softmax(x, 0)).sum_all(), &[0])(&[x, w])[0],
        &[&x, &w],
    );
    assert_close(&vals(&g[0]), &r::SOFTMAX_AXIS0_GRAD, 1e-12, 1e-300);
}

#[test]
fn softmax_passes_gradient_checks_and_handles_minus_infinity() {
    let ty = Type::new(DType::F64, [2, 3]);
    let x = t64s(&[2, 3], &[0.3, -1.0, 2.0, 1.5, 1.5, -0.2]);
    let w = t64s(&[2, 3], &[1.0, -2.0, 0.5, 0.25, 3.0, -1.0]);
    for axis in [0i32, 1] {
        let g = trace(
            "softmax",
            move |x: Var, w: Var| {
                (w * nn::softmax(x, axis)).sum_all() + nn::log_softmax(x, axis).sum_all()
            },
            &[ty.clone(), ty.clone()],
        )
        .unwrap();
        check_grads(&g, &[x.clone(), w.clone()], 2, Modes::BOTH, 5).unwrap();
    }
    // A masked logit (-inf) gets probability 0; a row of -inf gives NaN (JAX).
    let m = t64s(&[2, 2], &[0.0, f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY]);
    let out = both(|x: Var| nn::softmax(x, -1), &[&m]);
    let v = vals(&out[0]);
    assert_eq!(&v[..2], &[1.0, 0.0]);
    assert!(v[2].is_nan() && v[3].is_nan());
}

#[test]
fn softplus_rejects_integers_at_the_callers_line() {
    let f = |x: Var| nn::softplus(x);
    let line = line!() - 1;
    let err = trace("f", f, &[Type::new(DType::I32, [2])]).unwrap_err();
    assert!(err.to_string().contains("softplus: needs a float value, got i32"), "{err}");
    assert_eq!(nn_common::err_line(&err), line);
}
