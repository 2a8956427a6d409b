//! Property tests of the passes on random programs: every pass alone and
//! the whole pipeline give a function that verifies and evaluates (in the
//! reference interpreter) to the same bits as the input; a pass that says
//! "unchanged" returns a function that prints byte for byte like its input,
//! and one that says "changed" does not.
//!
//! NaNs: DCE and constant folding must keep even NaN payloads (folding
//! runs the interpreter itself). CSE (merging `add %b, %a` into
//! `add %a, %b`) and simplification (`x·1 → x` keeps a signalling NaN that
//! the multiplication would have quieted) may change which NaN comes out,
//! which the IR leaves unspecified; for them, and the pipeline, a NaN
//! matches any NaN and every other element must match bit for bit.

mod passes_common;

use std::collections::{HashMap, HashSet};

use gradlift_compiler::passes::{
    optimize, ConstantFold, Cse, Dce, Pass, PipelineOptions, Simplify,
};
use gradlift_ir::random_graph::{random_function, GraphConfig, OpFamily};
use gradlift_ir::text::print_function;
use gradlift_ir::verify::verify_function;
use gradlift_ir::{DType, Function, Op};
use passes_common::{add_redundancy, compare, eval, random_args, Compare};

fn passes() -> Vec<(Box<dyn Pass>, Compare)> {
    vec![
        (Box::new(Dce), Compare::Bits),
        (Box::new(Cse), Compare::BitsNanAsOne),
        (Box::new(ConstantFold::default()), Compare::Bits),
        (Box::new(Simplify), Compare::BitsNanAsOne),
    ]
}

/// What one sweep saw, to check that the passes were exercised.
#[derive(Default)]
struct Coverage {
    evaluated: usize,
    changed: HashMap<&'static str, usize>,
    ops: HashSet<&'static str>,
    dtypes: HashSet<DType>,
    shrunk: usize,
}

impl Coverage {
    fn print(&self, what: &str) {
        let mut changed: Vec<_> = self.changed.iter().collect();
        changed.sort();
        eprintln!(
            "{what}: {} evaluated, pipeline shrank {}, passes changed a graph: {changed:?}",
            self.evaluated, self.shrunk
        );
    }
}

/// Checks every pass alone and the pipeline on `f`.
fn check(f: &Function, seed: u64, cov: &mut Coverage) {
    verify_function(f).unwrap_or_else(|e| panic!("seed {seed}: input does not verify: {e}"));
    for (_, n) in f.instructions() {
        cov.ops.insert(n.op.name());
        cov.dtypes.insert(n.ty.dtype);
    }
    let args = random_args(f, seed);
    let want = match eval(f, &args) {
        Ok(w) => w,
        Err(e) => panic!("seed {seed}: the input does not evaluate: {e}"),
    };
    cov.evaluated += 1;
    let printed = print_function(f);
    for (pass, how) in passes() {
        let (g, changed) = pass
            .run(f)
            .unwrap_or_else(|e| panic!("seed {seed}: {} failed: {e}\n{printed}", pass.name()));
        verify_function(&g).unwrap_or_else(|e| {
            panic!(
                "seed {seed}: {} gave invalid IR: {e}\n{printed}\n{}",
                pass.name(),
                print_function(&g)
            )
        });
        let out = print_function(&g);
        if changed {
            *cov.changed.entry(pass.name()).or_default() += 1;
            assert_ne!(
                out,
                printed,
                "seed {seed}: {} says changed but prints the same",
                pass.name()
            );
        } else {
            assert_eq!(
                out,
                printed,
                "seed {seed}: {} says unchanged but prints differently",
                pass.name()
            );
        }
        let got = eval(&g, &args).unwrap_or_else(|e| panic!("seed {seed}: {}: {e}", pass.name()));
        if let Some(diff) = compare(&want, &got, how) {
            panic!(
                "seed {seed}: {} changed a result: {diff}\nbefore:\n{printed}\nafter:\n{out}",
                pass.name()
            );
        }
    }
    let (g, report) = optimize(f, &PipelineOptions { verify: true, ..PipelineOptions::default() })
        .unwrap_or_else(|e| panic!("seed {seed}: pipeline failed: {e}\n{printed}"));
    assert!(report.converged, "seed {seed}: no fixed point\n{report}\n{printed}");
    if g.num_instructions() < f.num_instructions() {
        cov.shrunk += 1;
    }
    let got = eval(&g, &args).unwrap_or_else(|e| panic!("seed {seed}: pipeline: {e}"));
    if let Some(diff) = compare(&want, &got, Compare::BitsNanAsOne) {
        panic!(
            "seed {seed}: the pipeline changed a result: {diff}\nbefore:\n{printed}\nafter:\n{}",
            print_function(&g)
        );
    }
    // A second run finds nothing left to do.
    let (h, again) = optimize(&g, &PipelineOptions::default()).unwrap();
    assert!(again.stages.iter().all(|s| !s.changed), "seed {seed}: not idempotent\n{again}");
    assert_eq!(print_function(&h), print_function(&g));
}

#[test]
fn random_programs_keep_their_results() {
    let cfg = GraphConfig::default();
    let mut cov = Coverage::default();
    for seed in 0..600 {
        check(&random_function(seed, &cfg), seed, &mut cov);
    }
    cov.print("random");
    // Random graphs hold no custom rules (user functions); passes treat
    // custom_jvp as an opaque op, covered by tests/custom_rules.rs.
    let missing: Vec<_> = Op::all_kinds()
        .into_iter()
        .filter(|k| !cov.ops.contains(k) && *k != "custom_jvp")
        .collect();
    assert!(missing.is_empty(), "ops never tested: {missing:?}");
    assert_eq!(cov.dtypes.len(), DType::ALL.len());
    assert_eq!(cov.evaluated, 600);
    for pass in ["dce", "cse", "fold", "simplify"] {
        assert!(
            cov.changed.get(pass).copied().unwrap_or(0) > 20,
            "{pass} rarely fired: {:?}",
            cov.changed
        );
    }
}

#[test]
fn random_programs_with_hidden_identities_keep_their_results() {
    let cfg = GraphConfig { max_nodes: 32, ..GraphConfig::default() };
    let mut cov = Coverage::default();
    for seed in 0..500 {
        let f = add_redundancy(&random_function(seed, &cfg), seed, 0.4);
        check(&f, seed, &mut cov);
    }
    cov.print("hidden identities");
    for pass in ["dce", "cse", "fold", "simplify"] {
        assert!(
            cov.changed.get(pass).copied().unwrap_or(0) > 100,
            "{pass} rarely fired: {:?}",
            cov.changed
        );
    }
    assert!(cov.shrunk > 400, "the pipeline shrank only {} of 500 graphs", cov.shrunk);
}

#[test]
fn elementwise_programs_with_hidden_identities_keep_their_results() {
    let cfg = GraphConfig {
        special_floats: true,
        dtypes: DType::ALL.to_vec(),
        max_nodes: 40,
        families: OpFamily::ELEMENTWISE.to_vec(),
        ..GraphConfig::elementwise()
    };
    let mut cov = Coverage::default();
    for seed in 0..300 {
        let f = add_redundancy(&random_function(1000 + seed, &cfg), seed, 0.3);
        check(&f, seed, &mut cov);
    }
    cov.print("elementwise");
    assert!(cov.changed.get("fold").copied().unwrap_or(0) > 100, "{:?}", cov.changed);
}

/// `transpose(dot_general(transpose(x, p), transpose(y, q)), r)` for random
/// shapes, dimension numbers and permutations (the swap of the free dim
/// groups for `r` half of the time): the transposes the rules absorb must
/// not change a bit (NaN payloads aside: products commute).
#[test]
fn transposes_around_dot_general_keep_their_results() {
    use gradlift_ir::{Dims, DotDims, Shape, Type};
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    let mut absorbed = 0;
    for seed in 0..300u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let dtype = *[DType::F32, DType::F64, DType::I32].choose(&mut rng).unwrap();
        let (nb, nc) = (rng.gen_range(0..=1usize), rng.gen_range(0..=2usize));
        let (nl, nr) = (rng.gen_range(0..=2usize), rng.gen_range(0..=2usize));
        let size = |rng: &mut rand_chacha::ChaCha8Rng| rng.gen_range(1..=3usize);
        let batch: Vec<usize> = (0..nb).map(|_| size(&mut rng)).collect();
        let contract: Vec<usize> = (0..nc).map(|_| size(&mut rng)).collect();
        // Place batch, contracting and free dims at random positions of each operand.
        let place = |rng: &mut rand_chacha::ChaCha8Rng, free: usize| {
            let mut pos: Vec<usize> = (0..nb + nc + free).collect();
            pos.shuffle(rng);
            pos
        };
        let (lpos, rpos) = (place(&mut rng, nl), place(&mut rng, nr));
        let mut lt = vec![0; nb + nc + nl];
        let mut rt = vec![0; nb + nc + nr];
        for k in 0..nb {
            (lt[lpos[k]], rt[rpos[k]]) = (batch[k], batch[k]);
        }
        for k in 0..nc {
            (lt[lpos[nb + k]], rt[rpos[nb + k]]) = (contract[k], contract[k]);
        }
        for k in 0..nl {
            lt[lpos[nb + nc + k]] = size(&mut rng);
        }
        for k in 0..nr {
            rt[rpos[nb + nc + k]] = size(&mut rng);
        }
        let dims = DotDims {
            lhs_batch: lpos[..nb].iter().copied().collect(),
            rhs_batch: rpos[..nb].iter().copied().collect(),
            lhs_contract: lpos[nb..nb + nc].iter().copied().collect(),
            rhs_contract: rpos[nb..nb + nc].iter().copied().collect(),
        };
        // x, y such that transpose(x, p) has shape lt and transpose(y, q) has shape rt.
        let perm = |rng: &mut rand_chacha::ChaCha8Rng, n: usize| {
            let mut p: Dims = (0..n).collect();
            p.shuffle(rng);
            p
        };
        let (p, q) = (perm(&mut rng, lt.len()), perm(&mut rng, rt.len()));
        let mut xs = vec![0; lt.len()];
        for (i, &pi) in p.iter().enumerate() {
            xs[pi] = lt[i];
        }
        let mut ys = vec![0; rt.len()];
        for (i, &qi) in q.iter().enumerate() {
            ys[qi] = rt[i];
        }
        let mut f = Function::new("dots");
        let x = f.add_param(Some("x"), Type::new(dtype, Shape::new(&xs))).unwrap();
        let y = f.add_param(Some("y"), Type::new(dtype, Shape::new(&ys))).unwrap();
        let xt = f.push(Op::Transpose { perm: p }, &[x], None).unwrap();
        let yt = f.push(Op::Transpose { perm: q }, &[y], None).unwrap();
        let d = f.push(Op::DotGeneral(Box::new(dims)), &[xt, yt], None).unwrap();
        let r: Dims = if rng.gen() {
            (0..nb).chain(nb + nl..nb + nl + nr).chain(nb..nb + nl).collect()
        } else {
            perm(&mut rng, nb + nl + nr)
        };
        let out = f.push(Op::Transpose { perm: r }, &[d], None).unwrap();
        f.set_results(vec![out]).unwrap();
        let mut cov = Coverage::default();
        check(&f, seed, &mut cov);
        let (g, _) = optimize(&f, &PipelineOptions::default()).unwrap();
        let transposes = |f: &Function| {
            f.instructions().filter(|(_, n)| matches!(n.op, Op::Transpose { .. })).count()
        };
        absorbed += transposes(&f) - transposes(&g);
    }
    eprintln!("transposes absorbed: {absorbed} of 900");
    assert!(absorbed > 300, "only {absorbed} transposes absorbed");
}
