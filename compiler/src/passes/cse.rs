//! Common-subexpression elimination by hash-consing: an instruction whose
//! (op with attributes, operands) was seen before is replaced by the first
//! occurrence, which keeps its name and location (and takes the
//! duplicate's name if it had none). Operands of commutative
//! ops are keyed in sorted order, so `add %a, %b` and `add %b, %a` merge.
//! Constants compare by bits (`Op`'s equality is bitwise), so `-0.0` and
//! `0.0` stay apart and NaNs with the same payload merge. One forward loop
//! and one hash map from hashes to output values: linear in the graph.
//!
//! Merging `op %b, %a` into `op %a, %b` can change which NaN payload comes
//! out when both operands are NaN; the IR leaves NaN payloads unspecified.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use smallvec::SmallVec;

use gradlift_ir::{CompareOp, Function, Op, Value};

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
        // Hash of (op, operands) -> the output values with that hash. Keys
        // are 8 bytes (the table stays small and cache-friendly); a hit is
        // confirmed by comparing with the output node itself.
        let mut seen: HashMap<u64, SmallVec<[Value; 1]>, BuildHasherDefault<PreHashed>> =
            HashMap::with_capacity_and_hasher(f.num_instructions(), Default::default());
        let mut changed = false;
        for (v, node) in f.instructions() {
            let args = rb.args(v);
            let mut key = args.clone();
            if is_commutative(&node.op) {
                key.sort_unstable();
            }
            let mut h = DefaultHasher::new();
            (&node.op, &key).hash(&mut h);
            let same = seen.get(&h.finish()).and_then(|candidates| {
                candidates.iter().copied().find(|&c| same_node(rb.out(), c, &node.op, &key))
            });
            match same {
                Some(first) => {
                    rb.alias(v, first)?;
                    changed = true;
                }
                None => {
                    let nv = rb.keep(v, &args)?;
                    seen.entry(h.finish()).or_default().push(nv);
                }
            }
        }
        Ok((rb.finish()?, changed))
    }
}

/// Output value `c` is `op` on `key` (operands sorted for commutative ops).
fn same_node(out: &Function, c: Value, op: &Op, key: &[Value]) -> bool {
    if out.op(c) != op {
        return false;
    }
    let args = out.args(c);
    if is_commutative(op) && args.len() == 2 {
        let (a, b) = if args[0] <= args[1] { (args[0], args[1]) } else { (args[1], args[0]) };
        key == [a, b]
    } else {
        args == key
    }
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
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
