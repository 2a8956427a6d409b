//! Linear layers and MLPs: forward against hand-written matmul chains and
//! numpy (the tutorial's drift_init.npz), parameter checks and errors,
//! `.npz` round trips, gradients, and training with `optim::Trainer`.

mod nn_common;

use gradlift::nn::{Activation, Init, Linear, Mlp};
use gradlift::optim::{Adam, Trainer};
use gradlift::{grad, loss, trace, DType, Params, Tensor, Type, Var};
use gradlift_compiler::ad::{check_grads, Modes};
use nn_common::reference as r;
use nn_common::{assert_close, both, err_line, t64s, vals};

const DRIFT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/drift_init.npz");

fn drift_mlp() -> Mlp {
    Mlp::new(&[1, 100, 50, 2]).activation(Activation::Relu)
}

/// Runs `mlp.forward(params, x)` on both backends.
fn forward(mlp: &Mlp, p: &Params, x: &Tensor) -> Tensor {
    let n = p.len();
    let mut args: Vec<&Tensor> = p.tensors().iter().collect();
    args.push(x);
    let m = mlp.clone();
    both(move |a: &[Var]| m.forward(&a[..n], a[n]), &args).remove(0)
}

#[test]
fn linear_is_x_times_w_transposed_plus_b() {
    let w = t64s(&[2, 3], &[1.0, 2.0, 3.0, -1.0, 0.5, 0.0]);
    let b = t64s(&[2], &[0.25, -4.0]);
    let x = t64s(&[2, 3], &[1.0, 0.0, -1.0, 2.0, 1.0, 3.0]);
    let layer = Linear::new(3, 2);
    let out = both(move |w: Var, b: Var, x: Var| layer.forward(&[w, b], x), &[&w, &b, &x]);
    // row 0: [1 - 3, -1] + b; row 1: [2 + 2 + 9, -2 + 0.5] + b
    assert_eq!(vals(&out[0]), [-1.75, -5.0, 13.25, -5.5]);
    let layer = Linear::new(3, 2).bias(false);
    let out = both(move |w: Var, x: Var| layer.forward(&[w], x), &[&w, &x]);
    assert_eq!(vals(&out[0]), [-2.0, -1.0, 13.0, -1.5]);
    // Any number of leading batch dimensions, or none.
    let x1 = t64s(&[3], &[1.0, 0.0, -1.0]);
    let layer = Linear::new(3, 2);
    let out = both(move |w: Var, b: Var, x: Var| layer.forward(&[w, b], x), &[&w, &b, &x1]);
    assert_eq!(vals(&out[0]), [-1.75, -5.0]);
    let x3 = t64s(&[2, 1, 3], &[1.0, 0.0, -1.0, 2.0, 1.0, 3.0]);
    let out = both(move |w: Var, b: Var, x: Var| layer.forward(&[w, b], x), &[&w, &b, &x3]);
    assert_eq!(out[0].dims(), [2, 1, 2]);
    assert_eq!(vals(&out[0]), [-1.75, -5.0, 13.25, -5.5]);
}

#[test]
fn mlp_forward_equals_a_hand_written_matmul_chain() {
    for act in [Activation::Relu, Activation::Tanh, Activation::Gelu, Activation::LeakyRelu(0.1)] {
        let mlp = Mlp::new(&[3, 7, 5, 2]).activation(act).dtype(DType::F64);
        let p = mlp.init(4).unwrap();
        let x = Tensor::rand_normal(8, [6, 3], 0.0, 1.0, DType::F64).unwrap();
        let mut args: Vec<&Tensor> = p.tensors().iter().collect();
        args.push(&x);
        let m = mlp.clone();
        let out = both(
            move |a: &[Var]| {
                let by_hand = {
                    let h = act.apply(a[6].matmul(a[0].t()) + a[1]);
                    let h = act.apply(h.matmul(a[2].t()) + a[3]);
                    h.matmul(a[4].t()) + a[5]
                };
                (m.forward(&a[..6], a[6]), by_hand)
            },
            &args,
        );
        assert_eq!(out[0].dims(), [6, 2]);
        assert_close(&vals(&out[0]), &vals(&out[1]), 1e-14, 1e-15);
    }
    // An output activation applies after the last layer only.
    let mlp = Mlp::new(&[2, 3, 1]).dtype(DType::F64).output_activation(Activation::Sigmoid);
    let p = mlp.init(1).unwrap();
    let x = t64s(&[4, 2], &[1.0, 2.0, -3.0, 0.5, 0.0, 0.0, 10.0, -10.0]);
    let y = vals(&forward(&mlp, &p, &x));
    assert!(y.iter().all(|&v| v > 0.0 && v < 1.0), "{y:?}");
}

#[test]
fn drift_init_loads_into_a_1_100_50_2_mlp_and_matches_numpy() {
    let mlp = drift_mlp();
    let p = mlp.load_npz(DRIFT).unwrap();
    assert_eq!(p.names(), ["w1", "b1", "w2", "b2", "w3", "b3"]);
    // f32, as stored (numpy computed in f64 from the same f32 weights).
    let x = t64s(&[5, 1], &r::DRIFT_X).cast(DType::F32);
    let y = forward(&mlp, &p, &x);
    assert_eq!(y.ty(), Type::new(DType::F32, [5, 2]));
    assert_close(&vals(&y), &r::DRIFT_Y, 1e-5, 1e-6);
    // In f64, to rounding.
    let p64 = p.cast(DType::F64);
    mlp.clone().dtype(DType::F64).check(&p64).unwrap();
    let y = forward(&mlp, &p64, &t64s(&[5, 1], &r::DRIFT_X));
    assert_close(&vals(&y), &r::DRIFT_Y, 1e-13, 1e-15);
}

#[test]
fn loading_checks_names_shapes_and_dtypes_against_the_model() {
    let e = Mlp::new(&[1, 100, 50, 3]).load_npz(DRIFT).unwrap_err().to_string();
    assert!(e.contains("drift_init.npz") && e.contains("\"w3\"") && e.contains("f32[3,50]"), "{e}");
    let e = Mlp::new(&[1, 100, 2]).load_npz(DRIFT).unwrap_err().to_string();
    assert!(e.contains("\"w2\"") && e.contains("f32[2,100]"), "{e}");
    let e = Mlp::new(&[1, 100, 50, 2, 2]).load_npz(DRIFT).unwrap_err().to_string();
    assert!(e.contains("no array named \"w4\""), "{e}");
    let e = drift_mlp().dtype(DType::F64).load_npz(DRIFT).unwrap_err().to_string();
    assert!(e.contains("is f32[100,1], expected f64[100,1]"), "{e}");
    // check() on a set in the wrong order or with extras.
    let p = drift_mlp().init(0).unwrap();
    let mut swapped = Params::new();
    for name in ["b1", "w1", "w2", "b2", "w3", "b3"] {
        swapped.push(name, p.get(name).unwrap().clone()).unwrap();
    }
    assert!(drift_mlp().check(&swapped).unwrap_err().to_string().contains("parameter 0 is \"b1\""));
    let extra = p.clone().with("w4", Tensor::scalar(1.0f32)).unwrap();
    assert!(drift_mlp()
        .check(&extra)
        .unwrap_err()
        .to_string()
        .contains("unexpected parameter \"w4\""));
    drift_mlp().check(&p).unwrap();
}

#[test]
fn params_round_trip_through_npz() {
    let dir = std::env::temp_dir().join(format!("gradlift_nn_mlp_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mlp.npz");
    let mlp = Mlp::new(&[3, 10, 2]).activation(Activation::Tanh);
    let p = mlp.init(42).unwrap();
    p.save_npz(&path).unwrap();
    assert_eq!(Params::load_npz(&path).unwrap(), p);
    assert_eq!(mlp.load_npz(&path).unwrap(), p);
    // f64 too, bit for bit.
    let p64 = mlp.clone().dtype(DType::F64).init(42).unwrap();
    p64.save_npz(&path).unwrap();
    assert_eq!(mlp.clone().dtype(DType::F64).load_npz(&path).unwrap(), p64);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn forward_errors_are_trace_errors_at_the_callers_line() {
    let mlp = drift_mlp();
    let types = mlp.param_types();
    let x = Type::new(DType::F32, [4, 1]);
    let mut all = types.clone();
    all.push(x.clone());

    // Too few parameters.
    let m = mlp.clone();
    let f = move |a: &[Var]| m.forward(&a[..4], a[6]);
    let line = line!() - 1;
    let e = trace("f", f, &all).unwrap_err();
    assert!(
        e.to_string().contains("mlp: expects 6 parameters (w1, b1, w2, b2, w3, b3), got 4"),
        "{e}"
    );
    assert_eq!(err_line(&e), line);

    // A wrong shape names the parameter.
    let mut bad = all.clone();
    bad[2] = Type::new(DType::F32, [50, 99]);
    let m = mlp.clone();
    let e = trace("f", move |a: &[Var]| m.forward(&a[..6], a[6]), &bad).unwrap_err();
    assert!(
        e.to_string().contains("parameter w2 has shape [50,99], the model expects [50,100]"),
        "{e}"
    );

    // The input's feature dimension and dtype.
    let mut bad = all.clone();
    bad[6] = Type::new(DType::F32, [4, 3]);
    let m = mlp.clone();
    let e = trace("f", move |a: &[Var]| m.forward(&a[..6], a[6]), &bad).unwrap_err();
    assert!(e.to_string().contains("must have shape [..., 1]"), "{e}");
    let mut bad = all.clone();
    bad[6] = Type::new(DType::F64, [4, 1]);
    let m = mlp.clone();
    let e = trace("f", move |a: &[Var]| m.forward(&a[..6], a[6]), &bad).unwrap_err();
    assert!(e.to_string().contains("the parameters are f32 but the input is f64"), "{e}");

    let layer = Linear::new(3, 2);
    let f = move |w: Var, x: Var| layer.forward(&[w], x);
    let line = line!() - 1;
    let e =
        trace("f", f, &[Type::new(DType::F32, [2, 3]), Type::new(DType::F32, [3])]).unwrap_err();
    assert!(e.to_string().contains("linear: expects 2 parameters (w, b), got 1"), "{e}");
    assert_eq!(err_line(&e), line);
    let m = Mlp::new(&[3]);
    let e = trace("f", move |x: Var| m.forward(&[], x), &[Type::new(DType::F32, [3])]).unwrap_err();
    assert!(e.to_string().contains("at least two sizes"), "{e}");
}

#[test]
fn mlp_gradients_pass_gradient_checks() {
    let mlp = Mlp::new(&[2, 4, 3, 1]).activation(Activation::Tanh).dtype(DType::F64);
    let p = mlp.init(6).unwrap();
    let x = Tensor::rand_normal(3, [5, 2], 0.0, 1.0, DType::F64).unwrap();
    let y = Tensor::rand_normal(4, [5, 1], 0.0, 1.0, DType::F64).unwrap();
    let mut types = p.types();
    types.push(x.ty());
    types.push(y.ty());
    let m = mlp.clone();
    let f = trace("mlp_loss", move |a: &[Var]| loss::mse(m.forward(&a[..6], a[6]), a[7]), &types)
        .unwrap();
    let mut args = p.tensors().to_vec();
    args.push(x);
    args.push(y);
    check_grads(&f, &args, 2, Modes::BOTH, 3).unwrap();
}

#[test]
fn mlp_trains_with_the_trainer() {
    // Fit y = sin(3x) on [-1, 1] with a 1 → 32 → 32 → 1 tanh MLP.
    let mlp =
        Mlp::new(&[1, 32, 32, 1]).activation(Activation::Tanh).weight_init(Init::xavier_uniform());
    let params = mlp.init(0).unwrap();
    let x = Tensor::linspace(-1.0, 1.0, 64, DType::F32).unwrap().reshape([64, 1]).unwrap();
    let y = Tensor::from_vec(
        [64, 1],
        x.to_vec::<f32>().unwrap().iter().map(|v| (3.0 * v).sin()).collect(),
    )
    .unwrap();
    let m = mlp.clone();
    let loss_fn = move |p: &[Var], d: &[Var]| loss::mse(m.forward(p, d[0]), d[1]);
    let mut trainer = Trainer::new(loss_fn, params, Adam::new(0.01)).unwrap();
    let first = trainer.step(&[&x, &y]).unwrap();
    let mut last = first;
    for _ in 0..500 {
        last = trainer.step(&[&x, &y]).unwrap();
    }
    assert!(last < first / 50.0, "loss {first} -> {last}");
    mlp.check(trainer.params()).unwrap();

    // The trainer's parameters are the model's, in order: its loss agrees
    // with a forward pass run by hand.
    let p = trainer.params().clone();
    let mut args: Vec<&Tensor> = p.tensors().iter().collect();
    args.push(&x);
    args.push(&y);
    let m = mlp.clone();
    let direct = both(move |a: &[Var]| loss::mse(m.forward(&a[..6], a[6]), a[7]), &args);
    let next = trainer.step(&[&x, &y]).unwrap();
    assert!((direct[0].item::<f32>().unwrap() as f64 - next).abs() < 1e-6 * next.max(1e-3));

    // grad works on the same closure shape.
    let m = mlp.clone();
    let g = both(
        move |a: &[Var]| {
            let m = m.clone();
            grad(move |p: &[Var]| loss::mse(m.forward(&p[..6], p[6]), p[7]), &[0, 1])(a)
        },
        &args,
    );
    assert_eq!(g[0].dims(), [32, 1]);
    assert_eq!(g[1].dims(), [32]);
}

#[test]
fn profiled_steps_train_exactly_like_plain_steps() {
    let mlp = drift_mlp();
    let x = Tensor::linspace(0.0, 1.0, 100, DType::F32).unwrap().reshape([100, 1]).unwrap();
    let y = Tensor::from_vec(
        [100, 2],
        x.to_vec::<f32>().unwrap().iter().flat_map(|v| [v.sin(), v * v]).collect(),
    )
    .unwrap();
    let m = mlp.clone();
    let loss_fn = move |p: &[Var], d: &[Var]| loss::mse(m.forward(p, d[0]), d[1]);
    let mut plain = Trainer::new(loss_fn.clone(), mlp.init(1).unwrap(), Adam::new(1e-3)).unwrap();
    let mut timed = Trainer::new(loss_fn, mlp.init(1).unwrap(), Adam::new(1e-3)).unwrap();
    let mut total = None::<gradlift::Profile>;
    for _ in 0..3 {
        let a = plain.step(&[&x, &y]).unwrap();
        let (b, prof) = timed.step_profiled(&[&x, &y]).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
        match &mut total {
            None => total = Some(prof),
            Some(t) => t.add(&prof).unwrap(),
        }
    }
    assert_eq!(plain.params(), timed.params());
    let total = total.unwrap();
    assert_eq!(total.calls, 3);
    // The step's three products (x·W1ᵀ is fused away: K = 1) are library
    // steps labelled with their types; every kernel is named.
    let labels: Vec<&str> = total.steps.iter().map(|s| s.label.as_str()).collect();
    assert!(labels.iter().any(|l| l.starts_with("dot_general f32[100,100]")), "{labels:?}");
    assert!(labels.iter().any(|l| l.starts_with("fusion")), "{labels:?}");
    assert!(total.total() > 0.0);
}
