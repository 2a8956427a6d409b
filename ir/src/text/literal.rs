//! Constants: nested-list literals read without recursion (an explicit
//! stack, depth capped at [`MAX_RANK`]) and their elements read in the
//! written dtype, bit-exactly.

use crate::dtype::DType;
use crate::error::IrError;
use crate::tensor::{Data, Tensor};
use crate::types::{Dims, Shape, Type};

use super::lexer::{clip, PResult, Tok, Token};
use super::parser::{Parser, MAX_RANK, MAX_SPLAT_ELEMENTS};
use super::printer::{F32_CANONICAL_NAN, F64_CANONICAL_NAN};

/// A literal read before its type is known: its elements and the shape its
/// brackets spell.
pub(super) struct RawLiteral {
    start: Token,
    leaves: Vec<Span>,
    shape: LiteralShape,
}

/// Where a literal element is in the source.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

enum LiteralShape {
    /// Elements present; the dims of the nesting (empty for a scalar).
    Full(Dims),
    /// No elements: the list lengths down to the first empty list (the
    /// printer stops at the first size-0 dim).
    Empty(Dims),
}

/// One token of a nested-list literal, as the shape reader sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LitEvent {
    Open,
    Close,
    Comma,
    Element,
    Other,
}

/// What the previous token of a literal was.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LitState {
    Opened,
    Comma,
    Element,
}

enum LitError {
    TooDeep,
    ListForElement,
    ElementForList,
    Length { n: usize, want: usize },
    Unexpected(LitState),
}

impl LitError {
    fn message(&self, found: &str) -> String {
        match self {
            LitError::TooDeep => {
                format!("literal nested deeper than {MAX_RANK} (the largest rank)")
            }
            LitError::ListForElement => {
                "a list where an element was expected (lists must nest evenly)".into()
            }
            LitError::ElementForList => {
                "an element where a list was expected (lists must nest evenly)".into()
            }
            LitError::Length { n, want } => format!(
                "this list has {n} element(s) but an earlier list at the same depth has {want}"
            ),
            LitError::Unexpected(state) => {
                let what = match state {
                    LitState::Opened => "an element or `]`",
                    LitState::Comma => "an element",
                    LitState::Element => "`,` or `]`",
                };
                format!("expected {what} in the literal, found {found}")
            }
        }
    }
}

/// Checks the bracket structure of a literal token by token (an explicit
/// stack, depth capped at [`MAX_RANK`]) and records the dims it spells.
struct ShapeReader {
    /// Element counts of the open lists, innermost last.
    open: Vec<usize>,
    /// The length every list at a depth must have (set by the first one).
    dims: Vec<Option<usize>>,
    leaf_depth: Option<usize>,
    deepest_list: usize,
    state: LitState,
}

impl ShapeReader {
    fn new() -> ShapeReader {
        ShapeReader {
            open: Vec::new(),
            dims: Vec::new(),
            leaf_depth: None,
            deepest_list: 0,
            state: LitState::Comma,
        }
    }

    /// Feeds one token; `Ok(true)` once the outermost list has closed.
    fn step(&mut self, event: LitEvent) -> Result<bool, LitError> {
        match (event, self.state) {
            (LitEvent::Open, LitState::Opened | LitState::Comma) => {
                let depth = self.open.len();
                if depth >= MAX_RANK {
                    return Err(LitError::TooDeep);
                }
                if self.leaf_depth.is_some_and(|l| depth >= l) {
                    return Err(LitError::ListForElement);
                }
                if let Some(c) = self.open.last_mut() {
                    *c += 1;
                }
                self.open.push(0);
                if self.dims.len() <= depth {
                    self.dims.push(None);
                }
                self.deepest_list = self.deepest_list.max(depth);
                self.state = LitState::Opened;
            }
            (LitEvent::Element, LitState::Opened | LitState::Comma) => {
                let depth = self.open.len();
                if self.deepest_list >= depth || self.leaf_depth.is_some_and(|l| l != depth) {
                    return Err(LitError::ElementForList);
                }
                self.leaf_depth = Some(depth);
                if let Some(c) = self.open.last_mut() {
                    *c += 1;
                }
                self.state = LitState::Element;
            }
            (LitEvent::Close, LitState::Opened | LitState::Element) => {
                let n = self.open.pop().unwrap_or(0);
                match self.dims.get_mut(self.open.len()) {
                    Some(Some(want)) if *want != n => {
                        return Err(LitError::Length { n, want: *want })
                    }
                    Some(slot) => *slot = Some(n),
                    None => {}
                }
                self.state = LitState::Element;
                return Ok(self.open.is_empty());
            }
            (LitEvent::Comma, LitState::Element) => self.state = LitState::Comma,
            (_, state) => return Err(LitError::Unexpected(state)),
        }
        Ok(false)
    }

    fn finish(self) -> LiteralShape {
        let spelled: Dims = self.dims.iter().map(|d| d.unwrap_or(0)).collect();
        match self.leaf_depth {
            Some(_) => LiteralShape::Full(spelled),
            None => LiteralShape::Empty(spelled),
        }
    }
}

impl<'s> Parser<'s> {
    // ---- literals --------------------------------------------------------

    /// Reads a scalar or a nested list, without recursion. Canonical text
    /// (nothing but elements, commas and brackets) takes a byte-level fast
    /// path; anything else goes through the tokens, which give the errors.
    pub(super) fn literal(&mut self) -> PResult<RawLiteral> {
        let start = self.tok;
        match start.kind {
            Tok::Number | Tok::Word => {
                self.bump()?;
                let leaves = vec![Span { start: start.start, end: start.end }];
                return Ok(RawLiteral { start, leaves, shape: LiteralShape::Full(Dims::new()) });
            }
            Tok::LBracket => {}
            _ => {
                return Err(self.err(
                    &start,
                    format!(
                        "expected a literal (a number, true, false, inf, nan or a list [..]), \
                         found {}",
                        self.describe(&start)
                    ),
                ))
            }
        }
        if let Some((lit, end)) = self.fast_literal(start) {
            self.lexer.seek(end);
            self.bump()?;
            return Ok(lit);
        }
        let mut reader = ShapeReader::new();
        let mut leaves = Vec::new();
        loop {
            let t = self.tok;
            let event = match t.kind {
                Tok::LBracket => LitEvent::Open,
                Tok::RBracket => LitEvent::Close,
                Tok::Comma => LitEvent::Comma,
                Tok::Number | Tok::Word => LitEvent::Element,
                _ => LitEvent::Other,
            };
            let done =
                reader.step(event).map_err(|e| self.err(&t, e.message(&self.describe(&t))))?;
            if event == LitEvent::Element {
                leaves.push(Span { start: t.start, end: t.end });
            }
            self.bump()?;
            if done {
                return Ok(RawLiteral { start, leaves, shape: reader.finish() });
            }
        }
    }

    /// The literal starting at `start` (a `[`) read straight from the bytes,
    /// with the lexer's own number and word rules; `None` on anything the
    /// token path should handle (whitespace, comments, errors). Returns the
    /// literal and the offset after its last `]`.
    fn fast_literal(&self, start: Token) -> Option<(RawLiteral, usize)> {
        let bytes = self.src.as_bytes();
        let mut pos = start.start;
        let mut reader = ShapeReader::new();
        let mut leaves = Vec::new();
        loop {
            let b = *bytes.get(pos)?;
            let (event, end) = match b {
                b'[' => (LitEvent::Open, pos + 1),
                b']' => (LitEvent::Close, pos + 1),
                b',' => (LitEvent::Comma, pos + 1),
                b'0'..=b'9' => (LitEvent::Element, self.lexer.number_end(pos).ok()?),
                b'-' => match bytes.get(pos + 1) {
                    Some(c) if c.is_ascii_digit() => {
                        (LitEvent::Element, self.lexer.number_end(pos).ok()?)
                    }
                    Some(c) if c.is_ascii_alphabetic() => {
                        (LitEvent::Element, self.lexer.word_end(pos + 1))
                    }
                    _ => return None,
                },
                b if b.is_ascii_alphabetic() || b == b'_' => {
                    (LitEvent::Element, self.lexer.word_end(pos))
                }
                _ => return None,
            };
            let done = reader.step(event).ok()?;
            if event == LitEvent::Element {
                leaves.push(Span { start: pos, end });
            }
            pos = end;
            if done {
                return Some((RawLiteral { start, leaves, shape: reader.finish() }, pos));
            }
        }
    }

    /// Checks a literal's shape against the written type and reads its
    /// elements in that dtype.
    pub(super) fn tensor(&self, lit: RawLiteral, ty: &Type) -> PResult<Tensor> {
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
                for &span in &lit.leaves {
                    v.push(self.$leaf(&lit.start, span)?);
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

    fn leaf_f32(&self, lit: &Token, span: Span) -> PResult<f32> {
        let t = &self.leaf_token(lit, span);
        let bits = self.float_leaf(lit, t, "f32", 32)?;
        match bits {
            FloatLeaf::Bits(b) => u32::try_from(b).map(f32::from_bits).map_err(|_| {
                self.err(&self.locate(lit, t), "NaN bit pattern wider than 32 bits".into())
            }),
            FloatLeaf::Text(s) => {
                let x: f32 = s.parse().map_err(|_| self.bad_leaf(lit, t, "f32"))?;
                if x.is_infinite() {
                    return Err(self.err(
                        &self.locate(lit, t),
                        format!("`{}` is out of range for f32", clip(s)),
                    ));
                }
                Ok(x)
            }
        }
    }

    fn leaf_f64(&self, lit: &Token, span: Span) -> PResult<f64> {
        let t = &self.leaf_token(lit, span);
        match self.float_leaf(lit, t, "f64", 64)? {
            FloatLeaf::Bits(b) => Ok(f64::from_bits(b)),
            FloatLeaf::Text(s) => {
                let x: f64 = s.parse().map_err(|_| self.bad_leaf(lit, t, "f64"))?;
                if x.is_infinite() {
                    return Err(self.err(
                        &self.locate(lit, t),
                        format!("`{}` is out of range for f64", clip(s)),
                    ));
                }
                Ok(x)
            }
        }
    }

    /// The special float words (`inf`, `-inf`, `nan`, `-nan`, `nan:0x...`)
    /// as bit patterns; numbers are left as text for the dtype's own parser
    /// (f32 is parsed directly, never through f64).
    fn float_leaf(&self, lit: &Token, t: &Token, dt: &str, width: u32) -> PResult<FloatLeaf<'s>> {
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
                    return Err(self.bad_leaf(lit, t, dt));
                };
                let digits = (width / 4) as usize;
                let b = if hex.is_empty() || hex.len() > digits {
                    None
                } else {
                    u64::from_str_radix(hex, 16).ok()
                };
                let b = b.ok_or_else(|| {
                    self.err(
                        &self.locate(lit, t),
                        format!("`{}` needs 1 to {digits} hex digits for {dt}", clip(s)),
                    )
                })?;
                let is_nan = if width == 32 {
                    u32::try_from(b).is_ok_and(|b| f32::from_bits(b).is_nan())
                } else {
                    f64::from_bits(b).is_nan()
                };
                if !is_nan {
                    return Err(self.err(
                        &self.locate(lit, t),
                        format!("`{}` is not a NaN bit pattern for {dt}", clip(s)),
                    ));
                }
                b
            }
        };
        Ok(FloatLeaf::Bits(bits))
    }

    fn leaf_i32(&self, lit: &Token, span: Span) -> PResult<i32> {
        let t = &self.leaf_token(lit, span);
        let s = self.text(t);
        s.parse().map_err(|_| self.bad_int(lit, t, "i32"))
    }

    fn leaf_i64(&self, lit: &Token, span: Span) -> PResult<i64> {
        let t = &self.leaf_token(lit, span);
        let s = self.text(t);
        s.parse().map_err(|_| self.bad_int(lit, t, "i64"))
    }

    fn leaf_bool(&self, lit: &Token, span: Span) -> PResult<bool> {
        let t = &self.leaf_token(lit, span);
        match self.text(t) {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.bad_leaf(lit, t, "bool")),
        }
    }

    fn bad_leaf(&self, lit: &Token, t: &Token, dt: &str) -> Box<IrError> {
        let what = match dt {
            "bool" => "true or false",
            "f32" | "f64" => "a float (like 1.5, -2e-3, inf, nan)",
            _ => "an integer",
        };
        self.err(
            &self.locate(lit, t),
            format!("expected {what} for {dt}, found `{}`", clip(self.text(t))),
        )
    }

    fn bad_int(&self, lit: &Token, t: &Token, dt: &str) -> Box<IrError> {
        let s = self.text(t);
        if t.kind == Tok::Number && s.bytes().all(|b| b == b'-' || b.is_ascii_digit()) {
            self.err(
                &self.locate(lit, t),
                format!("integer `{}` is out of range for {dt}", clip(s)),
            )
        } else {
            self.bad_leaf(lit, t, dt)
        }
    }

    /// A token for a literal element (line and column left unknown until
    /// an error needs them, see [`Parser::locate`]).
    fn leaf_token(&self, lit: &Token, span: Span) -> Token {
        let b = self.src.as_bytes();
        let first = b.get(span.start).copied().unwrap_or(0);
        let second = b.get(span.start + 1).copied().unwrap_or(0);
        let number = first.is_ascii_digit() || (first == b'-' && second.is_ascii_digit());
        let kind = if number { Tok::Number } else { Tok::Word };
        Token { kind, start: span.start, end: span.end, line: lit.line, col: 0 }
    }

    /// `t` with the line and column it has in the source, counted from the
    /// start of its literal.
    #[cold]
    fn locate(&self, lit: &Token, t: &Token) -> Token {
        let between = self.src.get(lit.start..t.start).unwrap_or("");
        let newlines = between.bytes().filter(|&b| b == b'\n').count();
        let line = lit.line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        let col = match between.rfind('\n') {
            Some(i) => between.len() - i,
            None => lit.col as usize + between.len(),
        };
        Token { line, col: u32::try_from(col).unwrap_or(u32::MAX), ..*t }
    }
}

enum FloatLeaf<'s> {
    Bits(u64),
    Text(&'s str),
}
