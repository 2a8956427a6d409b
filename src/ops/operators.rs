//! Rust operators on traced values: `+ - * / %` between `Var`s and with
//! Rust numbers (`x / 3.0f32`, `x * 2`, `2.0 * x`, `1 - x`), unary
//! `-`, `& | !` for bool (or integer) values, and the `op=` forms. Every impl
//! is `#[track_caller]`, so the recorded location is the user's expression.

use std::ops::{
    Add, AddAssign, BitAnd, BitAndAssign, BitOr, BitOrAssign, Div, DivAssign, Mul, MulAssign, Neg,
    Not, Rem, RemAssign, Sub, SubAssign,
};

use gradlift_ir::BinaryOp;

use super::elementwise::binary_op;
use super::{Arg, Number, Scalar};
use crate::trace::Var;

/// `Var op Var`, `Var op= Var`, `Var op number`, `Var op= number` and
/// `number op Var` for the left-hand number types given.
///
/// Numbers on the right are one generic impl over [`Number`], so the result
/// type is known before a literal's type is: `(x / 3.0).exp()` compiles.
/// On the left only `f64` and `i64` are implemented, for the same reason:
/// with one float and one integer impl, `(2.0 * x).exp()` infers the
/// literal's type; with an `f32` impl beside `f64` it would not. (The value
/// is weakly typed either way, so nothing is lost: an `f32` variable on the
/// left can be written on the right, or widened with `f64::from`.)
macro_rules! binary_operator {
    ($Trait:ident, $method:ident, $Assign:ident, $assign:ident, $op:expr; $($left:ty),*) => {
        impl $Trait<Var> for Var {
            type Output = Var;
            #[track_caller]
            fn $method(self, rhs: Var) -> Var {
                binary_op($op, Arg::Var(self), Arg::Var(rhs))
            }
        }

        impl $Assign<Var> for Var {
            #[track_caller]
            fn $assign(&mut self, rhs: Var) {
                *self = binary_op($op, Arg::Var(*self), Arg::Var(rhs));
            }
        }

        impl<N: Number> $Trait<N> for Var {
            type Output = Var;
            #[track_caller]
            fn $method(self, rhs: N) -> Var {
                binary_op($op, Arg::Var(self), rhs.to_arg())
            }
        }

        impl<N: Number> $Assign<N> for Var {
            #[track_caller]
            fn $assign(&mut self, rhs: N) {
                *self = binary_op($op, Arg::Var(*self), rhs.to_arg());
            }
        }

        $(
            impl $Trait<Var> for $left {
                type Output = Var;
                #[track_caller]
                fn $method(self, rhs: Var) -> Var {
                    binary_op($op, Arg::Scalar(Scalar::from(self)), Arg::Var(rhs))
                }
            }
        )*
    };
}

/// `Var op Var`, `Var op bool`, `bool op Var` and the `op=` forms.
macro_rules! logic_operator {
    ($Trait:ident, $method:ident, $Assign:ident, $assign:ident, $op:expr) => {
        impl $Trait<Var> for Var {
            type Output = Var;
            #[track_caller]
            fn $method(self, rhs: Var) -> Var {
                binary_op($op, Arg::Var(self), Arg::Var(rhs))
            }
        }

        impl $Trait<bool> for Var {
            type Output = Var;
            #[track_caller]
            fn $method(self, rhs: bool) -> Var {
                binary_op($op, Arg::Var(self), Arg::Scalar(Scalar::Bool(rhs)))
            }
        }

        impl $Trait<Var> for bool {
            type Output = Var;
            #[track_caller]
            fn $method(self, rhs: Var) -> Var {
                binary_op($op, Arg::Scalar(Scalar::Bool(self)), Arg::Var(rhs))
            }
        }

        impl $Assign<Var> for Var {
            #[track_caller]
            fn $assign(&mut self, rhs: Var) {
                *self = binary_op($op, Arg::Var(*self), Arg::Var(rhs));
            }
        }

        impl $Assign<bool> for Var {
            #[track_caller]
            fn $assign(&mut self, rhs: bool) {
                *self = binary_op($op, Arg::Var(*self), Arg::Scalar(Scalar::Bool(rhs)));
            }
        }
    };
}

binary_operator!(Add, add, AddAssign, add_assign, BinaryOp::Add; f64, i64);
binary_operator!(Sub, sub, SubAssign, sub_assign, BinaryOp::Sub; f64, i64);
binary_operator!(Mul, mul, MulAssign, mul_assign, BinaryOp::Mul; f64, i64);
binary_operator!(Div, div, DivAssign, div_assign, BinaryOp::Div; f64, i64);
binary_operator!(Rem, rem, RemAssign, rem_assign, BinaryOp::Rem; f64, i64);
logic_operator!(BitAnd, bitand, BitAndAssign, bitand_assign, BinaryOp::And);
logic_operator!(BitOr, bitor, BitOrAssign, bitor_assign, BinaryOp::Or);

impl Neg for Var {
    type Output = Var;
    #[track_caller]
    fn neg(self) -> Var {
        Var::neg(self)
    }
}

impl Not for Var {
    type Output = Var;
    #[track_caller]
    fn not(self) -> Var {
        Var::not(self)
    }
}
