//! Values of one dtype in CLIF: a scalar, or a *packet* of [`LANES`]
//! consecutive elements held in 128-bit vectors (the widest Cranelift
//! lowers on x86-64).
//!
//! | dtype | scalar | packet of 4 |
//! | --- | --- | --- |
//! | f32 / i32 | F32 / I32 | one F32X4 / I32X4 |
//! | f64 / i64 | F64 / I64 | two F64X2 / I64X2 (lanes 0-1, 2-3) |
//! | bool | I8 holding 0 or 1 | a mask: one I32X4, or two I64X2, all-ones where true |
//!
//! A bool packet keeps the lane width of the comparison that produced it
//! and is converted only where a consumer needs the other width.
//! Memory holds bools as one byte, 0 or 1.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{
    types, ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value,
};
use cranelift_frontend::FunctionBuilder;
use gradlift_ir::DType;
use smallvec::SmallVec;

/// Elements per packet.
pub(crate) const LANES: usize = 4;

/// A value of one dtype: scalar, or a packet of [`LANES`] elements.
#[derive(Clone, Debug)]
pub(crate) enum Pk {
    S(Value),
    V(SmallVec<[Value; 2]>),
}

impl Pk {
    pub fn scalar(&self) -> Value {
        match self {
            Pk::S(v) => *v,
            Pk::V(v) => v[0],
        }
    }

    pub fn parts(&self) -> &[Value] {
        match self {
            Pk::S(v) => std::slice::from_ref(v),
            Pk::V(v) => v,
        }
    }

    pub fn is_vector(&self) -> bool {
        matches!(self, Pk::V(_))
    }
}

/// Data loads and stores: never trap (the kernel only touches valid
/// elements), no alignment assumed.
pub(crate) fn data_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// Bitcasts that change the lane count need an explicit byte order.
fn lane_flags() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// The scalar CLIF type of a dtype.
pub(crate) fn scalar_type(dt: DType) -> Type {
    match dt {
        DType::F32 => types::F32,
        DType::F64 => types::F64,
        DType::I32 => types::I32,
        DType::I64 => types::I64,
        DType::Bool => types::I8,
    }
}

/// The vector type of one part of a packet (bool: the 32-bit mask).
pub(crate) fn part_type(dt: DType) -> Type {
    match dt {
        DType::F32 => types::F32X4,
        DType::F64 => types::F64X2,
        DType::I32 | DType::Bool => types::I32X4,
        DType::I64 => types::I64X2,
    }
}

/// Vectors per packet of a dtype (bool: as a 32-bit mask).
pub(crate) fn parts_per_packet(dt: DType) -> usize {
    match dt {
        DType::F32 | DType::I32 | DType::Bool => 1,
        DType::F64 | DType::I64 => 2,
    }
}

/// An integer constant of type `ty`, the immediate masked to its width.
pub(crate) fn iconst(b: &mut FunctionBuilder, ty: Type, v: i64) -> Value {
    let masked = match ty.bits() {
        8 => v & 0xff,
        16 => v & 0xffff,
        32 => v & 0xffff_ffff,
        _ => v,
    };
    b.ins().iconst(ty, masked)
}

/// A scalar constant from its bits (bool: 0 or 1).
pub(crate) fn const_scalar(b: &mut FunctionBuilder, dt: DType, bits: u64) -> Value {
    match dt {
        DType::F32 => b.ins().f32const(Ieee32::with_bits(bits as u32)),
        DType::F64 => b.ins().f64const(Ieee64::with_bits(bits)),
        DType::I32 => iconst(b, types::I32, bits as i64),
        DType::I64 => iconst(b, types::I64, bits as i64),
        DType::Bool => iconst(b, types::I8, (bits & 1) as i64),
    }
}

/// A vector constant of type `ty` from little-endian lane values.
pub(crate) fn vconst_lanes(b: &mut FunctionBuilder, ty: Type, lanes: &[u64]) -> Value {
    let bytes_per = (ty.lane_bits() / 8) as usize;
    let mut bytes = Vec::with_capacity(16);
    for &l in lanes {
        bytes.extend_from_slice(&l.to_le_bytes()[..bytes_per]);
    }
    let c = b.func.dfg.constants.insert(ConstantData::from(bytes));
    b.ins().vconst(ty, c)
}

/// A packet (or scalar) holding `bits` in every lane.
pub(crate) fn const_value(b: &mut FunctionBuilder, dt: DType, bits: u64, vector: bool) -> Pk {
    let s = const_scalar(b, dt, bits);
    if vector {
        splat(b, dt, s)
    } else {
        Pk::S(s)
    }
}

/// A packet with the scalar `s` in every lane.
pub(crate) fn splat(b: &mut FunctionBuilder, dt: DType, s: Value) -> Pk {
    match dt {
        DType::F32 | DType::I32 => Pk::V(smallvec::smallvec![b.ins().splat(part_type(dt), s)]),
        DType::F64 | DType::I64 => {
            let v = b.ins().splat(part_type(dt), s);
            Pk::V(smallvec::smallvec![v, v])
        }
        DType::Bool => {
            let w = b.ins().uextend(types::I32, s);
            let m = b.ins().ineg(w);
            Pk::V(smallvec::smallvec![b.ins().splat(types::I32X4, m)])
        }
    }
}

/// Reinterprets the bits of `v` as `ty`.
pub(crate) fn bitcast(b: &mut FunctionBuilder, ty: Type, v: Value) -> Value {
    let from = b.func.dfg.value_type(v);
    if from == ty {
        return v;
    }
    if from.lane_count() == ty.lane_count() {
        b.ins().bitcast(ty, MemFlagsData::new(), v)
    } else {
        b.ins().bitcast(ty, lane_flags(), v)
    }
}

/// Byte shuffle of two 128-bit vectors (indices 0-15 pick from `x`,
/// 16-31 from `y`), result as `ty`.
pub(crate) fn shuffle(b: &mut FunctionBuilder, ty: Type, x: Value, y: Value, m: [u8; 16]) -> Value {
    let xb = bitcast(b, types::I8X16, x);
    let yb = bitcast(b, types::I8X16, y);
    let imm = b.func.dfg.immediates.push(ConstantData::from(&m[..]));
    let s = b.ins().shuffle(xb, yb, imm);
    bitcast(b, ty, s)
}

/// Shuffle of 32-bit lanes: lane `i` of the result is lane `l[i]` of
/// `x ++ y` (0-3 from `x`, 4-7 from `y`).
pub(crate) fn shuffle32(
    b: &mut FunctionBuilder,
    ty: Type,
    x: Value,
    y: Value,
    l: [u8; 4],
) -> Value {
    let mut m = [0u8; 16];
    for i in 0..4 {
        for j in 0..4 {
            m[4 * i + j] = 4 * l[i] + j as u8;
        }
    }
    shuffle(b, ty, x, y, m)
}

/// Shuffle of 64-bit lanes (0-1 from `x`, 2-3 from `y`).
pub(crate) fn shuffle64(
    b: &mut FunctionBuilder,
    ty: Type,
    x: Value,
    y: Value,
    l: [u8; 2],
) -> Value {
    let mut m = [0u8; 16];
    for i in 0..2 {
        for j in 0..8 {
            m[8 * i + j] = 8 * l[i] + j as u8;
        }
    }
    shuffle(b, ty, x, y, m)
}

/// A bool packet as one I32X4 mask.
pub(crate) fn mask32(b: &mut FunctionBuilder, p: &Pk) -> Value {
    match p.parts() {
        [m] => *m,
        [lo, hi] => shuffle32(b, types::I32X4, *lo, *hi, [0, 2, 4, 6]),
        _ => p.scalar(),
    }
}

/// A bool packet as two I64X2 masks.
pub(crate) fn mask64(b: &mut FunctionBuilder, p: &Pk) -> [Value; 2] {
    match p.parts() {
        [m] => [b.ins().swiden_low(*m), b.ins().swiden_high(*m)],
        [lo, hi] => [*lo, *hi],
        _ => [p.scalar(), p.scalar()],
    }
}

/// Bool packets in a common representation (both 32-bit masks unless both
/// are already 64-bit).
pub(crate) fn unify_masks(b: &mut FunctionBuilder, x: &Pk, y: &Pk) -> (Pk, Pk) {
    if x.parts().len() == 2 && y.parts().len() == 2 {
        return (x.clone(), y.clone());
    }
    let (mx, my) = (mask32(b, x), mask32(b, y));
    (Pk::V(smallvec::smallvec![mx]), Pk::V(smallvec::smallvec![my]))
}

/// The [`LANES`] scalars of a packet (bool lanes as I8 0/1).
pub(crate) fn to_lanes(b: &mut FunctionBuilder, dt: DType, p: &Pk) -> [Value; LANES] {
    match dt {
        DType::F32 | DType::I32 => {
            let v = p.parts()[0];
            [0u8, 1, 2, 3].map(|l| b.ins().extractlane(v, l))
        }
        DType::F64 | DType::I64 => {
            let (v0, v1) = (p.parts()[0], p.parts()[1]);
            [(v0, 0u8), (v0, 1), (v1, 0), (v1, 1)].map(|(v, l)| b.ins().extractlane(v, l))
        }
        DType::Bool => {
            let m = mask32(b, p);
            [0u8, 1, 2, 3].map(|l| {
                let x = b.ins().extractlane(m, l);
                b.ins().icmp_imm_s(IntCC::NotEqual, x, 0)
            })
        }
    }
}

/// A packet from [`LANES`] scalars (bool lanes as I8 0/1).
pub(crate) fn from_lanes(b: &mut FunctionBuilder, dt: DType, l: [Value; LANES]) -> Pk {
    match dt {
        DType::F32 | DType::I32 => {
            let mut v = b.ins().splat(part_type(dt), l[0]);
            for (k, &x) in l.iter().enumerate().skip(1) {
                v = b.ins().insertlane(v, x, k as u8);
            }
            Pk::V(smallvec::smallvec![v])
        }
        DType::F64 | DType::I64 => {
            let ty = part_type(dt);
            let v0 = b.ins().splat(ty, l[0]);
            let v0 = b.ins().insertlane(v0, l[1], 1);
            let v1 = b.ins().splat(ty, l[2]);
            let v1 = b.ins().insertlane(v1, l[3], 1);
            Pk::V(smallvec::smallvec![v0, v1])
        }
        DType::Bool => {
            let m = l.map(|x| {
                let w = b.ins().uextend(types::I32, x);
                b.ins().ineg(w)
            });
            let mut v = b.ins().splat(types::I32X4, m[0]);
            for (k, &x) in m.iter().enumerate().skip(1) {
                v = b.ins().insertlane(v, x, k as u8);
            }
            Pk::V(smallvec::smallvec![v])
        }
    }
}

/// Applies a scalar function lane by lane (the fallback for ops with no
/// vector lowering).
pub(crate) fn per_lane(
    b: &mut FunctionBuilder,
    ins: &[(DType, &Pk)],
    out: DType,
    mut f: impl FnMut(&mut FunctionBuilder, &[Value]) -> Value,
) -> Pk {
    let lanes: Vec<[Value; LANES]> = ins.iter().map(|(dt, p)| to_lanes(b, *dt, p)).collect();
    let res: Vec<Value> = (0..LANES)
        .map(|k| {
            let args: SmallVec<[Value; 3]> = lanes.iter().map(|l| l[k]).collect();
            f(b, &args)
        })
        .collect();
    from_lanes(b, out, [res[0], res[1], res[2], res[3]])
}

/// `base + offset * size`: the address of element `offset`.
pub(crate) fn elem_addr(b: &mut FunctionBuilder, base: Value, offset: Value, size: i64) -> Value {
    let bytes = b.ins().imul_imm_s(offset, size);
    b.ins().iadd(base, bytes)
}

/// Loads one element.
pub(crate) fn load_scalar(b: &mut FunctionBuilder, dt: DType, addr: Value) -> Value {
    b.ins().load(scalar_type(dt), data_flags(), addr, 0)
}

/// Stores one element (bools are 0/1 bytes already).
pub(crate) fn store_scalar(b: &mut FunctionBuilder, v: Value, addr: Value) {
    b.ins().store(data_flags(), v, addr, 0);
}

/// Loads [`LANES`] consecutive elements starting at `addr`.
pub(crate) fn load_packet(b: &mut FunctionBuilder, dt: DType, addr: Value) -> Pk {
    match dt {
        DType::F32 | DType::I32 => {
            Pk::V(smallvec::smallvec![b.ins().load(part_type(dt), data_flags(), addr, 0)])
        }
        DType::F64 | DType::I64 => {
            let ty = part_type(dt);
            let lo = b.ins().load(ty, data_flags(), addr, 0);
            let hi = b.ins().load(ty, data_flags(), addr, 16);
            Pk::V(smallvec::smallvec![lo, hi])
        }
        DType::Bool => {
            // Four 0/1 bytes -> four 32-bit lanes -> mask.
            let w = b.ins().load(types::I32, data_flags(), addr, 0);
            let v = b.ins().scalar_to_vector(types::I32X4, w);
            let v = bitcast(b, types::I8X16, v);
            let v = b.ins().uwiden_low(v);
            let v = b.ins().uwiden_low(v);
            let zero = vconst_lanes(b, types::I32X4, &[0; 4]);
            Pk::V(smallvec::smallvec![b.ins().icmp(IntCC::NotEqual, v, zero)])
        }
    }
}

/// Stores a packet at [`LANES`] consecutive elements from `addr`.
pub(crate) fn store_packet(b: &mut FunctionBuilder, dt: DType, p: &Pk, addr: Value) {
    match dt {
        DType::F32 | DType::I32 => {
            b.ins().store(data_flags(), p.parts()[0], addr, 0);
        }
        DType::F64 | DType::I64 => {
            b.ins().store(data_flags(), p.parts()[0], addr, 0);
            b.ins().store(data_flags(), p.parts()[1], addr, 16);
        }
        DType::Bool => {
            let m = mask32(b, p);
            let one = vconst_lanes(b, types::I32X4, &[1; 4]);
            let v = b.ins().band(m, one);
            let mut sel = [0u8; 16];
            sel[..4].copy_from_slice(&[0, 4, 8, 12]);
            let bytes = shuffle(b, types::I32X4, v, v, sel);
            let w = b.ins().extractlane(bytes, 0);
            b.ins().store(data_flags(), w, addr, 0);
        }
    }
}

/// Reverses the lanes of a packet.
pub(crate) fn reverse_lanes(b: &mut FunctionBuilder, dt: DType, p: &Pk) -> Pk {
    match p.parts() {
        [v] => {
            let ty = b.func.dfg.value_type(*v);
            Pk::V(smallvec::smallvec![shuffle32(b, ty, *v, *v, [3, 2, 1, 0])])
        }
        [lo, hi] => {
            let ty = part_type(dt);
            let ty = if dt == DType::Bool { types::I64X2 } else { ty };
            let a = shuffle64(b, ty, *hi, *hi, [1, 0]);
            let c = shuffle64(b, ty, *lo, *lo, [1, 0]);
            Pk::V(smallvec::smallvec![a, c])
        }
        _ => p.clone(),
    }
}
