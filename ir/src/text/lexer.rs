//! Tokens of the `.gir` format. The lexer is a byte loop with one token of
//! lookahead kept by the parser; it never allocates and never recurses.

use crate::error::IrError;

/// Parser results; the error is boxed so the many `Result`s passed around
/// per token stay small.
pub(crate) type PResult<T> = Result<T, Box<IrError>>;

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
    NAME_BYTE[usize::from(b)]
}

/// Letters, digits and `_`: the bytes of names and words.
static NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'_';
        i += 1;
    }
    t
};

/// The end of the run of name bytes starting at `pos`.
fn name_end(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(&b) = bytes.get(pos) {
        if !is_name_byte(b) {
            break;
        }
        pos += 1;
    }
    pos
}

fn digits_end(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b) = bytes.get(pos) {
        if !b.is_ascii_digit() {
            break;
        }
        pos += 1;
    }
    pos
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

    #[cold]
    #[inline(never)]
    fn error(&self, pos: usize, msg: String) -> Box<IrError> {
        parse_error(self.src, self.file, pos, self.line, self.col_of(pos), msg)
    }

    /// Skips whitespace and `#` comments; returns the next token's start.
    #[inline]
    fn skip_trivia(&mut self) -> usize {
        let bytes = self.bytes;
        let mut pos = self.pos;
        while let Some(&b) = bytes.get(pos) {
            match b {
                b' ' | b'\t' | b'\r' => pos += 1,
                b'\n' => {
                    pos += 1;
                    self.line = self.line.saturating_add(1);
                    self.line_start = pos;
                }
                b'#' => {
                    pos = bytes
                        .get(pos..)
                        .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
                        .map_or(bytes.len(), |i| pos + i);
                }
                _ => break,
            }
        }
        pos
    }

    /// Reads the next token.
    #[inline]
    pub fn next_token(&mut self) -> PResult<Token> {
        let start = self.skip_trivia();
        let (line, col) = (self.line, self.col_of(start));
        let Some(&b) = self.bytes.get(start) else {
            self.pos = start;
            return Ok(Token { kind: Tok::Eof, start, end: start, line, col });
        };
        let (kind, end) = match b {
            b'(' => (Tok::LParen, start + 1),
            b')' => (Tok::RParen, start + 1),
            b'[' => (Tok::LBracket, start + 1),
            b']' => (Tok::RBracket, start + 1),
            b'{' => (Tok::LBrace, start + 1),
            b'}' => (Tok::RBrace, start + 1),
            b',' => (Tok::Comma, start + 1),
            b':' => (Tok::Colon, start + 1),
            b'=' => (Tok::Equals, start + 1),
            b'%' | b'@' => {
                let end = name_end(self.bytes, start + 1);
                if end == start + 1 {
                    return Err(self.missing_name(start, b));
                }
                (if b == b'%' { Tok::Percent } else { Tok::At }, end)
            }
            b'0'..=b'9' => (Tok::Number, self.number_end(start)?),
            b'-' => match self.peek_at(start + 1) {
                b'>' => (Tok::Arrow, start + 2),
                b'0'..=b'9' => (Tok::Number, self.number_end(start)?),
                c if c.is_ascii_alphabetic() => (Tok::Word, self.word_end(start + 1)),
                _ => return Err(self.unexpected(start)),
            },
            b if b.is_ascii_alphabetic() || b == b'_' => (Tok::Word, self.word_end(start)),
            _ => return Err(self.unexpected(start)),
        };
        self.pos = end;
        Ok(Token { kind, start, end, line, col })
    }

    /// Moves to `pos`, which must be on the current line (the literal fast
    /// path, which never crosses a newline, skips ahead with it).
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.bytes.len());
    }

    #[cold]
    fn missing_name(&self, start: usize, sigil: u8) -> Box<IrError> {
        let what = if sigil == b'%' { "a value name" } else { "a function name" };
        self.error(start, format!("expected {what} (letters, digits, _) after `{}`", sigil as char))
    }

    #[cold]
    fn unexpected(&self, start: usize) -> Box<IrError> {
        let c = self.src.get(start..).and_then(|s| s.chars().next()).unwrap_or('?');
        self.error(start, format!("unexpected character {c:?}"))
    }

    /// A word; `nan:0x...` (NaN with an explicit bit pattern) is one word.
    pub fn word_end(&self, name_start: usize) -> usize {
        let end = name_end(self.bytes, name_start);
        if self.bytes.get(name_start..end) == Some(b"nan".as_slice())
            && self.bytes.get(end..end + 3) == Some(b":0x".as_slice())
        {
            return name_end(self.bytes, end + 3);
        }
        end
    }

    /// `-`? digits (`.` digits*)? ([eE] [+-]? digits)?
    pub fn number_end(&self, start: usize) -> PResult<usize> {
        let bytes = self.bytes;
        let mut pos = start;
        if self.peek_at(pos) == b'-' {
            pos += 1;
        }
        pos = digits_end(bytes, pos);
        let mut ok = true;
        if self.peek_at(pos) == b'.' {
            pos = digits_end(bytes, pos + 1);
        }
        if matches!(self.peek_at(pos), b'e' | b'E') {
            pos += 1;
            if matches!(self.peek_at(pos), b'+' | b'-') {
                pos += 1;
            }
            let d = digits_end(bytes, pos);
            ok = d > pos;
            pos = d;
        }
        let next = self.peek_at(pos);
        if !ok || is_name_byte(next) || next == b'.' {
            // Take the whole malformed run for the message.
            while is_name_byte(self.peek_at(pos)) || self.peek_at(pos) == b'.' {
                pos += 1;
            }
            let text = self.src.get(start..pos).unwrap_or("");
            return Err(self.error(start, format!("malformed number `{}`", clip(text))));
        }
        Ok(pos)
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
) -> Box<IrError> {
    Box::new(IrError::Parse {
        file: file.to_string(),
        line,
        col,
        msg,
        snippet: snippet(src, offset, line),
    })
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
