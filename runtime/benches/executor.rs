//! The executor's costs: per-call overhead of tiny inline programs, the
//! thread pool's fork-join round trip against rayon's, and where splitting
//! a kernel over 2 threads starts to pay (the `INLINE_WORK` threshold).
//!
//! `cargo bench -p gradlift-runtime --bench executor`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gradlift_ir::{DType, Tensor, Type};
use gradlift_runtime::{
    Arg, BufferKind, CompiledKernel, Executable, KernelFn, Program, Step, ThreadPool, INLINE_WORK,
};

fn kernel(
    name: &str,
    main: KernelFn,
    units: usize,
    grain: usize,
    unit_cost: usize,
) -> CompiledKernel {
    CompiledKernel {
        name: name.into(),
        main,
        units,
        grain,
        unit_cost,
        scratch_bytes: vec![],
        finish: None,
        code: Arc::new(()),
    }
}

unsafe extern "C" fn add_f32(bufs: *const *mut u8, start: usize, end: usize) {
    let (a, b, out) =
        (*bufs.add(0) as *const f32, *bufs.add(1) as *const f32, *bufs.add(2) as *mut f32);
    for i in start..end {
        *out.add(i) = *a.add(i) + *b.add(i);
    }
}

unsafe extern "C" fn scale_f32(bufs: *const *mut u8, start: usize, end: usize) {
    let (x, out) = (*bufs.add(0) as *const f32, *bufs.add(1) as *mut f32);
    for i in start..end {
        *out.add(i) = 0.5 * *x.add(i);
    }
}

/// A 3-kernel "training step" on 3-element vectors: `g = 0.5 * w`,
/// `t = w + g`, `w = 0.5 * t` (w donated), result `t`.
fn tiny_step(pool: Arc<ThreadPool>) -> Executable {
    let ty = Type::new(DType::F32, [3]);
    let mut p = Program::new();
    p.add_param(Some("w"), ty.clone(), true);
    p.add_result(ty.clone());
    let w = p.add_buffer(ty.clone(), BufferKind::Param { index: 0 });
    let g = p.add_buffer(ty.clone(), BufferKind::Temp { offset: 0 });
    let out = p.add_buffer(ty, BufferKind::Result { index: 0 });
    p.arena_bytes = 64;
    p.push(Step::Kernel {
        kernel: kernel("g", scale_f32, 3, 1, 1),
        inputs: vec![w],
        outputs: vec![g],
        scratch: vec![],
    });
    p.push(Step::Kernel {
        kernel: kernel("t", add_f32, 3, 1, 1),
        inputs: vec![w, g],
        outputs: vec![out],
        scratch: vec![],
    });
    p.push(Step::Kernel {
        kernel: kernel("w", scale_f32, 3, 1, 1),
        inputs: vec![out],
        outputs: vec![w],
        scratch: vec![],
    });
    Executable::with_pool(p, pool).expect("valid")
}

fn overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("overhead");
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(2));
    for threads in [1, 2] {
        let exe = tiny_step(Arc::new(ThreadPool::new(threads).unwrap()));
        let mut w = Tensor::from_vec([3], vec![1.0f32, 2.0, 3.0]).unwrap();
        let mut results = exe.new_results();
        g.bench_function(BenchmarkId::new("tiny_3_kernel_step", format!("{threads}t")), |b| {
            b.iter(|| exe.run(&mut [Arg::Mut(&mut w)], &mut results).unwrap())
        });
    }
    g.finish();
}

fn pool_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool");
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(2));
    let ours = ThreadPool::new(2).unwrap();
    let work = |i: usize| {
        black_box(i);
    };
    g.bench_function("gradlift_for_each_2_pieces", |b| b.iter(|| ours.for_each(2, &work)));
    g.bench_function("gradlift_for_each_8_pieces", |b| b.iter(|| ours.for_each(8, &work)));
    let rayon_pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    g.bench_function("rayon_join", |b| {
        b.iter(|| rayon_pool.install(|| rayon::join(|| work(0), || work(1))))
    });
    g.bench_function("rayon_par_iter_8", |b| {
        use rayon::prelude::*;
        b.iter(|| rayon_pool.install(|| (0..8usize).into_par_iter().for_each(work)))
    });
    g.finish();
}

/// `out = a + b` over n elements, inline (1 thread) or split over 2 threads
/// (unit_cost raised so the executor splits whatever n is).
fn add_program(n: usize, force_split: bool, pool: Arc<ThreadPool>) -> Executable {
    let ty = Type::new(DType::F32, [n]);
    let mut p = Program::new();
    p.add_param(None, ty.clone(), false);
    p.add_param(None, ty.clone(), false);
    p.add_result(ty.clone());
    let a = p.add_buffer(ty.clone(), BufferKind::Param { index: 0 });
    let b = p.add_buffer(ty.clone(), BufferKind::Param { index: 1 });
    let out = p.add_buffer(ty, BufferKind::Result { index: 0 });
    let cost = if force_split { INLINE_WORK } else { 1 };
    p.push(Step::Kernel {
        kernel: kernel("add", add_f32, n, 256, cost),
        inputs: vec![a, b],
        outputs: vec![out],
        scratch: vec![],
    });
    Executable::with_pool(p, pool).expect("valid")
}

fn split(c: &mut Criterion) {
    let mut g = c.benchmark_group("split");
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(2));
    let one = Arc::new(ThreadPool::new(1).unwrap());
    let two = Arc::new(ThreadPool::new(2).unwrap());
    for n in [1usize << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20] {
        let a = Tensor::rand_uniform(1, [n], -1.0, 1.0, DType::F32).unwrap();
        let b = Tensor::rand_uniform(2, [n], -1.0, 1.0, DType::F32).unwrap();
        g.throughput(Throughput::Elements(n as u64));
        for (name, exe) in [
            ("inline", add_program(n, false, Arc::clone(&one))),
            ("split_2t", add_program(n, true, Arc::clone(&two))),
        ] {
            let mut results = exe.new_results();
            g.bench_function(BenchmarkId::new(name, n), |bench| {
                bench.iter(|| exe.run(&mut [Arg::Ref(&a), Arg::Ref(&b)], &mut results).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, overhead, pool_round_trip, split);
criterion_main!(benches);
