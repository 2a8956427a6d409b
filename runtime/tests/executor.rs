//! The executor on hand-built programs whose kernels are plain Rust
//! functions with the JIT calling convention.

mod common;

use std::sync::Arc;

use common::*;
use gradlift_ir::{DType, Op, Tensor, Type};
use gradlift_runtime::{
    Arg, BufferKind, Executable, Program, RuntimeError, Step, ThreadPool, ARENA_ALIGN,
};

fn f32s(n: usize) -> Type {
    Type::new(DType::F32, [n])
}

fn pool(threads: usize) -> Arc<ThreadPool> {
    Arc::new(ThreadPool::new(threads).unwrap())
}

/// `out = 2 * (x + y) + 1` through a temp: two kernels, one arena slot.
fn add_affine(n: usize) -> Program {
    let mut p = Program::new();
    p.add_param(Some("x"), f32s(n), false);
    p.add_param(Some("y"), f32s(n), false);
    p.add_result(f32s(n));
    let x = p.add_buffer(f32s(n), BufferKind::Param { index: 0 });
    let y = p.add_buffer(f32s(n), BufferKind::Param { index: 1 });
    let t = p.add_buffer(f32s(n), BufferKind::Temp { offset: 0 });
    let out = p.add_buffer(f32s(n), BufferKind::Result { index: 0 });
    p.arena_bytes = 4 * n;
    p.push(Step::Kernel {
        kernel: kernel("add", add_f32, n, 16, 1, vec![], None),
        inputs: vec![x, y],
        outputs: vec![t],
        scratch: vec![],
    });
    p.push(Step::Kernel {
        kernel: kernel("affine", affine_f32, n, 16, 1, vec![], None),
        inputs: vec![t],
        outputs: vec![out],
        scratch: vec![],
    });
    p
}

#[test]
fn kernels_through_a_temp_write_the_caller_result() {
    let n = 1000;
    let exe = Executable::with_pool(add_affine(n), pool(1)).unwrap();
    let x = sample_finite(DType::F32, &[n], 1);
    let y = sample_finite(DType::F32, &[n], 2);
    let mut results = exe.new_results();
    exe.run(&mut [Arg::Ref(&x), Arg::Ref(&y)], &mut results).unwrap();
    let (xs, ys) = (x.as_slice::<f32>().unwrap(), y.as_slice::<f32>().unwrap());
    let want: Vec<f32> = xs.iter().zip(ys).map(|(a, b)| 2.0 * (a + b) + 1.0).collect();
    assert_eq!(results[0].as_slice::<f32>().unwrap(), &want[..]);
    // The same result tensor is reused and overwritten by the next call.
    exe.run(&mut [Arg::Ref(&y), Arg::Ref(&y)], &mut results).unwrap();
    let want: Vec<f32> = ys.iter().map(|b| 2.0 * (b + b) + 1.0).collect();
    assert_eq!(results[0].as_slice::<f32>().unwrap(), &want[..]);
    // `call` allocates the results.
    let r = exe.call(&[&x, &y]).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].as_slice::<f32>().unwrap()[0], 2.0 * (xs[0] + ys[0]) + 1.0);
}

#[test]
fn pointers_resolve_for_every_buffer_kind() {
    // Probe: one kernel records the address of each of its buffers.
    let mut p = Program::new();
    p.add_param(Some("x"), f32s(3), false);
    p.add_param(Some("e"), f32s(0), false);
    p.add_result(Type::new(DType::I64, [7]));
    p.add_result(f32s(2));
    let c = Arc::new(Tensor::from_vec([2], vec![5.0f32, 6.0]).unwrap());
    let x = p.add_buffer(f32s(3), BufferKind::Param { index: 0 });
    let e = p.add_buffer(f32s(0), BufferKind::Param { index: 1 });
    let k = p.add_buffer(f32s(2), BufferKind::Constant(Arc::clone(&c)));
    let t0 = p.add_buffer(f32s(5), BufferKind::Temp { offset: 0 });
    let t1 = p.add_buffer(f32s(1), BufferKind::Temp { offset: 128 });
    let tz = p.add_buffer(f32s(0), BufferKind::Temp { offset: 192 });
    let r1 = p.add_buffer(f32s(2), BufferKind::Result { index: 1 });
    let out = p.add_buffer(Type::new(DType::I64, [7]), BufferKind::Result { index: 0 });
    p.arena_bytes = 192;
    p.push(Step::Kernel {
        kernel: kernel("probe", probe_ptrs, 7, 1, 1, vec![], None),
        inputs: vec![x, e, k, t0, t1, tz],
        outputs: vec![r1, out],
        scratch: vec![],
    });
    // Result 1 must be written: copy the constant into it afterwards.
    p.push(Step::Copy { from: k, to: r1 });
    let exe = Executable::with_pool(p, pool(1)).unwrap();
    let xt = sample_finite(DType::F32, &[3], 3);
    let et = Tensor::zeros(DType::F32, [0]).unwrap();
    let mut results = exe.new_results();
    let r1_addr = results[1].as_slice::<f32>().unwrap().as_ptr() as i64;
    exe.run(&mut [Arg::Ref(&xt), Arg::Ref(&et)], &mut results).unwrap();
    let got = results[0].as_slice::<i64>().unwrap().to_vec();
    assert_eq!(got[0], xt.as_slice::<f32>().unwrap().as_ptr() as i64, "param");
    assert!(got[1] != 0 && got[1] % ARENA_ALIGN as i64 == 0, "empty param: aligned, non-null");
    assert_eq!(got[2], c.as_slice::<f32>().unwrap().as_ptr() as i64, "constant");
    assert_eq!(got[3] % ARENA_ALIGN as i64, 0, "arena is 64-byte aligned");
    assert_eq!(got[4] - got[3], 128, "temp offset");
    assert!(got[5] != 0 && got[5] % ARENA_ALIGN as i64 == 0, "empty temp");
    assert_eq!(got[6], r1_addr, "result tensor written in place");
    assert_eq!(results[1].as_slice::<f32>().unwrap(), &[5.0, 6.0]);
}

#[test]
fn scratch_must_be_a_temp_and_constants_are_read_only() {
    let n = 10;
    let mut p = Program::new();
    p.add_param(Some("w"), f32s(n), true);
    p.add_param(Some("g"), f32s(n), false);
    let w = p.add_buffer(f32s(n), BufferKind::Param { index: 0 });
    let g = p.add_buffer(f32s(n), BufferKind::Param { index: 1 });
    let lr = p.add_buffer(
        Type::scalar(DType::F32),
        BufferKind::Constant(Arc::new(Tensor::scalar(0.5f32))),
    );
    p.push(Step::Kernel {
        kernel: kernel("sgd", sgd_f32, n, 8, 1, vec![4], None),
        inputs: vec![w, g],
        outputs: vec![w],
        scratch: vec![lr],
    });
    let e = program_error(p.clone());
    assert!(e.contains("step 0 (kernel sgd): scratch buffer b2 is not a temp"), "{e}");
    p.steps[0] = Step::Kernel {
        kernel: kernel("sgd", sgd_f32, n, 8, 1, vec![], None),
        inputs: vec![w, g],
        outputs: vec![w, lr],
        scratch: vec![],
    };
    let e = program_error(p);
    assert!(e.contains("step 0 (kernel sgd): writes b2, a constant"), "{e}");
}

#[test]
fn donated_weight_update_in_place() {
    let n = 10;
    let mut p = Program::new();
    p.add_param(Some("w"), f32s(n), true);
    p.add_param(Some("g"), f32s(n), false);
    p.add_param(Some("lr"), Type::scalar(DType::F32), false);
    p.add_result(f32s(n));
    let w = p.add_buffer(f32s(n), BufferKind::Param { index: 0 });
    let g = p.add_buffer(f32s(n), BufferKind::Param { index: 1 });
    let lr = p.add_buffer(Type::scalar(DType::F32), BufferKind::Param { index: 2 });
    let out = p.add_buffer(f32s(n), BufferKind::Result { index: 0 });
    unsafe extern "C" fn sgd2(bufs: *const *mut u8, start: usize, end: usize) {
        // bufs = [w, g, lr, w_out, out]
        let (w, g, lr) =
            (*bufs.add(0) as *const f32, *bufs.add(1) as *const f32, *bufs.add(2) as *const f32);
        let (w_out, out) = (*bufs.add(3) as *mut f32, *bufs.add(4) as *mut f32);
        for i in start..end {
            let v = *w.add(i) - *lr * *g.add(i);
            *w_out.add(i) = v;
            *out.add(i) = v * 10.0;
        }
    }
    p.push(Step::Kernel {
        kernel: kernel("sgd", sgd2, n, 1, 1, vec![], None),
        inputs: vec![w, g, lr],
        outputs: vec![w, out],
        scratch: vec![],
    });
    let exe = Executable::with_pool(p, pool(1)).unwrap();
    let mut wt = Tensor::from_vec([n], vec![1.0f32; n]).unwrap();
    let gt = Tensor::from_vec([n], (0..n).map(|i| i as f32).collect()).unwrap();
    let lrt = Tensor::scalar(0.5f32);
    let w_addr = wt.as_slice::<f32>().unwrap().as_ptr();
    let mut results = exe.new_results();
    for _ in 0..3 {
        exe.run(&mut [Arg::Mut(&mut wt), Arg::Ref(&gt), Arg::Ref(&lrt)], &mut results).unwrap();
    }
    let want: Vec<f32> = (0..n).map(|i| 1.0 - 1.5 * i as f32).collect();
    assert_eq!(wt.as_slice::<f32>().unwrap(), &want[..]);
    assert_eq!(wt.as_slice::<f32>().unwrap().as_ptr(), w_addr, "updated in place");
    assert_eq!(results[0].as_slice::<f32>().unwrap()[1], 10.0 * want[1]);
    // A donated parameter passed by shared reference is refused.
    let err =
        exe.run(&mut [Arg::Ref(&wt), Arg::Ref(&gt), Arg::Ref(&lrt)], &mut results).unwrap_err();
    assert_eq!(
        err.to_string(),
        "parameter 0 (%w) is donated (updated in place): pass it as Arg::Mut"
    );
    let err = exe.call(&[&wt, &gt, &lrt]).unwrap_err();
    assert!(matches!(err, RuntimeError::CallWithDonation { index: 0, .. }), "{err}");
}

/// `out = sum(x)` by a chunked kernel: partials in scratch, combined by
/// `finish` in a fixed order; scratch supplied by the runtime or by a temp.
fn chunk_sum(n: usize, runtime_scratch: bool) -> Program {
    let chunks = n.div_ceil(CHUNK);
    let mut p = Program::new();
    p.add_param(Some("x"), f32s(n), false);
    p.add_result(Type::scalar(DType::F32));
    let x = p.add_buffer(f32s(n), BufferKind::Param { index: 0 });
    let nb = p.add_buffer(
        Type::scalar(DType::I64),
        BufferKind::Constant(Arc::new(Tensor::scalar(n as i64))),
    );
    let out = p.add_buffer(Type::scalar(DType::F32), BufferKind::Result { index: 0 });
    let k =
        kernel("sum", chunk_sum_main, chunks, 4, CHUNK, vec![4 * chunks], Some(chunk_sum_finish));
    let scratch = if runtime_scratch {
        vec![]
    } else {
        p.arena_bytes = 64 + 4 * (chunks + 16);
        vec![p.add_buffer(f32s(chunks + 16), BufferKind::Temp { offset: 64 })]
    };
    p.push(Step::Kernel { kernel: k, inputs: vec![x, nb], outputs: vec![out], scratch });
    p
}

#[test]
fn results_are_identical_bits_on_1_2_and_8_threads() {
    let n = 1 << 20;
    let x = sample_finite(DType::F32, &[n], 7);
    let y = sample_finite(DType::F32, &[n], 8);
    let mut sums = Vec::new();
    let mut adds = Vec::new();
    for threads in [1, 2, 8] {
        let pool = pool(threads);
        for runtime_scratch in [true, false] {
            let exe =
                Executable::with_pool(chunk_sum(n, runtime_scratch), Arc::clone(&pool)).unwrap();
            let r = exe.call(&[&x]).unwrap().remove(0);
            sums.push(r.item::<f32>().unwrap().to_bits());
        }
        let exe = Executable::with_pool(add_affine(n), Arc::clone(&pool)).unwrap();
        adds.push(exe.call(&[&x, &y]).unwrap().remove(0));
    }
    assert!(sums.iter().all(|&s| s == sums[0]), "{sums:?}");
    assert!(adds.iter().all(|a| a == &adds[0]));
    // And the threaded sum is the sequential chunked sum.
    let xs = x.as_slice::<f32>().unwrap();
    let want =
        xs.chunks(CHUNK).map(|c| c.iter().fold(0.0f32, |s, &v| s + v)).fold(0.0f32, |s, v| s + v);
    assert_eq!(f32::from_bits(sums[0]), want);
}

#[test]
fn per_call_pool_override() {
    let n = 1 << 18;
    let x = sample_finite(DType::F32, &[n], 9);
    let exe = Executable::with_pool(chunk_sum(n, true), pool(1)).unwrap();
    let mut results = exe.new_results();
    exe.run(&mut [Arg::Ref(&x)], &mut results).unwrap();
    let one = results[0].clone();
    exe.run_on(&pool(8), &mut [Arg::Ref(&x)], &mut results).unwrap();
    assert_eq!(results[0], one);
}

#[test]
fn temp_slots_are_reused_by_time_disjoint_buffers() {
    // t0 and t2 share offset 0 (t0 is dead once t1 is computed).
    let n = 64;
    let mut p = Program::new();
    p.add_param(Some("x"), f32s(n), false);
    p.add_result(f32s(n));
    let x = p.add_buffer(f32s(n), BufferKind::Param { index: 0 });
    let t0 = p.add_buffer(f32s(n), BufferKind::Temp { offset: 0 });
    let t1 = p.add_buffer(f32s(n), BufferKind::Temp { offset: 256 });
    let t2 = p.add_buffer(f32s(n), BufferKind::Temp { offset: 0 });
    let out = p.add_buffer(f32s(n), BufferKind::Result { index: 0 });
    p.arena_bytes = 512;
    let aff = |i, o| Step::Kernel {
        kernel: kernel("affine", affine_f32, n, 1, 1, vec![], None),
        inputs: vec![i],
        outputs: vec![o],
        scratch: vec![],
    };
    p.push(aff(x, t0));
    p.push(aff(t0, t1));
    p.push(aff(t1, t2));
    p.push(aff(t2, out));
    let exe = Executable::with_pool(p, pool(1)).unwrap();
    let xt = sample_finite(DType::F32, &[n], 4);
    let r = exe.call(&[&xt]).unwrap().remove(0);
    let f = |v: f32| 2.0 * v + 1.0;
    let want: Vec<f32> = xt.as_slice::<f32>().unwrap().iter().map(|&v| f(f(f(f(v))))).collect();
    assert_eq!(r.as_slice::<f32>().unwrap(), &want[..]);
}

#[test]
fn argument_and_result_errors_name_the_parameter() {
    let mut p = Program::new();
    p.add_param(Some("x"), f32s(2), false);
    p.add_param(None, f32s(2), false);
    p.add_param(Some("v0"), Type::new(DType::F32, [1, 2]), false);
    p.add_result(f32s(2));
    let x = p.add_buffer(f32s(2), BufferKind::Param { index: 0 });
    let out = p.add_buffer(f32s(2), BufferKind::Result { index: 0 });
    p.push(Step::Copy { from: x, to: out });
    let exe = Executable::with_pool(p, pool(1)).unwrap();
    let a = Tensor::zeros(DType::F32, [2]).unwrap();
    let b = Tensor::zeros(DType::F32, [1, 2]).unwrap();
    let i = Tensor::zeros(DType::I32, [2]).unwrap();
    let msg = |args: &[&Tensor]| exe.call(args).unwrap_err().to_string();
    assert_eq!(msg(&[&a, &a, &a]), "parameter 2 (%v0) expects f32[1,2], got f32[2]");
    assert_eq!(msg(&[&a, &i, &b]), "parameter 1 expects f32[2], got i32[2]");
    assert_eq!(msg(&[&a, &a]), "expected 3 argument(s), got 2");
    let mut bad = vec![Tensor::zeros(DType::F32, [3]).unwrap()];
    let err = exe.run(&mut [Arg::Ref(&a), Arg::Ref(&a), Arg::Ref(&b)], &mut bad).unwrap_err();
    assert_eq!(err.to_string(), "result 0 expects f32[2], got f32[3]");
    let err = exe.run(&mut [Arg::Ref(&a), Arg::Ref(&a), Arg::Ref(&b)], &mut []).unwrap_err();
    assert_eq!(err.to_string(), "expected 1 result tensor(s), got 0");
}

fn copy_program(from: BufferKind, to: BufferKind) -> Program {
    let mut p = Program::new();
    p.add_param(Some("x"), f32s(4), false);
    p.add_result(f32s(4));
    p.arena_bytes = 64;
    let a = p.add_buffer(f32s(4), from);
    let b = p.add_buffer(f32s(4), to);
    p.push(Step::Copy { from: a, to: b });
    p
}

fn program_error(p: Program) -> String {
    Executable::with_pool(p, pool(1)).unwrap_err().to_string()
}

#[test]
fn invalid_programs_are_typed_errors() {
    let param = BufferKind::Param { index: 0 };
    let result = BufferKind::Result { index: 0 };
    // Writes into a parameter that is not donated.
    let e = program_error(copy_program(result.clone(), param.clone()));
    assert!(e.contains("writes b1, parameter 0, which is not donated"), "{e}");
    // Temp slot out of the arena / misaligned.
    let mut p = copy_program(param.clone(), result.clone());
    p.add_buffer(f32s(4), BufferKind::Temp { offset: 64 });
    let e = program_error(p);
    assert!(e.contains("ends past the arena (64 bytes)"), "{e}");
    let mut p = copy_program(param.clone(), result.clone());
    p.add_buffer(f32s(4), BufferKind::Temp { offset: 4 });
    assert!(program_error(p).contains("not a multiple of 64"));
    // Buffer ids out of range.
    let mut p = copy_program(param.clone(), result.clone());
    p.push(Step::Copy { from: 0, to: 9 });
    assert!(program_error(p).contains("buffer b9 does not exist"));
    // Parameter / result index out of range, wrong buffer type.
    let e = program_error(copy_program(BufferKind::Param { index: 3 }, result.clone()));
    assert!(e.contains("b0 is parameter 3, but there are 1"), "{e}");
    let mut p = copy_program(param.clone(), result.clone());
    p.buffers[0].ty = f32s(5);
    assert!(program_error(p).contains("b0 has type f32[5], but parameter 0 is f32[4]"));
    // A result nothing writes.
    let mut p = copy_program(param.clone(), result.clone());
    p.steps.clear();
    assert!(program_error(p).contains("result 0 (b1) is never written"));
    // Copies need the same dtype and element count.
    let mut p = copy_program(param.clone(), result.clone());
    p.results[0] = Type::new(DType::I32, [4]);
    p.buffers[1].ty = Type::new(DType::I32, [4]);
    assert!(program_error(p).contains("cannot copy b0 (f32[4]) into b1 (i32[4])"));
    // Unsupported library op, named.
    let mut p = copy_program(param.clone(), result.clone());
    p.steps[0] =
        Step::Library { op: Op::Unary(gradlift_ir::UnaryOp::Exp), inputs: vec![0], output: 1 };
    let err = Executable::with_pool(p, pool(1)).unwrap_err();
    assert!(matches!(err, RuntimeError::UnsupportedOp { step: 0, op: "exp", .. }), "{err}");
    // Library operand types checked by the IR's shape rule.
    let mut p = copy_program(param.clone(), result.clone());
    p.steps[0] = Step::Library {
        op: Op::Reverse { axes: [1].into_iter().collect() },
        inputs: vec![0],
        output: 1,
    };
    let e = program_error(p);
    assert!(e.contains("step 0 (library reverse)") && e.contains("axis 1 out of range"), "{e}");
    // Library output sharing memory with its input (arena ranges overlap).
    let mut p = copy_program(param, result);
    p.arena_bytes = 192;
    let t0 = p.add_buffer(f32s(32), BufferKind::Temp { offset: 0 });
    let t1 = p.add_buffer(f32s(32), BufferKind::Temp { offset: 64 });
    p.push(Step::Library {
        op: Op::Reverse { axes: [0].into_iter().collect() },
        inputs: vec![t0],
        output: t1,
    });
    let e = program_error(p);
    assert!(
        e.contains("step 1 (library reverse): output b3 shares memory with input 0 (b2)"),
        "{e}"
    );
}

#[test]
fn kernel_scratch_checks() {
    let mut p = chunk_sum(100, false);
    if let Step::Kernel { scratch, .. } = &mut p.steps[0] {
        scratch.push(0);
    }
    assert!(program_error(p).contains("needs 1 scratch buffer(s), the step gives 2"));
    let mut p = chunk_sum(1000, false);
    p.buffers[3].ty = f32s(2);
    let e = program_error(p);
    assert!(e.contains("has 8 bytes, the kernel needs 112"), "{e}");
}

#[test]
fn program_prints_as_text() {
    let text = add_affine(8).to_string();
    assert_eq!(
        text,
        "program: 2 params, 1 results, arena 32 B\n  b0: f32[8] param 0 (%x)\n  b1: f32[8] param 1 (%y)\n  \
         b2: f32[8] temp @0\n  b3: f32[8] result 0\n  s0: kernel add units=8 grain=16 in(b0, b1) out(b2)\n  \
         s1: kernel affine units=8 grain=16 in(b2) out(b3)\n"
    );
}

#[test]
fn concurrent_calls_on_one_executable_agree() {
    let n = 50_000;
    let exe = Arc::new(Executable::with_pool(chunk_sum(n, true), pool(2)).unwrap());
    let x = Arc::new(sample_finite(DType::F32, &[n], 11));
    let want = exe.call(&[&x]).unwrap().remove(0);
    let add = Arc::new(Executable::with_pool(add_affine(4096), pool(2)).unwrap());
    let a = Arc::new(sample_finite(DType::F32, &[4096], 12));
    let add_want = add.call(&[&a, &a]).unwrap().remove(0);
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let (exe, x, want) = (Arc::clone(&exe), Arc::clone(&x), want.clone());
            let (add, a, add_want) = (Arc::clone(&add), Arc::clone(&a), add_want.clone());
            std::thread::spawn(move || {
                let mut r = exe.new_results();
                let mut r2 = add.new_results();
                for i in 0..1000 {
                    exe.run(&mut [Arg::Ref(&x)], &mut r).unwrap();
                    assert_eq!(r[0], want, "thread {t} call {i}");
                    if i % 10 == 0 {
                        add.run(&mut [Arg::Ref(&a), Arg::Ref(&a)], &mut r2).unwrap();
                        assert_eq!(r2[0], add_want);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn executable_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Executable>();
    check::<ThreadPool>();
}

#[test]
fn zero_unit_kernels_still_finish() {
    let p = chunk_sum(0, true);
    let exe = Executable::with_pool(p, pool(2)).unwrap();
    let x = Tensor::zeros(DType::F32, [0]).unwrap();
    let r = exe.call(&[&x]).unwrap();
    assert_eq!(r[0].item::<f32>().unwrap(), 0.0);
}

/// `bufs = [out (i64[units])]`: each unit records the start of the range it
/// ran in.
unsafe extern "C" fn record_start(bufs: *const *mut u8, start: usize, end: usize) {
    let out = *bufs as *mut i64;
    for u in start..end {
        *out.add(u) = start as i64;
    }
}

fn record_program(units: usize, grain: usize, unit_cost: usize) -> Program {
    let t = Type::new(DType::I64, [units]);
    let mut p = Program::new();
    p.add_result(t.clone());
    let out = p.add_buffer(t, BufferKind::Result { index: 0 });
    p.push(Step::Kernel {
        kernel: kernel("record", record_start, units, grain, unit_cost, vec![], None),
        inputs: vec![],
        outputs: vec![out],
        scratch: vec![],
    });
    p
}

fn starts(p: Program, threads: usize) -> Vec<i64> {
    let exe = Executable::with_pool(p, pool(threads)).unwrap();
    exe.call(&[]).unwrap().remove(0).to_vec::<i64>().unwrap()
}

#[test]
fn big_kernels_split_into_grain_aligned_ranges_small_ones_run_inline() {
    let (units, grain) = (10_000, 64);
    // Big: split over 2 threads, every range starts on a grain boundary and
    // the ranges tile [0, units).
    let s = starts(record_program(units, grain, 100), 2);
    let mut firsts: Vec<i64> = s.clone();
    firsts.dedup();
    assert!(firsts.len() > 1, "not split");
    assert!(firsts.iter().all(|&f| f % grain as i64 == 0));
    assert!(s.iter().enumerate().all(|(u, &f)| f as usize <= u));
    assert!(firsts.windows(2).all(|w| w[0] < w[1]));
    // Small work, a single grain, or one thread: one inline range.
    assert!(starts(record_program(units, grain, 1), 2).iter().all(|&f| f == 0));
    assert!(starts(record_program(units, units, 100), 2).iter().all(|&f| f == 0));
    assert!(starts(record_program(units, grain, 100), 1).iter().all(|&f| f == 0));
}

#[test]
fn profiles_time_every_step_and_leave_results_alone() {
    let n = 1000;
    let exe = Executable::with_pool(add_affine(n), pool(2)).unwrap();
    let x = sample_finite(DType::F32, &[n], 1);
    let y = sample_finite(DType::F32, &[n], 2);
    let mut plain = exe.new_results();
    exe.run(&mut [Arg::Ref(&x), Arg::Ref(&y)], &mut plain).unwrap();
    let mut timed = exe.new_results();
    let mut prof = exe.run_profiled(&mut [Arg::Ref(&x), Arg::Ref(&y)], &mut timed).unwrap();
    assert_eq!(plain, timed);
    let labels: Vec<&str> = prof.steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["add", "affine"]);
    assert_eq!(prof.steps.iter().map(|s| s.index).collect::<Vec<_>>(), [0, 1]);
    assert!(prof.steps.iter().all(|s| s.seconds >= 0.0 && s.seconds.is_finite()));
    let once = prof.total();
    let again = exe.run_profiled(&mut [Arg::Ref(&x), Arg::Ref(&y)], &mut timed).unwrap();
    prof.add(&again).unwrap();
    assert_eq!(prof.calls, 2);
    assert!((prof.total() - once - again.total()).abs() <= 1e-12);
    let table = prof.to_string();
    assert!(table.starts_with("2 call(s), "), "{table}");
    assert!(table.contains("  add\n") && table.contains("  affine\n"), "{table}");

    // A library step is labelled with its op and types; profiles of other
    // programs do not add up.
    let p = library_program(
        &Op::Reverse { axes: [0].into_iter().collect() },
        &[f32s(8)],
        &f32s(8),
        Placement::Direct,
    );
    let neg = Executable::with_pool(p, pool(1)).unwrap();
    let mut out = neg.new_results();
    let other = neg.run_profiled(&mut [Arg::Ref(&sample_finite(DType::F32, &[8], 3))], &mut out);
    let other = other.unwrap();
    assert_eq!(other.steps[0].label, "reverse f32[8] -> f32[8]");
    assert_eq!(prof.add(&other), Err(RuntimeError::ProfileMismatch { left: 2, right: 1 }));
}
