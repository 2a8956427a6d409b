//! Large traces: nothing recurses, so a 10^6-op chain traces on a thread
//! with a 1 MiB stack. (Speed is measured, not asserted: run with
//! `--release --nocapture` to see the time per 10^5 ops.)

mod trace_common;

use std::time::Instant;

use gradlift::{trace, Var};
use trace_common::*;

fn chain(x: Var, y: Var, n: usize) -> Var {
    let mut acc = x;
    for i in 0..n {
        acc = match i % 4 {
            0 => acc + y,
            1 => acc * y,
            2 => acc.sin(),
            _ => acc - 0.5, // constant + sub
        };
    }
    acc
}

#[test]
fn a_million_op_chain_on_a_small_stack() {
    const N: usize = 1_000_000;
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let f =
                trace("chain", |x: Var, y: Var| chain(x, y, N), &[f32s(&[]), f32s(&[])]).unwrap();
            // verify_function is a loop too; it must also fit the stack.
            let f = verified(f);
            let n = f.num_instructions();
            drop(f);
            n
        })
        .unwrap();
    let n = handle.join().expect("tracing a long chain must not overflow the stack");
    assert_eq!(n, N + N / 4);
}

#[test]
fn time_per_hundred_thousand_ops() {
    let start = Instant::now();
    let f =
        trace("chain", |x: Var, y: Var| chain(x, y, 100_000), &[f32s(&[8]), f32s(&[8])]).unwrap();
    let elapsed = start.elapsed();
    eprintln!(
        "traced {} nodes (10^5 ops with broadcasts of scalar constants) in {elapsed:?}",
        f.num_instructions()
    );
    assert_eq!(f.num_instructions(), 100_000 + 2 * 25_000);
}
