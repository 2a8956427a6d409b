//! numpy broadcasting, scalar operands on either side and weak typing of
//! Rust scalars.

mod trace_common;

use gradlift::ir::{BinaryOp, Op};
use gradlift::{trace, DType, Data, Error, Type, Var};
use trace_common::*;

/// The constant's element type and value (as f64) at node `i`.
fn constant_at(f: &gradlift::Function, i: usize) -> (DType, Data) {
    match &f.nodes()[i].op {
        Op::Constant { value } => (value.dtype(), value.data().clone()),
        other => panic!("node {i} is {other:?}, not a constant\n{}", dump(f)),
    }
}

#[test]
fn scalar_value_with_matrix() {
    let f = trace("f", |s: Var, m: Var| s + m, &[f32s(&[]), f32s(&[2, 3])]).unwrap();
    let f = verified(f);
    assert_eq!(ops(&f), ["broadcast_in_dim", "add"]);
    assert_eq!(broadcasts(&f), [(vec![], vec![2, 3])]);
    // The add reads the broadcast scalar (node 2) and the matrix.
    assert_eq!(f.args(f.results()[0]), [gradlift::Value::from_index(2), f.param(1)]);
}

#[test]
fn column_with_row() {
    let f = trace("f", |c: Var, r: Var| c * r, &[f32s(&[3, 1]), f32s(&[1, 4])]).unwrap();
    let f = verified(f);
    assert_eq!(ops(&f), ["broadcast_in_dim", "broadcast_in_dim", "mul"]);
    assert_eq!(broadcasts(&f), [(vec![0, 1], vec![3, 4]), (vec![0, 1], vec![3, 4])]);
    assert_eq!(f.result_types(), [f32s(&[3, 4])]);
}

#[test]
fn vector_with_rank3() {
    let f = trace("f", |v: Var, x: Var| v - x, &[f32s(&[4]), f32s(&[2, 3, 4])]).unwrap();
    let f = verified(f);
    assert_eq!(ops(&f), ["broadcast_in_dim", "sub"]);
    assert_eq!(broadcasts(&f), [(vec![2], vec![2, 3, 4])]);
    // Operand order is kept: the broadcast vector is the minuend.
    let (_, sub) = f.instructions().last().unwrap();
    assert_eq!(sub.args.as_slice(), [gradlift::Value::from_index(2), f.param(1)]);
}

#[test]
fn same_shapes_need_no_broadcast() {
    let f = trace("f", |x: Var, y: Var| x / y, &[f32s(&[5, 2]), f32s(&[5, 2])]).unwrap();
    assert_eq!(ops(&verified(f)), ["div"]);
}

#[test]
fn size_one_and_size_zero_dims() {
    // [0,1] with [3] broadcasts to [0,3]; [1] with [] to [1].
    let f = trace("f", |x: Var, y: Var| x + y, &[f32s(&[0, 1]), f32s(&[3])]).unwrap();
    assert_eq!(verified(f).result_types(), [f32s(&[0, 3])]);
    let f = trace("f", |x: Var, y: Var| x + y, &[f32s(&[1]), f32s(&[])]).unwrap();
    assert_eq!(verified(f).result_types(), [f32s(&[1])]);
}

#[test]
fn scalars_on_the_left_keep_operand_order() {
    let f = trace("f", |x: Var| 2.0 - x, &[f32s(&[3])]).unwrap();
    let f = verified(f);
    assert_eq!(ops(&f), ["constant", "broadcast_in_dim", "sub"]);
    let (_, sub) = f.instructions().last().unwrap();
    assert_eq!(sub.args[1], f.param(0), "x is the subtrahend");
    assert!(matches!(constant_at(&f, 1), (DType::F32, Data::F32(v)) if v == [2.0]));

    let f = trace("f", |x: Var| 1 / x, &[f32s(&[3])]).unwrap();
    assert_eq!(ops(&verified(f)), ["constant", "broadcast_in_dim", "div"]);
    let f = trace("f", |x: Var| 3.0 * x + 1 - 2 % x, &[f32s(&[])]).unwrap();
    assert_eq!(ops(&verified(f)), ["constant", "mul", "constant", "add", "constant", "rem", "sub"]);
}

#[test]
fn literals_infer_before_method_calls() {
    // One impl per literal kind on the left and a generic one on the right
    // let method calls follow operators on literals directly.
    let f = trace(
        "f",
        |x: Var| (2.0 * x).exp() + (x / 3.0).sin() + (x * 2).cos() + (1 - x).abs() + (x - 1).sqrt(),
        &[f32s(&[4])],
    )
    .unwrap();
    assert_eq!(verified(f).result_types(), [f32s(&[4])]);
}

#[test]
fn float_literals_take_the_value_dtype() {
    let f = trace("f", |x: Var| x * 0.1, &[f32s(&[2])]).unwrap();
    let f = verified(f);
    let (dt, data) = constant_at(&f, 1);
    assert_eq!(dt, DType::F32);
    match data {
        Data::F32(v) => assert_eq!(v[0].to_bits(), 0.1f32.to_bits()),
        other => panic!("{other:?}"),
    }
    let f = trace("f", |x: Var| x * 0.1f32, &[Type::new(DType::F64, [2])]).unwrap();
    let f = verified(f);
    match constant_at(&f, 1) {
        (DType::F64, Data::F64(v)) => assert_eq!(v[0], f64::from(0.1f32)),
        other => panic!("{other:?}"),
    }
    let f = trace("f", |x: Var| x + 3, &[Type::new(DType::F64, [])]).unwrap();
    match constant_at(&verified(f), 1) {
        (DType::F64, Data::F64(v)) => assert_eq!(v[0], 3.0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn integer_values_accept_integral_scalars() {
    let i32s = || Type::new(DType::I32, [3]);
    let f = trace("f", |i: Var| i * 2 + 7.0 - 1i64, &[i32s()]).unwrap();
    let f = verified(f);
    assert_eq!(f.result_types(), [i32s()]);
    for (_, n) in f.instructions() {
        if let Op::Constant { value } = &n.op {
            assert_eq!(value.dtype(), DType::I32);
        }
    }
    let err = trace("f", |i: Var| i * 0.5, &[i32s()]).unwrap_err();
    match &err {
        Error::Scalar { op, dtype, value, .. } => {
            assert_eq!((*op, *dtype, value.as_str()), ("mul", DType::I32, "0.5"));
        }
        other => panic!("expected a scalar error, got {other:?}"),
    }
    assert!(err.to_string().contains("cast"), "{err}");
    let err = trace("f", |i: Var| i + 3_000_000_000i64, &[i32s()]).unwrap_err();
    assert!(matches!(err, Error::Scalar { .. }), "{err}");
    let err = trace("f", |i: Var| i + f64::NAN, &[i32s()]).unwrap_err();
    assert!(matches!(err, Error::Scalar { .. }), "{err}");
}

#[test]
fn bool_values_and_numbers_do_not_mix() {
    let b = || Type::new(DType::Bool, [2]);
    let err = trace("f", |m: Var| m + 1, &[b()]).unwrap_err();
    assert!(matches!(err, Error::Scalar { dtype: DType::Bool, .. }), "{err}");
    let f = trace("f", |m: Var| (m & true) | false, &[b()]).unwrap();
    assert_eq!(
        ops(&verified(f)),
        ["constant", "broadcast_in_dim", "and", "constant", "broadcast_in_dim", "or"]
    );
}

#[test]
fn different_dtypes_are_an_error_not_a_promotion() {
    let err =
        trace("f", |x: Var, y: Var| x + y, &[f32s(&[3]), Type::new(DType::F64, [3])]).unwrap_err();
    match &err {
        Error::DTypeMismatch { op, lhs, rhs, loc } => {
            assert_eq!((*op, *lhs, *rhs), ("add", DType::F32, DType::F64));
            assert!(loc.as_ref().unwrap().file.ends_with("trace_broadcast.rs"));
        }
        other => panic!("expected a dtype mismatch, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("f32 vs f64") && msg.contains(".cast(DType::F64)"), "{msg}");
    // An explicit cast fixes it.
    let f = trace(
        "f",
        |x: Var, y: Var| x.cast(DType::F64) + y,
        &[f32s(&[3]), Type::new(DType::F64, [3])],
    )
    .unwrap();
    assert_eq!(ops(&verified(f)), ["convert", "add"]);
}

#[test]
fn incompatible_shapes_name_both_shapes_and_the_users_line() {
    let mut line = 0;
    let err = trace(
        "f",
        |x: Var, y: Var| {
            line = line!() + 1;
            x * y
        },
        &[f32s(&[2, 3]), f32s(&[4])],
    )
    .unwrap_err();
    match &err {
        Error::Broadcast { op, lhs, rhs, loc } => {
            assert_eq!(*op, "mul");
            assert_eq!((lhs.dims(), rhs.dims()), (&[2, 3][..], &[4][..]));
            assert_eq!(loc.as_ref().unwrap().line, line);
        }
        other => panic!("expected a broadcast error, got {other:?}"),
    }
    let msg = err.to_string();
    let want = format!("tests/trace_broadcast.rs:{line}:");
    assert!(msg.starts_with(&want), "{msg}");
    assert!(msg.contains("mul: cannot broadcast shapes [2,3] and [4]"), "{msg}");
}

#[test]
fn assign_operators() {
    let f = trace(
        "f",
        |x: Var, y: Var| {
            let mut acc = x;
            acc += y;
            acc -= 1.0;
            acc *= 2;
            acc /= y;
            acc %= 3.0f32;
            acc
        },
        &[f32s(&[2]), f32s(&[2])],
    )
    .unwrap();
    let f = verified(f);
    let binaries: Vec<BinaryOp> = f
        .instructions()
        .filter_map(|(_, n)| match n.op {
            Op::Binary(b) => Some(b),
            _ => None,
        })
        .collect();
    use BinaryOp::*;
    assert_eq!(binaries, [Add, Sub, Mul, Div, Rem]);
}
