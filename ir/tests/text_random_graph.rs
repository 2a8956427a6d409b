//! The random graph generator: valid, reproducible, bounded, and covering
//! every op and every awkward constant over a few hundred seeds.

use std::collections::HashSet;

use gradlift_ir::random_graph::{random_function, random_module, GraphConfig, OpFamily};
use gradlift_ir::verify::{verify_function, verify_module};
use gradlift_ir::{DType, Data, Op};

#[test]
fn functions_verify_and_are_reproducible() {
    let cfg = GraphConfig::default();
    for seed in 0..300 {
        let f = random_function(seed, &cfg);
        verify_function(&f).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(f.num_instructions() <= cfg.max_nodes);
        assert_eq!(f, random_function(seed, &cfg), "seed {seed}");
    }
}

#[test]
fn every_op_and_special_value_appears() {
    let cfg = GraphConfig::default();
    let mut ops = HashSet::new();
    let mut dtypes = HashSet::new();
    let (mut inf, mut nan, mut payload, mut neg_zero, mut denormal, mut zero_dim) =
        (false, false, false, false, false, false);
    let (mut multi_param, mut multi_result, mut named, mut interior, mut neg_pad) =
        (false, false, false, false, false);
    let (mut strided, mut empty_axes, mut odd_dot) = (false, false, false);
    for seed in 0..500 {
        let f = random_function(seed, &cfg);
        multi_param |= f.num_params() > 1;
        multi_result |= f.results().len() > 1;
        for (v, node) in f.iter() {
            named |= f.value_name(v).is_some();
            dtypes.insert(node.ty.dtype);
            zero_dim |= node.ty.dims().contains(&0);
            if let Op::Parameter { .. } = node.op {
                continue;
            }
            ops.insert(node.op.name());
            match &node.op {
                Op::Constant { value } => {
                    let floats: Vec<f64> = match value.data() {
                        Data::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
                        Data::F64(v) => v.clone(),
                        _ => vec![],
                    };
                    inf |= floats.iter().any(|x| x.is_infinite());
                    nan |= floats.iter().any(|x| x.is_nan());
                    neg_zero |= floats.iter().any(|x| *x == 0.0 && x.is_sign_negative());
                    if let Data::F32(v) = value.data() {
                        payload |= v.iter().any(|x| x.is_nan() && x.to_bits() != 0x7fc0_0000);
                        denormal |= v.iter().any(|x| x.is_subnormal());
                    }
                }
                Op::Pad(p) => {
                    interior |= p.interior.iter().any(|&i| i > 0);
                    neg_pad |= p.low.iter().chain(&p.high).any(|&i| i < 0);
                }
                Op::Slice(s) => strided |= s.stride.iter().any(|&s| s > 1),
                Op::Reduce { axes, .. } => empty_axes |= axes.is_empty(),
                Op::DotGeneral(d) => {
                    odd_dot |= !d.lhs_batch.is_empty()
                        && !d.lhs_contract.is_empty()
                        && d.rhs_contract.contains(&0)
                }
                _ => {}
            }
        }
    }
    let missing: Vec<_> = Op::all_kinds().into_iter().filter(|k| !ops.contains(k)).collect();
    assert!(missing.is_empty(), "ops never generated: {missing:?}");
    assert_eq!(dtypes.len(), DType::ALL.len());
    for (what, seen) in [
        ("inf", inf),
        ("nan", nan),
        ("payload nan", payload),
        ("-0.0", neg_zero),
        ("denormal", denormal),
        ("size-0 dim", zero_dim),
        ("several params", multi_param),
        ("several results", multi_result),
        ("names", named),
        ("pad interior", interior),
        ("negative pad", neg_pad),
        ("strided slice", strided),
        ("empty reduction axes", empty_axes),
        ("dot with batch and contract", odd_dot),
    ] {
        assert!(seen, "never generated: {what}");
    }
}

#[test]
fn elementwise_config_stays_elementwise() {
    let cfg = GraphConfig::elementwise();
    for seed in 0..100 {
        let f = random_function(seed, &cfg);
        verify_function(&f).unwrap();
        for (_, node) in f.instructions() {
            assert!(
                node.op.is_elementwise() || matches!(node.op, Op::Constant { .. }),
                "seed {seed}: {}",
                node.op.name()
            );
        }
    }
}

#[test]
fn odd_configs_still_give_valid_functions() {
    let base = GraphConfig::default();
    let mut configs = vec![
        GraphConfig { max_nodes: 0, max_params: 0, ..base.clone() },
        GraphConfig { max_params: 0, families: vec![], ..base.clone() },
        GraphConfig { max_rank: 0, ..base.clone() },
        GraphConfig { max_dim: 0, ..base.clone() },
        GraphConfig { max_dim: 1, max_elements: 1, ..base.clone() },
        GraphConfig { zero_dim_prob: 1.0, ..base.clone() },
        GraphConfig { dtypes: vec![], ..base.clone() },
        GraphConfig { dtypes: vec![DType::Bool], ..base.clone() },
        GraphConfig { dtypes: vec![DType::I32], ..base.clone() },
        GraphConfig { max_results: 0, name_prob: 1.0, ..base.clone() },
        GraphConfig { min_nodes: 50, max_nodes: 10, ..base.clone() },
    ];
    for fam in OpFamily::ALL {
        configs.push(GraphConfig { families: vec![fam], ..base.clone() });
    }
    for (i, cfg) in configs.iter().enumerate() {
        for seed in 0..40 {
            let f = random_function(seed, cfg);
            verify_function(&f).unwrap_or_else(|e| panic!("config {i}, seed {seed}: {e}"));
            assert!(f.num_instructions() <= cfg.max_nodes.max(1), "config {i}");
        }
    }
}

#[test]
fn modules_have_distinct_names() {
    let m = random_module(3, 5, &GraphConfig::default());
    assert_eq!(m.funcs().len(), 5);
    verify_module(&m).unwrap();
}
