//! Thread scaling: the big kernels of the peer workloads on pools of 1, 2,
//! 4, ... threads (`THREADS=1,2,4,8,16`, default `1,2`), median wall time
//! of each. Results are bit-identical at every thread count (the work split
//! depends on shapes only); this prints whether they were (`Tensor`'s
//! equality compares bits).
//!
//! ```text
//! THREADS=1,2,4,8,16 cargo bench --bench scaling
//! ```

use std::time::Instant;

use gradlift::ir::{DType, Tensor};
use gradlift::nn::{Activation, Mlp};
use gradlift::{grad, jit, Arg, Var};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// Median time of `f` compiled for `threads` threads, and its results.
fn run<F: gradlift::TraceFn<M> + Clone + Send + Sync + 'static, M>(
    f: F,
    args: &[&Tensor],
    threads: usize,
    reps: usize,
) -> (f64, Vec<Tensor>) {
    let j = jit(f).threads(threads).unwrap();
    let c = j.compiled(args).unwrap();
    let mut out = c.executable.new_results();
    let mut a: Vec<Arg<'_>> = args.iter().map(|t| Arg::Ref(t)).collect();
    let t = time(reps, || c.executable.run(&mut a, &mut out).unwrap());
    (t, out)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let threads: Vec<usize> = std::env::var("THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .map(|s| s.trim().parse().expect("THREADS: comma-separated counts"))
        .collect();
    let x24 = Tensor::rand_normal(4, [1usize << 24], 0.0, 1.0, DType::F32).unwrap();
    let x26 = Tensor::rand_normal(7, [1usize << 26], 0.0, 1.0, DType::F32).unwrap();
    let x20 = Tensor::rand_uniform(6, [1usize << 20], 0.01, 0.99, DType::F32).unwrap();
    let mlp = Mlp::new(&[784, 512, 512, 10]).activation(Activation::Relu);
    let params = mlp.init(55).unwrap();
    let xb = Tensor::rand_normal(5, [4096, 784], 0.0, 1.0, DType::F32).unwrap();
    let labels: Vec<i32> = (0..4096i32).map(|i| (i * 7 + 3) % 10).collect();
    let yb = Tensor::from_slice([4096], &labels).unwrap();
    let mut w5_args: Vec<&Tensor> = params.tensors().iter().collect();
    w5_args.push(&xb);
    w5_args.push(&yb);

    println!("| workload | threads | median ms | speed-up vs 1st | same bits as 1st |");
    println!("|---|---|---|---|---|");
    let report = |name: &str, f: &dyn Fn(usize) -> (f64, Vec<Tensor>)| {
        let mut base: Option<(f64, Vec<Tensor>)> = None;
        for &t in &threads {
            let (s, out) = f(t);
            let (b, same) = match &base {
                None => (s, true),
                Some((b, o)) => (*b, o.iter().zip(&out).all(|(x, y)| x == y)),
            };
            println!("| {name} | {t} | {:.2} | {:.2} | {same} |", s * 1e3, b / s);
            if base.is_none() {
                base = Some((s, out));
            }
        }
    };
    report("x*a+b, 2^26 f32 (512 MiB traffic, as STREAM copy)", &|t| {
        run(|x: Var| x * 1.5 + 0.25, &[&x26], t, 11)
    });
    report("W4 forward sum(tanh(x*w+b)^2), 2^24", &|t| {
        run(|x: Var| (x * 0.7 + 0.1).tanh().square().sum_all(), &[&x24], t, 11)
    });
    report("W4 grad wrt x", &|t| {
        let f = |x: Var| (x * 0.7 + 0.1).tanh().square().sum_all();
        run(move |x: Var| grad(f, &[0])(&[x])[0], &[&x24], t, 11)
    });
    report("W5 loss+grad, MLP 784-512-512-10, b4096", &|t| {
        let m = mlp.clone();
        let loss =
            move |a: &[Var]| gradlift::loss::softmax_cross_entropy(m.forward(&a[..6], a[6]), a[7]);
        run(move |a: &[Var]| grad(loss.clone(), &[0, 1, 2, 3, 4, 5])(a), &w5_args, t, 5)
    });
    report("W6 grad, logistic map x1000, 2^20", &|t| {
        let map = |x: Var| {
            let mut l = x;
            for _ in 0..1000 {
                l = 4.0 * l * (1.0 - l);
            }
            l.sum_all()
        };
        run(move |x: Var| grad(map, &[0])(&[x])[0], &[&x20], t, 3)
    });
}
