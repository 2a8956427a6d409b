//! Every recorded node carries the user's source line: for methods, for
//! operators (scalar on either side, assign forms), for free functions, and
//! for every node a composite op expands into.

mod trace_common;

use gradlift::{concat, full, select, trace, Function, Value, Var};
use trace_common::*;

const FILE: &str = "tests/trace_locations.rs";

/// The (line, column) of every instruction, checking the file name.
fn lines(f: &Function) -> Vec<u32> {
    f.instructions()
        .map(|(v, _)| {
            let loc = f.loc(v).unwrap_or_else(|| panic!("{v} has no location"));
            assert_eq!(&*loc.file, FILE);
            assert!(loc.col > 0);
            loc.line
        })
        .collect()
}

#[test]
fn methods_record_the_callers_line() {
    let mut at = Vec::new();
    let f = trace(
        "f",
        |x: Var| {
            at.push(line!() + 1);
            let y = x.exp();
            at.push(line!() + 1);
            let z = y.sum(&[0]);
            at.push(line!() + 1);
            z.sqrt()
        },
        &[f32s(&[3])],
    )
    .unwrap();
    assert_eq!(lines(&verified(f)), at);
}

#[test]
fn operators_record_the_callers_line() {
    let mut at = Vec::new();
    let f = trace(
        "f",
        |x: Var, y: Var| {
            at.push(line!() + 1);
            let a = x + y;
            at.push(line!() + 1);
            let b = -a;
            at.push(line!() + 1);
            let c = 2.0 * b; // constant + mul
            at.push(line!() + 1);
            let mut d = c / 3;
            at.push(line!() + 1);
            d -= x;
            d
        },
        &[f32s(&[]), f32s(&[])],
    )
    .unwrap();
    let f = verified(f);
    assert_eq!(ops(&f), ["add", "neg", "constant", "mul", "constant", "div", "sub"]);
    let want = [at[0], at[1], at[2], at[2], at[3], at[3], at[4]];
    assert_eq!(lines(&f), want);
}

#[test]
fn composite_ops_put_every_node_on_the_users_line() {
    let mut at = 0;
    let f = trace(
        "f",
        |x: Var, w: Var| {
            at = line!() + 1;
            x.matmul(w).mean_all().powi(3)
        },
        &[f32s(&[2, 1, 3, 4]), f32s(&[5, 4, 6])],
    )
    .unwrap();
    let f = verified(f);
    assert!(f.num_instructions() >= 8, "{}", dump(&f));
    assert!(lines(&f).iter().all(|&l| l == at));
}

#[test]
fn free_functions_record_the_callers_line() {
    let mut at = Vec::new();
    let f = trace(
        "f",
        |x: Var, y: Var| {
            at.push(line!() + 1);
            let c = concat(&[x, y], 0);
            at.push(line!() + 1);
            let k = full(&[4], 1.5, gradlift::DType::F32);
            at.push(line!() + 1);
            select(c.gt(k), c, 0.0)
        },
        &[f32s(&[2]), f32s(&[2])],
    )
    .unwrap();
    let f = verified(f);
    assert_eq!(
        ops(&f),
        [
            "concatenate",
            "constant",
            "broadcast_in_dim",
            "gt",
            "constant",
            "broadcast_in_dim",
            "select"
        ]
    );
    let l = lines(&f);
    assert_eq!(l[0], at[0]);
    assert_eq!(&l[1..3], [at[1]; 2]);
    assert!(l[3..].iter().all(|&x| x == at[2]));
}

#[test]
fn file_names_are_shared_not_copied_per_node() {
    let f = trace("f", |x: Var| (0..50).fold(x, |a, _| a.sin()), &[f32s(&[])]).unwrap();
    let first = f.loc(Value::from_index(1)).unwrap().file.clone();
    for (v, _) in f.instructions() {
        assert!(std::sync::Arc::ptr_eq(&f.loc(v).unwrap().file, &first));
    }
}
