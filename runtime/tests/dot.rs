//! dot_general through GEMM against the interpreter, for many dimension
//! layouts: plain, transposed, batched (batch dims anywhere), several
//! contracting dims in any order, free dims split around contracting ones
//! (packed), transposed operands copied before the product, vectors, outer
//! products, size-0 and size-1 dims, and products big enough to be cut into
//! pieces, which must give the same bits on 1, 2 and 8 threads.

mod common;

use std::sync::Arc;

use common::*;
use gradlift_ir::{DType, DotDims, Op, Tensor};
use gradlift_runtime::ThreadPool;

fn dot(lb: &[usize], rb: &[usize], lc: &[usize], rc: &[usize]) -> Op {
    Op::DotGeneral(Box::new(DotDims {
        lhs_batch: lb.iter().copied().collect(),
        rhs_batch: rb.iter().copied().collect(),
        lhs_contract: lc.iter().copied().collect(),
        rhs_contract: rc.iter().copied().collect(),
    }))
}

/// (lhs dims, rhs dims, op)
fn cases() -> Vec<(Vec<usize>, Vec<usize>, Op)> {
    vec![
        // plain, transposed lhs, transposed rhs, both
        (vec![5, 7], vec![7, 3], dot(&[], &[], &[1], &[0])),
        (vec![7, 5], vec![7, 3], dot(&[], &[], &[0], &[0])),
        (vec![5, 7], vec![3, 7], dot(&[], &[], &[1], &[1])),
        (vec![7, 5], vec![3, 7], dot(&[], &[], &[0], &[1])),
        // vectors, outer product, scalars
        (vec![9], vec![9], dot(&[], &[], &[0], &[0])),
        (vec![4, 9], vec![9], dot(&[], &[], &[1], &[0])),
        (vec![9], vec![9, 4], dot(&[], &[], &[0], &[0])),
        (vec![4], vec![6], dot(&[], &[], &[], &[])),
        (vec![], vec![], dot(&[], &[], &[], &[])),
        (vec![], vec![3, 2], dot(&[], &[], &[], &[])),
        // batched: leading, middle, trailing batch dims, two batch dims
        (vec![2, 5, 7], vec![2, 7, 3], dot(&[0], &[0], &[2], &[1])),
        (vec![5, 2, 7], vec![7, 2, 3], dot(&[1], &[1], &[2], &[0])),
        (vec![5, 7, 2], vec![3, 7, 2], dot(&[2], &[2], &[1], &[1])),
        (vec![2, 3, 4, 5], vec![3, 2, 5, 6], dot(&[0, 1], &[1, 0], &[3], &[2])),
        (vec![3, 4], vec![3, 4], dot(&[0], &[0], &[1], &[1])),
        // several contracting dims, in order and swapped (packed)
        (vec![4, 3, 5], vec![3, 5, 6], dot(&[], &[], &[1, 2], &[0, 1])),
        (vec![4, 3, 5], vec![5, 3, 6], dot(&[], &[], &[2, 1], &[0, 1])),
        (vec![3, 4, 5], vec![6, 5, 3], dot(&[], &[], &[0, 2], &[2, 1])),
        // free dims around a contracting dim (lhs packed), rhs free dims split
        (vec![3, 7, 4], vec![7, 5], dot(&[], &[], &[1], &[0])),
        (vec![7, 5], vec![2, 7, 3], dot(&[], &[], &[0], &[1])),
        (vec![2, 3, 7, 4], vec![7, 2, 5, 2], dot(&[0], &[1], &[2], &[0])),
        // size-1 and size-0 dims
        (vec![1, 7], vec![7, 1], dot(&[], &[], &[1], &[0])),
        (vec![5, 1, 7], vec![7, 1, 3], dot(&[], &[], &[2], &[0])),
        (vec![0, 7], vec![7, 3], dot(&[], &[], &[1], &[0])),
        (vec![5, 0], vec![0, 3], dot(&[], &[], &[1], &[0])),
        (vec![5, 7], vec![7, 0], dot(&[], &[], &[1], &[0])),
        (vec![0, 5, 7], vec![0, 7, 3], dot(&[0], &[0], &[2], &[1])),
        (vec![2, 5, 0], vec![2, 0, 3], dot(&[0], &[0], &[2], &[1])),
        // pieces: columns, rows, batches (+ a packed operand)
        (vec![96, 200], vec![200, 700], dot(&[], &[], &[1], &[0])),
        (vec![700, 64], vec![64, 100], dot(&[], &[], &[1], &[0])),
        (vec![64, 600], vec![100, 64], dot(&[], &[], &[0], &[1])),
        (vec![6, 64, 80], vec![6, 80, 96], dot(&[0], &[0], &[2], &[1])),
        (vec![64, 6, 80], vec![6, 96, 80], dot(&[1], &[0], &[2], &[2])),
        (vec![20, 30, 40], vec![30, 600], dot(&[], &[], &[1], &[0])),
        // tiles: bands of rows and of columns (2 x 2), plain and transposed
        (vec![700, 40], vec![40, 600], dot(&[], &[], &[1], &[0])),
        (vec![40, 700], vec![600, 40], dot(&[], &[], &[0], &[1])),
        // a transposed rhs whose columns lie 1 KiB (f32) or 2 KiB (f64)
        // apart goes through a transposed copy: partial tiles and bands,
        // batches, bands of columns (each piece copying its own) and 2 x 2
        // tiles of pieces (copied before the product)
        (vec![70, 256], vec![130, 256], dot(&[], &[], &[1], &[1])),
        (vec![64, 256], vec![600, 256], dot(&[], &[], &[1], &[1])),
        (vec![2, 40, 256], vec![2, 100, 256], dot(&[0], &[0], &[2], &[2])),
        (vec![256, 520], vec![520, 256], dot(&[], &[], &[0], &[1])),
    ]
}

/// The float error bound of a dot product of length k: |got - exact| <=
/// 2 (k + 2) eps sum|a||b| (plus underflow slack); `exact` and the bound
/// are computed in f64 by the interpreter.
fn assert_close(op: &Op, l: &Tensor, r: &Tensor, got: &Tensor, k: usize) {
    let abs = |t: &Tensor| {
        Tensor::from_vec(t.dims(), t.to_f64_vec().iter().map(|x| x.abs()).collect()).unwrap()
    };
    let exact = interp_op(op, &[&l.cast(DType::F64), &r.cast(DType::F64)]).to_f64_vec();
    let mag = interp_op(op, &[&abs(l), &abs(r)]).to_f64_vec();
    let eps = if got.dtype() == DType::F32 { f32::EPSILON as f64 } else { f64::EPSILON };
    let g = got.to_f64_vec();
    assert_eq!(g.len(), exact.len());
    for i in 0..g.len() {
        let bound = 2.0 * (k as f64 + 2.0) * eps * mag[i] + 1e-30;
        assert!(
            (g[i] - exact[i]).abs() <= bound,
            "{op:?} {} x {}: element {i}: got {} exact {} bound {bound}",
            l.ty(),
            r.ty(),
            g[i],
            exact[i]
        );
    }
}

fn contract_len(l: &Tensor, op: &Op) -> usize {
    match op {
        Op::DotGeneral(d) => d.lhs_contract.iter().map(|&a| l.dims()[a]).product(),
        _ => unreachable!(),
    }
}

#[test]
fn dot_general_matches_the_interpreter_in_every_layout() {
    let pools: Vec<Arc<ThreadPool>> =
        [1, 2, 8].iter().map(|&t| Arc::new(ThreadPool::new(t).unwrap())).collect();
    for (c, (ld, rd, op)) in cases().into_iter().enumerate() {
        for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
            let l = sample_finite(dt, &ld, 100 + c as u64);
            let r = sample_finite(dt, &rd, 200 + c as u64);
            let mut runs = Vec::new();
            for pool in &pools {
                for place in [Placement::Direct, Placement::ViaTemp { offset: 64 }] {
                    runs.push(run_op(&op, &[&l, &r], pool, place));
                }
            }
            for (i, run) in runs.iter().enumerate() {
                assert!(run == &runs[0], "case {c} {dt}: run {i} differs from the 1-thread run");
            }
            if dt.is_float() {
                assert_close(&op, &l, &r, &runs[0], contract_len(&l, &op));
            } else {
                let want = interp_op(&op, &[&l, &r]);
                assert!(runs[0] == want, "case {c} {dt}: {} vs {}", runs[0], want);
            }
        }
    }
}

#[test]
fn integer_products_wrap() {
    let l = Tensor::from_vec([1, 2], vec![i32::MAX, 3]).unwrap();
    let r = Tensor::from_vec([2, 1], vec![2i32, i32::MAX]).unwrap();
    let pool = Arc::new(ThreadPool::new(1).unwrap());
    check_exact(&dot(&[], &[], &[1], &[0]), &[&l, &r], &pool);
}

#[test]
fn exact_small_integers_in_floats_are_exact() {
    // Small integer values: every partial sum is exact in f32, so GEMM and
    // the interpreter agree bit for bit whatever the order.
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    for (c, (ld, rd, op)) in cases().into_iter().enumerate() {
        let l = sample_finite(DType::I32, &ld, c as u64).cast(DType::F32);
        let r = sample_finite(DType::I32, &rd, 50 + c as u64).cast(DType::F32);
        check_exact(&op, &[&l, &r], &pool);
    }
}
