//! Custom derivative rules under every transform, their text form, the
//! straight-through estimator and the where-NaN trap.

use gradlift::ir::interp::eval_function;
use gradlift::ir::text::{parse_module, print_module};
use gradlift::{
    custom_jvp, eval, grad, hessian, jvp, select, select_safe, straight_through, trace,
    trace_module, vjp, DType, Tensor, Type, Var,
};
use gradlift_compiler::ad::{check_grads, Modes};

fn s(x: f64) -> Tensor {
    Tensor::scalar(x)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

/// sin with its (correct) derivative given as a rule.
fn rule_sin() -> impl Fn(&[Var]) -> Var + Clone {
    custom_jvp(|x: Var| x.sin(), |p: &[Var], t: &[Var]| (p[0].sin(), p[0].cos() * t[0]))
}

/// x² with a deliberately different "derivative" 3x, to prove the rule is
/// what transforms use.
fn rule_fake() -> impl Fn(&[Var]) -> Var + Clone {
    custom_jvp(|x: Var| x * x, |p: &[Var], t: &[Var]| (p[0] * p[0], 3.0 * p[0] * t[0]))
}

#[test]
fn rules_are_used_by_every_transform_to_any_order() {
    let x = 0.8;
    let f = rule_fake();
    let out = eval(
        move |x: Var| {
            let g = grad(f.clone(), &[0])(&[x])[0];
            let (_, t) = jvp(f.clone(), &[x], &[x.ones_like()]);
            let (_, pull) = vjp(f.clone(), &[x]);
            let ct = pull(&[x.ones_like()])[0];
            // Second order differentiates the rule's own code: d/dx 3x = 3.
            let h = hessian(f.clone(), 0)(&[x]);
            let g2 = grad(grad(f.clone(), &[0]), &[0])(&[x])[0];
            vec![f(&[x]), g, t[0], ct, h, g2]
        },
        &[&s(x)],
    )
    .unwrap();
    let v: Vec<f64> = out.iter().map(|t| t.item::<f64>().unwrap()).collect();
    assert!(close(v[0], x * x));
    for (k, &d) in v[1..4].iter().enumerate() {
        assert!(close(d, 3.0 * x), "first derivative {k}: {d}");
    }
    assert!(close(v[4], 3.0) && close(v[5], 3.0), "{v:?}");
}

#[test]
fn a_correct_rule_passes_numerical_checks_to_second_order() {
    let f = rule_sin();
    let g = trace("f", move |x: Var| f(&[x * 2.0]).exp(), &[Type::new(DType::F64, [3])]).unwrap();
    let x = Tensor::from_slice([3], &[0.3f64, -1.1, 2.0]).unwrap();
    check_grads(&g, &[x], 2, Modes::BOTH, 3).unwrap();
}

#[test]
fn custom_rules_print_parse_and_evaluate() {
    let f = rule_sin();
    let m = trace_module("uses_rule", move |x: Var| f(&[x]) * x, &[Type::new(DType::F32, [4])])
        .unwrap();
    let text = print_module(&m);
    assert!(text.contains("custom_jvp %x") || text.contains("custom_jvp %0"), "{text}");
    assert!(text.contains("func @custom_primal") && text.contains("func @custom_jvp"), "{text}");
    let back = parse_module(&text, "rule.gir").unwrap();
    assert_eq!(back, m);
    assert_eq!(print_module(&back), text);
    let x = Tensor::from_slice([4], &[0.1f32, 0.2, 0.3, 0.4]).unwrap();
    let out = eval_function(&back.funcs()[0], std::slice::from_ref(&x)).unwrap();
    let want: Vec<f32> = [0.1f32, 0.2, 0.3, 0.4].iter().map(|v| v.sin() * v).collect();
    assert_eq!(out[0].to_vec::<f32>().unwrap(), want);
    // Fusion inlines the rule's primal code.
    let fused = gradlift_compiler::fusion::fuse(&back.funcs()[0]).unwrap();
    let got = gradlift_compiler::fusion::eval_fused(&fused, &[x]).unwrap();
    assert_eq!(got[0], out[0]);
}

#[test]
fn straight_through_estimator() {
    let ste = straight_through(|x: Var| x.round());
    // loss = sum((round(x) - target)^2): the STE gradient is 2 (round(x) - target).
    let x = Tensor::from_slice([3], &[0.4f64, 1.6, -2.2]).unwrap();
    let target = Tensor::from_slice([3], &[1.0f64, 1.0, 1.0]).unwrap();
    let out = eval(
        move |x: Var, t: Var| {
            let loss = |x: Var, t: Var| (ste(x) - t).square().sum_all();
            let plain = |x: Var, t: Var| (x.round() - t).square().sum_all();
            vec![grad(loss, &[0])(&[x, t])[0], grad(plain, &[0])(&[x, t])[0]]
        },
        &[&x, &target],
    )
    .unwrap();
    assert_eq!(out[0].to_vec::<f64>().unwrap(), vec![-2.0, 2.0, -6.0]);
    // Without the estimator, rounding has a zero derivative everywhere.
    assert_eq!(out[1].to_vec::<f64>().unwrap(), vec![0.0, 0.0, 0.0]);
}

#[test]
fn where_nan_trap_and_its_safe_form() {
    let x = Tensor::from_slice([3], &[-1.0f64, 0.0, 4.0]).unwrap();
    let out = eval(
        |x: Var| {
            let naive = |x: Var| select(x.gt(0.0), x.sqrt(), x.zeros_like()).sum_all();
            let safe =
                |x: Var| select_safe(x.gt(0.0), x, 1.0, |x| x.sqrt(), x.zeros_like()).sum_all();
            vec![grad(naive, &[0])(&[x])[0], grad(safe, &[0])(&[x])[0], safe(x)]
        },
        &[&x],
    )
    .unwrap();
    let naive = out[0].to_vec::<f64>().unwrap();
    assert!(naive[0].is_nan() && naive[1].is_nan(), "the trap: {naive:?}");
    assert_eq!(out[1].to_vec::<f64>().unwrap(), vec![0.0, 0.0, 0.25]);
    assert_eq!(out[2].item::<f64>().unwrap(), 2.0);
}
