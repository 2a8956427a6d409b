//! Vectorised transcendental functions, emitted inline as CLIF.
//!
//! [`emit`] writes `f(args)` at the builder's position for F32, F64, F32X4
//! or F64X2 values. Common inputs run straight-line code; rare ones branch
//! to a cold block: log and pow (denormal or non-positive bases, non-finite
//! operands) recompute the vector with every special case, sin/cos of huge
//! arguments and fmod with huge quotients or non-finite operands call Rust
//! std per lane. Semantics follow the reference interpreter (Rust std)
//! including NaN, ±inf, ±0 and denormals; accuracy, algorithms and speed
//! are in `docs/math.md`.
//!
//! The JIT [`harness`] shows a complete use: a loop over arrays that calls
//! [`emit`] once for the vector body and once for the scalar tail.
//!
//! Layout: `ops` (typed CLIF helpers), one file per function family
//! (`exp`, `log`, `hyper`, `trig`, `pow`, `rounding`, `erf`), `coeffs`
//! (minimax tables from `remez.py`), `libcalls` (the scalar fallbacks),
//! `batch` (the same algorithms compiled by rustc for wider vectors, which
//! kernels call on blocks of values) and `harness` (a JIT driver for tests
//! and benchmarks).

mod batch;
mod coeffs;
mod erf;
mod exp;
pub mod harness;
mod hyper;
pub use batch::{
    batch_index, batch_symbols, exp_f32_lane, host_width, logistic_f32_lane, tanh_f32_lane,
    BatchElem, BatchFn, Width,
};
pub use hyper::{LOGISTIC_ZERO_F32, LOGISTIC_ZERO_F64};
mod libcalls;
mod log;
mod ops;
mod pow;
mod rounding;
mod trig;

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;
use ops::Ctx;

/// Functions emitted inline as CLIF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathFn {
    /// e^x.
    Exp,
    /// Natural logarithm.
    Log,
    /// ln(1 + x), accurate near 0.
    Log1p,
    /// e^x - 1, accurate near 0.
    Expm1,
    /// Hyperbolic tangent.
    Tanh,
    /// 1 / (1 + e^-x).
    Logistic,
    /// Sine (radians).
    Sin,
    /// Cosine (radians).
    Cos,
    /// x^y with the C99 `pow` special cases (two arguments).
    Pow,
    /// Round half away from zero.
    Round,
    /// fmod: remainder with the sign of the dividend (two arguments).
    Rem,
    /// Error function.
    Erf,
}

impl MathFn {
    /// Every function, in declaration order.
    pub const ALL: [MathFn; 12] = [
        MathFn::Exp,
        MathFn::Log,
        MathFn::Log1p,
        MathFn::Expm1,
        MathFn::Tanh,
        MathFn::Logistic,
        MathFn::Sin,
        MathFn::Cos,
        MathFn::Pow,
        MathFn::Round,
        MathFn::Rem,
        MathFn::Erf,
    ];

    /// Number of arguments: 2 for `Pow` and `Rem`, else 1.
    pub fn arity(self) -> usize {
        match self {
            MathFn::Pow | MathFn::Rem => 2,
            MathFn::Exp
            | MathFn::Log
            | MathFn::Log1p
            | MathFn::Expm1
            | MathFn::Tanh
            | MathFn::Logistic
            | MathFn::Sin
            | MathFn::Cos
            | MathFn::Round
            | MathFn::Erf => 1,
        }
    }
}

/// Emits `f(args)` at the builder's current position. The type comes from
/// the arguments: F32, F64, F32X4 or F64X2 (all args the same type); the
/// result has that type. Pow and Rem take two args.
///
/// Log, Pow, Sin, Cos and Rem split the current block (a cold block and a
/// merge block): afterwards the builder is positioned in the block that
/// defines the result; blocks created here are sealed here. Constants are
/// plain `f32const`/`splat`s, which Cranelift hoists out of rotated loops.
///
/// # Panics
/// On a wrong number of arguments, mixed types or an unsupported type:
/// these are bugs in the caller, not user errors.
pub fn emit(b: &mut FunctionBuilder, f: MathFn, args: &[Value]) -> Value {
    assert_eq!(args.len(), f.arity(), "math::emit: {f:?} takes {} argument(s)", f.arity());
    let ty = b.func.dfg.value_type(args[0]);
    for &a in &args[1..] {
        assert_eq!(b.func.dfg.value_type(a), ty, "math::emit: {f:?} arguments differ in type");
    }
    let mut c = Ctx::new(b, ty);
    let x = args[0];
    match f {
        MathFn::Exp => exp::exp(&mut c, x),
        MathFn::Log => log::log(&mut c, x),
        MathFn::Log1p => log::log1p(&mut c, x),
        MathFn::Expm1 => exp::expm1(&mut c, x),
        MathFn::Tanh => hyper::tanh(&mut c, x),
        MathFn::Logistic => hyper::logistic(&mut c, x),
        MathFn::Sin => trig::sin(&mut c, x),
        MathFn::Cos => trig::cos(&mut c, x),
        MathFn::Pow => pow::pow(&mut c, x, args[1]),
        MathFn::Round => rounding::round(&mut c, x),
        MathFn::Rem => rounding::rem(&mut c, x, args[1]),
        MathFn::Erf => erf::erf(&mut c, x),
    }
}

/// Symbols the emitted code may call (name, address), to register with
/// `JITBuilder::symbol` before finalising; empty if none.
///
/// These are the fallbacks: `extern "C" fn(buf: *mut T, n: usize)` batch
/// functions that apply Rust std `sin`, `cos` or `%` to the lanes in
/// `buf`. The emitted code reaches them through its own `preserve_all`
/// trampolines at absolute addresses (see `libcalls.rs`), so registering
/// them is harmless but not required; the names are for callers that want
/// to import them by name.
pub fn libcall_symbols() -> Vec<(&'static str, *const u8)> {
    libcalls::all().into_iter().map(|s| (s.name, s.addr)).collect()
}
