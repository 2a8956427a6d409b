//! Every op method traces into a verified graph with the ops and types we
//! expect; one test per family.

mod trace_common;

use gradlift::ir::{Op, ReduceKind, UnaryOp};
use gradlift::{
    arange, concat, constant, full, iota, ones, scalar, select, stack, trace, where_, zeros, DType,
    Data, DotDims, Error, Tensor, Type, Var,
};
use trace_common::*;

fn i64s(dims: &[usize]) -> Type {
    ty(DType::I64, dims)
}

fn bools(dims: &[usize]) -> Type {
    ty(DType::Bool, dims)
}

/// Traces a one-argument function and verifies it.
fn trace1(arg: Type, f: impl FnOnce(Var) -> Var) -> gradlift::Function {
    verified(trace("f", f, &[arg]).unwrap())
}

/// Traces a two-argument function and verifies it.
fn trace2(a: Type, b: Type, f: impl FnOnce(Var, Var) -> Var) -> gradlift::Function {
    verified(trace("f", f, &[a, b]).unwrap())
}

/// The error of tracing a one-argument function.
fn err1(arg: Type, f: impl FnOnce(Var) -> Var) -> Error {
    trace("f", f, &[arg]).unwrap_err()
}

fn result_type(f: &gradlift::Function) -> Type {
    f.result_types()[0].clone()
}

#[test]
fn unary_math() {
    type Unary = fn(Var) -> Var;
    let all: [(Unary, &str); 18] = [
        (Var::neg, "neg"),
        (Var::abs, "abs"),
        (Var::sign, "sign"),
        (Var::exp, "exp"),
        (Var::log, "log"),
        (Var::log1p, "log1p"),
        (Var::expm1, "expm1"),
        (Var::sqrt, "sqrt"),
        (Var::rsqrt, "rsqrt"),
        (Var::sin, "sin"),
        (Var::cos, "cos"),
        (Var::tanh, "tanh"),
        (Var::sigmoid, "logistic"),
        (Var::logistic, "logistic"),
        (Var::floor, "floor"),
        (Var::ceil, "ceil"),
        (Var::round, "round"),
        (|x| -x, "neg"),
    ];
    for (method, name) in all {
        let f = trace1(f32s(&[2, 3]), method);
        assert_eq!(ops(&f), [name]);
        assert_eq!(result_type(&f), f32s(&[2, 3]));
    }
    // Numeric-only ops work on integers; float-only ones are errors.
    let f = trace1(ty(DType::I32, &[4]), |i| i.abs().neg().sign());
    assert_eq!(ops(&f), ["abs", "neg", "sign"]);
    let err = trace("f", |i: Var| i.tanh(), &[ty(DType::I64, &[4])]).unwrap_err();
    assert!(err.to_string().contains("tanh: expects a float dtype"), "{err}");
}

#[test]
fn unary_conveniences() {
    let f = trace1(f32s(&[3]), |x| x.square());
    assert_eq!(ops(&f), ["mul"]);
    assert_eq!(f.args(f.results()[0]), [f.param(0), f.param(0)]);

    let f = trace1(f32s(&[3]), |x| x.recip());
    assert_eq!(ops(&f), ["constant", "broadcast_in_dim", "div"]);

    let f = trace1(f32s(&[3]), |x| x.relu());
    assert_eq!(ops(&f), ["constant", "broadcast_in_dim", "max"]);

    let f = trace1(f32s(&[3]), |x| x.powf(1.5));
    assert_eq!(ops(&f), ["constant", "broadcast_in_dim", "pow"]);

    // x^5 = x * (x^2)^2: three multiplications.
    let f = trace1(f32s(&[3]), |x| x.powi(5));
    assert_eq!(ops(&f), ["mul", "mul", "mul"]);
    let f = trace1(ty(DType::I32, &[3]), |x| x.powi(2));
    assert_eq!(ops(&f), ["mul"]);
    let f = trace1(f32s(&[3]), |x| x.powi(-2));
    assert_eq!(ops(&f), ["mul", "constant", "broadcast_in_dim", "div"]);
    let f = trace1(f32s(&[3]), |x| x.powi(0));
    assert_eq!(ops(&f), ["constant", "broadcast_in_dim"]);
    let f = trace1(f32s(&[3]), |x| x.powi(1) + 0.0);
    assert_eq!(ops(&f), ["constant", "broadcast_in_dim", "add"]);
    let f = trace1(f32s(&[3]), |x| x.powi(i32::MIN));
    assert_eq!(count(&f, "mul"), 31);
}

#[test]
fn binary_math() {
    let f = trace2(f32s(&[3, 1]), f32s(&[4]), |x, y| x.pow(y).maximum(x).minimum(y).rem(x));
    assert_eq!(
        ops(&f),
        [
            "broadcast_in_dim",
            "broadcast_in_dim",
            "pow", // [3,4]
            "broadcast_in_dim",
            "max",
            "broadcast_in_dim",
            "min",
            "broadcast_in_dim",
            "rem",
        ]
    );
    assert_eq!(result_type(&f), f32s(&[3, 4]));
    let f = trace1(f32s(&[2]), |x| x.maximum(0.0).minimum(6).rem(2.5f32).pow(2));
    assert_eq!(count(&f, "constant"), 4);
    let err = trace("f", |i: Var| i.pow(2), &[ty(DType::I32, &[2])]).unwrap_err();
    assert!(err.to_string().contains("pow: expects a float dtype"), "{err}");
}

#[test]
fn comparisons() {
    type Cmp = fn(Var, Var) -> Var;
    let all: [(Cmp, &str); 6] = [
        (Var::eq, "eq"),
        (Var::ne, "ne"),
        (Var::lt, "lt"),
        (Var::le, "le"),
        (Var::gt, "gt"),
        (Var::ge, "ge"),
    ];
    for (method, name) in all {
        let f = trace2(f32s(&[3, 1]), f32s(&[4]), method);
        assert_eq!(ops(&f), ["broadcast_in_dim", "broadcast_in_dim", name]);
        assert_eq!(result_type(&f), bools(&[3, 4]));
    }
    let f = trace1(ty(DType::I64, &[5]), |i| i.lt(3).or(i.ge(10)));
    assert_eq!(result_type(&f), bools(&[5]));
    assert_eq!(count(&f, "constant"), 2);
    let f = trace1(f32s(&[5]), |x| x.eq(0.5));
    assert_eq!(ops(&f), ["constant", "broadcast_in_dim", "eq"]);
}

#[test]
fn logic() {
    let f = trace2(bools(&[3]), bools(&[3]), |a, b| (a & b) | !a);
    assert_eq!(ops(&f), ["and", "not", "or"]);
    let f = trace2(bools(&[3]), bools(&[2, 3]), |a, b| a.and(b).or(true).not());
    assert_eq!(ops(&f), ["broadcast_in_dim", "and", "constant", "broadcast_in_dim", "or", "not"]);
    assert_eq!(result_type(&f), bools(&[2, 3]));
    // Bitwise on integers, as in the IR.
    let f = trace2(ty(DType::I32, &[3]), ty(DType::I32, &[3]), |a, b| (a & b).not());
    assert_eq!(result_type(&f), ty(DType::I32, &[3]));
    let err = trace("f", |x: Var| !x, &[f32s(&[2])]).unwrap_err();
    assert!(err.to_string().contains("not: expects bool or an integer dtype"), "{err}");
}

#[test]
fn select_and_where() {
    let f = verified(
        trace("f", |p: Var, x: Var| select(p, x, 0.0), &[bools(&[3, 1]), f32s(&[4])]).unwrap(),
    );
    assert_eq!(
        ops(&f),
        ["constant", "broadcast_in_dim", "broadcast_in_dim", "broadcast_in_dim", "select"]
    );
    assert_eq!(result_type(&f), f32s(&[3, 4]));
    let f = trace2(f32s(&[4]), f32s(&[4]), |x, y| where_(x.gt(y), x, y));
    assert_eq!(ops(&f), ["gt", "select"]);
    let f = trace2(f32s(&[4]), f32s(&[4]), |x, y| x.lt(y).select(1, y));
    assert_eq!(ops(&f), ["lt", "constant", "broadcast_in_dim", "select"]);

    let err = trace("f", |x: Var| select(x, x, x), &[f32s(&[2])]).unwrap_err();
    assert!(err.to_string().contains("predicate must be bool"), "{err}");
    let err =
        trace("f", |p: Var, x: Var| select(p, x, x.cast(DType::F64)), &[bools(&[2]), f32s(&[2])])
            .unwrap_err();
    assert!(matches!(err, Error::DTypeMismatch { op: "select", .. }), "{err}");
    let err = trace("f", |p: Var| select(p, 1.0, 2.0), &[bools(&[2])]).unwrap_err();
    assert!(err.to_string().contains("at least one branch"), "{err}");
    let err =
        trace("f", |p: Var, x: Var| select(p, x, 0.0), &[bools(&[3]), f32s(&[2])]).unwrap_err();
    assert!(matches!(err, Error::Broadcast { op: "select", .. }), "{err}");
}

#[test]
fn cast_and_stop_gradient() {
    let f = trace1(f32s(&[3]), |x| x.cast(DType::I32).cast(DType::Bool).cast(DType::F64));
    let converts: Vec<DType> = f
        .instructions()
        .map(|(_, n)| match n.op {
            Op::Convert { to } => to,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(converts, [DType::I32, DType::Bool, DType::F64]);
    // Casting to the same dtype records nothing.
    let f = trace1(f32s(&[3]), |x| x.cast(DType::F32).stop_gradient());
    assert_eq!(ops(&f), ["stop_gradient"]);
    assert_eq!(result_type(&f), f32s(&[3]));
}

fn reduce_of(f: &gradlift::Function) -> (ReduceKind, Vec<usize>) {
    f.instructions()
        .find_map(|(_, n)| match &n.op {
            Op::Reduce { kind, axes } => Some((*kind, axes.to_vec())),
            _ => None,
        })
        .expect("a reduce")
}

#[test]
fn reductions() {
    let x = f32s(&[2, 3, 4]);
    type Reduce = fn(Var, &[i32]) -> Var;
    let kinds: [(Reduce, ReduceKind); 4] = [
        (Var::sum, ReduceKind::Sum),
        (Var::max, ReduceKind::Max),
        (Var::min, ReduceKind::Min),
        (Var::prod, ReduceKind::Prod),
    ];
    for (method, kind) in kinds {
        let f = trace1(x.clone(), |x| method(x, &[-1, 0]));
        assert_eq!(reduce_of(&f), (kind, vec![0, 2]), "axes are normalised and sorted");
        assert_eq!(result_type(&f), f32s(&[3]));
    }
    let f = trace1(x.clone(), |x| x.sum_all());
    assert_eq!(reduce_of(&f), (ReduceKind::Sum, vec![0, 1, 2]));
    assert_eq!(result_type(&f), f32s(&[]));
    for (m, kind) in [
        (Var::max_all as fn(Var) -> Var, ReduceKind::Max),
        (Var::min_all, ReduceKind::Min),
        (Var::prod_all, ReduceKind::Prod),
    ] {
        let f = trace1(x.clone(), m);
        assert_eq!(reduce_of(&f).0, kind);
        assert_eq!(result_type(&f), f32s(&[]));
    }
    let f = trace1(x.clone(), |x| x.sum_keepdims(&[1usize]));
    assert_eq!(ops(&f), ["reduce_sum", "reshape"]);
    assert_eq!(result_type(&f), f32s(&[2, 1, 4]));
    let f = trace1(x.clone(), |x| x - x.max_keepdims(&[-1]));
    assert_eq!(ops(&f), ["reduce_max", "reshape", "broadcast_in_dim", "sub"]);
    let f = trace1(x.clone(), |x| x.min_keepdims(&[0]).prod_keepdims(&[2]));
    assert_eq!(result_type(&f), f32s(&[1, 3, 1]));

    // mean = sum / count, count as a constant of the value's dtype.
    let f = trace1(x.clone(), |x| x.mean(&[1]));
    assert_eq!(ops(&f), ["reduce_sum", "constant", "broadcast_in_dim", "div"]);
    assert_eq!(result_type(&f), f32s(&[2, 4]));
    let f = trace1(ty(DType::F64, &[6]), |x| x.mean_all());
    assert_eq!(ops(&f), ["reduce_sum", "constant", "div"]);
    let f = trace1(x.clone(), |x| x.mean_keepdims(&[0, 2]));
    assert_eq!(result_type(&f), f32s(&[1, 3, 1]));
    let err = trace("f", |i: Var| i.mean_all(), &[ty(DType::I32, &[3])]).unwrap_err();
    assert!(err.to_string().contains("mean: the mean of a i32 value"), "{err}");

    let f = trace1(x.clone(), |x| x.argmax(-2));
    assert_eq!(ops(&f), ["argmax"]);
    assert_eq!(result_type(&f), i64s(&[2, 4]));

    let err = err1(x.clone(), |x| x.sum(&[3]));
    assert!(err.to_string().contains("axis 3 is out of range for rank 3"), "{err}");
    let err = err1(x.clone(), |x| x.sum(&[1, -2]));
    assert!(err.to_string().contains("axis 1 is given twice"), "{err}");
    let err = trace("f", |x: Var| x.argmax(0), &[f32s(&[0, 2])]).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
}

fn dot_dims(f: &gradlift::Function) -> DotDims {
    f.instructions()
        .find_map(|(_, n)| match &n.op {
            Op::DotGeneral(d) => Some((**d).clone()),
            _ => None,
        })
        .expect("a dot_general")
}

#[test]
fn matmul_follows_numpy() {
    let mm = |a: &[usize], b: &[usize]| trace2(f32s(a), f32s(b), |x, y| x.matmul(y));
    let f = mm(&[3], &[3]);
    assert_eq!((ops(&f), result_type(&f)), (vec!["dot_general"], f32s(&[])));
    let f = mm(&[2, 3], &[3, 4]);
    assert_eq!(result_type(&f), f32s(&[2, 4]));
    let d = dot_dims(&f);
    assert_eq!((d.lhs_contract.to_vec(), d.rhs_contract.to_vec()), (vec![1], vec![0]));
    let f = mm(&[3], &[3, 4]);
    assert_eq!(result_type(&f), f32s(&[4]));
    let f = mm(&[2, 3], &[3]);
    assert_eq!(result_type(&f), f32s(&[2]));
    let f = mm(&[3], &[5, 3, 4]);
    assert_eq!(result_type(&f), f32s(&[5, 4]));
    let f = mm(&[5, 2, 3], &[3]);
    assert_eq!(result_type(&f), f32s(&[5, 2]));
    // Batched lhs with a plain matrix: one dot_general, no broadcast.
    let f = mm(&[7, 2, 3], &[3, 4]);
    assert_eq!((ops(&f), result_type(&f)), (vec!["dot_general"], f32s(&[7, 2, 4])));
    // Batch dims broadcast by numpy rules.
    let f = mm(&[2, 1, 3, 4], &[5, 4, 6]);
    assert_eq!(ops(&f), ["broadcast_in_dim", "broadcast_in_dim", "dot_general"]);
    assert_eq!(result_type(&f), f32s(&[2, 5, 3, 6]));
    let d = dot_dims(&f);
    assert_eq!(d.lhs_batch.to_vec(), [0, 1]);
    assert_eq!(d.rhs_batch.to_vec(), [0, 1]);
    assert_eq!((d.lhs_contract.to_vec(), d.rhs_contract.to_vec()), (vec![3], vec![2]));
    let f = mm(&[3, 4], &[2, 4, 5]);
    assert_eq!(result_type(&f), f32s(&[2, 3, 5]));

    let err =
        trace("f", |x: Var, y: Var| x.matmul(y), &[f32s(&[2, 3]), f32s(&[4, 5])]).unwrap_err();
    assert!(err.to_string().contains("matmul: contracting dimensions differ"), "{err}");
    let err = trace("f", |x: Var, y: Var| x.matmul(y), &[f32s(&[2, 2, 3]), f32s(&[3, 3, 1])])
        .unwrap_err();
    assert!(err.to_string().contains("do not broadcast"), "{err}");
    let err = trace("f", |x: Var, y: Var| x.matmul(y), &[f32s(&[]), f32s(&[3])]).unwrap_err();
    assert!(err.to_string().contains("rank 1 or more"), "{err}");
    let err =
        trace("f", |x: Var, y: Var| x.matmul(y), &[f32s(&[3]), ty(DType::F64, &[3])]).unwrap_err();
    assert!(matches!(err, Error::DTypeMismatch { op: "matmul", .. }), "{err}");
}

#[test]
fn dot_general_raw() {
    let dims = DotDims {
        lhs_batch: [0].into_iter().collect(),
        rhs_batch: [0].into_iter().collect(),
        lhs_contract: [2].into_iter().collect(),
        rhs_contract: [1].into_iter().collect(),
    };
    let f = trace2(f32s(&[4, 2, 3]), f32s(&[4, 3, 5]), |a, b| a.dot_general(b, dims));
    assert_eq!(result_type(&f), f32s(&[4, 2, 5]));
}

#[test]
fn reshapes_and_transposes() {
    let x = f32s(&[2, 3, 4]);
    let f = trace1(x.clone(), |x| x.reshape(&[6, 4]));
    assert_eq!((ops(&f), result_type(&f)), (vec!["reshape"], f32s(&[6, 4])));
    let f = trace1(x.clone(), |x| x.reshape(&[2, 3, 4]));
    assert!(ops(&f).is_empty(), "reshape to the same shape records nothing");
    let f = trace1(x.clone(), |x| x.reshape_infer(&[-1, 4]));
    assert_eq!(result_type(&f), f32s(&[6, 4]));
    let f = trace1(x.clone(), |x| x.flatten());
    assert_eq!(result_type(&f), f32s(&[24]));
    let err = err1(x.clone(), |x| x.reshape(&[5, 5]));
    assert!(err.to_string().contains("cannot reshape 24 elements"), "{err}");
    let err = err1(x.clone(), |x| x.reshape_infer(&[-1, 5]));
    assert!(err.to_string().contains("cannot infer"), "{err}");
    let err = err1(x.clone(), |x| x.reshape_infer(&[-1, -1]));
    assert!(err.to_string().contains("only one dimension may be -1"), "{err}");

    let f = trace1(x.clone(), |x| x.transpose(&[2, 0, -2]));
    assert_eq!(result_type(&f), f32s(&[4, 2, 3]));
    let f = trace1(x.clone(), |x| x.swap_axes(0, -1));
    assert_eq!(result_type(&f), f32s(&[4, 3, 2]));
    let f = trace1(f32s(&[2, 5]), |x| x.t());
    assert_eq!((ops(&f), result_type(&f)), (vec!["transpose"], f32s(&[5, 2])));
    let f = trace1(f32s(&[5]), |x| x.t());
    assert!(ops(&f).is_empty());
    let err = err1(x.clone(), |x| x.t());
    assert!(err.to_string().contains("t() expects at most 2 dimensions"), "{err}");
    let err = err1(x.clone(), |x| x.transpose(&[0, 1]));
    assert!(err.to_string().contains("perm has 2 entries for rank 3"), "{err}");
}

#[test]
fn broadcasting_and_size_one_dims() {
    let f = trace1(f32s(&[3, 1]), |x| x.broadcast_to(&[2, 3, 4]));
    assert_eq!(broadcasts(&f), [(vec![1, 2], vec![2, 3, 4])]);
    let err = trace("f", |x: Var| x.broadcast_to(&[4, 2]), &[f32s(&[3, 1])]).unwrap_err();
    assert!(matches!(err, Error::Broadcast { op: "broadcast_to", .. }), "{err}");

    let f = trace1(f32s(&[2, 3]), |x| x.expand_dims(-1).expand_dims(0));
    assert_eq!(result_type(&f), f32s(&[1, 2, 3, 1]));
    let f = trace1(f32s(&[1, 2, 1, 3]), |x| x.squeeze(&[0, -2]));
    assert_eq!((ops(&f), result_type(&f)), (vec!["reshape"], f32s(&[2, 3])));
    let f = trace1(f32s(&[1, 2, 1, 3]), |x| x.squeeze_all());
    assert_eq!(result_type(&f), f32s(&[2, 3]));
    let err = trace("f", |x: Var| x.squeeze(&[1]), &[f32s(&[1, 2])]).unwrap_err();
    assert!(err.to_string().contains("cannot squeeze axis 1 of size 2"), "{err}");
}

#[test]
fn slicing_padding_reversing() {
    let x = f32s(&[4, 6]);
    let f = trace1(x.clone(), |x| x.slice(&[1, 0], &[4, 6], &[2, 3]));
    assert_eq!((ops(&f), result_type(&f)), (vec!["slice"], f32s(&[2, 2])));
    let f = trace1(x.clone(), |x| x.slice_axis(-1, 2, 5));
    assert_eq!(result_type(&f), f32s(&[4, 3]));
    let f = trace1(x.clone(), |x| x.index_axis(0, 3));
    assert_eq!((ops(&f), result_type(&f)), (vec!["slice", "reshape"], f32s(&[6])));
    let err = err1(x.clone(), |x| x.slice_axis(1, 4, 7));
    assert!(err.to_string().contains("range 4..7 is out of bounds for axis 1 of size 6"), "{err}");
    let err = err1(x.clone(), |x| x.index_axis(0, 4));
    assert!(err.to_string().contains("out of bounds"), "{err}");

    let f = trace1(x.clone(), |x| x.pad(0.0, &[1, -1], &[2, 0], &[0, 1]));
    assert_eq!((ops(&f), result_type(&f)), (vec!["constant", "pad"], f32s(&[7, 10])));
    let f = trace2(x.clone(), f32s(&[]), |x, v| x.pad(v, &[0, 0], &[1, 1], &[0, 0]));
    assert_eq!((ops(&f), result_type(&f)), (vec!["pad"], f32s(&[5, 7])));

    let f = trace1(x.clone(), |x| x.reverse(&[-1]));
    match &f.node(f.results()[0]).op {
        Op::Reverse { axes } => assert_eq!(axes.to_vec(), [1]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn concat_and_stack() {
    let f = verified(
        trace("f", |a: Var, b: Var| concat(&[a, b, a], -1), &[f32s(&[2, 3]), f32s(&[2, 1])])
            .unwrap(),
    );
    assert_eq!((ops(&f), result_type(&f)), (vec!["concatenate"], f32s(&[2, 7])));
    assert_eq!(f.args(f.results()[0]).len(), 3);
    let f = verified(
        trace("f", |a: Var, b: Var| stack(&[a, b], 1), &[f32s(&[2, 3]), f32s(&[2, 3])]).unwrap(),
    );
    assert_eq!(ops(&f), ["reshape", "reshape", "concatenate"]);
    assert_eq!(result_type(&f), f32s(&[2, 2, 3]));
    let f = verified(trace("f", |xs: &[Var]| stack(xs, -1), &vec![f32s(&[4]); 3]).unwrap());
    assert_eq!(result_type(&f), f32s(&[4, 3]));

    let err = trace("f", |a: Var, b: Var| concat(&[a, b], 0), &[f32s(&[2, 3]), f32s(&[2, 1])])
        .unwrap_err();
    assert!(err.to_string().contains("concatenate"), "{err}");
    let err =
        trace("f", |a: Var, b: Var| stack(&[a, b], 0), &[f32s(&[2]), f32s(&[3])]).unwrap_err();
    assert!(err.to_string().contains("every value must have one shape"), "{err}");
    let err =
        trace("f", |a: Var, b: Var| concat(&[a, b], 0), &[f32s(&[2]), i64s(&[2])]).unwrap_err();
    assert!(matches!(err, Error::DTypeMismatch { op: "concatenate", .. }), "{err}");
    let err = trace("f", |_x: Var| concat::<i32>(&[], 0), &[f32s(&[2])]).unwrap_err();
    assert!(err.to_string().contains("needs at least one value"), "{err}");
}

#[test]
fn gather_and_scatter_add() {
    let f = trace2(f32s(&[5, 3]), i64s(&[2, 4]), |x, i| x.take(i, 0));
    assert_eq!((ops(&f), result_type(&f)), (vec!["gather"], f32s(&[2, 4, 3])));
    let f = trace2(f32s(&[5, 3]), ty(DType::I32, &[7]), |x, i| x.gather(i, -1));
    assert_eq!(result_type(&f), f32s(&[5, 7]));
    let f = verified(
        trace(
            "f",
            |x: Var, i: Var, u: Var| x.scatter_add(i, u, 1),
            &[f32s(&[5, 3]), i64s(&[4]), f32s(&[5, 4])],
        )
        .unwrap(),
    );
    assert_eq!((ops(&f), result_type(&f)), (vec!["scatter_add"], f32s(&[5, 3])));
    let err = trace("f", |x: Var, i: Var| x.take(i, 0), &[f32s(&[5]), f32s(&[2])]).unwrap_err();
    assert!(err.to_string().contains("indices must be i32 or i64"), "{err}");
}

#[test]
fn sources() {
    let t = Tensor::new([2, 2], Data::F64(vec![1.0, 2.0, 3.0, 4.0])).unwrap();
    let f = trace1(ty(DType::F64, &[2, 2]), |x| x + constant(&t));
    assert_eq!(ops(&f), ["constant", "add"]);
    let f = trace1(f32s(&[3]), |x| x + full(&[3], 2.5, DType::F32) + scalar(1, DType::F32));
    assert_eq!(
        ops(&f),
        ["constant", "broadcast_in_dim", "add", "constant", "broadcast_in_dim", "add"]
    );
    let f = trace1(f32s(&[2, 3]), |x| x * zeros(&[2, 3], DType::F32) + ones(&[3], DType::F32));
    assert_eq!(result_type(&f), f32s(&[2, 3]));
    let f = trace1(bools(&[2]), |m| m & ones(&[2], DType::Bool) | zeros(&[], DType::Bool));
    assert_eq!(result_type(&f), bools(&[2]));
    let f = trace1(i64s(&[4]), |i| i + arange(4, DType::I64));
    assert_eq!(ops(&f), ["iota", "add"]);
    let f = trace1(f32s(&[2, 3]), |x| x * iota(DType::F32, &[2, 3], 1));
    match &f.nodes()[1].op {
        Op::Iota { dtype, shape, axis } => {
            assert_eq!((*dtype, shape.dims(), *axis), (DType::F32, &[2, 3][..], 1));
        }
        other => panic!("{other:?}"),
    }
    let f = trace1(f32s(&[2, 3]), |x| x.full_like(7) + x.zeros_like() + x.ones_like());
    assert_eq!(count(&f, "constant"), 3);
    assert_eq!(count(&f, "broadcast_in_dim"), 3);
    let f = trace1(f32s(&[2, 3]), |x| x.scalar_like(0.5));
    assert_eq!(result_type(&f), f32s(&[]));

    let err = trace("f", |x: Var| x + scalar(0.5, DType::I32).cast(DType::F32), &[f32s(&[])])
        .unwrap_err();
    assert!(matches!(err, Error::Scalar { op: "scalar", .. }), "{err}");
    let err = trace("f", |x: Var| x + iota(DType::F32, &[2], 1), &[f32s(&[2])]).unwrap_err();
    assert!(err.to_string().contains("iota"), "{err}");
}

#[test]
fn unary_ops_cover_the_ir_list() {
    // Every UnaryOp of the IR is reachable from a method.
    let f = trace1(f32s(&[2]), |x| {
        let mut acc = x;
        for m in [
            Var::neg,
            Var::abs,
            Var::sign,
            Var::exp,
            Var::log,
            Var::log1p,
            Var::expm1,
            Var::sqrt,
            Var::rsqrt,
            Var::sin,
            Var::cos,
            Var::tanh,
            Var::logistic,
            Var::floor,
            Var::ceil,
            Var::round,
        ] {
            acc = m(acc);
        }
        acc.gt(0.0).not().cast(DType::F32)
    });
    let seen: Vec<UnaryOp> = f
        .instructions()
        .filter_map(|(_, n)| match n.op {
            Op::Unary(u) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(seen, UnaryOp::ALL);
}
