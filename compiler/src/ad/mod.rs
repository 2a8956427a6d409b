//! Automatic differentiation by graph rewriting.
//!
//! - [`jvp`]: forward mode. A tangent rule per op (`jvp.rs`) writes tangent
//!   code next to a copy of the primal code; zero tangents stay symbolic.
//! - [`vjp`] / [`grad`]: reverse mode as JAX does it, linearize + transpose:
//!   the JVP graph's tangent part is linear in the input tangents, so walking
//!   it backwards with a transpose rule per linear op (`transpose.rs`) gives
//!   the cotangents. The primal part is kept as is (the residuals).
//!
//! Every result is an ordinary `Function`, so transforms compose to any
//! order (grad of grad, jvp of vjp), and print, optimise and compile like
//! any other graph. Graph size stays linear in the input's: each node
//! contributes a bounded number of tangent and cotangent nodes.

mod check;
mod jvp;
mod transpose;

use gradlift_ir::{DType, Function, Op, Type, Value};

use crate::emit::Emitter;
use crate::error::CompileError;
use crate::passes::dce::dce;
pub use check::{check_grads, Modes, Tolerance};
use transpose::{transpose_rule, Operand};

/// The JVP graph of `f`: primal copy plus tangents, before results are set.
struct JvpGraph {
    func: Function,
    /// Value of each node of `f` in `func`.
    primal: Vec<Value>,
    /// Tangent of each node of `f` in `func` (`None`: symbolic zero).
    tangent: Vec<Option<Value>>,
    /// The tangent parameters, one per `wrt` entry.
    tangent_params: Vec<Value>,
}

fn check_wrt(f: &Function, wrt: &[usize], transform: &'static str) -> Result<(), CompileError> {
    for (k, &p) in wrt.iter().enumerate() {
        if p >= f.num_params() {
            return Err(CompileError::transform(
                transform,
                format!(
                    "@{} has {} parameters; cannot differentiate with respect to parameter {p}",
                    f.name(),
                    f.num_params()
                ),
            ));
        }
        if wrt[..k].contains(&p) {
            return Err(CompileError::transform(
                transform,
                format!("parameter {p} is listed twice"),
            ));
        }
        let ty = f.ty(f.param(p));
        if !ty.dtype.is_float() {
            return Err(CompileError::transform(
                transform,
                format!(
                    "cannot differentiate with respect to {} of type {ty}: derivatives are defined for f32 and f64 inputs only",
                    param_label(f, p)
                ),
            ));
        }
    }
    Ok(())
}

fn param_label(f: &Function, p: usize) -> String {
    match f.value_name(f.param(p)) {
        Some(n) => format!("parameter %{n}"),
        None => format!("parameter {p}"),
    }
}

/// `%x` + suffix (e.g. `%x_dot`), made unique among `f`'s value names and
/// the names already handed out (`taken`) by appending `_2`, `_3`, ...
fn suffixed(f: &Function, v: Value, suffix: &str, taken: &mut Vec<String>) -> Option<String> {
    let base = format!("{}{suffix}", f.value_name(v)?);
    let used = |n: &str, taken: &[String]| {
        taken.iter().any(|t| t == n) || f.iter().any(|(w, _)| f.value_name(w) == Some(n))
    };
    let name = if used(&base, taken) {
        (2..).map(|k| format!("{base}_{k}")).find(|n| !used(n, taken))?
    } else {
        base
    };
    taken.push(name.clone());
    Some(name)
}

/// Builds the JVP graph: parameters are `f`'s followed by `extra` (types
/// with optional names), the first `wrt.len()` of which are the tangents.
fn build_jvp(
    f: &Function,
    wrt: &[usize],
    name: &str,
    extra: &[(Option<String>, Type)],
) -> Result<JvpGraph, CompileError> {
    let mut g = Function::new(name);
    let mut primal = Vec::with_capacity(f.len());
    let mut tangent: Vec<Option<Value>> = vec![None; f.len()];
    for p in f.params() {
        let v = g.add_param(f.value_name(p), f.ty(p).clone())?;
        primal.push(v);
    }
    let mut extra_vals = Vec::with_capacity(extra.len());
    for (n, ty) in extra {
        extra_vals.push(g.add_param(n.as_deref(), ty.clone())?);
    }
    let tangent_params: Vec<Value> = extra_vals[..wrt.len()].to_vec();
    for (k, &p) in wrt.iter().enumerate() {
        tangent[p] = Some(tangent_params[k]);
    }
    for (v, node) in f.instructions() {
        let loc = f.loc(v).cloned();
        let args: Vec<Value> = node.args.iter().map(|a| primal[a.index()]).collect();
        let y = g.push(node.op.clone(), &args, loc.clone())?;
        g.set_value_name(y, f.value_name(v))?;
        primal.push(y);
        let dx: Vec<Option<Value>> = node.args.iter().map(|a| tangent[a.index()]).collect();
        let mut e = Emitter { f: &mut g, loc };
        tangent[v.index()] = jvp::jvp_rule(&mut e, &node.op, &args, y, &dx)?;
    }
    Ok(JvpGraph { func: g, primal, tangent, tangent_params })
}

/// Forward mode. Returns a function taking `f`'s parameters followed by one
/// tangent per entry of `wrt` (named `%x_dot` after a primal `%x`), and
/// returning `f`'s results followed by their tangents.
pub fn jvp(f: &Function, wrt: &[usize]) -> Result<Function, CompileError> {
    check_wrt(f, wrt, "jvp")?;
    let mut taken = Vec::new();
    let extra: Vec<(Option<String>, Type)> = wrt
        .iter()
        .map(|&p| (suffixed(f, f.param(p), "_dot", &mut taken), f.ty(f.param(p)).clone()))
        .collect();
    let mut j = build_jvp(f, wrt, &format!("{}_jvp", f.name()), &extra)?;
    let mut results: Vec<Value> = f.results().iter().map(|r| j.primal[r.index()]).collect();
    for r in f.results() {
        let ty = f.ty(*r).clone();
        let t = j.tangent[r.index()];
        let mut e = Emitter { f: &mut j.func, loc: f.loc(*r).cloned() };
        results.push(e.materialize(t, &ty)?);
    }
    j.func.set_results(results)?;
    Ok(dce(&j.func)?)
}

/// How the cotangent of one result of `f` enters a reverse-mode function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seed {
    /// A new parameter of the result's type (`vjp`).
    Param,
    /// A constant 1 (`grad` of a scalar result).
    One,
    /// No cotangent flows from this result.
    Zero,
}

/// Reverse mode. Returns a function taking `f`'s parameters followed by one
/// cotangent per result of `f` (named `%y_ct` after a result `%y`), and
/// returning `f`'s results followed by the cotangents of the `wrt`
/// parameters.
pub fn vjp(f: &Function, wrt: &[usize]) -> Result<Function, CompileError> {
    let seeds = vec![Seed::Param; f.results().len()];
    reverse(f, wrt, &seeds, &format!("{}_vjp", f.name()))
}

/// The gradient of result `of` (a float scalar) with respect to the `wrt`
/// parameters. Returns a function with `f`'s parameters, returning `f`'s
/// results followed by one gradient per `wrt` entry (value and grad).
pub fn grad(f: &Function, wrt: &[usize], of: usize) -> Result<Function, CompileError> {
    let Some(&r) = f.results().get(of) else {
        return Err(CompileError::transform(
            "grad",
            format!("@{} has {} results; there is no result {of}", f.name(), f.results().len()),
        ));
    };
    let ty = f.ty(r);
    if ty.rank() != 0 || !ty.dtype.is_float() {
        return Err(CompileError::transform(
            "grad",
            format!("result {of} of @{} has type {ty}; grad needs a float scalar (use vjp for other results)", f.name()),
        ));
    }
    let seeds: Vec<Seed> =
        (0..f.results().len()).map(|k| if k == of { Seed::One } else { Seed::Zero }).collect();
    reverse(f, wrt, &seeds, &format!("{}_grad", f.name()))
}

/// Linearize + transpose, with the output cotangents given by `seeds`.
pub fn reverse(
    f: &Function,
    wrt: &[usize],
    seeds: &[Seed],
    name: &str,
) -> Result<Function, CompileError> {
    check_wrt(f, wrt, "vjp")?;
    if seeds.len() != f.results().len() {
        return Err(CompileError::transform("vjp", "one seed per result is needed"));
    }
    let lin = linearize(f, wrt, name)?;
    let mut g = Function::new(name);
    for p in f.params() {
        g.add_param(f.value_name(p), f.ty(p).clone())?;
    }
    let mut result_cts: Vec<Option<Value>> = vec![None; seeds.len()];
    let mut taken = Vec::new();
    for (k, s) in seeds.iter().enumerate() {
        let r = f.results()[k];
        result_cts[k] = match s {
            Seed::Zero => None,
            Seed::Param => {
                Some(g.add_param(suffixed(f, r, "_ct", &mut taken).as_deref(), f.ty(r).clone())?)
            }
            Seed::One => None,
        };
    }
    let map = lin.copy_primal(&mut g)?;
    for (k, s) in seeds.iter().enumerate() {
        if *s == Seed::One {
            let r = f.results()[k];
            let mut e = Emitter { f: &mut g, loc: f.loc(r).cloned() };
            result_cts[k] = Some(e.full(f.ty(r), 1.0)?);
        }
    }
    let cts = lin.pull_back(&mut g, &map, &result_cts)?;
    let mut results = lin.primal_results(&map);
    for (k, &p) in wrt.iter().enumerate() {
        let ty = f.ty(f.param(p)).clone();
        let mut e = Emitter::new(&mut g);
        results.push(e.materialize(cts[k], &ty)?);
    }
    g.set_results(results)?;
    Ok(dce(&g)?)
}

/// A function split into its primal part and its linear (tangent) part: the
/// JVP graph with a flag per node saying whether it depends on a tangent.
struct Linearization<'f> {
    f: &'f Function,
    j: JvpGraph,
    linear: Vec<bool>,
}

fn linearize<'f>(
    f: &'f Function,
    wrt: &[usize],
    name: &str,
) -> Result<Linearization<'f>, CompileError> {
    let tangent_types: Vec<(Option<String>, Type)> =
        wrt.iter().map(|&p| (None, f.ty(f.param(p)).clone())).collect();
    let j = build_jvp(f, wrt, name, &tangent_types)?;
    let mut linear = vec![false; j.func.len()];
    for &t in &j.tangent_params {
        linear[t.index()] = true;
    }
    for (v, node) in j.func.instructions() {
        linear[v.index()] = node.args.iter().any(|a| linear[a.index()]);
    }
    Ok(Linearization { f, j, linear })
}

impl Linearization<'_> {
    /// Copies the primal part into `g`, whose first parameters are `f`'s.
    /// Returns the value in `g` of every primal node of the JVP graph.
    fn copy_primal(&self, g: &mut Function) -> Result<Vec<Option<Value>>, CompileError> {
        let jf = &self.j.func;
        let mut map: Vec<Option<Value>> = vec![None; jf.len()];
        for p in self.f.params() {
            map[self.j.primal[p.index()].index()] = Some(g.param(p.index()));
        }
        for (v, node) in jf.instructions() {
            if self.linear[v.index()] {
                continue;
            }
            let args: Vec<Value> = node.args.iter().map(|a| map[a.index()].unwrap_or(*a)).collect();
            let nv = g.push(node.op.clone(), &args, jf.loc(v).cloned())?;
            g.set_value_name(nv, jf.value_name(v))?;
            map[v.index()] = Some(nv);
        }
        Ok(map)
    }

    /// `f`'s results, as copied into `g` by `copy_primal`.
    fn primal_results(&self, map: &[Option<Value>]) -> Vec<Value> {
        self.f
            .results()
            .iter()
            .map(|r| {
                let jv = self.j.primal[r.index()];
                map[jv.index()].unwrap_or(jv)
            })
            .collect()
    }

    /// Re-emits the linear part into `g` for one set of input tangents
    /// (one per `wrt` entry). Returns the tangent of each result of `f`.
    fn push_forward(
        &self,
        g: &mut Function,
        map: &[Option<Value>],
        tangents: &[Value],
    ) -> Result<Vec<Option<Value>>, CompileError> {
        let jf = &self.j.func;
        let mut lane: Vec<Option<Value>> = vec![None; jf.len()];
        for (k, &t) in self.j.tangent_params.iter().enumerate() {
            lane[t.index()] = Some(tangents[k]);
        }
        for (v, node) in jf.instructions() {
            if !self.linear[v.index()] {
                continue;
            }
            let args: Vec<Value> = node
                .args
                .iter()
                .map(|a| {
                    if self.linear[a.index()] { lane[a.index()] } else { map[a.index()] }
                        .unwrap_or(*a)
                })
                .collect();
            lane[v.index()] = Some(g.push(node.op.clone(), &args, jf.loc(v).cloned())?);
        }
        Ok(self
            .f
            .results()
            .iter()
            .map(|r| {
                self.j.tangent[r.index()].and_then(|t| {
                    if self.linear[t.index()] {
                        lane[t.index()]
                    } else {
                        None
                    }
                })
            })
            .collect())
    }

    /// Transposes the linear part into `g` for one set of result cotangents
    /// (`None`: zero). Returns the cotangent of each `wrt` parameter.
    fn pull_back(
        &self,
        g: &mut Function,
        map: &[Option<Value>],
        result_cts: &[Option<Value>],
    ) -> Result<Vec<Option<Value>>, CompileError> {
        let jf = &self.j.func;
        let mut ct: Vec<Option<Value>> = vec![None; jf.len()];
        for (k, seed) in result_cts.iter().enumerate() {
            let r = self.f.results()[k];
            let (Some(seed), Some(t)) = (seed, self.j.tangent[r.index()]) else { continue };
            if !self.linear[t.index()] {
                continue;
            }
            let mut e = Emitter::new(g);
            ct[t.index()] = e.add_opt(ct[t.index()], Some(*seed))?;
        }
        for i in (jf.num_params()..jf.len()).rev() {
            let v = Value::from_index(i);
            if !self.linear[i] {
                continue;
            }
            let Some(c) = ct[i] else { continue };
            let node = jf.node(v);
            let operands: Vec<Operand> = node
                .args
                .iter()
                .map(|a| Operand {
                    ty: jf.ty(*a).clone(),
                    primal: if self.linear[a.index()] { None } else { map[a.index()] },
                })
                .collect();
            let mut e = Emitter { f: g, loc: jf.loc(v).cloned() };
            let cts = transpose_rule(&mut e, &node.op, &operands, &node.ty, c)
                .map_err(|err| err.with_loc(jf.loc(v).cloned()))?;
            for (a, c) in node.args.iter().zip(cts) {
                if c.is_some() {
                    ct[a.index()] = e.add_opt(ct[a.index()], c)?;
                }
            }
        }
        Ok(self.j.tangent_params.iter().map(|t| ct[t.index()]).collect())
    }
}

/// One-hot basis tensors of `ty`, one per element, built from a shared iota
/// (O(n) constant data for n lanes).
fn one_hot_lanes(g: &mut Function, ty: &Type) -> Result<Vec<Value>, CompileError> {
    let n = ty.shape.size();
    let mut e = Emitter::new(g);
    let flat = gradlift_ir::Shape::new(&[n]);
    let iota = e.op(Op::Iota { dtype: DType::I64, shape: flat.clone(), axis: 0 }, &[])?;
    let mut lanes = Vec::with_capacity(n);
    for i in 0..n {
        let k = e.full(&Type::new(DType::I64, flat.clone()), i as f64)?;
        let hit = e.compare(gradlift_ir::CompareOp::Eq, iota, k)?;
        let hot = e.convert(hit, ty.dtype)?;
        lanes.push(e.reshape(hot, &ty.shape)?);
    }
    Ok(lanes)
}

/// Stacks `parts` (all of type `part`) into `outer ++ inner`, where the
/// parts enumerate `lane_shape` in row-major order and `lanes_first` says
/// whether the lane dims go first (`jacrev`) or last (`jacfwd`).
fn stack(
    g: &mut Function,
    parts: &[Value],
    part: &Type,
    lane_shape: &gradlift_ir::Shape,
    lanes_first: bool,
) -> Result<Value, CompileError> {
    let mut dims: Vec<usize> = Vec::new();
    if lanes_first {
        dims.extend(lane_shape.dims());
        dims.extend(part.dims());
    } else {
        dims.extend(part.dims());
        dims.extend(lane_shape.dims());
    }
    let out = Type::new(part.dtype, gradlift_ir::Shape::new(&dims));
    let mut e = Emitter::new(g);
    if parts.is_empty() || out.shape.size() == 0 {
        return Ok(e.zeros(&out)?);
    }
    let n = parts.len();
    let mut cols = Vec::with_capacity(n);
    let axis = if lanes_first { 0 } else { part.rank() };
    for &p in parts {
        let mut d: Vec<usize> = part.dims().to_vec();
        d.insert(axis, 1);
        cols.push(e.reshape(p, &gradlift_ir::Shape::new(&d))?);
    }
    let cat = e.op(Op::Concatenate { axis }, &cols)?;
    Ok(e.reshape(cat, &out.shape)?)
}

/// Forward-mode Jacobians of result `of` with respect to each `wrt`
/// parameter (one JVP lane per input element). Returns `f`'s results
/// followed by one Jacobian per `wrt` entry, of shape `out ++ in`.
pub fn jacfwd(f: &Function, wrt: &[usize], of: usize) -> Result<Function, CompileError> {
    check_wrt(f, wrt, "jacfwd")?;
    let out = result_type(f, of, "jacfwd")?;
    let name = format!("{}_jacfwd", f.name());
    let lin = linearize(f, wrt, &name)?;
    let mut g = Function::new(&name);
    for p in f.params() {
        g.add_param(f.value_name(p), f.ty(p).clone())?;
    }
    let map = lin.copy_primal(&mut g)?;
    let mut results = lin.primal_results(&map);
    let zero_tangents: Vec<Value> = {
        let mut e = Emitter::new(&mut g);
        let mut z = Vec::new();
        for &p in wrt {
            z.push(e.zeros(f.ty(f.param(p)))?);
        }
        z
    };
    for (k, &p) in wrt.iter().enumerate() {
        let in_ty = f.ty(f.param(p)).clone();
        let mut cols = Vec::new();
        for hot in one_hot_lanes(&mut g, &in_ty)? {
            let mut tangents = zero_tangents.clone();
            tangents[k] = hot;
            let outs = lin.push_forward(&mut g, &map, &tangents)?;
            let mut e = Emitter::new(&mut g);
            cols.push(e.materialize(outs[of], &out)?);
        }
        results.push(stack(&mut g, &cols, &out, &in_ty.shape, false)?);
    }
    g.set_results(results)?;
    Ok(dce(&g)?)
}

/// Reverse-mode Jacobians of result `of` with respect to each `wrt`
/// parameter (one VJP lane per output element). Same result layout as
/// [`jacfwd`].
pub fn jacrev(f: &Function, wrt: &[usize], of: usize) -> Result<Function, CompileError> {
    check_wrt(f, wrt, "jacrev")?;
    let out = result_type(f, of, "jacrev")?;
    if !out.dtype.is_float() {
        return Err(CompileError::transform(
            "jacrev",
            format!("result {of} has type {out}; a float result is needed"),
        ));
    }
    let name = format!("{}_jacrev", f.name());
    let lin = linearize(f, wrt, &name)?;
    let mut g = Function::new(&name);
    for p in f.params() {
        g.add_param(f.value_name(p), f.ty(p).clone())?;
    }
    let map = lin.copy_primal(&mut g)?;
    let mut results = lin.primal_results(&map);
    let mut rows: Vec<Vec<Value>> = vec![Vec::new(); wrt.len()];
    for hot in one_hot_lanes(&mut g, &out)? {
        let mut seeds = vec![None; f.results().len()];
        seeds[of] = Some(hot);
        let cts = lin.pull_back(&mut g, &map, &seeds)?;
        for (k, &p) in wrt.iter().enumerate() {
            let mut e = Emitter::new(&mut g);
            rows[k].push(e.materialize(cts[k], f.ty(f.param(p)))?);
        }
    }
    for (k, &p) in wrt.iter().enumerate() {
        let in_ty = f.ty(f.param(p)).clone();
        results.push(stack(&mut g, &rows[k], &in_ty, &out.shape, true)?);
    }
    g.set_results(results)?;
    Ok(dce(&g)?)
}

/// Hessian of the float scalar result `of` with respect to one parameter,
/// forward over reverse (`jacfwd` of `grad`). Returns `f`'s results, the
/// gradient, then the Hessian of shape `in ++ in`.
pub fn hessian(f: &Function, wrt: usize, of: usize) -> Result<Function, CompileError> {
    let g = grad(f, &[wrt], of)?;
    let grad_index = f.results().len();
    let mut h = jacfwd(&g, &[wrt], grad_index)?;
    h.set_name(format!("{}_hessian", f.name()));
    Ok(h)
}

fn result_type(f: &Function, of: usize, transform: &'static str) -> Result<Type, CompileError> {
    match f.results().get(of) {
        Some(r) => Ok(f.ty(*r).clone()),
        None => Err(CompileError::transform(
            transform,
            format!("@{} has {} results; there is no result {of}", f.name(), f.results().len()),
        )),
    }
}

/// True when `op` on operands of these dtypes has a zero derivative
/// everywhere (used by tests and documentation).
pub fn has_zero_derivative(op: &Op, result: DType) -> bool {
    !result.is_float() || op.linearity() == gradlift_ir::Linearity::ZeroDerivative
}
