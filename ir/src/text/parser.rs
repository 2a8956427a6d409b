//! The parser: a loop over tokens with one token of lookahead. Functions are
//! built through `Function::add_param` / `push` (so every op's shape rule
//! runs) and each written result type is checked against the inferred one.
//! This file reads functions, instructions and types; `ops.rs` reads op
//! names and attributes, `literal.rs` constants. Nothing recurses.
//!
//! Canonical text (what the printer writes: no spaces inside brackets) has
//! byte-level fast paths for types, attribute lists and literals; anything
//! else falls back to the token path, which accepts the same language and
//! produces every error message.

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::dtype::DType;
use crate::error::{IrError, Loc};
use crate::graph::{Args, Function, Module, Value};
use crate::op::SDims;
use crate::types::{Dims, Shape, Type};

use super::lexer::{clip, parse_error, Lexer, PResult, Tok, Token};
use super::ops::{allowed_attrs, op_kind, Attr, OpKind};

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
    module(src, file_name).map_err(|e| *e)
}

/// Parses a text holding exactly one function.
pub fn parse_function(src: &str, file_name: &str) -> Result<Function, IrError> {
    single_function(src, file_name).map_err(|e| *e)
}

fn module(src: &str, file_name: &str) -> PResult<Module> {
    let mut p = Parser::new(src, file_name)?;
    let mut funcs = Vec::new();
    let mut seen: HashMap<&str, Token> = HashMap::new();
    while p.tok.kind != Tok::Eof {
        funcs.push(p.function(&mut seen)?);
    }
    Module::from_funcs(funcs).map_err(|e| p.err(&p.tok, e.to_string()))
}

fn single_function(src: &str, file_name: &str) -> PResult<Function> {
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

/// The values defined so far, by name. Numbered names (`%17`, the printer's
/// form) index a vector; other names go through a hash map.
struct Env<'s> {
    /// Value index + 1 of `%n` at position n (0: not defined).
    numbered: Vec<u32>,
    named: HashMap<&'s str, Value>,
    /// Numbers at or above this use the map (bounds the vector by the
    /// input size, whatever numbers the input uses).
    limit: usize,
}

impl<'s> Env<'s> {
    fn new(src_len: usize) -> Env<'s> {
        Env { numbered: Vec::new(), named: HashMap::new(), limit: src_len / 4 + 16 }
    }

    /// The vector slot of a canonical number (no leading zeros).
    fn slot(&self, name: &str) -> Option<usize> {
        let b = name.as_bytes();
        if b.is_empty() || b.len() > 9 || (b.len() > 1 && b[0] == b'0') {
            return None;
        }
        let mut n = 0usize;
        for &c in b {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + usize::from(c - b'0');
        }
        (n < self.limit).then_some(n)
    }

    fn get(&self, name: &str) -> Option<Value> {
        match self.slot(name) {
            Some(n) => match self.numbered.get(n) {
                Some(&i) if i > 0 => Some(Value::from_index(i as usize - 1)),
                _ => None,
            },
            None => self.named.get(name).copied(),
        }
    }

    fn insert(&mut self, name: &'s str, v: Value) {
        match self.slot(name) {
            Some(n) => {
                if self.numbered.len() <= n {
                    self.numbered.resize(n + 1, 0);
                }
                if let Some(slot) = self.numbered.get_mut(n) {
                    *slot = u32::try_from(v.index() + 1).unwrap_or(0);
                }
            }
            None => {
                self.named.insert(name, v);
            }
        }
    }
}

/// The parser's state; its methods are spread over this file (functions,
/// instructions, types), `ops.rs` (attributes) and `literal.rs` (constants).
pub(super) struct Parser<'s> {
    pub(super) src: &'s str,
    file: &'s str,
    loc_file: Arc<str>,
    pub(super) lexer: Lexer<'s>,
    /// The current (not yet consumed) token.
    pub(super) tok: Token,
}

/// A list of integers in canonical form (`[1,-2,3]`, no spaces, at most
/// [`MAX_RANK`] entries of at most 18 digits) starting at `pos`, read
/// straight from the bytes; `None` for anything else, which the token path
/// reads (and reports). Returns the list and the offset after its `]`.
pub(super) fn fast_int_list(bytes: &[u8], mut pos: usize) -> Option<(SDims, usize)> {
    if bytes.get(pos) != Some(&b'[') {
        return None;
    }
    pos += 1;
    let mut list = SDims::new();
    if bytes.get(pos) == Some(&b']') {
        return Some((list, pos + 1));
    }
    loop {
        let negative = bytes.get(pos) == Some(&b'-');
        if negative {
            pos += 1;
        }
        let first = pos;
        let mut n: i64 = 0;
        while let Some(&c) = bytes.get(pos) {
            if !c.is_ascii_digit() || pos - first >= 18 {
                break;
            }
            n = n * 10 + i64::from(c - b'0');
            pos += 1;
        }
        if pos == first || list.len() >= MAX_RANK {
            return None;
        }
        list.push(if negative { -n } else { n });
        match bytes.get(pos) {
            Some(b',') => pos += 1,
            Some(b']') => return Some((list, pos + 1)),
            _ => return None,
        }
    }
}

fn is_numbered(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_digit())
}

impl<'s> Parser<'s> {
    fn new(src: &'s str, file: &'s str) -> PResult<Parser<'s>> {
        let mut lexer = Lexer::new(src, file);
        let tok = lexer.next_token()?;
        Ok(Parser { src, file, loc_file: Arc::from(file), lexer, tok })
    }

    /// Consumes the current token and returns it.
    #[inline]
    pub(super) fn bump(&mut self) -> PResult<Token> {
        let t = self.tok;
        self.tok = self.lexer.next_token()?;
        Ok(t)
    }

    #[cold]
    #[inline(never)]
    pub(super) fn err(&self, t: &Token, msg: String) -> Box<IrError> {
        parse_error(self.src, self.file, t.start, t.line, t.col, msg)
    }

    pub(super) fn text(&self, t: &Token) -> &'s str {
        t.text(self.src)
    }

    pub(super) fn describe(&self, t: &Token) -> String {
        match t.kind {
            Tok::Eof => "end of input".to_string(),
            _ => format!("`{}`", clip(self.text(t))),
        }
    }

    #[inline]
    pub(super) fn expect(&mut self, kind: Tok, what: &str) -> PResult<Token> {
        if self.tok.kind == kind {
            self.bump()
        } else {
            Err(self.expected(what))
        }
    }

    #[cold]
    #[inline(never)]
    fn expected(&self, what: &str) -> Box<IrError> {
        self.err(&self.tok, format!("expected {what}, found {}", self.describe(&self.tok)))
    }

    fn at_word(&self, w: &str) -> bool {
        self.tok.kind == Tok::Word && self.text(&self.tok) == w
    }

    fn loc(&self, t: &Token) -> Loc {
        Loc { file: self.loc_file.clone(), line: t.line, col: t.col }
    }

    // ---- functions -------------------------------------------------------

    fn function(&mut self, seen: &mut HashMap<&'s str, Token>) -> PResult<Function> {
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
        let mut env = Env::new(self.src.len());

        self.expect(Tok::LParen, "`(` and the parameters")?;
        if self.tok.kind != Tok::RParen {
            loop {
                let p = self.expect(Tok::Percent, "a parameter `%name: TYPE`")?;
                let pname = p.name(self.src);
                self.check_fresh(&f, &env, &p, pname)?;
                self.expect(Tok::Colon, "`:` and the parameter's type")?;
                let (ty, _) = self.ty()?;
                let stored = if is_numbered(pname) { None } else { Some(pname) };
                let v = f.add_param(stored, ty).map_err(|e| self.err(&p, e.to_string()))?;
                f.set_loc(v, Some(self.loc(&p)));
                env.insert(pname, v);
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
            let open = self.bump()?;
            if self.tok.kind == Tok::RParen {
                return Err(self.err(&open, "a function returns at least one value".into()));
            }
            loop {
                declared.push(self.ty()?.0);
                if self.tok.kind != Tok::Comma {
                    break;
                }
                self.bump()?;
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

    fn check_fresh(&self, f: &Function, env: &Env<'s>, t: &Token, name: &str) -> PResult<()> {
        match env.get(name) {
            Some(v) => {
                let at =
                    f.loc(v).map(|l| format!(" (at {}:{})", l.line, l.col)).unwrap_or_default();
                Err(self.err(t, format!("%{} is already defined{at}", clip(name))))
            }
            None => Ok(()),
        }
    }

    fn lookup(&self, env: &Env<'s>, t: &Token) -> PResult<Value> {
        env.get(t.name(self.src))
            .ok_or_else(|| self.err(t, format!("undefined value {}", clip(self.text(t)))))
    }

    // ---- instructions ----------------------------------------------------

    fn instruction(&mut self, f: &mut Function, env: &mut Env<'s>) -> PResult<()> {
        let name_tok = self.bump()?;
        let name = name_tok.name(self.src);
        self.check_fresh(f, env, &name_tok, name)?;
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
        env.insert(name, v);
        Ok(())
    }

    /// An integer token that fits in i64.
    pub(super) fn int(&self, t: &Token, what: &str) -> PResult<i64> {
        let s = self.text(t);
        s.parse::<i64>().map_err(|_| {
            if t.kind != Tok::Number || s.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                self.err(t, format!("expected {what}, found `{}`", clip(s)))
            } else {
                self.err(t, format!("integer `{}` is out of range", clip(s)))
            }
        })
    }

    // ---- types -----------------------------------------------------------

    /// `DTYPE[d0,d1,...]`; returns the type and its first token.
    fn ty(&mut self) -> PResult<(Type, Token)> {
        if let Some((ty, end)) = self.fast_type() {
            let t = self.tok;
            self.lexer.seek(end);
            self.bump()?;
            return Ok((ty, t));
        }
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

    /// The canonical form `f32[2,3]` read straight from the bytes; `None`
    /// for anything else (spaces, huge or odd numbers, errors), which the
    /// token path handles.
    fn fast_type(&self) -> Option<(Type, usize)> {
        if self.tok.kind != Tok::Word {
            return None;
        }
        let dtype = DType::from_name(self.text(&self.tok))?;
        let (list, end) = fast_int_list(self.src.as_bytes(), self.tok.end)?;
        let dims = list.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<Dims>>()?;
        let ty = Type { dtype, shape: Shape(dims) };
        ty.shape.num_elements().ok()?;
        Some((ty, end))
    }
}
