//! A steady-state `run` allocates nothing: a counting global allocator
//! watches every thread (pool workers included) over many calls of
//! programs using kernels (inline and split over the pool), runtime-provided
//! scratch, every library routine and copies.
//!
//! One test function only, so the test harness allocates nothing while it
//! counts.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use gradlift_ir::op::SDims;
use gradlift_ir::{DType, DotDims, Op, PadAttrs, Tensor, Type};
use gradlift_runtime::{Arg, BufferKind, Executable, Program, Step, ThreadPool};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.load(Ordering::SeqCst)
}

fn ty(dt: DType, d: &[usize]) -> Type {
    Type::new(dt, d)
}

/// x: f32[n], idx: i64[4], w: f32[n] (donated). Results: every library op
/// plus kernels, some through temps.
fn big_program(n: usize) -> Program {
    let f = |d: &[usize]| ty(DType::F32, d);
    let mut p = Program::new();
    p.add_param(Some("x"), f(&[n]), false);
    p.add_param(Some("idx"), ty(DType::I64, &[4]), false);
    p.add_param(Some("w"), f(&[n]), true);
    let x = p.add_buffer(f(&[n]), BufferKind::Param { index: 0 });
    let idx = p.add_buffer(ty(DType::I64, &[4]), BufferKind::Param { index: 1 });
    let w = p.add_buffer(f(&[n]), BufferKind::Param { index: 2 });
    let nb = p.add_buffer(
        Type::scalar(DType::I64),
        BufferKind::Constant(Arc::new(Tensor::scalar(n as i64))),
    );
    let zero = p.add_buffer(
        Type::scalar(DType::F32),
        BufferKind::Constant(Arc::new(Tensor::scalar(0.0f32))),
    );
    let bytes = 4 * n;
    let t0 = p.add_buffer(f(&[n]), BufferKind::Temp { offset: 0 });
    let t1 = p.add_buffer(f(&[n]), BufferKind::Temp { offset: bytes.next_multiple_of(64) });
    p.arena_bytes = 2 * bytes.next_multiple_of(64);
    let result = |p: &mut Program, t: Type| {
        let i = p.add_result(t.clone());
        p.add_buffer(t, BufferKind::Result { index: i })
    };
    let r_sum = result(&mut p, Type::scalar(DType::F32));
    let r_rev = result(&mut p, f(&[n]));
    let m = n / 4;
    let r_mat = result(&mut p, f(&[4, m]));
    let r_pad = result(&mut p, f(&[4, m + 1]));
    let r_cat = result(&mut p, f(&[4, 2 * m]));
    let r_gather = result(&mut p, f(&[4, m]));
    let r_scatter = result(&mut p, f(&[4, m]));
    let r_arg = result(&mut p, ty(DType::I64, &[m]));
    let r_idot = result(&mut p, ty(DType::I64, &[4, 4]));
    let chunks = n.div_ceil(CHUNK);
    // Kernels: add (split over the pool when n is big), affine, chunked sum
    // with runtime scratch, an in-place update of the donated w.
    let k = |name: &str, main, finish, scratch: Vec<usize>, units: usize| {
        kernel(name, main, units, 64, if name == "sum" { CHUNK } else { 1 }, scratch, finish)
    };
    p.push(Step::Kernel {
        kernel: k("add", add_f32, None, vec![], n),
        inputs: vec![x, w],
        outputs: vec![t0],
        scratch: vec![],
    });
    p.push(Step::Kernel {
        kernel: k("affine", affine_f32, None, vec![], n),
        inputs: vec![t0],
        outputs: vec![w],
        scratch: vec![],
    });
    p.push(Step::Kernel {
        kernel: k("sum", chunk_sum_main, Some(chunk_sum_finish), vec![4 * chunks], chunks),
        inputs: vec![w, nb],
        outputs: vec![r_sum],
        scratch: vec![],
    });
    let lib = |p: &mut Program, op: Op, inputs: Vec<usize>, output: usize| {
        p.push(Step::Library { op, inputs, output })
    };
    lib(&mut p, Op::Reverse { axes: [0].into_iter().collect() }, vec![w], t1);
    p.push(Step::Copy { from: t1, to: r_rev });
    lib(&mut p, Op::Reshape { shape: [4, m].into() }, vec![x], r_mat);
    lib(
        &mut p,
        Op::Pad(Box::new(PadAttrs {
            low: SDims::from_slice(&[-1, 1]),
            high: SDims::from_slice(&[1, 0]),
            interior: [0, 0].into_iter().collect(),
        })),
        vec![r_mat, zero],
        r_pad,
    );
    lib(&mut p, Op::Concatenate { axis: 1 }, vec![r_mat, r_mat], r_cat);
    lib(&mut p, Op::Gather { axis: 0 }, vec![r_mat, idx], r_gather);
    lib(&mut p, Op::ScatterAdd { axis: 0 }, vec![r_mat, idx, r_gather], r_scatter);
    lib(&mut p, Op::Argmax { axis: 0 }, vec![r_scatter], r_arg);
    let d = |lc: usize, rc: usize| {
        Op::DotGeneral(Box::new(DotDims {
            lhs_batch: Default::default(),
            rhs_batch: Default::default(),
            lhs_contract: [lc].into_iter().collect(),
            rhs_contract: [rc].into_iter().collect(),
        }))
    };
    // An integer product (reads the argmax through gather-free reshapes).
    let ai = p.add_buffer(ty(DType::I64, &[4, m / 4]), BufferKind::Temp { offset: 0 });
    lib(&mut p, Op::Reshape { shape: [4, m / 4].into() }, vec![r_arg], ai);
    lib(&mut p, d(1, 1), vec![ai, ai], r_idot);
    p
}

fn f32_dot_program(m: usize, k: usize, n: usize) -> Program {
    let mut p = Program::new();
    let (a, b, c) = (ty(DType::F32, &[m, k]), ty(DType::F32, &[k, n]), ty(DType::F32, &[m, n]));
    p.add_param(None, a.clone(), false);
    p.add_param(None, b.clone(), false);
    p.add_result(c.clone());
    let ab = p.add_buffer(a, BufferKind::Param { index: 0 });
    let bb = p.add_buffer(b, BufferKind::Param { index: 1 });
    let cb = p.add_buffer(c, BufferKind::Result { index: 0 });
    p.push(Step::Library {
        op: Op::DotGeneral(Box::new(DotDims {
            lhs_batch: Default::default(),
            rhs_batch: Default::default(),
            lhs_contract: [1].into_iter().collect(),
            rhs_contract: [0].into_iter().collect(),
        })),
        inputs: vec![ab, bb],
        output: cb,
    });
    p
}

/// Lets freshly spawned pool workers finish starting up (a new thread
/// allocates a little for itself, once).
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(50));
}

#[test]
fn steady_state_run_allocates_nothing() {
    for (threads, n) in [(1, 4096), (2, 1 << 18)] {
        let pool = Arc::new(ThreadPool::new(threads).unwrap());
        let exe = Executable::with_pool(big_program(n), Arc::clone(&pool)).unwrap();
        let x = sample_finite(DType::F32, &[n], 1);
        let idx = Tensor::from_vec([4], vec![3i64, -1, 9, 0]).unwrap();
        let mut w = sample_finite(DType::F32, &[n], 2);
        let mut results = exe.new_results();
        for _ in 0..5 {
            exe.run(&mut [Arg::Ref(&x), Arg::Ref(&idx), Arg::Mut(&mut w)], &mut results).unwrap();
        }
        settle();
        let before = allocs();
        for _ in 0..200 {
            exe.run(&mut [Arg::Ref(&x), Arg::Ref(&idx), Arg::Mut(&mut w)], &mut results).unwrap();
        }
        let during = allocs() - before;
        assert_eq!(during, 0, "{threads} thread(s): {during} allocations in 200 calls");
    }

    // The tiny 3-kernel step of a training loop (the per-call overhead case).
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    let mut p = Program::new();
    let t = ty(DType::F32, &[8]);
    p.add_param(None, t.clone(), true);
    p.add_result(Type::scalar(DType::F32));
    let w = p.add_buffer(t.clone(), BufferKind::Param { index: 0 });
    let nb = p
        .add_buffer(Type::scalar(DType::I64), BufferKind::Constant(Arc::new(Tensor::scalar(8i64))));
    let tmp = p.add_buffer(t.clone(), BufferKind::Temp { offset: 0 });
    let out = p.add_buffer(Type::scalar(DType::F32), BufferKind::Result { index: 0 });
    p.arena_bytes = 64;
    p.push(Step::Kernel {
        kernel: kernel("a", affine_f32, 8, 8, 1, vec![], None),
        inputs: vec![w],
        outputs: vec![tmp],
        scratch: vec![],
    });
    p.push(Step::Kernel {
        kernel: kernel("b", add_f32, 8, 8, 1, vec![], None),
        inputs: vec![tmp, w],
        outputs: vec![w],
        scratch: vec![],
    });
    p.push(Step::Kernel {
        kernel: kernel("c", chunk_sum_main, 1, 1, 8, vec![4], Some(chunk_sum_finish)),
        inputs: vec![w, nb],
        outputs: vec![out],
        scratch: vec![],
    });
    let exe = Executable::with_pool(p, pool).unwrap();
    let mut wt = Tensor::zeros(DType::F32, [8]).unwrap();
    let mut results = exe.new_results();
    exe.run(&mut [Arg::Mut(&mut wt)], &mut results).unwrap();
    settle();
    let before = allocs();
    for _ in 0..10_000 {
        exe.run(&mut [Arg::Mut(&mut wt)], &mut results).unwrap();
    }
    assert_eq!(allocs() - before, 0);

    // f32/f64 dot_general: the `gemm` crate allocates its packing buffers in
    // each call; count them so a change shows (documented in the crate docs).
    let exe =
        Executable::with_pool(f32_dot_program(64, 64, 64), Arc::new(ThreadPool::new(1).unwrap()))
            .unwrap();
    let a = sample_finite(DType::F32, &[64, 64], 3);
    let mut results = exe.new_results();
    exe.run(&mut [Arg::Ref(&a), Arg::Ref(&a)], &mut results).unwrap();
    let before = allocs();
    for _ in 0..100 {
        exe.run(&mut [Arg::Ref(&a), Arg::Ref(&a)], &mut results).unwrap();
    }
    let per_call = (allocs() - before) as f64 / 100.0;
    eprintln!("gemm allocations per 64^3 f32 dot_general call: {per_call}");
    assert!(per_call <= 4.0, "{per_call} allocations per GEMM call");
}
