//! CLIF for the elementwise ops of a kernel body, on scalars and packets
//! ([`super::packet`]): one exhaustive match per op family, semantics as
//! in the reference interpreter (`gradlift_ir::interp`).
//!
//! Vector lowerings Cranelift lacks on x86-64 fall back to per-lane scalar
//! code: integer division and remainder, and the float/int conversions
//! that change lane width (f32→i64, f64→i32/i64, i32→f64, i64→f32).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use gradlift_ir::{BinaryOp, CompareOp, DType, UnaryOp};

use super::math::{self, MathFn};
use super::packet::{
    self, bitcast, const_value, iconst, mask32, mask64, part_type, per_lane, scalar_type,
    shuffle32, unify_masks, vconst_lanes, Pk,
};

/// Applies `f` to the scalar or to each vector of a packet.
fn map1(
    b: &mut FunctionBuilder,
    x: &Pk,
    mut f: impl FnMut(&mut FunctionBuilder, Value) -> Value,
) -> Pk {
    match x {
        Pk::S(v) => Pk::S(f(b, *v)),
        Pk::V(vs) => Pk::V(vs.iter().map(|&v| f(b, v)).collect()),
    }
}

/// Applies `f` to matching parts of two values of the same representation.
fn map2(
    b: &mut FunctionBuilder,
    x: &Pk,
    y: &Pk,
    mut f: impl FnMut(&mut FunctionBuilder, Value, Value) -> Value,
) -> Pk {
    match (x, y) {
        (Pk::V(xs), Pk::V(ys)) => Pk::V(xs.iter().zip(ys).map(|(&a, &c)| f(b, a, c)).collect()),
        _ => Pk::S(f(b, x.scalar(), y.scalar())),
    }
}

fn math1(b: &mut FunctionBuilder, f: MathFn, x: &Pk) -> Pk {
    map1(b, x, |b, v| math::emit(b, f, &[v]))
}

fn math2(b: &mut FunctionBuilder, f: MathFn, x: &Pk, y: &Pk) -> Pk {
    map2(b, x, y, |b, u, v| math::emit(b, f, &[u, v]))
}

/// The CLIF type of `v`.
fn ty_of(b: &FunctionBuilder, v: Value) -> Type {
    b.func.dfg.value_type(v)
}

/// `op x` on a value of dtype `dt`.
pub(crate) fn unary(b: &mut FunctionBuilder, op: UnaryOp, dt: DType, x: &Pk) -> Pk {
    let float = dt.is_float();
    match op {
        UnaryOp::Neg if float => map1(b, x, |b, v| b.ins().fneg(v)),
        UnaryOp::Neg => map1(b, x, |b, v| b.ins().ineg(v)),
        UnaryOp::Abs if float => map1(b, x, |b, v| b.ins().fabs(v)),
        UnaryOp::Abs => map1(b, x, int_abs),
        UnaryOp::Sign if float => map1(b, x, float_sign),
        UnaryOp::Sign => map1(b, x, |b, v| {
            let ty = ty_of(b, v);
            let m1 = splat_int(b, ty, -1);
            let p1 = splat_int(b, ty, 1);
            let lo = int_max(b, v, m1);
            int_min(b, lo, p1)
        }),
        UnaryOp::Exp => math1(b, MathFn::Exp, x),
        UnaryOp::Log => math1(b, MathFn::Log, x),
        UnaryOp::Log1p => math1(b, MathFn::Log1p, x),
        UnaryOp::Expm1 => math1(b, MathFn::Expm1, x),
        UnaryOp::Sin => math1(b, MathFn::Sin, x),
        UnaryOp::Cos => math1(b, MathFn::Cos, x),
        UnaryOp::Tanh => math1(b, MathFn::Tanh, x),
        UnaryOp::Logistic => math1(b, MathFn::Logistic, x),
        UnaryOp::Round => math1(b, MathFn::Round, x),
        UnaryOp::Sqrt => map1(b, x, |b, v| b.ins().sqrt(v)),
        UnaryOp::Rsqrt => {
            let one = const_value(b, dt, float_bits(dt, 1.0), x.is_vector());
            let s = map1(b, x, |b, v| b.ins().sqrt(v));
            map2(b, &one, &s, |b, o, v| b.ins().fdiv(o, v))
        }
        UnaryOp::Floor => map1(b, x, |b, v| b.ins().floor(v)),
        UnaryOp::Ceil => map1(b, x, |b, v| b.ins().ceil(v)),
        UnaryOp::Not => match x {
            // Scalar bools are 0/1; vector bools and integers flip all bits.
            Pk::S(v) if dt == DType::Bool => Pk::S(b.ins().bxor_imm_s(*v, 1)),
            _ => map1(b, x, |b, v| b.ins().bnot(v)),
        },
    }
}

/// `x op y` on values of dtype `dt`.
pub(crate) fn binary(b: &mut FunctionBuilder, op: BinaryOp, dt: DType, x: &Pk, y: &Pk) -> Pk {
    let float = dt.is_float();
    match op {
        BinaryOp::Add if float => map2(b, x, y, |b, u, v| b.ins().fadd(u, v)),
        BinaryOp::Add => map2(b, x, y, |b, u, v| b.ins().iadd(u, v)),
        BinaryOp::Sub if float => map2(b, x, y, |b, u, v| b.ins().fsub(u, v)),
        BinaryOp::Sub => map2(b, x, y, |b, u, v| b.ins().isub(u, v)),
        BinaryOp::Mul if float => map2(b, x, y, |b, u, v| b.ins().fmul(u, v)),
        BinaryOp::Mul => map2(b, x, y, |b, u, v| b.ins().imul(u, v)),
        BinaryOp::Div if float => map2(b, x, y, |b, u, v| b.ins().fdiv(u, v)),
        BinaryOp::Div => int_lanes(b, dt, x, y, int_div),
        BinaryOp::Rem if float => math2(b, MathFn::Rem, x, y),
        BinaryOp::Rem => int_lanes(b, dt, x, y, int_rem),
        BinaryOp::Pow => math2(b, MathFn::Pow, x, y),
        BinaryOp::Max if float => map2(b, x, y, |b, u, v| b.ins().fmax(u, v)),
        BinaryOp::Max => map2(b, x, y, int_max),
        BinaryOp::Min if float => map2(b, x, y, |b, u, v| b.ins().fmin(u, v)),
        BinaryOp::Min => map2(b, x, y, int_min),
        BinaryOp::And | BinaryOp::Or => {
            let (x, y) = if dt == DType::Bool && x.is_vector() {
                unify_masks(b, x, y)
            } else {
                (x.clone(), y.clone())
            };
            if op == BinaryOp::And {
                map2(b, &x, &y, |b, u, v| b.ins().band(u, v))
            } else {
                map2(b, &x, &y, |b, u, v| b.ins().bor(u, v))
            }
        }
    }
}

/// `x op y` → bool, for operands of dtype `dt`.
pub(crate) fn compare(b: &mut FunctionBuilder, op: CompareOp, dt: DType, x: &Pk, y: &Pk) -> Pk {
    if dt.is_float() {
        let cc = match op {
            CompareOp::Eq => FloatCC::Equal,
            CompareOp::Ne => FloatCC::NotEqual,
            CompareOp::Lt => FloatCC::LessThan,
            CompareOp::Le => FloatCC::LessThanOrEqual,
            CompareOp::Gt => FloatCC::GreaterThan,
            CompareOp::Ge => FloatCC::GreaterThanOrEqual,
        };
        return map2(b, x, y, |b, u, v| b.ins().fcmp(cc, u, v));
    }
    if dt.is_int() || !x.is_vector() {
        // Scalar bools are 0/1, so false < true is an unsigned comparison.
        let signed = dt.is_int();
        let cc = match op {
            CompareOp::Eq => IntCC::Equal,
            CompareOp::Ne => IntCC::NotEqual,
            CompareOp::Lt if signed => IntCC::SignedLessThan,
            CompareOp::Le if signed => IntCC::SignedLessThanOrEqual,
            CompareOp::Gt if signed => IntCC::SignedGreaterThan,
            CompareOp::Ge if signed => IntCC::SignedGreaterThanOrEqual,
            CompareOp::Lt => IntCC::UnsignedLessThan,
            CompareOp::Le => IntCC::UnsignedLessThanOrEqual,
            CompareOp::Gt => IntCC::UnsignedGreaterThan,
            CompareOp::Ge => IntCC::UnsignedGreaterThanOrEqual,
        };
        return map2(b, x, y, |b, u, v| b.ins().icmp(cc, u, v));
    }
    // Bool masks: logic (false < true).
    let (x, y) = unify_masks(b, x, y);
    map2(b, &x, &y, |b, u, v| match op {
        CompareOp::Eq => {
            let d = b.ins().bxor(u, v);
            b.ins().bnot(d)
        }
        CompareOp::Ne => b.ins().bxor(u, v),
        CompareOp::Lt => b.ins().band_not(v, u),
        CompareOp::Le => b.ins().bor_not(v, u),
        CompareOp::Gt => b.ins().band_not(u, v),
        CompareOp::Ge => b.ins().bor_not(u, v),
    })
}

/// `p ? t : f` for branches of dtype `dt`.
pub(crate) fn select(b: &mut FunctionBuilder, dt: DType, p: &Pk, t: &Pk, f: &Pk) -> Pk {
    if !p.is_vector() {
        return Pk::S(b.ins().select(p.scalar(), t.scalar(), f.scalar()));
    }
    match dt {
        DType::F32 | DType::I32 => {
            let m = mask32(b, p);
            let m = bitcast(b, part_type(dt), m);
            Pk::V(smallvec::smallvec![b.ins().bitselect(m, t.parts()[0], f.parts()[0])])
        }
        DType::F64 | DType::I64 => {
            let ms = mask64(b, p);
            let ty = part_type(dt);
            let parts = (0..2)
                .map(|k| {
                    let m = bitcast(b, ty, ms[k]);
                    b.ins().bitselect(m, t.parts()[k], f.parts()[k])
                })
                .collect();
            Pk::V(parts)
        }
        DType::Bool => {
            let m = mask32(b, p);
            let (t, f) = unify_masks(b, t, f);
            if t.parts().len() == 2 {
                let ms = mask64(b, p);
                let parts =
                    (0..2).map(|k| b.ins().bitselect(ms[k], t.parts()[k], f.parts()[k])).collect();
                return Pk::V(parts);
            }
            Pk::V(smallvec::smallvec![b.ins().bitselect(m, t.parts()[0], f.parts()[0])])
        }
    }
}

/// `convert x, to`: Rust `as` between numbers, `!= 0` to bool, 0/1 from
/// bool.
pub(crate) fn convert(b: &mut FunctionBuilder, from: DType, to: DType, x: &Pk) -> Pk {
    if from == to {
        return x.clone();
    }
    if !x.is_vector() {
        return Pk::S(convert_scalar(b, from, to, x.scalar()));
    }
    use DType::*;
    match (from, to) {
        (F32, F64) => {
            let v = x.parts()[0];
            let hi = shuffle32(b, types::F32X4, v, v, [2, 3, 2, 3]);
            Pk::V(smallvec::smallvec![b.ins().fvpromote_low(v), b.ins().fvpromote_low(hi)])
        }
        (F64, F32) => {
            let lo = b.ins().fvdemote(x.parts()[0]);
            let hi = b.ins().fvdemote(x.parts()[1]);
            Pk::V(smallvec::smallvec![shuffle32(b, types::F32X4, lo, hi, [0, 1, 4, 5])])
        }
        (F32, I32) => map1(b, x, |b, v| b.ins().fcvt_to_sint_sat(types::I32X4, v)),
        (I32, F32) => map1(b, x, |b, v| b.ins().fcvt_from_sint(types::F32X4, v)),
        (I64, F64) => map1(b, x, |b, v| b.ins().fcvt_from_sint(types::F64X2, v)),
        (I32, I64) => {
            let v = x.parts()[0];
            Pk::V(smallvec::smallvec![b.ins().swiden_low(v), b.ins().swiden_high(v)])
        }
        (I64, I32) => {
            let (lo, hi) = (x.parts()[0], x.parts()[1]);
            Pk::V(smallvec::smallvec![shuffle32(b, types::I32X4, lo, hi, [0, 2, 4, 6])])
        }
        (F32 | F64 | I32 | I64, Bool) => {
            let zero = const_value(b, from, 0, true);
            if from.is_float() {
                map2(b, x, &zero, |b, u, z| b.ins().fcmp(FloatCC::NotEqual, u, z))
            } else {
                map2(b, x, &zero, |b, u, z| b.ins().icmp(IntCC::NotEqual, u, z))
            }
        }
        (Bool, F32 | I32) => {
            let m = mask32(b, x);
            let one = one_bits(to);
            let one = vconst_lanes(b, types::I32X4, &[one; 4]);
            let v = b.ins().band(m, one);
            Pk::V(smallvec::smallvec![bitcast(b, part_type(to), v)])
        }
        (Bool, F64 | I64) => {
            let ms = mask64(b, x);
            let one = one_bits(to);
            let one = vconst_lanes(b, types::I64X2, &[one; 2]);
            let parts = ms
                .iter()
                .map(|&m| {
                    let v = b.ins().band(m, one);
                    bitcast(b, part_type(to), v)
                })
                .collect();
            Pk::V(parts)
        }
        // No vector lowering: lane by lane.
        (F32, I64) | (F64, I32) | (F64, I64) | (I32, F64) | (I64, F32) => {
            per_lane(b, &[(from, x)], to, |b, a| convert_scalar(b, from, to, a[0]))
        }
        (F32, F32) | (F64, F64) | (I32, I32) | (I64, I64) | (Bool, Bool) => x.clone(),
    }
}

/// The bits of 1 in dtype `dt`.
fn one_bits(dt: DType) -> u64 {
    match dt {
        DType::F32 => u64::from(1.0f32.to_bits()),
        DType::F64 => 1.0f64.to_bits(),
        DType::I32 | DType::I64 | DType::Bool => 1,
    }
}

fn float_bits(dt: DType, x: f64) -> u64 {
    if dt == DType::F32 {
        u64::from((x as f32).to_bits())
    } else {
        x.to_bits()
    }
}

/// `convert` on one element.
pub(crate) fn convert_scalar(b: &mut FunctionBuilder, from: DType, to: DType, x: Value) -> Value {
    use DType::*;
    let ty = scalar_type(to);
    match (from, to) {
        _ if from == to => x,
        (F32, F64) => b.ins().fpromote(ty, x),
        (F64, F32) => b.ins().fdemote(ty, x),
        // Saturating, NaN -> 0: exactly `as`.
        (F32 | F64, I32 | I64) => b.ins().fcvt_to_sint_sat(ty, x),
        (I32 | I64, F32 | F64) => b.ins().fcvt_from_sint(ty, x),
        (I32, I64) => b.ins().sextend(ty, x),
        (I64, I32) => b.ins().ireduce(ty, x),
        (F32 | F64, Bool) => {
            let zero = packet::const_scalar(b, from, 0);
            b.ins().fcmp(FloatCC::NotEqual, x, zero)
        }
        (I32 | I64, Bool) => b.ins().icmp_imm_s(IntCC::NotEqual, x, 0),
        (Bool, I32 | I64) => b.ins().uextend(ty, x),
        (Bool, F32 | F64) => {
            let one = packet::const_scalar(b, to, one_bits(to));
            let zero = packet::const_scalar(b, to, 0);
            b.ins().select(x, one, zero)
        }
        (F32, F32) | (F64, F64) | (I32, I32) | (I64, I64) | (Bool, Bool) => x,
    }
}

/// An integer constant of type `ty`, splatted when `ty` is a vector.
fn splat_int(b: &mut FunctionBuilder, ty: Type, v: i64) -> Value {
    if ty.is_vector() {
        let lanes = vec![v as u64; ty.lane_count() as usize];
        vconst_lanes(b, ty, &lanes)
    } else {
        iconst(b, ty, v)
    }
}

/// Wrapping |x| (`abs(MIN) == MIN`).
fn int_abs(b: &mut FunctionBuilder, v: Value) -> Value {
    let ty = ty_of(b, v);
    if ty == types::I64X2 {
        let zero = splat_int(b, ty, 0);
        let neg = b.ins().icmp(IntCC::SignedLessThan, v, zero);
        let n = b.ins().ineg(v);
        return b.ins().bitselect(neg, n, v);
    }
    b.ins().iabs(v)
}

/// Signed max (I64X2 through a compare, which every SSE4.2 x86 lowers).
fn int_max(b: &mut FunctionBuilder, u: Value, v: Value) -> Value {
    if ty_of(b, u) == types::I64X2 {
        let gt = b.ins().icmp(IntCC::SignedGreaterThan, u, v);
        return b.ins().bitselect(gt, u, v);
    }
    b.ins().smax(u, v)
}

fn int_min(b: &mut FunctionBuilder, u: Value, v: Value) -> Value {
    if ty_of(b, u) == types::I64X2 {
        let gt = b.ins().icmp(IntCC::SignedGreaterThan, u, v);
        return b.ins().bitselect(gt, v, u);
    }
    b.ins().smin(u, v)
}

/// sign(x) for floats: ±1 with the sign of x; ±0 and NaN unchanged.
fn float_sign(b: &mut FunctionBuilder, v: Value) -> Value {
    let ty = ty_of(b, v);
    let (one, neg_zero, zero) = if ty.lane_type() == types::F32 {
        (1.0f32.to_bits() as u64, (-0.0f32).to_bits() as u64, 0u64)
    } else {
        (1.0f64.to_bits(), (-0.0f64).to_bits(), 0u64)
    };
    let lane_f = ty.lane_type();
    let mk = |b: &mut FunctionBuilder, bits: u64| {
        let dt = if lane_f == types::F32 { DType::F32 } else { DType::F64 };
        let s = packet::const_scalar(b, dt, bits);
        if ty.is_vector() {
            b.ins().splat(ty, s)
        } else {
            s
        }
    };
    let one = mk(b, one);
    let sign_mask = mk(b, neg_zero);
    let zero = mk(b, zero);
    // copysign(1, x) as bit selection (vector fcopysign is not lowered).
    let signed_one = b.ins().bitselect(sign_mask, v, one);
    let nonzero = b.ins().fcmp(FloatCC::NotEqual, v, zero);
    let ordered = b.ins().fcmp(FloatCC::Equal, v, v);
    let keep = b.ins().band(nonzero, ordered);
    if ty.is_vector() {
        let keep = bitcast(b, ty, keep);
        b.ins().bitselect(keep, signed_one, v)
    } else {
        b.ins().select(keep, signed_one, v)
    }
}

/// An integer op without a vector lowering, lane by lane.
fn int_lanes(
    b: &mut FunctionBuilder,
    dt: DType,
    x: &Pk,
    y: &Pk,
    f: fn(&mut FunctionBuilder, Value, Value) -> Value,
) -> Pk {
    match (x, y) {
        (Pk::S(u), Pk::S(v)) => Pk::S(f(b, *u, *v)),
        _ => per_lane(b, &[(dt, x), (dt, y)], dt, |b, a| f(b, a[0], a[1])),
    }
}

/// XLA integer division: truncating, `x / 0 = -1`, `MIN / -1 = MIN`. The
/// divisor is made safe first: x86 `idiv` traps on both.
fn int_div(b: &mut FunctionBuilder, x: Value, d: Value) -> Value {
    let ty = ty_of(b, x);
    let min = iconst(b, ty, if ty == types::I32 { i64::from(i32::MIN) } else { i64::MIN });
    let m1 = iconst(b, ty, -1);
    let one = iconst(b, ty, 1);
    let zero = iconst(b, ty, 0);
    let by_zero = b.ins().icmp(IntCC::Equal, d, zero);
    let is_min = b.ins().icmp(IntCC::Equal, x, min);
    let by_m1 = b.ins().icmp(IntCC::Equal, d, m1);
    let overflow = b.ins().band(is_min, by_m1);
    let bad = b.ins().bor(by_zero, overflow);
    let safe = b.ins().select(bad, one, d);
    let q = b.ins().sdiv(x, safe);
    b.ins().select(by_zero, m1, q)
}

/// XLA integer remainder: sign of the dividend, `x rem 0 = x`,
/// `MIN rem -1 = 0`.
fn int_rem(b: &mut FunctionBuilder, x: Value, d: Value) -> Value {
    let ty = ty_of(b, x);
    let m1 = iconst(b, ty, -1);
    let one = iconst(b, ty, 1);
    let zero = iconst(b, ty, 0);
    let by_zero = b.ins().icmp(IntCC::Equal, d, zero);
    let by_m1 = b.ins().icmp(IntCC::Equal, d, m1);
    let bad = b.ins().bor(by_zero, by_m1);
    let safe = b.ins().select(bad, one, d);
    let r = b.ins().srem(x, safe);
    b.ins().select(by_zero, x, r)
}

/// The accumulator update of a reduction: `acc op x`.
pub(crate) fn reduce_step(
    b: &mut FunctionBuilder,
    kind: gradlift_ir::ReduceKind,
    dt: DType,
    acc: &Pk,
    x: &Pk,
) -> Pk {
    use gradlift_ir::ReduceKind;
    let op = match kind {
        ReduceKind::Sum => BinaryOp::Add,
        ReduceKind::Prod => BinaryOp::Mul,
        ReduceKind::Max => BinaryOp::Max,
        ReduceKind::Min => BinaryOp::Min,
    };
    binary(b, op, dt, acc, x)
}

/// The identity of a reduction, as bits of `dt`.
pub(crate) fn reduce_identity(kind: gradlift_ir::ReduceKind, dt: DType) -> u64 {
    use gradlift_ir::ReduceKind;
    match (kind, dt) {
        (ReduceKind::Sum, _) => 0,
        (ReduceKind::Prod, _) => one_bits(dt),
        (ReduceKind::Max, DType::F32) => u64::from(f32::NEG_INFINITY.to_bits()),
        (ReduceKind::Max, DType::F64) => f64::NEG_INFINITY.to_bits(),
        (ReduceKind::Max, DType::I32) => i32::MIN as u32 as u64,
        (ReduceKind::Max, _) => i64::MIN as u64,
        (ReduceKind::Min, DType::F32) => u64::from(f32::INFINITY.to_bits()),
        (ReduceKind::Min, DType::F64) => f64::INFINITY.to_bits(),
        (ReduceKind::Min, DType::I32) => i32::MAX as u32 as u64,
        (ReduceKind::Min, _) => i64::MAX as u64,
    }
}
