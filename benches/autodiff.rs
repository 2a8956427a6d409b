//! Time to differentiate graphs of 10^3, 10^4 and 10^5 ops (should grow
//! linearly), and the op-count ratio gradient/forward for the tutorial's
//! functions (printed before the timings).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gradlift::{trace, DType, Type, Var};
use gradlift_compiler::ad;
use gradlift_compiler::passes::dce::dce;

fn program(n: usize) -> impl Fn(Var, Var) -> Var + Copy {
    move |x: Var, w: Var| {
        let mut y = x;
        for i in 0..n / 4 {
            y = match i % 3 {
                0 => (y * w).tanh() + x,
                1 => (y - x).sin() * w,
                _ => y.exp().log1p() - w,
            };
        }
        y.sum_all()
    }
}

fn kinematics_loss(a: Var, x0: Var, v0: Var, t: Var, target: Var) -> Var {
    let pos = x0 + v0 * t + 0.5 * a * t * t;
    (pos - target).square().mean_all()
}

fn softcut(a: Var, m_s: Var, m_b: Var) -> Var {
    let s = ((m_s - a) * 10.0).sigmoid().sum_all();
    let b = ((m_b - a) * 10.0).sigmoid().sum_all();
    -(s / b.sqrt())
}

#[allow(clippy::too_many_arguments)]
fn drift(x: Var, w1: Var, b1: Var, w2: Var, b2: Var, w3: Var, b3: Var, target: Var) -> Var {
    let h1 = (x.matmul(w1.t()) + b1).relu();
    let h2 = (h1.matmul(w2.t()) + b2).relu();
    let out = h2.matmul(w3.t()) + b3;
    let x0 = 15.0 + out.slice_axis(1, 0, 1);
    let v0 = 10.0 + out.slice_axis(1, 1, 2);
    let pred = (x0 + v0 * 3.0 - 4.9 * 9.0).reshape(&[100]);
    (pred - target).square().mean_all()
}

fn logistic_map(x: Var) -> Var {
    let mut l = x;
    for _ in 0..1000 {
        l = 4.0 * l * (1.0 - l);
    }
    l.sum_all()
}

fn ratios() {
    let f32t = |d: &[usize]| Type::new(DType::F32, d);
    let cases: Vec<(&str, gradlift::Function, Vec<usize>)> = vec![
        (
            "kinematics",
            trace(
                "k",
                kinematics_loss,
                &[f32t(&[1, 2]), f32t(&[1, 2]), f32t(&[1, 2]), f32t(&[10, 1]), f32t(&[10, 2])],
            )
            .unwrap(),
            vec![0, 1, 2],
        ),
        (
            "softcut",
            trace("s", softcut, &[f32t(&[]), f32t(&[500]), f32t(&[10000])]).unwrap(),
            vec![0],
        ),
        (
            "drift",
            trace(
                "d",
                drift,
                &[
                    f32t(&[100, 1]),
                    f32t(&[100, 1]),
                    f32t(&[100]),
                    f32t(&[50, 100]),
                    f32t(&[50]),
                    f32t(&[2, 50]),
                    f32t(&[2]),
                    f32t(&[100]),
                ],
            )
            .unwrap(),
            vec![1, 2, 3, 4, 5, 6],
        ),
        ("logistic map x1000", trace("l", logistic_map, &[f32t(&[1 << 20])]).unwrap(), vec![0]),
    ];
    eprintln!("op counts (after dead-code removal): forward, gradient, ratio");
    for (name, f, wrt) in cases {
        let fwd = dce(&f).unwrap().num_instructions();
        let g = ad::grad(&f, &wrt, 0).unwrap().num_instructions();
        eprintln!("  {name:<20} {fwd:>6} {g:>6} {:>6.2}", g as f64 / fwd as f64);
    }
}

fn bench(c: &mut Criterion) {
    ratios();
    let ty = [Type::new(DType::F32, [8]), Type::new(DType::F32, [8])];
    let mut g = c.benchmark_group("grad");
    g.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        let f = trace("p", program(n), &ty).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(n), &f, |b, f| {
            b.iter(|| ad::grad(f, &[0, 1], 0).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
