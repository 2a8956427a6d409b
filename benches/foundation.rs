//! Foundation stages on a 100k-op graph: trace, print, parse, verify and
//! interpret (target: each under 100 ms).

use criterion::{criterion_group, criterion_main, Criterion};
use gradlift::ir::interp::eval_function;
use gradlift::ir::text::{parse_module, print_module};
use gradlift::ir::verify::verify_function;
use gradlift::{trace, DType, Module, Tensor, Type, Var};

const N: usize = 100_000;

/// A 100k-op elementwise program on a small vector: a mix of unary and
/// binary ops with scalar constants, like traced numerical code.
fn program(x: Var) -> Var {
    let mut y = x;
    for i in 0..N / 4 {
        y = match i % 3 {
            0 => (y * 0.5).tanh() + x,
            1 => (y - x).sin() * 1.5,
            _ => y.abs().sqrt() - 0.25,
        };
    }
    y
}

fn bench(c: &mut Criterion) {
    let ty = [Type::new(DType::F32, [16])];
    let f = trace("big", program, &ty).unwrap();
    eprintln!("graph: {} instructions", f.num_instructions());
    let m = Module::from(f.clone());
    let text = print_module(&m);
    let x = Tensor::rand_normal(1, [16], 0.0, 1.0, DType::F32).unwrap();
    let mut g = c.benchmark_group("foundation_100k");
    g.sample_size(20);
    g.bench_function("trace", |b| b.iter(|| trace("big", program, &ty).unwrap()));
    g.bench_function("print", |b| b.iter(|| print_module(&m)));
    g.bench_function("parse", |b| b.iter(|| parse_module(&text, "big.gir").unwrap()));
    g.bench_function("verify", |b| b.iter(|| verify_function(&f).unwrap()));
    g.bench_function("interpret", |b| {
        b.iter(|| eval_function(&f, std::slice::from_ref(&x)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
