//! Random fused kernel bodies, JIT against the interpreter.
//!
//! A seeded generator builds a body per seed: an iteration shape (ranks
//! 0-3, awkward sizes, sometimes a 0 or 1), leaves seen through views
//! (broadcasts, transposes, strided slices, reverses, reshapes, iota,
//! constants), a chain of elementwise ops over all dtypes with views in
//! between, then results: elementwise values, or sibling reductions over
//! random axes plus side outputs. Every seed is compiled (a batch per JIT
//! module), run whole and over a random unit split, and compared with the
//! stated tolerances (`codegen_support::compare`), and against the same
//! body compiled with math kept inline (no batch functions), bit for bit
//! (15 of the 2400 default seeds stage a function; `codegen_staged.rs`
//! has the directed cases).
//!
//! `GRADLIFT_CODEGEN_SEEDS=N` runs N seeds instead of the default; a
//! failure names its seed, and `GRADLIFT_CODEGEN_SEED=S` reruns just that.

mod codegen_support;

use codegen_support::{check, random_args, rng, Body, Values};
use gradlift_compiler::codegen::{run_kernel, KernelCompiler};
use gradlift_ir::{BinaryOp, CompareOp, DType, Data, Function, ReduceKind, Tensor, UnaryOp, Value};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const DEFAULT_SEEDS: u64 = 2400;
const BATCH: u64 = 60;

#[test]
fn random_bodies_match_the_interpreter() {
    let seeds: Vec<u64> = match std::env::var("GRADLIFT_CODEGEN_SEED") {
        Ok(s) => vec![s.parse().expect("GRADLIFT_CODEGEN_SEED")],
        Err(_) => {
            let n = std::env::var("GRADLIFT_CODEGEN_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_SEEDS);
            (0..n).collect()
        }
    };
    let (mut loops, mut reductions) = (0, 0);
    for batch in seeds.chunks(BATCH as usize) {
        let mut gens: Vec<(u64, Function, bool, ChaCha8Rng)> = Vec::new();
        for &seed in batch {
            let mut r = rng(seed);
            let (body, reduction) = generate(&mut r, seed);
            gens.push((seed, body, reduction, r));
        }
        let mut c = KernelCompiler::new().expect("compiler");
        for (seed, body, _, _) in &gens {
            if let Err(e) = c.add(body.name(), body) {
                panic!("seed {seed}: compile error: {e}\n{body:#?}");
            }
        }
        let kernels = c.finish().expect("finalize");
        // The same bodies with math kept inline (no batch functions): the
        // results must be the same bits.
        let mut c = KernelCompiler::new().expect("compiler");
        c.set_batch_math(false);
        for (seed, body, _, _) in &gens {
            if let Err(e) = c.add(body.name(), body) {
                panic!("seed {seed}: compile error (inline math): {e}");
            }
        }
        let inline = c.finish().expect("finalize");
        for (((seed, body, reduction, r), k), ki) in gens.iter_mut().zip(&kernels).zip(&inline) {
            let values =
                if !*reduction && r.gen_bool(0.5) { Values::Special } else { Values::Tame };
            let args = random_args(r, body, values);
            if let Err(e) = check(k, body, &args, r) {
                panic!("seed {seed}: {e}\nbody: {body:#?}\nargs: {args:?}");
            }
            let staged = run_kernel(k, body, &args).expect("run");
            let kept = run_kernel(ki, body, &args).expect("run inline");
            for (i, (a, b)) in staged.iter().zip(&kept).enumerate() {
                assert!(
                    same_bits(a, b),
                    "seed {seed}: result {i} differs with math inline:\n{a}\n{b}"
                );
            }
            if *reduction {
                reductions += 1;
            } else {
                loops += 1;
            }
        }
    }
    println!("{} random kernels: {loops} loop, {reductions} reduction", loops + reductions);
    assert!(seeds.len() < 100 || reductions > seeds.len() / 5, "too few reductions generated");
}

/// Equal bit for bit, any NaN matching any NaN (payloads are unspecified).
fn same_bits(a: &Tensor, b: &Tensor) -> bool {
    match (a.data(), b.data()) {
        (Data::F32(x), Data::F32(y)) => {
            x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits() || p.is_nan() && q.is_nan())
        }
        (Data::F64(x), Data::F64(y)) => {
            x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits() || p.is_nan() && q.is_nan())
        }
        _ => a == b,
    }
}

/// Generates the body of `seed`; `true` if it is a reduction kernel.
fn generate(r: &mut ChaCha8Rng, seed: u64) -> (Function, bool) {
    let reduction = r.gen_bool(0.35);
    let rank = if reduction { r.gen_range(1..=3) } else { r.gen_range(0..=3) };
    let sizes = [1usize, 2, 3, 4, 5, 7, 8, 9, 13, 17];
    let mut shape: Vec<usize> = (0..rank).map(|_| *sizes.choose(r).unwrap_or(&3)).collect();
    if r.gen_range(0..40) == 0 && rank > 0 {
        shape[r.gen_range(0..rank)] = 0;
    }
    if r.gen_range(0..10) == 0 && rank > 0 {
        // A longer innermost dim: several packets, accumulators, tails.
        shape[rank - 1] = r.gen_range(30..300);
    }
    let mut g =
        Gen { b: Body::new(&format!("rnd{seed}")), shape, pool: Vec::new(), deferred: Vec::new() };
    // Parameters come first in a function: leaves are planned, then built.
    let n_leaves = r.gen_range(1..=4);
    for _ in 0..n_leaves {
        let dt = *[DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool]
            .choose(r)
            .unwrap_or(&DType::F32);
        g.plan_leaf(r, dt);
    }
    g.build_leaves();
    let steps = r.gen_range(2..=12);
    for _ in 0..steps {
        g.step(r);
    }
    let results = if reduction { g.reductions(r) } else { g.loop_results(r) };
    (g.b.finish(&results), reduction)
}

/// A leaf planned before any instruction exists.
enum Leaf {
    Param { dt: DType, shape: Vec<usize>, view: View },
    Iota { dt: DType, axis: usize },
    Scalar { dt: DType, x: f64 },
    Constant { t: Tensor },
}

/// How a parameter of another shape becomes a value of the iteration shape.
enum View {
    Direct,
    Broadcast { dims: Vec<usize> },
    Transpose { perm: Vec<usize> },
    Slice { start: Vec<usize>, limit: Vec<usize>, stride: Vec<usize> },
    Reverse { axes: Vec<usize> },
    Reshape,
}

struct Gen {
    b: Body,
    shape: Vec<usize>,
    /// Values of the iteration shape.
    pool: Vec<Value>,
    deferred: Vec<(Leaf, Option<Value>)>,
}

impl Gen {
    fn rank(&self) -> usize {
        self.shape.len()
    }

    fn plan_leaf(&mut self, r: &mut ChaCha8Rng, dt: DType) {
        let s = self.shape.clone();
        let rank = s.len();
        let leaf = match r.gen_range(0..10) {
            0 | 1 => Leaf::Param { dt, shape: s.clone(), view: View::Direct },
            2 => {
                let mut dims = Vec::new();
                let mut oshape = Vec::new();
                for (i, &n) in s.iter().enumerate() {
                    if r.gen_bool(0.6) {
                        dims.push(i);
                        oshape.push(if r.gen_bool(0.3) { 1 } else { n });
                    }
                }
                Leaf::Param { dt, shape: oshape, view: View::Broadcast { dims } }
            }
            3 if rank > 1 => {
                let mut perm: Vec<usize> = (0..rank).collect();
                perm.shuffle(r);
                let mut x = vec![0; rank];
                for i in 0..rank {
                    x[perm[i]] = s[i];
                }
                Leaf::Param { dt, shape: x, view: View::Transpose { perm } }
            }
            4 => {
                let (mut start, mut limit, mut stride, mut x) = (vec![], vec![], vec![], vec![]);
                for &n in &s {
                    let st = r.gen_range(0..3);
                    let sd = r.gen_range(1..4);
                    let lim = if n == 0 { st } else { st + (n - 1) * sd + 1 };
                    start.push(st);
                    stride.push(sd);
                    limit.push(lim);
                    x.push(lim + r.gen_range(0..3));
                }
                Leaf::Param { dt, shape: x, view: View::Slice { start, limit, stride } }
            }
            5 => {
                let axes: Vec<usize> = (0..rank).filter(|_| r.gen_bool(0.5)).collect();
                Leaf::Param { dt, shape: s.clone(), view: View::Reverse { axes } }
            }
            6 => {
                let n: usize = s.iter().product();
                let other = if r.gen_bool(0.5) || n < 2 {
                    vec![n]
                } else {
                    let mut d = s.clone();
                    d.reverse();
                    d
                };
                Leaf::Param { dt, shape: other, view: View::Reshape }
            }
            7 if rank > 0 && dt != DType::Bool => Leaf::Iota { dt, axis: r.gen_range(0..rank) },
            8 => Leaf::Scalar { dt, x: f64::from(r.gen_range(-3i32..4)) * 0.75 },
            9 if s.iter().product::<usize>() <= 64 => {
                let ty = gradlift_ir::Type::new(dt, gradlift_ir::Shape::new(&s));
                Leaf::Constant { t: codegen_support::random_tensor(r, &ty, Values::Special) }
            }
            _ => Leaf::Param { dt, shape: s.clone(), view: View::Direct },
        };
        self.deferred.push((leaf, None));
    }

    /// Adds the planned parameters, then the instructions of every leaf.
    fn build_leaves(&mut self) {
        let mut deferred = std::mem::take(&mut self.deferred);
        for (leaf, p) in deferred.iter_mut() {
            if let Leaf::Param { dt, shape, .. } = leaf {
                *p = Some(self.b.param(*dt, shape));
            }
        }
        let s = self.shape.clone();
        for (leaf, p) in deferred {
            let v = match (leaf, p) {
                (Leaf::Param { view, .. }, Some(x)) => match view {
                    View::Direct => x,
                    View::Broadcast { dims } => self.b.broadcast(x, &dims, &s),
                    View::Transpose { perm } => self.b.transpose(x, &perm),
                    View::Slice { start, limit, stride } => {
                        self.b.slice(x, &start, &limit, &stride)
                    }
                    View::Reverse { axes } => self.b.reverse(x, &axes),
                    View::Reshape => self.b.reshape(x, &s),
                },
                (Leaf::Iota { dt, axis }, _) => self.b.iota(dt, &s, axis),
                (Leaf::Scalar { dt, x }, _) => {
                    let c = self.b.scalar(dt, x);
                    self.b.broadcast(c, &[], &s)
                }
                (Leaf::Constant { t }, _) => self.b.constant(t),
                (Leaf::Param { .. }, None) => continue,
            };
            self.pool.push(v);
        }
    }

    fn dtype(&self, v: Value) -> DType {
        self.b.ty(v).dtype
    }

    /// A pool value of dtype `dt`, converting one if none has it.
    fn value_of(&mut self, r: &mut ChaCha8Rng, dt: DType) -> Value {
        let have: Vec<Value> = self.pool.iter().copied().filter(|&v| self.dtype(v) == dt).collect();
        if let Some(&v) = have.choose(r) {
            if r.gen_bool(0.85) {
                return v;
            }
        }
        let src = *self.pool.choose(r).expect("pool");
        let c = self.b.convert(src, dt);
        self.pool.push(c);
        c
    }

    fn any_value(&mut self, r: &mut ChaCha8Rng) -> Value {
        // Prefer recent values so chains grow deep.
        let n = self.pool.len();
        if r.gen_bool(0.6) {
            self.pool[n - 1 - r.gen_range(0..n.min(3))]
        } else {
            *self.pool.choose(r).expect("pool")
        }
    }

    /// One random op on pool values; its result joins the pool.
    fn step(&mut self, r: &mut ChaCha8Rng) {
        let x = self.any_value(r);
        let dt = self.dtype(x);
        let v = match r.gen_range(0..12) {
            0..=2 => {
                let ops: Vec<UnaryOp> =
                    UnaryOp::ALL.iter().copied().filter(|u| u.dtypes().accepts(dt)).collect();
                match ops.choose(r) {
                    Some(&u) => self.b.unary(u, x),
                    None => return,
                }
            }
            3..=5 => {
                let ops: Vec<BinaryOp> =
                    BinaryOp::ALL.iter().copied().filter(|o| o.dtypes().accepts(dt)).collect();
                let Some(&op) = ops.choose(r) else { return };
                let y = self.value_of(r, dt);
                self.b.binary(op, x, y)
            }
            6 => {
                let y = self.value_of(r, dt);
                let c = *CompareOp::ALL.choose(r).unwrap_or(&CompareOp::Lt);
                self.b.compare(c, x, y)
            }
            7 => {
                let p = self.value_of(r, DType::Bool);
                let y = self.value_of(r, dt);
                self.b.select(p, x, y)
            }
            8 => {
                let to = *DType::ALL.choose(r).unwrap_or(&DType::F32);
                self.b.convert(x, to)
            }
            9 => self.view_roundtrip(r, x),
            10 if self.rank() > 0 => {
                let axes: Vec<usize> = (0..self.rank()).filter(|_| r.gen_bool(0.5)).collect();
                self.b.reverse(x, &axes)
            }
            11 if self.rank() > 0 && self.shape.iter().all(|&n| n > 0) => {
                // One slice along an axis, broadcast back.
                let k = r.gen_range(0..self.rank());
                let j = r.gen_range(0..self.shape[k]);
                let mut start = vec![0; self.rank()];
                let mut limit = self.shape.clone();
                start[k] = j;
                limit[k] = j + 1;
                let s = self.b.slice(x, &start, &limit, &vec![1; self.rank()]);
                let dims: Vec<usize> = (0..self.rank()).collect();
                let shape = self.shape.clone();
                self.b.broadcast(s, &dims, &shape)
            }
            _ => return,
        };
        self.pool.push(v);
    }

    /// A transpose or reshape, an op on the view, and back.
    fn view_roundtrip(&mut self, r: &mut ChaCha8Rng, x: Value) -> Value {
        let rank = self.rank();
        let dt = self.dtype(x);
        let op = |g: &mut Gen, v: Value| match dt {
            DType::Bool => g.b.unary(UnaryOp::Not, v),
            DType::F32 | DType::F64 => g.b.unary(UnaryOp::Neg, v),
            _ => g.b.binary(BinaryOp::Add, v, v),
        };
        if rank > 1 && r.gen_bool(0.5) {
            let mut perm: Vec<usize> = (0..rank).collect();
            perm.shuffle(r);
            let mut inv = vec![0; rank];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            let t = self.b.transpose(x, &perm);
            let u = op(self, t);
            self.b.transpose(u, &inv)
        } else {
            let n: usize = self.shape.iter().product();
            let other: Vec<usize> =
                if n.is_multiple_of(2) && n > 2 { vec![2, n / 2] } else { vec![n] };
            let t = self.b.reshape(x, &other);
            let u = op(self, t);
            let s = self.shape.clone();
            self.b.reshape(u, &s)
        }
    }

    fn loop_results(&mut self, r: &mut ChaCha8Rng) -> Vec<Value> {
        let mut out = vec![*self.pool.last().expect("pool")];
        for _ in 0..r.gen_range(0..3) {
            out.push(*self.pool.choose(r).expect("pool"));
        }
        out
    }

    fn reductions(&mut self, r: &mut ChaCha8Rng) -> Vec<Value> {
        let rank = self.rank();
        let mut axes: Vec<usize> = (0..rank).filter(|_| r.gen_bool(0.5)).collect();
        if axes.is_empty() {
            axes.push(r.gen_range(0..rank));
        }
        let reduced: usize = axes.iter().map(|&a| self.shape[a]).product();
        let mut out = Vec::new();
        for _ in 0..r.gen_range(1..=3) {
            let mut x = self.any_value(r);
            if self.dtype(x) == DType::Bool {
                x = self.b.convert(x, DType::I32);
            }
            let mut kind = *ReduceKind::ALL.choose(r).unwrap_or(&ReduceKind::Sum);
            if kind == ReduceKind::Prod && self.dtype(x).is_float() && reduced > 6 {
                // Long float products over- or underflow in some orders.
                kind = ReduceKind::Sum;
            }
            out.push(self.b.reduce(kind, x, &axes));
        }
        for _ in 0..r.gen_range(0..3) {
            out.push(*self.pool.choose(r).expect("pool"));
        }
        out.shuffle(r);
        out
    }
}
