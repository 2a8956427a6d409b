//! Inlining: copying a function's instructions into another with its
//! parameters bound to values there. Used by the custom-rule JVP (the
//! user's JVP function is inlined where the rule is differentiated) and to
//! replace `custom_jvp` calls by their primal code once differentiation is
//! done (fusion and code generation never see them).

use gradlift_ir::{Function, IrError, Op, Value};

use crate::emit::Emitter;

/// Inlines `callee` at the emitter's position with `args` bound to its
/// parameters; returns the values of its results. Instructions keep their
/// own source locations.
pub fn inline(e: &mut Emitter, callee: &Function, args: &[Value]) -> Result<Vec<Value>, IrError> {
    if args.len() != callee.num_params() {
        return Err(IrError::Eval {
            msg: format!(
                "@{} takes {} arguments, got {}",
                callee.name(),
                callee.num_params(),
                args.len()
            ),
            loc: e.loc.clone(),
        });
    }
    let mut map: Vec<Value> = args.to_vec();
    for (v, node) in callee.instructions() {
        let a: Vec<Value> = node.args.iter().map(|x| map[x.index()]).collect();
        let loc = callee.loc(v).cloned().or_else(|| e.loc.clone());
        map.push(e.f.push(node.op.clone(), &a, loc)?);
    }
    Ok(callee.results().iter().map(|r| map[r.index()]).collect())
}

/// Replaces every `custom_jvp` call of `f` by its primal function's code
/// (repeatedly, for rules whose primal code holds rules). Returns `f`
/// unchanged (a clone) when it has none.
pub fn inline_custom_rules(f: &Function) -> Result<Function, IrError> {
    let mut current = f.clone();
    // Each round removes one level of nesting; rules nest at most 64 deep.
    for _ in 0..=64 {
        if !current.iter().any(|(_, n)| matches!(n.op, Op::CustomJvp(_))) {
            return Ok(current);
        }
        let mut out = Function::new(current.name());
        let mut map: Vec<Value> = Vec::with_capacity(current.len());
        for p in current.params() {
            map.push(out.add_param(current.value_name(p), current.ty(p).clone())?);
        }
        for (v, node) in current.instructions() {
            let args: Vec<Value> = node.args.iter().map(|a| map[a.index()]).collect();
            let nv = match &node.op {
                Op::CustomJvp(rule) => {
                    let mut e = Emitter { f: &mut out, loc: current.loc(v).cloned() };
                    inline(&mut e, &rule.primal, &args)?[0]
                }
                op => {
                    let nv = out.push(op.clone(), &args, current.loc(v).cloned())?;
                    out.set_value_name(nv, current.value_name(v))?;
                    nv
                }
            };
            map.push(nv);
        }
        out.set_results(current.results().iter().map(|r| map[r.index()]).collect())?;
        current = out;
    }
    Err(IrError::Verify {
        func: f.name().to_string(),
        msg: "custom_jvp rules nest too deep".into(),
        loc: None,
    })
}
