//! Common-subexpression elimination by hash-consing: an instruction whose
//! (op with attributes, operands) was seen before is replaced by the first
//! occurrence, which keeps its name and location. Operands of commutative
//! ops are keyed in sorted order, so `add %a, %b` and `add %b, %a` merge.
//! Constants compare by bits (`Op`'s equality is bitwise), so `-0.0` and
//! `0.0` stay apart and NaNs with the same payload merge. One forward loop
//! and one hash map: linear in the graph.
//!
//! Merging `op %b, %a` into `op %a, %b` can change which NaN payload comes
//! out when both operands are NaN; the IR leaves NaN payloads unspecified.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use gradlift_ir::{Args, CompareOp, Function, Op, Value};

use super::rebuild::Rebuild;
use super::Pass;
use crate::error::CompileError;

/// Common-subexpression elimination.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cse;

impl Pass for Cse {
    fn name(&self) -> &'static str {
        "cse"
    }

    fn run(&self, f: &Function) -> Result<(Function, bool), CompileError> {
        let mut rb = Rebuild::new(f)?;
        let mut seen: HashMap<(Op, Args), Value> = HashMap::with_capacity(f.num_instructions());
        let mut changed = false;
        for (v, node) in f.instructions() {
            let args = rb.args(v);
            let mut key_args = args.clone();
            if is_commutative(&node.op) {
                key_args.sort_unstable();
            }
            match seen.entry((node.op.clone(), key_args)) {
                Entry::Occupied(first) => {
                    rb.alias(v, *first.get())?;
                    changed = true;
                }
                Entry::Vacant(slot) => {
                    slot.insert(rb.keep(v, &args)?);
                }
            }
        }
        Ok((rb.finish()?, changed))
    }
}

/// `op(a, b) == op(b, a)` for every input (bit for bit, NaN payloads
/// aside).
fn is_commutative(op: &Op) -> bool {
    match op {
        Op::Binary(b) => b.is_commutative(),
        Op::Compare(c) => matches!(c, CompareOp::Eq | CompareOp::Ne),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use gradlift_ir::BinaryOp;

    use super::*;

    #[test]
    fn commutative_ops_are_the_op_lists() {
        assert!(is_commutative(&Op::Binary(BinaryOp::Add)));
        assert!(!is_commutative(&Op::Binary(BinaryOp::Sub)));
        assert!(is_commutative(&Op::Compare(CompareOp::Ne)));
        assert!(!is_commutative(&Op::Compare(CompareOp::Lt)));
    }
}
