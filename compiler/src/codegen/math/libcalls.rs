//! Scalar fallbacks called per lane from the emitted code, for the rare
//! inputs the inline code does not cover (huge sin/cos arguments, fmod with
//! huge quotients or non-finite operands).
//!
//! The emitted code calls each shim through its absolute address
//! (`call_indirect` on an `iconst`): `emit` sees only a `FunctionBuilder`,
//! not the `Module` that owns function ids, so it cannot declare a named
//! import. [`super::libcall_symbols`] still lists the shims by name so
//! that a caller may register them (harmless) or import them by name.

use super::ops::{Ctx, Mask};
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, Value};

/// A scalar shim: `extern "C"` Rust function with the semantics of the
/// reference interpreter (Rust std).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shim {
    pub name: &'static str,
    pub addr: *const u8,
    pub arity: usize,
}

extern "C" fn gradlift_math_sinf(x: f32) -> f32 {
    x.sin()
}
extern "C" fn gradlift_math_cosf(x: f32) -> f32 {
    x.cos()
}
extern "C" fn gradlift_math_sin(x: f64) -> f64 {
    x.sin()
}
extern "C" fn gradlift_math_cos(x: f64) -> f64 {
    x.cos()
}
extern "C" fn gradlift_math_fmodf(a: f32, b: f32) -> f32 {
    a % b
}
extern "C" fn gradlift_math_fmod(a: f64, b: f64) -> f64 {
    a % b
}

/// The shims by role.
pub(crate) fn sin(f32: bool) -> Shim {
    if f32 {
        Shim { name: "gradlift_math_sinf", addr: gradlift_math_sinf as *const u8, arity: 1 }
    } else {
        Shim { name: "gradlift_math_sin", addr: gradlift_math_sin as *const u8, arity: 1 }
    }
}
pub(crate) fn cos(f32: bool) -> Shim {
    if f32 {
        Shim { name: "gradlift_math_cosf", addr: gradlift_math_cosf as *const u8, arity: 1 }
    } else {
        Shim { name: "gradlift_math_cos", addr: gradlift_math_cos as *const u8, arity: 1 }
    }
}
pub(crate) fn fmod(f32: bool) -> Shim {
    if f32 {
        Shim { name: "gradlift_math_fmodf", addr: gradlift_math_fmodf as *const u8, arity: 2 }
    } else {
        Shim { name: "gradlift_math_fmod", addr: gradlift_math_fmod as *const u8, arity: 2 }
    }
}

/// Every shim the emitted code may call.
pub(crate) fn all() -> Vec<Shim> {
    vec![sin(true), sin(false), cos(true), cos(false), fmod(true), fmod(false)]
}

/// `fast` in the lanes where `need` is false, the shim's result elsewhere.
/// The shim runs in a cold block entered only when some lane needs it;
/// afterwards the builder sits in the block where the result is defined.
pub(crate) fn patch(c: &mut Ctx, need: Mask, fast: Value, shim: Shim, args: &[Value]) -> Value {
    debug_assert_eq!(args.len(), shim.arity);
    let any = c.any(need);
    let slow = c.b.create_block();
    let merge = c.b.create_block();
    let ty = c.ty;
    let res = c.b.append_block_param(merge, ty);
    c.b.set_cold_block(slow);
    c.b.ins().brif(any, slow, &[], merge, &[fast.into()]);
    c.b.seal_block(slow);
    c.b.switch_to_block(slow);

    let lane = ty.lane_type();
    let mut sig = Signature::new(c.b.func.signature.call_conv);
    for _ in 0..shim.arity {
        sig.params.push(AbiParam::new(lane));
    }
    sig.returns.push(AbiParam::new(lane));
    let sig = c.b.import_signature(sig);
    let addr = c.b.ins().iconst(types::I64, shim.addr as usize as i64);
    let patched = if ty.is_vector() {
        let mut acc = fast;
        for i in 0..ty.lane_count() as u8 {
            let lanes: Vec<Value> = args.iter().map(|&a| c.b.ins().extractlane(a, i)).collect();
            let call = c.b.ins().call_indirect(sig, addr, &lanes);
            let r = c.b.inst_results(call)[0];
            acc = c.b.ins().insertlane(acc, r, i);
        }
        c.select(need, acc, fast)
    } else {
        let call = c.b.ins().call_indirect(sig, addr, args);
        c.b.inst_results(call)[0]
    };
    c.b.ins().jump(merge, &[patched.into()]);
    c.b.seal_block(merge);
    c.b.switch_to_block(merge);
    res
}
