//! Which Rust functions can be traced: [`TraceFn`] covers functions of 1 to 8
//! `Var` arguments and functions of a `&[Var]` slice; [`IntoOutputs`] covers
//! what they may return.

use super::Var;

/// A Rust function that [`trace`](crate::trace) can record.
///
/// Implemented for every `FnOnce` of 1 to 8 `Var` arguments (fixed arity)
/// and for `FnOnce(&[Var])` (any arity), returning anything that is
/// [`IntoOutputs`]. `Marker` only tells the implementations apart (it is the
/// function's signature as a `fn` pointer type) and is always inferred.
pub trait TraceFn<Marker> {
    /// The number of `Var` arguments, or `None` for a function of a slice.
    fn arity(&self) -> Option<usize>;

    /// Calls the function on traced arguments (`args.len()` equals the
    /// arity, which `trace` checks first) and collects its results.
    fn call_traced(self, args: &[Var]) -> Vec<Var>;
}

/// What a traced function may return: a `Var`, a tuple of up to 8 `Var`s,
/// an array `[Var; N]` or a `Vec<Var>` (results in order).
pub trait IntoOutputs {
    /// The results, in order.
    fn into_outputs(self) -> Vec<Var>;
}

impl IntoOutputs for Var {
    fn into_outputs(self) -> Vec<Var> {
        vec![self]
    }
}

impl IntoOutputs for Vec<Var> {
    fn into_outputs(self) -> Vec<Var> {
        self
    }
}

impl<const N: usize> IntoOutputs for [Var; N] {
    fn into_outputs(self) -> Vec<Var> {
        self.to_vec()
    }
}

/// Expands to `Var` whatever identifier it is given (to repeat a type once
/// per argument in the macros below).
macro_rules! var_for {
    ($x:ident) => {
        Var
    };
}

macro_rules! impl_tuple_outputs {
    ($($x:ident),+) => {
        impl IntoOutputs for ($(var_for!($x),)+) {
            fn into_outputs(self) -> Vec<Var> {
                #[allow(non_snake_case)]
                let ($($x,)+) = self;
                vec![$($x),+]
            }
        }
    };
}

impl_tuple_outputs!(A);
impl_tuple_outputs!(A, B);
impl_tuple_outputs!(A, B, C);
impl_tuple_outputs!(A, B, C, D);
impl_tuple_outputs!(A, B, C, D, E);
impl_tuple_outputs!(A, B, C, D, E, G);
impl_tuple_outputs!(A, B, C, D, E, G, H);
impl_tuple_outputs!(A, B, C, D, E, G, H, I);

macro_rules! impl_trace_fn {
    ($n:literal; $($x:ident),+) => {
        impl<Func, Out> TraceFn<fn($(var_for!($x)),+) -> Out> for Func
        where
            Func: FnOnce($(var_for!($x)),+) -> Out,
            Out: IntoOutputs,
        {
            fn arity(&self) -> Option<usize> {
                Some($n)
            }

            fn call_traced(self, args: &[Var]) -> Vec<Var> {
                let mut it = args.iter().copied();
                $(
                    #[allow(non_snake_case)]
                    let $x = it.next().unwrap_or_else(Var::orphan);
                )+
                self($($x),+).into_outputs()
            }
        }
    };
}

impl_trace_fn!(1; A);
impl_trace_fn!(2; A, B);
impl_trace_fn!(3; A, B, C);
impl_trace_fn!(4; A, B, C, D);
impl_trace_fn!(5; A, B, C, D, E);
impl_trace_fn!(6; A, B, C, D, E, G);
impl_trace_fn!(7; A, B, C, D, E, G, H);
impl_trace_fn!(8; A, B, C, D, E, G, H, I);

impl<Func, Out> TraceFn<fn(&[Var]) -> Out> for Func
where
    Func: FnOnce(&[Var]) -> Out,
    Out: IntoOutputs,
{
    fn arity(&self) -> Option<usize> {
        None
    }

    fn call_traced(self, args: &[Var]) -> Vec<Var> {
        self(args).into_outputs()
    }
}
