//! CLIF snapshots (before Cranelift's optimiser) of representative
//! kernels: what the analysis, the schedule and the emitted loops look
//! like. Review changes with `cargo insta review` (or run with
//! `INSTA_UPDATE=always` and read the diff).

mod codegen_support;

use codegen_support::Body;
use gradlift_compiler::codegen::clif_text;
use gradlift_ir::{BinaryOp, CompareOp, DType, ReduceKind, UnaryOp};

/// `relu(x * a + b)` then `sqrt`, over f32[1000]: one collapsed loop,
/// f32x4 body and scalar tail, the scalar constants splatted.
#[test]
fn elementwise_chain() {
    let mut b = Body::new("chain");
    let x = b.param(DType::F32, &[10, 100]);
    let a = b.scalar(DType::F32, 0.7);
    let a = b.broadcast(a, &[], &[10, 100]);
    let c = b.scalar(DType::F32, 0.1);
    let c = b.broadcast(c, &[], &[10, 100]);
    let m = b.binary(BinaryOp::Mul, x, a);
    let y = b.binary(BinaryOp::Add, m, c);
    let zero = b.scalar(DType::F32, 0.0);
    let zero = b.broadcast(zero, &[], &[10, 100]);
    let pos = b.compare(CompareOp::Gt, y, zero);
    let r = b.select(pos, y, zero);
    let s = b.unary(UnaryOp::Sqrt, r);
    let body = b.finish(&[s]);
    insta::assert_snapshot!(clif_text(&body).unwrap());
}

/// Row sums of f64[8,300] (the innermost dim is reduced): four f64x2
/// pairs of accumulators, a packet loop, a scalar tail, a fixed-order
/// combine.
#[test]
fn row_reduction() {
    let mut b = Body::new("row_sum");
    let x = b.param(DType::F64, &[8, 300]);
    let s = b.reduce(ReduceKind::Sum, x, &[1]);
    let body = b.finish(&[s]);
    insta::assert_snapshot!(clif_text(&body).unwrap());
}

/// `x + bias` with the bias broadcast along rows of f32[64,33]: the bias
/// load is a contiguous packet, the rows do not collapse.
#[test]
fn broadcast_row_vector() {
    let mut b = Body::new("bias");
    let x = b.param(DType::F32, &[64, 33]);
    let bias = b.param(DType::F32, &[33]);
    let bb = b.broadcast(bias, &[1], &[64, 33]);
    let y = b.binary(BinaryOp::Add, x, bb);
    let body = b.finish(&[y]);
    insta::assert_snapshot!(clif_text(&body).unwrap());
}

/// The text is deterministic: two compilers, the same bytes.
#[test]
fn clif_text_is_deterministic() {
    let mut b = Body::new("twice");
    let x = b.param(DType::F32, &[7, 9]);
    let t = b.transpose(x, &[1, 0]);
    let e = b.unary(UnaryOp::Exp, t);
    let s = b.reduce(ReduceKind::Max, e, &[0]);
    let body = b.finish(&[s]);
    assert_eq!(clif_text(&body).unwrap(), clif_text(&body).unwrap());
}

/// A transpose seen through a reshape: `x[4,6]ᵀ` flattened. The flat loop
/// is split (`i = 4 * i_hi + i_lo`) so the read is a strided load with no
/// division; the header shows the split dims.
#[test]
fn transposed_reshape_is_affine() {
    let mut b = Body::new("flat_t");
    let x = b.param(DType::F32, &[4, 6]);
    let t = b.transpose(x, &[1, 0]);
    let f = b.reshape(t, &[24]);
    let body = b.finish(&[f]);
    let text = clif_text(&body).unwrap();
    assert!(text.contains("loop dims [6, 4]"), "{text}");
    assert!(!text.contains("udiv") && !text.contains("urem"), "{text}");
}
