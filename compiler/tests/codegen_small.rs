//! Small kernels (fusion's `KernelKind::Small`): bodies whose values are
//! all tiny, with mixed shapes and reductions used inside, compiled into
//! one function of one unit and compared with the reference interpreter.
//!
//! Hand-written bodies cover softmax and normalisation chains
//! (reduce → broadcast → elementwise), several outputs of different
//! shapes, scalar-only graphs, every dtype, size-0 dims and results that
//! are parameters, constants or repeated; the tutorial's kinematics SGD
//! step is compiled from its fused program and its CLIF is snapshot; and
//! random graphs of the fusible op families are fused and every small
//! kernel is checked.
//!
//! **Tolerance.** Everything must match the interpreter as the other
//! kernel kinds do (integers and bools exactly, floats within 4 ulp),
//! except for what reductions legitimately change: float sums and
//! products are computed in another order than the interpreter's, within
//! `4 (√n + 1) eps Σ|x|` (`codegen_support::compare`), and here their
//! results flow on into other ops. So each float sum or product of the
//! body is perturbed, in turn and in both directions, by that bound (the
//! interpreter on a rewritten body: `r ± c · reduce(|x|)`), and each
//! result element may differ by up to twice the change the perturbations
//! cause there, summed over the reductions (first-order propagation of the
//! stated reduction tolerance). Where a perturbation makes a result
//! infinite or NaN the element is not constrained.
//!
//! `GRADLIFT_CODEGEN_SEEDS=N` runs N random programs instead of the
//! default; a failure names its seed, and `GRADLIFT_CODEGEN_SEED=S` reruns
//! just that one.

mod codegen_support;

use std::sync::Arc;

use codegen_support::{random_args, rng, ulps_f32, ulps_f64, Body, Values};
use gradlift_compiler::codegen::{clif_text_kind, kernel_kind, run_kernel, KernelCompiler};
use gradlift_compiler::fusion::{fuse, print_fused, KernelKind, Step};
use gradlift_ir::interp::eval_function;
use gradlift_ir::random_graph::{random_function, GraphConfig, OpFamily};
use gradlift_ir::{
    BinaryOp, CompareOp, DType, Data, Dims, Function, Op, ReduceKind, Tensor, UnaryOp, Value,
};
use gradlift_runtime::CompiledKernel;
use rand::Rng;

// ---- checking against the interpreter ------------------------------------

/// Compiles `bodies` as small kernels into one module.
fn compile_small(bodies: &[&Function]) -> Vec<CompiledKernel> {
    let mut c = KernelCompiler::new().expect("compiler");
    for b in bodies {
        if let Err(e) = c.add_kind(b.name(), b, &KernelKind::Small) {
            panic!("compiling @{}: {e}\n{b}", b.name());
        }
    }
    c.finish().expect("finalize")
}

/// Runs a small kernel and compares every result with the interpreter
/// (see the module docs for the tolerance).
fn check_small(kernel: &CompiledKernel, body: &Function, args: &[Tensor]) -> Result<(), String> {
    if kernel.units != 1 || kernel.finish.is_some() {
        return Err(format!("a small kernel has one unit and no finish: {kernel:?}"));
    }
    let want = eval_function(body, args).map_err(|e| format!("interpreter: {e}"))?;
    let got = run_kernel(kernel, body, args).map_err(|e| format!("jit: {e}"))?;
    let slack = reduction_slack(body, args, &want)?;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        compare_with_slack(g, w, &slack[i])
            .map_err(|m| format!("result {i} ({}): {m}\n jit: {g}\nwant: {w}", w.ty()))?;
    }
    Ok(())
}

/// Per result element: the change to first order that the float sums and
/// products of `body`, each off by its stated tolerance, cause.
fn reduction_slack(
    body: &Function,
    args: &[Tensor],
    want: &[Tensor],
) -> Result<Vec<Vec<f64>>, String> {
    let mut slack: Vec<Vec<f64>> = want.iter().map(|t| vec![0.0; t.ty().shape.size()]).collect();
    for (v, node) in body.instructions() {
        let Op::Reduce { kind: ReduceKind::Sum | ReduceKind::Prod, axes } = &node.op else {
            continue;
        };
        if axes.is_empty() || !node.ty.dtype.is_float() {
            continue;
        }
        let mut worst: Vec<Vec<f64>> = slack.iter().map(|s| vec![0.0; s.len()]).collect();
        for probe in [Probe::Up, Probe::Down, Probe::Nan] {
            let f = perturbed(body, v, probe).map_err(|e| format!("probe: {e}"))?;
            let vals = eval_function(&f, args).map_err(|e| format!("probe: {e}"))?;
            for (i, (p, w)) in vals.iter().zip(want).enumerate() {
                for (j, (a, b)) in p.to_f64_vec().into_iter().zip(w.to_f64_vec()).enumerate() {
                    let d = match (a.is_nan(), b.is_nan()) {
                        (true, true) => 0.0,
                        (false, false) if a == b => 0.0,
                        (false, false) => (a - b).abs(),
                        _ => f64::INFINITY,
                    };
                    let d = if d.is_nan() { f64::INFINITY } else { d };
                    worst[i][j] = worst[i][j].max(d);
                }
            }
        }
        for (s, w) in slack.iter_mut().zip(worst) {
            for (x, y) in s.iter_mut().zip(w) {
                *x += y;
            }
        }
    }
    Ok(slack)
}

/// How a probe perturbs a reduction.
#[derive(Clone, Copy)]
enum Probe {
    /// `+c · reduce(|x|)`; `+inf` where the order can overflow or underflow.
    Up,
    /// `-c · reduce(|x|)`; `-inf` there.
    Down,
    /// Unchanged; NaN there (`inf · 0` in some orders).
    Nan,
}

/// `body` with float reduction `r = reduce(x)` (sum or product) moved by
/// its stated tolerance `c · reduce(|x|)`, `c = 4 (√n + 1) eps` (n: the
/// elements folded into each result), as `probe` says. Where the result
/// depends on the order beyond that (a sum whose `Σ|x|` overflows; a
/// product whose partial products may overflow, `Π max(|x|, 1) = inf`, or
/// underflow, `Π min(|x|, 1) < MIN_POSITIVE` over non-zero factors), the
/// value is replaced by an infinity or NaN instead.
fn perturbed(body: &Function, r: Value, probe: Probe) -> Result<Function, gradlift_ir::IrError> {
    let mut f = Function::new("probe");
    let mut map: Vec<Value> = Vec::with_capacity(body.len());
    for (v, node) in body.iter() {
        let nv = match &node.op {
            Op::Parameter { .. } => f.add_param(None, node.ty.clone())?,
            op => {
                let args: Vec<Value> = node.args.iter().map(|a| map[a.index()]).collect();
                let y = f.push(op.clone(), &args, None)?;
                if v == r {
                    let x_dims = body.ty(node.args[0]).dims().to_vec();
                    move_reduction(&mut f, op, y, args[0], &x_dims, probe)?
                } else {
                    y
                }
            }
        };
        map.push(nv);
    }
    f.set_results(body.results().iter().map(|r| map[r.index()]).collect())?;
    Ok(f)
}

/// Appends the moved value of reduction `y = op(x)` to `f` (see
/// [`perturbed`]).
fn move_reduction(
    f: &mut Function,
    op: &Op,
    y: Value,
    x: Value,
    x_dims: &[usize],
    probe: Probe,
) -> Result<Value, gradlift_ir::IrError> {
    let Op::Reduce { kind, axes } = op else { unreachable!("a reduction") };
    let ty = f.ty(y).clone();
    let dt = ty.dtype;
    let push = |f: &mut Function, op: Op, args: &[Value]| f.push(op, args, None);
    let konst =
        |f: &mut Function, x: f64, shape: &[usize]| -> Result<Value, gradlift_ir::IrError> {
            let c = f.push(Op::Constant { value: Arc::new(scalar(dt, x)) }, &[], None)?;
            f.push(
                Op::BroadcastInDim { shape: gradlift_ir::Shape::new(shape), dims: Dims::new() },
                &[c],
                None,
            )
        };
    let reduce = |f: &mut Function, k: ReduceKind, a: Value| {
        f.push(Op::Reduce { kind: k, axes: axes.clone() }, &[a], None)
    };
    let n: usize = axes.iter().map(|&a| x_dims[a]).product();
    let eps = if dt == DType::F32 { f64::from(f32::EPSILON) } else { f64::EPSILON };
    let c = 4.0 * ((n as f64).sqrt() + 1.0) * eps;
    let a = push(f, Op::Unary(UnaryOp::Abs), &[x])?;
    let scale = reduce(f, *kind, a)?;
    let inf = konst(f, f64::INFINITY, ty.dims())?;
    let risk = if *kind == ReduceKind::Sum {
        push(f, Op::Compare(CompareOp::Eq), &[scale, inf])?
    } else {
        let one = konst(f, 1.0, x_dims)?;
        let zero = konst(f, 0.0, x_dims)?;
        let big = push(f, Op::Binary(BinaryOp::Max), &[a, one])?;
        let hi = reduce(f, ReduceKind::Prod, big)?;
        let over = push(f, Op::Compare(CompareOp::Eq), &[hi, inf])?;
        let small = push(f, Op::Binary(BinaryOp::Min), &[a, one])?;
        let is_zero = push(f, Op::Compare(CompareOp::Eq), &[a, zero])?;
        let small = push(f, Op::Select, &[is_zero, one, small])?;
        let lo = reduce(f, ReduceKind::Prod, small)?;
        let tiny = if dt == DType::F32 { f64::from(f32::MIN_POSITIVE) } else { f64::MIN_POSITIVE };
        let tiny = konst(f, tiny, ty.dims())?;
        let under = push(f, Op::Compare(CompareOp::Lt), &[lo, tiny])?;
        push(f, Op::Binary(BinaryOp::Or), &[over, under])?
    };
    let (step, wild) = match probe {
        Probe::Up => (c, f64::INFINITY),
        Probe::Down => (-c, f64::NEG_INFINITY),
        Probe::Nan => (0.0, f64::NAN),
    };
    let step = konst(f, step, ty.dims())?;
    let normal = push(f, Op::Binary(BinaryOp::Mul), &[scale, step])?;
    let moved = push(f, Op::Binary(BinaryOp::Add), &[y, normal])?;
    let wild = konst(f, wild, ty.dims())?;
    push(f, Op::Select, &[risk, wild, moved])
}

fn scalar(dt: DType, x: f64) -> Tensor {
    match dt {
        DType::F32 => Tensor::scalar(x as f32),
        DType::F64 => Tensor::scalar(x),
        DType::I32 => Tensor::scalar(x as i32),
        DType::I64 => Tensor::scalar(x as i64),
        DType::Bool => Tensor::scalar(x != 0.0),
    }
}

/// Integers and bools exactly, floats within 4 ulp (NaN matching NaN), or
/// within twice the slack.
fn compare_with_slack(got: &Tensor, want: &Tensor, slack: &[f64]) -> Result<(), String> {
    if got.dtype() != want.dtype() || got.dims() != want.dims() {
        return Err(format!("type {} vs {}", got.ty(), want.ty()));
    }
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    for i in 0..g.len() {
        let close = match (got.data(), want.data()) {
            (Data::F32(a), Data::F32(b)) => ulps_f32(a[i], b[i]) <= 4,
            (Data::F64(a), Data::F64(b)) => ulps_f64(a[i], b[i]) <= 4,
            (Data::I32(a), Data::I32(b)) => a[i] == b[i],
            (Data::I64(a), Data::I64(b)) => a[i] == b[i],
            (Data::Bool(a), Data::Bool(b)) => a[i] == b[i],
            _ => false,
        };
        let explained = !slack[i].is_finite() || (g[i] - w[i]).abs() <= 2.0 * slack[i];
        if !close && !explained {
            return Err(format!("element {i}: {} vs {} (slack {})", g[i], w[i], slack[i]));
        }
    }
    Ok(())
}

/// Compiles every body as a small kernel and checks each on `reps`
/// random argument sets.
fn check_all(bodies: &[Function], values: Values, reps: usize, seed: u64) {
    let refs: Vec<&Function> = bodies.iter().collect();
    let kernels = compile_small(&refs);
    let mut r = rng(seed);
    for (k, body) in kernels.iter().zip(bodies) {
        for _ in 0..reps {
            let args = random_args(&mut r, body, values);
            if let Err(e) = check_small(k, body, &args) {
                panic!("@{}: {e}\nbody: {body}\nargs: {args:?}", body.name());
            }
        }
    }
}

/// The header lines of `clif_text_kind` (kernel and stages).
fn header(body: &Function) -> String {
    let text = clif_text_kind(body, &KernelKind::Small).expect("clif");
    text.lines().filter(|l| l.starts_with(';')).collect::<Vec<_>>().join("\n")
}

fn stages(body: &Function) -> usize {
    header(body).lines().filter(|l| l.starts_with("; stage")).count()
}

// ---- the tutorial's kinematics SGD step ------------------------------------

/// The kinematics SGD step, traced by the facade (see the `.gir`), fused:
/// exactly one small kernel, whose body is returned.
fn kinematics_kernel_body() -> Function {
    let text = include_str!("data/kinematics_sgd_step.gir");
    let f = gradlift_ir::text::parse_function(text, "data/kinematics_sgd_step.gir").expect("parse");
    let prog = fuse(&f).expect("fuse");
    assert_eq!(prog.num_kernels(), 1, "{}", print_fused(&prog));
    assert_eq!(prog.num_library_calls(), 0, "{}", print_fused(&prog));
    match &prog.steps[0] {
        Step::Kernel { kind: KernelKind::Small, body, .. } => body.clone(),
        _ => panic!("expected one small kernel:\n{}", print_fused(&prog)),
    }
}

#[test]
fn kinematics_sgd_step_is_one_call_matching_the_interpreter() {
    let body = kinematics_kernel_body();
    let ks = compile_small(&[&body]);
    let k = &ks[0];
    assert_eq!((k.units, k.grain), (1, 1));
    // The four gradient sums share one pass over [10,2]; the loss and the
    // updates follow.
    assert_eq!(stages(&body), 4, "{}", header(&body));
    // The tutorial's data: the true trajectory, parameters off by a bit.
    let t: Vec<f32> = (0..10).map(|i| i as f32 * 5.0 / 9.0).collect();
    let target: Vec<f32> =
        t.iter().flat_map(|&t| [5.0 * t, 10.0 + 10.0 * t - 4.9 * t * t]).collect();
    // Parameters in the body's order: v0, t, x0, a, target.
    let args = vec![
        Tensor::from_vec([1, 2], vec![4.0f32, 11.0]).expect("v0"),
        Tensor::from_vec([10, 1], t).expect("t"),
        Tensor::from_vec([1, 2], vec![0.5f32, 9.0]).expect("x0"),
        Tensor::from_vec([1, 2], vec![0.1f32, -9.0]).expect("a"),
        Tensor::from_vec([10, 2], target).expect("target"),
    ];
    let params: Vec<&str> = body.params().map(|p| body.value_name(p).unwrap_or("?")).collect();
    assert_eq!(params, ["v0", "t", "x0", "a", "target"]);
    check_small(k, &body, &args).unwrap();
    let mut r = rng(1);
    for _ in 0..50 {
        let args = random_args(&mut r, &body, Values::Tame);
        check_small(k, &body, &args).unwrap();
    }
}

/// The CLIF of the kinematics step's kernel: four stages in one function
/// (the sibling column sums with strided packets, the loss sum, the loss,
/// the three updates), intermediates at scratch offsets.
#[test]
fn kinematics_sgd_step_clif() {
    let body = kinematics_kernel_body();
    insta::assert_snapshot!(clif_text_kind(&body, &KernelKind::Small).unwrap());
}

// ---- hand-written bodies ------------------------------------------------------

/// softmax and log-sum-exp over the last axis of `x`: max, exp of the
/// difference, sum, divide.
fn softmax(dt: DType, shape: &[usize]) -> Function {
    let mut b = Body::new(&format!("softmax_{dt}_{shape:?}"));
    let x = b.param(dt, shape);
    let last = shape.len() - 1;
    let kept: Vec<usize> = (0..last).collect();
    let m = b.reduce(ReduceKind::Max, x, &[last]);
    let mb = b.broadcast(m, &kept, shape);
    let d = b.binary(BinaryOp::Sub, x, mb);
    let e = b.unary(UnaryOp::Exp, d);
    let s = b.reduce(ReduceKind::Sum, e, &[last]);
    let sb = b.broadcast(s, &kept, shape);
    let y = b.binary(BinaryOp::Div, e, sb);
    let ls = b.unary(UnaryOp::Log, s);
    let lse = b.binary(BinaryOp::Add, ls, m);
    b.finish(&[y, lse])
}

#[test]
fn softmax_rows() {
    let mut bodies = Vec::new();
    for dt in [DType::F32, DType::F64] {
        for shape in [&[4usize, 7][..], &[2, 100], &[16, 16], &[1, 1], &[3, 1, 5], &[256]] {
            bodies.push(softmax(dt, shape));
        }
    }
    check_all(&bodies, Values::Tame, 5, 2);
    check_all(&bodies, Values::Special, 5, 3);
    // exp(x - max) is read by the sum and by the division: computed once,
    // beside the sum, and read back. Stages: max; exp and sum; divide;
    // log-sum-exp (another shape).
    let body = softmax(DType::F32, &[4, 7]);
    assert_eq!(stages(&body), 4, "{}", header(&body));
}

/// Column normalisation of `x[r, c]` (over axis 0, as batch norm), with
/// the mean, the variance and the total of squares as further outputs of
/// three shapes.
fn normalise(dt: DType, r: usize, c: usize, transposed: bool) -> Function {
    let mut b = Body::new(&format!("norm_{dt}_{r}x{c}_{transposed}"));
    let x = if transposed {
        let p = b.param(dt, &[c, r]);
        b.transpose(p, &[1, 0])
    } else {
        b.param(dt, &[r, c])
    };
    let n = b.scalar(dt, r as f64);
    let nb = b.broadcast(n, &[], &[c]);
    let sum = b.reduce(ReduceKind::Sum, x, &[0]);
    let mean = b.binary(BinaryOp::Div, sum, nb);
    let mb = b.broadcast(mean, &[1], &[r, c]);
    let centred = b.binary(BinaryOp::Sub, x, mb);
    let sq = b.binary(BinaryOp::Mul, centred, centred);
    let ss = b.reduce(ReduceKind::Sum, sq, &[0]);
    let var = b.binary(BinaryOp::Div, ss, nb);
    let eps = b.scalar(dt, 1e-5);
    let eb = b.broadcast(eps, &[], &[c]);
    let ve = b.binary(BinaryOp::Add, var, eb);
    let inv = b.unary(UnaryOp::Rsqrt, ve);
    let ib = b.broadcast(inv, &[1], &[r, c]);
    let y = b.binary(BinaryOp::Mul, centred, ib);
    let y2 = b.binary(BinaryOp::Mul, y, y);
    let total = b.reduce(ReduceKind::Sum, y2, &[0, 1]);
    b.finish(&[y, mean, var, total])
}

#[test]
fn normalisation_with_outputs_of_several_shapes() {
    let mut bodies = Vec::new();
    for dt in [DType::F32, DType::F64] {
        for (r, c) in [(8, 5), (3, 1), (1, 9), (16, 16), (13, 2)] {
            for transposed in [false, true] {
                bodies.push(normalise(dt, r, c, transposed));
            }
        }
    }
    check_all(&bodies, Values::Tame, 5, 4);
}

#[test]
fn scalar_only_graphs() {
    let mut bodies = Vec::new();
    for dt in [DType::F32, DType::F64] {
        let mut b = Body::new(&format!("scalars_{dt}"));
        let x = b.param(dt, &[]);
        let y = b.param(dt, &[]);
        let one = b.scalar(dt, 1.0);
        let xy = b.binary(BinaryOp::Mul, x, y);
        let c = b.binary(BinaryOp::Add, xy, one);
        let e = b.unary(UnaryOp::Tanh, c);
        let same = b.reduce(ReduceKind::Sum, e, &[]);
        let gt = b.compare(CompareOp::Gt, x, y);
        let s = b.select(gt, same, c);
        // A size-1 vector reduced back to a scalar, then used.
        let v = b.reshape(s, &[1]);
        let r = b.reduce(ReduceKind::Sum, v, &[0]);
        let z = b.binary(BinaryOp::Sub, r, x);
        let three = b.scalar(dt, 3.0);
        bodies.push(b.finish(&[z, c, x, three]));
    }
    check_all(&bodies, Values::Special, 20, 5);
}

/// Integer reductions used inside (exact, any order), bool masks and
/// conversions between every dtype.
#[test]
fn every_dtype() {
    let mut bodies = Vec::new();
    for dt in [DType::I32, DType::I64, DType::F32, DType::F64] {
        let mut b = Body::new(&format!("dtypes_{dt}"));
        let x = b.param(dt, &[5, 6]);
        let rows = b.reduce(ReduceKind::Sum, x, &[1]);
        let cols = b.reduce(ReduceKind::Prod, x, &[0]);
        let top = b.reduce(ReduceKind::Max, x, &[0, 1]);
        let low = b.reduce(ReduceKind::Min, x, &[0, 1]);
        let tb = b.broadcast(top, &[], &[5, 6]);
        let y = b.binary(BinaryOp::Sub, x, tb);
        let rb = b.broadcast(rows, &[0], &[5, 6]);
        let z = b.binary(BinaryOp::Mul, y, rb);
        let lb = b.broadcast(low, &[], &[5, 6]);
        let mask = b.compare(CompareOp::Gt, x, lb);
        let count = b.convert(mask, DType::I32);
        let count = b.reduce(ReduceKind::Sum, count, &[0]);
        let any = b.reduce(ReduceKind::Max, count, &[0]);
        let anyb = b.broadcast(any, &[], &[6]);
        let has = b.compare(CompareOp::Eq, count, anyb);
        let cf = b.convert(cols, DType::F64);
        let cols_i = b.convert(cf, DType::I64);
        bodies.push(b.finish(&[z, mask, count, has, cols_i, top]));
    }
    check_all(&bodies, Values::Tame, 10, 6);
    check_all(&bodies[..2], Values::Special, 10, 7);
}

#[test]
fn size_zero_dims() {
    let mut bodies = Vec::new();
    for dt in [DType::F32, DType::I64] {
        let mut b = Body::new(&format!("empty_{dt}"));
        let x = b.param(dt, &[0, 3]);
        let w = b.param(dt, &[3]);
        let s = b.reduce(ReduceKind::Sum, x, &[0]);
        let y = b.binary(BinaryOp::Add, s, w);
        let m = b.reduce(ReduceKind::Max, x, &[0, 1]);
        let mb = b.broadcast(m, &[], &[3]);
        let z = b.binary(BinaryOp::Max, y, mb);
        let two = b.scalar(dt, 2.0);
        let tb = b.broadcast(two, &[], &[0, 3]);
        let x2 = b.binary(BinaryOp::Mul, x, tb);
        let t = b.transpose(x2, &[1, 0]);
        let r = b.reduce(ReduceKind::Prod, t, &[1]);
        let u = b.binary(BinaryOp::Sub, z, r);
        bodies.push(b.finish(&[u, m, x2]));
    }
    // Nothing but empty values, and an empty intermediate value.
    let mut b = Body::new("all_empty");
    let x = b.param(DType::F32, &[2, 0]);
    let e = b.unary(UnaryOp::Exp, x);
    let s = b.reduce(ReduceKind::Sum, e, &[0]);
    let n = b.unary(UnaryOp::Neg, s);
    let r = b.reduce(ReduceKind::Sum, e, &[1]);
    bodies.push(b.finish(&[n, r]));
    check_all(&bodies, Values::Tame, 3, 8);
}

#[test]
fn results_that_are_parameters_constants_or_repeated() {
    let mut b = Body::new("odd_results");
    let x = b.param(DType::F32, &[3, 4]);
    let k = b.constant(Tensor::from_vec([2], vec![1.5f32, -2.0]).expect("constant"));
    let s = b.reduce(ReduceKind::Sum, x, &[1]);
    let e = b.unary(UnaryOp::Exp, s);
    let body = b.finish(&[e, x, k, e, s, x]);
    check_all(&[body], Values::Tame, 5, 9);
}

/// Many materialised values with short lives: the scratch buffer reuses
/// the space of values whose last reader has run.
#[test]
fn scratch_is_reused() {
    let mut b = Body::new("chain");
    let mut x = b.param(DType::F64, &[16, 16]);
    for _ in 0..6 {
        let s = b.reduce(ReduceKind::Sum, x, &[1]);
        let sb = b.broadcast(s, &[0], &[16, 16]);
        x = b.binary(BinaryOp::Sub, x, sb);
        let e = b.unary(UnaryOp::Sin, x);
        let m = b.reduce(ReduceKind::Max, e, &[0]);
        let mb = b.broadcast(m, &[1], &[16, 16]);
        x = b.binary(BinaryOp::Mul, e, mb);
    }
    let body = b.finish(&[x]);
    let ks = compile_small(&[&body]);
    // 2 KiB per [16,16] f64 value: without reuse the chain would need
    // about 6 * (2 KiB + 2 * 128 B).
    assert!(ks[0].scratch_bytes.iter().sum::<usize>() <= 2 * 2048 + 4 * 128, "{:?}", ks[0]);
    let mut r = rng(10);
    for _ in 0..5 {
        let args = random_args(&mut r, &body, Values::Tame);
        check_small(&ks[0], &body, &args).unwrap_or_else(|e| panic!("{e}\n{}", header(&body)));
    }
}

/// Bodies beyond fusion's small bound compile as small kernels too (one
/// thread; loop stages of several units, reductions never chunked).
#[test]
fn larger_bodies_compile_as_small_too() {
    let mut b = Body::new("big");
    let x = b.param(DType::F32, &[200, 150]);
    let s = b.reduce(ReduceKind::Sum, x, &[0, 1]);
    let sb = b.broadcast(s, &[], &[200, 150]);
    let y = b.binary(BinaryOp::Sub, x, sb);
    let cols = b.reduce(ReduceKind::Max, y, &[0]);
    let body = b.finish(&[y, cols, s]);
    assert!(kernel_kind(&body).is_err());
    check_all(&[body], Values::Tame, 2, 11);
}

/// `add` picks the kind from the body: one loop nest when it is one,
/// small when not but tiny, else the loop nest's error.
#[test]
fn kind_from_the_body() {
    let mut b = Body::new("loop");
    let x = b.param(DType::F32, &[10]);
    let y = b.unary(UnaryOp::Neg, x);
    assert_eq!(kernel_kind(&b.finish(&[y])).unwrap(), KernelKind::Loop);
    let mut b = Body::new("reduce");
    let x = b.param(DType::F32, &[10, 3]);
    let y = b.reduce(ReduceKind::Sum, x, &[0]);
    assert_eq!(kernel_kind(&b.finish(&[y])).unwrap(), KernelKind::Reduce);
    assert_eq!(kernel_kind(&softmax(DType::F32, &[4, 7])).unwrap(), KernelKind::Small);
    assert!(kernel_kind(&softmax(DType::F32, &[4, 70])).is_err());
    // `add` compiles the small body, and `clif_text` prints its stages.
    let body = normalise(DType::F64, 8, 5, true);
    let mut c = KernelCompiler::new().unwrap();
    c.add("norm", &body).unwrap();
    let k = c.finish().unwrap().remove(0);
    check_small(&k, &body, &random_args(&mut rng(12), &body, Values::Tame)).unwrap();
    let text = gradlift_compiler::codegen::clif_text(&body).unwrap();
    assert!(text.starts_with("; kernel @norm_f64_8x5_true: Small"), "{text}");
    // Ops that are library calls are errors, small or not.
    let mut b = Body::new("dot");
    let x = b.param(DType::F32, &[2, 3]);
    let y = b.op(
        Op::DotGeneral(Box::new(gradlift_ir::DotDims {
            lhs_batch: Dims::new(),
            rhs_batch: Dims::new(),
            lhs_contract: Dims::from_slice(&[1]),
            rhs_contract: Dims::from_slice(&[1]),
        })),
        &[x, x],
    );
    let body = b.finish(&[y]);
    assert!(kernel_kind(&body).unwrap_err().to_string().contains("dot_general"));
    let mut c = KernelCompiler::new().unwrap();
    assert!(c.add_kind("dot", &body, &KernelKind::Small).is_err());
}

// ---- random fused programs -------------------------------------------------

const DEFAULT_SEEDS: u64 = 2000;
const BATCH: usize = 50;

fn random_config() -> GraphConfig {
    GraphConfig {
        families: vec![
            OpFamily::Constant,
            OpFamily::Iota,
            OpFamily::Unary,
            OpFamily::Binary,
            OpFamily::Compare,
            OpFamily::Select,
            OpFamily::Convert,
            OpFamily::BroadcastInDim,
            OpFamily::Reshape,
            OpFamily::Transpose,
            OpFamily::Slice,
            OpFamily::Reverse,
            OpFamily::StopGradient,
            // Three times: reductions used inside are what small kernels
            // add over loop and reduction kernels.
            OpFamily::Reduce,
            OpFamily::Reduce,
            OpFamily::Reduce,
        ],
        max_elements: 256,
        ..GraphConfig::default()
    }
}

/// Random graphs of the fusible op families with values of at most 256
/// elements, fused; every small kernel is compiled (a batch of programs
/// per JIT module) and checked against the interpreter on its body.
#[test]
fn random_fused_programs_match_the_interpreter() {
    let seeds: Vec<u64> = match std::env::var("GRADLIFT_CODEGEN_SEED") {
        Ok(s) => vec![s.parse().expect("GRADLIFT_CODEGEN_SEED")],
        Err(_) => {
            let n = std::env::var("GRADLIFT_CODEGEN_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_SEEDS);
            (0..n).collect()
        }
    };
    let cfg = random_config();
    let (mut programs, mut kernels, mut with_inner_reductions) = (0, 0, 0);
    for batch in seeds.chunks(BATCH) {
        let mut bodies: Vec<(u64, Function)> = Vec::new();
        for &seed in batch {
            let f = random_function(seed, &cfg);
            let prog = fuse(&f).unwrap_or_else(|e| panic!("seed {seed}: fusion failed: {e}\n{f}"));
            let mut any = false;
            for step in prog.steps {
                if let Step::Kernel { kind: KernelKind::Small, body, .. } = step {
                    any = true;
                    if body.instructions().any(|(v, n)| {
                        matches!(&n.op, Op::Reduce { axes, .. } if !axes.is_empty())
                            && !body.results().contains(&v)
                    }) {
                        with_inner_reductions += 1;
                    }
                    bodies.push((seed, body));
                }
            }
            programs += usize::from(any);
        }
        let mut c = KernelCompiler::new().expect("compiler");
        for (seed, body) in &bodies {
            if let Err(e) = c.add_kind(body.name(), body, &KernelKind::Small) {
                panic!("seed {seed}: compile error: {e}\n{body}");
            }
        }
        let compiled = c.finish().expect("finalize");
        for ((seed, body), k) in bodies.iter().zip(&compiled) {
            let mut r = rng(*seed);
            let values = if r.gen_bool(0.5) { Values::Special } else { Values::Tame };
            let args = random_args(&mut r, body, values);
            if let Err(e) = check_small(k, body, &args) {
                panic!("seed {seed}: {e}\nbody: {body}\n{}\nargs: {args:?}", header(body));
            }
            kernels += 1;
        }
    }
    println!(
        "{programs} programs, {kernels} small kernels ({with_inner_reductions} with reductions \
         used inside)"
    );
    if seeds.len() >= 1000 {
        assert!(programs >= 1000, "only {programs} programs had a small kernel");
        assert!(with_inner_reductions > programs / 10, "too few reductions used inside");
    }
}
