//! The one list of ops (see IR.md). Each op carries its attributes inline and
//! a doc line of its semantics; algebraic facts live here as data, so every
//! rule file (shape, interpreter, derivatives, lowering) matches exhaustively
//! on this list and the compiler names every place a new op must be handled.

use std::sync::Arc;

use smallvec::SmallVec;

use crate::dtype::DType;
use crate::tensor::Tensor;
use crate::types::{Dims, Shape};

/// Signed per-dimension amounts (`pad` low/high may be negative, as in XLA).
pub type SDims = SmallVec<[i64; 4]>;

/// An instruction of the IR.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Function parameter number `index`. Written in the signature, never as
    /// an instruction; parameters are the first nodes of a function.
    Parameter { index: u32 },
    /// A literal array (shape and dtype are the tensor's). Equality is bitwise.
    Constant { value: Arc<Tensor> },
    /// `iota axis=K : TYPE`: each element is its index along `axis`.
    Iota { dtype: DType, shape: Shape, axis: usize },
    /// Elementwise with one operand.
    Unary(UnaryOp),
    /// Elementwise with two operands of the same type.
    Binary(BinaryOp),
    /// Elementwise comparison of two operands of the same type; result bool.
    Compare(CompareOp),
    /// `select %pred, %on_true, %on_false`: elementwise choice; pred is bool
    /// of the same shape.
    Select,
    /// `convert %x, to=DT`: float→int truncates toward zero (saturating,
    /// NaN→0), int→int wraps, →bool is `x != 0`, bool→ is 0/1.
    Convert { to: DType },
    /// `broadcast_in_dim %x, dims=[..] : TYPE`: operand dim i becomes result
    /// dim `dims[i]` (strictly increasing); sizes equal or 1 in the operand.
    BroadcastInDim { shape: Shape, dims: Dims },
    /// `reshape %x : TYPE`: same elements in row-major order.
    Reshape { shape: Shape },
    /// `transpose %x, perm=[..]`: result dim i is operand dim `perm[i]`.
    Transpose { perm: Dims },
    /// `slice %x, start=[..], limit=[..], stride=[..]`.
    Slice(Box<SliceAttrs>),
    /// `concatenate %a, %b, ..., axis=K` (one or more operands).
    Concatenate { axis: usize },
    /// `pad %x, %value, low=[..], high=[..]` (+ optional `interior=[..]`):
    /// low/high may be negative (cropping), as in XLA.
    Pad(Box<PadAttrs>),
    /// `reverse %x, axes=[..]`.
    Reverse { axes: Dims },
    /// `reduce_{sum,max,min,prod} %x, axes=[..]`: removes the axes; an empty
    /// reduction gives the identity (0, -inf, +inf, 1; integer min/max for ints).
    Reduce { kind: ReduceKind, axes: Dims },
    /// `argmax %x, axis=K`: index (i64) of the first maximum; NaN counts as
    /// the maximum. The axis must not be empty.
    Argmax { axis: usize },
    /// `dot_general %l, %r, lhs_batch=.., rhs_batch=.., lhs_contract=.., rhs_contract=..`:
    /// result dims are batch, then lhs free, then rhs free (XLA order).
    DotGeneral(Box<DotDims>),
    /// `gather %x, %idx, axis=K`: `np.take(x, idx, axis=K)`, with indices
    /// clamped into range (XLA's clip mode). Result shape
    /// `x[:K] ++ idx ++ x[K+1:]`.
    Gather { axis: usize },
    /// `scatter_add %x, %idx, %upd, axis=K`: x with `upd` added at `idx` along
    /// `axis` (indices clamped as for gather; the exact transpose of gather).
    ScatterAdd { axis: usize },
    /// `stop_gradient %x`: identity whose derivative is zero.
    StopGradient,
    /// `custom_jvp %args... : TYPE { func @primal ... func @jvp ... }`: calls
    /// the rule's primal function; differentiating it uses the rule's JVP
    /// function instead of the primal's own ops (straight-through
    /// estimators, relaxations, numerically safer derivatives).
    CustomJvp(Arc<CustomRule>),
}

/// A function with a user-defined derivative.
///
/// `primal` maps the operands to one result. `jvp` takes the primal
/// operands followed by one tangent per operand and returns the primal
/// result and its tangent; the tangent must be linear in the input tangents
/// (as in JAX) so that reverse mode can transpose it.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomRule {
    pub primal: crate::graph::Function,
    pub jvp: crate::graph::Function,
}

// Function equality is structural and bitwise on constants: an equivalence.
impl Eq for CustomRule {}

impl std::hash::Hash for CustomRule {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.primal.name().hash(state);
        self.primal.len().hash(state);
        self.jvp.name().hash(state);
        self.jvp.len().hash(state);
    }
}

/// `slice` attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SliceAttrs {
    pub start: Dims,
    pub limit: Dims,
    pub stride: Dims,
}

/// `pad` attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PadAttrs {
    pub low: SDims,
    pub high: SDims,
    /// Elements inserted between neighbours (IR text: optional, default 0).
    pub interior: Dims,
}

/// `dot_general` dimension numbers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DotDims {
    pub lhs_batch: Dims,
    pub rhs_batch: Dims,
    pub lhs_contract: Dims,
    pub rhs_contract: Dims,
}

/// Elementwise ops of one operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// -x (numeric; integers wrap).
    Neg,
    /// |x| (numeric; integers wrap at MIN).
    Abs,
    /// -1, 0 or 1 (NaN stays NaN, ±0 keeps its sign).
    Sign,
    Exp,
    /// Natural logarithm.
    Log,
    /// log(1 + x), accurate near 0.
    Log1p,
    /// exp(x) - 1, accurate near 0.
    Expm1,
    Sqrt,
    /// 1 / sqrt(x).
    Rsqrt,
    Sin,
    Cos,
    Tanh,
    /// 1 / (1 + exp(-x)) (the sigmoid).
    Logistic,
    Floor,
    Ceil,
    /// Round half away from zero.
    Round,
    /// Logical not for bool, bitwise not for integers.
    Not,
}

/// Elementwise ops of two operands of the same type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// Integers: truncating; x/0 = -1 and MIN/-1 = MIN (XLA).
    Div,
    /// Float only.
    Pow,
    /// NaN-propagating for floats.
    Max,
    /// NaN-propagating for floats.
    Min,
    /// Remainder with the sign of the dividend (fmod); integers: x rem 0 = x.
    Rem,
    /// Logical and (bool), bitwise and (integers).
    And,
    /// Logical or (bool), bitwise or (integers).
    Or,
}

/// Elementwise comparisons (IEEE: any comparison with NaN is false but `ne`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceKind {
    Sum,
    Max,
    Min,
    Prod,
}

/// How many operands an op takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

impl Arity {
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exactly(k) => n == k,
            Arity::AtLeast(k) => n >= k,
        }
    }
}

/// Which dtypes an elementwise op accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DTypeClass {
    Float,
    Numeric,
    /// bool and integers.
    Logical,
    Any,
}

impl DTypeClass {
    pub fn accepts(self, dt: DType) -> bool {
        match self {
            DTypeClass::Float => dt.is_float(),
            DTypeClass::Numeric => dt.is_numeric(),
            DTypeClass::Logical => dt.is_bool() || dt.is_int(),
            DTypeClass::Any => true,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            DTypeClass::Float => "a float dtype (f32, f64)",
            DTypeClass::Numeric => "a numeric dtype (f32, f64, i32, i64)",
            DTypeClass::Logical => "bool or an integer dtype",
            DTypeClass::Any => "any dtype",
        }
    }
}

/// How an op's result depends on its operands, for differentiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linearity {
    /// Linear in its (differentiable) operands: has a transpose rule.
    Linear,
    /// Linear in each operand separately (mul, dot_general).
    Bilinear,
    /// Needs a real JVP rule; not transposable.
    NonLinear,
    /// Piecewise constant or non-float: derivative is a symbolic zero.
    ZeroDerivative,
}

impl UnaryOp {
    pub const ALL: [UnaryOp; 17] = [
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Sign,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Log1p,
        UnaryOp::Expm1,
        UnaryOp::Sqrt,
        UnaryOp::Rsqrt,
        UnaryOp::Sin,
        UnaryOp::Cos,
        UnaryOp::Tanh,
        UnaryOp::Logistic,
        UnaryOp::Floor,
        UnaryOp::Ceil,
        UnaryOp::Round,
        UnaryOp::Not,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Sign => "sign",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Log1p => "log1p",
            UnaryOp::Expm1 => "expm1",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Rsqrt => "rsqrt",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Logistic => "logistic",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Round => "round",
            UnaryOp::Not => "not",
        }
    }

    pub fn dtypes(self) -> DTypeClass {
        match self {
            UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Sign => DTypeClass::Numeric,
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
            | UnaryOp::Round => DTypeClass::Float,
            UnaryOp::Not => DTypeClass::Logical,
        }
    }

    pub fn linearity(self) -> Linearity {
        match self {
            UnaryOp::Neg => Linearity::Linear,
            UnaryOp::Abs
            | UnaryOp::Exp
            | UnaryOp::Log
            | UnaryOp::Log1p
            | UnaryOp::Expm1
            | UnaryOp::Sqrt
            | UnaryOp::Rsqrt
            | UnaryOp::Sin
            | UnaryOp::Cos
            | UnaryOp::Tanh
            | UnaryOp::Logistic => Linearity::NonLinear,
            UnaryOp::Sign | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round | UnaryOp::Not => {
                Linearity::ZeroDerivative
            }
        }
    }
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 10] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Rem,
        BinaryOp::And,
        BinaryOp::Or,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Max => "max",
            BinaryOp::Min => "min",
            BinaryOp::Rem => "rem",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
        }
    }

    pub fn dtypes(self) -> DTypeClass {
        match self {
            BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Max
            | BinaryOp::Min
            | BinaryOp::Rem => DTypeClass::Numeric,
            BinaryOp::Pow => DTypeClass::Float,
            BinaryOp::And | BinaryOp::Or => DTypeClass::Logical,
        }
    }

    pub fn linearity(self) -> Linearity {
        match self {
            BinaryOp::Add | BinaryOp::Sub => Linearity::Linear,
            BinaryOp::Mul => Linearity::Bilinear,
            BinaryOp::Div | BinaryOp::Pow | BinaryOp::Max | BinaryOp::Min | BinaryOp::Rem => {
                Linearity::NonLinear
            }
            BinaryOp::And | BinaryOp::Or => Linearity::ZeroDerivative,
        }
    }

    /// `a op b == b op a` for all inputs (used by CSE and simplification).
    pub fn is_commutative(self) -> bool {
        match self {
            BinaryOp::Add
            | BinaryOp::Mul
            | BinaryOp::Max
            | BinaryOp::Min
            | BinaryOp::And
            | BinaryOp::Or => true,
            BinaryOp::Sub | BinaryOp::Div | BinaryOp::Pow | BinaryOp::Rem => false,
        }
    }
}

impl CompareOp {
    pub const ALL: [CompareOp; 6] =
        [CompareOp::Eq, CompareOp::Ne, CompareOp::Lt, CompareOp::Le, CompareOp::Gt, CompareOp::Ge];

    pub fn name(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
        }
    }
}

impl ReduceKind {
    pub const ALL: [ReduceKind; 4] =
        [ReduceKind::Sum, ReduceKind::Max, ReduceKind::Min, ReduceKind::Prod];

    /// The IR name of the reduction op (`reduce_sum`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ReduceKind::Sum => "reduce_sum",
            ReduceKind::Max => "reduce_max",
            ReduceKind::Min => "reduce_min",
            ReduceKind::Prod => "reduce_prod",
        }
    }
}

impl Op {
    /// The op's name in IR text.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Parameter { .. } => "parameter",
            Op::Constant { .. } => "constant",
            Op::Iota { .. } => "iota",
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::Compare(c) => c.name(),
            Op::Select => "select",
            Op::Convert { .. } => "convert",
            Op::BroadcastInDim { .. } => "broadcast_in_dim",
            Op::Reshape { .. } => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Slice(_) => "slice",
            Op::Concatenate { .. } => "concatenate",
            Op::Pad(_) => "pad",
            Op::Reverse { .. } => "reverse",
            Op::Reduce { kind, .. } => kind.name(),
            Op::Argmax { .. } => "argmax",
            Op::DotGeneral(_) => "dot_general",
            Op::Gather { .. } => "gather",
            Op::ScatterAdd { .. } => "scatter_add",
            Op::StopGradient => "stop_gradient",
            Op::CustomJvp(_) => "custom_jvp",
        }
    }

    /// How many operands the op takes.
    pub fn arity(&self) -> Arity {
        match self {
            Op::Parameter { .. } | Op::Constant { .. } | Op::Iota { .. } => Arity::Exactly(0),
            Op::Unary(_)
            | Op::Convert { .. }
            | Op::BroadcastInDim { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Slice(_)
            | Op::Reverse { .. }
            | Op::Reduce { .. }
            | Op::Argmax { .. }
            | Op::StopGradient => Arity::Exactly(1),
            Op::Binary(_) | Op::Compare(_) | Op::Pad(_) | Op::DotGeneral(_) | Op::Gather { .. } => {
                Arity::Exactly(2)
            }
            Op::Select | Op::ScatterAdd { .. } => Arity::Exactly(3),
            Op::Concatenate { .. } => Arity::AtLeast(1),
            Op::CustomJvp(rule) => Arity::Exactly(rule.primal.num_params()),
        }
    }

    /// Elementwise: output element i depends only on input elements i
    /// (all operands share the result's shape).
    pub fn is_elementwise(&self) -> bool {
        match self {
            Op::Unary(_)
            | Op::Binary(_)
            | Op::Compare(_)
            | Op::Select
            | Op::Convert { .. }
            | Op::StopGradient => true,
            Op::Parameter { .. }
            | Op::Constant { .. }
            | Op::Iota { .. }
            | Op::BroadcastInDim { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Slice(_)
            | Op::Concatenate { .. }
            | Op::Pad(_)
            | Op::Reverse { .. }
            | Op::Reduce { .. }
            | Op::Argmax { .. }
            | Op::DotGeneral(_)
            | Op::Gather { .. }
            | Op::ScatterAdd { .. }
            | Op::CustomJvp(_) => false,
        }
    }

    /// How the result depends on the operands, for differentiation. Ops
    /// whose linearity depends on the operand (select is linear in its
    /// branches, pad in (x, value), gather in x) report `Linear`; their rule
    /// files say in which operands.
    pub fn linearity(&self) -> Linearity {
        match self {
            Op::Parameter { .. } => Linearity::NonLinear,
            Op::Constant { .. } | Op::Iota { .. } | Op::Compare(_) | Op::Argmax { .. } => {
                Linearity::ZeroDerivative
            }
            Op::StopGradient => Linearity::ZeroDerivative,
            Op::Unary(u) => u.linearity(),
            Op::Binary(b) => b.linearity(),
            Op::Select
            | Op::Convert { .. }
            | Op::BroadcastInDim { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Slice(_)
            | Op::Concatenate { .. }
            | Op::Pad(_)
            | Op::Reverse { .. }
            | Op::Gather { .. }
            | Op::ScatterAdd { .. } => Linearity::Linear,
            Op::Reduce { kind, .. } => match kind {
                ReduceKind::Sum => Linearity::Linear,
                ReduceKind::Max | ReduceKind::Min | ReduceKind::Prod => Linearity::NonLinear,
            },
            Op::DotGeneral(_) => Linearity::Bilinear,
            Op::CustomJvp(_) => Linearity::NonLinear,
        }
    }

    /// One instance of every op kind (attributes arbitrary), so tests can
    /// check that every op is covered by a rule or a test.
    pub fn all_kinds() -> Vec<&'static str> {
        let mut v = vec![
            "constant",
            "iota",
            "select",
            "convert",
            "broadcast_in_dim",
            "reshape",
            "transpose",
            "slice",
            "concatenate",
            "pad",
            "reverse",
            "argmax",
            "dot_general",
            "gather",
            "scatter_add",
            "stop_gradient",
            "custom_jvp",
        ];
        v.extend(UnaryOp::ALL.iter().map(|u| u.name()));
        v.extend(BinaryOp::ALL.iter().map(|b| b.name()));
        v.extend(CompareOp::ALL.iter().map(|c| c.name()));
        v.extend(ReduceKind::ALL.iter().map(|r| r.name()));
        v
    }
}
