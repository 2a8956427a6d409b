//! Scalar fallbacks for the rare inputs the inline code does not cover
//! (huge sin/cos arguments, fmod with huge quotients or non-finite
//! operands), run over the lanes of a vector by Rust std.
//!
//! A plain call from the kernel's loop would clobber every xmm register,
//! so the register allocator would keep all the hoisted constants of the
//! loop on the stack and reload them on every iteration, fallback taken or
//! not (measured: 67 instead of 36 stack accesses for sin f32x4). Instead
//! the cold block stores the lanes into a stack slot and calls a tiny
//! trampoline with Cranelift's `preserve_all` convention (the callee saves
//! every register it touches); the trampoline calls the Rust batch
//! function with the C convention. The trampolines are compiled once per
//! process into a JIT module that is never freed.
//!
//! The emitted code calls trampolines through their absolute addresses
//! (`call_indirect` on an `iconst`): `emit` sees only a `FunctionBuilder`,
//! not the `Module` that owns function ids, so it cannot declare a named
//! import. [`super::libcall_symbols`] lists the Rust batch functions by
//! name for callers that want to register them anyway (harmless).

use super::ops::{Ctx, Mask};
use cranelift_codegen::ir::{
    types, AbiParam, InstBuilder, Signature, StackSlotData, StackSlotKind, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::settings;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use std::sync::OnceLock;

/// A Rust batch function `extern "C" fn(buf: *mut T, n: usize)`: replaces
/// `buf[i]` by `f(buf[i])` (or `f(buf[i], buf[16 / size + i])` for two
/// arguments) for `i < n`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shim {
    pub name: &'static str,
    pub addr: *const u8,
    pub arity: usize,
    /// Index into the trampoline table.
    id: usize,
}

/// Byte offset of the second argument's lanes in the buffer.
const SECOND: usize = 16;

macro_rules! batch1 {
    ($name:ident, $t:ty, $f:expr) => {
        extern "C" fn $name(buf: *mut $t, n: usize) {
            // SAFETY: the emitted code passes a 16-byte aligned stack slot
            // holding `n` lanes (n * size <= 16).
            let lanes = unsafe { std::slice::from_raw_parts_mut(buf, n) };
            for v in lanes {
                *v = $f(*v);
            }
        }
    };
}

macro_rules! batch2 {
    ($name:ident, $t:ty, $f:expr) => {
        extern "C" fn $name(buf: *mut $t, n: usize) {
            let second = SECOND / std::mem::size_of::<$t>();
            // SAFETY: the slot holds 32 bytes: `n` lanes of a at 0, of b at 16.
            let all = unsafe { std::slice::from_raw_parts_mut(buf, 2 * second) };
            for i in 0..n {
                all[i] = $f(all[i], all[second + i]);
            }
        }
    };
}

batch1!(gradlift_math_sinf, f32, f32::sin);
batch1!(gradlift_math_cosf, f32, f32::cos);
batch1!(gradlift_math_sin, f64, f64::sin);
batch1!(gradlift_math_cos, f64, f64::cos);
batch2!(gradlift_math_fmodf, f32, |a: f32, b: f32| a % b);
batch2!(gradlift_math_fmod, f64, |a: f64, b: f64| a % b);

pub(crate) fn sin(f32: bool) -> Shim {
    if f32 {
        Shim { name: "gradlift_math_sinf", addr: gradlift_math_sinf as *const u8, arity: 1, id: 0 }
    } else {
        Shim { name: "gradlift_math_sin", addr: gradlift_math_sin as *const u8, arity: 1, id: 1 }
    }
}
pub(crate) fn cos(f32: bool) -> Shim {
    if f32 {
        Shim { name: "gradlift_math_cosf", addr: gradlift_math_cosf as *const u8, arity: 1, id: 2 }
    } else {
        Shim { name: "gradlift_math_cos", addr: gradlift_math_cos as *const u8, arity: 1, id: 3 }
    }
}
pub(crate) fn fmod(f32: bool) -> Shim {
    if f32 {
        Shim {
            name: "gradlift_math_fmodf",
            addr: gradlift_math_fmodf as *const u8,
            arity: 2,
            id: 4,
        }
    } else {
        Shim { name: "gradlift_math_fmod", addr: gradlift_math_fmod as *const u8, arity: 2, id: 5 }
    }
}

/// Every shim the emitted code may call.
pub(crate) fn all() -> Vec<Shim> {
    vec![sin(true), sin(false), cos(true), cos(false), fmod(true), fmod(false)]
}

/// Addresses of the `preserve_all` trampolines, by shim id.
fn trampolines() -> &'static [usize] {
    static T: OnceLock<Vec<usize>> = OnceLock::new();
    T.get_or_init(|| build_trampolines().expect("math: compiling the fallback trampolines"))
}

/// `fn(buf: i64, n: i64)` in `preserve_all` that calls the shim in the C
/// convention, one per shim, in a module that lives for the process.
fn build_trampolines() -> Result<Vec<usize>, String> {
    let isa = cranelift_native::builder()
        .map_err(|e| e.to_string())?
        .finish(settings::Flags::new(settings::builder()))
        .map_err(|e| e.to_string())?;
    let c_conv = isa.default_call_conv();
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut ids = vec![];
    for shim in all() {
        let mut sig = Signature::new(CallConv::PreserveAll);
        sig.params.push(AbiParam::new(types::I64));
        sig.params.push(AbiParam::new(types::I64));
        let name = format!("{}_trampoline", shim.name);
        let id = module.declare_function(&name, Linkage::Local, &sig).map_err(|e| e.to_string())?;
        ctx.func.signature = sig;
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let args = b.block_params(entry).to_vec();
            let mut inner = Signature::new(c_conv);
            inner.params.push(AbiParam::new(types::I64));
            inner.params.push(AbiParam::new(types::I64));
            let inner = b.import_signature(inner);
            let callee = b.ins().iconst(types::I64, shim.addr as usize as i64);
            b.ins().call_indirect(inner, callee, &args);
            b.ins().return_(&[]);
            b.seal_all_blocks();
            b.finalize(module.target_config());
        }
        module.define_function(id, &mut ctx).map_err(|e| e.to_string())?;
        module.clear_context(&mut ctx);
        ids.push(id);
    }
    module.finalize_definitions().map_err(|e| e.to_string())?;
    let addrs = ids.iter().map(|&id| module.get_finalized_function(id) as usize).collect();
    // The trampolines must outlive every kernel that calls them.
    std::mem::forget(module);
    Ok(addrs)
}

/// `fast` in the lanes where `need` is false, the shim's result elsewhere.
/// The shim runs in a cold block entered only when some lane needs it;
/// afterwards the builder sits in the block where the result is defined.
pub(crate) fn patch(c: &mut Ctx, need: Mask, fast: Value, shim: Shim, args: &[Value]) -> Value {
    debug_assert_eq!(args.len(), shim.arity);
    let tramp = trampolines()[shim.id];
    let any = c.any(need);
    let slow = c.b.create_block();
    let merge = c.b.create_block();
    let ty = c.ty;
    let res = c.b.append_block_param(merge, ty);
    c.b.set_cold_block(slow);
    c.b.ins().brif(any, slow, &[], merge, &[fast.into()]);
    c.b.seal_block(slow);
    c.b.switch_to_block(slow);

    let slot = c.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 32, 4));
    for (k, &a) in args.iter().enumerate() {
        c.b.ins().stack_store(types::I64, a, slot, (k * SECOND) as i32);
    }
    let buf = c.b.ins().stack_addr(types::I64, slot, 0);
    let n = c.b.ins().iconst(types::I64, ty.lane_count() as i64);
    let mut sig = Signature::new(CallConv::PreserveAll);
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    let sig = c.b.import_signature(sig);
    let callee = c.b.ins().iconst(types::I64, tramp as i64);
    c.b.ins().call_indirect(sig, callee, &[buf, n]);
    let called = c.b.ins().stack_load(types::I64, ty, slot, 0);
    let patched = if ty.is_vector() { c.select(need, called, fast) } else { called };
    c.b.ins().jump(merge, &[patched.into()]);
    c.b.seal_block(merge);
    c.b.switch_to_block(merge);
    res
}
