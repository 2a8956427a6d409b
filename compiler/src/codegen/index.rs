//! Integer index expressions over the iteration variables of a kernel.
//!
//! Every element a kernel reads is addressed by an expression in the loop
//! variables: transposes, slices, reverses and broadcasts keep it affine;
//! reshapes may add floor divisions and remainders by constants. An
//! expression is a [`Lin`]: a constant plus a sum of `coefficient × atom`,
//! where an atom is a variable or a division / remainder of an earlier
//! expression. Expressions are hash-consed in an [`IndexArena`] and only
//! ever refer to earlier entries, so every walk is a loop in id order.
//!
//! Each construction simplifies with interval arithmetic on the variable
//! ranges (`(4a + b) / 4 == a` when `0 <= b < 4`; `x % m == x` when
//! `0 <= x < m`), so the splits and merges of reshapes of contiguous data
//! stay affine and the generated code does no division.
//!
//! Divisions and remainders are only ever built over values that are
//! non-negative at run time (row-major linear indices), so they lower to
//! unsigned division by a constant.

use std::collections::HashMap;

use smallvec::SmallVec;

/// Handle of an expression in an [`IndexArena`].
pub(crate) type LinId = u32;

/// A factor of a term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Atom {
    /// Iteration variable number `v`.
    Var(u32),
    /// `floor(e / d)`, `d > 1`.
    Div(LinId, i64),
    /// `e mod m`, `m > 1`.
    Mod(LinId, i64),
}

/// `off + Σ coef × atom`, terms sorted by atom, no zero coefficient.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Lin {
    pub off: i64,
    pub terms: SmallVec<[(Atom, i64); 4]>,
}

/// Arithmetic left the range of i64 (only for absurd shapes).
#[derive(Debug)]
pub(crate) struct IndexOverflow;

type R<T> = Result<T, IndexOverflow>;

/// Hash-consed index expressions with their value ranges.
#[derive(Clone, Debug)]
pub(crate) struct IndexArena {
    lins: Vec<Lin>,
    ranges: Vec<(i128, i128)>,
    /// Variables anywhere in the expression, as a bit set.
    vars: Vec<u64>,
    /// Variables inside a division or remainder.
    deep_vars: Vec<u64>,
    dedup: HashMap<Lin, LinId>,
    extents: Vec<u64>,
}

impl IndexArena {
    /// An arena for variables `0..extents.len()` ranging over
    /// `0..extents[v]`.
    pub fn new(extents: Vec<u64>) -> IndexArena {
        IndexArena {
            lins: Vec::new(),
            ranges: Vec::new(),
            vars: Vec::new(),
            deep_vars: Vec::new(),
            dedup: HashMap::new(),
            extents,
        }
    }

    pub fn lin(&self, id: LinId) -> &Lin {
        &self.lins[id as usize]
    }

    pub fn len(&self) -> usize {
        self.lins.len()
    }

    /// Inclusive range of values.
    pub fn range(&self, id: LinId) -> (i128, i128) {
        self.ranges[id as usize]
    }

    /// Bit set of the variables the expression depends on.
    pub fn vars(&self, id: LinId) -> u64 {
        self.vars[id as usize]
    }

    /// Bit set of the variables that occur inside a division or remainder.
    pub fn deep_vars(&self, id: LinId) -> u64 {
        self.deep_vars[id as usize]
    }

    /// The coefficient of variable `v` as a top-level term (0 if absent).
    pub fn coef(&self, id: LinId, v: u32) -> i64 {
        self.lin(id).terms.iter().find(|(a, _)| *a == Atom::Var(v)).map_or(0, |&(_, c)| c)
    }

    pub fn constant(&mut self, c: i64) -> LinId {
        self.intern(Lin { off: c, terms: SmallVec::new() })
    }

    /// Variable `v` (the constant 0 when its extent is at most 1).
    pub fn var(&mut self, v: u32) -> LinId {
        if self.extents[v as usize] <= 1 {
            return self.constant(0);
        }
        self.intern(Lin { off: 0, terms: smallvec::smallvec![(Atom::Var(v), 1)] })
    }

    /// `off + Σ k × e` over `parts`.
    pub fn combine(&mut self, parts: &[(LinId, i64)], off: i64) -> R<LinId> {
        let mut acc: Vec<(Atom, i64)> = Vec::new();
        let mut total = off;
        for &(id, k) in parts {
            if k == 0 {
                continue;
            }
            let l = &self.lins[id as usize];
            total = l.off.checked_mul(k).and_then(|x| x.checked_add(total)).ok_or(IndexOverflow)?;
            for &(a, c) in &l.terms {
                acc.push((a, c.checked_mul(k).ok_or(IndexOverflow)?));
            }
        }
        self.build(total, acc)
    }

    /// `a + b`.
    pub fn add(&mut self, a: LinId, b: LinId) -> R<LinId> {
        self.combine(&[(a, 1), (b, 1)], 0)
    }

    /// `floor(e / d)` for `d >= 1`, simplified.
    pub fn div(&mut self, e: LinId, d: i64) -> R<LinId> {
        if d <= 1 {
            return Ok(e);
        }
        let (lo, hi) = self.range(e);
        if lo >= 0 && hi < i128::from(d) {
            return Ok(self.constant(0));
        }
        // Try g = d, then the common factors of d with each coefficient:
        // e = g*q + r with 0 <= r < g gives floor(e / d) = floor(q / (d/g)).
        for g in self.candidate_factors(e, d) {
            if let Some((q, r)) = self.split(e, g)? {
                let (rlo, rhi) = self.range(r);
                if rlo >= 0 && rhi < i128::from(g) {
                    return self.div(q, d / g);
                }
                if g == d && rlo >= 0 {
                    // floor((d*q + r) / d) = q + floor(r / d) for r >= 0.
                    let rd = self.atom(Atom::Div(r, d))?;
                    return self.add(q, rd);
                }
            }
        }
        // floor(floor(x / a) / d) = floor(x / (a*d)).
        let l = self.lin(e).clone();
        if l.off == 0 && l.terms.len() == 1 && l.terms[0].1 == 1 {
            if let Atom::Div(x, a) = l.terms[0].0 {
                if let Some(ad) = a.checked_mul(d) {
                    return self.div(x, ad);
                }
            }
        }
        self.atom(Atom::Div(e, d))
    }

    /// `e mod m` for `m >= 1`, simplified.
    pub fn rem(&mut self, e: LinId, m: i64) -> R<LinId> {
        if m <= 1 {
            return Ok(self.constant(0));
        }
        let (lo, hi) = self.range(e);
        if lo >= 0 && hi < i128::from(m) {
            return Ok(e);
        }
        for g in self.candidate_factors(e, m) {
            if let Some((q, r)) = self.split(e, g)? {
                let (rlo, rhi) = self.range(r);
                if g == m && rlo >= 0 {
                    // (m*q + r) mod m = r mod m.
                    if rhi < i128::from(m) {
                        return Ok(r);
                    }
                    return self.atom(Atom::Mod(r, m));
                }
                if rlo >= 0 && rhi < i128::from(g) {
                    // (g*q + r) mod m = g*(q mod m/g) + r when g | m, 0 <= r < g.
                    let qm = self.rem(q, m / g)?;
                    return self.combine(&[(qm, g), (r, 1)], 0);
                }
            }
        }
        self.atom(Atom::Mod(e, m))
    }

    /// The divisors worth trying for `e / d`: `d` itself, then
    /// `gcd(d, c)` for each coefficient `c`, largest first.
    fn candidate_factors(&self, e: LinId, d: i64) -> Vec<i64> {
        let mut gs: Vec<i64> = vec![d];
        for &(_, c) in &self.lin(e).terms {
            let g = gcd(d, c.unsigned_abs() as i64);
            if g > 1 && !gs.contains(&g) {
                gs.push(g);
            }
        }
        gs[1..].sort_unstable_by(|a, b| b.cmp(a));
        gs
    }

    /// `e = g*q + r` where `q` collects the terms whose coefficient `g`
    /// divides (and the multiple of `g` in the offset), `r` the rest.
    fn split(&mut self, e: LinId, g: i64) -> R<Option<(LinId, LinId)>> {
        let l = self.lin(e).clone();
        let (mut qt, mut rt) = (Vec::new(), Vec::new());
        for &(a, c) in &l.terms {
            if c % g == 0 {
                qt.push((a, c / g));
            } else {
                rt.push((a, c));
            }
        }
        if qt.is_empty() && l.off.div_euclid(g) == 0 {
            return Ok(None);
        }
        let q = self.build(l.off.div_euclid(g), qt)?;
        let r = self.build(l.off.rem_euclid(g), rt)?;
        Ok(Some((q, r)))
    }

    fn atom(&mut self, a: Atom) -> R<LinId> {
        self.build(0, vec![(a, 1)])
    }

    /// Canonicalises (sort, merge equal atoms, drop zeros) and interns.
    fn build(&mut self, off: i64, mut terms: Vec<(Atom, i64)>) -> R<LinId> {
        terms.sort_by_key(|t| t.0);
        let mut merged: SmallVec<[(Atom, i64); 4]> = SmallVec::new();
        for (a, c) in terms {
            if let Atom::Var(v) = a {
                if self.extents[v as usize] <= 1 {
                    continue;
                }
            }
            match merged.last_mut() {
                Some((la, lc)) if *la == a => *lc = lc.checked_add(c).ok_or(IndexOverflow)?,
                _ => merged.push((a, c)),
            }
        }
        merged.retain(|t| t.1 != 0);
        Ok(self.intern(Lin { off, terms: merged }))
    }

    fn intern(&mut self, l: Lin) -> LinId {
        if let Some(&id) = self.dedup.get(&l) {
            return id;
        }
        let (mut lo, mut hi) = (i128::from(l.off), i128::from(l.off));
        let (mut vars, mut deep) = (0u64, 0u64);
        for &(a, c) in &l.terms {
            let (alo, ahi) = match a {
                Atom::Var(v) => {
                    vars |= 1u64 << v;
                    (0, i128::from(self.extents[v as usize].saturating_sub(1)))
                }
                Atom::Div(x, d) => {
                    let (xlo, xhi) = self.ranges[x as usize];
                    vars |= self.vars[x as usize];
                    deep |= self.vars[x as usize];
                    (xlo.div_euclid(i128::from(d)), xhi.div_euclid(i128::from(d)))
                }
                Atom::Mod(x, m) => {
                    vars |= self.vars[x as usize];
                    deep |= self.vars[x as usize];
                    (0, i128::from(m - 1))
                }
            };
            let c = i128::from(c);
            let (p, q) = (alo.saturating_mul(c), ahi.saturating_mul(c));
            lo = lo.saturating_add(p.min(q));
            hi = hi.saturating_add(p.max(q));
        }
        let id = self.lins.len() as LinId;
        self.lins.push(l.clone());
        self.ranges.push((lo, hi));
        self.vars.push(vars);
        self.deep_vars.push(deep);
        self.dedup.insert(l, id);
        id
    }

    /// Rebuilds the expressions `roots` need in a new arena with new
    /// extents, replacing variable `v` by `subst[v]` (an expression in the
    /// new arena). Returns the new arena and the new id of every old id
    /// that was needed (others map to `None`).
    pub fn rebuild(
        &self,
        extents: Vec<u64>,
        roots: &[LinId],
        subst: &dyn Fn(&mut IndexArena, u32) -> R<LinId>,
    ) -> R<(IndexArena, Vec<Option<LinId>>)> {
        let live = self.live(roots);
        let mut out = IndexArena::new(extents);
        let mut map: Vec<Option<LinId>> = vec![None; self.lins.len()];
        for id in 0..self.lins.len() {
            if !live[id] {
                continue;
            }
            let l = &self.lins[id];
            let mut parts: Vec<(LinId, i64)> = Vec::with_capacity(l.terms.len());
            for &(a, c) in &l.terms {
                let e = match a {
                    Atom::Var(v) => subst(&mut out, v)?,
                    Atom::Div(x, d) => {
                        let x = map[x as usize].ok_or(IndexOverflow)?;
                        out.div(x, d)?
                    }
                    Atom::Mod(x, m) => {
                        let x = map[x as usize].ok_or(IndexOverflow)?;
                        out.rem(x, m)?
                    }
                };
                parts.push((e, c));
            }
            map[id] = Some(out.combine(&parts, l.off)?);
        }
        Ok((out, map))
    }

    /// Which expressions `roots` depend on (themselves included).
    pub fn live(&self, roots: &[LinId]) -> Vec<bool> {
        let mut live = vec![false; self.lins.len()];
        for &r in roots {
            live[r as usize] = true;
        }
        for id in (0..self.lins.len()).rev() {
            if !live[id] {
                continue;
            }
            for &(a, _) in &self.lins[id].terms {
                if let Atom::Div(x, _) | Atom::Mod(x, _) = a {
                    live[x as usize] = true;
                }
            }
        }
        live
    }
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_split_and_merge_stay_affine() {
        // [2,3,4] viewed as [6,4]: L = 4*c0 + c1; operand coords.
        let mut a = IndexArena::new(vec![6, 4]);
        let (c0, c1) = (a.var(0), a.var(1));
        let l = a.combine(&[(c0, 4), (c1, 1)], 0).unwrap();
        let d = a.div(l, 4).unwrap();
        assert_eq!(d, c0);
        let m = a.rem(l, 4).unwrap();
        assert_eq!(m, c1);
        // floor((4*c0 + c1) / 12) = floor(c0 / 3): a real division of c0.
        let k0 = a.div(l, 12).unwrap();
        assert_eq!(a.lin(k0).terms[0].0, Atom::Div(c0, 3));
        // ((4*c0 + c1) / 4) mod 3 = c0 mod 3.
        let k1 = a.div(l, 4).unwrap();
        let k1 = a.rem(k1, 3).unwrap();
        assert_eq!(a.lin(k1).terms[0].0, Atom::Mod(c0, 3));
    }

    #[test]
    fn ranges_and_size_one_vars() {
        let mut a = IndexArena::new(vec![5, 1, 7]);
        let v1 = a.var(1);
        assert_eq!(a.lin(v1).terms.len(), 0);
        let v0 = a.var(0);
        let v2 = a.var(2);
        let e = a.combine(&[(v0, 7), (v2, 1)], 0).unwrap();
        assert_eq!(a.range(e), (0, 34));
        let r = a.rem(e, 7).unwrap();
        assert_eq!(r, v2);
        let q = a.div(e, 7).unwrap();
        assert_eq!(q, v0);
        let x = a.rem(e, 35).unwrap();
        assert_eq!(x, e);
    }
}
