//! The pipeline itself: the report, IR dumps (explicit directory and
//! `GRADLIFT_DUMP`), the verifier after every pass, the round cap, and a
//! 10^6-node chain through every pass on a 1 MiB stack.

mod passes_common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use gradlift_compiler::passes::{optimize, run_pipeline, standard_passes, Pass, PipelineOptions};
use gradlift_compiler::CompileError;
use gradlift_ir::text::{parse_function, print_function};
use gradlift_ir::verify::verify_function;
use gradlift_ir::{
    BinaryOp, DType, Dims, Function, IrError, Loc, Op, Shape, Tensor, Type, UnaryOp, Value,
};
use passes_common::{compare, eval, random_args, Compare};

const SRC: &str = "func @f(%x: f32[3]) -> f32[3] {
  %one = constant 1.0 : f32[]
  %0 = broadcast_in_dim %one, dims=[] : f32[3]
  %1 = mul %x, %0 : f32[3]
  %2 = neg %1 : f32[3]
  %3 = neg %2 : f32[3]
  %4 = exp %3 : f32[3]
  %5 = exp %x : f32[3]
  %y = add %4, %5 : f32[3]
  return %y
}
";

#[test]
fn report_lists_every_stage() {
    let f = parse_function(SRC, "f.gir").unwrap();
    let (g, report) = optimize(&f, &PipelineOptions::default()).unwrap();
    assert_eq!(
        print_function(&g),
        "func @f(%x: f32[3]) -> f32[3] {\n  %0 = exp %x : f32[3]\n  %y = add %0, %0 : f32[3]\n  return %y\n}\n"
    );
    assert!(report.converged);
    assert_eq!(report.instructions_before(), Some(8));
    assert_eq!(report.instructions_after(), Some(2));
    let names: Vec<&str> = report.stages.iter().map(|s| s.pass).collect();
    assert_eq!(&names[..6], &["dce", "cse", "fold", "simplify", "cse", "dce"]);
    // Converged: the last six stages changed nothing.
    assert!(report.stages.iter().rev().take(6).all(|s| !s.changed));
    assert!(report.stages.iter().any(|s| s.changed));
    let table = report.to_string();
    assert!(table.starts_with("optimize @f: "), "{table}");
    assert!(table.contains("simplify    yes"), "{table}");
    assert_eq!(table.lines().count(), 2 + report.stages.len(), "{table}");
}

/// A pass that breaks the IR: it names two values alike.
struct Breaks;

impl Pass for Breaks {
    fn name(&self) -> &'static str {
        "breaks"
    }

    fn run(&self, f: &Function) -> Result<(Function, bool), CompileError> {
        let mut g = f.clone();
        for v in [Value::from_index(1), Value::from_index(2)] {
            g.set_value_name(v, Some("twice")).unwrap();
        }
        Ok((g, true))
    }
}

/// A pass that always claims a change.
struct Restless;

impl Pass for Restless {
    fn name(&self) -> &'static str {
        "restless"
    }

    fn run(&self, f: &Function) -> Result<(Function, bool), CompileError> {
        Ok((f.clone(), true))
    }
}

#[test]
fn the_verifier_names_the_pass_that_broke_the_ir() {
    let f = parse_function(SRC, "f.gir").unwrap();
    let passes: Vec<Box<dyn Pass>> = vec![Box::new(Breaks)];
    let on = PipelineOptions { verify: true, ..PipelineOptions::default() };
    match run_pipeline(&f, &passes, &on) {
        Err(CompileError::Ir(IrError::Verify { func, msg, .. })) => {
            assert_eq!(func, "f");
            assert!(msg.starts_with("after pass breaks: invalid IR:"), "{msg}");
            assert!(msg.contains("%twice is defined more than once"), "{msg}");
        }
        other => panic!("expected a verifier error, got {other:?}"),
    }
    // Invalid input is caught before any pass runs.
    let mut bad = f.clone();
    bad.set_value_name(Value::from_index(1), Some("x")).unwrap();
    match optimize(&bad, &on) {
        Err(CompileError::Ir(IrError::Verify { msg, loc, .. })) => {
            assert!(msg.starts_with("before the first pass"), "{msg}");
            assert_eq!(loc.map(|l| l.line), Some(2), "the location of the second %x");
        }
        other => panic!("expected a verifier error, got {other:?}"),
    }
    // With verification off, the broken function goes through.
    let off = PipelineOptions { verify: false, max_rounds: 1, ..PipelineOptions::default() };
    assert!(run_pipeline(&f, &passes, &off).is_ok());
}

#[test]
fn rounds_are_capped() {
    let f = parse_function(SRC, "f.gir").unwrap();
    let passes: Vec<Box<dyn Pass>> = vec![Box::new(Restless)];
    let opts = PipelineOptions { max_rounds: 3, ..PipelineOptions::default() };
    let (_, report) = run_pipeline(&f, &passes, &opts).unwrap();
    assert_eq!(report.rounds, 3);
    assert_eq!(report.stages.len(), 3);
    assert!(!report.converged);
    assert!(report.to_string().contains("stopped at the round cap"));
}

fn dump_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradlift-dump-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn dumped(dir: &PathBuf) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn dumps_write_the_ir_after_every_stage() {
    let f = parse_function(SRC, "f.gir").unwrap();
    // An explicit directory.
    let dir = dump_dir("explicit");
    let opts = PipelineOptions { dump_dir: Some(dir.clone()), ..PipelineOptions::default() };
    let (g, report) = optimize(&f, &opts).unwrap();
    let names = dumped(&dir);
    assert_eq!(names.len(), report.stages.len() + 2, "{names:?}");
    assert_eq!(names[0], "00-f-input.gir");
    assert_eq!(names[1], "01-f-dce.gir");
    assert_eq!(names[4], "04-f-simplify.gir");
    assert_eq!(names.last().unwrap(), "f-passes.txt");
    // Each dump parses back, carries source locations, and the last is the result.
    for name in names.iter().filter(|n| n.ends_with(".gir")) {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let h = parse_function(&text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        verify_function(&h).unwrap();
        assert!(text.contains("  # f.gir:"), "{name} has no locations:\n{text}");
    }
    let last = names.iter().rfind(|n| n.ends_with(".gir")).unwrap();
    let text = std::fs::read_to_string(dir.join(last)).unwrap();
    assert_eq!(print_function(&parse_function(&text, "x").unwrap()), print_function(&g));
    let table = std::fs::read_to_string(dir.join("f-passes.txt")).unwrap();
    assert!(table.starts_with("optimize @f:"));
    std::fs::remove_dir_all(&dir).unwrap();

    // The environment variable (this is the only test here that sets it).
    let dir = dump_dir("env");
    std::env::set_var("GRADLIFT_DUMP", &dir);
    let result = optimize(&f, &PipelineOptions::default());
    std::env::remove_var("GRADLIFT_DUMP");
    result.unwrap();
    assert_eq!(dumped(&dir)[0], "00-f-input.gir");
    std::fs::remove_dir_all(&dir).unwrap();

    // A directory that cannot be created is an error naming the path.
    let file = std::env::temp_dir().join(format!("gradlift-dump-file-{}", std::process::id()));
    std::fs::write(&file, "not a directory").unwrap();
    let opts = PipelineOptions { dump_dir: Some(file.join("sub")), ..PipelineOptions::default() };
    match optimize(&f, &opts) {
        Err(CompileError::Ir(IrError::Io { path, msg })) => {
            assert!(path.ends_with("00-f-input.gir"), "{path}");
            assert!(msg.contains("cannot write"), "{msg}");
        }
        other => panic!("expected a dump error, got {other:?}"),
    }
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn names_and_locations_survive() {
    let f = parse_function(SRC, "f.gir").unwrap();
    let (g, _) = optimize(&f, &PipelineOptions::default()).unwrap();
    // %y keeps its name and its line; the surviving exp keeps the line of
    // the first of the two exps CSE merged.
    let y = g.results()[0];
    assert_eq!(g.value_name(y), Some("y"));
    assert_eq!(g.loc(y).map(|l| l.line), Some(9));
    let e = g.args(y)[0];
    assert_eq!(g.loc(e).map(|l| l.line), Some(7));
}

/// `x·1`, `neg(neg(·))`, a duplicate and a real `add` per block, 250 000
/// blocks: a 10^6-instruction chain.
fn long_chain(blocks: usize) -> Function {
    let mut f = Function::new("chain");
    let x = f.add_param(Some("x"), Type::new(DType::F32, Shape::new(&[2]))).unwrap();
    let loc = Some(Loc::new("chain.rs", 1, 1));
    let one =
        f.push(Op::Constant { value: Arc::new(Tensor::scalar(1.0f32)) }, &[], loc.clone()).unwrap();
    let ones = f
        .push(Op::BroadcastInDim { shape: Shape::new(&[2]), dims: Dims::new() }, &[one], None)
        .unwrap();
    let mut v = x;
    for _ in 0..blocks {
        let m = f.push(Op::Binary(BinaryOp::Mul), &[v, ones], loc.clone()).unwrap();
        let n = f.push(Op::Unary(UnaryOp::Neg), &[m], None).unwrap();
        let nn = f.push(Op::Unary(UnaryOp::Neg), &[n], None).unwrap();
        let a = f.push(Op::Binary(BinaryOp::Add), &[nn, x], None).unwrap();
        let _dup = f.push(Op::Binary(BinaryOp::Add), &[nn, x], None).unwrap();
        v = a;
    }
    f.set_results(vec![v]).unwrap();
    f
}

#[test]
fn a_million_node_chain_on_a_small_stack() {
    let worker = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let f = long_chain(200_000);
            assert_eq!(f.num_instructions(), 1_000_002);
            let opts = PipelineOptions { verify: true, ..PipelineOptions::default() };
            let start = Instant::now();
            let (g, report) = optimize(&f, &opts).unwrap();
            let time = start.elapsed();
            eprintln!("{report}");
            eprintln!("10^6-node chain: {:.2} s through the pipeline", time.as_secs_f64());
            assert!(report.converged);
            // Only the additions are left.
            assert_eq!(g.num_instructions(), 200_000);
            let args = random_args(&f, 1);
            let (want, got) = (eval(&f, &args).unwrap(), eval(&g, &args).unwrap());
            assert_eq!(compare(&want, &got, Compare::BitsNanAsOne), None);
            for pass in standard_passes(&opts) {
                let (h, changed) = pass.run(&g).unwrap();
                assert!(!changed, "{} still finds work", pass.name());
                drop(h);
            }
        })
        .unwrap();
    worker.join().unwrap();
}
