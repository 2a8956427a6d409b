//! The Cranelift JIT module: native ISA settings, the symbols kernels may
//! call, and the handle that keeps compiled code mapped.

use std::sync::Mutex;

use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;

use super::math;
use crate::error::CompileError;

/// Cranelift's two register allocators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegAlloc {
    /// Range splitting: the better code, and the default.
    Backtracking,
    /// One pass: several times faster to compile very large functions,
    /// whose backtracking allocation grows faster than linearly.
    SinglePass,
}

/// How Cranelift compiles a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tier {
    /// `opt_level=speed` (the e-graph optimiser: GVN, LICM, rewrites,
    /// instructions placed where first needed) or `none` (instructions
    /// stay in the order they were emitted).
    pub optimize: bool,
    pub regalloc: RegAlloc,
}

impl Tier {
    /// The default: optimised, backtracking allocator.
    pub const DEFAULT: Tier = Tier { optimize: true, regalloc: RegAlloc::Backtracking };
}

/// Set to `1` to run Cranelift's verifier on every kernel in release
/// builds too (debug builds always do).
pub const VERIFY_CLIF_ENV: &str = "GRADLIFT_VERIFY_CLIF";

fn verify_clif() -> bool {
    cfg!(debug_assertions) || std::env::var(VERIFY_CLIF_ENV).is_ok_and(|v| v == "1")
}

/// The host ISA with gradlift's settings: absolute addresses, inline stack
/// probes, and the optimiser and register allocator of `tier`.
pub(crate) fn host_isa(tier: Tier) -> Result<OwnedTargetIsa, CompileError> {
    let err = |msg: String| CompileError::codegen("(module)", msg);
    let mut flags = settings::builder();
    let ra = match tier.regalloc {
        RegAlloc::Backtracking => "backtracking",
        RegAlloc::SinglePass => "single_pass",
    };
    let opt = if tier.optimize { "speed" } else { "none" };
    for (k, v) in [
        ("opt_level", opt),
        ("is_pic", "false"),
        ("use_colocated_libcalls", "false"),
        // Kernels of long bodies can have frames of many pages (spilled
        // values): probe them inline so that running out of stack hits the
        // guard page instead of skipping it.
        ("enable_probestack", "true"),
        ("probestack_strategy", "inline"),
        ("regalloc_algorithm", ra),
        // Cranelift's IR verifier on every function: in debug builds (the
        // tests, which check the emitter on thousands of kernels) and with
        // `GRADLIFT_VERIFY_CLIF=1`; release builds skip it, as wasmtime
        // does: it was ~35 % of code generation (W6 gradient: 40 -> 26 ms).
        ("enable_verifier", if verify_clif() { "true" } else { "false" }),
    ] {
        flags.set(k, v).map_err(|e| err(format!("setting {k}={v}: {e}")))?;
    }
    cranelift_native::builder()
        .map_err(|e| err(format!("host CPU not supported by Cranelift: {e}")))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| err(format!("building the target ISA: {e}")))
}

/// A JIT module for the host CPU: `opt_level=speed`, absolute addresses,
/// every libm fallback and math-library symbol registered (so finalizing
/// never meets an unresolved symbol).
pub(crate) fn new_module() -> Result<JITModule, CompileError> {
    let isa = host_isa(Tier::DEFAULT)?;
    let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
    for (name, ptr) in libm_fallbacks() {
        jb.symbol(name, ptr);
    }
    for (name, ptr) in math::libcall_symbols() {
        jb.symbol(name, ptr);
    }
    for f in math::batch_symbols() {
        jb.symbol(f.name, f.addr);
    }
    Ok(JITModule::new(jb))
}

/// Owns the JIT module whose code a set of kernels runs; dropping it (the
/// last `CodeHandle`) unmaps the code. `JITModule` is `Send` but not
/// `Sync`; the mutex makes the handle `Sync` without unsafe code, and is
/// never locked while kernels run (their code is plain read-execute
/// memory).
pub struct JitCode {
    module: Mutex<Option<JITModule>>,
}

impl JitCode {
    pub(crate) fn new(module: JITModule) -> JitCode {
        JitCode { module: Mutex::new(Some(module)) }
    }
}

impl Drop for JitCode {
    fn drop(&mut self) {
        let module = match self.module.get_mut() {
            Ok(m) => m.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(m) = module {
            // SAFETY: kernel function pointers are valid only while their
            // `CodeHandle` (an `Arc` of this value) lives, and every
            // `CompiledKernel` holds one; this is the last reference, so no
            // kernel of this module is running or can be called again.
            unsafe { m.free_memory() };
        }
    }
}

/// libm routines Cranelift calls where the CPU lacks an instruction
/// (SSE4.1 rounding, FMA), and the memory routines it may emit, as Rust
/// functions so that nothing depends on the C library's symbols.
fn libm_fallbacks() -> Vec<(&'static str, *const u8)> {
    vec![
        ("floorf", gl_floorf as *const u8),
        ("floor", gl_floor as *const u8),
        ("ceilf", gl_ceilf as *const u8),
        ("ceil", gl_ceil as *const u8),
        ("truncf", gl_truncf as *const u8),
        ("trunc", gl_trunc as *const u8),
        ("nearbyintf", gl_nearbyintf as *const u8),
        ("nearbyint", gl_nearbyint as *const u8),
        ("fmaf", gl_fmaf as *const u8),
        ("fma", gl_fma as *const u8),
        ("memcpy", gl_memcpy as *const u8),
        ("memmove", gl_memmove as *const u8),
        ("memset", gl_memset as *const u8),
        ("memcmp", gl_memcmp as *const u8),
    ]
}

extern "C" fn gl_floorf(x: f32) -> f32 {
    x.floor()
}
extern "C" fn gl_floor(x: f64) -> f64 {
    x.floor()
}
extern "C" fn gl_ceilf(x: f32) -> f32 {
    x.ceil()
}
extern "C" fn gl_ceil(x: f64) -> f64 {
    x.ceil()
}
extern "C" fn gl_truncf(x: f32) -> f32 {
    x.trunc()
}
extern "C" fn gl_trunc(x: f64) -> f64 {
    x.trunc()
}
extern "C" fn gl_nearbyintf(x: f32) -> f32 {
    x.round_ties_even()
}
extern "C" fn gl_nearbyint(x: f64) -> f64 {
    x.round_ties_even()
}
extern "C" fn gl_fmaf(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
extern "C" fn gl_fma(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

/// # Safety
/// As C `memcpy`: valid, non-overlapping ranges of `n` bytes.
unsafe extern "C" fn gl_memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller (Cranelift-generated code) passes valid ranges.
    unsafe { std::ptr::copy_nonoverlapping(src, dst, n) };
    dst
}

/// # Safety
/// As C `memmove`: valid ranges of `n` bytes.
unsafe extern "C" fn gl_memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: as above; the ranges may overlap.
    unsafe { std::ptr::copy(src, dst, n) };
    dst
}

/// # Safety
/// As C `memset`: a valid range of `n` bytes.
unsafe extern "C" fn gl_memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: as above.
    unsafe { std::ptr::write_bytes(dst, c as u8, n) };
    dst
}

/// # Safety
/// As C `memcmp`: valid ranges of `n` bytes.
unsafe extern "C" fn gl_memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: as above.
    let (x, y) = unsafe { (std::slice::from_raw_parts(a, n), std::slice::from_raw_parts(b, n)) };
    match x.cmp(y) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }
}
