//! Speed of the CLIF math kernels: an f32x4 (f64x2) JIT loop over 4096
//! elements in cache, against a Rust loop calling std on the same data.
//!
//! `cargo bench -p gradlift-compiler --bench math` (add a filter such as
//! `-- exp` for one function). Reported time is per 4096 elements, as the
//! thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: on a
//! shared machine, time spent descheduled would otherwise dominate.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{
    black_box, criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use gradlift_compiler::codegen::math::harness::{Elem, Kernel, Lanes};
use gradlift_compiler::codegen::math::MathFn;
use gradlift_compiler::codegen::math::{batch_index, batch_symbols, BatchElem, BatchFn};
use gradlift_ir::DType;

const N: usize = 4096;

/// Typical argument ranges: (x range, y range for two-argument functions).
fn ranges(f: MathFn) -> ((f64, f64), (f64, f64)) {
    match f {
        MathFn::Exp | MathFn::Expm1 | MathFn::Tanh | MathFn::Logistic => {
            ((-10.0, 10.0), (0.0, 0.0))
        }
        MathFn::Log => ((1e-3, 100.0), (0.0, 0.0)),
        MathFn::Log1p => ((-0.9, 10.0), (0.0, 0.0)),
        MathFn::Sin | MathFn::Cos => ((-10.0, 10.0), (0.0, 0.0)),
        MathFn::Erf => ((-4.0, 4.0), (0.0, 0.0)),
        MathFn::Pow => ((1e-2, 10.0), (-5.0, 5.0)),
        MathFn::Round => ((-1000.0, 1000.0), (0.0, 0.0)),
        MathFn::Rem => ((-100.0, 100.0), (0.5, 10.0)),
    }
}

fn data(lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..N)
        .map(|_| {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

fn std32(f: MathFn, x: f32, y: f32) -> f32 {
    match f {
        MathFn::Exp => x.exp(),
        MathFn::Log => x.ln(),
        MathFn::Log1p => x.ln_1p(),
        MathFn::Expm1 => x.exp_m1(),
        MathFn::Tanh => x.tanh(),
        MathFn::Logistic => 1.0 / (1.0 + (-x).exp()),
        MathFn::Sin => x.sin(),
        MathFn::Cos => x.cos(),
        MathFn::Pow => x.powf(y),
        MathFn::Round => x.round(),
        MathFn::Rem => x % y,
        MathFn::Erf => unreachable!("std has no erf"),
    }
}

fn std64(f: MathFn, x: f64, y: f64) -> f64 {
    match f {
        MathFn::Exp => x.exp(),
        MathFn::Log => x.ln(),
        MathFn::Log1p => x.ln_1p(),
        MathFn::Expm1 => x.exp_m1(),
        MathFn::Tanh => x.tanh(),
        MathFn::Logistic => 1.0 / (1.0 + (-x).exp()),
        MathFn::Sin => x.sin(),
        MathFn::Cos => x.cos(),
        MathFn::Pow => x.powf(y),
        MathFn::Round => x.round(),
        MathFn::Rem => x % y,
        MathFn::Erf => unreachable!("std has no erf"),
    }
}

/// CPU time of the calling thread, in nanoseconds.
struct ThreadCpuTime;

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

fn thread_ns() -> u64 {
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: valid pointer to a timespec; Linux clock id.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.sec as u64 * 1_000_000_000 + ts.nsec as u64
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_ns() - i
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                *n as f64
            }
        };
        for v in values {
            *v /= n;
        }
        "ns/elem"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// `batch` on a copy of `x` (the copy is part of the time, as kernels
/// store their arguments to the buffer).
fn bench_batch<T: BatchElem>(
    g: &mut BenchmarkGroup<'_, ThreadCpuTime>,
    id: &str,
    batch: BatchFn,
    x: &[T],
    out: &mut [T],
) {
    g.bench_function(BenchmarkId::new(id, N), |b| {
        b.iter(|| {
            out.copy_from_slice(x);
            batch.apply(out);
            black_box(&mut *out);
        })
    });
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    for f in MathFn::ALL {
        // Rust std has no erf (unstable `float_erf`): JIT only.
        let with_std = f != MathFn::Erf;
        let ((xl, xh), (yl, yh)) = ranges(f);
        let x64 = data(xl, xh, 1);
        let y64 = data(yl, yh, 2);
        let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
        let y32: Vec<f32> = y64.iter().map(|&v| v as f32).collect();
        let name = format!("{f:?}").to_lowercase();

        let mut g = c.benchmark_group(format!("math/{name}"));
        g.throughput(Throughput::Elements(N as u64));
        let k32 = Kernel::compile(f, Elem::F32, Lanes::Vector).expect("compile f32");
        let mut o32 = vec![0f32; N];
        g.bench_function(BenchmarkId::new("f32x4_jit", N), |b| {
            b.iter(|| k32.run_f32(&x32, &y32, black_box(&mut o32)))
        });
        if let Some(i) = batch_index(f, DType::F32) {
            // The batch function kernels stage the function through (AVX-512
            // or AVX2, same bits), in place on a copy of the inputs.
            bench_batch(&mut g, "f32_batch", batch_symbols()[i], &x32, &mut o32);
        }
        if with_std {
            g.bench_function(BenchmarkId::new("f32_std", N), |b| {
                b.iter(|| {
                    for i in 0..N {
                        o32[i] = std32(f, x32[i], y32[i]);
                    }
                    black_box(&mut o32);
                })
            });
        }
        let k64 = Kernel::compile(f, Elem::F64, Lanes::Vector).expect("compile f64");
        let mut o64 = vec![0f64; N];
        g.bench_function(BenchmarkId::new("f64x2_jit", N), |b| {
            b.iter(|| k64.run_f64(&x64, &y64, black_box(&mut o64)))
        });
        if let Some(i) = batch_index(f, DType::F64) {
            bench_batch(&mut g, "f64_batch", batch_symbols()[i], &x64, &mut o64);
        }
        if with_std {
            g.bench_function(BenchmarkId::new("f64_std", N), |b| {
                b.iter(|| {
                    for i in 0..N {
                        o64[i] = std64(f, x64[i], y64[i]);
                    }
                    black_box(&mut o64);
                })
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime).sample_size(30).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
