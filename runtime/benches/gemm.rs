//! sgemm through the executor (a one-step `dot_general` program), in
//! GFLOP/s (criterion's "elem/s" counts flops here), on 1 and 2 threads;
//! and the same shapes through one raw `gemm` call and through
//! `matrixmultiply` on one thread, the crate we compared `gemm` against.
//!
//! `cargo bench -p gradlift-runtime --bench gemm`; compare with numpy in
//! the same session: `python runtime/benches/numpy_sgemm.py`.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gradlift_ir::{DType, DotDims, Op, Tensor, Type};
use gradlift_runtime::{Arg, BufferKind, Executable, Program, Step, ThreadPool};

fn matmul(m: usize, k: usize, n: usize, pool: Arc<ThreadPool>) -> Executable {
    let (a, b, c) = (
        Type::new(DType::F32, [m, k]),
        Type::new(DType::F32, [k, n]),
        Type::new(DType::F32, [m, n]),
    );
    let mut p = Program::new();
    p.add_param(Some("a"), a.clone(), false);
    p.add_param(Some("b"), b.clone(), false);
    p.add_result(c.clone());
    let ab = p.add_buffer(a, BufferKind::Param { index: 0 });
    let bb = p.add_buffer(b, BufferKind::Param { index: 1 });
    let cb = p.add_buffer(c, BufferKind::Result { index: 0 });
    let dims = DotDims {
        lhs_batch: Default::default(),
        rhs_batch: Default::default(),
        lhs_contract: [1].into_iter().collect(),
        rhs_contract: [0].into_iter().collect(),
    };
    p.push(Step::Library { op: Op::DotGeneral(Box::new(dims)), inputs: vec![ab, bb], output: cb });
    Executable::with_pool(p, pool).expect("valid program")
}

fn bench_shape(c: &mut Criterion, name: &str, (m, k, n): (usize, usize, usize), samples: usize) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements((2 * m * k * n) as u64));
    g.sample_size(samples);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(if m * n * k > 1 << 32 { 20 } else { 4 }));
    let a = Tensor::rand_uniform(1, [m, k], -1.0, 1.0, DType::F32).unwrap();
    let b = Tensor::rand_uniform(2, [k, n], -1.0, 1.0, DType::F32).unwrap();
    for threads in [1, 2] {
        let exe = matmul(m, k, n, Arc::new(ThreadPool::new(threads).unwrap()));
        let mut results = exe.new_results();
        g.bench_function(BenchmarkId::new("gradlift", format!("{threads}t")), |bench| {
            bench.iter(|| exe.run(&mut [Arg::Ref(&a), Arg::Ref(&b)], &mut results).unwrap())
        });
    }
    let (av, bv) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
    let mut cv = vec![0.0f32; m * n];
    // One plain single-threaded `gemm` call: what the executor's pieces and
    // bookkeeping cost on top.
    g.bench_function(BenchmarkId::new("gemm_raw", "1t"), |bench| {
        bench.iter(|| unsafe {
            gemm::gemm(
                m,
                n,
                k,
                cv.as_mut_ptr(),
                1,
                n as isize,
                false,
                av.as_ptr(),
                1,
                k as isize,
                bv.as_ptr(),
                1,
                n as isize,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        })
    });
    g.bench_function(BenchmarkId::new("matrixmultiply", "1t"), |bench| {
        bench.iter(|| unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                av.as_ptr(),
                k as isize,
                1,
                bv.as_ptr(),
                n as isize,
                1,
                0.0,
                cv.as_mut_ptr(),
                n as isize,
                1,
            )
        })
    });
    g.finish();
}

fn gemm(c: &mut Criterion) {
    bench_shape(c, "sgemm_100x100x50", (100, 100, 50), 50);
    bench_shape(c, "sgemm_256x784x512", (256, 784, 512), 30);
    bench_shape(c, "sgemm_1024", (1024, 1024, 1024), 20);
    bench_shape(c, "sgemm_4096", (4096, 4096, 4096), 10);
}

criterion_group!(benches, gemm);
criterion_main!(benches);
