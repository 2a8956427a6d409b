//! A JIT driver for the math kernels, for tests and benchmarks.
//!
//! [`Kernel::compile`] builds `fn(a: *const T, b: *const T, out: *mut T, n: usize)`
//! that applies one [`MathFn`] elementwise: a rotated vector loop (so
//! constants are hoisted) over `n & !(lanes-1)` elements, then a scalar
//! tail; or, with [`Lanes::Scalar`], the scalar loop alone. It is compiled
//! with `opt_level=speed` for the native ISA, with [`libcall_symbols`]
//! registered, the way the kernel generator does.
//!
//! ```
//! use gradlift_compiler::codegen::math::harness::{Elem, Kernel, Lanes};
//! use gradlift_compiler::codegen::math::MathFn;
//!
//! let k = Kernel::compile(MathFn::Exp, Elem::F32, Lanes::Vector).unwrap();
//! let x = [0.0f32, 1.0, -1.0, f32::NEG_INFINITY, 2.0];
//! let mut y = [0.0f32; 5];
//! k.run_f32(&x, &x, &mut y);
//! assert_eq!(y[0], 1.0);
//! assert!((y[1] - std::f32::consts::E).abs() <= f32::EPSILON * 3.0);
//! assert_eq!(y[3], 0.0);
//! ```

use super::{emit, libcall_symbols, MathFn};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, Type, Value};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};

/// Element type of the arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    F32,
    F64,
}

/// Loop shape: vector body plus scalar tail, or the scalar loop only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lanes {
    Vector,
    Scalar,
}

/// A compiled elementwise loop. Owns its JIT module; frees the code on drop.
pub struct Kernel {
    module: Option<JITModule>,
    func: unsafe extern "C" fn(*const u8, *const u8, *mut u8, usize),
    elem: Elem,
    /// The optimised CLIF and the VCode listing (register-allocated
    /// machine code in text form), for inspection.
    pub vcode: String,
}

impl Kernel {
    /// Builds and compiles the loop for `f`.
    pub fn compile(f: MathFn, elem: Elem, lanes: Lanes) -> Result<Kernel, String> {
        let mut flags = settings::builder();
        let set = |fl: &mut settings::Builder, k: &str, v: &str| {
            fl.set(k, v).map_err(|e| format!("{k}: {e}"))
        };
        set(&mut flags, "opt_level", "speed")?;
        set(&mut flags, "is_pic", "false")?;
        set(&mut flags, "use_colocated_libcalls", "false")?;
        let isa = cranelift_native::builder()
            .map_err(|e| e.to_string())?
            .finish(settings::Flags::new(flags))
            .map_err(|e| e.to_string())?;
        let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
        for (name, addr) in libcall_symbols() {
            jb.symbol(name, addr);
        }
        let mut module = JITModule::new(jb);
        let mut ctx = module.make_context();
        let mut sig = module.make_signature();
        for _ in 0..4 {
            sig.params.push(AbiParam::new(types::I64));
        }
        let id = module
            .declare_function("math_loop", Linkage::Export, &sig)
            .map_err(|e| e.to_string())?;
        ctx.func.signature = sig;
        let mut fctx = FunctionBuilderContext::new();
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            build_loop(&mut b, f, elem, lanes);
            b.seal_all_blocks();
            b.finalize(module.target_config());
        }
        ctx.set_disasm(true);
        module.define_function(id, &mut ctx).map_err(|e| match e {
            cranelift_module::ModuleError::Compilation(ce) => {
                cranelift_codegen::print_errors::pretty_error(&ctx.func, ce)
            }
            other => other.to_string(),
        })?;
        let vcode = format!(
            "{}\n{}",
            ctx.func,
            ctx.compiled_code().and_then(|c| c.vcode.clone()).unwrap_or_default()
        );
        module.clear_context(&mut ctx);
        module.finalize_definitions().map_err(|e| e.to_string())?;
        let ptr = module.get_finalized_function(id);
        // SAFETY: the function was declared with four I64 params and no
        // returns in the platform C calling convention.
        let func = unsafe {
            std::mem::transmute::<
                *const u8,
                unsafe extern "C" fn(*const u8, *const u8, *mut u8, usize),
            >(ptr)
        };
        Ok(Kernel { module: Some(module), func, elem, vcode })
    }

    /// `out[i] = f(a[i], b[i])` (b is ignored by one-argument functions).
    pub fn run_f32(&self, a: &[f32], b: &[f32], out: &mut [f32]) {
        assert_eq!(self.elem, Elem::F32, "kernel was compiled for f64");
        self.run(
            a.as_ptr().cast(),
            b.as_ptr().cast(),
            out.as_mut_ptr().cast(),
            [a.len(), b.len(), out.len()],
        );
    }

    /// `out[i] = f(a[i], b[i])` (b is ignored by one-argument functions).
    pub fn run_f64(&self, a: &[f64], b: &[f64], out: &mut [f64]) {
        assert_eq!(self.elem, Elem::F64, "kernel was compiled for f32");
        self.run(
            a.as_ptr().cast(),
            b.as_ptr().cast(),
            out.as_mut_ptr().cast(),
            [a.len(), b.len(), out.len()],
        );
    }

    fn run(&self, a: *const u8, b: *const u8, out: *mut u8, lens: [usize; 3]) {
        assert!(lens[0] == lens[1] && lens[1] == lens[2], "length mismatch {lens:?}");
        // SAFETY: three arrays of `n` elements of the compiled type; the
        // loop reads a and b and writes out at indices < n only.
        unsafe { (self.func)(a, b, out, lens[0]) }
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: `func` points into this module and dies with `self`.
            unsafe { m.free_memory() };
        }
    }
}

fn build_loop(b: &mut FunctionBuilder, f: MathFn, elem: Elem, lanes: Lanes) {
    let (sty, vty, size) = match elem {
        Elem::F32 => (types::F32, types::F32X4, 4i64),
        Elem::F64 => (types::F64, types::F64X2, 8i64),
    };
    let width = match lanes {
        Lanes::Vector => vty.lane_count() as i64,
        Lanes::Scalar => 1,
    };
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    let vbody = b.create_block();
    let tail_head = b.create_block();
    let sbody = b.create_block();
    let exit = b.create_block();
    for blk in [vbody, tail_head, sbody] {
        b.append_block_param(blk, types::I64);
    }

    b.switch_to_block(entry);
    let p = b.block_params(entry).to_vec();
    let (pa, pb, po, n) = (p[0], p[1], p[2], p[3]);
    let zero = b.ins().iconst(types::I64, 0);
    let nv = if width > 1 { b.ins().band_imm_s(n, !(width - 1)) } else { zero };
    b.ins().brif(nv, vbody, &[zero.into()], tail_head, &[zero.into()]);

    // Vector body (rotated: the test is at the bottom).
    b.switch_to_block(vbody);
    let i = b.block_params(vbody)[0];
    body(b, f, vty, [pa, pb, po], i, size);
    let i2 = b.ins().iadd_imm_s(i, width);
    let more = b.ins().icmp(IntCC::UnsignedLessThan, i2, nv);
    b.ins().brif(more, vbody, &[i2.into()], tail_head, &[i2.into()]);

    // Scalar tail.
    b.switch_to_block(tail_head);
    let i = b.block_params(tail_head)[0];
    let more = b.ins().icmp(IntCC::UnsignedLessThan, i, n);
    b.ins().brif(more, sbody, &[i.into()], exit, &[]);

    b.switch_to_block(sbody);
    let i = b.block_params(sbody)[0];
    body(b, f, sty, [pa, pb, po], i, size);
    let i2 = b.ins().iadd_imm_s(i, 1);
    let more = b.ins().icmp(IntCC::UnsignedLessThan, i2, n);
    b.ins().brif(more, sbody, &[i2.into()], exit, &[]);

    b.switch_to_block(exit);
    b.ins().return_(&[]);
}

/// Loads element(s) at index `i`, applies `f`, stores the result.
fn body(b: &mut FunctionBuilder, f: MathFn, ty: Type, ptrs: [Value; 3], i: Value, size: i64) {
    let flags = MemFlagsData::new().with_notrap();
    let off = b.ins().imul_imm_s(i, size);
    let addr = |b: &mut FunctionBuilder, p: Value| b.ins().iadd(p, off);
    let a = addr(b, ptrs[0]);
    let x = b.ins().load(ty, flags, a, 0);
    let mut args = vec![x];
    if f.arity() == 2 {
        let a = addr(b, ptrs[1]);
        args.push(b.ins().load(ty, flags, a, 0));
    }
    let r = emit(b, f, &args);
    let a = addr(b, ptrs[2]);
    b.ins().store(flags, r, a, 0);
}
