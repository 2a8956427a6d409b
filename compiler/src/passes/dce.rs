//! Dead-code elimination: keeps the parameters and every node a result
//! depends on. One backward marking loop and one forward copy, no recursion.

use gradlift_ir::{Function, IrError, Value};

use super::Pass;
use crate::error::CompileError;

/// [`dce`] as a pipeline pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dce;

impl Pass for Dce {
    fn name(&self) -> &'static str {
        "dce"
    }

    fn run(&self, f: &Function) -> Result<(Function, bool), CompileError> {
        let g = dce(f)?;
        // DCE only ever removes nodes, and copies the rest in order.
        let changed = g.len() != f.len();
        Ok((g, changed))
    }
}

/// Removes every instruction no result depends on. Parameters are kept
/// (they are the function's signature). Names and locations are preserved.
pub fn dce(f: &Function) -> Result<Function, IrError> {
    let n = f.len();
    let mut live = vec![false; n];
    for &r in f.results() {
        live[r.index()] = true;
    }
    for i in (0..n).rev() {
        if live[i] {
            for &a in f.args(Value::from_index(i)) {
                live[a.index()] = true;
            }
        }
    }
    for p in f.params() {
        live[p.index()] = true;
    }
    if live.iter().all(|&l| l) {
        return Ok(f.clone());
    }
    let mut out = Function::new(f.name());
    let mut map: Vec<Option<Value>> = vec![None; n];
    for (v, node) in f.iter() {
        if !live[v.index()] {
            continue;
        }
        let nv = if v.index() < f.num_params() {
            out.add_param(None, node.ty.clone())?
        } else {
            let args: Vec<Value> = node.args.iter().map(|a| remap(&map, *a)).collect();
            out.push(node.op.clone(), &args, f.loc(v).cloned())?
        };
        out.set_value_name(nv, f.value_name(v))?;
        out.set_loc(nv, f.loc(v).cloned());
        map[v.index()] = Some(nv);
    }
    let results = f.results().iter().map(|r| remap(&map, *r)).collect();
    out.set_results(results)?;
    Ok(out)
}

fn remap(map: &[Option<Value>], v: Value) -> Value {
    // Live nodes only reference live nodes, which are mapped before use.
    map[v.index()].unwrap_or(v)
}
