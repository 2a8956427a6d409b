//! The verifier: SSA (every value defined once, before use), parameters
//! first, operand counts, result types equal to the op's shape rule, value
//! names unique, results defined. Usable after every pass; a single loop over
//! the nodes, no recursion.

use std::collections::HashSet;

use smallvec::SmallVec;

use crate::error::IrError;
use crate::graph::{is_valid_name, Function, Module};
use crate::op::Op;
use crate::shape;
use crate::types::Type;

/// Verifies every function of a module, and that function names are unique.
pub fn verify_module(m: &Module) -> Result<(), IrError> {
    let mut seen = HashSet::new();
    for f in m.funcs() {
        if !seen.insert(f.name()) {
            return Err(IrError::Verify {
                func: f.name().to_string(),
                msg: "function defined twice".into(),
                loc: None,
            });
        }
        verify_function(f)?;
    }
    Ok(())
}

/// Verifies one function.
pub fn verify_function(f: &Function) -> Result<(), IrError> {
    let fail = |v: usize, msg: String| IrError::Verify {
        func: f.name().to_string(),
        msg,
        loc: if v < f.len() { f.loc(crate::graph::Value::from_index(v)).cloned() } else { None },
    };
    if !is_valid_name(f.name()) {
        return Err(fail(0, format!("invalid function name {:?}", f.name())));
    }
    let mut names: HashSet<&str> = HashSet::new();
    for (v, node) in f.iter() {
        let i = v.index();
        if let Some(name) = f.value_name(v) {
            if !is_valid_name(name) || name.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail(i, format!("invalid value name %{name}")));
            }
            if !names.insert(name) {
                return Err(fail(i, format!("%{name} is defined more than once")));
            }
        }
        match &node.op {
            Op::Parameter { index } => {
                if i >= f.num_params() || *index as usize != i {
                    return Err(fail(i, format!("parameter {index} out of place at node {i}")));
                }
                if !node.args.is_empty() {
                    return Err(fail(i, "a parameter takes no operands".into()));
                }
                node.ty.shape.num_elements().map_err(|e| e.with_loc(f.loc(v).cloned()))?;
                continue;
            }
            _ if i < f.num_params() => {
                return Err(fail(i, format!("node {i} should be parameter {i}")));
            }
            _ => {}
        }
        let mut tys: SmallVec<[&Type; 3]> = SmallVec::new();
        for &a in &node.args {
            if a.index() >= i {
                return Err(fail(
                    i,
                    format!(
                        "{}: operand {} is used before its definition (values must dominate their uses)",
                        node.op.name(),
                        display_value(f, a)
                    ),
                ));
            }
            tys.push(f.ty(a));
        }
        let want = shape::infer(&node.op, &tys).map_err(|e| e.with_loc(f.loc(v).cloned()))?;
        if want != node.ty {
            return Err(fail(
                i,
                format!(
                    "{}: result type {} does not match the op's rule, which gives {}",
                    node.op.name(),
                    node.ty,
                    want
                ),
            ));
        }
    }
    if f.results().is_empty() {
        return Err(fail(0, "a function must return at least one value".into()));
    }
    for &r in f.results() {
        if r.index() >= f.len() {
            return Err(fail(0, format!("result {r} is not defined")));
        }
    }
    Ok(())
}

fn display_value(f: &Function, v: crate::graph::Value) -> String {
    match f.value_name(v) {
        Some(n) => format!("%{n}"),
        None => format!("{v}"),
    }
}
