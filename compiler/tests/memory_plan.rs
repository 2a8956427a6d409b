//! Memory plans are sound: running a fused program with every temporary
//! buffer stored at its planned arena offset (one byte array shared by all
//! of them) computes the same results as running it with separate buffers.
//! Overlapping live buffers would corrupt each other and show up here.

use gradlift_compiler::fusion::{eval_fused, fuse, BufDef, FusedProgram, Step};
use gradlift_compiler::memory::{plan_memory, Donation, MemoryPlan, Placement};
use gradlift_ir::interp::eval_function;
use gradlift_ir::random_graph::{random_function, GraphConfig};
use gradlift_ir::{DType, Data, Function, Tensor, Type};

fn to_bytes(t: &Tensor) -> Vec<u8> {
    match t.data() {
        Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::Bool(v) => v.iter().map(|&x| x as u8).collect(),
    }
}

fn from_bytes(ty: &Type, b: &[u8]) -> Tensor {
    let data = match ty.dtype {
        DType::F32 => {
            Data::F32(b.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
        }
        DType::F64 => {
            Data::F64(b.chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect())
        }
        DType::I32 => {
            Data::I32(b.chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect())
        }
        DType::I64 => {
            Data::I64(b.chunks(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect())
        }
        DType::Bool => Data::Bool(b.iter().map(|&x| x != 0).collect()),
    };
    Tensor::new(ty.shape.clone(), data).unwrap()
}

/// Runs `prog` with temporaries in one arena at the planned offsets.
fn eval_planned(prog: &FusedProgram, plan: &MemoryPlan, args: &mut [Tensor]) -> Vec<Tensor> {
    let mut arena = vec![0xAAu8; plan.arena_bytes + 64];
    let mut results: Vec<Option<Tensor>> = vec![None; prog.results.len()];
    let read = |b: usize, arena: &[u8], args: &[Tensor], results: &[Option<Tensor>]| -> Tensor {
        let ty = &prog.buffers[b].ty;
        match (&plan.placements[b], &prog.buffers[b].def) {
            (_, BufDef::Constant(t)) => (**t).clone(),
            (Placement::Param { index }, _) => args[*index].clone(),
            (Placement::Result { index }, _) => {
                results[*index].clone().expect("result read before written")
            }
            (Placement::Temp { offset }, _) => {
                let n = ty.shape.size() * ty.dtype.size_bytes();
                from_bytes(ty, &arena[*offset..*offset + n])
            }
            (Placement::Constant, _) => unreachable!(),
        }
    };
    let write = |b: usize,
                 t: Tensor,
                 arena: &mut [u8],
                 args: &mut [Tensor],
                 results: &mut [Option<Tensor>]| match &plan.placements[b] {
        Placement::Param { index } => args[*index] = t,
        Placement::Result { index } => results[*index] = Some(t),
        Placement::Temp { offset } => {
            let bytes = to_bytes(&t);
            arena[*offset..*offset + bytes.len()].copy_from_slice(&bytes);
        }
        Placement::Constant => unreachable!(),
    };
    let do_copies = |after: Option<usize>,
                     arena: &mut [u8],
                     args: &mut [Tensor],
                     results: &mut [Option<Tensor>]| {
        for c in plan.copies.iter().filter(|c| c.after == after) {
            let t = read(c.from, arena, args, results);
            match &c.to {
                Placement::Param { index } => args[*index] = t,
                Placement::Result { index } => results[*index] = Some(t),
                _ => unreachable!(),
            }
        }
    };
    do_copies(None, &mut arena, args, &mut results);
    for (s, step) in prog.steps.iter().enumerate() {
        match step {
            Step::Kernel { body, inputs, outputs, .. } => {
                let ins: Vec<Tensor> =
                    inputs.iter().map(|&b| read(b, &arena, args, &results)).collect();
                // Scratch is garbage to the kernel: scribble over it.
                for &off in &plan.scratch[s] {
                    arena[off] ^= 0x55;
                }
                let outs = eval_function(body, &ins).unwrap();
                for (&b, t) in outputs.iter().zip(outs) {
                    write(b, t, &mut arena, args, &mut results);
                }
            }
            Step::Library { op, inputs, output, .. } => {
                let ins: Vec<Tensor> =
                    inputs.iter().map(|&b| read(b, &arena, args, &results)).collect();
                let mut f = Function::new("lib");
                let ps: Vec<_> = ins.iter().map(|t| f.add_param(None, t.ty()).unwrap()).collect();
                let y = f.push(op.clone(), &ps, None).unwrap();
                f.set_results(vec![y]).unwrap();
                let t = eval_function(&f, &ins).unwrap().remove(0);
                write(*output, t, &mut arena, args, &mut results);
            }
        }
        do_copies(Some(s), &mut arena, args, &mut results);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Tensor::zeros(DType::F32, [0]).unwrap()))
        .collect()
}

fn args_for(f: &Function, seed: u64) -> Vec<Tensor> {
    f.params()
        .enumerate()
        .map(|(i, p)| {
            let ty = f.ty(p);
            Tensor::rand_normal(seed * 17 + i as u64, ty.shape.clone(), 0.0, 2.0, DType::F64)
                .unwrap()
                .cast(ty.dtype)
        })
        .collect()
}

#[test]
fn planned_programs_compute_what_the_graph_computes() {
    let cfg = GraphConfig::default();
    for seed in 0..400 {
        let f = random_function(seed, &cfg);
        let prog = fuse(&f).unwrap();
        // Pretend every kernel needs a little scratch.
        let scratch: Vec<Vec<usize>> = prog
            .steps
            .iter()
            .map(|s| if matches!(s, Step::Kernel { .. }) { vec![40] } else { vec![] })
            .collect();
        let plan = plan_memory(&prog, &scratch, &[]);
        let want = eval_fused(&prog, &args_for(&f, seed)).unwrap();
        let mut args = args_for(&f, seed);
        let got = eval_planned(&prog, &plan, &mut args);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g == w || g.allclose_nan(w, 0.0, 0.0),
                "seed {seed} result {k}: {g} vs {w}\n{}",
                gradlift_compiler::fusion::print_fused(&prog)
            );
        }
    }
}

#[test]
fn elementwise_kernels_reuse_their_dying_input_in_place() {
    use gradlift_ir::{DotDims, Op, UnaryOp};
    let mm = || {
        Op::DotGeneral(Box::new(DotDims {
            lhs_batch: Default::default(),
            rhs_batch: Default::default(),
            lhs_contract: [1].into_iter().collect(),
            rhs_contract: [0].into_iter().collect(),
        }))
    };
    let ty = Type::new(DType::F32, [128, 128]);
    let mut f = Function::new("mlp");
    let x = f.add_param(None, ty.clone()).unwrap();
    let w = f.add_param(None, ty).unwrap();
    let a = f.push(mm(), &[x, w], None).unwrap();
    let b = f.push(Op::Unary(UnaryOp::Tanh), &[a], None).unwrap();
    let c = f.push(mm(), &[b, w], None).unwrap();
    let d = f.push(Op::Unary(UnaryOp::Tanh), &[c], None).unwrap();
    let e = f.push(mm(), &[d, w], None).unwrap();
    f.set_results(vec![e]).unwrap();
    let prog = fuse(&f).unwrap();
    let plan = plan_memory(&prog, &vec![vec![]; prog.steps.len()], &[]);
    assert!(plan.num_in_place >= 2, "{plan}");
    // a, b, c, d: two 64 KiB slots suffice.
    assert!(plan.arena_bytes <= 2 * 128 * 128 * 4, "{plan}");
    let mut args = args_for(&f, 9);
    let want = eval_fused(&prog, &args).unwrap();
    assert_eq!(eval_planned(&prog, &plan, &mut args), want);
}

#[test]
fn donated_parameters_are_updated_in_place() {
    // x_new = x - 0.1 * x^2 with x donated: one loop kernel, in place.
    let mut f = Function::new("step");
    let x = f.add_param(Some("x"), Type::new(DType::F32, [1000])).unwrap();
    let y = f.add_param(Some("y"), Type::new(DType::F32, [1000])).unwrap();
    let sq = f.push(gradlift_ir::Op::Binary(gradlift_ir::BinaryOp::Mul), &[x, y], None).unwrap();
    let new = f.push(gradlift_ir::Op::Binary(gradlift_ir::BinaryOp::Sub), &[x, sq], None).unwrap();
    let total = f
        .push(
            gradlift_ir::Op::Reduce {
                kind: gradlift_ir::ReduceKind::Sum,
                axes: [0].into_iter().collect(),
            },
            &[sq],
            None,
        )
        .unwrap();
    f.set_results(vec![total, new]).unwrap();
    let prog = fuse(&f).unwrap();
    let plan =
        plan_memory(&prog, &vec![vec![]; prog.steps.len()], &[Donation { result: 1, param: 0 }]);
    let mut args = args_for(&f, 3);
    let want = eval_fused(&prog, &args).unwrap();
    let got = eval_planned(&prog, &plan, &mut args);
    assert_eq!(got[0], want[0]);
    assert_eq!(args[0], want[1], "the donated parameter holds the update");
    assert!(plan.to_string().contains("memory plan"));
}
