//! The printer: one pass over the nodes writing into one `String`.

use std::fmt::Write;

use crate::graph::{Function, Module, Value};
use crate::op::Op;
use crate::tensor::{Data, Tensor};
use crate::types::Type;

/// Printing options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// Append `  # FILE:LINE:COL` to every instruction that has a source
    /// location.
    pub locs: bool,
}

/// Prints a module: its functions separated by a blank line.
pub fn print_module(m: &Module) -> String {
    print_module_with(m, &PrintOptions::default())
}

/// Prints a module with options.
pub fn print_module_with(m: &Module, opts: &PrintOptions) -> String {
    let mut out = String::new();
    for (i, f) in m.funcs().iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        write_function(&mut out, f, opts);
    }
    out
}

/// Prints one function (ending in a newline).
pub fn print_function(f: &Function) -> String {
    print_function_with(f, &PrintOptions::default())
}

/// Prints one function with options.
pub fn print_function_with(f: &Function, opts: &PrintOptions) -> String {
    let mut out = String::with_capacity(f.len().saturating_mul(40));
    write_function(&mut out, f, opts);
    out
}

/// How values are written: their name, or a number counting the unnamed
/// values in node order.
struct Labels<'f> {
    f: &'f Function,
    numbers: Vec<u32>,
}

impl<'f> Labels<'f> {
    fn new(f: &'f Function) -> Labels<'f> {
        let mut next = 0u32;
        let numbers = (0..f.len())
            .map(|i| {
                let n = next;
                if f.value_name(Value::from_index(i)).is_none() {
                    next += 1;
                }
                n
            })
            .collect();
        Labels { f, numbers }
    }

    fn write(&self, out: &mut String, v: Value) {
        out.push('%');
        match self.f.value_name(v) {
            Some(name) => out.push_str(name),
            None => {
                let n = self.numbers.get(v.index()).copied().unwrap_or(u32::MAX);
                let _ = write!(out, "{n}");
            }
        }
    }
}

fn write_function(out: &mut String, f: &Function, opts: &PrintOptions) {
    let labels = Labels::new(f);
    out.push_str("func @");
    out.push_str(f.name());
    out.push('(');
    for (i, p) in f.params().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        labels.write(out, p);
        out.push_str(": ");
        write_type(out, f.ty(p));
    }
    out.push_str(") -> ");
    let results = f.results();
    if results.len() == 1 {
        write_type(out, f.ty(results[0]));
    } else {
        out.push('(');
        for (i, &r) in results.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_type(out, f.ty(r));
        }
        out.push(')');
    }
    out.push_str(" {\n");
    for (v, node) in f.instructions() {
        out.push_str("  ");
        labels.write(out, v);
        out.push_str(" = ");
        out.push_str(node.op.name());
        let mut first = true;
        let mut sep = |out: &mut String| {
            out.push_str(if first { " " } else { ", " });
            first = false;
        };
        if let Op::Constant { value } = &node.op {
            sep(out);
            write_literal(out, value);
        }
        for &a in &node.args {
            sep(out);
            labels.write(out, a);
        }
        write_attrs(out, &node.op, &mut sep);
        out.push_str(" : ");
        write_type(out, &node.ty);
        if opts.locs {
            if let Some(loc) = f.loc(v) {
                // A control character (a newline) in a file name would end
                // the comment early; the text must stay parseable.
                out.push_str("  # ");
                out.extend(loc.file.chars().map(|c| if c.is_control() { '?' } else { c }));
                let _ = write!(out, ":{}:{}", loc.line, loc.col);
            }
        }
        out.push('\n');
    }
    out.push_str("  return");
    for (i, &r) in results.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        labels.write(out, r);
    }
    out.push_str("\n}\n");
}

/// Writes the attributes after the operands, each preceded by `sep`.
fn write_attrs(out: &mut String, op: &Op, sep: &mut dyn FnMut(&mut String)) {
    let mut attr = |out: &mut String, name: &str| {
        sep(out);
        out.push_str(name);
        out.push('=');
    };
    match op {
        Op::Parameter { index } => {
            attr(out, "index");
            let _ = write!(out, "{index}");
        }
        Op::Iota { axis, .. }
        | Op::Concatenate { axis }
        | Op::Argmax { axis }
        | Op::Gather { axis }
        | Op::ScatterAdd { axis } => {
            attr(out, "axis");
            let _ = write!(out, "{axis}");
        }
        Op::Convert { to } => {
            attr(out, "to");
            out.push_str(to.name());
        }
        Op::BroadcastInDim { dims, .. } => {
            attr(out, "dims");
            write_list(out, dims);
        }
        Op::Transpose { perm } => {
            attr(out, "perm");
            write_list(out, perm);
        }
        Op::Slice(s) => {
            attr(out, "start");
            write_list(out, &s.start);
            attr(out, "limit");
            write_list(out, &s.limit);
            attr(out, "stride");
            write_list(out, &s.stride);
        }
        Op::Pad(p) => {
            attr(out, "low");
            write_list(out, &p.low);
            attr(out, "high");
            write_list(out, &p.high);
            if p.interior.iter().any(|&i| i != 0) {
                attr(out, "interior");
                write_list(out, &p.interior);
            }
        }
        Op::Reverse { axes } | Op::Reduce { axes, .. } => {
            attr(out, "axes");
            write_list(out, axes);
        }
        Op::DotGeneral(d) => {
            attr(out, "lhs_batch");
            write_list(out, &d.lhs_batch);
            attr(out, "rhs_batch");
            write_list(out, &d.rhs_batch);
            attr(out, "lhs_contract");
            write_list(out, &d.lhs_contract);
            attr(out, "rhs_contract");
            write_list(out, &d.rhs_contract);
        }
        Op::Constant { .. }
        | Op::Unary(_)
        | Op::Binary(_)
        | Op::Compare(_)
        | Op::Select
        | Op::Reshape { .. }
        | Op::StopGradient => {}
    }
}

fn write_list<T: std::fmt::Display>(out: &mut String, items: &[T]) {
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{x}");
    }
    out.push(']');
}

pub(crate) fn write_type(out: &mut String, ty: &Type) {
    out.push_str(ty.dtype.name());
    write_list(out, ty.dims());
}

/// Writes a constant: a scalar for rank 0, else nested lists following the
/// shape. A list along a size-0 dim is `[]` and nothing deeper is written.
/// A loop with a counter per dim, never recursion.
pub(crate) fn write_literal(out: &mut String, t: &Tensor) {
    let dims = t.dims();
    if dims.is_empty() {
        write_element(out, t.data(), 0);
        return;
    }
    // `idx[k]` is the next child of the open list at level k. Lists stop at
    // the first size-0 dim, which prints as `[]`.
    let mut idx: Vec<usize> = vec![0; dims.len()];
    let mut level = 0usize;
    let mut elem = 0usize;
    out.push('[');
    loop {
        let (Some(&i), Some(&n)) = (idx.get(level), dims.get(level)) else { return };
        if i < n {
            if i > 0 {
                out.push(',');
            }
            if let Some(slot) = idx.get_mut(level) {
                *slot += 1;
            }
            if level + 1 == dims.len() {
                write_element(out, t.data(), elem);
                elem += 1;
            } else {
                out.push('[');
                level += 1;
                if let Some(slot) = idx.get_mut(level) {
                    *slot = 0;
                }
            }
        } else {
            out.push(']');
            if level == 0 {
                return;
            }
            level -= 1;
        }
    }
}

fn write_element(out: &mut String, data: &Data, i: usize) {
    match data {
        Data::F32(v) => write_f32(out, v.get(i).copied().unwrap_or(0.0)),
        Data::F64(v) => write_f64(out, v.get(i).copied().unwrap_or(0.0)),
        Data::I32(v) => {
            let _ = write!(out, "{}", v.get(i).copied().unwrap_or(0));
        }
        Data::I64(v) => {
            let _ = write!(out, "{}", v.get(i).copied().unwrap_or(0));
        }
        Data::Bool(v) => {
            out.push_str(if v.get(i).copied().unwrap_or(false) { "true" } else { "false" })
        }
    }
}

/// The bits of `f32::NAN`, printed as plain `nan`.
pub(crate) const F32_CANONICAL_NAN: u32 = 0x7fc0_0000;
/// The bits of `f64::NAN`, printed as plain `nan`.
pub(crate) const F64_CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

/// Shortest round-trip form (`{:?}` always has a `.` or an exponent, so the
/// text is a float literal); `inf`, `-inf`, `nan`, `nan:0x...`.
pub(crate) fn write_f32(out: &mut String, x: f32) {
    if x.is_nan() {
        if x.to_bits() == F32_CANONICAL_NAN {
            out.push_str("nan");
        } else {
            let _ = write!(out, "nan:0x{:08x}", x.to_bits());
        }
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
    } else {
        let _ = write!(out, "{x:?}");
    }
}

/// As [`write_f32`], for f64.
pub(crate) fn write_f64(out: &mut String, x: f64) {
    if x.is_nan() {
        if x.to_bits() == F64_CANONICAL_NAN {
            out.push_str("nan");
        } else {
            let _ = write!(out, "nan:0x{:016x}", x.to_bits());
        }
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
    } else {
        let _ = write!(out, "{x:?}");
    }
}
