//! Elementwise ops: unary, binary, compare, select, convert. Each op is
//! looked up once per dtype as a plain `fn` on elements, then mapped over
//! the data; an op/dtype pair the shape rules reject has no entry.

use crate::dtype::DType;
use crate::error::IrError;
use crate::op::{BinaryOp, CompareOp, UnaryOp};
use crate::tensor::{Data, Tensor};

use super::elem::{internal, typed, unsupported, Elem, Num};

/// `op x`, elementwise.
pub(super) fn unary(op: UnaryOp, x: &Tensor) -> Result<Data, IrError> {
    let none = || unsupported(op.name(), x.dtype());
    Ok(match x.data() {
        Data::F32(v) => Data::F32(map(v, unary_f32(op).ok_or_else(none)?)),
        Data::F64(v) => Data::F64(map(v, unary_f64(op).ok_or_else(none)?)),
        Data::I32(v) => Data::I32(map(v, unary_i32(op).ok_or_else(none)?)),
        Data::I64(v) => Data::I64(map(v, unary_i64(op).ok_or_else(none)?)),
        Data::Bool(v) => Data::Bool(map(v, unary_bool(op).ok_or_else(none)?)),
    })
}

/// `x op y`, elementwise; both operands have the same type.
pub(super) fn binary(op: BinaryOp, x: &Tensor, y: &Tensor) -> Result<Data, IrError> {
    let none = || unsupported(op.name(), x.dtype());
    Ok(match (x.data(), y.data()) {
        (Data::F32(a), Data::F32(b)) => Data::F32(zip(a, b, binary_f32(op).ok_or_else(none)?)),
        (Data::F64(a), Data::F64(b)) => Data::F64(zip(a, b, binary_f64(op).ok_or_else(none)?)),
        (Data::I32(a), Data::I32(b)) => Data::I32(zip(a, b, binary_i32(op).ok_or_else(none)?)),
        (Data::I64(a), Data::I64(b)) => Data::I64(zip(a, b, binary_i64(op).ok_or_else(none)?)),
        (Data::Bool(a), Data::Bool(b)) => Data::Bool(zip(a, b, binary_bool(op).ok_or_else(none)?)),
        _ => return Err(mismatch(op.name(), x, y)),
    })
}

/// `x op y` → bool, elementwise. IEEE for floats: every comparison with NaN
/// is false except `ne`; -0 == +0. For bool, false < true.
pub(super) fn compare(op: CompareOp, x: &Tensor, y: &Tensor) -> Result<Data, IrError> {
    Ok(Data::Bool(match (x.data(), y.data()) {
        (Data::F32(a), Data::F32(b)) => compare_typed(op, a, b),
        (Data::F64(a), Data::F64(b)) => compare_typed(op, a, b),
        (Data::I32(a), Data::I32(b)) => compare_typed(op, a, b),
        (Data::I64(a), Data::I64(b)) => compare_typed(op, a, b),
        (Data::Bool(a), Data::Bool(b)) => compare_typed(op, a, b),
        _ => return Err(mismatch(op.name(), x, y)),
    }))
}

/// `pred ? on_true : on_false`, elementwise.
pub(super) fn select(pred: &Tensor, on_true: &Tensor, on_false: &Tensor) -> Result<Data, IrError> {
    let p = typed::<bool>(pred)?;
    for_dtype!(on_true.dtype(), T => {
        let (a, b) = (typed::<T>(on_true)?, typed::<T>(on_false)?);
        let out: Vec<T> =
            p.iter().zip(a.iter().zip(b)).map(|(&p, (&a, &b))| if p { a } else { b }).collect();
        Ok(T::wrap(out))
    })
}

/// Every number to `$t` with Rust `as` (bool through 0/1).
macro_rules! cast_numeric {
    ($x:expr, $t:ty) => {
        match $x {
            Data::F32(v) => map(v, |a| a as $t),
            Data::F64(v) => map(v, |a| a as $t),
            Data::I32(v) => map(v, |a| a as $t),
            Data::I64(v) => map(v, |a| a as $t),
            Data::Bool(v) => map(v, |a| u8::from(a) as $t),
        }
    };
}

/// `convert x, to=DT`: Rust `as` between numbers (float→int truncates toward
/// zero and saturates, NaN→0; int→int wraps; to float rounds to nearest),
/// `x != 0` to bool (NaN → true), 0/1 from bool.
pub(super) fn convert(x: &Data, to: DType) -> Data {
    match to {
        DType::F32 => Data::F32(cast_numeric!(x, f32)),
        DType::F64 => Data::F64(cast_numeric!(x, f64)),
        DType::I32 => Data::I32(cast_numeric!(x, i32)),
        DType::I64 => Data::I64(cast_numeric!(x, i64)),
        DType::Bool => Data::Bool(match x {
            Data::F32(v) => map(v, |a| a != 0.0),
            Data::F64(v) => map(v, |a| a != 0.0),
            Data::I32(v) => map(v, |a| a != 0),
            Data::I64(v) => map(v, |a| a != 0),
            Data::Bool(v) => v.clone(),
        }),
    }
}

fn map<A: Copy, B>(v: &[A], f: impl Fn(A) -> B) -> Vec<B> {
    v.iter().map(|&a| f(a)).collect()
}

fn zip<A: Copy, B>(a: &[A], b: &[A], f: impl Fn(A, A) -> B) -> Vec<B> {
    a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
}

fn mismatch(op: &str, x: &Tensor, y: &Tensor) -> IrError {
    internal(format!("{op}: operand dtypes differ ({} vs {})", x.dtype(), y.dtype()))
}

fn compare_typed<T: Elem>(op: CompareOp, a: &[T], b: &[T]) -> Vec<bool> {
    let f: fn(T, T) -> bool = match op {
        CompareOp::Eq => |a, b| a == b,
        CompareOp::Ne => |a, b| a != b,
        CompareOp::Lt => |a, b| a < b,
        CompareOp::Le => |a, b| a <= b,
        CompareOp::Gt => |a, b| a > b,
        CompareOp::Ge => |a, b| a >= b,
    };
    zip(a, b, f)
}

macro_rules! float_unary {
    ($name:ident, $t:ty) => {
        fn $name(op: UnaryOp) -> Option<fn($t) -> $t> {
            let f: fn($t) -> $t = match op {
                UnaryOp::Neg => |x| -x,
                UnaryOp::Abs => |x| x.abs(),
                // ±0 and NaN come back unchanged; f*::signum would give ±1 for ±0.
                UnaryOp::Sign => |x| if x == 0.0 || x.is_nan() { x } else { x.signum() },
                UnaryOp::Exp => |x| x.exp(),
                UnaryOp::Log => |x| x.ln(),
                UnaryOp::Log1p => |x| x.ln_1p(),
                UnaryOp::Expm1 => |x| x.exp_m1(),
                UnaryOp::Sqrt => |x| x.sqrt(),
                UnaryOp::Rsqrt => |x| 1.0 / x.sqrt(),
                UnaryOp::Sin => |x| x.sin(),
                UnaryOp::Cos => |x| x.cos(),
                UnaryOp::Tanh => |x| x.tanh(),
                // exp(-x) overflows to inf for very negative x, giving exactly
                // 0, and underflows to 0 for large x, giving exactly 1: no NaN.
                UnaryOp::Logistic => |x| 1.0 / (1.0 + (-x).exp()),
                UnaryOp::Floor => |x| x.floor(),
                UnaryOp::Ceil => |x| x.ceil(),
                // Half away from zero (f*::round), not numpy's half-to-even.
                UnaryOp::Round => |x| x.round(),
                UnaryOp::Not => return None,
            };
            Some(f)
        }
    };
}

float_unary!(unary_f32, f32);
float_unary!(unary_f64, f64);

macro_rules! int_unary {
    ($name:ident, $t:ty) => {
        fn $name(op: UnaryOp) -> Option<fn($t) -> $t> {
            let f: fn($t) -> $t = match op {
                UnaryOp::Neg => |x| x.wrapping_neg(),
                UnaryOp::Abs => |x| x.wrapping_abs(),
                UnaryOp::Sign => |x| x.signum(),
                UnaryOp::Not => |x| !x,
                UnaryOp::Exp
                | UnaryOp::Log
                | UnaryOp::Log1p
                | UnaryOp::Expm1
                | UnaryOp::Sqrt
                | UnaryOp::Rsqrt
                | UnaryOp::Sin
                | UnaryOp::Cos
                | UnaryOp::Tanh
                | UnaryOp::Logistic
                | UnaryOp::Floor
                | UnaryOp::Ceil
                | UnaryOp::Round => return None,
            };
            Some(f)
        }
    };
}

int_unary!(unary_i32, i32);
int_unary!(unary_i64, i64);

fn unary_bool(op: UnaryOp) -> Option<fn(bool) -> bool> {
    match op {
        UnaryOp::Not => Some(|x| !x),
        UnaryOp::Neg
        | UnaryOp::Abs
        | UnaryOp::Sign
        | UnaryOp::Exp
        | UnaryOp::Log
        | UnaryOp::Log1p
        | UnaryOp::Expm1
        | UnaryOp::Sqrt
        | UnaryOp::Rsqrt
        | UnaryOp::Sin
        | UnaryOp::Cos
        | UnaryOp::Tanh
        | UnaryOp::Logistic
        | UnaryOp::Floor
        | UnaryOp::Ceil
        | UnaryOp::Round => None,
    }
}

macro_rules! float_binary {
    ($name:ident, $t:ty) => {
        fn $name(op: BinaryOp) -> Option<fn($t, $t) -> $t> {
            let f: fn($t, $t) -> $t = match op {
                BinaryOp::Add => |a, b| a + b,
                BinaryOp::Sub => |a, b| a - b,
                BinaryOp::Mul => |a, b| a * b,
                BinaryOp::Div => |a, b| a / b,
                BinaryOp::Pow => |a, b| a.powf(b),
                BinaryOp::Max => <$t as Num>::maximum,
                BinaryOp::Min => <$t as Num>::minimum,
                // fmod: the result has the sign of the dividend.
                BinaryOp::Rem => |a, b| a % b,
                BinaryOp::And | BinaryOp::Or => return None,
            };
            Some(f)
        }
    };
}

float_binary!(binary_f32, f32);
float_binary!(binary_f64, f64);

macro_rules! int_binary {
    ($name:ident, $t:ty) => {
        fn $name(op: BinaryOp) -> Option<fn($t, $t) -> $t> {
            let f: fn($t, $t) -> $t = match op {
                BinaryOp::Add => |a, b| a.wrapping_add(b),
                BinaryOp::Sub => |a, b| a.wrapping_sub(b),
                BinaryOp::Mul => |a, b| a.wrapping_mul(b),
                // XLA: x / 0 = -1; MIN / -1 = MIN (wrapping_div).
                BinaryOp::Div => |a, b| if b == 0 { -1 } else { a.wrapping_div(b) },
                // XLA: x rem 0 = x; MIN rem -1 = 0 (wrapping_rem).
                BinaryOp::Rem => |a, b| if b == 0 { a } else { a.wrapping_rem(b) },
                BinaryOp::Max => <$t as Num>::maximum,
                BinaryOp::Min => <$t as Num>::minimum,
                BinaryOp::And => |a, b| a & b,
                BinaryOp::Or => |a, b| a | b,
                BinaryOp::Pow => return None,
            };
            Some(f)
        }
    };
}

int_binary!(binary_i32, i32);
int_binary!(binary_i64, i64);

fn binary_bool(op: BinaryOp) -> Option<fn(bool, bool) -> bool> {
    match op {
        BinaryOp::And => Some(|a, b| a && b),
        BinaryOp::Or => Some(|a, b| a || b),
        BinaryOp::Add
        | BinaryOp::Sub
        | BinaryOp::Mul
        | BinaryOp::Div
        | BinaryOp::Pow
        | BinaryOp::Max
        | BinaryOp::Min
        | BinaryOp::Rem => None,
    }
}
