//! Reduction splitting: `reduce(x, A)` becomes `reduce(reduce(x, B), A∖B)`
//! when another reduction iterates over the same shape with axes `B ⊊ A`,
//! so the inner part can share a kernel (one pass over the data) with its
//! sibling. The tutorial's kinematics step is the model: the loss sums a
//! [10,2] residual over both axes while the gradients sum it over axis 0.
//!
//! Splitting a sum or product reassociates it (the result may differ in the
//! last bits, as any vectorised reduction does); max and min are exact.

use std::collections::HashMap;

use gradlift_ir::{Dims, Function, IrError, Op, Shape, Value};

/// Splits reductions as described above; returns `f` unchanged (a clone)
/// when none applies.
pub fn split_reductions(f: &Function) -> Result<Function, IrError> {
    // Axis sets reduced over each operand shape.
    let mut by_space: HashMap<&Shape, Vec<&Dims>> = HashMap::new();
    for (_, node) in f.instructions() {
        if let Op::Reduce { axes, .. } = &node.op {
            by_space.entry(&f.ty(node.args[0]).shape).or_default().push(axes);
        }
    }
    let inner_axes = |space: &Shape, axes: &Dims| -> Option<Dims> {
        let mut sorted: Dims = axes.clone();
        sorted.sort_unstable();
        let siblings = by_space.get(space)?;
        // The largest proper, non-empty subset another reduction uses.
        siblings
            .iter()
            .filter_map(|b| {
                let mut b: Dims = (*b).clone();
                b.sort_unstable();
                let proper =
                    !b.is_empty() && b.len() < sorted.len() && b.iter().all(|x| sorted.contains(x));
                proper.then_some(b)
            })
            .max_by_key(|b| b.len())
    };
    let mut any = false;
    for (_, node) in f.instructions() {
        if let Op::Reduce { axes, .. } = &node.op {
            any |= inner_axes(&f.ty(node.args[0]).shape, axes).is_some();
        }
    }
    if !any {
        return Ok(f.clone());
    }
    let mut out = Function::new(f.name());
    let mut map: Vec<Value> = Vec::with_capacity(f.len());
    for p in f.params() {
        map.push(out.add_param(f.value_name(p), f.ty(p).clone())?);
    }
    for (v, node) in f.instructions() {
        let args: Vec<Value> = node.args.iter().map(|a| map[a.index()]).collect();
        let loc = f.loc(v).cloned();
        let nv = match &node.op {
            Op::Reduce { kind, axes } => match inner_axes(&f.ty(node.args[0]).shape, axes) {
                Some(inner) => {
                    let first = out.push(
                        Op::Reduce { kind: *kind, axes: inner.clone() },
                        &args,
                        loc.clone(),
                    )?;
                    // The remaining axes, renumbered after removing `inner`.
                    let rest: Dims = axes
                        .iter()
                        .filter(|a| !inner.contains(a))
                        .map(|&a| a - inner.iter().filter(|&&i| i < a).count())
                        .collect();
                    out.push(Op::Reduce { kind: *kind, axes: rest }, &[first], loc)?
                }
                None => out.push(node.op.clone(), &args, loc)?,
            },
            op => out.push(op.clone(), &args, loc)?,
        };
        out.set_value_name(nv, f.value_name(v))?;
        map.push(nv);
    }
    out.set_results(f.results().iter().map(|r| map[r.index()]).collect())?;
    Ok(out)
}
