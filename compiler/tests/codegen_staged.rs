//! Math functions handed to the batch functions (`math::batch`): vector
//! loops that evaluate tanh, exp or logistic (f32 or f64) run in blocks,
//! with the function applied by a wider rustc-compiled loop in between.
//! The results must be the bits of the inline code (staging on and off),
//! and agree with the interpreter, for loops, row reductions (chunked too),
//! side outputs, chains of staged functions, broadcasts and strided reads;
//! kernels that must not stage (short rows, too many functions, column
//! reductions) do not.

mod codegen_support;

use codegen_support::{check, random_args, rng, Body, Values};
use gradlift_compiler::codegen::math::{host_width, tanh_f32_lane};
use gradlift_compiler::codegen::{clif_text, run_kernel, KernelCompiler};
use gradlift_ir::{BinaryOp, DType, Data, Function, ReduceKind, Tensor, UnaryOp};
use gradlift_runtime::CompiledKernel;

/// `sum(tanh(x * 0.7 + 0.1)^2)` over f32[n] (workload W4's forward).
fn w4(n: usize) -> Function {
    let mut b = Body::new(&format!("w4_{n}"));
    let x = b.param(DType::F32, &[n]);
    let w = b.scalar(DType::F32, 0.7);
    let w = b.broadcast(w, &[], &[n]);
    let c = b.scalar(DType::F32, 0.1);
    let c = b.broadcast(c, &[], &[n]);
    let y = b.binary(BinaryOp::Mul, x, w);
    let y = b.binary(BinaryOp::Add, y, c);
    let t = b.unary(UnaryOp::Tanh, y);
    let sq = b.binary(BinaryOp::Mul, t, t);
    let s = b.reduce(ReduceKind::Sum, sq, &[0]);
    b.finish(&[s])
}

fn tanh_of(name: &str, dt: DType, dims: &[usize]) -> Function {
    let mut b = Body::new(name);
    let x = b.param(dt, dims);
    let t = b.unary(UnaryOp::Tanh, x);
    b.finish(&[t])
}

/// `y = tanh(2 tanh(x) + x)`, returning `y tanh(x) + x`: the second
/// staged argument reads the first's buffer, and the body reads both and
/// `x` again.
fn chain(dims: &[usize]) -> Function {
    let mut b = Body::new("chain");
    let x = b.param(DType::F32, dims);
    let t = b.unary(UnaryOp::Tanh, x);
    let two = b.scalar(DType::F32, 2.0);
    let two = b.broadcast(two, &[], dims);
    let u = b.binary(BinaryOp::Mul, t, two);
    let u = b.binary(BinaryOp::Add, u, x);
    let y = b.unary(UnaryOp::Tanh, u);
    let r = b.binary(BinaryOp::Mul, y, t);
    let r = b.binary(BinaryOp::Add, r, x);
    b.finish(&[r])
}

/// Row sums of `tanh(x + bias)` over f32[rows, cols] with the biased
/// values returned too (a side output of the reduction).
fn row_sums_with_side_output(rows: usize, cols: usize) -> Function {
    let mut b = Body::new("rows");
    let x = b.param(DType::F32, &[rows, cols]);
    let bias = b.param(DType::F32, &[cols]);
    let bb = b.broadcast(bias, &[1], &[rows, cols]);
    let y = b.binary(BinaryOp::Add, x, bb);
    let t = b.unary(UnaryOp::Tanh, y);
    let s = b.reduce(ReduceKind::Sum, t, &[1]);
    let three = b.scalar(DType::F32, 3.0);
    let three = b.broadcast(three, &[], &[rows, cols]);
    let side = b.binary(BinaryOp::Mul, t, three);
    b.finish(&[s, side])
}

/// `tanh` of a transposed f32[cols, rows]: the vector loop reads with a
/// stride.
fn transposed(rows: usize, cols: usize) -> Function {
    let mut b = Body::new("transposed");
    let x = b.param(DType::F32, &[cols, rows]);
    let t = b.transpose(x, &[1, 0]);
    let y = b.unary(UnaryOp::Tanh, t);
    let m = b.reduce(ReduceKind::Max, y, &[1]);
    b.finish(&[m, y])
}

/// Five nested tanh: more than a kernel stages.
fn five_tanh(n: usize) -> Function {
    let mut b = Body::new("five");
    let x = b.param(DType::F32, &[n]);
    let mut y = x;
    for _ in 0..5 {
        y = b.unary(UnaryOp::Tanh, y);
        y = b.binary(BinaryOp::Add, y, x);
    }
    b.finish(&[y])
}

/// A soft cut: `sum(logistic((x - 0.3) 10) w)` over f32[n], and
/// `sum(exp(x - 1) w)` beside it (two staged functions, two reductions).
fn soft_cut(dt: DType, n: usize) -> Function {
    let mut b = Body::new("soft_cut");
    let x = b.param(dt, &[n]);
    let w = b.param(dt, &[n]);
    let a = b.scalar(dt, 0.3);
    let a = b.broadcast(a, &[], &[n]);
    let k = b.scalar(dt, 10.0);
    let k = b.broadcast(k, &[], &[n]);
    let d = b.binary(BinaryOp::Sub, x, a);
    let d = b.binary(BinaryOp::Mul, d, k);
    let l = b.unary(UnaryOp::Logistic, d);
    let lw = b.binary(BinaryOp::Mul, l, w);
    let s = b.reduce(ReduceKind::Sum, lw, &[0]);
    let one = b.scalar(dt, 1.0);
    let one = b.broadcast(one, &[], &[n]);
    let e = b.binary(BinaryOp::Sub, x, one);
    let e = b.unary(UnaryOp::Exp, e);
    let ew = b.binary(BinaryOp::Mul, e, w);
    let t = b.reduce(ReduceKind::Sum, ew, &[0]);
    b.finish(&[s, t])
}

/// Column sums of tanh (a column reduction: not staged).
fn column_sums(rows: usize, cols: usize) -> Function {
    let mut b = Body::new("cols");
    let x = b.param(DType::F32, &[rows, cols]);
    let t = b.unary(UnaryOp::Tanh, x);
    let s = b.reduce(ReduceKind::Sum, t, &[0]);
    b.finish(&[s])
}

fn bodies() -> Vec<Function> {
    let mut v: Vec<Function> = [1, 63, 64, 65, 511, 512, 513, 5000, 70_001].map(w4).into();
    v.push(tanh_of("plain", DType::F32, &[4099]));
    v.push(tanh_of("plain2d", DType::F32, &[3, 1000]));
    v.push(tanh_of("plain_f64", DType::F64, &[1000]));
    v.push(chain(&[2, 777]));
    v.push(row_sums_with_side_output(37, 130));
    v.push(row_sums_with_side_output(3, 1030));
    v.push(transposed(9, 300));
    v.push(five_tanh(1000));
    v.push(column_sums(130, 37));
    v.push(soft_cut(DType::F32, 100));
    v.push(soft_cut(DType::F32, 40_000));
    v.push(soft_cut(DType::F64, 1000));
    v.push(tanh_of("plain2d_f64", DType::F64, &[3, 1000]));
    v
}

fn compile(bodies: &[Function], batch: bool) -> Vec<CompiledKernel> {
    let mut c = KernelCompiler::new().expect("compiler");
    c.set_batch_math(batch);
    for b in bodies {
        c.add(b.name(), b).unwrap_or_else(|e| panic!("compiling @{}: {e}", b.name()));
    }
    c.finish().expect("finalize")
}

fn bits(t: &Tensor) -> Vec<u64> {
    match t.data() {
        Data::F32(v) => v.iter().map(|x| x.to_bits() as u64).collect(),
        Data::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
        other => panic!("unexpected data {other:?}"),
    }
}

#[test]
fn staged_kernels_give_the_bits_of_inline_code() {
    let bodies = bodies();
    let staged = compile(&bodies, true);
    let inline = compile(&bodies, false);
    let mut r = rng(41);
    for ((s, i), body) in staged.iter().zip(&inline).zip(&bodies) {
        for values in [Values::Tame, Values::Special, Values::Special] {
            let args = random_args(&mut r, body, values);
            if let Err(e) = check(s, body, &args, &mut r) {
                panic!("@{} staged: {e}", body.name());
            }
            let a = run_kernel(s, body, &args).expect("staged run");
            let b = run_kernel(i, body, &args).expect("inline run");
            for (k, (a, b)) in a.iter().zip(&b).enumerate() {
                assert_eq!(
                    bits(a),
                    bits(b),
                    "@{} result {k}: staged and inline differ",
                    body.name()
                );
            }
        }
    }
}

/// Every element of a staged elementwise tanh is the lane function's
/// value (the algorithm the inline CLIF and the batch functions share).
#[test]
fn staged_elements_are_the_lane_function() {
    let body = tanh_of("plain", DType::F32, &[10_000]);
    let k = &compile(std::slice::from_ref(&body), true)[0];
    let x: Vec<f32> = (0..10_000).map(|i| (i as f32 - 5000.0) * 0.0023).collect();
    let out = run_kernel(k, &body, &[Tensor::from_vec([10_000], x.clone()).unwrap()]).unwrap();
    let Data::F32(y) = out[0].data() else { panic!("f32 result") };
    for (xi, yi) in x.iter().zip(y.iter()) {
        assert_eq!(yi.to_bits(), tanh_f32_lane(*xi).to_bits(), "tanh({xi})");
    }
}

/// Which kernels call a batch function (where the host has them).
#[test]
fn only_long_vector_loops_stage() {
    if host_width().is_none() {
        return;
    }
    let calls = |f: &Function| clif_text(f).unwrap().contains("call fn");
    assert!(calls(&w4(5000)));
    // The header names the import.
    assert!(clif_text(&w4(5000)).unwrap().contains(" = gradlift_batch_tanh_f32\n"));
    assert!(calls(&w4(64)));
    assert!(calls(&tanh_of("plain2d", DType::F32, &[3, 1000])));
    assert!(calls(&chain(&[2, 777])));
    assert!(calls(&row_sums_with_side_output(37, 130)));
    assert!(calls(&soft_cut(DType::F32, 100)));
    assert!(calls(&soft_cut(DType::F64, 100)));
    assert!(calls(&tanh_of("plain_f64", DType::F64, &[1000])));
    // A range of 63 is too short; five staged functions are too many;
    // column reductions do not stage.
    assert!(!calls(&w4(63)));
    assert!(!calls(&five_tanh(1000)));
    assert!(!calls(&column_sums(130, 37)));
}
