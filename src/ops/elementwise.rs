//! Elementwise ops: unary math, binary math, comparisons, logic, `select`,
//! `cast` and `stop_gradient`. Binary ops broadcast by numpy rules and take
//! weakly typed scalars (see [`Scalar`](super::Scalar)).

use gradlift_ir::{BinaryOp, CompareOp, DType, Op, UnaryOp, Value};
use smallvec::SmallVec;

use super::{binary, Arg, Operand, Sealed};
use crate::error::Error;
use crate::trace::{emit, Emitter, Var};

#[track_caller]
fn unary(x: Var, u: UnaryOp) -> Var {
    emit(u.name(), &[x], |cx, v| cx.push(Op::Unary(u), &[v[0]]))
}

/// `lhs op rhs` for an IR binary op, broadcasting.
#[track_caller]
pub(crate) fn binary_op(op: BinaryOp, lhs: Arg, rhs: Arg) -> Var {
    binary(op.name(), lhs, rhs, |cx, a, b| cx.push(Op::Binary(op), &[a, b]))
}

#[track_caller]
fn compare(op: CompareOp, lhs: Arg, rhs: Arg) -> Var {
    binary(op.name(), lhs, rhs, |cx, a, b| cx.push(Op::Compare(op), &[a, b]))
}

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:ident;)*) => {
        // `neg` and `not` share names with `std::ops`; the operators call them.
        #[allow(clippy::should_implement_trait)]
        impl Var {
            $(
                $(#[$doc])*
                #[track_caller]
                pub fn $name(self) -> Var {
                    unary(self, UnaryOp::$op)
                }
            )*
        }
    };
}

unary_methods! {
    /// `-x` (numeric; integers wrap). Also the unary `-` operator.
    neg => Neg;
    /// `|x|` (numeric).
    abs => Abs;
    /// -1, 0 or 1 by the sign of `x` (numeric; NaN stays NaN).
    sign => Sign;
    /// `e^x` (float).
    exp => Exp;
    /// Natural logarithm (float).
    log => Log;
    /// `log(1 + x)`, accurate near 0 (float).
    log1p => Log1p;
    /// `e^x - 1`, accurate near 0 (float).
    expm1 => Expm1;
    /// Square root (float).
    sqrt => Sqrt;
    /// `1 / sqrt(x)` (float).
    rsqrt => Rsqrt;
    /// Sine (float).
    sin => Sin;
    /// Cosine (float).
    cos => Cos;
    /// Hyperbolic tangent (float).
    tanh => Tanh;
    /// The logistic function `1 / (1 + e^-x)` (float); same as [`Var::logistic`].
    sigmoid => Logistic;
    /// The logistic function `1 / (1 + e^-x)` (float).
    logistic => Logistic;
    /// Round toward -inf (float).
    floor => Floor;
    /// Round toward +inf (float).
    ceil => Ceil;
    /// Round half away from zero (float).
    round => Round;
    /// Logical not (bool) or bitwise not (integers). Also the `!` operator.
    not => Not;
}

impl Var {
    /// `x * x`.
    #[track_caller]
    pub fn square(self) -> Var {
        emit("square", &[self], |cx, v| cx.push(Op::Binary(BinaryOp::Mul), &[v[0], v[0]]))
    }

    /// `1 / x`.
    #[track_caller]
    pub fn recip(self) -> Var {
        binary_op(BinaryOp::Div, Arg::Scalar(1.into()), self.to_arg())
    }

    /// `max(x, 0)` (NaN stays NaN).
    #[track_caller]
    pub fn relu(self) -> Var {
        binary("relu", self.to_arg(), Arg::Scalar(0.into()), |cx, a, b| {
            cx.push(Op::Binary(BinaryOp::Max), &[a, b])
        })
    }

    /// `x ^ exponent`, elementwise (float), broadcasting.
    #[track_caller]
    pub fn pow(self, exponent: impl Operand) -> Var {
        binary_op(BinaryOp::Pow, self.to_arg(), exponent.to_arg())
    }

    /// `x ^ exponent` for a scalar exponent (float): one `pow` op. For small
    /// integer exponents [`Var::powi`] is cheaper and exact.
    #[track_caller]
    pub fn powf(self, exponent: f64) -> Var {
        self.pow(exponent)
    }

    /// `x ^ n` by repeated multiplication (exponentiation by squaring, so
    /// `O(log n)` ops); negative `n` divides 1 by the result, `n == 0` gives
    /// ones. Works for integer dtypes too.
    #[track_caller]
    pub fn powi(self, n: i32) -> Var {
        emit("powi", &[self], |cx, v| powi(cx, v[0], n))
    }

    /// Elementwise maximum, broadcasting (NaN-propagating for floats).
    #[track_caller]
    pub fn maximum(self, other: impl Operand) -> Var {
        binary_op(BinaryOp::Max, self.to_arg(), other.to_arg())
    }

    /// Elementwise minimum, broadcasting (NaN-propagating for floats).
    #[track_caller]
    pub fn minimum(self, other: impl Operand) -> Var {
        binary_op(BinaryOp::Min, self.to_arg(), other.to_arg())
    }

    /// Remainder with the sign of the dividend (C `fmod`), broadcasting.
    /// Also the `%` operator.
    #[track_caller]
    #[allow(clippy::should_implement_trait)] // `Rem` is implemented; this also takes scalars
    pub fn rem(self, other: impl Operand) -> Var {
        binary_op(BinaryOp::Rem, self.to_arg(), other.to_arg())
    }

    /// `x == other`, elementwise, broadcasting; the result is bool.
    #[track_caller]
    pub fn eq(self, other: impl Operand) -> Var {
        compare(CompareOp::Eq, self.to_arg(), other.to_arg())
    }

    /// `x != other`, elementwise, broadcasting; the result is bool.
    #[track_caller]
    pub fn ne(self, other: impl Operand) -> Var {
        compare(CompareOp::Ne, self.to_arg(), other.to_arg())
    }

    /// `x < other`, elementwise, broadcasting; the result is bool.
    #[track_caller]
    pub fn lt(self, other: impl Operand) -> Var {
        compare(CompareOp::Lt, self.to_arg(), other.to_arg())
    }

    /// `x <= other`, elementwise, broadcasting; the result is bool.
    #[track_caller]
    pub fn le(self, other: impl Operand) -> Var {
        compare(CompareOp::Le, self.to_arg(), other.to_arg())
    }

    /// `x > other`, elementwise, broadcasting; the result is bool.
    #[track_caller]
    pub fn gt(self, other: impl Operand) -> Var {
        compare(CompareOp::Gt, self.to_arg(), other.to_arg())
    }

    /// `x >= other`, elementwise, broadcasting; the result is bool.
    #[track_caller]
    pub fn ge(self, other: impl Operand) -> Var {
        compare(CompareOp::Ge, self.to_arg(), other.to_arg())
    }

    /// Logical and (bool) or bitwise and (integers), broadcasting. Also `&`.
    #[track_caller]
    pub fn and(self, other: impl Operand) -> Var {
        binary_op(BinaryOp::And, self.to_arg(), other.to_arg())
    }

    /// Logical or (bool) or bitwise or (integers), broadcasting. Also `|`.
    #[track_caller]
    pub fn or(self, other: impl Operand) -> Var {
        binary_op(BinaryOp::Or, self.to_arg(), other.to_arg())
    }

    /// `select(self, on_true, on_false)`: this bool value picks between the
    /// branches elementwise (see [`select`]).
    #[track_caller]
    pub fn select(self, on_true: impl Operand, on_false: impl Operand) -> Var {
        select(self, on_true, on_false)
    }

    /// Converts to another dtype (float→int truncates toward zero,
    /// saturating; →bool is `x != 0`). Casting to the value's own dtype
    /// records nothing and returns the value.
    #[track_caller]
    pub fn cast(self, dtype: DType) -> Var {
        emit("convert", &[self], |cx, v| {
            if cx.dtype(v[0]) == dtype {
                Ok(v[0])
            } else {
                cx.push(Op::Convert { to: dtype }, &[v[0]])
            }
        })
    }

    /// The identity, with a zero derivative: gradients do not flow through.
    #[track_caller]
    pub fn stop_gradient(self) -> Var {
        emit("stop_gradient", &[self], |cx, v| cx.push(Op::StopGradient, &[v[0]]))
    }
}

/// Elementwise choice: `on_true` where `pred` is true, else `on_false`.
///
/// `pred` must be bool. The three operands broadcast by numpy rules; a
/// branch may be a Rust scalar, which takes the other branch's dtype (at
/// least one branch must be traced). Branches must share a dtype.
#[track_caller]
pub fn select(pred: Var, on_true: impl Operand, on_false: impl Operand) -> Var {
    let (ta, fa) = (on_true.to_arg(), on_false.to_arg());
    let mut inputs: SmallVec<[Var; 3]> = SmallVec::new();
    inputs.push(pred);
    inputs.extend([ta, fa].into_iter().filter_map(|a| match a {
        Arg::Var(v) => Some(v),
        Arg::Scalar(_) => None,
    }));
    emit("select", &inputs, |cx, v| {
        let p = v[0];
        if cx.dtype(p) != DType::Bool {
            return Err(cx.error(format!("the predicate must be bool, got {}", cx.dtype(p))));
        }
        let mut traced = v[1..].iter().copied();
        let t = match ta {
            Arg::Var(_) => traced.next(),
            Arg::Scalar(_) => None,
        };
        let f = match fa {
            Arg::Var(_) => traced.next(),
            Arg::Scalar(_) => None,
        };
        let Some(dtype) = t.or(f).map(|b| cx.dtype(b)) else {
            return Err(cx.error("at least one branch must be a traced value"));
        };
        let t = branch(cx, t, ta, dtype)?;
        let f = branch(cx, f, fa, dtype)?;
        cx.same_dtype(t, f)?;
        let (sp, st, sf) = (cx.shape(p).clone(), cx.shape(t).clone(), cx.shape(f).clone());
        let shape = cx.common_shape(&sp, &st)?;
        let shape = cx.common_shape(&shape, &sf)?;
        let p = cx.broadcast_to(p, &shape)?;
        let t = cx.broadcast_to(t, &shape)?;
        let f = cx.broadcast_to(f, &shape)?;
        cx.push(Op::Select, &[p, t, f])
    })
}

/// The value of one `select` branch: the traced value, or the scalar as a
/// constant of the other branch's dtype.
fn branch(
    cx: &mut Emitter<'_>,
    traced: Option<Value>,
    arg: Arg,
    dtype: DType,
) -> Result<Value, Error> {
    match (traced, arg) {
        (Some(v), _) => Ok(v),
        (None, Arg::Scalar(s)) => cx.scalar(s, dtype),
        (None, Arg::Var(_)) => Err(cx.error("internal: a traced branch went missing")),
    }
}

/// numpy's name for [`select`]: `where_(cond, x, y)`.
#[track_caller]
pub fn where_(pred: Var, on_true: impl Operand, on_false: impl Operand) -> Var {
    select(pred, on_true, on_false)
}

/// `x ^ n` by squaring: multiplies the powers of two of `|n|` that are set.
fn powi(cx: &mut Emitter<'_>, x: Value, n: i32) -> Result<Value, Error> {
    let mul = |cx: &mut Emitter<'_>, a, b| cx.push(Op::Binary(BinaryOp::Mul), &[a, b]);
    let mut e = n.unsigned_abs();
    if e == 0 {
        let dtype = cx.dtype(x);
        let shape = cx.shape(x).clone();
        let one = cx.scalar(1.into(), dtype)?;
        return cx.broadcast_to(one, &shape);
    }
    let mut base = x;
    let mut acc: Option<Value> = None;
    while e > 0 {
        if e & 1 == 1 {
            acc = Some(match acc {
                Some(a) => mul(cx, a, base)?,
                None => base,
            });
        }
        e >>= 1;
        if e > 0 {
            base = mul(cx, base, base)?;
        }
    }
    let acc = acc.unwrap_or(x);
    if n > 0 {
        return Ok(acc);
    }
    let dtype = cx.dtype(x);
    let shape = cx.shape(x).clone();
    let one = cx.scalar(1.into(), dtype)?;
    let one = cx.broadcast_to(one, &shape)?;
    cx.push(Op::Binary(BinaryOp::Div), &[one, acc])
}
