//! Shared test helpers: hand-written kernels with the JIT calling
//! convention, sample data of every dtype, and one-op programs checked
//! against the reference interpreter.

#![allow(dead_code)]

use std::sync::Arc;

use gradlift_ir::{interp, DType, Function, Op, Tensor, Type};
use gradlift_runtime::{
    Arg, BufferKind, CompiledKernel, Executable, KernelFn, Program, Step, ThreadPool,
};

/// A kernel descriptor around a plain Rust function.
pub fn kernel(
    name: &str,
    main: KernelFn,
    units: usize,
    grain: usize,
    unit_cost: usize,
    scratch_bytes: Vec<usize>,
    finish: Option<KernelFn>,
) -> CompiledKernel {
    CompiledKernel {
        name: name.to_string(),
        main,
        units,
        grain,
        unit_cost,
        scratch_bytes,
        finish,
        code: Arc::new(()),
    }
}

/// `bufs = [a, b, out]` (f32): `out[i] = a[i] + b[i]` for i in the range.
pub unsafe extern "C" fn add_f32(bufs: *const *mut u8, start: usize, end: usize) {
    let (a, b, out) =
        (*bufs.add(0) as *const f32, *bufs.add(1) as *const f32, *bufs.add(2) as *mut f32);
    for i in start..end {
        *out.add(i) = *a.add(i) + *b.add(i);
    }
}

/// `bufs = [x, out]` (f32): `out[i] = 2 * x[i] + 1`.
pub unsafe extern "C" fn affine_f32(bufs: *const *mut u8, start: usize, end: usize) {
    let (x, out) = (*bufs.add(0) as *const f32, *bufs.add(1) as *mut f32);
    for i in start..end {
        *out.add(i) = 2.0 * *x.add(i) + 1.0;
    }
}

/// `bufs = [w, g, w_out, lr]` (f32, lr a scalar f32): the SGD update
/// `w_out = w - lr * g`, meant to run in place (`w_out` is `w`).
pub unsafe extern "C" fn sgd_f32(bufs: *const *mut u8, start: usize, end: usize) {
    let (w, g, out, lr) = (
        *bufs.add(0) as *const f32,
        *bufs.add(1) as *const f32,
        *bufs.add(2) as *mut f32,
        *bufs.add(3) as *const f32,
    );
    for i in start..end {
        *out.add(i) = *w.add(i) - *lr * *g.add(i);
    }
}

/// Elements per unit of [`chunk_sum_main`].
pub const CHUNK: usize = 37;

/// `bufs = [x (f32[n]), n (i64[]), out (f32[]), partials (scratch)]`:
/// unit c writes the sum of chunk c to `partials[c]`.
pub unsafe extern "C" fn chunk_sum_main(bufs: *const *mut u8, start: usize, end: usize) {
    let (x, n) = (*bufs.add(0) as *const f32, *(*bufs.add(1) as *const i64) as usize);
    let partials = *bufs.add(3) as *mut f32;
    for c in start..end {
        let mut s = 0.0f32;
        for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
            s += *x.add(i);
        }
        *partials.add(c) = s;
    }
}

/// The [`chunk_sum_main`] finisher: adds the partials in order.
pub unsafe extern "C" fn chunk_sum_finish(bufs: *const *mut u8, _start: usize, _end: usize) {
    let n = *(*bufs.add(1) as *const i64) as usize;
    let (out, partials) = (*bufs.add(2) as *mut f32, *bufs.add(3) as *const f32);
    let mut s = 0.0f32;
    for c in 0..n.div_ceil(CHUNK) {
        s += *partials.add(c);
    }
    *out = s;
}

/// `bufs = [p_0, .., p_{k-1}, out (i64[k])]` with `units = k`: unit i
/// records the address of buffer i.
pub unsafe extern "C" fn probe_ptrs(bufs: *const *mut u8, start: usize, end: usize) {
    let k = end; // called inline over [0, k)
    let out = *bufs.add(k) as *mut i64;
    for i in start..end {
        *out.add(i) = *bufs.add(i) as usize as i64;
    }
}

/// Sample data of any dtype and shape, reproducible from `seed`: floats
/// in [-3, 3) with a few NaN, ±0 and repeated values, integers in
/// [-20, 20), bools.
pub fn sample(dtype: DType, dims: &[usize], seed: u64) -> Tensor {
    let base = Tensor::rand_uniform(seed, dims, -3.0, 3.0, DType::F64).expect("sample");
    let mut v = base.to_f64_vec();
    for (i, x) in v.iter_mut().enumerate() {
        match (i as u64 * 7 + seed) % 23 {
            0 if dtype.is_float() => *x = f64::NAN,
            1 => *x = -0.0,
            2 => *x = 1.0,
            _ => {}
        }
    }
    match dtype {
        DType::F32 => Tensor::from_vec(dims, v.iter().map(|&x| x as f32).collect()),
        DType::F64 => Tensor::from_vec(dims, v),
        DType::I32 => Tensor::from_vec(dims, v.iter().map(|&x| (x * 7.0) as i32).collect()),
        DType::I64 => Tensor::from_vec(dims, v.iter().map(|&x| (x * 7.0) as i64).collect()),
        DType::Bool => Tensor::from_vec(dims, v.iter().map(|&x| x > 0.0).collect()),
    }
    .expect("sample")
}

/// Like [`sample`] without NaN (for products, whose NaN placement may
/// differ).
pub fn sample_finite(dtype: DType, dims: &[usize], seed: u64) -> Tensor {
    let t = sample(dtype, dims, seed);
    match dtype {
        DType::F32 => Tensor::from_vec(
            dims,
            t.as_slice::<f32>()
                .unwrap()
                .iter()
                .map(|&x| if x.is_nan() { 0.5 } else { x })
                .collect(),
        )
        .unwrap(),
        DType::F64 => Tensor::from_vec(
            dims,
            t.as_slice::<f64>()
                .unwrap()
                .iter()
                .map(|&x| if x.is_nan() { 0.5 } else { x })
                .collect(),
        )
        .unwrap(),
        _ => t,
    }
}

/// The interpreter's result of `op` on `args`.
pub fn interp_op(op: &Op, args: &[&Tensor]) -> Tensor {
    let mut f = Function::new("one_op");
    let params: Vec<_> = args
        .iter()
        .enumerate()
        .map(|(i, a)| f.add_param(Some(&format!("a{i}")), a.ty()).unwrap())
        .collect();
    let r = f.push(op.clone(), &params, None).expect("op accepted by the shape rule");
    f.set_results(vec![r]).unwrap();
    let owned: Vec<Tensor> = args.iter().map(|&t| t.clone()).collect();
    interp::eval_function(&f, &owned).expect("interpreter").remove(0)
}

/// How a one-op program places its result.
#[derive(Clone, Copy, Debug)]
pub enum Placement {
    /// The library step writes the result tensor directly.
    Direct,
    /// The step writes an arena temp at `offset`, then a copy step moves
    /// it into the result.
    ViaTemp { offset: usize },
}

/// A program running `op` as one library step.
pub fn library_program(op: &Op, arg_tys: &[Type], out: &Type, place: Placement) -> Program {
    let mut p = Program::new();
    let mut inputs = Vec::new();
    for (i, ty) in arg_tys.iter().enumerate() {
        p.add_param(Some(&format!("a{i}")), ty.clone(), false);
        inputs.push(p.add_buffer(ty.clone(), BufferKind::Param { index: i }));
    }
    p.add_result(out.clone());
    let res = p.add_buffer(out.clone(), BufferKind::Result { index: 0 });
    match place {
        Placement::Direct => p.push(Step::Library { op: op.clone(), inputs, output: res }),
        Placement::ViaTemp { offset } => {
            let bytes = out.shape.size() * out.dtype.size_bytes();
            p.arena_bytes = offset + bytes;
            let tmp = p.add_buffer(out.clone(), BufferKind::Temp { offset });
            p.push(Step::Library { op: op.clone(), inputs, output: tmp });
            p.push(Step::Copy { from: tmp, to: res });
        }
    }
    p
}

/// Runs `op` on `args` through the runtime (on `pool`).
pub fn run_op(op: &Op, args: &[&Tensor], pool: &Arc<ThreadPool>, place: Placement) -> Tensor {
    let tys: Vec<Type> = args.iter().map(|a| a.ty()).collect();
    let expect = interp_op_type(op, &tys);
    let exe = Executable::with_pool(library_program(op, &tys, &expect, place), Arc::clone(pool))
        .unwrap_or_else(|e| panic!("{} on {tys:?}: {e}", op.name()));
    let mut argv: Vec<Arg<'_>> = args.iter().map(|&t| Arg::Ref(t)).collect();
    let mut results = exe.new_results();
    exe.run(&mut argv, &mut results).expect("run");
    results.remove(0)
}

/// The result type of `op` on operands of types `tys`.
pub fn interp_op_type(op: &Op, tys: &[Type]) -> Type {
    let refs: Vec<&Type> = tys.iter().collect();
    gradlift_ir::shape::infer(op, &refs).expect("shape rule")
}

/// Asserts the runtime gives the interpreter's result bit for bit, with
/// the result written directly and through an arena temp.
pub fn check_exact(op: &Op, args: &[&Tensor], pool: &Arc<ThreadPool>) {
    let want = interp_op(op, args);
    for place in [Placement::Direct, Placement::ViaTemp { offset: 128 }] {
        let got = run_op(op, args, pool, place);
        assert!(
            got == want,
            "{} {:?} on {:?} ({place:?}):\n runtime {got}\n interp  {want}",
            op.name(),
            op,
            args.iter().map(|a| a.ty().to_string()).collect::<Vec<_>>()
        );
    }
}
