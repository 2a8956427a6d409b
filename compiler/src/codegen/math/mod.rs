//! Transcendental functions for kernels: **stand-in** for the CLIF math
//! library (written on the `math` branch), with the same API.
//!
//! Every function here is a per-lane call of a Rust `extern "C"` shim that
//! computes exactly what the reference interpreter computes (`f32::exp`,
//! `1 / (1 + exp(-x))`, `f32::round`, `%`, ...): correct and slow. The real
//! library replaces the calls by polynomial approximations in CLIF.
//!
//! Linking contract with the kernel compiler: [`libcall_symbols`] lists the
//! shims; the compiler registers each with the `JITBuilder` and declares
//! them, in this order, as the module's first imported functions, so the
//! `k`-th symbol is `FuncId(k)`. [`emit`] refers to it as the user external
//! name `u0:k`.

use cranelift_codegen::ir::{
    types, AbiParam, ExtFuncData, ExternalName, FuncRef, InstBuilder, Signature, Type,
    UserExternalName, Value,
};
use cranelift_frontend::FunctionBuilder;

/// The functions the math library provides, each for f32 and f64, scalar
/// or vector (F32X4, F64X2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathFn {
    Exp,
    Log,
    Log1p,
    Expm1,
    Tanh,
    /// `1 / (1 + exp(-x))`.
    Logistic,
    Sin,
    Cos,
    /// `pow(x, y)` (two arguments).
    Pow,
    /// Round half away from zero.
    Round,
    /// fmod (two arguments): the sign of the dividend.
    Rem,
    Erf,
}

impl MathFn {
    /// Every function, in the order of [`libcall_symbols`] (two symbols
    /// each: f32, then f64).
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

    /// Number of arguments.
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

    fn index(self) -> usize {
        MathFn::ALL.iter().position(|&f| f == self).unwrap_or(0)
    }
}

/// Emits `f(args)` for arguments of type F32, F64, F32X4 or F64X2 (all
/// arguments of one type) and returns the result, of the same type.
///
/// The stand-in calls the scalar shim once per lane.
pub fn emit(b: &mut FunctionBuilder, f: MathFn, args: &[Value]) -> Value {
    let ty = b.func.dfg.value_type(args[0]);
    let lane = ty.lane_type();
    let fref = shim_ref(b, f, lane);
    if !ty.is_vector() {
        let call = b.ins().call(fref, args);
        return b.inst_results(call)[0];
    }
    let mut out = args[0];
    for l in 0..ty.lane_count() as u8 {
        let lane_args: Vec<Value> = args.iter().map(|&a| b.ins().extractlane(a, l)).collect();
        let call = b.ins().call(fref, &lane_args);
        let r = b.inst_results(call)[0];
        out = b.ins().insertlane(out, r, l);
    }
    out
}

/// The shims to register with the JIT (`JITBuilder::symbol`), in the order
/// the compiler declares them (see the module docs).
pub fn libcall_symbols() -> Vec<(&'static str, *const u8)> {
    vec![
        ("gl_expf", gl_expf as *const u8),
        ("gl_exp", gl_exp as *const u8),
        ("gl_logf", gl_logf as *const u8),
        ("gl_log", gl_log as *const u8),
        ("gl_log1pf", gl_log1pf as *const u8),
        ("gl_log1p", gl_log1p as *const u8),
        ("gl_expm1f", gl_expm1f as *const u8),
        ("gl_expm1", gl_expm1 as *const u8),
        ("gl_tanhf", gl_tanhf as *const u8),
        ("gl_tanh", gl_tanh as *const u8),
        ("gl_logisticf", gl_logisticf as *const u8),
        ("gl_logistic", gl_logistic as *const u8),
        ("gl_sinf", gl_sinf as *const u8),
        ("gl_sin", gl_sin as *const u8),
        ("gl_cosf", gl_cosf as *const u8),
        ("gl_cos", gl_cos as *const u8),
        ("gl_powf", gl_powf as *const u8),
        ("gl_pow", gl_pow as *const u8),
        ("gl_roundf", gl_roundf as *const u8),
        ("gl_round", gl_round as *const u8),
        ("gl_fmodf", gl_fmodf as *const u8),
        ("gl_fmod", gl_fmod as *const u8),
        ("gl_erff", gl_erff as *const u8),
        ("gl_erf", gl_erf as *const u8),
    ]
}

/// The function reference of the shim of `f` for `lane` (F32 or F64),
/// imported into the function once.
fn shim_ref(b: &mut FunctionBuilder, f: MathFn, lane: Type) -> FuncRef {
    let index = (2 * f.index() + usize::from(lane == types::F64)) as u32;
    let wanted = UserExternalName::new(0, index);
    for (fref, data) in b.func.dfg.ext_funcs.iter() {
        if let ExternalName::User(r) = data.name {
            if b.func.params.user_named_funcs()[r] == wanted {
                return fref;
            }
        }
    }
    let mut sig = Signature::new(b.func.signature.call_conv);
    for _ in 0..f.arity() {
        sig.params.push(AbiParam::new(lane));
    }
    sig.returns.push(AbiParam::new(lane));
    let signature = b.import_signature(sig);
    let name = ExternalName::User(b.func.declare_imported_user_function(wanted));
    b.import_function(ExtFuncData { name, signature, colocated: false, patchable: false })
}

macro_rules! shim1 {
    ($name:ident, $t:ty, |$x:ident| $e:expr) => {
        extern "C" fn $name($x: $t) -> $t {
            $e
        }
    };
}

shim1!(gl_expf, f32, |x| x.exp());
shim1!(gl_exp, f64, |x| x.exp());
shim1!(gl_logf, f32, |x| x.ln());
shim1!(gl_log, f64, |x| x.ln());
shim1!(gl_log1pf, f32, |x| x.ln_1p());
shim1!(gl_log1p, f64, |x| x.ln_1p());
shim1!(gl_expm1f, f32, |x| x.exp_m1());
shim1!(gl_expm1, f64, |x| x.exp_m1());
shim1!(gl_tanhf, f32, |x| x.tanh());
shim1!(gl_tanh, f64, |x| x.tanh());
shim1!(gl_logisticf, f32, |x| 1.0 / (1.0 + (-x).exp()));
shim1!(gl_logistic, f64, |x| 1.0 / (1.0 + (-x).exp()));
shim1!(gl_sinf, f32, |x| x.sin());
shim1!(gl_sin, f64, |x| x.sin());
shim1!(gl_cosf, f32, |x| x.cos());
shim1!(gl_cos, f64, |x| x.cos());
shim1!(gl_roundf, f32, |x| x.round());
shim1!(gl_round, f64, |x| x.round());
shim1!(gl_erff, f32, |x| erf(f64::from(x)) as f32);
shim1!(gl_erf, f64, |x| erf(x));

extern "C" fn gl_powf(x: f32, y: f32) -> f32 {
    x.powf(y)
}

extern "C" fn gl_pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

extern "C" fn gl_fmodf(x: f32, y: f32) -> f32 {
    x % y
}

extern "C" fn gl_fmod(x: f64, y: f64) -> f64 {
    x % y
}

/// erf(x) (the IR has no erf op yet; Rust's std has none on stable):
/// Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7.
fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    y.copysign(x)
}
