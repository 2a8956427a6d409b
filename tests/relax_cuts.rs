//! Soft and hard cuts, windows, histograms and straight-through cuts:
//! values against formulas, numpy and JAX, the k → ∞ limit, gradient checks
//! to second order, and errors recorded in the trace.

mod nn_common;

use gradlift::relax::{
    hard_gt, hard_lt, hard_window, histogram, histogram_weighted, soft_gt, soft_histogram,
    soft_histogram_weighted, soft_lt, soft_window, ste_gt, ste_lt,
};
use gradlift::{grad, trace, DType, Tensor, Type, Var};
use gradlift_compiler::ad::{check_grads, Modes};
use nn_common::reference as r;
use nn_common::{assert_close, both, err_line, t64, vals};

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[test]
fn soft_cuts_are_sigmoids_of_the_distance_to_the_cut() {
    let xs = [-1.0, 0.2, 0.5, 0.9, 3.0];
    let x = t64(&xs);
    let out = both(
        |x: Var| {
            let c = x.scalar_like(0.5);
            (
                soft_gt(x, 0.5, 2.0),
                soft_lt(x, c, 2.0),
                soft_window(x, 0.0, 1.0, 4.0),
                hard_gt(x, 0.5),
                hard_lt(x, 0.5),
                hard_window(x, 0.0, 1.0),
            )
        },
        &[&x],
    );
    let want = |f: &dyn Fn(f64) -> f64| xs.iter().map(|&v| f(v)).collect::<Vec<_>>();
    assert_close(&vals(&out[0]), &want(&|v| sigmoid(2.0 * (v - 0.5))), 1e-15, 0.0);
    assert_close(&vals(&out[1]), &want(&|v| sigmoid(2.0 * (0.5 - v))), 1e-15, 0.0);
    assert_close(
        &vals(&out[2]),
        &want(&|v| sigmoid(4.0 * v) * sigmoid(4.0 * (1.0 - v))),
        1e-15,
        0.0,
    );
    assert_eq!(vals(&out[3]), [0.0, 0.0, 0.0, 1.0, 1.0]); // strict: x = cut fails
    assert_eq!(vals(&out[4]), [1.0, 1.0, 0.0, 0.0, 0.0]);
    assert_eq!(vals(&out[5]), [0.0, 1.0, 1.0, 1.0, 0.0]);
    assert_eq!(vals(&out[0])[2], 0.5); // on the cut
}

#[test]
fn soft_cuts_tend_to_hard_cuts_as_the_rate_grows() {
    // Points at least 0.01 from the cut: the gap is σ(-0.01 k) at worst.
    let xs: Vec<f64> = (0..200).map(|i| -1.0 + i as f64 * 0.01 + 0.005).collect();
    let x = t64(&xs);
    let mut last = f64::INFINITY;
    for k in [1e1, 1e2, 1e3, 1e4] {
        let out = both(move |x: Var| (soft_gt(x, 0.0, k) - hard_gt(x, 0.0)).abs().max_all(), &[&x]);
        let gap = out[0].item::<f64>().unwrap();
        assert_close(&[gap], &[sigmoid(-0.005 * k)], 1e-12, 1e-300);
        assert!(gap < last);
        last = gap;
    }
    assert!(last < 1e-21);
    // Same for windows and histograms.
    let edges = [-0.5, 0.0, 0.5];
    let out = both(
        move |x: Var| {
            (
                soft_window(x, -0.5, 0.5, 1e4),
                hard_window(x, -0.5, 0.5),
                soft_histogram(x, &edges, 1e4),
                histogram(x, &edges),
            )
        },
        &[&x],
    );
    assert_close(&vals(&out[0]), &vals(&out[1]), 0.0, 1e-21);
    assert_close(&vals(&out[2]), &vals(&out[3]), 1e-15, 0.0);
    assert_eq!(vals(&out[3]), [50.0, 50.0]);
}

#[test]
fn histograms_match_numpy_and_soft_histograms_match_jax() {
    let (x, w) = (t64(&r::HIST_X), t64(&r::HIST_W));
    let edges = r::HIST_EDGES;
    let out = both(
        move |x: Var, w: Var| {
            (
                histogram(x, &edges),
                histogram_weighted(x, w, &edges),
                soft_histogram(x, &edges, 5.0),
                soft_histogram_weighted(x, w, &edges, 5.0),
            )
        },
        &[&x, &w],
    );
    // numpy.histogram: [lo, hi) bins, the last closed.
    assert_eq!(vals(&out[0]), r::HIST_COUNTS);
    assert_close(&vals(&out[1]), &r::HIST_COUNTS_WEIGHTED, 1e-15, 0.0);
    assert_close(&vals(&out[2]), &r::SOFT_HIST_K5, 1e-14, 0.0);
    assert_close(&vals(&out[3]), &r::SOFT_HIST_K5_WEIGHTED, 1e-14, 0.0);

    // Gradients with respect to the data and to traced edges.
    let e = t64(&edges);
    let c = t64(&r::SOFT_HIST_C);
    let g = both(
        |x: Var, w: Var, e: Var, c: Var| {
            grad(
                |x: Var, w: Var, e: Var, c: Var| {
                    (soft_histogram_weighted(x, w, e, 5.0) * c).sum_all()
                },
                &[0, 2],
            )(&[x, w, e, c])
        },
        &[&x, &w, &e, &c],
    );
    assert_close(&vals(&g[0]), &r::SOFT_HIST_GRAD_X, 1e-13, 1e-15);
    assert_close(&vals(&g[1]), &r::SOFT_HIST_GRAD_EDGES, 1e-13, 1e-15);
}

#[test]
fn a_soft_histogram_counts_the_events_inside_its_edges() {
    let x = Tensor::rand_normal(12, [4000], 0.0, 1.5, DType::F64).unwrap();
    let xs = x.to_f64_vec();
    let inside = xs.iter().filter(|&&v| (-2.0..=2.0).contains(&v)).count() as f64;
    let edges: Vec<f64> = (0..=16).map(|i| -2.0 + 0.25 * i as f64).collect();
    let e2 = edges.clone();
    let out = both(
        move |x: Var| {
            let h = |k: f64| soft_histogram(x, &e2, k).sum_all();
            // Telescoping: the bins sum to σ(k (x - first)) - σ(k (x - last)).
            let window = (soft_gt(x, -2.0, 3.0) - soft_gt(x, 2.0, 3.0)).sum_all();
            (h(3.0), window, h(1e3), h(1e6), histogram(x, &e2).sum_all())
        },
        &[&x],
    );
    let [soft3, window, soft1e3, soft1e6, hard] = [0, 1, 2, 3, 4].map(|i| vals(&out[i])[0]);
    assert_eq!(hard, inside);
    assert_close(&[soft3], &[window], 1e-12, 0.0);
    // At k = 3 events leak across the outer edges: within a few percent.
    assert!((soft3 / inside - 1.0).abs() < 0.05, "{soft3} vs {inside}");
    // Sharper rates converge on the count: an event farther than 40/k from
    // both outer edges contributes its hard value to within σ(-40) ≈ 4e-18,
    // an event closer at most 1.
    for (k, soft) in [(1e3, soft1e3), (1e6, soft1e6)] {
        let near = xs.iter().filter(|&&v| (v.abs() - 2.0).abs() < 40.0 / k).count() as f64;
        assert!((soft - inside).abs() <= near + 1e-12, "k = {k}: {soft} vs {inside} ({near} near)");
        eprintln!(
            "k = {k}: soft count {soft}, hard {inside}, {near} events within 40/k of an edge"
        );
    }
    assert!((soft1e3 - inside).abs() > 1e-3); // some events sit within 1/k of an edge
}

#[test]
fn relaxations_pass_gradient_checks_to_second_order() {
    let x = t64(&[-1.3, -0.2, 0.1, 0.45, 0.8, 1.7]);
    let ty = Type::new(DType::F64, [6]);
    let s = Type::scalar(DType::F64);
    // Cut and rate as traced values: derivatives in every argument.
    let g = trace(
        "soft_gt",
        |x: Var, c: Var, k: Var| soft_gt(x, c, k).sum_all() + soft_lt(x, c, k).square().sum_all(),
        &[ty.clone(), s.clone(), s.clone()],
    )
    .unwrap();
    check_grads(
        &g,
        &[x.clone(), Tensor::scalar(0.3f64), Tensor::scalar(2.5f64)],
        2,
        Modes::BOTH,
        1,
    )
    .unwrap();
    let g = trace(
        "soft_window",
        |x: Var, lo: Var, hi: Var| soft_window(x, lo, hi, 3.0) * x,
        &[ty.clone(), s.clone(), s.clone()],
    )
    .unwrap();
    check_grads(
        &g,
        &[x.clone(), Tensor::scalar(-0.5f64), Tensor::scalar(1.0f64)],
        2,
        Modes::BOTH,
        2,
    )
    .unwrap();
    let g = trace(
        "soft_histogram",
        |x: Var, w: Var, e: Var| {
            soft_histogram_weighted(x, w, e, 2.0).square() + soft_histogram(x, e, 4.0)
        },
        &[ty.clone(), ty.clone(), Type::new(DType::F64, [4])],
    )
    .unwrap();
    let w = t64(&[1.0, 0.5, 2.0, 1.5, 0.25, 1.0]);
    check_grads(&g, &[x, w, t64(&[-1.0, 0.0, 0.5, 1.5])], 2, Modes::BOTH, 3).unwrap();
}

#[test]
fn straight_through_cuts_count_exactly_and_differentiate_like_the_soft_cut() {
    let x = t64(&[-1.0, 0.2, 0.5, 0.6, 3.0]);
    let c = Tensor::scalar(0.5f64);
    let k = 4.0;
    let out = both(
        move |x: Var, c: Var| {
            let d_ste = grad(move |x: Var, c: Var| ste_gt(x, c, k).sum_all(), &[0, 1])(&[x, c]);
            let d_soft = grad(move |x: Var, c: Var| soft_gt(x, c, k).sum_all(), &[0, 1])(&[x, c]);
            let d_lt = grad(move |x: Var, c: Var| ste_lt(x, c, k).sum_all(), &[0, 1])(&[x, c]);
            let d_soft_lt =
                grad(move |x: Var, c: Var| soft_lt(x, c, k).sum_all(), &[0, 1])(&[x, c]);
            vec![
                ste_gt(x, c, k),
                hard_gt(x, c),
                ste_lt(x, c, k),
                hard_lt(x, c),
                d_ste[0],
                d_soft[0],
                d_ste[1],
                d_soft[1],
                d_lt[0],
                d_soft_lt[0],
                d_lt[1],
                d_soft_lt[1],
            ]
        },
        &[&x, &c],
    );
    assert_eq!(out[0], out[1]);
    assert_eq!(out[2], out[3]);
    assert_eq!(vals(&out[0]), [0.0, 0.0, 0.0, 1.0, 1.0]);
    for i in [4, 6, 8, 10] {
        assert_close(&vals(&out[i]), &vals(&out[i + 1]), 1e-15, 1e-300);
    }
    // d/dcut = -Σ k σ'(k (x - c)): at x = c each event adds k/4.
    assert!(vals(&out[6])[0] < 0.0 && vals(&out[10])[0] > 0.0);

    // A traced rate (to anneal it during a fit) works the same way.
    let kt = Tensor::scalar(k);
    let out = both(
        |x: Var, c: Var, k: Var| {
            let d = grad(|x: Var, c: Var, k: Var| ste_gt(x, c, k).sum_all(), &[0, 2])(&[x, c, k]);
            (ste_gt(x, c, k), d[0], d[1])
        },
        &[&x, &c, &kt],
    );
    let s: Vec<f64> = x.to_f64_vec().iter().map(|&v| sigmoid(k * (v - 0.5))).collect();
    let want: Vec<f64> = s.iter().map(|s| k * s * (1.0 - s)).collect();
    assert_eq!(vals(&out[0]), [0.0, 0.0, 0.0, 1.0, 1.0]);
    assert_close(&vals(&out[1]), &want, 1e-15, 0.0);
    assert_eq!(vals(&out[2]), [0.0]); // the rate does not move the hard cut
}

#[test]
fn relaxations_work_in_f32_at_extreme_rates() {
    let x = t64(&[-1e4, -1.0, 0.0, 1.0, 1e4]).cast(DType::F32);
    let out = both(
        |x: Var| {
            let g = grad(
                |x: Var| (soft_gt(x, 0.0, 1e4) + soft_window(x, -2.0, 2.0, 100.0)).sum_all(),
                &[0],
            )(&[x]);
            (soft_gt(x, 0.0, 1e4), g[0])
        },
        &[&x],
    );
    assert_eq!(vals(&out[0]), [0.0, 0.0, 0.5, 1.0, 1.0]);
    let g = vals(&out[1]);
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    assert_eq!(g[2], 2500.0); // k/4 at the cut
}

#[test]
fn bad_arguments_are_trace_errors_at_the_callers_line() {
    let f = Type::new(DType::F64, [4]);
    let one_f64 = std::slice::from_ref(&f);
    let negative_rate = |x: Var| soft_gt(x, 0.0, -1.0);
    let line = line!() - 1;
    let e = trace("f", negative_rate, one_f64).unwrap_err();
    assert!(
        e.to_string().contains("soft_gt: the rate k must be positive and finite, got -1"),
        "{e}"
    );
    assert_eq!(err_line(&e), line);
    let e = trace("f", |x: Var| soft_histogram(x, &[0.0, 1.0, 1.0], 1.0), one_f64).unwrap_err();
    assert!(e.to_string().contains("edges must be finite and increasing"), "{e}");
    let e = trace("f", |x: Var| histogram(x, &[0.0]), one_f64).unwrap_err();
    assert!(e.to_string().contains("needs at least 2 edges"), "{e}");
    let e = trace(
        "f",
        |x: Var, w: Var| soft_histogram_weighted(x, w, &[0.0, 1.0], 1.0),
        &[f.clone(), Type::new(DType::F64, [3])],
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("weights f64[3] must have the type of the values f64[4]"),
        "{e}"
    );
    let e = trace(
        "f",
        |x: Var, e: Var| soft_histogram(x, e, 1.0),
        &[f.clone(), Type::new(DType::F32, [3])],
    )
    .unwrap_err();
    assert!(e.to_string().contains("traced edges must be 1-D"), "{e}");
    let e = trace("f", |x: Var| ste_gt(x, 0, 1.0), &[Type::new(DType::I32, [4])]).unwrap_err();
    assert!(e.to_string().contains("ste_gt: needs a float value"), "{e}");
}
