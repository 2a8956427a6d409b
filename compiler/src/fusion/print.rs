//! Printing a fused program in IR syntax: library calls as instructions,
//! kernels as `fusion` instructions whose region is the kernel body, so a
//! snapshot shows which ops landed in which kernel.

use std::fmt::Write;

use gradlift_ir::text::{print_function, write_literal, write_type};
use gradlift_ir::Function;

use super::{BufDef, FusedProgram, KernelKind, Step};

/// Prints `prog`; each kernel's body is indented under its `fusion` line.
pub fn print_fused(prog: &FusedProgram) -> String {
    let mut out = String::new();
    let names = buffer_names(prog);
    let _ = write!(out, "func @{}(", prog.name);
    for (i, (_, ty)) in prog.params.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let b = prog.buffers.iter().position(|b| b.def == BufDef::Param(i)).unwrap_or(0);
        out.push_str(&names[b]);
        out.push_str(": ");
        write_type(&mut out, ty);
    }
    out.push_str(") -> ");
    write_types(&mut out, prog.results.iter().map(|&r| &prog.buffers[r].ty));
    out.push_str(" {\n");
    for (b, buf) in prog.buffers.iter().enumerate() {
        if let BufDef::Constant(t) = &buf.def {
            let _ = write!(out, "  {} = constant ", names[b]);
            write_literal(&mut out, t);
            out.push_str(" : ");
            write_type(&mut out, &buf.ty);
            out.push('\n');
        }
    }
    for step in &prog.steps {
        match step {
            Step::Library { op, inputs, output, .. } => {
                let body = library_line(op, inputs, *output, prog, &names);
                out.push_str(&body);
            }
            Step::Kernel { name, kind, body, inputs, outputs } => {
                out.push_str("  ");
                out.push_str(&join(outputs.iter().map(|&o| names[o].as_str())));
                let kind = match kind {
                    KernelKind::Loop => "loop",
                    KernelKind::Reduce => "reduce",
                    KernelKind::Small => "small",
                };
                let _ = write!(out, " = fusion @{name}, kind={kind}");
                for &i in inputs {
                    let _ = write!(out, ", {}", names[i]);
                }
                out.push_str(" : ");
                write_types(&mut out, outputs.iter().map(|&o| &prog.buffers[o].ty));
                out.push_str(" {\n");
                for line in print_function(body).lines() {
                    out.push_str("    ");
                    out.push_str(line);
                    out.push('\n');
                }
                out.push_str("  }\n");
            }
        }
    }
    out.push_str("  return ");
    out.push_str(&join(prog.results.iter().map(|&r| names[r].as_str())));
    out.push_str("\n}\n");
    let _ = writeln!(
        out,
        "# {} kernels, {} library calls",
        prog.num_kernels(),
        prog.num_library_calls()
    );
    out
}

/// `%name` for parameters, `%cN` for constants, `%N` for step outputs.
fn buffer_names(prog: &FusedProgram) -> Vec<String> {
    let mut next = 0;
    let mut consts = 0;
    prog.buffers
        .iter()
        .map(|b| match &b.def {
            BufDef::Param(i) => match &prog.params[*i].0 {
                Some(n) => format!("%{n}"),
                None => format!("%arg{i}"),
            },
            BufDef::Constant(_) => {
                consts += 1;
                format!("%c{}", consts - 1)
            }
            BufDef::Step { .. } => {
                next += 1;
                format!("%{}", next - 1)
            }
        })
        .collect()
}

/// A library call, printed as the IR instruction it computes.
fn library_line(
    op: &gradlift_ir::Op,
    inputs: &[usize],
    output: usize,
    prog: &FusedProgram,
    names: &[String],
) -> String {
    // Print the op through a one-instruction function so attributes use
    // the IR printer's exact syntax, then rename its values.
    let mut f = Function::new("call");
    let mut params = Vec::new();
    for &i in inputs {
        match f.add_param(None, prog.buffers[i].ty.clone()) {
            Ok(p) => params.push(p),
            Err(_) => return format!("  # {}\n", op.name()),
        }
    }
    let Ok(v) = f.push(op.clone(), &params, None) else { return format!("  # {}\n", op.name()) };
    if f.set_results(vec![v]).is_err() {
        return format!("  # {}\n", op.name());
    }
    let text = print_function(&f);
    let Some(line) = text.lines().nth(1) else { return String::new() };
    // `  %N = op %0, %1, attrs : T` with parameters numbered 0..n.
    let Some((_, rhs)) = line.split_once(" = ") else { return String::new() };
    let mut rhs = rhs.to_string();
    // Rename operands from the highest number down, so %1 does not clobber %10.
    for (k, &i) in inputs.iter().enumerate().rev() {
        rhs = replace_operand(&rhs, &format!("%{k}"), &names[i]);
    }
    format!("  {} = {rhs}\n", names[output])
}

/// Replaces whole operand tokens `from` (followed by `,`, ` ` or the end).
fn replace_operand(s: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find(from) {
        let end = pos + from.len();
        let boundary =
            rest[end..].chars().next().is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
        out.push_str(&rest[..pos]);
        out.push_str(if boundary { to } else { from });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn write_types<'a>(out: &mut String, tys: impl Iterator<Item = &'a gradlift_ir::Type>) {
    let tys: Vec<_> = tys.collect();
    if tys.len() == 1 {
        write_type(out, tys[0]);
        return;
    }
    out.push('(');
    for (i, t) in tys.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_type(out, t);
    }
    out.push(')');
}
