//! Code generation: a fused kernel body (a verified `Function` of
//! elementwise ops, views and reductions) becomes a native SIMD kernel over
//! work units, compiled with Cranelift.
//!
//! The stages, one file each:
//!
//! | file | stage |
//! | --- | --- |
//! | `analysis.rs` | body → scalar expressions over an iteration space, views folded into index expressions (`index.rs`), dims collapsed |
//! | `plan.rs` | loop nest shape, vectorised dim, work units, reduction chunks |
//! | `small.rs` | small kernels: a body cut into stages (one loop nest each), scratch layout, the single function |
//! | `emit/` | CLIF: rotated loop nests, vector body + scalar tail, expression placement; `reduce.rs`: accumulators, combine, `finish` |
//! | `lower.rs`, `packet.rs` | CLIF of each op on scalars and 4-lane packets |
//! | `math/` | transcendental functions (exp, log, tanh, ...) |
//! | `jit.rs` | the JIT module and the code handle |
//! | `host.rs` | a reference executor on host tensors |
//!
//! ```
//! use gradlift_compiler::codegen::{run_kernel, KernelCompiler};
//! use gradlift_ir::{BinaryOp, DType, Function, Op, Tensor, Type};
//!
//! // x * x over f32[5]
//! let mut body = Function::new("square");
//! let x = body.add_param(Some("x"), Type::new(DType::F32, [5]))?;
//! let y = body.push(Op::Binary(BinaryOp::Mul), &[x, x], None)?;
//! body.set_results(vec![y])?;
//!
//! let mut c = KernelCompiler::new()?;
//! c.add("square", &body)?;
//! let kernels = c.finish()?;
//! let x = Tensor::from_vec([5], vec![1.0f32, 2.0, 3.0, 4.0, 5.0])?;
//! let out = run_kernel(&kernels[0], &body, &[x])?;
//! assert_eq!(out[0].as_slice::<f32>()?, &[1.0, 4.0, 9.0, 16.0, 25.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Kernels.** A *loop kernel* has results of one shape `S`; a *reduction
//! kernel* has reductions of operands of shape `S` over the same axes
//! (several, of any kinds and dtypes: sibling reductions share the pass)
//! and may also return values of shape `S`. In both, a reduction may only
//! be a result. A *small kernel* (fusion's `KernelKind::Small`: every
//! value at most 256 elements) mixes shapes freely and uses reductions
//! inside: it is cut into stages, each a loop or reduction kernel, run
//! one after the other in one call of one work unit, with intermediate
//! values in one scratch buffer (see `small.rs`). [`KernelCompiler::add`]
//! picks the kind from the body ([`kernel_kind`]);
//! [`KernelCompiler::add_kind`] takes fusion's. Non-scalar constants are
//! embedded in the module's data.
//!
//! **Work units and determinism.** A unit is a box of the iteration space:
//! a fixed block (about 2^14 elements) of the flattened loop kernel, a
//! group of reduction outputs, or, when a reduction has fewer than 64
//! outputs over at least 2^15 elements, one chunk of the reduced extent
//! whose partial result goes to scratch; `finish` then combines the
//! partials in chunk order. Element counts are weighted by the body's
//! cost: a point that evaluates a transcendental function counts as 16
//! (`plan::point_weight`), so a logistic over 10^4 elements is cut into
//! chunks the runtime can spread over threads. The split depends on shapes only, so results
//! are bitwise the same for every division of the units among threads.

//!
//! **Vectorised, and what falls back.** The innermost loop dim runs in
//! packets of 4 lanes (f32x4 / i32x4, pairs of f64x2 / i64x2, bools as
//! masks) with a scalar tail. Reads with a stride of 1 along it are vector
//! loads, -1 (reverse) a load and a lane shuffle, 0 (broadcasts) a value
//! computed once outside the loop and splatted; other strides gather lane by
//! lane, as do the rare reads a reshape leaves non-affine (loop dims that
//! a reshape divides are split first, so transposed reshapes stay affine);
//! those compute their index with unsigned division by constants. Lane by lane too: integer
//! division and remainder (x86 has no vector division), conversions that
//! change lane width between floats and integers (f32→i64, f64→i32/i64,
//! i32→f64, i64→f32), and, in the math stand-in, every transcendental
//! function.
//!
//! **Staged math.** Where a vector loop evaluates tanh, exp or logistic
//! (f32 or f64), it runs in blocks: the argument goes to a stack buffer, a batch
//! function compiled by rustc for AVX-512 or AVX2 (`math::batch`, the same
//! algorithm and bits as the inline CLIF) applies the function in place,
//! and the body reads the results back (see `emit`'s `Staging`).
//!
//! **Linking the math library.** [`math::libcall_symbols`] are registered
//! with the JIT builder and declared as the module's first imported
//! functions, in order, so that `math::emit` can call the `k`-th as the
//! user external name `u0:k`; the batch functions (`math::batch_symbols`)
//! follow them.

mod analysis;
mod emit;
mod host;
mod index;
mod jit;
mod lower;
pub mod math;
mod packet;
mod plan;
mod small;

use std::collections::HashMap;
use std::sync::Arc;

use cranelift_codegen::ir::{self, types, AbiParam, InstBuilder, UserFuncName};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{
    DataDescription, DataId, FuncId, Linkage, Module, ModuleError, ModuleReloc,
};
use gradlift_ir::{Data, Function, Tensor};
use gradlift_runtime::{CodeHandle, CompiledKernel, KernelFn};

pub use host::{run_kernel, run_kernel_ranges};
pub use jit::JitCode;

use crate::error::CompileError;
use crate::fusion::KernelKind;
use analysis::{analyse, check_body, single_nest, Kernel};
use emit::{load_buffer_ptrs, Gen, Ptrs};
use plan::{plan, plan_inline, Mode, Plan};
use small::{build_small_function, split_stages, Part, SmallCode};

/// Handle of a kernel added to a [`KernelCompiler`]: its index in the
/// vector [`KernelCompiler::finish`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelId(pub usize);

/// A kernel defined in the module, waiting for finalization.
struct Pending {
    name: String,
    main: FuncId,
    finish: Option<FuncId>,
    units: usize,
    grain: usize,
    unit_cost: usize,
    scratch_bytes: Vec<usize>,
}

/// Compiles many kernels into one JIT module (one mapping, one
/// finalization); the code is freed when the last kernel's `CodeHandle`
/// is dropped.
pub struct KernelCompiler {
    /// `None` once `finish` handed the module to the kernels' code handle.
    module: Option<JITModule>,
    ctx: Context,
    fctx: FunctionBuilderContext,
    kernels: Vec<Pending>,
    /// ISAs of tiers other than the module's own (see [`tier_for`]),
    /// made when first needed.
    isas: Vec<(jit::Tier, cranelift_codegen::isa::OwnedTargetIsa)>,
    /// The import index of the first batch math function, where the host
    /// has them and staging is on (see [`KernelCompiler::set_batch_math`]).
    batch_imports: Option<u32>,
    batch_first: Option<u32>,
}

/// Functions with more CLIF instructions than this are register-allocated
/// in one pass. The backtracking allocator's time grows faster than
/// linearly with the function: on the gradient of a 1000-step unrolled
/// logistic map (about 40 000 instructions) it takes ~370 ms against ~30 ms.
/// Below this size it costs a few milliseconds at most.
const LARGE_FUNCTION_INSTS: usize = 16_384;

/// How a kernel function is compiled. Kernels whose long bodies `emit`
/// schedules itself (explicit spill slots, interleaved packets: see
/// `emit::keeps_order`) skip Cranelift's optimiser, which would place each
/// pure instruction where its first side-effecting user needs it: the
/// interleaved dependency chains would be emitted one after the other,
/// and a gradient's whole reverse sweep after all of its reloads. Large
/// functions get the single-pass allocator (see [`LARGE_FUNCTION_INSTS`]).
fn tier_for(func: &ir::Function, keeps_order: bool) -> jit::Tier {
    let regalloc = if func.dfg.num_insts() > LARGE_FUNCTION_INSTS {
        jit::RegAlloc::SinglePass
    } else {
        jit::RegAlloc::Backtracking
    };
    jit::Tier { optimize: !keeps_order, regalloc }
}

/// Which function of a kernel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Main,
    Finish,
}

impl KernelCompiler {
    /// A compiler for the host CPU (`opt_level=speed`), with the math
    /// library's and libm's symbols registered.
    pub fn new() -> Result<KernelCompiler, CompileError> {
        let mut module = jit::new_module()?;
        // The math library names its functions by position (see
        // `math`'s docs): declare them first, in order.
        let sig = module.make_signature();
        for (k, (name, _)) in math::libcall_symbols().into_iter().enumerate() {
            let id = module
                .declare_function(name, Linkage::Import, &sig)
                .map_err(|e| CompileError::codegen("(module)", e.to_string()))?;
            if id.as_u32() as usize != k {
                return Err(CompileError::codegen(
                    "(module)",
                    format!("math symbol {name} got function id {}, expected {k}", id.as_u32()),
                ));
            }
        }
        // Then the batch functions, after them (their index is the
        // libcalls' count plus their own).
        let first = math::libcall_symbols().len() as u32;
        let mut bsig = module.make_signature();
        bsig.params.extend([AbiParam::new(types::I64), AbiParam::new(types::I64)]);
        let batch = math::batch_symbols();
        for (k, f) in batch.iter().enumerate() {
            let id = module
                .declare_function(f.name, Linkage::Import, &bsig)
                .map_err(|e| CompileError::codegen("(module)", e.to_string()))?;
            if id.as_u32() != first + k as u32 {
                return Err(CompileError::codegen(
                    "(module)",
                    format!("batch symbol {} got function id {}", f.name, id.as_u32()),
                ));
            }
        }
        let batch_first = (!batch.is_empty()).then_some(first);
        let ctx = module.make_context();
        Ok(KernelCompiler {
            module: Some(module),
            ctx,
            fctx: FunctionBuilderContext::new(),
            kernels: Vec::new(),
            isas: Vec::new(),
            batch_imports: batch_first,
            batch_first,
        })
    }

    /// Whether kernels added from now on may hand transcendental functions
    /// of their vector loops to the wider batch functions of
    /// `math::batch` (on by default where the host has them; results are
    /// the same bits either way, only the speed differs).
    pub fn set_batch_math(&mut self, on: bool) {
        self.batch_imports = if on { self.batch_first } else { None };
    }

    /// Compiles `body` as the kind [`kernel_kind`] decides: one loop
    /// nest when it is a loop or reduction kernel, else a small kernel
    /// when every value is small. Errors name the kernel, and for
    /// Cranelift errors hold the annotated CLIF.
    pub fn add(&mut self, name: &str, body: &Function) -> Result<KernelId, CompileError> {
        let kind = kind_of(name, body)?;
        self.add_kind(name, body, &kind)
    }

    /// Compiles `body` as a kernel of `kind` (fusion's decision, see
    /// [`crate::fusion::Step::Kernel`]): `Loop` and `Reduce` as one loop
    /// nest over work units (which of the two the body itself says),
    /// `Small` as a sequence of loop nests in one call of one unit, with
    /// intermediate values in scratch memory. A body that is one loop nest
    /// compiles as `Small` too; one with values larger than fusion's small
    /// bound as well, but runs on one thread.
    pub fn add_kind(
        &mut self,
        name: &str,
        body: &Function,
        kind: &KernelKind,
    ) -> Result<KernelId, CompileError> {
        match kind {
            KernelKind::Loop | KernelKind::Reduce => self.add_nest(name, body),
            KernelKind::Small => self.add_small(name, body),
        }
    }

    fn add_nest(&mut self, name: &str, body: &Function) -> Result<KernelId, CompileError> {
        let k = analyse(name, body)?;
        let p = plan(&k);
        let data = self.define_consts(&k, &mut HashMap::new())?;
        let main = self.define(&k, &p, &data, Role::Main)?;
        let finish =
            if p.chunks > 1 { Some(self.define(&k, &p, &data, Role::Finish)?) } else { None };
        let scratch_bytes = if p.chunks > 1 {
            k.outputs
                .iter()
                .filter(|o| o.reduce.is_some())
                .map(|o| (k.kept_size * p.chunks) as usize * o.dtype.size_bytes())
                .collect()
        } else {
            Vec::new()
        };
        self.kernels.push(Pending {
            name: name.to_string(),
            main,
            finish,
            units: p.units as usize,
            grain: p.grain as usize,
            unit_cost: p.unit_cost.saturating_mul(p.weight) as usize,
            scratch_bytes,
        });
        Ok(KernelId(self.kernels.len() - 1))
    }

    fn add_small(&mut self, name: &str, body: &Function) -> Result<KernelId, CompileError> {
        let code = self.small_code(name, body)?;
        let id = self.declare_kernel_function(name, "main")?;
        let Some(module) = self.module.as_mut() else { return Err(finished()) };
        let func = build_small_function(module, &mut self.fctx, name, &code)?;
        self.compile_function(name, id, func, code.keeps_order())?;
        let unit_cost = code.parts.iter().map(|pt| (pt.p.units * pt.p.unit_cost) as usize).sum();
        self.kernels.push(Pending {
            name: name.to_string(),
            main: id,
            finish: None,
            units: 1,
            grain: 1,
            unit_cost: usize::max(unit_cost, 1),
            scratch_bytes: if code.scratch_bytes > 0 {
                vec![code.scratch_bytes]
            } else {
                Vec::new()
            },
        });
        Ok(KernelId(self.kernels.len() - 1))
    }

    /// Cuts a small body into stages, analyses and plans each, and embeds
    /// their constants.
    fn small_code(&mut self, name: &str, body: &Function) -> Result<SmallCode, CompileError> {
        check_body(name, body)?;
        let stages = split_stages(name, body)?;
        let mut cache = HashMap::new();
        let mut parts = Vec::with_capacity(stages.stages.len());
        for stage in stages.stages {
            let k = analyse(name, &stage.body)?;
            let p = plan_inline(&k);
            let data = self.define_consts(&k, &mut cache)?;
            parts.push(Part { stage, k, p, data });
        }
        Ok(SmallCode {
            num_params: body.num_params(),
            num_results: body.results().len(),
            parts,
            scratch_bytes: stages.scratch_bytes,
        })
    }

    /// Finalizes the module (relocation, read-execute mapping) and returns
    /// the kernels in the order they were added.
    pub fn finish(mut self) -> Result<Vec<CompiledKernel>, CompileError> {
        let mut module = self.module.take().ok_or_else(finished)?;
        if let Err(e) = module.finalize_definitions() {
            // SAFETY: no function pointer of this module was handed out.
            unsafe { module.free_memory() };
            return Err(CompileError::codegen("(module)", e.to_string()));
        }
        let entry = |m: &JITModule, id: FuncId| -> KernelFn {
            let ptr = m.get_finalized_function(id);
            // SAFETY: the function was defined with the signature
            // (i64 bufs, i64 start, i64 end) -> () in the host's C calling
            // convention, which is `KernelFn`'s.
            unsafe { std::mem::transmute::<*const u8, KernelFn>(ptr) }
        };
        let fns: Vec<(KernelFn, Option<KernelFn>)> = self
            .kernels
            .iter()
            .map(|k| (entry(&module, k.main), k.finish.map(|f| entry(&module, f))))
            .collect();
        let kernels = std::mem::take(&mut self.kernels);
        let code: CodeHandle = Arc::new(JitCode::new(module));
        Ok(kernels
            .into_iter()
            .zip(fns)
            .map(|(k, (main, finish))| CompiledKernel {
                name: k.name,
                main,
                units: k.units,
                grain: k.grain,
                unit_cost: k.unit_cost,
                scratch_bytes: k.scratch_bytes,
                finish,
                code: Arc::clone(&code),
            })
            .collect())
    }

    fn module(&mut self) -> Result<&mut JITModule, CompileError> {
        self.module.as_mut().ok_or_else(finished)
    }

    /// Embeds the kernel's non-scalar constants as read-only data, once
    /// per tensor of `cache` (keyed by address).
    fn define_consts(
        &mut self,
        k: &Kernel,
        cache: &mut HashMap<*const Tensor, DataId>,
    ) -> Result<Vec<DataId>, CompileError> {
        let err = |e: ModuleError| CompileError::codegen(&k.name, e.to_string());
        let mut ids = Vec::new();
        for t in &k.consts {
            if let Some(&id) = cache.get(&Arc::as_ptr(t)) {
                ids.push(id);
                continue;
            }
            let id = self.module()?.declare_anonymous_data(false, false).map_err(err)?;
            let mut desc = DataDescription::new();
            desc.define(tensor_bytes(t).into_boxed_slice());
            desc.set_align(16);
            self.module()?.define_data(id, &desc).map_err(err)?;
            cache.insert(Arc::as_ptr(t), id);
            ids.push(id);
        }
        Ok(ids)
    }

    /// Declares a function with the kernel signature, named
    /// `gradlift:{kernel}.{suffix}#{n}` (`n`: the kernel's index in this
    /// module, for uniqueness): profilers that read the JIT's perf map
    /// (`perf` sets `PERF_BUILDID_DIR`, for which Cranelift writes
    /// `/tmp/perf-<pid>.map`) show kernels by the names `gradlift clif`
    /// and fusion dumps use.
    fn declare_kernel_function(
        &mut self,
        kernel: &str,
        suffix: &str,
    ) -> Result<FuncId, CompileError> {
        let n = self.kernels.len();
        let module = self.module()?;
        let sig = kernel_signature(module);
        module
            .declare_function(&format!("gradlift:{kernel}.{suffix}#{n}"), Linkage::Local, &sig)
            .map_err(|e| CompileError::codegen(kernel, e.to_string()))
    }

    /// Builds and compiles one function of a kernel.
    fn define(
        &mut self,
        k: &Kernel,
        p: &Plan,
        data: &[DataId],
        role: Role,
    ) -> Result<FuncId, CompileError> {
        let suffix = if role == Role::Main { "main" } else { "finish" };
        let id = self.declare_kernel_function(&k.name, suffix)?;
        let Some(module) = self.module.as_mut() else { return Err(finished()) };
        let func = build_function(module, &mut self.fctx, k, p, data, role, self.batch_imports)?;
        self.compile_function(&k.name, id, func, emit::keeps_order(k))?;
        Ok(id)
    }

    /// Compiles `func` as the body of function `id` (`keeps_order`: see
    /// [`tier_for`]).
    fn compile_function(
        &mut self,
        name: &str,
        id: FuncId,
        func: ir::Function,
        keeps_order: bool,
    ) -> Result<(), CompileError> {
        let tier = tier_for(&func, keeps_order);
        if tier != jit::Tier::DEFAULT && !self.isas.iter().any(|(t, _)| *t == tier) {
            self.isas.push((tier, jit::host_isa(tier)?));
        }
        let Some(module) = self.module.as_mut() else { return Err(finished()) };
        self.ctx.func = func;
        let res = match self.isas.iter().find(|(t, _)| *t == tier) {
            Some((_, isa)) => define_with_isa(module, &**isa, id, &mut self.ctx),
            None => module.define_function(id, &mut self.ctx),
        };
        let out = res.map_err(|e| {
            let msg = match e {
                ModuleError::Compilation(ce) => {
                    cranelift_codegen::print_errors::pretty_error(&self.ctx.func, ce)
                }
                other => other.to_string(),
            };
            CompileError::codegen(name, format!("Cranelift rejected the kernel: {msg}"))
        });
        module.clear_context(&mut self.ctx);
        out
    }
}

impl Drop for KernelCompiler {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: the module was never finished, so no function pointer
            // of it was handed out; nothing can run its code.
            unsafe { m.free_memory() };
        }
    }
}

/// What `JITModule::define_function` does, with another ISA (same target,
/// other settings): compile, then define the bytes with their relocations.
/// Returns `define_function`'s error type, so both paths report alike.
#[allow(clippy::result_large_err)]
fn define_with_isa(
    module: &mut JITModule,
    isa: &dyn cranelift_codegen::isa::TargetIsa,
    id: FuncId,
    ctx: &mut Context,
) -> Result<(), ModuleError> {
    let mut ctrl = cranelift_codegen::control::ControlPlane::default();
    let buffer_align = ctx
        .compile(isa, &mut ctrl)
        .map_err(|e| ModuleError::Compilation(e.inner))?
        .buffer
        .alignment;
    let code = ctx.compiled_code().expect("compiled above");
    let align = (buffer_align as u64)
        .max(isa.function_alignment().minimum as u64)
        .max(isa.symbol_alignment());
    let bytes = code.code_buffer().to_vec();
    let relocs: Vec<ModuleReloc> = code
        .buffer
        .relocs()
        .iter()
        .map(|r| ModuleReloc::from_mach_reloc(r, &ctx.func, id))
        .collect();
    module.define_function_bytes(id, align, &bytes, &relocs)
}

fn finished() -> CompileError {
    CompileError::codegen("(module)", "the kernel compiler was already finished")
}

/// The kind of kernel [`KernelCompiler::add`] compiles `body` as: `Loop`
/// or `Reduce` when it is one loop nest (every result of one shape, or
/// reductions over one iteration space and side outputs of that shape,
/// no reduction used inside), else `Small` when every value has at most
/// 256 elements. Errors say why the body is neither.
pub fn kernel_kind(body: &Function) -> Result<KernelKind, CompileError> {
    kind_of(body.name(), body)
}

fn kind_of(name: &str, body: &Function) -> Result<KernelKind, CompileError> {
    check_body(name, body)?;
    match single_nest(name, body) {
        Ok((analysis::KernelKind::Loop, _, _)) => Ok(KernelKind::Loop),
        Ok((analysis::KernelKind::Reduction, _, _)) => Ok(KernelKind::Reduce),
        Err(_) if small::is_small(body) => Ok(KernelKind::Small),
        Err(e) => Err(e),
    }
}

/// `(bufs: *const *mut u8, start: usize, end: usize)` in the host ABI.
fn kernel_signature(module: &JITModule) -> ir::Signature {
    let mut sig = module.make_signature();
    for _ in 0..3 {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig
}

/// An empty function with the kernel signature, named `{kernel}_{suffix}`
/// (characters outside `[A-Za-z0-9_]` become `_`).
fn kernel_function(module: &JITModule, kernel: &str, suffix: &str) -> ir::Function {
    let name: String = format!("{kernel}_{suffix}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    ir::Function::with_name_signature(UserFuncName::testcase(name), kernel_signature(module))
}

/// The CLIF of one function of a kernel (before Cranelift's optimiser).
fn build_function(
    module: &JITModule,
    fctx: &mut FunctionBuilderContext,
    k: &Kernel,
    p: &Plan,
    data: &[DataId],
    role: Role,
    batch_imports: Option<u32>,
) -> Result<ir::Function, CompileError> {
    let suffix = if role == Role::Main { "main" } else { "finish" };
    let mut func = kernel_function(module, &k.name, suffix);
    let gvs: Vec<ir::GlobalValue> =
        data.iter().map(|&d| module.declare_data_in_func(d, &mut func)).collect();
    let reductions = k.outputs.iter().filter(|o| o.reduce.is_some()).count();
    let n_scratch = if p.chunks > 1 { reductions } else { 0 };
    let n_out = k.outputs.len();
    let failure = {
        let mut b = FunctionBuilder::new(&mut func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (bufs, start, end) = (params[0], params[1], params[2]);
        let needs_ptrs = !matches!(p.mode, Mode::Empty);
        let all = if needs_ptrs {
            load_buffer_ptrs(&mut b, bufs, k.num_params + n_out + n_scratch)
        } else {
            Vec::new()
        };
        let ptrs = if needs_ptrs {
            Ptrs {
                inputs: all[..k.num_params].to_vec(),
                outputs: all[k.num_params..k.num_params + n_out].to_vec(),
                scratch: all[k.num_params + n_out..].to_vec(),
                data: gvs.iter().map(|&gv| b.ins().symbol_value(types::I64, gv)).collect(),
            }
        } else {
            Ptrs { inputs: Vec::new(), outputs: Vec::new(), scratch: Vec::new(), data: Vec::new() }
        };
        let g = Gen::new(k, p, ptrs, batch_imports);
        match role {
            Role::Main => g.main_body(&mut b, start, end),
            Role::Finish => g.finish_body(&mut b),
        }
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(module.target_config());
        g.failure.into_inner()
    };
    match failure {
        Some(msg) => Err(CompileError::codegen(&k.name, msg)),
        None => Ok(func),
    }
}

/// A tensor's elements as little-endian bytes (bool: one byte, 0 or 1).
fn tensor_bytes(t: &Tensor) -> Vec<u8> {
    match t.data() {
        Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Data::Bool(v) => v.iter().map(|&x| u8::from(x)).collect(),
    }
}

/// The CLIF of a kernel body before Cranelift's optimiser, compiled as
/// [`KernelCompiler::add`] would: a header with the analysis and schedule
/// (of each stage, for small kernels), then `main` (and `finish` for
/// chunked reductions). Deterministic, for `gradlift clif` and snapshots.
pub fn clif_text(body: &Function) -> Result<String, CompileError> {
    clif_text_kind(body, &kind_of(body.name(), body)?)
}

/// [`clif_text`] of `body` compiled as a kernel of `kind` (see
/// [`KernelCompiler::add_kind`]).
pub fn clif_text_kind(body: &Function, kind: &KernelKind) -> Result<String, CompileError> {
    render_kind(body, kind, &mut |f, _, _| Ok(f.display().to_string()))
}

/// The machine code of the kernel functions of `body` (compiled as
/// [`KernelCompiler::add`] would), as Cranelift's disassembly of its
/// lowered code (one `block` per basic block, stack slots as offsets).
pub fn asm_text(body: &Function) -> Result<String, CompileError> {
    asm_text_kind(body, &kind_of(body.name(), body)?)
}

/// [`asm_text`] of `body` compiled as a kernel of `kind`.
pub fn asm_text_kind(body: &Function, kind: &KernelKind) -> Result<String, CompileError> {
    render_kind(body, kind, &mut |f, name, keeps_order| {
        let isa = jit::host_isa(tier_for(&f, keeps_order))?;
        let mut ctx = Context::for_function(f);
        ctx.set_disasm(true);
        let mut ctrl = cranelift_codegen::control::ControlPlane::default();
        let code = ctx.compile(&*isa, &mut ctrl).map_err(|e| {
            let msg = cranelift_codegen::print_errors::pretty_error(e.func, e.inner);
            CompileError::codegen(name, format!("Cranelift rejected the kernel: {msg}"))
        })?;
        Ok(code.vcode.clone().unwrap_or_default())
    })
}

/// Builds the functions of `body` as a kernel of `kind` and renders each
/// with `render`, after a header describing the kernel.
fn render_kind(
    body: &Function,
    kind: &KernelKind,
    render: &mut dyn FnMut(ir::Function, &str, bool) -> Result<String, CompileError>,
) -> Result<String, CompileError> {
    let mut c = KernelCompiler::new()?;
    let name = body.name();
    if *kind == KernelKind::Small {
        let code = c.small_code(name, body)?;
        let Some(module) = c.module.as_ref() else { return Err(finished()) };
        let f = build_small_function(module, &mut c.fctx, name, &code)?;
        return Ok(format!("{}{}", code.header(name), render(f, name, code.keeps_order())?));
    }
    let k = analyse(name, body)?;
    let p = plan(&k);
    let data = c.define_consts(&k, &mut HashMap::new())?;
    let mut out = format!("; kernel @{name}: {}\n; {p}\n", describe_nest(&k));
    let roles: &[Role] = if p.chunks > 1 { &[Role::Main, Role::Finish] } else { &[Role::Main] };
    for &role in roles {
        let Some(module) = c.module.as_ref() else { return Err(finished()) };
        let f = build_function(module, &mut c.fctx, &k, &p, &data, role, c.batch_imports)?;
        for (index, import) in imported_names(&f) {
            out.push_str(&format!("; u0:{index} = {import}\n"));
        }
        out.push_str(&render(f, name, emit::keeps_order(&k))?);
    }
    Ok(out)
}

/// The module functions `f` imports by name (`u0:index`), with their
/// symbol names, for the CLIF header: the batch functions staged loops
/// call.
fn imported_names(f: &ir::Function) -> Vec<(u32, &'static str)> {
    let libcalls = math::libcall_symbols().len() as u32;
    let batch = math::batch_symbols();
    let mut names: Vec<(u32, &'static str)> = f
        .params
        .user_named_funcs()
        .values()
        .filter(|n| n.namespace == 0 && n.index >= libcalls)
        .filter_map(|n| batch.get((n.index - libcalls) as usize).map(|b| (n.index, b.name)))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// `Loop over f32[4,5] (loop dims [20])`: an analysed nest in one line.
fn describe_nest(k: &Kernel) -> String {
    let dims: Vec<String> = k
        .dims
        .iter()
        .map(|d| format!("{}{}", d.extent, if d.reduced { "r" } else { "" }))
        .collect();
    format!("{:?} over {} (loop dims [{}])", k.kind, k.shape, dims.join(", "))
}
