//! File-based tests: every `tests/filetests/**/*.gir` is parsed, verified,
//! printed, re-parsed and re-printed (round trip), and its output is an
//! insta snapshot. Inline expectations in leading `#` comments:
//!
//! - `# error: TEXT`: parsing/verifying must fail with a message containing
//!   TEXT (after the `FILE:` prefix); the whole message is the snapshot.
//! - `# run: @func`, `# arg: LIT : TYPE` (one per parameter), `# expect: LIT
//!   : TYPE [~ TOL]` (one per result): the interpreter's results must match
//!   (exactly, or within relative tolerance TOL).
//! - `# grad: wrt=a,b of=K`: the gradient function is snapshotted, its
//!   results checked against `# expect:` lines at the `# arg:` values, and
//!   its derivatives checked numerically (JVP and VJP to second order).

use std::path::Path;

use gradlift_compiler::ad::{check_grads, grad, Modes};
use gradlift_ir::interp::eval_function;
use gradlift_ir::text::{parse_module, print_function, print_module};
use gradlift_ir::verify::verify_module;
use gradlift_ir::{Module, Tensor};

#[derive(Default)]
struct Expect {
    error: Option<String>,
    run: Option<String>,
    grad: Option<(Vec<String>, usize)>,
    args: Vec<Tensor>,
    expects: Vec<(Tensor, f64)>,
}

/// Parses `LIT : TYPE` by wrapping it in a one-constant function.
fn literal(text: &str) -> Tensor {
    let (lit, ty) =
        text.rsplit_once(':').unwrap_or_else(|| panic!("`{text}`: expected LIT : TYPE"));
    let src = format!("func @lit() -> {ty} {{\n  %0 = constant {lit} : {ty}\n  return %0\n}}\n");
    let m = parse_module(&src, "literal").unwrap_or_else(|e| panic!("literal `{text}`: {e}"));
    eval_function(&m.funcs()[0], &[]).unwrap().remove(0)
}

fn expectations(src: &str) -> Expect {
    let mut e = Expect::default();
    for line in src.lines() {
        let Some(c) = line.trim().strip_prefix('#') else { continue };
        let c = c.trim();
        if let Some(x) = c.strip_prefix("error:") {
            e.error = Some(x.trim().to_string());
        } else if let Some(x) = c.strip_prefix("run:") {
            e.run = Some(x.trim().trim_start_matches('@').to_string());
        } else if let Some(x) = c.strip_prefix("arg:") {
            e.args.push(literal(x.trim()));
        } else if let Some(x) = c.strip_prefix("expect:") {
            let (lit, tol) = match x.split_once('~') {
                Some((l, t)) => (l, t.trim().parse().expect("tolerance")),
                None => (x, 0.0),
            };
            e.expects.push((literal(lit.trim()), tol));
        } else if let Some(x) = c.strip_prefix("grad:") {
            let mut wrt = Vec::new();
            let mut of = 0;
            for part in x.split_whitespace() {
                if let Some(w) = part.strip_prefix("wrt=") {
                    wrt = w.split(',').map(str::to_string).collect();
                } else if let Some(k) = part.strip_prefix("of=") {
                    of = k.parse().expect("of=K");
                }
            }
            e.grad = Some((wrt, of));
        }
    }
    e
}

fn check_results(what: &str, got: &[Tensor], want: &[(Tensor, f64)]) {
    assert_eq!(got.len(), want.len(), "{what}: {} results, {} expectations", got.len(), want.len());
    for (k, (g, (w, tol))) in got.iter().zip(want).enumerate() {
        assert_eq!(g.ty(), w.ty(), "{what}: result {k} type");
        if *tol == 0.0 {
            assert!(
                g == w || g.allclose_nan(w, 0.0, 0.0),
                "{what}: result {k} is {g}, expected {w}"
            );
        } else {
            assert!(
                g.allclose_nan(w, *tol, 0.0),
                "{what}: result {k} is {g}, expected {w} (rtol {tol})"
            );
        }
    }
}

fn load(src: &str, path: &Path) -> Result<Module, String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let m = parse_module(src, &name).map_err(|e| e.to_string())?;
    verify_module(&m).map_err(|e| e.to_string())?;
    Ok(m)
}

#[test]
fn filetests() {
    insta::glob!("filetests/**/*.gir", |path| {
        let src = std::fs::read_to_string(path).unwrap();
        let e = expectations(&src);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        match (load(&src, path), &e.error) {
            (Err(msg), Some(want)) => {
                let rest = msg.strip_prefix(&format!("{name}:")).unwrap_or(&msg);
                assert!(
                    rest.contains(want.as_str()),
                    "{name}: error\n{msg}\ndoes not contain `{want}`"
                );
                insta::assert_snapshot!(msg);
            }
            (Err(msg), None) => panic!("{name}: unexpected error\n{msg}"),
            (Ok(_), Some(want)) => panic!("{name}: expected an error containing `{want}`"),
            (Ok(m), None) => {
                let printed = print_module(&m);
                let again = parse_module(&printed, &name)
                    .unwrap_or_else(|e| panic!("{name}: reparse: {e}"));
                assert_eq!(again, m, "{name}: parse(print(m)) != m");
                assert_eq!(print_module(&again), printed, "{name}: printing is not stable");
                let mut snapshot = printed;
                if let Some(func) = &e.run {
                    let f = m.func(Some(func)).unwrap();
                    let out = eval_function(f, &e.args)
                        .unwrap_or_else(|err| panic!("{name}: run: {err}"));
                    check_results(&name, &out, &e.expects);
                }
                if let Some((wrt, of)) = &e.grad {
                    let f = &m.funcs()[0];
                    let idx: Vec<usize> = wrt
                        .iter()
                        .map(|w| {
                            f.params()
                                .position(|p| f.value_name(p) == Some(w.as_str()))
                                .expect("wrt name")
                        })
                        .collect();
                    let g = grad(f, &idx, *of).unwrap();
                    let out = eval_function(&g, &e.args)
                        .unwrap_or_else(|err| panic!("{name}: grad: {err}"));
                    check_results(&name, &out, &e.expects);
                    check_grads(f, &e.args, 2, Modes::BOTH, 1)
                        .unwrap_or_else(|err| panic!("{name}: {err}"));
                    snapshot.push_str("\n# gradient:\n");
                    snapshot.push_str(&print_function(&g));
                }
                insta::assert_snapshot!(snapshot);
            }
        }
    });
}
