//! Rust operators on traced values: `+ - * / %` between `Var`s and with
//! `f32 f64 i32 i64` scalars on either side (`2.0 * x`, `x / 3.0f32`), unary
//! `-`, `& | !` for bool (or integer) values, and the `op=` forms. Every impl
//! is `#[track_caller]`, so the recorded location is the user's expression.

use std::ops::{
    Add, AddAssign, BitAnd, BitAndAssign, BitOr, BitOrAssign, Div, DivAssign, Mul, MulAssign, Neg,
    Not, Rem, RemAssign, Sub, SubAssign,
};

use gradlift_ir::BinaryOp;

use super::elementwise::binary_op;
use super::{Arg, Scalar};
use crate::trace::Var;

/// `Var op Var`, `Var op= Var`, and the same with every scalar type on
/// either side.
macro_rules! binary_operator {
    ($Trait:ident, $method:ident, $Assign:ident, $assign:ident, $op:expr; $($scalar:ty),*) => {
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

        $(
            impl $Trait<$scalar> for Var {
                type Output = Var;
                #[track_caller]
                fn $method(self, rhs: $scalar) -> Var {
                    binary_op($op, Arg::Var(self), Arg::Scalar(Scalar::from(rhs)))
                }
            }

            impl $Trait<Var> for $scalar {
                type Output = Var;
                #[track_caller]
                fn $method(self, rhs: Var) -> Var {
                    binary_op($op, Arg::Scalar(Scalar::from(self)), Arg::Var(rhs))
                }
            }

            impl $Assign<$scalar> for Var {
                #[track_caller]
                fn $assign(&mut self, rhs: $scalar) {
                    *self = binary_op($op, Arg::Var(*self), Arg::Scalar(Scalar::from(rhs)));
                }
            }
        )*
    };
}

binary_operator!(Add, add, AddAssign, add_assign, BinaryOp::Add; f32, f64, i32, i64);
binary_operator!(Sub, sub, SubAssign, sub_assign, BinaryOp::Sub; f32, f64, i32, i64);
binary_operator!(Mul, mul, MulAssign, mul_assign, BinaryOp::Mul; f32, f64, i32, i64);
binary_operator!(Div, div, DivAssign, div_assign, BinaryOp::Div; f32, f64, i32, i64);
binary_operator!(Rem, rem, RemAssign, rem_assign, BinaryOp::Rem; f32, f64, i32, i64);
binary_operator!(BitAnd, bitand, BitAndAssign, bitand_assign, BinaryOp::And; bool);
binary_operator!(BitOr, bitor, BitOrAssign, bitor_assign, BinaryOp::Or; bool);

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
