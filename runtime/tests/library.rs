//! Every library routine against the reference interpreter on one-op
//! programs, bit for bit: every dtype each op accepts, size-0 and size-1
//! dims, negative pads, out-of-range (clamped) indices, duplicates, NaN.

mod common;

use std::sync::Arc;

use common::*;
use gradlift_ir::op::SDims;
use gradlift_ir::{DType, Dims, Op, PadAttrs, Tensor, Type};
use gradlift_runtime::{Arg, BufferKind, Executable, Program, Step, ThreadPool};

fn pool() -> Arc<ThreadPool> {
    Arc::new(ThreadPool::new(2).unwrap())
}

fn dims(v: &[usize]) -> Dims {
    v.iter().copied().collect()
}

const SHAPES: &[&[usize]] =
    &[&[], &[1], &[5], &[0], &[3, 4], &[1, 3], &[2, 0, 3], &[2, 3, 4], &[3, 1, 2, 2]];

#[test]
fn copy_ops_match() {
    let pool = pool();
    for dt in DType::ALL {
        for (s, shape) in SHAPES.iter().enumerate() {
            let x = sample(dt, shape, s as u64);
            let flat = [x.len()];
            check_exact(&Op::Reshape { shape: flat.as_slice().into() }, &[&x], &pool);
            check_exact(&Op::StopGradient, &[&x], &pool);
        }
    }
}

#[test]
fn reverse_matches() {
    let pool = pool();
    for dt in DType::ALL {
        for (s, shape) in SHAPES.iter().enumerate() {
            let x = sample(dt, shape, 10 + s as u64);
            let r = shape.len();
            // Every subset of axes.
            for mask in 0..(1usize << r) {
                let axes: Dims = (0..r).filter(|i| mask >> i & 1 == 1).collect();
                check_exact(&Op::Reverse { axes }, &[&x], &pool);
            }
        }
    }
}

#[test]
fn concatenate_matches() {
    let pool = pool();
    for dt in DType::ALL {
        for shape in [&[3usize][..], &[2, 3], &[2, 0, 3], &[1, 2, 3]] {
            for axis in 0..shape.len() {
                let part = |len: usize, seed: u64| {
                    let mut d = shape.to_vec();
                    d[axis] = len;
                    sample(dt, &d, seed)
                };
                let (a, b, c, z) = (part(2, 1), part(1, 2), part(3, 3), part(0, 4));
                let op = Op::Concatenate { axis };
                check_exact(&op, &[&a], &pool);
                check_exact(&op, &[&a, &b], &pool);
                check_exact(&op, &[&a, &z, &b, &c], &pool);
                check_exact(&op, &[&z, &z], &pool);
            }
        }
    }
}

fn pad_op(low: &[i64], high: &[i64], interior: &[usize]) -> Op {
    Op::Pad(Box::new(PadAttrs {
        low: low.iter().copied().collect::<SDims>(),
        high: high.iter().copied().collect::<SDims>(),
        interior: dims(interior),
    }))
}

#[test]
fn pad_matches_including_negative_and_interior() {
    let pool = pool();
    let one_dim: &[(i64, i64, usize)] = &[
        (0, 0, 0),
        (2, 1, 0),
        (-1, 0, 0),
        (0, -2, 0),
        (-2, -2, 0),
        (1, 2, 1),
        (-1, 3, 2),
        (-3, -1, 1),
        (3, -4, 2),
        (-5, 0, 0),
        (0, -5, 3),
    ];
    for dt in DType::ALL {
        let value = sample(dt, &[], 99);
        // Rank 0: pads to itself.
        check_exact(&pad_op(&[], &[], &[]), &[&sample(dt, &[], 1), &value], &pool);
        for n in [0usize, 1, 4] {
            let x = sample(dt, &[n], 2);
            for &(l, h, i) in one_dim {
                let size = l + h + n as i64 + i as i64 * (n as i64 - 1).max(0);
                if size >= 0 {
                    check_exact(&pad_op(&[l], &[h], &[i]), &[&x, &value], &pool);
                }
            }
        }
        for shape in [&[3usize, 4][..], &[2, 0], &[1, 5]] {
            let x = sample(dt, shape, 3);
            for &(l0, h0, i0) in one_dim {
                for &(l1, h1, i1) in &[(1i64, -1i64, 1usize), (-1, 2, 0), (0, 0, 2)] {
                    let ok = |l: i64, h: i64, i: usize, n: usize| {
                        l + h + n as i64 + i as i64 * (n as i64 - 1).max(0) >= 0
                    };
                    if ok(l0, h0, i0, shape[0]) && ok(l1, h1, i1, shape[1]) {
                        check_exact(&pad_op(&[l0, l1], &[h0, h1], &[i0, i1]), &[&x, &value], &pool);
                    }
                }
            }
        }
        let x = sample(dt, &[2, 3, 2], 4);
        check_exact(&pad_op(&[1, -1, 0], &[0, 2, -1], &[1, 0, 2]), &[&x, &value], &pool);
    }
}

fn index_tensor(dt: DType, d: &[usize], seed: u64) -> Tensor {
    // Values in [-20, 20): mostly out of range for small axes (clamped).
    sample(dt, d, seed)
}

#[test]
fn gather_matches_with_clamped_indices() {
    let pool = pool();
    for dt in DType::ALL {
        for (s, shape) in SHAPES.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
            let x = sample(dt, shape, 20 + s as u64);
            for axis in 0..shape.len() {
                for idt in [DType::I32, DType::I64] {
                    for idx_shape in [&[][..], &[3], &[2, 2], &[0]] {
                        if shape[axis] == 0 && idx_shape.iter().product::<usize>() > 0 {
                            continue; // the shape rule refuses indices into an empty axis
                        }
                        let idx = index_tensor(idt, idx_shape, 30 + s as u64);
                        check_exact(&Op::Gather { axis }, &[&x, &idx], &pool);
                    }
                }
            }
        }
    }
    // Small in-range indices too.
    let x = sample(DType::F32, &[4, 3], 5);
    let idx = Tensor::from_vec([5], vec![3i64, 0, 0, 2, -1]).unwrap();
    check_exact(&Op::Gather { axis: 0 }, &[&x, &idx], &pool);
}

#[test]
fn scatter_add_matches_with_duplicates_in_order() {
    let pool = pool();
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
        for (s, shape) in SHAPES.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
            let x = sample(dt, shape, 40 + s as u64);
            for axis in 0..shape.len() {
                for idt in [DType::I32, DType::I64] {
                    for idx_shape in [&[][..], &[4], &[2, 3], &[0]] {
                        if shape[axis] == 0 && idx_shape.iter().product::<usize>() > 0 {
                            continue;
                        }
                        let idx = index_tensor(idt, idx_shape, 50 + s as u64);
                        let mut ud: Vec<usize> = shape[..axis].to_vec();
                        ud.extend_from_slice(idx_shape);
                        ud.extend_from_slice(&shape[axis + 1..]);
                        let upd = sample(dt, &ud, 60 + s as u64);
                        check_exact(&Op::ScatterAdd { axis }, &[&x, &idx, &upd], &pool);
                    }
                }
            }
        }
    }
    // Float duplicates whose order shows in the rounding.
    let x = Tensor::from_vec([2], vec![1.0f32, 0.0]).unwrap();
    let idx = Tensor::from_vec([4], vec![0i32, 0, 5, 0]).unwrap();
    let upd = Tensor::from_vec([4], vec![1e8f32, -1e8, 3.0, 1.0]).unwrap();
    check_exact(&Op::ScatterAdd { axis: 0 }, &[&x, &idx, &upd], &pool);
}

#[test]
fn scatter_add_in_place_on_a_donated_parameter() {
    let ty = Type::new(DType::F64, [4, 2]);
    let ity = Type::new(DType::I32, [3]);
    let uty = Type::new(DType::F64, [3, 2]);
    let mut p = Program::new();
    p.add_param(Some("x"), ty.clone(), true);
    p.add_param(Some("i"), ity.clone(), false);
    p.add_param(Some("u"), uty.clone(), false);
    p.add_result(ty.clone());
    let x = p.add_buffer(ty.clone(), BufferKind::Param { index: 0 });
    let i = p.add_buffer(ity, BufferKind::Param { index: 1 });
    let u = p.add_buffer(uty, BufferKind::Param { index: 2 });
    let out = p.add_buffer(ty, BufferKind::Result { index: 0 });
    p.push(Step::Library { op: Op::ScatterAdd { axis: 0 }, inputs: vec![x, i, u], output: x });
    p.push(Step::Copy { from: x, to: out });
    let exe = Executable::with_pool(p, pool()).unwrap();
    let x0 = sample(DType::F64, &[4, 2], 1);
    let it = Tensor::from_vec([3], vec![1i32, 9, 1]).unwrap();
    let ut = sample(DType::F64, &[3, 2], 2);
    let want = interp_op(&Op::ScatterAdd { axis: 0 }, &[&x0, &it, &ut]);
    let mut xt = x0.clone();
    let mut results = exe.new_results();
    exe.run(&mut [Arg::Mut(&mut xt), Arg::Ref(&it), Arg::Ref(&ut)], &mut results).unwrap();
    assert_eq!(xt, want);
    assert_eq!(results[0], want);
}

#[test]
fn argmax_matches_first_max_and_nan() {
    let pool = pool();
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
        for (s, shape) in SHAPES.iter().enumerate() {
            let x = sample(dt, shape, 70 + s as u64);
            for axis in 0..shape.len() {
                if shape[axis] == 0 {
                    continue; // the shape rule refuses an empty axis
                }
                check_exact(&Op::Argmax { axis }, &[&x], &pool);
            }
        }
    }
    let nan = f32::NAN;
    let x = Tensor::from_vec([2, 4], vec![1.0f32, 3.0, 3.0, -0.0, 0.0, -0.0, nan, nan]).unwrap();
    check_exact(&Op::Argmax { axis: 1 }, &[&x], &pool);
    check_exact(&Op::Argmax { axis: 0 }, &[&x], &pool);
    let x = Tensor::from_vec([3], vec![nan, 5.0f32, nan]).unwrap();
    check_exact(&Op::Argmax { axis: 0 }, &[&x], &pool);
}

#[test]
fn library_ops_read_constants_and_temps() {
    // gather(constant table, indices computed into a temp by a copy).
    let table = Arc::new(sample(DType::F32, &[5, 2], 3));
    let ity = Type::new(DType::I64, [4]);
    let out_ty = Type::new(DType::F32, [4, 2]);
    let mut p = Program::new();
    p.add_param(Some("i"), ity.clone(), false);
    p.add_result(out_ty.clone());
    p.arena_bytes = 64 + 32;
    let i = p.add_buffer(ity.clone(), BufferKind::Param { index: 0 });
    let t = p.add_buffer(ity, BufferKind::Temp { offset: 64 });
    let c = p.add_buffer(table.ty(), BufferKind::Constant(Arc::clone(&table)));
    let out = p.add_buffer(out_ty, BufferKind::Result { index: 0 });
    p.push(Step::Copy { from: i, to: t });
    p.push(Step::Library { op: Op::Gather { axis: 0 }, inputs: vec![c, t], output: out });
    let exe = Executable::with_pool(p, pool()).unwrap();
    let it = Tensor::from_vec([4], vec![4i64, -3, 2, 100]).unwrap();
    let got = exe.call(&[&it]).unwrap().remove(0);
    assert_eq!(got, interp_op(&Op::Gather { axis: 0 }, &[&table, &it]));
}
