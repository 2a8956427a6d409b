//! The `.gir` text format (IR.md): printer and parser.
//!
//! ```
//! use gradlift_ir::text::{parse_module, print_module};
//!
//! let src = "\
//! func @f(%x: f32[3]) -> f32[3] {
//!   %0 = exp %x : f32[3]
//!   %y = add %0, %x : f32[3]
//!   return %y
//! }
//! ";
//! let m = parse_module(src, "f.gir").unwrap();
//! assert_eq!(print_module(&m), src);
//! ```
//!
//! `parse(print(g)) == g` for every function (equality ignores source
//! locations), and printing is canonical: unnamed values are numbered
//! `%0, %1, ...` in node order, whatever numbers the input used.
//!
//! # Extensions to IR.md
//!
//! The printer writes only what IR.md describes, plus:
//!
//! - **NaN payloads.** A NaN whose bits differ from the canonical quiet NaN
//!   (`0x7fc00000` for f32, `0x7ff8000000000000` for f64) prints as
//!   `nan:0x` followed by its full bit pattern in hex (8 digits for f32, 16
//!   for f64), e.g. `nan:0x7fc00001` or `nan:0xffc00000` (a negative NaN).
//!   The parser accepts 1 to 8 (16) hex digits and rejects patterns that are
//!   not NaNs. It also accepts `-nan` (the canonical NaN with its sign bit
//!   set), which the printer never writes.
//! - **Locations.** With [`PrintOptions::locs`], instructions that carry a
//!   source location end in a comment `  # FILE:LINE:COL`.
//! - **`pad` interior** is printed only when some entry is nonzero.
//!
//! The parser also accepts:
//!
//! - **Integers for floats**: `constant [1, 2] : f32[2]` (the printer writes
//!   `1.0`). Floats are parsed directly in their dtype (an f32 literal is
//!   never rounded through f64); a finite literal that overflows the dtype
//!   (`1e39` for f32) is an error, one that underflows rounds to zero or a
//!   denormal as usual.
//! - **Splats**: a scalar literal with a non-scalar type
//!   (`constant 0.0 : f32[3,4]`) fills the array, up to
//!   [`MAX_SPLAT_ELEMENTS`] elements. The printer writes the full list.
//! - **Defaults**: `slice` without `stride` (all 1s), `pad` without
//!   `interior` (all 0s).
//! - **Numbered names as written**: `%7` defines and uses a value as any
//!   name does, but all-digit names are not stored (the printer renumbers).
//! - Any whitespace (newlines included) between tokens, `#` comments
//!   anywhere, CRLF line ends.
//!
//! # Limits
//!
//! Ranks, attribute lists and literal nesting are limited to [`MAX_RANK`];
//! dimensions and attribute integers must fit in `i64`. These keep parsing
//! linear in the size of the input, whatever the input.

mod lexer;
mod literal;
mod ops;
mod parser;
mod printer;

use std::fmt;

pub use parser::{parse_function, parse_module, MAX_RANK, MAX_SPLAT_ELEMENTS};
pub use printer::{
    print_function, print_function_with, print_module, print_module_with, write_literal,
    write_type, PrintOptions,
};

use crate::graph::{Function, Module};

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print_function(self))
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print_module(self))
    }
}
