//! Reduction loop nests: vector accumulators along the reduced innermost
//! dim (row reductions) or across outputs (column reductions), the
//! fixed-order combine, partial results of chunks and `finish`.

use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use gradlift_ir::{DType, ReduceKind};

use super::{close_loop, flatten, open_loop, unflatten, whole_steps_end, Env, Gen};
use crate::codegen::analysis::ExprId;
use crate::codegen::lower::{reduce_identity, reduce_step};
use crate::codegen::packet::{
    self, const_scalar, const_value, elem_addr, load_scalar, shuffle32, store_scalar, Pk, LANES,
};
use crate::codegen::plan::UNIT_TARGET;

impl Gen<'_> {
    /// The reduction outputs: (output index, kind, dtype, expression).
    pub(super) fn reductions(&self) -> Vec<(usize, ReduceKind, DType, ExprId)> {
        self.k
            .outputs
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.reduce.map(|r| (i, r, o.dtype, o.expr)))
            .collect()
    }

    /// Identity accumulators: `copies` packets (or one scalar) per output.
    pub(super) fn identities(
        &self,
        b: &mut FunctionBuilder,
        copies: usize,
        vector: bool,
    ) -> Vec<Pk> {
        let mut accs = Vec::new();
        for (_, kind, dt, _) in self.reductions() {
            for _ in 0..copies {
                accs.push(const_value(b, dt, reduce_identity(kind, dt), vector));
            }
        }
        accs
    }

    /// `acc[r * copies + c] = acc op value` for every reduction at the
    /// points `envs[c]`.
    pub(super) fn accumulate(
        &self,
        b: &mut FunctionBuilder,
        envs: &[Env],
        accs: &mut [Pk],
        vector: bool,
    ) {
        let copies = envs.len();
        for (r, (_, kind, dt, expr)) in self.reductions().into_iter().enumerate() {
            for (c, env) in envs.iter().enumerate() {
                let x = self.value(b, env, expr, vector);
                let a = &mut accs[r * copies + c];
                *a = reduce_step(b, kind, dt, a, &x);
            }
        }
    }

    pub(super) fn row_nest(
        &self,
        b: &mut FunctionBuilder,
        env: Env,
        ranges: &[Option<(Value, Value)>],
        chunk: Option<Value>,
    ) {
        let (k, p) = (self.k, self.p);
        let kept: Vec<usize> = p.order.iter().copied().filter(|&d| !k.dims[d].reduced).collect();
        let red_outer: Vec<usize> = p
            .order
            .iter()
            .copied()
            .filter(|&d| k.dims[d].reduced && Some(d) != p.vector_dim)
            .collect();
        let mut envs = [env];
        let (kframes, _) = self.open_dims(b, &kept, ranges, None, &mut envs, Vec::new());
        let vector = p.vector_dim.and_then(|v| ranges[v]).is_some();
        let a = if vector { p.accs } else { 0 };
        let n_red = self.reductions().len();
        // Layout: per reduction, `a` packets then one scalar.
        let mut init = Vec::new();
        let vec_ids = self.identities(b, a, true);
        let sc_ids = self.identities(b, 1, false);
        for r in 0..n_red {
            init.extend_from_slice(&vec_ids[r * a..(r + 1) * a]);
            init.push(sc_ids[r].clone());
        }
        let template = init.clone();
        let (rframes, carried) =
            self.open_dims(b, &red_outer, ranges, None, &mut envs, flatten(&init));
        let [env] = envs;
        let mut accs = unflatten(&template, &carried);
        let split = |accs: &[Pk]| -> (Vec<Pk>, Vec<Pk>) {
            let mut vs = Vec::new();
            let mut ss = Vec::new();
            for r in 0..n_red {
                vs.extend_from_slice(&accs[r * (a + 1)..r * (a + 1) + a]);
                ss.push(accs[r * (a + 1) + a].clone());
            }
            (vs, ss)
        };
        let join = |vs: &[Pk], ss: &[Pk]| -> Vec<Pk> {
            let mut out = Vec::new();
            for r in 0..n_red {
                out.extend_from_slice(&vs[r * a..(r + 1) * a]);
                out.push(ss[r].clone());
            }
            out
        };
        match p.vector_dim.and_then(|v| ranges[v].map(|r| (v, r))) {
            None => {
                let (vs, mut ss) = split(&accs);
                self.accumulate(b, std::slice::from_ref(&env), &mut ss, false);
                self.store_elementwise(b, &env);
                accs = join(&vs, &ss);
            }
            Some((v, (lo, hi))) => {
                let var = k.dims[v].var;
                let (vend_a, exact_a) = self.steps_end(b, v, lo, hi, a * LANES);
                // Unrolled: `a` packets per iteration, one accumulator each.
                let out = self.vector_loop(
                    b,
                    &env,
                    var,
                    (lo, vend_a),
                    a * LANES,
                    &flatten(&accs),
                    &mut |b, i, at, inside| {
                        let cur = unflatten(&template, inside);
                        let (mut vs, ss) = split(&cur);
                        let copies: Vec<Env> = (0..a)
                            .map(|c| {
                                let mut e = at.clone();
                                e.vars[var as usize] =
                                    Some(b.ins().iadd_imm_s(i, (c * LANES) as i64));
                                e.vec = Some(var);
                                self.materialize(b, &mut e);
                                e
                            })
                            .collect();
                        self.accumulate(b, &copies, &mut vs, true);
                        for e in &copies {
                            self.store_elementwise(b, e);
                        }
                        flatten(&join(&vs, &ss))
                    },
                );
                accs = unflatten(&template, &out);
                let mut vend = vend_a;
                let mut exact = exact_a;
                if a > 1 && !exact_a {
                    // Whole packets left: into accumulator 0.
                    (vend, exact) = self.steps_end(b, v, vend_a, hi, LANES);
                    let (f, i, inside) = open_loop(b, vend_a, vend, LANES as i64, &flatten(&accs));
                    let cur = unflatten(&template, &inside);
                    let (mut vs, ss) = split(&cur);
                    let mut e = env.clone();
                    e.vars[var as usize] = Some(i);
                    e.vec = Some(var);
                    self.materialize(b, &mut e);
                    let mut firsts: Vec<Pk> = (0..n_red).map(|r| vs[r * a].clone()).collect();
                    self.accumulate(b, std::slice::from_ref(&e), &mut firsts, true);
                    for (r, x) in firsts.into_iter().enumerate() {
                        vs[r * a] = x;
                    }
                    self.store_elementwise(b, &e);
                    let out = close_loop(b, f, i, &flatten(&join(&vs, &ss)));
                    accs = unflatten(&template, &out);
                }
                if !exact {
                    // Scalar tail.
                    let (f, i, inside) = open_loop(b, vend, hi, 1, &flatten(&accs));
                    let cur = unflatten(&template, &inside);
                    let (vs, mut ss) = split(&cur);
                    let mut e = env.clone();
                    e.vars[var as usize] = Some(i);
                    self.materialize(b, &mut e);
                    self.accumulate(b, std::slice::from_ref(&e), &mut ss, false);
                    self.store_elementwise(b, &e);
                    let out = close_loop(b, f, i, &flatten(&join(&vs, &ss)));
                    accs = unflatten(&template, &out);
                }
            }
        }
        let out = self.close_dims(b, rframes, flatten(&accs));
        let accs = unflatten(&template, &out);
        let (vs, ss) = split(&accs);
        for (r, (o, kind, dt, _)) in self.reductions().into_iter().enumerate() {
            let total = if a == 0 {
                ss[r].clone()
            } else {
                let h = self.combine(b, kind, dt, &vs[r * a..(r + 1) * a]);
                reduce_step(b, kind, dt, &Pk::S(h), &ss[r])
            };
            self.store_result(b, &env, o, r, &total, chunk);
        }
        self.close_dims(b, kframes, Vec::new());
    }

    /// Folds vector accumulators in a fixed order (pairwise tree, then the
    /// lanes by halves) to one scalar.
    pub(super) fn combine(
        &self,
        b: &mut FunctionBuilder,
        kind: ReduceKind,
        dt: DType,
        accs: &[Pk],
    ) -> Value {
        let mut level: Vec<Pk> = accs.to_vec();
        while level.len() > 1 {
            level = level.chunks(2).map(|c| reduce_step(b, kind, dt, &c[0], &c[1])).collect();
        }
        let v = level[0].clone();
        match v.parts() {
            [x] => {
                let ty = b.func.dfg.value_type(*x);
                let hi = shuffle32(b, ty, *x, *x, [2, 3, 2, 3]);
                let h = reduce_step(b, kind, dt, &v, &Pk::V(smallvec::smallvec![hi]));
                let h1 = h.parts()[0];
                let odd = shuffle32(b, ty, h1, h1, [1, 1, 1, 1]);
                let g = reduce_step(b, kind, dt, &h, &Pk::V(smallvec::smallvec![odd]));
                b.ins().extractlane(g.parts()[0], 0)
            }
            [x, y] => {
                let q = reduce_step(
                    b,
                    kind,
                    dt,
                    &Pk::V(smallvec::smallvec![*x]),
                    &Pk::V(smallvec::smallvec![*y]),
                );
                let l0 = b.ins().extractlane(q.parts()[0], 0);
                let l1 = b.ins().extractlane(q.parts()[0], 1);
                reduce_step(b, kind, dt, &Pk::S(l0), &Pk::S(l1)).scalar()
            }
            _ => v.scalar(),
        }
    }

    /// Stores reduction `r` (output `o`): to the output, or to its scratch
    /// buffer as the partial of chunk `chunk`.
    pub(super) fn store_result(
        &self,
        b: &mut FunctionBuilder,
        env: &Env,
        o: usize,
        r: usize,
        v: &Pk,
        chunk: Option<Value>,
    ) {
        let out = &self.k.outputs[o];
        match (chunk, self.p.chunks) {
            (Some(c), n) if n > 1 => {
                self.store_at(b, env, self.ptrs.scratch[r], out.dtype, out.offset, v, Some((c, n)))
            }
            _ => self.store_at(b, env, self.ptrs.outputs[o], out.dtype, out.offset, v, None),
        }
    }

    pub(super) fn col_nest(
        &self,
        b: &mut FunctionBuilder,
        env: Env,
        ranges: &[Option<(Value, Value)>],
        chunk: Option<Value>,
    ) {
        let (k, p) = (self.k, self.p);
        let Some(v) = p.vector_dim else {
            return self.fail("column reduction without a vector dim");
        };
        let var = k.dims[v].var;
        let kept: Vec<usize> =
            p.order.iter().copied().filter(|&d| !k.dims[d].reduced && d != v).collect();
        let reduced: Vec<usize> = p.order.iter().copied().filter(|&d| k.dims[d].reduced).collect();
        let mut envs = [env];
        let (kframes, _) = self.open_dims(b, &kept, ranges, None, &mut envs, Vec::new());
        let [env] = envs;
        let (lo, hi) = match ranges[v] {
            Some(r) => r,
            None => {
                let lo = env.vars[var as usize].unwrap_or_else(|| packet::iconst(b, types::I64, 0));
                (lo, b.ins().iadd_imm_s(lo, 1))
            }
        };
        let a = p.accs;
        let mut start = lo;
        let mut groups = vec![a];
        if a > 1 {
            groups.push(1);
        }
        for copies in groups {
            let step = (copies * LANES) as i64;
            let gend = whole_steps_end(b, start, hi, step);
            let (f, j, _) = open_loop(b, start, gend, step, &[]);
            let mut lanes_envs: Vec<Env> = (0..copies)
                .map(|c| {
                    let mut e = env.clone();
                    e.vars[var as usize] = Some(b.ins().iadd_imm_s(j, (c * LANES) as i64));
                    e.vec = Some(var);
                    self.materialize(b, &mut e);
                    e
                })
                .collect();
            self.column_group(b, &env, &mut lanes_envs, &reduced, ranges, true, chunk);
            close_loop(b, f, j, &[]);
            start = gend;
        }
        let (f, j, _) = open_loop(b, start, hi, 1, &[]);
        let mut e = env.clone();
        e.vars[var as usize] = Some(j);
        self.materialize(b, &mut e);
        let mut single = vec![e];
        self.column_group(b, &env, &mut single, &reduced, ranges, false, chunk);
        close_loop(b, f, j, &[]);
        self.close_dims(b, kframes, Vec::new());
    }

    /// One group of columns (`envs`: one env per packet, or one scalar
    /// env): accumulate over every reduced dim, then store.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn column_group(
        &self,
        b: &mut FunctionBuilder,
        outer: &Env,
        envs: &mut [Env],
        reduced: &[usize],
        ranges: &[Option<(Value, Value)>],
        vector: bool,
        chunk: Option<Value>,
    ) {
        let copies = envs.len();
        let init = self.identities(b, copies, vector);
        let mut shared = outer.clone();
        let (frames, carried) =
            self.open_dims(b, reduced, ranges, Some(&mut shared), envs, flatten(&init));
        let mut accs = unflatten(&init, &carried);
        self.accumulate(b, envs, &mut accs, vector);
        for e in envs.iter() {
            self.store_elementwise(b, e);
        }
        let out = self.close_dims(b, frames, flatten(&accs));
        let accs = unflatten(&init, &out);
        for (r, (o, _, _, _)) in self.reductions().into_iter().enumerate() {
            for (c, e) in envs.iter().enumerate() {
                self.store_result(b, e, o, r, &accs[r * copies + c], chunk);
            }
        }
    }

    /// Reductions over nothing: every output element is the identity.
    pub(super) fn fill_identity(&self, b: &mut FunctionBuilder, start: Value, end: Value) {
        let total = self.k.kept_size as i64;
        let (f, u, _) = open_loop(b, start, end, 1, &[]);
        let lo = b.ins().imul_imm_s(u, UNIT_TARGET as i64);
        let hi = b.ins().iadd_imm_s(lo, UNIT_TARGET as i64);
        let n = packet::iconst(b, types::I64, total);
        let hi = b.ins().umin(hi, n);
        let (g, o, _) = open_loop(b, lo, hi, 1, &[]);
        for (out, kind, dt, _) in self.reductions() {
            let id = const_scalar(b, dt, reduce_identity(kind, dt));
            let addr = elem_addr(b, self.ptrs.outputs[out], o, dt.size_bytes() as i64);
            store_scalar(b, id, addr);
        }
        close_loop(b, g, o, &[]);
        close_loop(b, f, u, &[]);
    }

    /// The body of `finish(bufs, 0, 1)`: folds each output's partials in
    /// chunk order.
    pub(crate) fn finish_body(&self, b: &mut FunctionBuilder) {
        let chunks = self.p.chunks as i64;
        let zero = packet::iconst(b, types::I64, 0);
        let outs = packet::iconst(b, types::I64, self.k.kept_size as i64);
        let (f, o, _) = open_loop(b, zero, outs, 1, &[]);
        let first = b.ins().imul_imm_s(o, chunks);
        for (r, (out, kind, dt, _)) in self.reductions().into_iter().enumerate() {
            let size = dt.size_bytes() as i64;
            let scratch = self.ptrs.scratch[r];
            let addr = elem_addr(b, scratch, first, size);
            let acc0 = load_scalar(b, dt, addr);
            let one = b.ins().iadd_imm_s(first, 1);
            let end = b.ins().iadd_imm_s(first, chunks);
            let (g, c, inside) = open_loop(b, one, end, 1, &[acc0]);
            let addr = elem_addr(b, scratch, c, size);
            let x = load_scalar(b, dt, addr);
            let acc = reduce_step(b, kind, dt, &Pk::S(inside[0]), &Pk::S(x));
            let acc = close_loop(b, g, c, &[acc.scalar()]);
            let addr = elem_addr(b, self.ptrs.outputs[out], o, size);
            store_scalar(b, acc[0], addr);
        }
        close_loop(b, f, o, &[]);
    }
}
