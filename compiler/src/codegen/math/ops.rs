//! Typed CLIF helpers shared by the math kernels.
//!
//! A kernel is written once against [`Ctx`] and works for the four float
//! types (F32, F64, F32X4, F64X2): constants are splatted, masks are the
//! native compare results (an `i8` for scalars, an all-ones lane mask for
//! vectors), selects become `select` or `bitselect`, and integer tricks use
//! the integer type of the same layout (I32, I64, I32X4, I64X2).
//!
//! Helpers pick the instruction shapes that Cranelift 0.135 pattern-matches
//! into single x86 instructions (see `../shared/notes/cranelift.md`): the
//! pmin/pmax idiom for clamps, `bitselect` on compare masks, `fma`.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// A compare result usable by [`Ctx::select`]: `i8` for scalars, a lane
/// mask of the integer vector type for vectors.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mask(pub Value);

/// Emission context: the builder plus the float type being computed.
pub(crate) struct Ctx<'a, 'b> {
    pub b: &'a mut FunctionBuilder<'b>,
    /// The float type (F32, F64, F32X4 or F64X2).
    pub ty: Type,
    /// The integer type with the same layout (I32, I64, I32X4 or I64X2).
    pub ity: Type,
}

/// Format facts of the lane type, as plain numbers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Format {
    /// Mantissa bits without the implicit bit: 23 or 52.
    pub mant: u32,
    /// Exponent bias: 127 or 1023.
    pub bias: i64,
    /// Total bits: 32 or 64.
    pub bits: u32,
}

impl<'a, 'b> Ctx<'a, 'b> {
    pub fn new(b: &'a mut FunctionBuilder<'b>, ty: Type) -> Self {
        let ity = match ty {
            types::F32 => types::I32,
            types::F64 => types::I64,
            types::F32X4 => types::I32X4,
            types::F64X2 => types::I64X2,
            other => {
                panic!("math::emit: unsupported type {other} (expected f32, f64, f32x4, f64x2)")
            }
        };
        Ctx { b, ty, ity }
    }

    pub fn is_f32(&self) -> bool {
        self.ty.lane_type() == types::F32
    }

    pub fn is_vector(&self) -> bool {
        self.ty.is_vector()
    }

    pub fn format(&self) -> Format {
        if self.is_f32() {
            Format { mant: 23, bias: 127, bits: 32 }
        } else {
            Format { mant: 52, bias: 1023, bits: 64 }
        }
    }

    /// Picks the f32 or the f64 value of a constant.
    pub fn pick(&self, c32: f32, c64: f64) -> f64 {
        if self.is_f32() {
            c32 as f64
        } else {
            c64
        }
    }

    // ---- constants -------------------------------------------------------

    /// A float constant (rounded to f32 for f32 types), splatted for vectors.
    pub fn f(&mut self, c: f64) -> Value {
        let s =
            if self.is_f32() { self.b.ins().f32const(c as f32) } else { self.b.ins().f64const(c) };
        self.splat(s)
    }

    /// A float constant given by its bit pattern.
    pub fn fbits(&mut self, bits: u64) -> Value {
        let c =
            if self.is_f32() { f32::from_bits(bits as u32) as f64 } else { f64::from_bits(bits) };
        // NaN payloads survive f32 -> f64 -> f32 only for quiet NaNs; we only use quiet ones.
        self.f(c)
    }

    /// An integer constant of the integer type, splatted for vectors.
    pub fn i(&mut self, c: i64) -> Value {
        let lane = self.ity.lane_type();
        let s = self.b.ins().iconst(lane, if lane == types::I32 { c as i32 as i64 } else { c });
        self.splat(s)
    }

    fn splat(&mut self, s: Value) -> Value {
        if self.is_vector() {
            let ty = self.b.func.dfg.value_type(s);
            let vty = if ty.is_int() { self.ity } else { self.ty };
            self.b.ins().splat(vty, s)
        } else {
            s
        }
    }

    // ---- float arithmetic ------------------------------------------------

    pub fn add(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fadd(a, b)
    }
    pub fn sub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fsub(a, b)
    }
    pub fn mul(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fmul(a, b)
    }
    pub fn div(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fdiv(a, b)
    }
    /// `a * b + c` with one rounding.
    pub fn fma(&mut self, a: Value, b: Value, c: Value) -> Value {
        self.b.ins().fma(a, b, c)
    }
    pub fn trunc(&mut self, a: Value) -> Value {
        self.b.ins().trunc(a)
    }

    /// `|a|` by clearing the sign bit.
    pub fn abs(&mut self, a: Value) -> Value {
        let m = self.fbits(self.abs_mask());
        self.b.ins().band(a, m)
    }

    /// The sign bit of `a` alone (as a float bit pattern).
    pub fn sign_of(&mut self, a: Value) -> Value {
        let m = self.fbits(self.sign_mask());
        self.b.ins().band(a, m)
    }

    /// `mag` with the sign bits of `sign` ORed in. Equals copysign when `mag`
    /// is non-negative. (Vector `fcopysign` is not lowered by Cranelift.)
    pub fn or_sign(&mut self, mag: Value, sign: Value) -> Value {
        let s = self.sign_of(sign);
        self.b.ins().bor(mag, s)
    }

    /// `a` with its sign flipped where `flip` holds a sign bit.
    pub fn xor(&mut self, a: Value, flip: Value) -> Value {
        self.b.ins().bxor(a, flip)
    }

    /// Horner's rule with fused multiply-adds: `c[0] + t c[1] + t^2 c[2] + ...`.
    pub fn horner(&mut self, t: Value, c: &[f64]) -> Value {
        let (last, rest) = c.split_last().expect("empty polynomial");
        let mut acc = self.f(*last);
        for &k in rest.iter().rev() {
            let kk = self.f(k);
            acc = self.fma(acc, t, kk);
        }
        acc
    }

    /// `c[0] + t c[1] + t^2 c[2] + ...` as a Horner scheme in `t2 = t^2`
    /// over the pairs `c[2k] + t c[2k+1]` (the pairs are independent FMAs):
    /// about half the dependent steps of [`Ctx::horner`], for lower latency.
    pub fn horner_pairs(&mut self, t: Value, t2: Value, c: &[f64]) -> Value {
        let mut pairs = Vec::with_capacity(c.len().div_ceil(2));
        for ch in c.chunks(2) {
            let lo = self.f(ch[0]);
            pairs.push(match ch.get(1) {
                Some(&hi) => {
                    let hi = self.f(hi);
                    self.fma(hi, t, lo)
                }
                None => lo,
            });
        }
        let (mut acc, rest) = pairs.split_last().map(|(l, r)| (*l, r)).expect("empty polynomial");
        for &p in rest.iter().rev() {
            acc = self.fma(acc, t2, p);
        }
        acc
    }

    pub fn sign_mask(&self) -> u64 {
        1u64 << (self.format().bits - 1)
    }
    pub fn abs_mask(&self) -> u64 {
        self.sign_mask() - 1
    }

    // ---- compares, selects, clamps ---------------------------------------

    pub fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Mask {
        Mask(self.b.ins().fcmp(cc, a, b))
    }

    pub fn and(&mut self, a: Mask, b: Mask) -> Mask {
        Mask(self.b.ins().band(a.0, b.0))
    }
    pub fn or(&mut self, a: Mask, b: Mask) -> Mask {
        Mask(self.b.ins().bor(a.0, b.0))
    }

    /// `m ? a : b`, lane-wise. `a` and `b` may be float or integer values.
    pub fn select(&mut self, m: Mask, a: Value, b: Value) -> Value {
        if self.is_vector() {
            let vty = self.b.func.dfg.value_type(a);
            let c = self.cast(vty, m.0);
            self.b.ins().bitselect(c, a, b)
        } else {
            self.b.ins().select(m.0, a, b)
        }
    }

    /// `a < b ? a : b`: one `minps`/`minss`. Returns `b` when either is NaN,
    /// so put the value whose NaN must survive second.
    pub fn pmin(&mut self, a: Value, b: Value) -> Value {
        let m = self.fcmp(FloatCC::LessThan, a, b);
        self.select(m, a, b)
    }

    /// `b < a ? a : b`: one `maxps`/`maxss`. Returns `b` when either is NaN.
    pub fn pmax(&mut self, a: Value, b: Value) -> Value {
        let m = self.fcmp(FloatCC::LessThan, b, a);
        self.select(m, a, b)
    }

    /// `x` clamped to `[lo, hi]`; NaN stays NaN.
    pub fn clamp(&mut self, x: Value, lo: f64, hi: f64) -> Value {
        let h = self.f(hi);
        let x = self.pmin(h, x);
        let l = self.f(lo);
        self.pmax(l, x)
    }

    /// True in lanes where any lane of `m` holds (scalar: the mask itself),
    /// as an `i8` usable by `brif`.
    pub fn any(&mut self, m: Mask) -> Value {
        if self.is_vector() {
            self.b.ins().vany_true(m.0)
        } else {
            m.0
        }
    }

    /// `fast` when `ok` holds in every lane; otherwise the value `slow`
    /// builds, in a cold block (for rare inputs: the hot path pays one
    /// test and branch). Afterwards the builder is in the merge block.
    pub fn unless_all(
        &mut self,
        ok: Mask,
        fast: Value,
        slow: impl FnOnce(&mut Ctx) -> Value,
    ) -> Value {
        let all = if self.is_vector() { self.b.ins().vall_true(ok.0) } else { ok.0 };
        let cold = self.b.create_block();
        let merge = self.b.create_block();
        let ty = self.b.func.dfg.value_type(fast);
        let res = self.b.append_block_param(merge, ty);
        self.b.set_cold_block(cold);
        self.b.ins().brif(all, merge, &[fast.into()], cold, &[]);
        self.b.seal_block(cold);
        self.b.switch_to_block(cold);
        let v = slow(self);
        self.b.ins().jump(merge, &[v.into()]);
        self.b.seal_block(merge);
        self.b.switch_to_block(merge);
        res
    }

    // ---- integer views ---------------------------------------------------

    /// Reinterprets `v` as `ty` (same lane count: no byte order needed).
    pub fn cast(&mut self, ty: Type, v: Value) -> Value {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            self.b.ins().bitcast(ty, MemFlagsData::new(), v)
        }
    }
    /// The bits of a float value as the integer type.
    pub fn bits(&mut self, v: Value) -> Value {
        let ity = self.ity;
        self.cast(ity, v)
    }
    /// An integer bit pattern as the float type.
    pub fn float(&mut self, v: Value) -> Value {
        let ty = self.ty;
        self.cast(ty, v)
    }

    pub fn iadd_imm(&mut self, a: Value, c: i64) -> Value {
        let k = self.i(c);
        self.b.ins().iadd(a, k)
    }
    pub fn isub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().isub(a, b)
    }
    pub fn shl(&mut self, a: Value, n: i64) -> Value {
        self.b.ins().ishl_imm_s(a, n)
    }
    pub fn sshr(&mut self, a: Value, n: i64) -> Value {
        self.b.ins().sshr_imm_s(a, n)
    }

    /// Mask of the lanes whose integer `q` has bit `bit` set.
    pub fn bit_set(&mut self, q: Value, bit: u32) -> Mask {
        let width = self.format().bits as i64;
        if self.is_vector() {
            // Move the bit to the top, then smear it over the lane.
            let t = self.shl(q, width - 1 - bit as i64);
            Mask(self.sshr(t, width - 1))
        } else {
            let t = self.b.ins().band_imm_s(q, 1i64 << bit);
            Mask(self.b.ins().icmp_imm_s(IntCC::NotEqual, t, 0))
        }
    }

    /// Round-to-nearest of `x * scale` through the "magic number" trick:
    /// returns `(n as float, t)` where the low integer bits of `t`'s pattern
    /// hold `n`. Valid while `|x * scale| < 2^(mant-1)`.
    pub fn round_mul(&mut self, x: Value, scale: f64) -> (Value, Value) {
        self.round_mul_biased(x, scale, 0)
    }

    /// As [`Ctx::round_mul`] with `bias` added to the magic number: the low
    /// bits of `t`'s pattern hold `n + bias`, so an exponent field needs no
    /// separate integer add (and no bias constant). `bias` is a small
    /// integer, so the magic number stays exact and keeps its rounding
    /// effect.
    pub fn round_mul_biased(&mut self, x: Value, scale: f64, bias: i64) -> (Value, Value) {
        let magic = self.magic() + bias as f64;
        let s = self.f(scale);
        let m = self.f(magic);
        let t = self.fma(x, s, m);
        let n = self.sub(t, m);
        (n, t)
    }

    /// `1.5 * 2^mant`: adding it rounds to an integer, kept in the low bits.
    pub fn magic(&self) -> f64 {
        1.5 * (2f64).powi(self.format().mant as i32)
    }

    /// A small integer (|k| < 2^(mant-1)) converted to float without
    /// `fcvt_from_sint` (which Cranelift scalarises for i64x2).
    pub fn int_to_float(&mut self, k: Value) -> Value {
        let m = self.magic();
        let mf = self.f(m);
        let mb = self.bits(mf);
        let t = self.b.ins().iadd(k, mb);
        let t = self.float(t);
        self.sub(t, mf)
    }

    /// `m ? v : 0` for an integer or float `v` (vectors: one `and`).
    pub fn select_or_zero(&mut self, m: Mask, v: Value) -> Value {
        if self.is_vector() {
            let vty = self.b.func.dfg.value_type(v);
            let c = self.cast(vty, m.0);
            self.b.ins().band(c, v)
        } else {
            let ty = self.b.func.dfg.value_type(v);
            let z = if ty.is_int() {
                self.b.ins().iconst(ty, 0)
            } else if ty == types::F32 {
                self.b.ins().f32const(0.0)
            } else {
                self.b.ins().f64const(0.0)
            };
            self.b.ins().select(m.0, v, z)
        }
    }
}
