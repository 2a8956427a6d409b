//! Op syntax: op names, the attributes each op takes, and building an `Op`
//! from them.

use std::sync::Arc;

use crate::dtype::DType;
use crate::op::{
    BinaryOp, CompareOp, DotDims, Op, PadAttrs, ReduceKind, SDims, SliceAttrs, UnaryOp,
};
use crate::types::{Dims, Type};

use super::lexer::{clip, PResult, Tok, Token};
use super::literal::RawLiteral;
use super::parser::{fast_int_list, Parser, MAX_RANK};

/// An attribute as written: `name=value`.
pub(super) struct Attr<'s> {
    pub(super) name: &'s str,
    pub(super) tok: Token,
    value: AttrValue<'s>,
}

enum AttrValue<'s> {
    Int(i64),
    List(SDims),
    Word(&'s str),
}

#[derive(Clone, Copy)]
pub(super) enum OpKind {
    Constant,
    Iota,
    Unary(UnaryOp),
    Binary(BinaryOp),
    Compare(CompareOp),
    Select,
    Convert,
    BroadcastInDim,
    Reshape,
    Transpose,
    Slice,
    Concatenate,
    Pad,
    Reverse,
    Reduce(ReduceKind),
    Argmax,
    DotGeneral,
    Gather,
    ScatterAdd,
    StopGradient,
}

/// The op named `name` (a test checks this table against `Op::name`).
pub(super) fn op_kind(name: &str) -> Option<OpKind> {
    let k = match name {
        "constant" => OpKind::Constant,
        "iota" => OpKind::Iota,
        "select" => OpKind::Select,
        "convert" => OpKind::Convert,
        "broadcast_in_dim" => OpKind::BroadcastInDim,
        "reshape" => OpKind::Reshape,
        "transpose" => OpKind::Transpose,
        "slice" => OpKind::Slice,
        "concatenate" => OpKind::Concatenate,
        "pad" => OpKind::Pad,
        "reverse" => OpKind::Reverse,
        "argmax" => OpKind::Argmax,
        "dot_general" => OpKind::DotGeneral,
        "gather" => OpKind::Gather,
        "scatter_add" => OpKind::ScatterAdd,
        "stop_gradient" => OpKind::StopGradient,
        "neg" => OpKind::Unary(UnaryOp::Neg),
        "abs" => OpKind::Unary(UnaryOp::Abs),
        "sign" => OpKind::Unary(UnaryOp::Sign),
        "exp" => OpKind::Unary(UnaryOp::Exp),
        "log" => OpKind::Unary(UnaryOp::Log),
        "log1p" => OpKind::Unary(UnaryOp::Log1p),
        "expm1" => OpKind::Unary(UnaryOp::Expm1),
        "sqrt" => OpKind::Unary(UnaryOp::Sqrt),
        "rsqrt" => OpKind::Unary(UnaryOp::Rsqrt),
        "sin" => OpKind::Unary(UnaryOp::Sin),
        "cos" => OpKind::Unary(UnaryOp::Cos),
        "tanh" => OpKind::Unary(UnaryOp::Tanh),
        "logistic" => OpKind::Unary(UnaryOp::Logistic),
        "floor" => OpKind::Unary(UnaryOp::Floor),
        "ceil" => OpKind::Unary(UnaryOp::Ceil),
        "round" => OpKind::Unary(UnaryOp::Round),
        "not" => OpKind::Unary(UnaryOp::Not),
        "add" => OpKind::Binary(BinaryOp::Add),
        "sub" => OpKind::Binary(BinaryOp::Sub),
        "mul" => OpKind::Binary(BinaryOp::Mul),
        "div" => OpKind::Binary(BinaryOp::Div),
        "pow" => OpKind::Binary(BinaryOp::Pow),
        "max" => OpKind::Binary(BinaryOp::Max),
        "min" => OpKind::Binary(BinaryOp::Min),
        "rem" => OpKind::Binary(BinaryOp::Rem),
        "and" => OpKind::Binary(BinaryOp::And),
        "or" => OpKind::Binary(BinaryOp::Or),
        "eq" => OpKind::Compare(CompareOp::Eq),
        "ne" => OpKind::Compare(CompareOp::Ne),
        "lt" => OpKind::Compare(CompareOp::Lt),
        "le" => OpKind::Compare(CompareOp::Le),
        "gt" => OpKind::Compare(CompareOp::Gt),
        "ge" => OpKind::Compare(CompareOp::Ge),
        "reduce_sum" => OpKind::Reduce(ReduceKind::Sum),
        "reduce_max" => OpKind::Reduce(ReduceKind::Max),
        "reduce_min" => OpKind::Reduce(ReduceKind::Min),
        "reduce_prod" => OpKind::Reduce(ReduceKind::Prod),
        _ => return None,
    };
    Some(k)
}

/// The attributes each op accepts (optional ones included).
pub(super) fn allowed_attrs(kind: OpKind) -> &'static [&'static str] {
    match kind {
        OpKind::Iota
        | OpKind::Concatenate
        | OpKind::Argmax
        | OpKind::Gather
        | OpKind::ScatterAdd => &["axis"],
        OpKind::Convert => &["to"],
        OpKind::BroadcastInDim => &["dims"],
        OpKind::Transpose => &["perm"],
        OpKind::Slice => &["start", "limit", "stride"],
        OpKind::Pad => &["low", "high", "interior"],
        OpKind::Reverse | OpKind::Reduce(_) => &["axes"],
        OpKind::DotGeneral => &["lhs_batch", "rhs_batch", "lhs_contract", "rhs_contract"],
        OpKind::Constant
        | OpKind::Unary(_)
        | OpKind::Binary(_)
        | OpKind::Compare(_)
        | OpKind::Select
        | OpKind::Reshape
        | OpKind::StopGradient => &[],
    }
}

impl<'s> Parser<'s> {
    /// `name=value` where value is an integer, a list of integers or a word.
    pub(super) fn attr(&mut self) -> PResult<Attr<'s>> {
        let tok = self.bump()?;
        let name = self.text(&tok);
        self.expect(Tok::Equals, "`=` after the attribute name")?;
        let value = match self.tok.kind {
            Tok::Number => {
                let t = self.bump()?;
                AttrValue::Int(self.int(&t, "an integer")?)
            }
            Tok::LBracket => {
                if let Some((list, end)) = fast_int_list(self.src.as_bytes(), self.tok.start) {
                    self.lexer.seek(end);
                    self.bump()?;
                    return Ok(Attr { name, tok, value: AttrValue::List(list) });
                }
                self.bump()?;
                let mut list = SDims::new();
                if self.tok.kind != Tok::RBracket {
                    loop {
                        let t = self.expect(Tok::Number, "an integer")?;
                        if list.len() >= MAX_RANK {
                            return Err(self.err(
                                &t,
                                format!("attribute list longer than {MAX_RANK} entries"),
                            ));
                        }
                        list.push(self.int(&t, "an integer")?);
                        if self.tok.kind != Tok::Comma {
                            break;
                        }
                        self.bump()?;
                    }
                }
                self.expect(Tok::RBracket, "`,` or `]`")?;
                AttrValue::List(list)
            }
            Tok::Word => {
                let t = self.bump()?;
                AttrValue::Word(self.text(&t))
            }
            _ => {
                return Err(self.err(
                    &self.tok,
                    format!(
                    "expected an attribute value (an integer, a list [..] or a dtype), found {}",
                    self.describe(&self.tok)
                ),
                ))
            }
        };
        Ok(Attr { name, tok, value })
    }

    pub(super) fn build_op(
        &self,
        kind: OpKind,
        op_tok: &Token,
        attrs: &[Attr<'s>],
        literal: Option<RawLiteral>,
        ty: &Type,
    ) -> PResult<Op> {
        let a = Attrs { p: self, op_tok, attrs };
        let op = match kind {
            OpKind::Constant => {
                let lit = literal.ok_or_else(|| self.err(op_tok, "missing literal".into()))?;
                Op::Constant { value: Arc::new(self.tensor(lit, ty)?) }
            }
            OpKind::Iota => Op::Iota { dtype: ty.dtype, shape: ty.shape.clone(), axis: a.axis()? },
            OpKind::Unary(u) => Op::Unary(u),
            OpKind::Binary(b) => Op::Binary(b),
            OpKind::Compare(c) => Op::Compare(c),
            OpKind::Select => Op::Select,
            OpKind::Convert => Op::Convert { to: a.dtype("to")? },
            OpKind::BroadcastInDim => {
                Op::BroadcastInDim { shape: ty.shape.clone(), dims: a.dims("dims")? }
            }
            OpKind::Reshape => Op::Reshape { shape: ty.shape.clone() },
            OpKind::Transpose => Op::Transpose { perm: a.dims("perm")? },
            OpKind::Slice => {
                let start = a.dims("start")?;
                let limit = a.dims("limit")?;
                let stride = match a.get("stride") {
                    Some(_) => a.dims("stride")?,
                    None => smallvec::smallvec![1; start.len()],
                };
                Op::Slice(Box::new(SliceAttrs { start, limit, stride }))
            }
            OpKind::Concatenate => Op::Concatenate { axis: a.axis()? },
            OpKind::Pad => {
                let low = a.sdims("low")?;
                let high = a.sdims("high")?;
                let interior = match a.get("interior") {
                    Some(_) => a.dims("interior")?,
                    None => smallvec::smallvec![0; low.len()],
                };
                Op::Pad(Box::new(PadAttrs { low, high, interior }))
            }
            OpKind::Reverse => Op::Reverse { axes: a.dims("axes")? },
            OpKind::Reduce(kind) => Op::Reduce { kind, axes: a.dims("axes")? },
            OpKind::Argmax => Op::Argmax { axis: a.axis()? },
            OpKind::DotGeneral => Op::DotGeneral(Box::new(DotDims {
                lhs_batch: a.dims("lhs_batch")?,
                rhs_batch: a.dims("rhs_batch")?,
                lhs_contract: a.dims("lhs_contract")?,
                rhs_contract: a.dims("rhs_contract")?,
            })),
            OpKind::Gather => Op::Gather { axis: a.axis()? },
            OpKind::ScatterAdd => Op::ScatterAdd { axis: a.axis()? },
            OpKind::StopGradient => Op::StopGradient,
        };
        Ok(op)
    }
}

/// Typed access to an instruction's attributes (already checked against
/// the op's allowed names, so only missing ones and bad values fail here).
struct Attrs<'a, 's> {
    p: &'a Parser<'s>,
    op_tok: &'a Token,
    attrs: &'a [Attr<'s>],
}

impl<'s> Attrs<'_, 's> {
    fn get(&self, name: &str) -> Option<&Attr<'s>> {
        self.attrs.iter().find(|a| a.name == name)
    }

    fn require(&self, name: &str) -> PResult<&Attr<'s>> {
        self.get(name).ok_or_else(|| {
            let op = self.p.text(self.op_tok);
            self.p.err(self.op_tok, format!("{op}: missing attribute `{name}`"))
        })
    }

    fn axis(&self) -> PResult<usize> {
        let a = self.require("axis")?;
        match a.value {
            AttrValue::Int(n) => usize::try_from(n)
                .map_err(|_| self.p.err(&a.tok, format!("attribute `axis` is negative ({n})"))),
            _ => Err(self.p.err(&a.tok, "attribute `axis` takes an integer".into())),
        }
    }

    fn sdims(&self, name: &str) -> PResult<SDims> {
        let a = self.require(name)?;
        match &a.value {
            AttrValue::List(l) => Ok(l.clone()),
            _ => Err(self.p.err(&a.tok, format!("attribute `{name}` takes a list like [0,1]"))),
        }
    }

    fn dims(&self, name: &str) -> PResult<Dims> {
        let l = self.sdims(name)?;
        l.iter()
            .map(|&n| {
                usize::try_from(n).map_err(|_| {
                    let tok = self.get(name).map_or(*self.op_tok, |a| a.tok);
                    self.p.err(&tok, format!("attribute `{name}` has a negative entry ({n})"))
                })
            })
            .collect()
    }

    fn dtype(&self, name: &str) -> PResult<DType> {
        let a = self.require(name)?;
        match a.value {
            AttrValue::Word(w) => DType::from_name(w).ok_or_else(|| {
                self.p.err(
                    &a.tok,
                    format!("unknown dtype `{}` (expected f32, f64, i32, i64 or bool)", clip(w)),
                )
            }),
            _ => Err(self.p.err(&a.tok, format!("attribute `{name}` takes a dtype"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_table_matches_op_names() {
        let mut n = 0;
        for name in Op::all_kinds() {
            let kind = op_kind(name).unwrap_or_else(|| panic!("{name} missing"));
            let op_name = match kind {
                OpKind::Unary(u) => u.name(),
                OpKind::Binary(b) => b.name(),
                OpKind::Compare(c) => c.name(),
                OpKind::Reduce(r) => r.name(),
                _ => name,
            };
            assert_eq!(op_name, name);
            n += 1;
        }
        assert_eq!(n, Op::all_kinds().len());
        assert!(op_kind("parameter").is_none());
    }
}
