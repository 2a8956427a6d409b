//! The side-by-side runner: gradlift's versions of the peer workloads
//! (`../shared/peers/`, W1–W7) timed in this process, then the JAX and
//! PyTorch scripts run in the same session, and one table of ratios.
//!
//! ```text
//! cargo bench --bench peers                       # gradlift only
//! PY=/path/to/venv/bin/python cargo bench --bench peers   # also JAX (and torch if installed)
//! ONLY=w1,w2 QUICK=1 ...                           # a subset, fewer repeats
//! ```
//! See BENCHMARKS.md for the results and how they were produced.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use gradlift::ir::npy::read_npz_map;
use gradlift::optim::{Adam, Sgd, Trainer};
use gradlift::{grad, jit, jvp, DType, Params, Tensor, Var};

/// One measured number.
#[derive(Clone, Debug)]
struct Row {
    workload: &'static str,
    variant: String,
    metric: &'static str,
    value: f64,
    unit: &'static str,
    note: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn selected(key: &str) -> bool {
    match std::env::var("ONLY") {
        Ok(s) if !s.is_empty() => s.split(',').any(|w| w.trim() == key),
        _ => true,
    }
}

fn quick() -> bool {
    std::env::var("QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ------------------------------------------------------------ W1 / W1b
fn kin_data() -> (Tensor, Tensor) {
    let t: Vec<f32> = (0..10).map(|i| (5.0 * i as f64 / 9.0) as f32).collect();
    let mut target = Vec::new();
    for &ti in &t {
        target.push(0.0 + 5.0 * ti + 0.5 * 0.0 * ti * ti);
        target.push(10.0 + 10.0 * ti + 0.5 * -9.8f32 * ti * ti);
    }
    (Tensor::from_slice([10, 1], &t).unwrap(), Tensor::from_slice([10, 2], &target).unwrap())
}

fn kin_loss(p: &[Var], d: &[Var]) -> Var {
    let pos = p[1] + p[2] * d[0] + 0.5 * p[0] * d[0] * d[0];
    (pos - d[1]).square().mean_all()
}

fn kin_params() -> Params {
    let z = || Tensor::zeros(DType::F32, [1, 2]).unwrap();
    Params::new().with("a", z()).unwrap().with("x0", z()).unwrap().with("v0", z()).unwrap()
}

fn train_rate(
    make: impl Fn() -> Trainer,
    data: &[&Tensor],
    steps: usize,
    repeats: usize,
) -> (f64, f64, f64) {
    let mut times = Vec::new();
    let mut last = 0.0;
    let mut first_call = 0.0;
    for r in 0..repeats {
        let mut tr = make();
        let t0 = Instant::now();
        tr.step(data).unwrap();
        if r == 0 {
            first_call = t0.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        for _ in 1..steps {
            last = tr.step(data).unwrap();
        }
        times.push(t.elapsed().as_secs_f64() / (steps - 1) as f64);
    }
    (1.0 / median(times), last, first_call)
}

fn w1(rows: &mut Vec<Row>) {
    let (t, target) = kin_data();
    let reps = if quick() { 3 } else { 5 };
    let (rate, loss, first) = train_rate(
        || Trainer::new(kin_loss, kin_params(), Sgd::new(0.01)).unwrap(),
        &[&t, &target],
        10_000,
        reps,
    );
    rows.push(Row {
        workload: "w1",
        variant: "Trainer (one call per step)".into(),
        metric: "steps_per_s",
        value: rate,
        unit: "steps/s",
        note: format!("final loss {loss:.3e}; first call {:.1} ms", first * 1e3),
    });
    rows.push(w7_row("w1", first, 1.0 / rate));
    let (rate, loss, _) = train_rate(
        || Trainer::new(kin_loss, kin_params(), Adam::new(1.0)).unwrap(),
        &[&t, &target],
        1_000,
        reps,
    );
    rows.push(Row {
        workload: "w1b",
        variant: "Trainer (one call per step)".into(),
        metric: "steps_per_s",
        value: rate,
        unit: "steps/s",
        note: format!("final loss {loss:.3e}"),
    });
}

// ------------------------------------------------------------ W2
fn w2(rows: &mut Vec<Row>) {
    let d = read_npz_map(repo().join("data/softcut.npz")).unwrap();
    let (ms, mb) = (d["m_s"].clone(), d["m_b"].clone());
    let loss = |p: &[Var], d: &[Var]| {
        let s = ((d[0] - p[0]) * 10.0).sigmoid().sum_all();
        let b = ((d[1] - p[0]) * 10.0).sigmoid().sum_all();
        -(s / b.sqrt())
    };
    let params = || Params::new().with("a", Tensor::scalar(500.0f32)).unwrap();
    let reps = if quick() { 3 } else { 5 };
    let mut cut = 0.0;
    let mut times = Vec::new();
    let mut last = 0.0;
    for _ in 0..reps {
        let mut tr = Trainer::new(loss, params(), Adam::new(1.0)).unwrap();
        tr.step(&[&ms, &mb]).unwrap();
        let t = Instant::now();
        for _ in 1..2000 {
            last = tr.step(&[&ms, &mb]).unwrap();
        }
        times.push(t.elapsed().as_secs_f64() / 1999.0);
        cut = tr.params().tensors()[0].item::<f32>().unwrap() as f64;
    }
    rows.push(Row {
        workload: "w2",
        variant: "Trainer (one call per step)".into(),
        metric: "steps_per_s",
        value: 1.0 / median(times),
        unit: "steps/s",
        note: format!("final cut {cut:.2}, s/sqrt(b) {:.4}", -last),
    });
}

// ------------------------------------------------------------ W3
fn w3(rows: &mut Vec<Row>) {
    let init = Params::load_npz_keys(
        repo().join("data/drift_init.npz"),
        &["w1", "b1", "w2", "b2", "w3", "b3"],
    )
    .unwrap();
    let n = 100;
    let t: Vec<f32> = (0..n).map(|i| (i as f64 / (n - 1) as f64) as f32).collect();
    let target: Vec<f32> = t
        .iter()
        .map(|&ti| {
            let (ti, x0d, v0d) =
                (ti as f64, 2.0 * (20.0 * ti as f64).sin(), 5.0 * (ti as f64).powi(2));
            let _ = ti;
            ((15.0 + x0d) + (10.0 + v0d) * 3.0 + 0.5 * -9.8 * 9.0) as f32
        })
        .collect();
    let t = Tensor::from_slice([n, 1], &t).unwrap();
    let target = Tensor::from_slice([n], &target).unwrap();
    let loss = |p: &[Var], d: &[Var]| {
        let h1 = (d[0].matmul(p[0].t()) + p[1]).relu();
        let h2 = (h1.matmul(p[2].t()) + p[3]).relu();
        let out = h2.matmul(p[4].t()) + p[5];
        let x0 = 15.0 + out.slice_axis(1, 0, 1);
        let v0 = 10.0 + out.slice_axis(1, 1, 2);
        let pred = (x0 + v0 * 3.0 - 4.9 * 9.0).reshape(&[100]);
        (pred - d[1]).square().mean_all()
    };
    let reps = if quick() { 2 } else { 5 };
    let (rate, last, first) = train_rate(
        || Trainer::new(loss, init.clone(), Adam::new(1e-3)).unwrap(),
        &[&t, &target],
        4000,
        reps,
    );
    rows.push(Row {
        workload: "w3",
        variant: "Trainer (one call per step)".into(),
        metric: "steps_per_s",
        value: rate,
        unit: "steps/s",
        note: format!("final MSE {last:.6}; first call {:.1} ms", first * 1e3),
    });
    rows.push(w7_row("w3", first, 1.0 / rate));
}

// ------------------------------------------------------------ W4
fn time_calls(mut f: impl FnMut(), n: usize) -> f64 {
    f();
    let mut v = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        f();
        v.push(t.elapsed().as_secs_f64());
    }
    median(v)
}

fn w4(rows: &mut Vec<Row>) {
    let n = 1usize << 24;
    let x = Tensor::rand_normal(4, [n], 0.0, 1.0, DType::F32).unwrap();
    let f = |x: Var| (x * 0.7 + 0.1).tanh().square().sum_all();
    let fwd = jit(f);
    let g = jit(move |x: Var| grad(f, &[0])(&[x]));
    let reps = if quick() { 5 } else { 20 };
    let mut out = fwd.compiled(&[&x]).unwrap().executable.new_results();
    let ex = fwd.compiled(&[&x]).unwrap();
    let tf =
        time_calls(|| ex.executable.run(&mut [gradlift::Arg::Ref(&x)], &mut out).unwrap(), reps);
    let exg = g.compiled(&[&x]).unwrap();
    let mut outg = exg.executable.new_results();
    let tg =
        time_calls(|| exg.executable.run(&mut [gradlift::Arg::Ref(&x)], &mut outg).unwrap(), reps);
    rows.push(Row {
        workload: "w4",
        variant: "jit forward".into(),
        metric: "time_ms",
        value: tf * 1e3,
        unit: "ms",
        note: format!("{:.2} GB/s", 4.0 * n as f64 / tf / 1e9),
    });
    rows.push(Row {
        workload: "w4",
        variant: "jit grad wrt x".into(),
        metric: "time_ms",
        value: tg * 1e3,
        unit: "ms",
        note: format!("{:.2} GB/s", 8.0 * n as f64 / tg / 1e9),
    });
}

// ------------------------------------------------------------ W5
fn w5(rows: &mut Vec<Row>) {
    use gradlift::nn::{Activation, Mlp};
    let mlp = Mlp::new(&[784, 512, 512, 10]).activation(Activation::Relu);
    for batch in [256usize, 4096] {
        let x = Tensor::rand_normal(5, [batch, 784], 0.0, 1.0, DType::F32).unwrap();
        let labels: Vec<i32> = (0..batch).map(|i| ((i * 7 + 3) % 10) as i32).collect();
        let y = Tensor::from_slice([batch], &labels).unwrap();
        let m = mlp.clone();
        let loss = move |p: &[Var], d: &[Var]| {
            gradlift::loss::softmax_cross_entropy(m.forward(p, d[0]), d[1])
        };
        let mut tr = Trainer::new(loss, mlp.init(55).unwrap(), Adam::new(1e-3)).unwrap();
        let t0 = Instant::now();
        tr.step(&[&x, &y]).unwrap();
        let first = t0.elapsed().as_secs_f64();
        // About as many timed calls as the peers make (3 repeats of 20
        // calls at b256, of 4 at b4096): a median of 11 single calls moved
        // with every burst of the shared host.
        let reps = if quick() {
            5
        } else if batch <= 256 {
            61
        } else {
            13
        };
        let step = time_calls(
            || {
                tr.step(&[&x, &y]).unwrap();
            },
            reps,
        );
        let m2 = mlp.clone();
        let fwd = jit(move |args: &[Var]| {
            vec![gradlift::loss::softmax_cross_entropy(m2.forward(&args[..6], args[6]), args[7])]
        });
        let params = mlp.init(55).unwrap();
        let mut refs: Vec<&Tensor> = params.tensors().iter().collect();
        refs.push(&x);
        refs.push(&y);
        let c = fwd.compiled(&refs).unwrap();
        let mut out = c.executable.new_results();
        let mut args: Vec<gradlift::Arg<'_>> = refs.iter().map(|t| gradlift::Arg::Ref(t)).collect();
        let tf = time_calls(|| c.executable.run(&mut args, &mut out).unwrap(), reps);
        let flops = 2.0 * batch as f64 * (784.0 * 512.0 + 512.0 * 512.0 + 512.0 * 10.0);
        rows.push(Row {
            workload: "w5",
            variant: format!("Trainer step b{batch}"),
            metric: "step_ms",
            value: step * 1e3,
            unit: "ms",
            note: format!(
                "fwd {:.3} ms; step/fwd {:.2}; step {:.0} GFLOP/s; first step {:.1} ms",
                tf * 1e3,
                step / tf,
                3.0 * flops / step / 1e9,
                first * 1e3
            ),
        });
        if batch == 256 {
            rows.push(w7_row("w5 b256", first, step));
        }
    }
}

/// W7: what the first step costs beyond a steady one (trace, transforms,
/// compilation), as JAX's W7 measures it.
fn w7_row(which: &str, first: f64, steady: f64) -> Row {
    Row {
        workload: "w7",
        variant: format!("first step (trace + compile + run) {which}"),
        metric: "compile_overhead_ms",
        value: (first - steady) * 1e3,
        unit: "ms",
        note: format!("first {:.2} ms, steady {:.3} ms", first * 1e3, steady * 1e3),
    }
}

// ------------------------------------------------------------ W6
fn w6(rows: &mut Vec<Row>) {
    let n = 1usize << 20;
    let x = Tensor::rand_uniform(6, [n], 0.01, 0.99, DType::F32).unwrap();
    let map = |x: Var| {
        let mut l = x;
        for _ in 0..1000 {
            l = 4.0 * l * (1.0 - l);
        }
        l
    };
    let reps = if quick() { 3 } else { 5 };
    let fwd = jit(map);
    let t0 = Instant::now();
    let c = fwd.compiled(&[&x]).unwrap();
    let compile_fwd = t0.elapsed().as_secs_f64();
    let mut out = c.executable.new_results();
    let tf =
        time_calls(|| c.executable.run(&mut [gradlift::Arg::Ref(&x)], &mut out).unwrap(), reps);
    let j = jit(move |x: Var| jvp(map, &[x], &[x.ones_like()]).1[0]);
    let t0 = Instant::now();
    let cj = j.compiled(&[&x]).unwrap();
    let compile_jvp = t0.elapsed().as_secs_f64();
    let mut outj = cj.executable.new_results();
    let tj =
        time_calls(|| cj.executable.run(&mut [gradlift::Arg::Ref(&x)], &mut outj).unwrap(), reps);
    let g = jit(move |x: Var| grad(move |x: Var| map(x).sum_all(), &[0])(&[x])[0]);
    let t0 = Instant::now();
    let cg = g.compiled(&[&x]).unwrap();
    let compile_grad = t0.elapsed().as_secs_f64();
    let mut outg = cg.executable.new_results();
    let tg =
        time_calls(|| cg.executable.run(&mut [gradlift::Arg::Ref(&x)], &mut outg).unwrap(), reps);
    for (v, t, c, k) in [
        ("forward", tf, compile_fwd, c.fused.num_kernels()),
        ("jvp", tj, compile_jvp, cj.fused.num_kernels()),
        ("grad", tg, compile_grad, cg.fused.num_kernels()),
    ] {
        rows.push(Row {
            workload: "w6",
            variant: format!("jit {v} (unrolled)"),
            metric: "time_ms",
            value: t * 1e3,
            unit: "ms",
            note: format!("compile {:.1} ms, {k} kernel(s)", c * 1e3),
        });
    }
}

// ------------------------------------------------------------ peers
fn peers(rows: &mut Vec<Row>) -> Vec<serde_like::Peer> {
    let Ok(py) = std::env::var("PY") else { return Vec::new() };
    let shared = repo().join("../shared/peers");
    let only: Vec<&str> = ["w1", "w1b", "w2", "w3", "w4", "w5", "w6", "w7"]
        .into_iter()
        .filter(|w| selected(w))
        .collect();
    let mut out = Vec::new();
    for script in ["bench_jax.py", "bench_torch.py"] {
        let mut cmd = Command::new(&py);
        cmd.arg(shared.join(script))
            .arg("--only")
            .arg(only.join(","))
            .env_remove("OPENBLAS_CORETYPE")
            .env_remove("OPENBLAS_L2_SIZE");
        if quick() {
            cmd.arg("--quick");
        }
        let Ok(o) = cmd.output() else { continue };
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            if let Some(p) = serde_like::parse(line) {
                out.push(p);
            }
        }
    }
    let _ = rows;
    out
}

/// Whether a peer variant measures the same case as ours: the same batch
/// (W5 `b256`/`b4096`), the same mode (W4/W6) and, for W7, the same
/// workload's step.
fn same_case(ours: &str, peer: &str) -> bool {
    let token = |s: &str, pre: &str| -> Option<String> {
        s.split_whitespace()
            .find(|w| w.starts_with(pre) && w[1..].chars().all(|c| c.is_ascii_digit()))
            .map(String::from)
    };
    if let Some(b) = token(ours, "b") {
        if token(peer, "b").is_some_and(|p| p != b) {
            return false;
        }
    }
    // W4/W6: forward, jvp and grad are compared with their own kind.
    for mode in ["forward", "jvp", "grad"] {
        if ours.contains(mode) != peer.contains(mode) {
            return false;
        }
    }
    let w7 = [("w1", "kinematics-sgd"), ("w3", "drift-pipeline"), ("w5", "mlp-train")];
    match token(ours, "w") {
        Some(w) => w7.iter().any(|(k, name)| *k == w && peer.contains(name)),
        None => true,
    }
}

/// A tiny reader for the peers' JSON lines (flat fields we need), so the
/// runner needs no JSON dependency.
mod serde_like {
    #[derive(Clone, Debug)]
    pub struct Peer {
        pub workload: String,
        pub framework: String,
        pub variant: String,
        pub metric: String,
        pub value: f64,
    }

    fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
        let pat = format!("\"{key}\": ");
        let start = line.find(&pat)? + pat.len();
        let rest = &line[start..];
        if let Some(r) = rest.strip_prefix('"') {
            return r.find('"').map(|e| &r[..e]);
        }
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(rest[..end].trim())
    }

    pub fn parse(line: &str) -> Option<Peer> {
        Some(Peer {
            workload: field(line, "workload")?.to_string(),
            framework: field(line, "framework")?.to_string(),
            variant: field(line, "variant")?.to_string(),
            metric: field(line, "metric")?.to_string(),
            value: field(line, "value")?.parse().ok()?,
        })
    }
}

/// A workload runner appending its rows.
type Task = (&'static str, fn(&mut Vec<Row>));

fn main() {
    // criterion passes --bench; a filter argument selects nothing here.
    let mut rows = Vec::new();
    let tasks: [Task; 6] = [("w1", w1), ("w2", w2), ("w3", w3), ("w4", w4), ("w5", w5), ("w6", w6)];
    for (key, f) in tasks {
        if selected(key) || (key == "w1" && selected("w1b")) {
            eprintln!("gradlift {key} ...");
            f(&mut rows);
        }
    }
    println!("\n## gradlift (this process)\n");
    println!("| workload | variant | metric | value | unit | note |\n|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.4} | {} | {} |",
            r.workload, r.variant, r.metric, r.value, r.unit, r.note
        );
    }
    let peers = peers(&mut rows);
    if peers.is_empty() {
        println!("\n(set PY=/path/to/python with jax installed to run the peers side by side)");
        return;
    }
    let names: BTreeMap<&str, &str> = [
        ("w1", "kinematics-sgd"),
        ("w1b", "kinematics-adam"),
        ("w2", "softcut-adam"),
        ("w3", "drift-pipeline"),
        ("w4", "fused-elementwise"),
        ("w5", "mlp-train"),
        ("w6", "logistic-map"),
        ("w7", "compile-latency"),
    ]
    .into_iter()
    .collect();
    println!("\n## peers (same session)\n");
    println!("| workload | framework | variant | metric | value |\n|---|---|---|---|---|");
    for p in &peers {
        println!(
            "| {} | {} | {} | {} | {:.4} |",
            p.workload, p.framework, p.variant, p.metric, p.value
        );
    }
    println!("\n## ratios (gradlift vs each peer variant; > 1 means gradlift is faster)\n");
    println!("| workload | gradlift variant | peer | ratio |\n|---|---|---|---|");
    for r in &rows {
        let Some(full) = names.get(r.workload) else { continue };
        for p in peers.iter().filter(|p| {
            p.workload == *full && p.metric == r.metric && same_case(&r.variant, &p.variant)
        }) {
            let ratio =
                if r.metric == "steps_per_s" { r.value / p.value } else { p.value / r.value };
            println!(
                "| {} | {} | {} {} | {:.2} |",
                r.workload, r.variant, p.framework, p.variant, ratio
            );
        }
    }
}
