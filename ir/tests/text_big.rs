//! Big graphs: a 10^6-instruction chain printed and parsed on a thread with
//! a 1 MiB stack (nothing may recurse over the graph), and an `#[ignore]`d
//! timing of 100k-instruction functions:
//! `cargo test --release -p gradlift-ir --test text_big -- --ignored --nocapture`.

use std::time::Instant;

use gradlift_ir::random_graph::{random_function, GraphConfig};
use gradlift_ir::text::{parse_function, print_function};
use gradlift_ir::{DType, Function, Op, Type, UnaryOp};

fn chain(n: usize) -> Function {
    let mut f = Function::new("chain");
    let mut v = f.add_param(Some("x"), Type::new(DType::F32, [4])).unwrap();
    for i in 0..n {
        let op = match i % 3 {
            0 => Op::Unary(UnaryOp::Neg),
            1 => Op::Unary(UnaryOp::Exp),
            _ => Op::Binary(gradlift_ir::BinaryOp::Add),
        };
        let args = if i % 3 == 2 { vec![v, v] } else { vec![v] };
        v = f.push(op, &args, None).unwrap();
        if i % 1000 == 0 {
            f.set_value_name(v, Some(&format!("n{i}"))).unwrap();
        }
    }
    f.set_results(vec![v]).unwrap();
    f
}

#[test]
fn million_instruction_chain_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let f = chain(1_000_000);
            let text = print_function(&f);
            assert_eq!(text.lines().count(), 1_000_003);
            let g = parse_function(&text, "chain.gir").unwrap();
            assert_eq!(g, f);
            assert_eq!(print_function(&g), text);
        })
        .unwrap()
        .join()
        .unwrap();
}

fn time<T>(what: &str, reps: u32, mut f: impl FnMut() -> T) -> T {
    let mut out = f();
    let start = Instant::now();
    for _ in 0..reps {
        out = f();
    }
    println!("{what}: {:.1} ms", start.elapsed().as_secs_f64() * 1e3 / f64::from(reps));
    out
}

#[test]
#[ignore = "timing; run in release with --nocapture"]
fn print_and_parse_100k_instructions() {
    let cfg = GraphConfig { min_nodes: 100_000, max_nodes: 100_000, ..GraphConfig::default() };
    let mixed = time("generate 100k random", 1, || random_function(1, &cfg));
    for (name, f) in [("chain", chain(100_000)), ("random", mixed)] {
        let text = time(&format!("print 100k {name}"), 10, || print_function(&f));
        let g = time(&format!("parse 100k {name} ({} KiB)", text.len() >> 10), 10, || {
            parse_function(&text, "t.gir").unwrap()
        });
        assert_eq!(g, f);
    }
}
