//! The parser: a loop over tokens with one token of lookahead. Functions are
//! built through `Function::add_param` / `push` (so every op's shape rule
//! runs) and each written result type is checked against the inferred one.
//! Nothing recurses: nested literals are read with an explicit stack whose
//! depth is capped at [`MAX_RANK`].

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::dtype::DType;
use crate::error::{IrError, Loc};
use crate::graph::{Args, Function, Module, Value};
use crate::op::{
    BinaryOp, CompareOp, DotDims, Op, PadAttrs, ReduceKind, SDims, SliceAttrs, UnaryOp,
};
use crate::tensor::{Data, Tensor};
use crate::types::{Dims, Shape, Type};

use super::lexer::{clip, parse_error, Lexer, Tok, Token};
use super::printer::{F32_CANONICAL_NAN, F64_CANONICAL_NAN};

/// The largest rank the parser accepts, in types, attribute lists and
/// literal nesting. Shape rules compare axis lists pairwise, so a bound keeps
/// parsing linear in the input; real programs stay far below it.
pub const MAX_RANK: usize = 64;

/// The most elements a scalar literal may be splatted to
/// (`constant 0.0 : f32[1000,1000]`); larger constants must be written out.
pub const MAX_SPLAT_ELEMENTS: usize = 1 << 24;

/// Parses a `.gir` module (zero or more functions). `file_name` goes into
/// error messages and into the source location of every instruction.
pub fn parse_module(src: &str, file_name: &str) -> Result<Module, IrError> {
    let mut p = Parser::new(src, file_name)?;
    let mut funcs = Vec::new();
    let mut seen: HashMap<&str, Token> = HashMap::new();
    while p.tok.kind != Tok::Eof {
        funcs.push(p.function(&mut seen)?);
    }
    Module::from_funcs(funcs).map_err(|e| p.err(&p.tok, e.to_string()))
}

/// Parses a text holding exactly one function.
pub fn parse_function(src: &str, file_name: &str) -> Result<Function, IrError> {
    let mut p = Parser::new(src, file_name)?;
    let f = p.function(&mut HashMap::new())?;
    if p.tok.kind != Tok::Eof {
        return Err(p.err(
            &p.tok,
            format!("expected end of input after the function, found {}", p.describe(&p.tok)),
        ));
    }
    Ok(f)
}

/// What the parser knows about a value name: its handle and where it was
/// defined.
type Env<'s> = HashMap<&'s str, (Value, u32, u32)>;

struct Parser<'s> {
    src: &'s str,
    file: &'s str,
    loc_file: Arc<str>,
    lexer: Lexer<'s>,
    /// The current (not yet consumed) token.
    tok: Token,
}

/// An attribute as written: `name=value`.
struct Attr<'s> {
    name: &'s str,
    tok: Token,
    value: AttrValue<'s>,
}

enum AttrValue<'s> {
    Int(i64),
    List(SDims),
    Word(&'s str),
}

/// A literal read before its type is known: its element tokens and the
/// shape its brackets spell.
struct RawLiteral {
    start: Token,
    leaves: Vec<Token>,
    shape: LiteralShape,
}

enum LiteralShape {
    /// Elements present; the dims of the nesting (empty for a scalar).
    Full(Dims),
    /// No elements: the list lengths down to the first empty list (the
    /// printer stops at the first size-0 dim).
    Empty(Dims),
}

#[derive(Clone, Copy)]
enum OpKind {
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

fn op_kind(name: &str) -> Option<OpKind> {
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
        _ => {
            if let Some(u) = UnaryOp::ALL.iter().find(|u| u.name() == name) {
                OpKind::Unary(*u)
            } else if let Some(b) = BinaryOp::ALL.iter().find(|b| b.name() == name) {
                OpKind::Binary(*b)
            } else if let Some(c) = CompareOp::ALL.iter().find(|c| c.name() == name) {
                OpKind::Compare(*c)
            } else if let Some(r) = ReduceKind::ALL.iter().find(|r| r.name() == name) {
                OpKind::Reduce(*r)
            } else {
                return None;
            }
        }
    };
    Some(k)
}

/// The attributes each op accepts (optional ones included).
fn allowed_attrs(kind: OpKind) -> &'static [&'static str] {
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

fn is_numbered(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_digit())
}

impl<'s> Parser<'s> {
    fn new(src: &'s str, file: &'s str) -> Result<Parser<'s>, IrError> {
        let mut lexer = Lexer::new(src, file);
        let tok = lexer.next_token()?;
        Ok(Parser { src, file, loc_file: Arc::from(file), lexer, tok })
    }

    /// Consumes the current token and returns it.
    fn bump(&mut self) -> Result<Token, IrError> {
        let t = self.tok;
        self.tok = self.lexer.next_token()?;
        Ok(t)
    }

    fn err(&self, t: &Token, msg: String) -> IrError {
        parse_error(self.src, self.file, t.start, t.line, t.col, msg)
    }

    fn text(&self, t: &Token) -> &'s str {
        t.text(self.src)
    }

    fn describe(&self, t: &Token) -> String {
        match t.kind {
            Tok::Eof => "end of input".to_string(),
            _ => format!("`{}`", clip(self.text(t))),
        }
    }

    fn expect(&mut self, kind: Tok, what: &str) -> Result<Token, IrError> {
        if self.tok.kind == kind {
            self.bump()
        } else {
            Err(self.err(&self.tok, format!("expected {what}, found {}", self.describe(&self.tok))))
        }
    }

    fn at_word(&self, w: &str) -> bool {
        self.tok.kind == Tok::Word && self.text(&self.tok) == w
    }

    fn loc(&self, t: &Token) -> Loc {
        Loc { file: self.loc_file.clone(), line: t.line, col: t.col }
    }

    // ---- functions -------------------------------------------------------

    fn function(&mut self, seen: &mut HashMap<&'s str, Token>) -> Result<Function, IrError> {
        if !self.at_word("func") {
            return Err(
                self.err(&self.tok, format!("expected `func`, found {}", self.describe(&self.tok)))
            );
        }
        self.bump()?;
        let name_tok = self.expect(Tok::At, "a function name `@name` after `func`")?;
        let name = name_tok.name(self.src);
        if let Some(prev) = seen.get(name) {
            return Err(self.err(
                &name_tok,
                format!("function @{name} is already defined (at {}:{})", prev.line, prev.col),
            ));
        }
        seen.insert(name, name_tok);
        let mut f = Function::new(name);
        let mut env: Env<'s> = HashMap::new();

        self.expect(Tok::LParen, "`(` and the parameters")?;
        if self.tok.kind != Tok::RParen {
            loop {
                let p = self.expect(Tok::Percent, "a parameter `%name: TYPE`")?;
                let pname = p.name(self.src);
                self.check_fresh(&env, &p, pname)?;
                self.expect(Tok::Colon, "`:` and the parameter's type")?;
                let (ty, _) = self.ty()?;
                let stored = if is_numbered(pname) { None } else { Some(pname) };
                let v = f.add_param(stored, ty).map_err(|e| self.err(&p, e.to_string()))?;
                f.set_loc(v, Some(self.loc(&p)));
                env.insert(pname, (v, p.line, p.col));
                if self.tok.kind != Tok::Comma {
                    break;
                }
                self.bump()?;
            }
        }
        self.expect(Tok::RParen, "`,` or `)` after a parameter")?;
        self.expect(Tok::Arrow, "`->` and the result types")?;
        let mut declared: Vec<Type> = Vec::new();
        if self.tok.kind == Tok::LParen {
            self.bump()?;
            if self.tok.kind != Tok::RParen {
                loop {
                    declared.push(self.ty()?.0);
                    if self.tok.kind != Tok::Comma {
                        break;
                    }
                    self.bump()?;
                }
            }
            self.expect(Tok::RParen, "`,` or `)` after a result type")?;
        } else {
            declared.push(self.ty()?.0);
        }
        let open = self.expect(Tok::LBrace, "`{` and the function body")?;

        loop {
            match self.tok.kind {
                Tok::Percent => self.instruction(&mut f, &mut env)?,
                Tok::Word if self.at_word("return") => break,
                Tok::Eof => {
                    return Err(self.err(
                        &self.tok,
                        format!(
                            "end of input in the body of @{name} (opened at {}:{}): \
                             expected an instruction or `return`",
                            open.line, open.col
                        ),
                    ))
                }
                _ => {
                    return Err(self.err(
                        &self.tok,
                        format!(
                            "expected an instruction `%name = ...` or `return`, found {}",
                            self.describe(&self.tok)
                        ),
                    ))
                }
            }
        }
        let ret = self.bump()?;
        let mut results: Vec<(Value, Token)> = Vec::new();
        if self.tok.kind == Tok::Percent {
            loop {
                let t = self.bump()?;
                results.push((self.lookup(&env, &t)?, t));
                if self.tok.kind != Tok::Comma {
                    break;
                }
                self.bump()?;
            }
        }
        self.expect(Tok::RBrace, "`}` after the return values")?;
        if results.len() != declared.len() {
            return Err(self.err(
                &ret,
                format!(
                    "return gives {} value(s) but the signature declares {}",
                    results.len(),
                    declared.len()
                ),
            ));
        }
        for ((v, t), want) in results.iter().zip(&declared) {
            if f.ty(*v) != want {
                return Err(self.err(
                    t,
                    format!(
                        "return value {} has type {} but the signature declares {want}",
                        self.text(t),
                        f.ty(*v)
                    ),
                ));
            }
        }
        f.set_results(results.iter().map(|r| r.0).collect())
            .map_err(|e| self.err(&ret, e.to_string()))?;
        Ok(f)
    }

    fn check_fresh(&self, env: &Env<'s>, t: &Token, name: &str) -> Result<(), IrError> {
        match env.get(name) {
            Some(&(_, line, col)) => {
                Err(self.err(t, format!("%{} is already defined (at {line}:{col})", clip(name))))
            }
            None => Ok(()),
        }
    }

    fn lookup(&self, env: &Env<'s>, t: &Token) -> Result<Value, IrError> {
        match env.get(t.name(self.src)) {
            Some(&(v, _, _)) => Ok(v),
            None => Err(self.err(t, format!("undefined value {}", clip(self.text(t))))),
        }
    }

    // ---- instructions ----------------------------------------------------

    fn instruction(&mut self, f: &mut Function, env: &mut Env<'s>) -> Result<(), IrError> {
        let name_tok = self.bump()?;
        let name = name_tok.name(self.src);
        self.check_fresh(env, &name_tok, name)?;
        self.expect(Tok::Equals, "`=` after the value name")?;
        let op_tok = self.expect(Tok::Word, "an op name")?;
        let op_name = self.text(&op_tok);
        let kind = op_kind(op_name)
            .ok_or_else(|| self.err(&op_tok, format!("unknown op `{}`", clip(op_name))))?;

        let mut args = Args::new();
        let mut attrs: SmallVec<[Attr<'s>; 4]> = SmallVec::new();
        let mut literal = None;
        if let OpKind::Constant = kind {
            literal = Some(self.literal()?);
        } else if self.tok.kind != Tok::Colon {
            loop {
                match self.tok.kind {
                    Tok::Percent => {
                        if !attrs.is_empty() {
                            return Err(
                                self.err(&self.tok, "operands come before attributes".into())
                            );
                        }
                        let t = self.bump()?;
                        args.push(self.lookup(env, &t)?);
                    }
                    Tok::Word => {
                        let attr = self.attr()?;
                        if attrs.iter().any(|a| a.name == attr.name) {
                            return Err(self.err(
                                &attr.tok,
                                format!("duplicate attribute `{}`", clip(attr.name)),
                            ));
                        }
                        if !allowed_attrs(kind).contains(&attr.name) {
                            return Err(self.err(
                                &attr.tok,
                                format!("unknown attribute `{}` for {op_name}", clip(attr.name)),
                            ));
                        }
                        attrs.push(attr);
                    }
                    _ => {
                        return Err(self.err(
                            &self.tok,
                            format!(
                            "expected an operand `%name` or an attribute `name=value`, found {}",
                            self.describe(&self.tok)
                        ),
                        ))
                    }
                }
                if self.tok.kind != Tok::Comma {
                    break;
                }
                self.bump()?;
            }
        }
        if self.tok.kind != Tok::Colon {
            let what = if literal.is_some() { "`:`" } else { "`,` or `:`" };
            return Err(self.err(
                &self.tok,
                format!("expected {what} and the result type, found {}", self.describe(&self.tok)),
            ));
        }
        self.bump()?;
        let (ty, ty_tok) = self.ty()?;
        let op = self.build_op(kind, &op_tok, &attrs, literal, &ty)?;
        if !op.arity().accepts(args.len()) {
            let want = match op.arity() {
                crate::op::Arity::Exactly(n) => format!("{n}"),
                crate::op::Arity::AtLeast(n) => format!("at least {n}"),
            };
            return Err(
                self.err(&op_tok, format!("{op_name} takes {want} operand(s), got {}", args.len()))
            );
        }
        let v = f.push(op, &args, Some(self.loc(&name_tok))).map_err(|e| {
            let msg = match e {
                IrError::Op { op, operands, msg, .. } => {
                    format!("{op}: {msg} (operands: {operands})")
                }
                IrError::ShapeOverflow { shape } => {
                    format!("{op_name}: result shape {shape} has too many elements to address")
                }
                other => other.to_string(),
            };
            self.err(&op_tok, msg)
        })?;
        if *f.ty(v) != ty {
            return Err(self.err(&ty_tok, format!("declared {ty} but {op_name} gives {}", f.ty(v))));
        }
        if !is_numbered(name) {
            f.set_value_name(v, Some(name)).map_err(|e| self.err(&name_tok, e.to_string()))?;
        }
        env.insert(name, (v, name_tok.line, name_tok.col));
        Ok(())
    }

    /// `name=value` where value is an integer, a list of integers or a word.
    fn attr(&mut self) -> Result<Attr<'s>, IrError> {
        let tok = self.bump()?;
        let name = self.text(&tok);
        self.expect(Tok::Equals, "`=` after the attribute name")?;
        let value = match self.tok.kind {
            Tok::Number => {
                let t = self.bump()?;
                AttrValue::Int(self.int(&t, "an integer")?)
            }
            Tok::LBracket => {
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

    /// An integer token that fits in i64.
    fn int(&self, t: &Token, what: &str) -> Result<i64, IrError> {
        let s = self.text(t);
        s.parse::<i64>().map_err(|_| {
            if t.kind != Tok::Number || s.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                self.err(t, format!("expected {what}, found `{}`", clip(s)))
            } else {
                self.err(t, format!("integer `{}` is out of range", clip(s)))
            }
        })
    }

    fn build_op(
        &self,
        kind: OpKind,
        op_tok: &Token,
        attrs: &[Attr<'s>],
        literal: Option<RawLiteral>,
        ty: &Type,
    ) -> Result<Op, IrError> {
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

    // ---- types -----------------------------------------------------------

    /// `DTYPE[d0,d1,...]`; returns the type and its first token.
    fn ty(&mut self) -> Result<(Type, Token), IrError> {
        let t = self.expect(Tok::Word, "a type like f32[2,3]")?;
        let name = self.text(&t);
        let dtype = DType::from_name(name).ok_or_else(|| {
            self.err(
                &t,
                format!("unknown dtype `{}` (expected f32, f64, i32, i64 or bool)", clip(name)),
            )
        })?;
        self.expect(Tok::LBracket, "`[` and the dimensions after the dtype")?;
        let mut dims = Dims::new();
        if self.tok.kind != Tok::RBracket {
            loop {
                let d = self.expect(Tok::Number, "a dimension")?;
                if dims.len() >= MAX_RANK {
                    return Err(self.err(&d, format!("rank larger than {MAX_RANK}")));
                }
                let n = self.int(&d, "an integer dimension")?;
                let n = usize::try_from(n)
                    .map_err(|_| self.err(&d, format!("dimension {n} is negative")))?;
                dims.push(n);
                if self.tok.kind != Tok::Comma {
                    break;
                }
                self.bump()?;
            }
        }
        self.expect(Tok::RBracket, "`,` or `]` in the dimensions")?;
        let ty = Type { dtype, shape: Shape(dims) };
        if ty.shape.num_elements().is_err() {
            return Err(self.err(&t, format!("type {ty} has too many elements to address")));
        }
        Ok((ty, t))
    }

    // ---- literals --------------------------------------------------------

    /// Reads a scalar or a nested list, iteratively.
    fn literal(&mut self) -> Result<RawLiteral, IrError> {
        let start = self.tok;
        match start.kind {
            Tok::Number | Tok::Word => {
                self.bump()?;
                return Ok(RawLiteral {
                    start,
                    leaves: vec![start],
                    shape: LiteralShape::Full(Dims::new()),
                });
            }
            Tok::LBracket => {}
            _ => {
                return Err(self.err(
                    &start,
                    format!(
                    "expected a literal (a number, true, false, inf, nan or a list [..]), found {}",
                    self.describe(&start)
                ),
                ))
            }
        }
        #[derive(PartialEq)]
        enum State {
            AfterOpen,
            AfterComma,
            AfterElem,
        }
        let mut leaves = Vec::new();
        // Element counts of the open lists, innermost last.
        let mut open: Vec<usize> = Vec::new();
        // The length every list at a depth must have (set by the first one).
        let mut dims: Vec<Option<usize>> = Vec::new();
        let mut leaf_depth: Option<usize> = None;
        let mut deepest_list = 0usize;
        let mut state = State::AfterComma;
        loop {
            let t = self.tok;
            match (t.kind, &state) {
                (Tok::LBracket, State::AfterOpen | State::AfterComma) => {
                    let depth = open.len();
                    if depth >= MAX_RANK {
                        return Err(self.err(
                            &t,
                            format!("literal nested deeper than {MAX_RANK} (the largest rank)"),
                        ));
                    }
                    if leaf_depth.is_some_and(|l| depth >= l) {
                        return Err(self.err(
                            &t,
                            "a list where an element was expected (lists must nest evenly)".into(),
                        ));
                    }
                    if let Some(c) = open.last_mut() {
                        *c += 1;
                    }
                    open.push(0);
                    if dims.len() <= depth {
                        dims.push(None);
                    }
                    deepest_list = deepest_list.max(depth);
                    state = State::AfterOpen;
                }
                (Tok::Number | Tok::Word, State::AfterOpen | State::AfterComma) => {
                    let depth = open.len();
                    if deepest_list >= depth || leaf_depth.is_some_and(|l| l != depth) {
                        return Err(self.err(
                            &t,
                            "an element where a list was expected (lists must nest evenly)".into(),
                        ));
                    }
                    leaf_depth = Some(depth);
                    if let Some(c) = open.last_mut() {
                        *c += 1;
                    }
                    leaves.push(t);
                    state = State::AfterElem;
                }
                (Tok::RBracket, State::AfterOpen | State::AfterElem) => {
                    let n = open.pop().unwrap_or(0);
                    let depth = open.len();
                    match dims.get_mut(depth) {
                        Some(Some(want)) if *want != n => {
                            return Err(self.err(
                                &t,
                                format!(
                                    "this list has {n} element(s) but an earlier list at the same depth has {want}"
                                ),
                            ))
                        }
                        Some(slot) => *slot = Some(n),
                        None => {}
                    }
                    state = State::AfterElem;
                    if open.is_empty() {
                        self.bump()?;
                        break;
                    }
                }
                (Tok::Comma, State::AfterElem) => state = State::AfterComma,
                _ => {
                    let what = match state {
                        State::AfterOpen => "an element or `]`",
                        State::AfterComma => "an element",
                        State::AfterElem => "`,` or `]`",
                    };
                    return Err(self.err(
                        &t,
                        format!("expected {what} in the literal, found {}", self.describe(&t)),
                    ));
                }
            }
            self.bump()?;
        }
        let spelled: Dims = dims.iter().map(|d| d.unwrap_or(0)).collect();
        let shape = match leaf_depth {
            Some(_) => LiteralShape::Full(spelled),
            None => LiteralShape::Empty(spelled),
        };
        Ok(RawLiteral { start, leaves, shape })
    }

    /// Checks a literal's shape against the written type and reads its
    /// elements in that dtype.
    fn tensor(&self, lit: RawLiteral, ty: &Type) -> Result<Tensor, IrError> {
        let dims = ty.dims();
        let n = ty.shape.num_elements().map_err(|e| self.err(&lit.start, e.to_string()))?;
        let mismatch = |spelled: &Dims| {
            self.err(
                &lit.start,
                format!("the literal has shape {} but the type is {ty}", Shape(spelled.clone())),
            )
        };
        let splat = match &lit.shape {
            LiteralShape::Full(d) if d.is_empty() => {
                if n > MAX_SPLAT_ELEMENTS {
                    return Err(self.err(
                        &lit.start,
                        format!(
                            "a scalar literal splatted to {ty} ({n} elements); \
                             at most {MAX_SPLAT_ELEMENTS} are allowed"
                        ),
                    ));
                }
                true
            }
            LiteralShape::Full(d) => {
                if d.as_slice() != dims {
                    return Err(mismatch(d));
                }
                false
            }
            LiteralShape::Empty(d) => {
                if d.len() > dims.len() || d.as_slice() != &dims[..d.len()] {
                    return Err(mismatch(d));
                }
                false
            }
        };
        let count = if splat { 1 } else { n };
        if lit.leaves.len() != count {
            return Err(self.err(
                &lit.start,
                format!("the literal has {} elements, {ty} holds {n}", lit.leaves.len()),
            ));
        }
        macro_rules! read {
            ($variant:ident, $leaf:ident) => {{
                let mut v = Vec::with_capacity(n);
                for t in &lit.leaves {
                    v.push(self.$leaf(t)?);
                }
                if splat {
                    let x = v
                        .first()
                        .copied()
                        .ok_or_else(|| self.err(&lit.start, "empty literal".into()))?;
                    v.resize(n, x);
                }
                Data::$variant(v)
            }};
        }
        let data = match ty.dtype {
            DType::F32 => read!(F32, leaf_f32),
            DType::F64 => read!(F64, leaf_f64),
            DType::I32 => read!(I32, leaf_i32),
            DType::I64 => read!(I64, leaf_i64),
            DType::Bool => read!(Bool, leaf_bool),
        };
        Tensor::new(ty.shape.clone(), data).map_err(|e| self.err(&lit.start, e.to_string()))
    }

    fn leaf_f32(&self, t: &Token) -> Result<f32, IrError> {
        let bits = self.float_leaf(t, "f32", 32)?;
        match bits {
            FloatLeaf::Bits(b) => u32::try_from(b)
                .map(f32::from_bits)
                .map_err(|_| self.err(t, "NaN bit pattern wider than 32 bits".into())),
            FloatLeaf::Text(s) => {
                let x: f32 = s.parse().map_err(|_| self.bad_leaf(t, "f32"))?;
                if x.is_infinite() {
                    return Err(self.err(t, format!("`{}` is out of range for f32", clip(s))));
                }
                Ok(x)
            }
        }
    }

    fn leaf_f64(&self, t: &Token) -> Result<f64, IrError> {
        match self.float_leaf(t, "f64", 64)? {
            FloatLeaf::Bits(b) => Ok(f64::from_bits(b)),
            FloatLeaf::Text(s) => {
                let x: f64 = s.parse().map_err(|_| self.bad_leaf(t, "f64"))?;
                if x.is_infinite() {
                    return Err(self.err(t, format!("`{}` is out of range for f64", clip(s))));
                }
                Ok(x)
            }
        }
    }

    /// The special float words (`inf`, `-inf`, `nan`, `-nan`, `nan:0x...`)
    /// as bit patterns; numbers are left as text for the dtype's own parser
    /// (f32 is parsed directly, never through f64).
    fn float_leaf(&self, t: &Token, dt: &str, width: u32) -> Result<FloatLeaf<'s>, IrError> {
        let s = self.text(t);
        if t.kind == Tok::Number {
            return Ok(FloatLeaf::Text(s));
        }
        let (canonical, sign, inf) = if width == 32 {
            (F32_CANONICAL_NAN as u64, 1u64 << 31, f32::INFINITY.to_bits() as u64)
        } else {
            (F64_CANONICAL_NAN, 1u64 << 63, f64::INFINITY.to_bits())
        };
        let bits = match s {
            "inf" => inf,
            "-inf" => inf | sign,
            "nan" => canonical,
            "-nan" => canonical | sign,
            _ => {
                let Some(hex) = s.strip_prefix("nan:0x") else {
                    return Err(self.bad_leaf(t, dt));
                };
                let digits = (width / 4) as usize;
                let b = if hex.is_empty() || hex.len() > digits {
                    None
                } else {
                    u64::from_str_radix(hex, 16).ok()
                };
                let b = b.ok_or_else(|| {
                    self.err(t, format!("`{}` needs 1 to {digits} hex digits for {dt}", clip(s)))
                })?;
                let is_nan = if width == 32 {
                    u32::try_from(b).is_ok_and(|b| f32::from_bits(b).is_nan())
                } else {
                    f64::from_bits(b).is_nan()
                };
                if !is_nan {
                    return Err(
                        self.err(t, format!("`{}` is not a NaN bit pattern for {dt}", clip(s)))
                    );
                }
                b
            }
        };
        Ok(FloatLeaf::Bits(bits))
    }

    fn leaf_i32(&self, t: &Token) -> Result<i32, IrError> {
        let s = self.text(t);
        s.parse().map_err(|_| self.bad_int(t, "i32"))
    }

    fn leaf_i64(&self, t: &Token) -> Result<i64, IrError> {
        let s = self.text(t);
        s.parse().map_err(|_| self.bad_int(t, "i64"))
    }

    fn leaf_bool(&self, t: &Token) -> Result<bool, IrError> {
        match self.text(t) {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.bad_leaf(t, "bool")),
        }
    }

    fn bad_leaf(&self, t: &Token, dt: &str) -> IrError {
        let what = match dt {
            "bool" => "true or false",
            "f32" | "f64" => "a float (like 1.5, -2e-3, inf, nan)",
            _ => "an integer",
        };
        self.err(t, format!("expected {what} for {dt}, found `{}`", clip(self.text(t))))
    }

    fn bad_int(&self, t: &Token, dt: &str) -> IrError {
        let s = self.text(t);
        if t.kind == Tok::Number && s.bytes().all(|b| b == b'-' || b.is_ascii_digit()) {
            self.err(t, format!("integer `{}` is out of range for {dt}", clip(s)))
        } else {
            self.bad_leaf(t, dt)
        }
    }
}

enum FloatLeaf<'s> {
    Bits(u64),
    Text(&'s str),
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

    fn require(&self, name: &str) -> Result<&Attr<'s>, IrError> {
        self.get(name).ok_or_else(|| {
            let op = self.p.text(self.op_tok);
            self.p.err(self.op_tok, format!("{op}: missing attribute `{name}`"))
        })
    }

    fn axis(&self) -> Result<usize, IrError> {
        let a = self.require("axis")?;
        match a.value {
            AttrValue::Int(n) => usize::try_from(n)
                .map_err(|_| self.p.err(&a.tok, format!("attribute `axis` is negative ({n})"))),
            _ => Err(self.p.err(&a.tok, "attribute `axis` takes an integer".into())),
        }
    }

    fn sdims(&self, name: &str) -> Result<SDims, IrError> {
        let a = self.require(name)?;
        match &a.value {
            AttrValue::List(l) => Ok(l.clone()),
            _ => Err(self.p.err(&a.tok, format!("attribute `{name}` takes a list like [0,1]"))),
        }
    }

    fn dims(&self, name: &str) -> Result<Dims, IrError> {
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

    fn dtype(&self, name: &str) -> Result<DType, IrError> {
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
