//! Tokens of the `.gir` format. The lexer is a byte loop with one token of
//! lookahead kept by the parser; it never allocates and never recurses.

use crate::error::IrError;

/// What kind of token was read. Names, words and numbers are slices of the
/// source (see [`Token::text`]); the lexer only checks their spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `%name` (letters, digits, `_`).
    Percent,
    /// `@name`.
    At,
    /// A bare word: op, attribute and dtype names, `func`, `return`,
    /// `true`, `inf`, `-inf`, `nan`, `nan:0x7fc00001`.
    Word,
    /// `-`? digits, optional fraction and exponent.
    Number,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Equals,
    /// `->`.
    Arrow,
    Eof,
}

/// A token and where it starts (byte offset, 1-based line and column).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
    pub line: u32,
    pub col: u32,
}

impl Token {
    /// The token's source text (for `%x` and `@f` this includes the sigil).
    pub fn text<'s>(&self, src: &'s str) -> &'s str {
        src.get(self.start..self.end).unwrap_or("")
    }

    /// The name after `%` or `@`.
    pub fn name<'s>(&self, src: &'s str) -> &'s str {
        src.get(self.start + 1..self.end).unwrap_or("")
    }
}

pub(crate) struct Lexer<'s> {
    src: &'s str,
    bytes: &'s [u8],
    file: &'s str,
    pos: usize,
    line: u32,
    line_start: usize,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'s> Lexer<'s> {
    pub fn new(src: &'s str, file: &'s str) -> Lexer<'s> {
        Lexer { src, bytes: src.as_bytes(), file, pos: 0, line: 1, line_start: 0 }
    }

    fn peek_at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    fn col_of(&self, pos: usize) -> u32 {
        u32::try_from(pos - self.line_start + 1).unwrap_or(u32::MAX)
    }

    fn error(&self, pos: usize, msg: String) -> IrError {
        parse_error(self.src, self.file, pos, self.line, self.col_of(pos), msg)
    }

    /// Skips whitespace and `#` comments.
    fn skip_trivia(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\n' => {
                    self.pos += 1;
                    self.line = self.line.saturating_add(1);
                    self.line_start = self.pos;
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'#' => {
                    while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn scan_name(&mut self) {
        while is_name_byte(self.peek_at(self.pos)) {
            self.pos += 1;
        }
    }

    /// Reads the next token.
    pub fn next_token(&mut self) -> Result<Token, IrError> {
        self.skip_trivia();
        let start = self.pos;
        let (line, col) = (self.line, self.col_of(start));
        let tok = |kind, end| Token { kind, start, end, line, col };
        let Some(&b) = self.bytes.get(start) else {
            return Ok(tok(Tok::Eof, start));
        };
        let single = match b {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            b'{' => Some(Tok::LBrace),
            b'}' => Some(Tok::RBrace),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            b'=' => Some(Tok::Equals),
            _ => None,
        };
        if let Some(kind) = single {
            self.pos += 1;
            return Ok(tok(kind, self.pos));
        }
        match b {
            b'%' | b'@' => {
                self.pos += 1;
                self.scan_name();
                if self.pos == start + 1 {
                    let what = if b == b'%' { "a value name" } else { "a function name" };
                    return Err(self.error(
                        start,
                        format!("expected {what} (letters, digits, _) after `{}`", b as char),
                    ));
                }
                Ok(tok(if b == b'%' { Tok::Percent } else { Tok::At }, self.pos))
            }
            b'-' if self.peek_at(start + 1) == b'>' => {
                self.pos += 2;
                Ok(tok(Tok::Arrow, self.pos))
            }
            b'-' if self.peek_at(start + 1).is_ascii_digit() => self.number(start, line, col),
            b'-' if self.peek_at(start + 1).is_ascii_alphabetic() => {
                self.pos += 1;
                self.word(start, line, col)
            }
            b'0'..=b'9' => self.number(start, line, col),
            b if b.is_ascii_alphabetic() || b == b'_' => self.word(start, line, col),
            _ => {
                let c = self.src.get(start..).and_then(|s| s.chars().next()).unwrap_or('?');
                Err(self.error(start, format!("unexpected character {c:?}")))
            }
        }
    }

    /// A word; `nan:0x...` (NaN with an explicit bit pattern) is one word.
    fn word(&mut self, start: usize, line: u32, col: u32) -> Result<Token, IrError> {
        let name_start = self.pos;
        self.scan_name();
        let is_nan = self.bytes.get(name_start..self.pos) == Some(b"nan".as_slice());
        if is_nan
            && self.peek_at(self.pos) == b':'
            && self.peek_at(self.pos + 1) == b'0'
            && self.peek_at(self.pos + 2) == b'x'
        {
            self.pos += 3;
            self.scan_name();
        }
        Ok(Token { kind: Tok::Word, start, end: self.pos, line, col })
    }

    /// `-`? digits (`.` digits*)? ([eE] [+-]? digits)?
    fn number(&mut self, start: usize, line: u32, col: u32) -> Result<Token, IrError> {
        if self.peek_at(self.pos) == b'-' {
            self.pos += 1;
        }
        let digits = |lx: &mut Lexer| {
            let s = lx.pos;
            while lx.peek_at(lx.pos).is_ascii_digit() {
                lx.pos += 1;
            }
            lx.pos - s
        };
        digits(self);
        let mut ok = true;
        if self.peek_at(self.pos) == b'.' {
            self.pos += 1;
            digits(self);
        }
        if matches!(self.peek_at(self.pos), b'e' | b'E') {
            self.pos += 1;
            if matches!(self.peek_at(self.pos), b'+' | b'-') {
                self.pos += 1;
            }
            ok = digits(self) > 0;
        }
        if !ok || is_name_byte(self.peek_at(self.pos)) || self.peek_at(self.pos) == b'.' {
            // Take the whole malformed run for the message.
            while is_name_byte(self.peek_at(self.pos)) || self.peek_at(self.pos) == b'.' {
                self.pos += 1;
            }
            let text = self.src.get(start..self.pos).unwrap_or("");
            return Err(self.error(start, format!("malformed number `{}`", clip(text))));
        }
        Ok(Token { kind: Tok::Number, start, end: self.pos, line, col })
    }
}

/// Shortens a piece of source text for an error message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Builds a parse error whose snippet shows the offending line (and up to two
/// lines before it) with a `^` under the column. Long lines are cut to a
/// window around the fault, so a megabyte-long line makes a short message.
pub(crate) fn parse_error(
    src: &str,
    file: &str,
    offset: usize,
    line: u32,
    col: u32,
    msg: String,
) -> IrError {
    IrError::Parse { file: file.to_string(), line, col, msg, snippet: snippet(src, offset, line) }
}

fn snippet(src: &str, offset: usize, line: u32) -> String {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    // Up to two lines of context before the faulty one.
    let mut context: Vec<(u32, &str)> = Vec::new();
    let mut end = line_start;
    let mut ln = line;
    for _ in 0..2 {
        if end == 0 || ln <= 1 {
            break;
        }
        let prev_end = end - 1;
        let prev_start = src[..prev_end].rfind('\n').map_or(0, |i| i + 1);
        ln -= 1;
        context.push((ln, &src[prev_start..prev_end]));
        end = prev_start;
    }
    context.reverse();
    let width = line.to_string().len();
    let mut out = String::new();
    for (n, text) in context {
        let (shown, _) = window(text, 0);
        out.push_str(&format!("{n:>width$} | {shown}\n"));
    }
    let (shown, caret) = window(&src[line_start..line_end], offset - line_start);
    out.push_str(&format!("{line:>width$} | {shown}\n"));
    out.push_str(&format!("{:>width$} | {}^", "", " ".repeat(caret)));
    out
}

/// A displayable piece of one line around byte `at`, and the caret's column
/// (in characters) inside it.
fn window(text: &str, at: usize) -> (String, usize) {
    const BEFORE: usize = 60;
    const AFTER: usize = 40;
    let text = text.strip_suffix('\r').unwrap_or(text);
    let at = at.min(text.len());
    let mut lo = at.saturating_sub(BEFORE);
    while !text.is_char_boundary(lo) {
        lo -= 1;
    }
    let mut hi = (at + AFTER).min(text.len());
    while !text.is_char_boundary(hi) {
        hi += 1;
    }
    let clean =
        |s: &str| -> String { s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect() };
    let mut shown = String::new();
    let mut caret = 0;
    if lo > 0 {
        shown.push_str("...");
        caret += 3;
    }
    let head = clean(&text[lo..at]);
    caret += head.chars().count();
    shown.push_str(&head);
    shown.push_str(&clean(&text[at..hi]));
    if hi < text.len() {
        shown.push_str("...");
    }
    (shown, caret)
}
