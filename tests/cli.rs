//! The `gradlift` binary end to end: exit codes, messages, files written.

use std::path::PathBuf;
use std::process::Command;

fn gradlift(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gradlift"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gradlift-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn check_prints_canonical_text() {
    let (code, out, _) = gradlift(&["check", "tests/filetests/parse/position.gir"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("func @position(%t: f32[10,1]"), "{out}");
    assert!(out.contains("%half = constant 0.5 : f32[]"));
}

#[test]
fn check_reports_file_line_col_and_exits_1() {
    let (code, out, err) = gradlift(&["check", "tests/filetests/errors/shape_mismatch.gir"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.starts_with(
            "tests/filetests/errors/shape_mismatch.gir:4:8: add: operand shapes differ"
        ),
        "{err}"
    );
    let (code, _, err) = gradlift(&["check", "no/such/file.gir"]);
    assert_eq!(code, 1);
    assert!(err.contains("no/such/file.gir"), "{err}");
}

#[test]
fn run_writes_results_and_validates_inputs() {
    let dir = tmp("run");
    let d = dir.to_str().unwrap();
    let base = [
        "run",
        "examples/kinematics_loss.gir",
        "--input",
        "a=examples/data/a.npy",
        "--input",
        "x0=examples/data/x0.npy",
        "--input",
        "%v0=examples/data/v0_zero.npy",
        "--input",
        "t=examples/data/t.npy",
    ];
    let mut args = base.to_vec();
    args.extend(["--input", "target=examples/data/target.npy", "--out", d]);
    let (code, _, err) = gradlift(&args);
    assert_eq!(code, 0, "{err}");
    let loss = gradlift::ir::npy::read_npy(dir.join("out_0.npy")).unwrap();
    assert!((loss.item::<f32>().unwrap() - 549.7685).abs() < 1e-3);
    // A missing input names the parameter.
    let mut args = base.to_vec();
    args.extend(["--out", d]);
    let (code, _, err) = gradlift(&args);
    assert_eq!(code, 1);
    assert!(
        err.contains("missing input for parameter %target") && err.contains("f32[10,2]"),
        "{err}"
    );
    // A wrong shape names the parameter and both types.
    let mut args = base.to_vec();
    args.extend(["--input", "target=examples/data/t.npy", "--out", d]);
    let (code, _, err) = gradlift(&args);
    assert_eq!(code, 1);
    assert!(
        err.contains("%target") && err.contains("f32[10,2]") && err.contains("f32[10,1]"),
        "{err}"
    );
}

#[test]
fn grad_and_jvp_print_runnable_functions() {
    let dir = tmp("grad");
    let (code, out, err) =
        gradlift(&["grad", "tests/filetests/grad/log_product.gir", "--wrt", "a,b"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("func @f_grad(%a: f64[], %b: f64[]) -> (f64[], f64[], f64[])"),
        "{out}"
    );
    let g = dir.join("g.gir");
    std::fs::write(&g, &out).unwrap();
    gradlift::ir::npy::write_npy(dir.join("a.npy"), &gradlift::Tensor::scalar(2.0f64)).unwrap();
    gradlift::ir::npy::write_npy(dir.join("b.npy"), &gradlift::Tensor::scalar(3.0f64)).unwrap();
    let (code, _, err) = gradlift(&[
        "run",
        g.to_str().unwrap(),
        "--input",
        &format!("a={}", dir.join("a.npy").display()),
        "--input",
        &format!("b={}", dir.join("b.npy").display()),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let db = gradlift::ir::npy::read_npy(dir.join("out_2.npy")).unwrap().item::<f64>().unwrap();
    assert!((db - 1.0 / 3.0).abs() < 1e-15);

    let (code, out, err) = gradlift(&["jvp", "tests/filetests/grad/log_product.gir", "--wrt", "a"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("func @f_jvp(%a: f64[], %b: f64[], %a_dot: f64[]) -> (f64[], f64[])"),
        "{out}"
    );
    let (code, _, err) = gradlift(&["grad", "tests/filetests/grad/log_product.gir", "--wrt", "zz"]);
    assert_eq!(code, 1);
    assert!(err.contains("no parameter %zz") && err.contains("%a, %b"), "{err}");
}

#[test]
fn clif_prints_the_ir_and_asm_the_machine_code_of_every_kernel() {
    let (code, out, err) = gradlift(&["clif", "examples/kinematics_loss.gir"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("; kernel @") && out.contains("function %"), "{out}");
    let (code, asm, err) = gradlift(&["clif", "--asm", "examples/kinematics_loss.gir"]);
    assert_eq!(code, 0, "{err}");
    // The same kernels, as x86-64 code: SIMD arithmetic and a return.
    assert_eq!(asm.matches("; kernel @").count(), out.matches("; kernel @").count(), "{asm}");
    assert!(asm.contains("block0:") && asm.contains("ret"), "{asm}");
    assert!(["mulps", "addps", "subps", "mulss", "addss"].iter().any(|m| asm.contains(m)), "{asm}");
}

#[test]
fn bench_times_calls_and_profiles_steps() {
    let args = ["bench", "examples/kinematics_loss.gir", "--iters", "3"];
    let (code, out, err) = gradlift(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("run: median ") && out.contains(" over 3 calls"), "{out}");
    assert!(!out.contains("profile:"), "{out}");
    let (code, out, err) = gradlift(&[&args[..], &["--profile"]].concat());
    assert_eq!(code, 0, "{err}");
    let profile = out.split("profile: ").nth(1).unwrap_or_else(|| panic!("{out}"));
    assert!(profile.starts_with("3 call(s), "), "{out}");
    // One line per step after the header: the step count of the header.
    let steps: usize =
        profile.split(" over ").nth(1).and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
    assert_eq!(profile.lines().count(), 2 + steps, "{out}");
    assert!(profile.contains("fusion_"), "{out}");
}
