//! Code generation benchmarks, single-threaded calls of `main` (and
//! `finish`) over all work units:
//!
//! - `affine`: `out = x * a + b` over 2^24 f32, against a plain copy of the
//!   same bytes (the bandwidth ceiling) measured in the same run;
//! - `tanh_sq_sum`: `Σ tanh(0.7 x + 0.1)²` over 2^24 f32, and `sq_sum`, the
//!   same without tanh (the reduction machinery alone);
//! - `compile`: one kernel of a 10-op and a 100-op body into a fresh
//!   module (analysis, CLIF, Cranelift, finalize);
//! - `small`: the tutorial's kinematics SGD step, fused into one small
//!   kernel: compiling it, one call of it (single-threaded, the raw entry
//!   point on prepared buffers), and for scale one call of a one-op kernel
//!   over f32[1,2] and the reference interpreter on the same body.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gradlift_compiler::codegen::KernelCompiler;
use gradlift_compiler::fusion::{fuse, KernelKind, Step};
use gradlift_ir::{BinaryOp, DType, Function, Op, ReduceKind, Shape, Tensor, Type, UnaryOp, Value};
use gradlift_runtime::CompiledKernel;

const N: usize = 1 << 24;

struct B {
    f: Function,
}

impl B {
    fn new(name: &str) -> B {
        B { f: Function::new(name) }
    }
    fn param(&mut self, dims: &[usize]) -> Value {
        self.f.add_param(None, Type::new(DType::F32, Shape::new(dims))).expect("param")
    }
    fn op(&mut self, op: Op, args: &[Value]) -> Value {
        self.f.push(op, args, None).expect("op")
    }
    fn scalar(&mut self, x: f32, dims: &[usize]) -> Value {
        let c = self.op(Op::Constant { value: std::sync::Arc::new(Tensor::scalar(x)) }, &[]);
        self.op(Op::BroadcastInDim { shape: Shape::new(dims), dims: Default::default() }, &[c])
    }
    fn bin(&mut self, o: BinaryOp, x: Value, y: Value) -> Value {
        self.op(Op::Binary(o), &[x, y])
    }
    fn finish(mut self, r: &[Value]) -> Function {
        self.f.set_results(r.to_vec()).expect("results");
        self.f
    }
}

fn affine_body() -> Function {
    let mut b = B::new("affine");
    let x = b.param(&[N]);
    let a = b.scalar(1.25, &[N]);
    let c = b.scalar(-0.5, &[N]);
    let m = b.bin(BinaryOp::Mul, x, a);
    let y = b.bin(BinaryOp::Add, m, c);
    b.finish(&[y])
}

/// `Σ f(0.7 x + 0.1)²` with `f = tanh`, or the identity.
fn sq_sum_body(tanh: bool) -> Function {
    let mut b = B::new(if tanh { "tanh_sq_sum" } else { "sq_sum" });
    let x = b.param(&[N]);
    let a = b.scalar(0.7, &[N]);
    let c = b.scalar(0.1, &[N]);
    let m = b.bin(BinaryOp::Mul, x, a);
    let y = b.bin(BinaryOp::Add, m, c);
    let t = if tanh { b.op(Op::Unary(UnaryOp::Tanh), &[y]) } else { y };
    let s = b.bin(BinaryOp::Mul, t, t);
    let r = b.op(Op::Reduce { kind: ReduceKind::Sum, axes: [0].into_iter().collect() }, &[s]);
    b.finish(&[r])
}

/// A chain of `ops` cheap elementwise ops over f32[4096] from two inputs.
fn chain_body(ops: usize) -> Function {
    let mut b = B::new(&format!("chain{ops}"));
    let x = b.param(&[64, 64]);
    let y = b.param(&[64, 64]);
    let mut vals = vec![x, y];
    let kinds = [BinaryOp::Add, BinaryOp::Mul, BinaryOp::Sub, BinaryOp::Max, BinaryOp::Min];
    for i in 0..ops {
        let (p, q) = (vals[vals.len() - 1], vals[(i * 7) % vals.len()]);
        let v = if i % 4 == 3 {
            b.op(Op::Unary(UnaryOp::Sqrt), &[p])
        } else {
            b.bin(kinds[i % kinds.len()], p, q)
        };
        vals.push(v);
    }
    let last = *vals.last().expect("value");
    b.finish(&[last])
}

fn compile(body: &Function) -> CompiledKernel {
    let mut c = KernelCompiler::new().expect("compiler");
    c.add(body.name(), body).expect("kernel");
    c.finish().expect("finalize").remove(0)
}

/// Buffers for a kernel: inputs, outputs and scratch, and the table.
struct Buffers {
    _data: Vec<Vec<u64>>,
    table: Vec<*mut u8>,
}

fn buffers(k: &CompiledKernel, body: &Function, x: &[f32]) -> Buffers {
    let mut data: Vec<Vec<u64>> = Vec::new();
    let bytes = |t: &Type| t.shape.size() * t.dtype.size_bytes();
    for t in body.param_types() {
        let mut v = vec![0u64; bytes(&t).div_ceil(8).max(1)];
        let n = x.len().min(t.shape.size());
        // SAFETY: `v` holds at least `n` f32s (f32 parameters only).
        unsafe { std::ptr::copy_nonoverlapping(x.as_ptr(), v.as_mut_ptr().cast::<f32>(), n) };
        data.push(v);
    }
    for t in body.result_types() {
        data.push(vec![0u64; bytes(&t).div_ceil(8).max(1)]);
    }
    for &s in &k.scratch_bytes {
        data.push(vec![0u64; s.div_ceil(8).max(1)]);
    }
    let table = data.iter_mut().map(|v| v.as_mut_ptr().cast::<u8>()).collect();
    Buffers { _data: data, table }
}

fn run(k: &CompiledKernel, b: &Buffers) {
    // SAFETY: the buffers have the kernel's parameter, result and scratch
    // sizes; the code lives while `k` does.
    unsafe {
        (k.main)(b.table.as_ptr(), 0, k.units);
        if let Some(f) = k.finish {
            f(b.table.as_ptr(), 0, 1);
        }
    }
}

fn bench_kernels(c: &mut Criterion) {
    let x: Vec<f32> = (0..N).map(|i| ((i % 1000) as f32 - 500.0) / 250.0).collect();
    let mut g = c.benchmark_group("codegen");
    g.sample_size(20);
    g.throughput(Throughput::Bytes((8 * N) as u64));
    let mut dst = vec![0f32; N];
    g.bench_function("copy_2^24_f32", |bch| {
        bch.iter(|| {
            dst.copy_from_slice(black_box(&x));
            black_box(&dst);
        })
    });
    let body = affine_body();
    let k = compile(&body);
    let bufs = buffers(&k, &body, &x);
    g.bench_function("affine_2^24_f32", |bch| bch.iter(|| run(&k, &bufs)));
    g.throughput(Throughput::Elements(N as u64));
    for tanh in [false, true] {
        let body = sq_sum_body(tanh);
        let k = compile(&body);
        let bufs = buffers(&k, &body, &x);
        let name = format!("{}_2^24_f32", body.name());
        g.bench_function(name, |bch| bch.iter(|| run(&k, &bufs)));
    }
    g.finish();

    let mut g = c.benchmark_group("codegen_compile");
    g.sample_size(20);
    for ops in [10, 100] {
        let body = chain_body(ops);
        g.bench_with_input(BenchmarkId::new("kernel", ops), &body, |bch, body| {
            bch.iter(|| compile(black_box(body)))
        });
    }
    g.finish();
}

/// The kinematics SGD step's small kernel body (see
/// `tests/data/kinematics_sgd_step.gir`).
fn kinematics_body() -> Function {
    let text = include_str!("../tests/data/kinematics_sgd_step.gir");
    let f = gradlift_ir::text::parse_function(text, "kinematics_sgd_step.gir").expect("parse");
    let prog = fuse(&f).expect("fuse");
    prog.steps
        .into_iter()
        .find_map(|s| match s {
            Step::Kernel { kind: KernelKind::Small, body, .. } => Some(body),
            _ => None,
        })
        .expect("a small kernel")
}

fn compile_small(body: &Function) -> CompiledKernel {
    let mut c = KernelCompiler::new().expect("compiler");
    c.add_kind(body.name(), body, &KernelKind::Small).expect("kernel");
    c.finish().expect("finalize").remove(0)
}

fn bench_small(c: &mut Criterion) {
    let body = kinematics_body();
    let mut g = c.benchmark_group("codegen_small");
    g.sample_size(50);
    g.bench_function("kinematics_sgd_step/compile", |bch| {
        bch.iter(|| compile_small(black_box(&body)))
    });
    let k = compile_small(&body);
    let x: Vec<f32> = (0..20).map(|i| (i as f32 - 7.0) / 4.0).collect();
    let bufs = buffers(&k, &body, &x);
    g.bench_function("kinematics_sgd_step/call", |bch| bch.iter(|| run(&k, black_box(&bufs))));
    let mut b = B::new("add_1x2");
    let p = b.param(&[1, 2]);
    let q = b.param(&[1, 2]);
    let y = b.bin(BinaryOp::Add, p, q);
    let one_op = b.finish(&[y]);
    let k1 = compile(&one_op);
    let bufs1 = buffers(&k1, &one_op, &x);
    g.bench_function("add_1x2/call", |bch| bch.iter(|| run(&k1, black_box(&bufs1))));
    let args: Vec<Tensor> = body
        .param_types()
        .iter()
        .map(|t| {
            let n = t.shape.size();
            Tensor::new(t.shape.clone(), gradlift_ir::Data::F32(x[..n].to_vec())).expect("arg")
        })
        .collect();
    g.bench_function("kinematics_sgd_step/interpreter", |bch| {
        bch.iter(|| gradlift_ir::interp::eval_function(black_box(&body), &args).expect("eval"))
    });
    g.finish();
}

criterion_group!(benches, bench_kernels, bench_small);
criterion_main!(benches);
