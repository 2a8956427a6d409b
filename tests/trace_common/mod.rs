//! Helpers shared by the `trace_*` integration tests: the printer lands in
//! another branch, so tests look at a function's structure directly.

#![allow(dead_code)]

use gradlift::ir::verify::verify_function;
use gradlift::ir::Op;
use gradlift::{DType, Function, Type};

pub fn f32s(dims: &[usize]) -> Type {
    Type::new(DType::F32, dims)
}

pub fn ty(dtype: DType, dims: &[usize]) -> Type {
    Type::new(dtype, dims)
}

/// Verifies `f` and returns it (every traced function must verify).
pub fn verified(f: Function) -> Function {
    if let Err(e) = verify_function(&f) {
        panic!("traced function does not verify: {e}\n{f:#?}");
    }
    f
}

/// The op names of the instructions, in order.
pub fn ops(f: &Function) -> Vec<&'static str> {
    f.instructions().map(|(_, n)| n.op.name()).collect()
}

/// How many instructions have op name `name`.
pub fn count(f: &Function, name: &str) -> usize {
    f.instructions().filter(|(_, n)| n.op.name() == name).count()
}

/// The `dims` of every `broadcast_in_dim`, with its result shape.
pub fn broadcasts(f: &Function) -> Vec<(Vec<usize>, Vec<usize>)> {
    f.instructions()
        .filter_map(|(_, n)| match &n.op {
            Op::BroadcastInDim { shape, dims } => Some((dims.to_vec(), shape.dims().to_vec())),
            _ => None,
        })
        .collect()
}

/// The last instruction's node.
pub fn last(f: &Function) -> &gradlift::ir::Node {
    f.nodes().last().expect("non-empty function")
}

/// Compact one-line-per-instruction dump, for failure messages.
pub fn dump(f: &Function) -> String {
    f.iter()
        .map(|(v, n)| format!("{v} = {} {:?} : {}", n.op.name(), n.args.as_slice(), n.ty))
        .collect::<Vec<_>>()
        .join("\n")
}
