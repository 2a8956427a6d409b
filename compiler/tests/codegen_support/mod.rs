//! Shared helpers of the code generation tests: a small body builder, a
//! checker that runs a kernel (whole, and over random unit splits) against
//! the reference interpreter with the stated tolerances, and random data
//! with special values.

#![allow(dead_code)]

use std::ops::Range;
use std::sync::Arc;

use gradlift_compiler::codegen::{run_kernel, run_kernel_ranges, KernelCompiler};
use gradlift_ir::interp::eval_function;
use gradlift_ir::{
    BinaryOp, CompareOp, DType, Data, Dims, Function, Op, ReduceKind, Shape, SliceAttrs, Tensor,
    Type, UnaryOp, Value,
};
use gradlift_runtime::CompiledKernel;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Builds a kernel body op by op; panics on shape-rule errors (tests build
/// valid bodies).
pub struct Body {
    pub f: Function,
}

impl Body {
    /// A body named `name` with every character outside `[A-Za-z0-9_]`
    /// replaced by `_`.
    pub fn new(name: &str) -> Body {
        let name: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        Body { f: Function::new(name) }
    }

    pub fn param(&mut self, dt: DType, dims: &[usize]) -> Value {
        self.f.add_param(None, Type::new(dt, Shape::new(dims))).expect("param")
    }

    pub fn op(&mut self, op: Op, args: &[Value]) -> Value {
        match self.f.push(op.clone(), args, None) {
            Ok(v) => v,
            Err(e) => panic!("{}: {e}", op.name()),
        }
    }

    pub fn ty(&self, v: Value) -> Type {
        self.f.ty(v).clone()
    }

    pub fn unary(&mut self, u: UnaryOp, x: Value) -> Value {
        self.op(Op::Unary(u), &[x])
    }

    pub fn binary(&mut self, b: BinaryOp, x: Value, y: Value) -> Value {
        self.op(Op::Binary(b), &[x, y])
    }

    pub fn compare(&mut self, c: CompareOp, x: Value, y: Value) -> Value {
        self.op(Op::Compare(c), &[x, y])
    }

    pub fn select(&mut self, p: Value, t: Value, f: Value) -> Value {
        self.op(Op::Select, &[p, t, f])
    }

    pub fn convert(&mut self, x: Value, to: DType) -> Value {
        self.op(Op::Convert { to }, &[x])
    }

    pub fn broadcast(&mut self, x: Value, dims: &[usize], shape: &[usize]) -> Value {
        self.op(Op::BroadcastInDim { shape: Shape::new(shape), dims: Dims::from_slice(dims) }, &[x])
    }

    pub fn reshape(&mut self, x: Value, shape: &[usize]) -> Value {
        self.op(Op::Reshape { shape: Shape::new(shape) }, &[x])
    }

    pub fn transpose(&mut self, x: Value, perm: &[usize]) -> Value {
        self.op(Op::Transpose { perm: Dims::from_slice(perm) }, &[x])
    }

    pub fn slice(&mut self, x: Value, start: &[usize], limit: &[usize], stride: &[usize]) -> Value {
        self.op(
            Op::Slice(Box::new(SliceAttrs {
                start: Dims::from_slice(start),
                limit: Dims::from_slice(limit),
                stride: Dims::from_slice(stride),
            })),
            &[x],
        )
    }

    pub fn reverse(&mut self, x: Value, axes: &[usize]) -> Value {
        self.op(Op::Reverse { axes: Dims::from_slice(axes) }, &[x])
    }

    pub fn reduce(&mut self, kind: ReduceKind, x: Value, axes: &[usize]) -> Value {
        self.op(Op::Reduce { kind, axes: Dims::from_slice(axes) }, &[x])
    }

    pub fn iota(&mut self, dt: DType, shape: &[usize], axis: usize) -> Value {
        self.op(Op::Iota { dtype: dt, shape: Shape::new(shape), axis }, &[])
    }

    pub fn constant(&mut self, t: Tensor) -> Value {
        self.op(Op::Constant { value: Arc::new(t) }, &[])
    }

    /// A scalar constant of `dt` with value `x` (cast with `as`).
    pub fn scalar(&mut self, dt: DType, x: f64) -> Value {
        let t = match dt {
            DType::F32 => Tensor::scalar(x as f32),
            DType::F64 => Tensor::scalar(x),
            DType::I32 => Tensor::scalar(x as i32),
            DType::I64 => Tensor::scalar(x as i64),
            DType::Bool => Tensor::scalar(x != 0.0),
        };
        self.constant(t)
    }

    pub fn finish(mut self, results: &[Value]) -> Function {
        self.f.set_results(results.to_vec()).expect("results");
        self.f
    }
}

/// Compiles bodies into one module.
pub fn compile(bodies: &[&Function]) -> Vec<CompiledKernel> {
    let mut c = KernelCompiler::new().expect("compiler");
    for b in bodies {
        if let Err(e) = c.add(b.name(), b) {
            panic!("compiling @{}: {e}\n{b:#?}", b.name());
        }
    }
    c.finish().expect("finalize")
}

/// Random ranges covering `0..units` once, in random order.
pub fn random_split(rng: &mut impl Rng, units: usize) -> Vec<Range<usize>> {
    let mut cuts: Vec<usize> =
        (0..rng.gen_range(0..4usize.min(units + 1))).map(|_| rng.gen_range(0..=units)).collect();
    cuts.push(0);
    cuts.push(units);
    cuts.sort_unstable();
    cuts.dedup();
    let mut ranges: Vec<Range<usize>> = cuts.windows(2).map(|w| w[0]..w[1]).collect();
    if ranges.is_empty() {
        ranges.push(0..0);
    }
    ranges.shuffle(rng);
    ranges
}

/// Runs `kernel` on `args` whole and over a random split (the bits must
/// agree), and compares with the interpreter. `Err` describes the first
/// mismatch.
pub fn check(
    kernel: &CompiledKernel,
    body: &Function,
    args: &[Tensor],
    rng: &mut impl Rng,
) -> Result<(), String> {
    let want = eval_function(body, args).map_err(|e| format!("interpreter: {e}"))?;
    let got = run_kernel(kernel, body, args).map_err(|e| format!("jit: {e}"))?;
    let split = random_split(rng, kernel.units);
    let again = run_kernel_ranges(kernel, body, args, &split).map_err(|e| format!("jit: {e}"))?;
    for (i, (a, b)) in got.iter().zip(&again).enumerate() {
        if a != b {
            return Err(format!("result {i}: whole run and split {split:?} differ:\n{a}\n{b}"));
        }
    }
    let scales = abs_sums(body, args)?;
    let reference = promoted_reference(body, args)?;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if let Some(r) = &reference {
            if no_worse_than_interpreter(g, w, &r[i]) {
                continue;
            }
        }
        let r = body.results()[i];
        let reduce = match body.op(r) {
            Op::Reduce { kind, axes } if !axes.is_empty() => {
                let n: usize = axes.iter().map(|&a| body.ty(body.args(r)[0]).dims()[a]).product();
                Some((*kind, n))
            }
            _ => None,
        };
        compare(g, w, reduce, scales[i].as_ref())
            .map_err(|m| format!("result {i} ({}): {m}\n jit: {g}\nwant: {w}", body.ty(r)))?;
    }
    Ok(())
}

/// The body evaluated with every f32 value promoted to f64 (a reference
/// with near-exact math), or `None` when the body has no f32 value. The
/// JIT's transcendental functions are approximations (within 2–4 ulp each,
/// tested in math_*.rs); through a chain of f32 ops those errors grow with
/// the chain's conditioning, exactly as the interpreter's own f32 rounding
/// does, so the JIT is judged against the interpreter's distance from this
/// reference.
fn promoted_reference(body: &Function, args: &[Tensor]) -> Result<Option<Vec<Tensor>>, String> {
    use gradlift_ir::{DType, Type};
    if !body.iter().any(|(_, n)| n.ty.dtype == DType::F32) {
        return Ok(None);
    }
    let up = |t: &Type| {
        if t.dtype == DType::F32 {
            Type::new(DType::F64, t.shape.clone())
        } else {
            t.clone()
        }
    };
    let mut f = Function::new("promoted");
    let mut map: Vec<Value> = Vec::new();
    for (_, node) in body.iter() {
        let nv = match &node.op {
            Op::Parameter { .. } => f.add_param(None, up(&node.ty)),
            Op::Constant { value } if value.dtype() == DType::F32 => f.push(
                Op::Constant { value: std::sync::Arc::new(value.cast(DType::F64)) },
                &[],
                None,
            ),
            Op::Convert { to: DType::F32 } => {
                let a = map[node.args[0].index()];
                if f.ty(a).dtype == DType::F64 {
                    Ok(a)
                } else {
                    f.push(Op::Convert { to: DType::F64 }, &[a], None)
                }
            }
            Op::Iota { dtype: DType::F32, shape, axis } => {
                f.push(Op::Iota { dtype: DType::F64, shape: shape.clone(), axis: *axis }, &[], None)
            }
            op => {
                let a: Vec<Value> = node.args.iter().map(|x| map[x.index()]).collect();
                f.push(op.clone(), &a, None)
            }
        }
        .map_err(|e| format!("promoting the body: {e}"))?;
        map.push(nv);
    }
    f.set_results(body.results().iter().map(|r| map[r.index()]).collect())
        .map_err(|e| e.to_string())?;
    let up_args: Vec<Tensor> = args
        .iter()
        .map(|t| if t.dtype() == DType::F32 { t.cast(DType::F64) } else { t.clone() })
        .collect();
    Ok(Some(eval_function(&f, &up_args).map_err(|e| format!("promoted interpreter: {e}"))?))
}

/// Float results: the JIT is within twice the interpreter's own distance
/// from the promoted reference, plus 8 f32 ulp of the reference (NaN
/// matching NaN).
fn no_worse_than_interpreter(got: &Tensor, want: &Tensor, reference: &Tensor) -> bool {
    if !got.dtype().is_float() || got.dims() != want.dims() {
        return false;
    }
    let (g, w, r) = (got.to_f64_vec(), want.to_f64_vec(), reference.to_f64_vec());
    g.iter().zip(&w).zip(&r).all(|((&g, &w), &r)| {
        if g.is_nan() || w.is_nan() || r.is_nan() {
            return g.is_nan() == w.is_nan();
        }
        if g == w {
            return true;
        }
        let tol =
            2.0 * (w - r).abs() + 8.0 * f32::EPSILON as f64 * r.abs().max(f32::MIN_POSITIVE as f64);
        (g - r).abs() <= tol
    })
}

/// For each result that is a float sum or product, the interpreter's value
/// of the same reduction over |x| (the scale of its rounding error).
fn abs_sums(body: &Function, args: &[Tensor]) -> Result<Vec<Option<Tensor>>, String> {
    let mut f = Function::new("abs_companion");
    let mut map: Vec<Value> = Vec::new();
    for (v, node) in body.iter() {
        let nv = match &node.op {
            Op::Parameter { .. } => f.add_param(None, node.ty.clone()),
            Op::Reduce { kind: ReduceKind::Sum | ReduceKind::Prod, axes }
                if !axes.is_empty() && node.ty.dtype.is_float() =>
            {
                let x = map[node.args[0].index()];
                let a = f.push(Op::Unary(UnaryOp::Abs), &[x], None).map_err(|e| e.to_string())?;
                f.push(node.op.clone(), &[a], None)
            }
            _ => {
                let a: Vec<Value> = node.args.iter().map(|a| map[a.index()]).collect();
                f.push(node.op.clone(), &a, None)
            }
        }
        .map_err(|e| format!("companion of {v}: {e}"))?;
        map.push(nv);
    }
    let results: Vec<Value> = body.results().iter().map(|r| map[r.index()]).collect();
    f.set_results(results).map_err(|e| e.to_string())?;
    let vals = eval_function(&f, args).map_err(|e| format!("companion: {e}"))?;
    Ok(body
        .results()
        .iter()
        .zip(vals)
        .map(|(&r, t)| match body.op(r) {
            Op::Reduce { kind: ReduceKind::Sum | ReduceKind::Prod, axes }
                if !axes.is_empty() && t.dtype().is_float() =>
            {
                Some(t)
            }
            _ => None,
        })
        .collect())
}

/// Distance in units in the last place (±0 are 0 apart; NaN: u64::MAX).
pub fn ulps_f32(a: f32, b: f32) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() { 0 } else { u64::MAX };
    }
    let ord = |x: f32| {
        let i = x.to_bits() as i32;
        if i < 0 {
            -(i64::from(i & 0x7fff_ffff))
        } else {
            i64::from(i)
        }
    };
    (ord(a) - ord(b)).unsigned_abs()
}

pub fn ulps_f64(a: f64, b: f64) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() { 0 } else { u64::MAX };
    }
    let ord = |x: f64| {
        let i = x.to_bits() as i64;
        if i < 0 {
            -(i128::from(i & 0x7fff_ffff_ffff_ffff))
        } else {
            i128::from(i)
        }
    };
    u64::try_from((ord(a) - ord(b)).unsigned_abs()).unwrap_or(u64::MAX)
}

/// Compares a JIT result with the interpreter's: integers and bools
/// exactly, f32 within 4 ulp, f64 within 1e-12 relative (or 4 ulp), NaN
/// matching NaN; float sums and products within `4 (√n + 1) eps Σ|x|`.
pub fn compare(
    got: &Tensor,
    want: &Tensor,
    reduce: Option<(ReduceKind, usize)>,
    scale: Option<&Tensor>,
) -> Result<(), String> {
    if got.dtype() != want.dtype() || got.dims() != want.dims() {
        return Err(format!("type {} vs {}", got.ty(), want.ty()));
    }
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    let s = scale.map(|t| t.to_f64_vec());
    for i in 0..g.len() {
        let ok = match got.data() {
            Data::I32(_) | Data::I64(_) | Data::Bool(_) => got.data_eq_at(want, i),
            Data::F32(a) => {
                let b = want.as_slice::<f32>().map_err(|e| e.to_string())?;
                ulps_f32(a[i], b[i]) <= 4
                    || reduction_close(g[i], w[i], reduce, &s, i, f32::EPSILON as f64)
            }
            Data::F64(a) => {
                let b = want.as_slice::<f64>().map_err(|e| e.to_string())?;
                ulps_f64(a[i], b[i]) <= 4
                    || (a[i] - b[i]).abs() <= 1e-12 * b[i].abs()
                    || reduction_close(g[i], w[i], reduce, &s, i, f64::EPSILON)
            }
        };
        if !ok {
            return Err(format!("element {i}: {} vs {}", g[i], w[i]));
        }
    }
    Ok(())
}

fn reduction_close(
    g: f64,
    w: f64,
    reduce: Option<(ReduceKind, usize)>,
    scale: &Option<Vec<f64>>,
    i: usize,
    eps: f64,
) -> bool {
    let (Some((_, n)), Some(s)) = (reduce, scale) else { return false };
    if g.is_nan() || w.is_nan() {
        return g.is_nan() && w.is_nan();
    }
    let tol = 4.0 * ((n as f64).sqrt() + 1.0) * eps * s[i];
    (g - w).abs() <= tol || (g == w)
}

trait DataEqAt {
    fn data_eq_at(&self, other: &Tensor, i: usize) -> bool;
}

impl DataEqAt for Tensor {
    fn data_eq_at(&self, other: &Tensor, i: usize) -> bool {
        match (self.data(), other.data()) {
            (Data::I32(a), Data::I32(b)) => a[i] == b[i],
            (Data::I64(a), Data::I64(b)) => a[i] == b[i],
            (Data::Bool(a), Data::Bool(b)) => a[i] == b[i],
            _ => false,
        }
    }
}

/// Special values mixed into random data.
pub fn specials_f32() -> Vec<f32> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        1.5,
        -2.5,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE,
        1e-40,
        -1e-40,
        f32::MAX,
        f32::MIN,
        3e9,
        -3e9,
        1e20,
    ]
}

pub fn specials_f64() -> Vec<f64> {
    let mut v: Vec<f64> = specials_f32().into_iter().map(f64::from).collect();
    v.extend([f64::MAX, f64::MIN, 1e-310, 1e300, 9.3e18, -9.3e18, f64::MIN_POSITIVE]);
    v
}

pub fn specials_i32() -> Vec<i32> {
    vec![0, 1, -1, 2, -2, 7, -7, i32::MIN, i32::MAX, i32::MIN + 1]
}

pub fn specials_i64() -> Vec<i64> {
    vec![0, 1, -1, 2, -2, 7, -7, i64::MIN, i64::MAX, i64::MIN + 1, 1 << 40]
}

/// How random values are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// Moderate values only (sums and products stay finite and accurate).
    Tame,
    /// Moderate values plus about 1 in 8 special values.
    Special,
}

/// `n` values from `plain`, with `values == Special` about 1 in 8 drawn
/// from `specials` instead.
fn draw<T: Copy + Default, R: Rng>(
    rng: &mut R,
    n: usize,
    values: Values,
    specials: &[T],
    mut plain: impl FnMut(&mut R) -> T,
) -> Vec<T> {
    (0..n)
        .map(|_| {
            if values == Values::Special && rng.gen_range(0..8) == 0 {
                specials.choose(rng).copied().unwrap_or_default()
            } else {
                plain(rng)
            }
        })
        .collect()
}

/// A random tensor of `ty`.
pub fn random_tensor(rng: &mut impl Rng, ty: &Type, values: Values) -> Tensor {
    let n = ty.shape.size();
    let data = match ty.dtype {
        DType::F32 => Data::F32(draw(rng, n, values, &specials_f32(), |r| r.gen_range(-2.0..2.0))),
        DType::F64 => Data::F64(draw(rng, n, values, &specials_f64(), |r| r.gen_range(-2.0..2.0))),
        DType::I32 => Data::I32(draw(rng, n, values, &specials_i32(), |r| r.gen_range(-9..10))),
        DType::I64 => Data::I64(draw(rng, n, values, &specials_i64(), |r| r.gen_range(-9..10))),
        DType::Bool => Data::Bool((0..n).map(|_| rng.gen_bool(0.5)).collect()),
    };
    Tensor::new(ty.shape.clone(), data).expect("tensor")
}

/// Random arguments for every parameter of `body`.
pub fn random_args(rng: &mut impl Rng, body: &Function, values: Values) -> Vec<Tensor> {
    body.param_types().iter().map(|t| random_tensor(rng, t, values)).collect()
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}
