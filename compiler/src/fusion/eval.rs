//! Evaluating a fused program with the reference interpreter: each kernel
//! body is an ordinary IR function, each library call a one-op function.
//! This is how fusion is tested: it must compute what the graph computes.

use gradlift_ir::interp::eval_function;
use gradlift_ir::{Function, Tensor};

use super::{BufDef, FusedProgram, Step};
use crate::error::CompileError;

/// Runs `prog` on `args` with the interpreter.
pub fn eval_fused(prog: &FusedProgram, args: &[Tensor]) -> Result<Vec<Tensor>, CompileError> {
    let mut values: Vec<Option<Tensor>> = vec![None; prog.buffers.len()];
    for (b, buf) in prog.buffers.iter().enumerate() {
        match &buf.def {
            BufDef::Param(i) => {
                let t = args.get(*i).ok_or_else(|| {
                    CompileError::transform("eval_fused", format!("missing argument {i}"))
                })?;
                values[b] = Some(t.clone());
            }
            BufDef::Constant(t) => values[b] = Some((**t).clone()),
            BufDef::Step { .. } => {}
        }
    }
    let get = |values: &[Option<Tensor>], b: usize| -> Result<Tensor, CompileError> {
        values[b].clone().ok_or_else(|| {
            CompileError::transform("eval_fused", format!("buffer {b} read before written"))
        })
    };
    for step in &prog.steps {
        match step {
            Step::Kernel { body, inputs, outputs, .. } => {
                let ins: Vec<Tensor> =
                    inputs.iter().map(|&b| get(&values, b)).collect::<Result<_, _>>()?;
                let outs = eval_function(body, &ins)?;
                for (&b, t) in outputs.iter().zip(outs) {
                    values[b] = Some(t);
                }
            }
            Step::Library { op, inputs, output, .. } => {
                let ins: Vec<Tensor> =
                    inputs.iter().map(|&b| get(&values, b)).collect::<Result<_, _>>()?;
                let mut f = Function::new("library");
                let mut ps = Vec::new();
                for t in &ins {
                    ps.push(f.add_param(None, t.ty())?);
                }
                let y = f.push(op.clone(), &ps, None)?;
                f.set_results(vec![y])?;
                let mut outs = eval_function(&f, &ins)?;
                values[*output] = outs.pop();
            }
        }
    }
    prog.results.iter().map(|&b| get(&values, b)).collect()
}
