//! The reference interpreter against numpy: every case in
//! `fixtures/interp_cases.json` (made by `fixtures/make_interp_fixtures.py`)
//! is one op applied to given inputs, with outputs computed independently
//! by numpy in the op's dtype.
//!
//! Comparison: integers and bools exactly; floats bit for bit (NaN matches
//! any NaN) except the transcendental functions, where numpy's vectorised
//! kernels and Rust's libm may differ by a few ulp (see [`ulp_bound`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use gradlift_ir::interp::eval_function;
use gradlift_ir::op::SDims;
use gradlift_ir::{
    shape, BinaryOp, CompareOp, DType, Data, DotDims, Function, Op, PadAttrs, ReduceKind,
    SliceAttrs, Tensor, Type, UnaryOp,
};
use serde_json::Value as Json;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/interp_cases.json");

/// The largest distance in ulps allowed between the interpreter and numpy.
/// Exactly rounded ops (+ - * / sqrt, rounding, shape ops, reductions and
/// dot_general in their documented order, ...) must agree bit for bit.
fn ulp_bound(op: &str) -> u64 {
    match op {
        "exp" | "log" | "log1p" | "expm1" | "sin" | "cos" | "tanh" | "logistic" | "pow" => 4,
        _ => 0,
    }
}

struct Case {
    name: String,
    op: String,
    attrs: Json,
    inputs: Vec<Tensor>,
    outputs: Vec<Tensor>,
}

fn load_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(FIXTURES).expect("read interp_cases.json");
    let json: Json = serde_json::from_str(&text).expect("parse interp_cases.json");
    json.as_array()
        .expect("a list of cases")
        .iter()
        .map(|c| {
            let name = c["name"].as_str().expect("name").to_string();
            let tensors = |key: &str| -> Vec<Tensor> {
                c[key].as_array().expect(key).iter().map(|t| tensor(t, &name)).collect()
            };
            Case {
                op: c["op"].as_str().expect("op").to_string(),
                attrs: c["attrs"].clone(),
                inputs: tensors("inputs"),
                outputs: tensors("outputs"),
                name,
            }
        })
        .collect()
}

fn tensor(j: &Json, case: &str) -> Tensor {
    let dtype = DType::from_name(j["dtype"].as_str().expect("dtype")).expect("known dtype");
    let shape = usizes(&j["shape"]);
    let vals = j["values"].as_array().expect("values");
    let float = |v: &Json| v.as_str().expect("float as string").to_string();
    let data = match dtype {
        DType::F32 => Data::F32(vals.iter().map(|v| float(v).parse().expect("f32")).collect()),
        DType::F64 => Data::F64(vals.iter().map(|v| float(v).parse().expect("f64")).collect()),
        DType::I32 => Data::I32(vals.iter().map(|v| v.as_i64().expect("int") as i32).collect()),
        DType::I64 => Data::I64(vals.iter().map(|v| v.as_i64().expect("int")).collect()),
        DType::Bool => Data::Bool(vals.iter().map(|v| v.as_bool().expect("bool")).collect()),
    };
    Tensor::new(shape.as_slice(), data).unwrap_or_else(|e| panic!("{case}: {e}"))
}

fn usizes(j: &Json) -> Vec<usize> {
    j.as_array().expect("list").iter().map(|v| v.as_u64().expect("usize") as usize).collect()
}

fn i64s(j: &Json) -> SDims {
    j.as_array().expect("list").iter().map(|v| v.as_i64().expect("i64")).collect()
}

/// The op a case names, with its attributes.
fn build_op(case: &Case) -> Op {
    let a = &case.attrs;
    let dims = |k: &str| usizes(&a[k]).into_iter().collect();
    let axis = || a["axis"].as_u64().expect("axis") as usize;
    let shape = || gradlift_ir::Shape::new(&usizes(&a["shape"]));
    match case.op.as_str() {
        "constant" => Op::Constant { value: Arc::new(tensor(&a["value"], &case.name)) },
        "iota" => Op::Iota {
            dtype: DType::from_name(a["dtype"].as_str().expect("dtype")).expect("dtype"),
            shape: shape(),
            axis: axis(),
        },
        "select" => Op::Select,
        "convert" => Op::Convert { to: DType::from_name(a["to"].as_str().expect("to")).unwrap() },
        "broadcast_in_dim" => Op::BroadcastInDim { shape: shape(), dims: dims("dims") },
        "reshape" => Op::Reshape { shape: shape() },
        "transpose" => Op::Transpose { perm: dims("perm") },
        "slice" => Op::Slice(Box::new(SliceAttrs {
            start: dims("start"),
            limit: dims("limit"),
            stride: dims("stride"),
        })),
        "concatenate" => Op::Concatenate { axis: axis() },
        "pad" => Op::Pad(Box::new(PadAttrs {
            low: i64s(&a["low"]),
            high: i64s(&a["high"]),
            interior: dims("interior"),
        })),
        "reverse" => Op::Reverse { axes: dims("axes") },
        "argmax" => Op::Argmax { axis: axis() },
        "dot_general" => Op::DotGeneral(Box::new(DotDims {
            lhs_batch: dims("lhs_batch"),
            rhs_batch: dims("rhs_batch"),
            lhs_contract: dims("lhs_contract"),
            rhs_contract: dims("rhs_contract"),
        })),
        "gather" => Op::Gather { axis: axis() },
        "scatter_add" => Op::ScatterAdd { axis: axis() },
        "stop_gradient" => Op::StopGradient,
        name => simple_op(name, || dims("axes"))
            .unwrap_or_else(|| panic!("{}: unknown op {name}", case.name)),
    }
}

/// Unary, binary, compare and reduce ops, looked up by name.
fn simple_op(name: &str, axes: impl Fn() -> gradlift_ir::Dims) -> Option<Op> {
    if let Some(u) = UnaryOp::ALL.iter().find(|u| u.name() == name) {
        return Some(Op::Unary(*u));
    }
    if let Some(b) = BinaryOp::ALL.iter().find(|b| b.name() == name) {
        return Some(Op::Binary(*b));
    }
    if let Some(c) = CompareOp::ALL.iter().find(|c| c.name() == name) {
        return Some(Op::Compare(*c));
    }
    if let Some(r) = ReduceKind::ALL.iter().find(|r| r.name() == name) {
        return Some(Op::Reduce { kind: *r, axes: axes() });
    }
    None
}

fn build_function(case: &Case) -> Result<Function, String> {
    let mut f = Function::new("case");
    let params: Vec<_> = case
        .inputs
        .iter()
        .enumerate()
        .map(|(i, t)| f.add_param(Some(&format!("x{i}")), t.ty()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let v = f.push(build_op(case), &params, None).map_err(|e| e.to_string())?;
    f.set_results(vec![v]).map_err(|e| e.to_string())?;
    Ok(f)
}

/// Maps float bits onto integers in the order of the floats (-0 and +0
/// both to 0), so the difference of two of them counts ulps.
fn ordered(bits: u64, sign_bit: u64) -> i128 {
    if bits & sign_bit != 0 {
        -((bits & !sign_bit) as i128)
    } else {
        bits as i128
    }
}

/// Checks one output; the error names the first differing element.
fn compare(op: &str, want: &Tensor, got: &Tensor, max_ulps: &mut u64) -> Result<(), String> {
    if want.ty() != got.ty() {
        return Err(format!("type: want {}, got {}", want.ty(), got.ty()));
    }
    let bound = ulp_bound(op);
    match (want.data(), got.data()) {
        (Data::F32(w), Data::F32(g)) => {
            let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            let bits: fn(f64) -> u64 = |x| (x as f32).to_bits() as u64;
            compare_floats(&wide(w), &wide(g), bits, 1 << 31, bound, max_ulps)
        }
        (Data::F64(w), Data::F64(g)) => {
            compare_floats(w, g, f64::to_bits, 1 << 63, bound, max_ulps)
        }
        (Data::I32(w), Data::I32(g)) => first_diff(w, g),
        (Data::I64(w), Data::I64(g)) => first_diff(w, g),
        (Data::Bool(w), Data::Bool(g)) => first_diff(w, g),
        _ => Err("dtype mismatch".into()),
    }
}

/// Floats (f32 widened exactly to f64; `bits` gives the bits in the
/// original width): NaN matches any NaN; otherwise identical bits when
/// `bound` is 0, else at most `bound` ulps apart.
fn compare_floats(
    want: &[f64],
    got: &[f64],
    bits: fn(f64) -> u64,
    sign_bit: u64,
    bound: u64,
    max_ulps: &mut u64,
) -> Result<(), String> {
    for (i, (&w, &g)) in want.iter().zip(got).enumerate() {
        let ok = if w.is_nan() || g.is_nan() {
            w.is_nan() && g.is_nan()
        } else {
            let (wb, gb) = (bits(w), bits(g));
            let d = (ordered(wb, sign_bit) - ordered(gb, sign_bit)).unsigned_abs() as u64;
            *max_ulps = (*max_ulps).max(d);
            if bound == 0 {
                wb == gb
            } else {
                d <= bound
            }
        };
        if !ok {
            return Err(format!("element {i}: want {w:e}, got {g:e}"));
        }
    }
    Ok(())
}

fn first_diff<T: PartialEq + std::fmt::Debug>(w: &[T], g: &[T]) -> Result<(), String> {
    match w.iter().zip(g).position(|(a, b)| a != b) {
        Some(i) => Err(format!("element {i}: want {:?}, got {:?}", w[i], g[i])),
        None => Ok(()),
    }
}

#[test]
fn interpreter_matches_numpy() {
    let cases = load_cases();
    assert!(cases.len() > 500, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut max_ulps: BTreeMap<String, u64> = BTreeMap::new();
    for case in &cases {
        let f = match build_function(case) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{}: building the graph: {e}", case.name));
                continue;
            }
        };
        let got = match eval_function(&f, &case.inputs) {
            Ok(got) => got,
            Err(e) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        assert_eq!(got.len(), case.outputs.len(), "{}", case.name);
        let worst = max_ulps.entry(case.op.clone()).or_default();
        for (k, (want, got)) in case.outputs.iter().zip(&got).enumerate() {
            if let Err(e) = compare(&case.op, want, got, worst) {
                failures.push(format!("{} output {k}: {e}", case.name));
            }
        }
    }
    let inexact: Vec<String> =
        max_ulps.iter().filter(|(_, &u)| u > 0).map(|(op, u)| format!("{op}: {u}")).collect();
    eprintln!("largest ulp distance to numpy per op: {}", inexact.join(", "));
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), {
        failures.truncate(40);
        failures.join("\n")
    });
}

/// The dtype signature of an op use: its operand dtypes (repeats dropped)
/// and its result dtype, e.g. `f32,i64->f32` for a gather.
fn signature(operands: &[DType], result: DType) -> String {
    let mut seen: Vec<DType> = Vec::new();
    for &d in operands {
        if !seen.contains(&d) {
            seen.push(d);
        }
    }
    let ops: Vec<&str> = seen.iter().map(|d| d.name()).collect();
    format!("{}->{}", ops.join(","), result.name())
}

/// A small instance of op `kind` on dtypes `a` (and `b` for the second
/// dtype of convert, gather and scatter_add), with its operand types.
fn probe(kind: &str, a: DType, b: DType) -> (Op, Vec<Type>) {
    let v = |dt: DType| Type::new(dt, [2]);
    let dims = |d: &[usize]| d.iter().copied().collect::<gradlift_ir::Dims>();
    match kind {
        "constant" => {
            let value = Arc::new(Tensor::zeros_of(&v(a)).expect("zeros"));
            (Op::Constant { value }, vec![])
        }
        "iota" => (Op::Iota { dtype: a, shape: [2].into(), axis: 0 }, vec![]),
        "select" => (Op::Select, vec![v(DType::Bool), v(a), v(a)]),
        "convert" => (Op::Convert { to: b }, vec![v(a)]),
        "broadcast_in_dim" => {
            (Op::BroadcastInDim { shape: [3, 2].into(), dims: dims(&[1]) }, vec![v(a)])
        }
        "reshape" => (Op::Reshape { shape: [2, 1].into() }, vec![v(a)]),
        "transpose" => (Op::Transpose { perm: dims(&[0]) }, vec![v(a)]),
        "slice" => (
            Op::Slice(Box::new(SliceAttrs {
                start: dims(&[0]),
                limit: dims(&[2]),
                stride: dims(&[1]),
            })),
            vec![v(a)],
        ),
        "concatenate" => (Op::Concatenate { axis: 0 }, vec![v(a), v(a)]),
        "pad" => (
            Op::Pad(Box::new(PadAttrs {
                low: [1].into_iter().collect(),
                high: [0].into_iter().collect(),
                interior: dims(&[0]),
            })),
            vec![v(a), Type::scalar(a)],
        ),
        "reverse" => (Op::Reverse { axes: dims(&[0]) }, vec![v(a)]),
        "argmax" => (Op::Argmax { axis: 0 }, vec![v(a)]),
        "dot_general" => (
            Op::DotGeneral(Box::new(DotDims {
                lhs_batch: dims(&[]),
                rhs_batch: dims(&[]),
                lhs_contract: dims(&[0]),
                rhs_contract: dims(&[0]),
            })),
            vec![v(a), v(a)],
        ),
        "gather" => (Op::Gather { axis: 0 }, vec![v(a), v(b)]),
        "scatter_add" => (Op::ScatterAdd { axis: 0 }, vec![v(a), v(b), v(a)]),
        "stop_gradient" => (Op::StopGradient, vec![v(a)]),
        name => {
            let op = simple_op(name, || dims(&[0])).unwrap_or_else(|| panic!("unknown op {name}"));
            let n = match op {
                Op::Binary(_) | Op::Compare(_) => 2,
                _ => 1,
            };
            (op, vec![v(a); n])
        }
    }
}

/// Every op of `Op::all_kinds()` has a case, and for every dtype (pair)
/// its shape rule accepts, a case on that dtype (pair).
#[test]
fn fixtures_cover_every_op_and_dtype() {
    let cases = load_cases();
    let mut have: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for case in &cases {
        let operands: Vec<DType> = case.inputs.iter().map(|t| t.dtype()).collect();
        let sig = signature(&operands, case.outputs[0].dtype());
        have.entry(case.op.as_str()).or_default().insert(sig);
    }
    let kinds = Op::all_kinds();
    let mut missing = Vec::new();
    // custom_jvp calls a user function: no numpy counterpart; its semantics
    // (evaluate the primal function) are tested in interp_semantics.rs.
    for kind in kinds.iter().filter(|k| **k != "custom_jvp") {
        let mut want = BTreeSet::new();
        for a in DType::ALL {
            for b in DType::ALL {
                let (op, tys) = probe(kind, a, b);
                let refs: Vec<&Type> = tys.iter().collect();
                if let Ok(ty) = shape::infer(&op, &refs) {
                    let operands: Vec<DType> = tys.iter().map(|t| t.dtype).collect();
                    want.insert(signature(&operands, ty.dtype));
                }
            }
        }
        assert!(!want.is_empty(), "{kind}: the probe found no dtype it accepts");
        let got = have.get(kind).cloned().unwrap_or_default();
        for sig in want.difference(&got) {
            missing.push(format!("{kind} {sig}"));
        }
    }
    let unknown: Vec<&&str> = have.keys().filter(|k| !kinds.contains(k)).collect();
    assert!(unknown.is_empty(), "cases for ops that do not exist: {unknown:?}");
    assert!(missing.is_empty(), "no fixture case for:\n{}", missing.join("\n"));
}
