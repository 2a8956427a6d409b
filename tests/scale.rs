//! Nothing in the pipeline recurses over a graph: a chain of 10^6 ops
//! traces, verifies, prints, parses and interprets on a thread with a 1 MiB
//! stack, and a 10^5-op chain differentiates there too.

use gradlift::ir::interp::eval_function;
use gradlift::ir::text::{parse_module, print_module};
use gradlift::ir::verify::verify_function;
use gradlift::{trace, DType, Module, Tensor, Type, Var};
use gradlift_compiler::ad;

fn chain(n: usize) -> impl Fn(Var) -> Var {
    move |x: Var| {
        let mut y = x;
        for i in 0..n {
            y = if i % 2 == 0 { y.sin() } else { -y };
        }
        y
    }
}

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().stack_size(1 << 20).spawn(f).unwrap().join().unwrap();
}

#[test]
fn million_op_chain_on_a_1mib_stack() {
    on_small_stack(|| {
        let n = 1_000_000;
        let f = trace("chain", chain(n), &[Type::scalar(DType::F64)]).unwrap();
        assert_eq!(f.num_instructions(), n);
        verify_function(&f).unwrap();
        let text = print_module(&Module::from(f.clone()));
        let m = parse_module(&text, "chain.gir").unwrap();
        assert_eq!(m.funcs()[0], f);
        let out = eval_function(&f, &[Tensor::scalar(0.5f64)]).unwrap();
        let mut want = 0.5f64;
        for i in 0..n {
            want = if i % 2 == 0 { want.sin() } else { -want };
        }
        assert_eq!(out[0], Tensor::scalar(want));
    });
}

#[test]
fn long_chain_differentiates_on_a_1mib_stack() {
    on_small_stack(|| {
        let n = 100_000;
        let f = trace("chain", chain(n), &[Type::scalar(DType::F64)]).unwrap();
        let g = ad::grad(&f, &[0], 0).unwrap();
        verify_function(&g).unwrap();
        assert!(g.num_instructions() <= 5 * f.num_instructions());
        let j = ad::jvp(&f, &[0]).unwrap();
        let x = Tensor::scalar(0.5f64);
        let gv = eval_function(&g, std::slice::from_ref(&x)).unwrap();
        let jv = eval_function(&j, &[x, Tensor::scalar(1.0f64)]).unwrap();
        // Forward and reverse mode agree on a scalar chain.
        let (a, b) = (gv[1].to_f64_vec()[0], jv[1].to_f64_vec()[0]);
        assert!((a - b).abs() <= 1e-12 * a.abs().max(1e-300), "{a} vs {b}");
    });
}
