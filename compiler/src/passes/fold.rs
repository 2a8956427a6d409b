//! Constant folding with the reference interpreter as the only arithmetic:
//! an op is folded by evaluating a one-op function, so a folded value has
//! exactly the bits the interpreter would compute at run time.
//!
//! Three kinds of fold, tried in this order:
//!
//! 1. **Splat literals**: a literal of more than one element, all with the
//!    same bits, becomes `broadcast_in_dim` of a scalar literal.
//! 2. **Splat arithmetic**: an elementwise op whose operands are all splats
//!    is evaluated once on the scalars and broadcast; a data-movement op
//!    (reshape, transpose, slice, reverse, broadcast, gather, and pad or
//!    concatenate of equal splats) of a splat is a broadcast of the same
//!    scalar. Broadcasts stay broadcasts: a scalar is never blown up into a
//!    big literal.
//! 3. **Literals**: any other op (not a source, not a broadcast) whose
//!    operands are all literals, or small broadcasts of literals, is
//!    evaluated when its result has at most `max_elements` elements and no
//!    more than its literal operands hold (or 16).
//!
//! An op the interpreter rejects (it would fail at run time too) is left
//! alone.

use std::sync::Arc;

use gradlift_ir::interp::eval_function;
use gradlift_ir::{Dims, Function, IrError, Op, Shape, Tensor, Value};

use super::rebuild::Rebuild;
use super::splat::{literal_splat, same_bits, Splat, Splats};
use super::Pass;
use crate::error::CompileError;

/// The largest literal constant folding creates, by default.
pub const DEFAULT_FOLD_MAX_ELEMENTS: usize = 1024;

/// Folds are never refused for having fewer result elements than this.
const SMALL_RESULT: usize = 16;

/// Constant folding.
#[derive(Clone, Copy, Debug)]
pub struct ConstantFold {
    /// The largest result (in elements) folded into a literal.
    pub max_elements: usize,
}

impl Default for ConstantFold {
    fn default() -> ConstantFold {
        ConstantFold { max_elements: DEFAULT_FOLD_MAX_ELEMENTS }
    }
}

impl Pass for ConstantFold {
    fn name(&self) -> &'static str {
        "fold"
    }

    fn run(&self, f: &Function) -> Result<(Function, bool), CompileError> {
        let mut cx = Folder {
            rb: Rebuild::new(f)?,
            splats: Splats::default(),
            literals: Vec::new(),
            max_elements: self.max_elements,
        };
        let mut changed = false;
        for (v, node) in f.instructions() {
            let args = cx.rb.args(v);
            if cx.fold(v, &node.op, &args)? {
                changed = true;
            } else {
                cx.rb.keep(v, &args)?;
            }
        }
        Ok((cx.rb.finish()?, changed))
    }
}

/// A value known as a literal: its elements and how many elements the
/// literal it came from holds (less than the value's own for a broadcast).
#[derive(Clone)]
struct Literal {
    value: Arc<Tensor>,
    source_elements: usize,
}

struct Folder<'f> {
    rb: Rebuild<'f>,
    splats: Splats,
    /// Per output value: not asked yet, or the literal it is (if any).
    literals: Vec<Option<Option<Literal>>>,
    max_elements: usize,
}

impl Folder<'_> {
    /// Folds source node `v` (operands `args` in the output); false when
    /// nothing applies and the node should be copied.
    fn fold(&mut self, v: Value, op: &Op, args: &[Value]) -> Result<bool, IrError> {
        match op {
            Op::Parameter { .. } | Op::Iota { .. } => return Ok(false),
            Op::Constant { value } => {
                if value.len() <= 1 {
                    return Ok(false);
                }
                let Some(scalar) = literal_splat(value) else { return Ok(false) };
                self.emit_splat(v, &Splat { scalar, node: None }, value.shape(), true)?;
                return Ok(true);
            }
            _ => {}
        }
        let shape = self.rb.src().ty(v).shape.clone();
        if let Some((splat, fresh)) = self.splat_result(op, args)? {
            let canonical = matches!(op, Op::BroadcastInDim { dims, .. } if dims.is_empty())
                && splat.node == Some(args[0]);
            if !canonical {
                self.emit_splat(v, &splat, &shape, fresh)?;
                return Ok(true);
            }
            return Ok(false);
        }
        if matches!(op, Op::BroadcastInDim { .. }) || shape.size() > self.max_elements {
            return Ok(false);
        }
        let mut operands = Vec::with_capacity(args.len());
        let mut source_elements = 0usize;
        for &a in args {
            match self.literal(a) {
                Some(lit) => {
                    source_elements += lit.source_elements;
                    operands.push(lit.value);
                }
                None => return Ok(false),
            }
        }
        if shape.size() > source_elements.max(SMALL_RESULT) {
            return Ok(false);
        }
        match eval_one(op, &operands) {
            Some(t) => {
                self.rb.emit(v, Op::Constant { value: Arc::new(t) }, &[])?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The splat `op(args)` is when its operands are splats; the flag says
    /// whether the scalar was computed here (no node holds it yet).
    fn splat_result(&mut self, op: &Op, args: &[Value]) -> Result<Option<(Splat, bool)>, IrError> {
        let out = &self.rb.out();
        // A gather of a splat is a splat whatever the indices.
        let inputs = if matches!(op, Op::Gather { .. }) { &args[..1] } else { args };
        let mut splats = Vec::with_capacity(inputs.len());
        for &a in inputs {
            match self.splats.get(out, a) {
                Some(s) => splats.push(s),
                None => return Ok(None),
            }
        }
        let Some(first) = splats.first().cloned() else { return Ok(None) };
        let all_same = splats.iter().all(|s| same_bits(&s.scalar, &first.scalar));
        Ok(match op {
            _ if op.is_elementwise() => {
                let scalars: Vec<Arc<Tensor>> = splats.iter().map(|s| s.scalar.clone()).collect();
                eval_one(op, &scalars).map(|t| (Splat { scalar: Arc::new(t), node: None }, true))
            }
            // Every result element is a copy of an operand element.
            Op::BroadcastInDim { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Slice(_)
            | Op::Reverse { .. }
            | Op::Gather { .. } => Some((first, false)),
            // ... or of the padding value / another operand.
            Op::Pad(_) | Op::Concatenate { .. } if all_same => Some((first, false)),
            _ => None,
        })
    }

    /// Emits `broadcast_in_dim` of the splat's scalar (or the scalar
    /// itself for a rank-0 result) in place of `v`.
    fn emit_splat(
        &mut self,
        v: Value,
        splat: &Splat,
        shape: &Shape,
        fresh: bool,
    ) -> Result<(), IrError> {
        let constant = || Op::Constant { value: Arc::clone(&splat.scalar) };
        if shape.rank() == 0 {
            match splat.node {
                Some(node) if !fresh => self.rb.alias(v, node)?,
                _ => {
                    self.rb.emit(v, constant(), &[])?;
                }
            }
            return Ok(());
        }
        let scalar = match splat.node {
            Some(node) if !fresh => node,
            _ => self.rb.helper(v, constant(), &[])?,
        };
        let op = Op::BroadcastInDim { shape: shape.clone(), dims: Dims::new() };
        self.rb.emit(v, op, &[scalar])?;
        Ok(())
    }

    /// The literal output value `v` is: a constant, or a broadcast of one
    /// with at most `max_elements` elements (evaluated once and cached).
    fn literal(&mut self, v: Value) -> Option<Literal> {
        let out = &self.rb.out();
        if self.literals.len() < out.len() {
            self.literals.resize(out.len(), None);
        }
        let mut chain = Vec::new();
        let mut cur = v;
        let mut lit = loop {
            if let Some(known) = &self.literals[cur.index()] {
                break known.clone();
            }
            match out.op(cur) {
                Op::Constant { value } => {
                    let lit = Literal { value: Arc::clone(value), source_elements: value.len() };
                    self.literals[cur.index()] = Some(Some(lit.clone()));
                    break Some(lit);
                }
                Op::BroadcastInDim { .. } if out.ty(cur).shape.size() <= self.max_elements => {
                    chain.push(cur);
                    cur = out.args(cur)[0];
                }
                _ => {
                    self.literals[cur.index()] = Some(None);
                    break None;
                }
            }
        };
        for &c in chain.iter().rev() {
            lit = lit.and_then(|l| {
                let t = eval_one(out.op(c), &[l.value])?;
                Some(Literal { value: Arc::new(t), source_elements: l.source_elements })
            });
            self.literals[c.index()] = Some(lit.clone());
        }
        lit
    }
}

/// `op` applied to literal operands by the reference interpreter, through
/// a one-op function; `None` if the interpreter (or the shape rule)
/// rejects it.
pub(crate) fn eval_one(op: &Op, operands: &[Arc<Tensor>]) -> Option<Tensor> {
    let mut f = Function::new("fold");
    let mut args = Vec::with_capacity(operands.len());
    for t in operands {
        args.push(f.push(Op::Constant { value: Arc::clone(t) }, &[], None).ok()?);
    }
    let r = f.push(op.clone(), &args, None).ok()?;
    f.set_results(vec![r]).ok()?;
    eval_function(&f, &[]).ok()?.pop()
}
