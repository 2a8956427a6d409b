//! Hand-derived checks of the interpreter's tricky semantic points (each
//! expected value is worked out in a comment), its argument validation,
//! and its memory and stack behaviour on long chains.

use std::sync::Arc;

use gradlift_ir::interp::{eval_function, eval_function_with_stats, eval_module};
use gradlift_ir::{
    BinaryOp, CompareOp, DType, Data, Dims, DotDims, Function, IrError, Module, Op, PadAttrs,
    ReduceKind, Shape, Tensor, Type, UnaryOp,
};

// ------------------------------------------------------------------ helpers

fn f32s(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::new(shape, Data::F32(v.to_vec())).unwrap()
}

fn f64s(shape: &[usize], v: &[f64]) -> Tensor {
    Tensor::new(shape, Data::F64(v.to_vec())).unwrap()
}

fn i32s(shape: &[usize], v: &[i32]) -> Tensor {
    Tensor::new(shape, Data::I32(v.to_vec())).unwrap()
}

fn i64s(shape: &[usize], v: &[i64]) -> Tensor {
    Tensor::new(shape, Data::I64(v.to_vec())).unwrap()
}

fn dims(d: &[usize]) -> Dims {
    d.iter().copied().collect()
}

/// Evaluates `op` applied to `inputs` (one parameter each).
fn run(op: Op, inputs: &[Tensor]) -> Tensor {
    let mut f = Function::new("t");
    let params: Vec<_> = inputs.iter().map(|t| f.add_param(None, t.ty()).unwrap()).collect();
    let v = f.push(op, &params, None).unwrap();
    f.set_results(vec![v]).unwrap();
    eval_function(&f, inputs).unwrap().remove(0)
}

fn unary(u: UnaryOp, x: Tensor) -> Tensor {
    run(Op::Unary(u), &[x])
}

fn binary(b: BinaryOp, x: Tensor, y: Tensor) -> Tensor {
    run(Op::Binary(b), &[x, y])
}

fn as_f32(t: &Tensor) -> &[f32] {
    match t.data() {
        Data::F32(v) => v,
        d => panic!("expected f32, got {}", d.dtype()),
    }
}

fn as_i32(t: &Tensor) -> &[i32] {
    match t.data() {
        Data::I32(v) => v,
        d => panic!("expected i32, got {}", d.dtype()),
    }
}

fn as_i64(t: &Tensor) -> &[i64] {
    match t.data() {
        Data::I64(v) => v,
        d => panic!("expected i64, got {}", d.dtype()),
    }
}

fn as_bool(t: &Tensor) -> &[bool] {
    match t.data() {
        Data::Bool(v) => v,
        d => panic!("expected bool, got {}", d.dtype()),
    }
}

/// Bitwise equality for floats, so -0.0 and 0.0 differ.
fn assert_bits(got: &[f32], want: &[f32]) {
    let g: Vec<u32> = got.iter().map(|x| x.to_bits()).collect();
    let w: Vec<u32> = want.iter().map(|x| x.to_bits()).collect();
    assert_eq!(g, w, "got {got:?}, want {want:?}");
}

// ------------------------------------------------------------------ elementwise

#[test]
fn round_is_half_away_from_zero() {
    // 2.5 -> 3 and -2.5 -> -3 (numpy's half-to-even would give 2 and -2);
    // 0.49999997 is the float just below 0.5 and must not round up;
    // -0.3 rounds to -0.
    let x = f32s(&[8], &[2.5, -2.5, 0.5, -0.5, 1.5, 0.49999997, -0.3, 3.7]);
    let r = unary(UnaryOp::Round, x);
    assert_bits(as_f32(&r), &[3.0, -3.0, 1.0, -1.0, 2.0, 0.0, -0.0, 4.0]);
}

#[test]
fn floor_ceil_keep_signed_zero() {
    // ceil(-0.5) = -0, floor(0.5) = +0.
    let x = f32s(&[2], &[-0.5, 0.5]);
    assert_bits(as_f32(&unary(UnaryOp::Ceil, x.clone())), &[-0.0, 1.0]);
    assert_bits(as_f32(&unary(UnaryOp::Floor, x)), &[-1.0, 0.0]);
}

#[test]
fn sign_keeps_zeros_and_nan() {
    let x = f32s(&[5], &[-0.0, 0.0, -3.0, 1e-45, f32::NAN]);
    let s = unary(UnaryOp::Sign, x);
    let s = as_f32(&s);
    assert_bits(&s[..4], &[-0.0, 0.0, -1.0, 1.0]);
    assert!(s[4].is_nan());
    let i = unary(UnaryOp::Sign, i32s(&[3], &[-7, 0, i32::MIN]));
    assert_eq!(as_i32(&i), &[-1, 0, -1]);
}

#[test]
fn logistic_saturates_without_nan() {
    // exp(-x) overflows to inf for x = -200: 1 / (1 + inf) = 0 exactly;
    // it underflows to 0 for x = 200: 1 / (1 + 0) = 1 exactly.
    let x = f32s(&[5], &[f32::NEG_INFINITY, -200.0, 0.0, 200.0, f32::INFINITY]);
    let y = unary(UnaryOp::Logistic, x);
    assert_bits(as_f32(&y), &[0.0, 0.0, 0.5, 1.0, 1.0]);
}

#[test]
fn rem_has_the_sign_of_the_dividend() {
    // fmod: -7 rem 3 = -1, 7 rem -3 = 1, -0 rem 1 = -0, 5.5 rem 2 = 1.5.
    let r = binary(
        BinaryOp::Rem,
        f32s(&[4], &[-7.0, 7.0, -0.0, 5.5]),
        f32s(&[4], &[3.0, -3.0, 1.0, 2.0]),
    );
    assert_bits(as_f32(&r), &[-1.0, 1.0, -0.0, 1.5]);
    // Integers: same signs; x rem 0 = x; MIN rem -1 = 0 (XLA).
    let r = binary(
        BinaryOp::Rem,
        i32s(&[5], &[-7, 7, 5, i32::MIN, -5]),
        i32s(&[5], &[3, -3, 0, -1, 0]),
    );
    assert_eq!(as_i32(&r), &[-1, 1, 5, 0, -5]);
}

#[test]
fn integer_div_truncates_and_defines_the_edge_cases() {
    // 7 / -2 = -3 and -7 / 2 = -3 (toward zero); x / 0 = -1; MIN / -1 = MIN.
    let r = binary(
        BinaryOp::Div,
        i32s(&[5], &[7, -7, 5, -5, i32::MIN]),
        i32s(&[5], &[-2, 2, 0, 0, -1]),
    );
    assert_eq!(as_i32(&r), &[-3, -3, -1, -1, i32::MIN]);
    let r = binary(BinaryOp::Div, i64s(&[2], &[i64::MIN, 9]), i64s(&[2], &[-1, 0]));
    assert_eq!(as_i64(&r), &[i64::MIN, -1]);
}

#[test]
fn integers_wrap() {
    let r = binary(BinaryOp::Add, i32s(&[2], &[i32::MAX, i32::MIN]), i32s(&[2], &[1, -1]));
    assert_eq!(as_i32(&r), &[i32::MIN, i32::MAX]);
    let r = binary(BinaryOp::Mul, i32s(&[1], &[65536]), i32s(&[1], &[65536]));
    assert_eq!(as_i32(&r), &[0]);
    assert_eq!(as_i32(&unary(UnaryOp::Neg, i32s(&[1], &[i32::MIN]))), &[i32::MIN]);
    assert_eq!(as_i32(&unary(UnaryOp::Abs, i32s(&[1], &[i32::MIN]))), &[i32::MIN]);
    assert_eq!(as_i32(&unary(UnaryOp::Not, i32s(&[2], &[0, -1]))), &[-1, 0]);
}

#[test]
fn max_min_propagate_nan_and_order_signed_zeros() {
    let a = f32s(&[4], &[-0.0, 0.0, f32::NAN, 1.0]);
    let b = f32s(&[4], &[0.0, -0.0, 1.0, f32::NAN]);
    let mx = binary(BinaryOp::Max, a.clone(), b.clone());
    let mn = binary(BinaryOp::Min, a, b);
    // max(-0, +0) = max(+0, -0) = +0; min of them = -0; NaN wins both ways.
    assert_bits(&as_f32(&mx)[..2], &[0.0, 0.0]);
    assert_bits(&as_f32(&mn)[..2], &[-0.0, -0.0]);
    assert!(as_f32(&mx)[2..].iter().all(|x| x.is_nan()));
    assert!(as_f32(&mn)[2..].iter().all(|x| x.is_nan()));
}

#[test]
fn comparisons_are_ieee() {
    let a = f32s(&[3], &[f32::NAN, -0.0, 1.0]);
    let b = f32s(&[3], &[f32::NAN, 0.0, f32::NAN]);
    let cmp = |c| run(Op::Compare(c), &[a.clone(), b.clone()]);
    // NaN: only ne is true; -0 == +0.
    assert_eq!(as_bool(&cmp(CompareOp::Eq)), &[false, true, false]);
    assert_eq!(as_bool(&cmp(CompareOp::Ne)), &[true, false, true]);
    assert_eq!(as_bool(&cmp(CompareOp::Lt)), &[false, false, false]);
    assert_eq!(as_bool(&cmp(CompareOp::Ge)), &[false, true, false]);
}

#[test]
fn float_to_int_truncates_and_saturates() {
    let x = f32s(&[8], &[2.9, -2.9, f32::NAN, 1e10, -1e10, f32::INFINITY, f32::NEG_INFINITY, -0.5]);
    let r = run(Op::Convert { to: DType::I32 }, &[x]);
    assert_eq!(as_i32(&r), &[2, -2, 0, i32::MAX, i32::MIN, i32::MAX, i32::MIN, 0]);
    // 9.3e18 > i64::MAX saturates; 2^32 + 5 wraps to 5 from i64 to i32.
    let r = run(Op::Convert { to: DType::I64 }, &[f64s(&[1], &[9.3e18])]);
    assert_eq!(as_i64(&r), &[i64::MAX]);
    let r = run(Op::Convert { to: DType::I32 }, &[i64s(&[1], &[(1 << 32) + 5])]);
    assert_eq!(as_i32(&r), &[5]);
}

#[test]
fn convert_to_and_from_bool() {
    // x != 0: NaN -> true, -0 -> false.
    let r = run(Op::Convert { to: DType::Bool }, &[f32s(&[4], &[f32::NAN, -0.0, 0.25, -3.0])]);
    assert_eq!(as_bool(&r), &[true, false, true, true]);
    let b = Tensor::new([2], Data::Bool(vec![true, false])).unwrap();
    assert_bits(as_f32(&run(Op::Convert { to: DType::F32 }, &[b])), &[1.0, 0.0]);
    // f64 -> f32 rounds to nearest: 1 + 2^-24 is a tie, rounds to even (1).
    let r = run(Op::Convert { to: DType::F32 }, &[f64s(&[2], &[1.0 + 2f64.powi(-24), 0.1])]);
    assert_bits(as_f32(&r), &[1.0, 0.1]);
}

// ------------------------------------------------------------------ reductions

fn reduce(kind: ReduceKind, axes: &[usize], x: Tensor) -> Tensor {
    run(Op::Reduce { kind, axes: dims(axes) }, &[x])
}

#[test]
fn empty_reductions_give_the_identity() {
    let x = f32s(&[0, 3], &[]);
    assert_bits(as_f32(&reduce(ReduceKind::Sum, &[0], x.clone())), &[0.0; 3]);
    assert_bits(as_f32(&reduce(ReduceKind::Prod, &[0], x.clone())), &[1.0; 3]);
    assert_bits(as_f32(&reduce(ReduceKind::Max, &[0], x.clone())), &[f32::NEG_INFINITY; 3]);
    assert_bits(as_f32(&reduce(ReduceKind::Min, &[0], x)), &[f32::INFINITY; 3]);
    let x = i32s(&[2, 0], &[]);
    assert_eq!(as_i32(&reduce(ReduceKind::Max, &[1], x.clone())), &[i32::MIN; 2]);
    assert_eq!(as_i32(&reduce(ReduceKind::Min, &[1], x.clone())), &[i32::MAX; 2]);
    assert_eq!(as_i32(&reduce(ReduceKind::Sum, &[0, 1], x)), &[0]);
}

#[test]
fn reducing_no_axes_is_an_exact_copy() {
    // 0 + -0 would be +0; with no axes the operand comes back bit for bit.
    let x = f32s(&[3], &[-0.0, f32::NAN, 2.0]);
    let r = reduce(ReduceKind::Sum, &[], x);
    assert_eq!(as_f32(&r)[0].to_bits(), (-0.0f32).to_bits());
    assert!(as_f32(&r)[1].is_nan());
}

#[test]
fn sums_fold_in_row_major_order_from_zero() {
    // ((0 + 1e8) + 1) - 1e8 = 0 in f32 (1e8 + 1 rounds back to 1e8);
    // any other order that adds 1 last would give 1.
    let r = reduce(ReduceKind::Sum, &[0], f32s(&[3], &[1e8, 1.0, -1e8]));
    assert_bits(as_f32(&r), &[0.0]);
    // Reducing axes [1, 0] of [[1e8, 1], [-1e8, 1]] folds 1e8, 1, -1e8, 1
    // (row-major), giving 1; the order the axes are listed in is irrelevant.
    let x = f32s(&[2, 2], &[1e8, 1.0, -1e8, 1.0]);
    assert_bits(as_f32(&reduce(ReduceKind::Sum, &[1, 0], x)), &[1.0]);
    // -0 + -0 from the identity +0 is +0.
    assert_bits(as_f32(&reduce(ReduceKind::Sum, &[0], f32s(&[2], &[-0.0, -0.0]))), &[0.0]);
}

#[test]
fn reduce_max_propagates_nan() {
    let r = reduce(ReduceKind::Max, &[1], f32s(&[2, 3], &[1.0, f32::NAN, 3.0, -0.0, 0.0, -0.0]));
    assert!(as_f32(&r)[0].is_nan());
    assert_bits(&as_f32(&r)[1..], &[0.0]);
}

#[test]
fn argmax_takes_the_first_nan_or_first_maximum() {
    let x = f32s(
        &[4, 4],
        &[
            1.0,
            f32::NAN,
            3.0,
            f32::NAN, // first NaN: 1
            2.0,
            5.0,
            5.0,
            1.0, // tie: first, 1
            -0.0,
            0.0,
            -0.0,
            0.0, // -0 == +0: 0
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY, // 0
        ],
    );
    let r = run(Op::Argmax { axis: 1 }, &[x]);
    assert_eq!(as_i64(&r), &[1, 1, 0, 0]);
    let r = run(Op::Argmax { axis: 0 }, &[i32s(&[3, 2], &[4, 9, 7, 9, 7, 1])]);
    assert_eq!(as_i64(&r), &[1, 0]);
}

// ------------------------------------------------------------------ shape ops

fn pad(x: Tensor, value: f32, low: &[i64], high: &[i64], interior: &[usize]) -> Tensor {
    let attrs = PadAttrs {
        low: low.iter().copied().collect(),
        high: high.iter().copied().collect(),
        interior: dims(interior),
    };
    run(Op::Pad(Box::new(attrs)), &[x, f32s(&[], &[value])])
}

#[test]
fn pad_with_negative_edges_crops() {
    // [1 2 3 4 5], low -1, high -2: drop one in front, two at the back.
    let r = pad(f32s(&[5], &[1.0, 2.0, 3.0, 4.0, 5.0]), 0.0, &[-1], &[-2], &[0]);
    assert_bits(as_f32(&r), &[2.0, 3.0]);
    // Interior first: [1 9 2 9 3]; then low 1: [9 1 9 2 9 3]; high -1: [9 1 9 2 9].
    let r = pad(f32s(&[3], &[1.0, 2.0, 3.0]), 9.0, &[1], &[-1], &[1]);
    assert_bits(as_f32(&r), &[9.0, 1.0, 9.0, 2.0, 9.0]);
    // Rows: crop the first row; columns: one in front, interior 1, crop the
    // last: [[4 5 6]] -> [[0 4 0 5 0 6]] -> [[0 4 0 5 0]].
    let x = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let r = pad(x, 0.0, &[-1, 1], &[0, -1], &[0, 1]);
    assert_eq!(r.dims(), &[1, 5]);
    assert_bits(as_f32(&r), &[0.0, 4.0, 0.0, 5.0, 0.0]);
}

#[test]
fn broadcast_transpose_slice_reverse() {
    let x = f32s(&[2, 1], &[1.0, 2.0]);
    let b = run(Op::BroadcastInDim { shape: Shape::new(&[3, 2, 2]), dims: dims(&[1, 2]) }, &[x]);
    assert_bits(as_f32(&b), &[1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
    // Result dim i is operand dim perm[i]: [2,3] -> [3,2].
    let x = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let t = run(Op::Transpose { perm: dims(&[1, 0]) }, &[x.clone()]);
    assert_bits(as_f32(&t), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    let attrs = gradlift_ir::SliceAttrs {
        start: dims(&[0, 1]),
        limit: dims(&[2, 3]),
        stride: dims(&[1, 2]),
    };
    let s = run(Op::Slice(Box::new(attrs)), &[x.clone()]);
    assert_bits(as_f32(&s), &[2.0, 5.0]);
    let r = run(Op::Reverse { axes: dims(&[1]) }, &[x]);
    assert_bits(as_f32(&r), &[3.0, 2.0, 1.0, 6.0, 5.0, 4.0]);
}

// ------------------------------------------------------------------ dot_general

#[test]
fn dot_general_with_batch_dims_not_leading() {
    // L[k, b] = k + 1 + 10 b (k < 3, b < 2); R[b, k] = (b + 1)(k + 1).
    // out[b] = sum_k L[k, b] R[b, k]:
    //   b = 0: 1*1 + 2*2 + 3*3 = 14
    //   b = 1: 11*2 + 12*4 + 13*6 = 148
    let l = f32s(&[3, 2], &[1.0, 11.0, 2.0, 12.0, 3.0, 13.0]);
    let r = f32s(&[2, 3], &[1.0, 2.0, 3.0, 2.0, 4.0, 6.0]);
    let dd = DotDims {
        lhs_batch: dims(&[1]),
        rhs_batch: dims(&[0]),
        lhs_contract: dims(&[0]),
        rhs_contract: dims(&[1]),
    };
    let out = run(Op::DotGeneral(Box::new(dd)), &[l, r]);
    assert_eq!(out.dims(), &[2]);
    assert_bits(as_f32(&out), &[14.0, 148.0]);
}

#[test]
fn dot_general_result_order_is_batch_lhs_free_rhs_free() {
    // L[m, b] (m < 2, b < 2), R[b, n] with n < 3, no contraction: an outer
    // product per batch. out[b, m, n] = L[m, b] R[b, n].
    let l = i32s(&[2, 2], &[1, 2, 3, 4]); // L[0,:] = [1,2], L[1,:] = [3,4]
    let r = i32s(&[2, 3], &[1, 10, 100, 2, 20, 200]);
    let dd = DotDims {
        lhs_batch: dims(&[1]),
        rhs_batch: dims(&[0]),
        lhs_contract: dims(&[]),
        rhs_contract: dims(&[]),
    };
    let out = run(Op::DotGeneral(Box::new(dd)), &[l, r]);
    assert_eq!(out.dims(), &[2, 2, 3]);
    // b = 0: L[:,0] = [1,3] times [1,10,100]; b = 1: L[:,1] = [2,4] times [2,20,200].
    assert_eq!(as_i32(&out), &[1, 10, 100, 3, 30, 300, 4, 40, 400, 8, 80, 800]);
}

#[test]
fn dot_general_accumulates_sequentially_without_fma() {
    // 0 + 1e8*1 + 1*1 + -1e8*1: 1e8 + 1 rounds to 1e8 in f32, so the sum is 0.
    let l = f32s(&[3], &[1e8, 1.0, -1e8]);
    let r = f32s(&[3], &[1.0, 1.0, 1.0]);
    let dd = DotDims {
        lhs_batch: dims(&[]),
        rhs_batch: dims(&[]),
        lhs_contract: dims(&[0]),
        rhs_contract: dims(&[0]),
    };
    assert_bits(as_f32(&run(Op::DotGeneral(Box::new(dd)), &[l, r])), &[0.0]);
}

// ------------------------------------------------------------------ indexing

#[test]
fn gather_clamps_indices() {
    let x = f32s(&[3], &[10.0, 20.0, 30.0]);
    let idx = i64s(&[5], &[-5, 0, 2, 3, 100]);
    let g = run(Op::Gather { axis: 0 }, &[x, idx]);
    assert_bits(as_f32(&g), &[10.0, 10.0, 30.0, 30.0, 30.0]);
    // Along axis 1 with 2-d indices: result shape [2] ++ [2, 2].
    let x = i32s(&[2, 3], &[0, 1, 2, 10, 11, 12]);
    let idx = i32s(&[2, 2], &[2, -1, 9, 1]);
    let g = run(Op::Gather { axis: 1 }, &[x, idx]);
    assert_eq!(g.dims(), &[2, 2, 2]);
    assert_eq!(as_i32(&g), &[2, 0, 2, 1, 12, 10, 12, 11]);
}

#[test]
fn scatter_add_accumulates_duplicates() {
    // Indices clamp to [1, 1, 0, 2]: x[1] += 1 + 2, x[0] += 3, x[2] += 4.
    let x = f32s(&[3], &[0.0, 0.0, 0.0]);
    let idx = i32s(&[4], &[1, 1, -1, 7]);
    let upd = f32s(&[4], &[1.0, 2.0, 3.0, 4.0]);
    let s = run(Op::ScatterAdd { axis: 0 }, &[x, idx, upd]);
    assert_bits(as_f32(&s), &[3.0, 3.0, 4.0]);
    // Duplicates add in order of the updates: (1e8 + 1) + -1e8 = 0 in f32.
    let x = f32s(&[2], &[0.0, 0.0]);
    let idx = i32s(&[3], &[1, 1, 1]);
    let upd = f32s(&[3], &[1e8, 1.0, -1e8]);
    assert_bits(as_f32(&run(Op::ScatterAdd { axis: 0 }, &[x, idx, upd])), &[0.0, 0.0]);
}

#[test]
fn scatter_add_is_the_transpose_of_gather() {
    // <gather(x, idx), u> == <x, scatter_add(0, idx, u)> for every x, u
    // (checked on integers, where it is exact).
    let x = i64s(&[3, 4], &[1, -2, 3, 5, 7, 11, -13, 17, 19, 23, 29, -31]);
    let idx = i32s(&[5], &[3, -1, 0, 8, 3]);
    let u = i64s(&[3, 5], &[2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]);
    let g = run(Op::Gather { axis: 1 }, &[x.clone(), idx.clone()]);
    let zeros = i64s(&[3, 4], &[0; 12]);
    let s = run(Op::ScatterAdd { axis: 1 }, &[zeros, idx, u.clone()]);
    let dot = |a: &[i64], b: &[i64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<i64>();
    assert_eq!(dot(as_i64(&g), as_i64(&u)), dot(as_i64(&x), as_i64(&s)));
}

// ------------------------------------------------------------------ arguments and errors

fn two_param_function() -> Function {
    let mut f = Function::new("f");
    let x = f.add_param(Some("x"), Type::new(DType::F32, [2, 3])).unwrap();
    let y = f.add_param(None, Type::new(DType::F32, [2, 3])).unwrap();
    let s = f.push(Op::Binary(BinaryOp::Add), &[x, y], None).unwrap();
    f.set_results(vec![s]).unwrap();
    f
}

fn eval_msg(r: Result<Vec<Tensor>, IrError>) -> String {
    match r {
        Err(e @ IrError::Eval { .. }) => e.to_string(),
        other => panic!("expected an evaluation error, got {other:?}"),
    }
}

#[test]
fn wrong_argument_count_is_an_error() {
    let f = two_param_function();
    let msg = eval_msg(eval_function(&f, &[f32s(&[2, 3], &[0.0; 6])]));
    assert!(msg.contains("takes 2 argument") && msg.contains("got 1"), "{msg}");
}

#[test]
fn wrong_argument_type_names_the_parameter() {
    let f = two_param_function();
    let ok = f32s(&[2, 3], &[0.0; 6]);
    // dtype of %x
    let msg = eval_msg(eval_function(&f, &[f64s(&[2, 3], &[0.0; 6]), ok.clone()]));
    assert!(msg.contains("%x") && msg.contains("f32[2,3]") && msg.contains("f64[2,3]"), "{msg}");
    // shape of the unnamed second parameter: named by its index
    let msg = eval_msg(eval_function(&f, &[ok.clone(), f32s(&[3, 2], &[0.0; 6])]));
    assert!(msg.contains("parameter 1") && msg.contains("f32[3,2]"), "{msg}");
}

#[test]
fn a_malformed_graph_gives_the_verifier_error() {
    // No results set: the verifier rejects it before anything runs.
    let mut f = Function::new("f");
    f.add_param(Some("x"), Type::new(DType::F32, [1])).unwrap();
    let err = eval_function(&f, &[f32s(&[1], &[1.0])]).unwrap_err();
    assert!(matches!(err, IrError::Verify { .. }), "{err:?}");
}

#[test]
fn eval_module_picks_the_function() {
    let mut m = Module::new();
    m.push(two_param_function()).unwrap();
    let mut g = Function::new("g");
    let x = g.add_param(Some("x"), Type::new(DType::I32, [])).unwrap();
    let n = g.push(Op::Unary(UnaryOp::Neg), &[x], None).unwrap();
    g.set_results(vec![n]).unwrap();
    m.push(g).unwrap();
    let a = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let r = eval_module(&m, None, &[a.clone(), a]).unwrap();
    assert_bits(as_f32(&r[0]), &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
    let r = eval_module(&m, Some("g"), &[i32s(&[], &[5])]).unwrap();
    assert_eq!(as_i32(&r[0]), &[-5]);
    let msg = eval_msg(eval_module(&m, Some("h"), &[]));
    assert!(msg.contains("@h"), "{msg}");
}

#[test]
fn results_may_repeat_and_may_be_parameters_or_constants() {
    let mut f = Function::new("f");
    let x = f.add_param(Some("x"), Type::new(DType::F32, [2])).unwrap();
    let c = Arc::new(f32s(&[2], &[0.5, -0.0]));
    let k = f.push(Op::Constant { value: c.clone() }, &[], None).unwrap();
    let sg = f.push(Op::StopGradient, &[x], None).unwrap();
    let r = f.push(Op::Reshape { shape: Shape::new(&[1, 2]) }, &[sg], None).unwrap();
    f.set_results(vec![x, r, k, r, x]).unwrap();
    let a = f32s(&[2], &[1.0, 2.0]);
    let out = eval_function(&f, &[a.clone()]).unwrap();
    assert_eq!(out.len(), 5);
    assert_eq!(out[0], a);
    assert_eq!(out[1], f32s(&[1, 2], &[1.0, 2.0]));
    assert_eq!(out[2], *c);
    assert_eq!(out[3], out[1]);
    assert_eq!(out[4], a);
}

// ------------------------------------------------------------------ memory and stack

#[test]
fn intermediates_are_dropped_after_their_last_use() {
    // x -> neg -> neg -> ... (1000 times): at most the argument, the value
    // being read and the one being made are alive at once.
    let mut f = Function::new("chain");
    let mut v = f.add_param(Some("x"), Type::new(DType::F32, [1000])).unwrap();
    for _ in 0..1000 {
        v = f.push(Op::Unary(UnaryOp::Neg), &[v], None).unwrap();
    }
    f.set_results(vec![v]).unwrap();
    let (out, stats) = eval_function_with_stats(&f, &[f32s(&[1000], &[1.5; 1000])]).unwrap();
    assert_bits(as_f32(&out[0]), &[1.5; 1000]);
    assert!(stats.peak_live_values <= 3, "{stats:?}");
}

#[test]
fn a_million_node_chain_runs_on_a_small_stack() {
    let worker = std::thread::Builder::new().stack_size(1 << 20).spawn(|| {
        let mut f = Function::new("chain");
        let x = f.add_param(Some("x"), Type::new(DType::F64, [])).unwrap();
        let one = Arc::new(f64s(&[], &[1.0]));
        let one = f.push(Op::Constant { value: one }, &[], None).unwrap();
        let mut v = x;
        for _ in 0..1_000_000 {
            v = f.push(Op::Binary(BinaryOp::Add), &[v, one], None).unwrap();
        }
        f.set_results(vec![v]).unwrap();
        let (out, stats) = eval_function_with_stats(&f, &[f64s(&[], &[0.5])]).unwrap();
        (out, stats)
    });
    let (out, stats) = worker.unwrap().join().expect("the evaluation thread panicked");
    assert_eq!(out[0], f64s(&[], &[1_000_000.5]));
    // The argument, the constant, the running value and the next one.
    assert!(stats.peak_live_values <= 4, "{stats:?}");
}

#[test]
fn iota_counts_along_its_axis() {
    let t = run(Op::Iota { dtype: DType::I32, shape: Shape::new(&[2, 3]), axis: 0 }, &[]);
    assert_eq!(as_i32(&t), &[0, 0, 0, 1, 1, 1]);
    let t = run(Op::Iota { dtype: DType::F32, shape: Shape::new(&[2, 3]), axis: 1 }, &[]);
    assert_bits(as_f32(&t), &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
}

#[test]
fn select_and_concatenate() {
    let p = Tensor::new([3], Data::Bool(vec![true, false, true])).unwrap();
    let s = run(Op::Select, &[p, i32s(&[3], &[1, 2, 3]), i32s(&[3], &[-1, -2, -3])]);
    assert_eq!(as_i32(&s), &[1, -2, 3]);
    let a = i32s(&[2, 1], &[1, 2]);
    let b = i32s(&[2, 0], &[]);
    let c = i32s(&[2, 2], &[3, 4, 5, 6]);
    let r = run(Op::Concatenate { axis: 1 }, &[a, b, c]);
    assert_eq!(r.dims(), &[2, 3]);
    assert_eq!(as_i32(&r), &[1, 3, 4, 2, 5, 6]);
}

/// The verifier reports (rather than panics on) a function with no nodes.
#[test]
fn verifier_rejects_an_empty_function() {
    let f = gradlift_ir::Function::new("empty");
    let err = gradlift_ir::verify::verify_function(&f).unwrap_err().to_string();
    assert!(err.contains("at least one value"), "{err}");
}
