//! Seeded random graph generator for property tests: text round trips now,
//! interpreter-vs-JIT differential tests later.
//!
//! Every function it returns is well typed (each op goes through
//! [`Function::push`], which runs the shape rule; a candidate the rule
//! rejects is dropped and another is tried), and the same seed and config
//! always give the same function (ChaCha8 from the seed; no hash-map
//! iteration order is ever consulted), on every platform.
//!
//! ```
//! use gradlift_ir::random_graph::{random_function, GraphConfig};
//! use gradlift_ir::verify::verify_function;
//!
//! let f = random_function(7, &GraphConfig::default());
//! verify_function(&f).unwrap();
//! assert_eq!(f, random_function(7, &GraphConfig::default()));
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::dtype::DType;
use crate::graph::{Function, Module, Value};
use crate::op::{
    BinaryOp, CompareOp, DotDims, Op, PadAttrs, ReduceKind, SDims, SliceAttrs, UnaryOp,
};
use crate::tensor::{Data, Tensor};
use crate::types::{Dims, Shape, Type};

/// Groups of ops the generator may emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpFamily {
    /// `constant`, with special values when [`GraphConfig::special_floats`].
    Constant,
    /// `iota` of a numeric dtype along a random axis.
    Iota,
    /// Every unary op valid for the operand's dtype (`not` included).
    Unary,
    /// Every binary op valid for the operand's dtype (`and`, `or` included).
    Binary,
    /// `eq ne lt le gt ge` on any dtype.
    Compare,
    /// `select` with a bool predicate (a comparison or a bool value).
    Select,
    /// `convert` to any allowed dtype.
    Convert,
    /// `broadcast_in_dim` adding dims and expanding size-1 dims.
    BroadcastInDim,
    /// `reshape` to a random factorisation of the element count.
    Reshape,
    /// `transpose` by a random permutation.
    Transpose,
    /// `slice` with random bounds and strides up to 4.
    Slice,
    /// `concatenate` of one to four operands along a random axis.
    Concatenate,
    /// `pad` with negative low/high (cropping) and interior padding.
    Pad,
    /// `reverse` of a random subset of axes.
    Reverse,
    /// `reduce_sum/max/min/prod` over random axes (the empty list too).
    Reduce,
    /// `argmax` along a non-empty axis.
    Argmax,
    /// `dot_general` with batch and contracting dims at random positions.
    DotGeneral,
    /// `gather` with i32/i64 indices, some out of range (they clamp).
    Gather,
    /// `scatter_add`, indices as for gather.
    ScatterAdd,
    /// `stop_gradient`.
    StopGradient,
}

impl OpFamily {
    /// Every family.
    pub const ALL: [OpFamily; 20] = [
        OpFamily::Constant,
        OpFamily::Iota,
        OpFamily::Unary,
        OpFamily::Binary,
        OpFamily::Compare,
        OpFamily::Select,
        OpFamily::Convert,
        OpFamily::BroadcastInDim,
        OpFamily::Reshape,
        OpFamily::Transpose,
        OpFamily::Slice,
        OpFamily::Concatenate,
        OpFamily::Pad,
        OpFamily::Reverse,
        OpFamily::Reduce,
        OpFamily::Argmax,
        OpFamily::DotGeneral,
        OpFamily::Gather,
        OpFamily::ScatterAdd,
        OpFamily::StopGradient,
    ];

    /// The elementwise families (plus constants): what loop fusion fuses
    /// without any index arithmetic.
    pub const ELEMENTWISE: [OpFamily; 7] = [
        OpFamily::Constant,
        OpFamily::Unary,
        OpFamily::Binary,
        OpFamily::Compare,
        OpFamily::Select,
        OpFamily::Convert,
        OpFamily::StopGradient,
    ];
}

/// What the generator may produce. Sizes are upper bounds; the actual
/// numbers are drawn from the seed.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphConfig {
    /// Function name (`@name`); [`random_module`] appends an index.
    pub name: String,
    /// Fewest instructions (parameters excluded) to aim for; reached unless
    /// the families cannot make that many.
    pub min_nodes: usize,
    /// Most instructions (parameters excluded); never exceeded.
    pub max_nodes: usize,
    /// Parameters: between 1 and `max_params` (none when 0).
    pub max_params: usize,
    /// Results: between 1 and `max_results`.
    pub max_results: usize,
    /// Dtypes of parameters, constants, iotas and conversions. Ops keep
    /// their own dtype rules (comparisons give bool, argmax gives i64,
    /// gather indices are i32/i64 when those are allowed).
    pub dtypes: Vec<DType>,
    /// Op families to draw from. Constants (and, for `select` predicates,
    /// comparisons) may also appear as operands the chosen op needs.
    pub families: Vec<OpFamily>,
    /// Largest rank of any value.
    pub max_rank: usize,
    /// Largest dimension drawn for a fresh shape (ops such as `pad` and
    /// `concatenate` may grow it, within `max_elements`).
    pub max_dim: usize,
    /// Largest element count of any value.
    pub max_elements: usize,
    /// Probability that a drawn dimension is 0.
    pub zero_dim_prob: f64,
    /// Constants include inf, -inf, NaN (payload and negative NaNs too),
    /// -0.0, denormals, the largest finite values and integer extremes.
    pub special_floats: bool,
    /// Probability that a value (parameter or instruction) gets a name.
    pub name_prob: f64,
}

impl Default for GraphConfig {
    fn default() -> GraphConfig {
        GraphConfig {
            name: "random".into(),
            min_nodes: 1,
            max_nodes: 24,
            max_params: 4,
            max_results: 3,
            dtypes: DType::ALL.to_vec(),
            families: OpFamily::ALL.to_vec(),
            max_rank: 4,
            max_dim: 5,
            max_elements: 256,
            zero_dim_prob: 0.05,
            special_floats: true,
            name_prob: 0.2,
        }
    }
}

impl GraphConfig {
    /// Elementwise ops only, float dtypes, no special values: graphs that
    /// fuse into one loop and whose results compare with a tolerance.
    pub fn elementwise() -> GraphConfig {
        GraphConfig {
            families: OpFamily::ELEMENTWISE.to_vec(),
            dtypes: vec![DType::F32, DType::F64],
            special_floats: false,
            ..GraphConfig::default()
        }
    }
}

/// A random, well-typed function. Same seed and config, same function.
pub fn random_function(seed: u64, cfg: &GraphConfig) -> Function {
    Builder::new(seed, cfg, cfg.name.clone()).build()
}

/// A module of `num_funcs` random functions named `{cfg.name}{i}`.
pub fn random_module(seed: u64, num_funcs: usize, cfg: &GraphConfig) -> Module {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let funcs = (0..num_funcs)
        .map(|i| Builder::new(rng.gen(), cfg, format!("{}{i}", cfg.name)).build())
        .collect();
    Module::from_funcs(funcs).unwrap_or_default()
}

struct Builder<'c> {
    rng: ChaCha8Rng,
    cfg: &'c GraphConfig,
    f: Function,
    vals: Vec<Value>,
    by_type: HashMap<Type, Vec<Value>>,
}

impl<'c> Builder<'c> {
    fn new(seed: u64, cfg: &'c GraphConfig, name: String) -> Builder<'c> {
        Builder {
            rng: ChaCha8Rng::seed_from_u64(seed),
            cfg,
            f: Function::new(name),
            vals: Vec::new(),
            by_type: HashMap::new(),
        }
    }

    fn build(mut self) -> Function {
        let n_params =
            if self.cfg.max_params == 0 { 0 } else { self.rng.gen_range(1..=self.cfg.max_params) };
        for i in 0..n_params {
            let ty = self.random_type(false);
            let name = if self.rng.gen_bool(self.cfg.name_prob.clamp(0.0, 1.0)) {
                Some(if self.rng.gen() { format!("p{i}") } else { format!("arg_{i}") })
            } else {
                None
            };
            if let Ok(v) = self.f.add_param(name.as_deref(), ty) {
                self.register(v);
            }
        }
        let lo = self.cfg.min_nodes.min(self.cfg.max_nodes);
        let target = self.rng.gen_range(lo..=self.cfg.max_nodes);
        let mut attempts = 0;
        while self.f.num_instructions() < target && attempts < 50 * target + 100 {
            attempts += 1;
            let Some(&family) = self.cfg.families.choose(&mut self.rng) else { break };
            if let Some(v) = self.family(family) {
                self.maybe_name(v);
            }
        }
        if self.vals.is_empty() {
            // No parameters and nothing generated (even `max_nodes == 0`):
            // return a scalar constant, so the function stays valid.
            let dtype = self.dtype();
            let value = Tensor::zeros_of(&Type::scalar(dtype)).map(Arc::new);
            if let Ok(v) = value.and_then(|value| self.f.push(Op::Constant { value }, &[], None)) {
                self.register(v);
            }
        }
        let mut results = Vec::new();
        if let Some(&last) = self.vals.last() {
            results.push(last);
        }
        let extra = self.rng.gen_range(0..self.cfg.max_results.max(1));
        for _ in 0..extra {
            if let Some(&v) = self.vals.choose(&mut self.rng) {
                results.push(v);
            }
        }
        let _ = self.f.set_results(results);
        self.f
    }

    fn register(&mut self, v: Value) {
        self.vals.push(v);
        self.by_type.entry(self.f.ty(v).clone()).or_default().push(v);
    }

    fn maybe_name(&mut self, v: Value) {
        if !self.rng.gen_bool(self.cfg.name_prob.clamp(0.0, 1.0)) {
            return;
        }
        let i = v.index();
        let name = match self.rng.gen_range(0..5) {
            0 => format!("x{i}"),
            1 => format!("tmp_{i}"),
            2 => format!("_{i}"),
            3 => format!("{i}e5"),
            _ => format!("Val{i}_"),
        };
        let _ = self.f.set_value_name(v, Some(&name));
    }

    /// Appends an op if there is room, the shape rule accepts it and the
    /// result stays within the size limits.
    fn push(&mut self, op: Op, args: &[Value]) -> Option<Value> {
        if self.f.num_instructions() >= self.cfg.max_nodes {
            return None;
        }
        let ty = self.f.infer(&op, args).ok()?;
        if ty.rank() > self.cfg.max_rank || ty.shape.num_elements().ok()? > self.cfg.max_elements {
            return None;
        }
        let v = self.f.push(op, args, None).ok()?;
        self.register(v);
        Some(v)
    }

    // ---- drawing operands, types and values ------------------------------

    /// An existing value, biased toward recent ones (deep chains).
    fn operand(&mut self) -> Option<Value> {
        let n = self.vals.len();
        if n == 0 {
            return None;
        }
        let i = if self.rng.gen_bool(0.5) {
            n - 1 - self.rng.gen_range(0..n.min(4))
        } else {
            self.rng.gen_range(0..n)
        };
        self.vals.get(i).copied()
    }

    /// An operand whose dtype passes `ok`.
    fn operand_where(&mut self, ok: impl Fn(&Type) -> bool) -> Option<Value> {
        for _ in 0..8 {
            let v = self.operand()?;
            if ok(self.f.ty(v)) {
                return Some(v);
            }
        }
        let candidates: Vec<Value> =
            self.vals.iter().copied().filter(|&v| ok(self.f.ty(v))).collect();
        candidates.choose(&mut self.rng).copied()
    }

    /// A value of exactly this type: an existing one, or a new constant.
    fn value_of(&mut self, ty: &Type) -> Option<Value> {
        let existing = self.by_type.get(ty).and_then(|vs| vs.choose(&mut self.rng).copied());
        match existing {
            Some(v) if self.rng.gen_bool(0.7) => Some(v),
            _ => self.constant_of(ty, true),
        }
    }

    fn dim(&mut self) -> usize {
        if self.rng.gen_bool(self.cfg.zero_dim_prob.clamp(0.0, 1.0)) {
            0
        } else if self.rng.gen_bool(0.25) || self.cfg.max_dim <= 1 {
            1.min(self.cfg.max_dim)
        } else {
            self.rng.gen_range(2..=self.cfg.max_dim)
        }
    }

    fn shape(&mut self, min_rank: usize) -> Shape {
        let max_rank = self.cfg.max_rank.max(min_rank);
        let rank = self.rng.gen_range(min_rank..=max_rank);
        let mut dims: Dims = (0..rank).map(|_| self.dim()).collect();
        self.shrink(&mut dims);
        Shape(dims)
    }

    /// Sets dims to 1 until the shape holds at most `max_elements`.
    fn shrink(&mut self, dims: &mut Dims) {
        while dims.iter().product::<usize>() > self.cfg.max_elements.max(1) {
            let Some(d) = dims.iter_mut().filter(|d| **d > 1).max() else { break };
            *d = 1;
        }
    }

    fn dtype(&mut self) -> DType {
        self.cfg.dtypes.choose(&mut self.rng).copied().unwrap_or(DType::F32)
    }

    fn random_type(&mut self, numeric: bool) -> Type {
        let mut dtype = self.dtype();
        if numeric && !dtype.is_numeric() {
            dtype = self.cfg.dtypes.iter().copied().find(|d| d.is_numeric()).unwrap_or(DType::F32);
        }
        Type { dtype, shape: self.shape(0) }
    }

    fn constant_of(&mut self, ty: &Type, use_special: bool) -> Option<Value> {
        let n = ty.shape.num_elements().ok()?;
        let special = use_special && self.cfg.special_floats;
        let data = match ty.dtype {
            DType::F32 => Data::F32((0..n).map(|_| self.f32_value(special)).collect()),
            DType::F64 => Data::F64((0..n).map(|_| self.f64_value(special)).collect()),
            DType::I32 => Data::I32((0..n).map(|_| self.i32_value(special)).collect()),
            DType::I64 => Data::I64((0..n).map(|_| self.i64_value(special)).collect()),
            DType::Bool => Data::Bool((0..n).map(|_| self.rng.gen()).collect()),
        };
        let t = Tensor::new(ty.shape.clone(), data).ok()?;
        self.push(Op::Constant { value: Arc::new(t) }, &[])
    }

    fn f32_value(&mut self, special: bool) -> f32 {
        if special && self.rng.gen_bool(0.3) {
            let sign = if self.rng.gen() { 0 } else { 1u32 << 31 };
            return match self.rng.gen_range(0..12) {
                0 => f32::INFINITY,
                1 => f32::NEG_INFINITY,
                2 => f32::NAN,
                // NaN with a random payload (quiet or signalling) and sign.
                3 => f32::from_bits(0x7f80_0000 | self.rng.gen_range(1..0x0080_0000) | sign),
                4 => -0.0,
                5 => 0.0,
                6 => f32::from_bits(self.rng.gen_range(1..0x0080_0000) | sign),
                7 => f32::MAX,
                8 => f32::MIN,
                9 => f32::MIN_POSITIVE,
                10 => f32::from_bits(0xffc0_0000),
                _ => self.rng.gen_range(-1e30f32..1e30),
            };
        }
        if self.rng.gen() {
            self.rng.gen_range(-8i32..=8) as f32 * 0.5
        } else {
            self.rng.gen_range(-4.0f32..4.0)
        }
    }

    fn f64_value(&mut self, special: bool) -> f64 {
        if special && self.rng.gen_bool(0.3) {
            let sign = if self.rng.gen() { 0 } else { 1u64 << 63 };
            return match self.rng.gen_range(0..12) {
                0 => f64::INFINITY,
                1 => f64::NEG_INFINITY,
                2 => f64::NAN,
                3 => f64::from_bits(
                    0x7ff0_0000_0000_0000 | self.rng.gen_range(1..(1u64 << 52)) | sign,
                ),
                4 => -0.0,
                5 => 0.0,
                6 => f64::from_bits(self.rng.gen_range(1..(1u64 << 52)) | sign),
                7 => f64::MAX,
                8 => f64::MIN,
                9 => f64::MIN_POSITIVE,
                10 => f64::from_bits(0xfff8_0000_0000_0000),
                _ => self.rng.gen_range(-1e300f64..1e300),
            };
        }
        if self.rng.gen() {
            self.rng.gen_range(-8i32..=8) as f64 * 0.5
        } else {
            self.rng.gen_range(-4.0f64..4.0)
        }
    }

    fn i32_value(&mut self, special: bool) -> i32 {
        if special && self.rng.gen_bool(0.2) {
            return *[i32::MIN, i32::MAX, 0, -1, i32::MIN + 1].choose(&mut self.rng).unwrap_or(&0);
        }
        self.rng.gen_range(-10..=10)
    }

    fn i64_value(&mut self, special: bool) -> i64 {
        if special && self.rng.gen_bool(0.2) {
            return *[i64::MIN, i64::MAX, 0, -1, i64::from(i32::MIN) - 1]
                .choose(&mut self.rng)
                .unwrap_or(&0);
        }
        self.rng.gen_range(-10..=10)
    }

    /// A random subset of `0..rank`, in random order.
    fn axes(&mut self, rank: usize) -> Dims {
        let mut all: Dims = (0..rank).collect();
        all.shuffle(&mut self.rng);
        let k = self.rng.gen_range(0..=rank);
        all.truncate(k);
        all
    }

    /// An integer index tensor of a random shape whose values fall in and
    /// around `0..size` (gather and scatter clamp).
    fn indices(&mut self, size: usize) -> Option<Value> {
        let int_types: Vec<DType> =
            self.cfg.dtypes.iter().copied().filter(|d| d.is_int()).collect();
        let dtype = *int_types.choose(&mut self.rng)?;
        let rank = self.rng.gen_range(0..=2usize);
        let mut dims: Dims = (0..rank).map(|_| self.dim()).collect();
        if size == 0 {
            // Only an empty index tensor can take along an empty axis.
            dims.insert(0, 0);
        }
        let shape = Shape(dims);
        let n = shape.num_elements().ok()?;
        let hi = size as i64 + 1;
        let pick = |b: &mut Self| -> i64 {
            if b.cfg.special_floats && b.rng.gen_bool(0.05) {
                if b.rng.gen() {
                    i64::from(i32::MIN)
                } else {
                    i64::from(i32::MAX)
                }
            } else {
                b.rng.gen_range(-2..=hi)
            }
        };
        let data = match dtype {
            DType::I32 => Data::I32((0..n).map(|_| pick(self) as i32).collect()),
            _ => Data::I64((0..n).map(|_| pick(self)).collect()),
        };
        let t = Tensor::new(shape, data).ok()?;
        self.push(Op::Constant { value: Arc::new(t) }, &[])
    }

    // ---- one op of a family ----------------------------------------------

    fn family(&mut self, family: OpFamily) -> Option<Value> {
        match family {
            OpFamily::Constant => {
                let ty = self.random_type(false);
                self.constant_of(&ty, true)
            }
            OpFamily::Iota => {
                let dtype = self.random_type(true).dtype;
                if !dtype.is_numeric() {
                    return None;
                }
                let shape = self.shape(1);
                let axis = self.rng.gen_range(0..shape.rank());
                self.push(Op::Iota { dtype, shape, axis }, &[])
            }
            OpFamily::Unary => {
                let x = self.operand()?;
                let dt = self.f.ty(x).dtype;
                let ops: Vec<UnaryOp> =
                    UnaryOp::ALL.iter().copied().filter(|u| u.dtypes().accepts(dt)).collect();
                let u = *ops.choose(&mut self.rng)?;
                self.push(Op::Unary(u), &[x])
            }
            OpFamily::Binary => {
                let x = self.operand()?;
                let ty = self.f.ty(x).clone();
                let ops: Vec<BinaryOp> = BinaryOp::ALL
                    .iter()
                    .copied()
                    .filter(|b| b.dtypes().accepts(ty.dtype))
                    .collect();
                let b = *ops.choose(&mut self.rng)?;
                let y = self.value_of(&ty)?;
                let (l, r) = if self.rng.gen() { (x, y) } else { (y, x) };
                self.push(Op::Binary(b), &[l, r])
            }
            OpFamily::Compare => {
                let x = self.operand()?;
                let ty = self.f.ty(x).clone();
                let c = *CompareOp::ALL.choose(&mut self.rng)?;
                let y = self.value_of(&ty)?;
                self.push(Op::Compare(c), &[x, y])
            }
            OpFamily::Select => {
                let x = self.operand()?;
                let ty = self.f.ty(x).clone();
                let pred_ty = Type { dtype: DType::Bool, shape: ty.shape.clone() };
                let pred = if self.rng.gen_bool(0.4) {
                    let y = self.value_of(&ty)?;
                    let c = *CompareOp::ALL.choose(&mut self.rng)?;
                    self.push(Op::Compare(c), &[x, y])?
                } else {
                    self.value_of(&pred_ty)?
                };
                let y = self.value_of(&ty)?;
                self.push(Op::Select, &[pred, x, y])
            }
            OpFamily::Convert => {
                let x = self.operand()?;
                let to = self.dtype();
                self.push(Op::Convert { to }, &[x])
            }
            OpFamily::BroadcastInDim => {
                let x = self.operand()?;
                let xd: Dims = self.f.ty(x).dims().into();
                let out_rank = self.rng.gen_range(xd.len()..=self.cfg.max_rank.max(xd.len()));
                let mut positions: Vec<usize> = (0..out_rank).collect();
                positions.shuffle(&mut self.rng);
                positions.truncate(xd.len());
                positions.sort_unstable();
                let mut out: Dims = (0..out_rank).map(|_| self.dim()).collect();
                for (i, &p) in positions.iter().enumerate() {
                    let src = xd.get(i).copied().unwrap_or(1);
                    if src != 1 || self.rng.gen_bool(0.3) {
                        if let Some(o) = out.get_mut(p) {
                            *o = src;
                        }
                    }
                }
                let op = Op::BroadcastInDim { shape: Shape(out), dims: positions.into() };
                self.push(op, &[x])
            }
            OpFamily::Reshape => {
                let x = self.operand()?;
                let n = self.f.ty(x).shape.size();
                let shape = self.factor(n)?;
                self.push(Op::Reshape { shape }, &[x])
            }
            OpFamily::Transpose => {
                let x = self.operand()?;
                let mut perm: Dims = (0..self.f.ty(x).rank()).collect();
                perm.shuffle(&mut self.rng);
                self.push(Op::Transpose { perm }, &[x])
            }
            OpFamily::Slice => {
                let x = self.operand()?;
                let xd: Dims = self.f.ty(x).dims().into();
                let (mut start, mut limit, mut stride) = (Dims::new(), Dims::new(), Dims::new());
                for &d in &xd {
                    let s = self.rng.gen_range(0..=d);
                    start.push(s);
                    limit.push(self.rng.gen_range(s..=d));
                    stride.push(if self.rng.gen_bool(0.5) { 1 } else { self.rng.gen_range(2..=4) });
                }
                self.push(Op::Slice(Box::new(SliceAttrs { start, limit, stride })), &[x])
            }
            OpFamily::Concatenate => {
                let x = self.operand_where(|t| t.rank() > 0)?;
                let ty = self.f.ty(x).clone();
                let axis = self.rng.gen_range(0..ty.rank());
                let mut args = vec![x];
                for _ in 0..self.rng.gen_range(0..=3) {
                    let mut other = ty.clone();
                    if let Some(d) = other.shape.0.get_mut(axis) {
                        *d = self.dim();
                    }
                    let v = if self.rng.gen_bool(0.3) {
                        x
                    } else {
                        let compatible = self.operand_where(|t| {
                            t.dtype == ty.dtype
                                && t.rank() == ty.rank()
                                && (0..t.rank()).all(|i| i == axis || t.dims()[i] == ty.dims()[i])
                        });
                        match compatible {
                            Some(v) if self.rng.gen() => v,
                            _ => self.value_of(&other)?,
                        }
                    };
                    args.push(v);
                }
                args.shuffle(&mut self.rng);
                self.push(Op::Concatenate { axis }, &args)
            }
            OpFamily::Pad => {
                let x = self.operand()?;
                let ty = self.f.ty(x).clone();
                let value = self.value_of(&Type::scalar(ty.dtype))?;
                let (mut low, mut high, mut interior) = (SDims::new(), SDims::new(), Dims::new());
                let use_interior = self.rng.gen_bool(0.4);
                for &d in ty.dims() {
                    let d = d as i64;
                    low.push(self.rng.gen_range(-d..=2));
                    high.push(self.rng.gen_range(-d..=2));
                    interior.push(if use_interior { self.rng.gen_range(0..=2) } else { 0 });
                }
                self.push(Op::Pad(Box::new(PadAttrs { low, high, interior })), &[x, value])
            }
            OpFamily::Reverse => {
                let x = self.operand()?;
                let axes = self.axes(self.f.ty(x).rank());
                self.push(Op::Reverse { axes }, &[x])
            }
            OpFamily::Reduce => {
                let x = self.operand_where(|t| t.dtype.is_numeric())?;
                let axes = self.axes(self.f.ty(x).rank());
                let kind = *ReduceKind::ALL.choose(&mut self.rng)?;
                self.push(Op::Reduce { kind, axes }, &[x])
            }
            OpFamily::Argmax => {
                let x = self
                    .operand_where(|t| t.dtype.is_numeric() && t.dims().iter().any(|&d| d > 0))?;
                let xd: Dims = self.f.ty(x).dims().into();
                let nonempty: Vec<usize> = (0..xd.len()).filter(|&i| xd[i] > 0).collect();
                let axis = *nonempty.choose(&mut self.rng)?;
                self.push(Op::Argmax { axis }, &[x])
            }
            OpFamily::DotGeneral => self.dot_general(),
            OpFamily::Gather => {
                let x = self.operand_where(|t| t.rank() > 0)?;
                let axis = self.rng.gen_range(0..self.f.ty(x).rank());
                let size = self.f.ty(x).dims().get(axis).copied().unwrap_or(0);
                let idx = self.indices(size)?;
                self.push(Op::Gather { axis }, &[x, idx])
            }
            OpFamily::ScatterAdd => {
                let x = self.operand_where(|t| t.rank() > 0 && t.dtype.is_numeric())?;
                let ty = self.f.ty(x).clone();
                let axis = self.rng.gen_range(0..ty.rank());
                let idx = self.indices(ty.dims().get(axis).copied().unwrap_or(0))?;
                let mut upd: Dims = ty.dims()[..axis].into();
                upd.extend(self.f.ty(idx).dims().iter().copied());
                upd.extend(ty.dims()[axis + 1..].iter().copied());
                let upd_ty = Type { dtype: ty.dtype, shape: Shape(upd) };
                if upd_ty.shape.num_elements().ok()? > self.cfg.max_elements {
                    return None;
                }
                let upd = self.value_of(&upd_ty)?;
                self.push(Op::ScatterAdd { axis }, &[x, idx, upd])
            }
            OpFamily::StopGradient => {
                let x = self.operand()?;
                self.push(Op::StopGradient, &[x])
            }
        }
    }

    /// A random shape with `n` elements.
    fn factor(&mut self, n: usize) -> Option<Shape> {
        let rank = self.rng.gen_range(0..=self.cfg.max_rank);
        if n == 0 {
            let rank = rank.max(1);
            let mut dims: Dims = (0..rank).map(|_| self.dim()).collect();
            let z = self.rng.gen_range(0..rank);
            *dims.get_mut(z)? = 0;
            return Some(Shape(dims));
        }
        if rank == 0 {
            return (n == 1).then(Shape::scalar);
        }
        let mut rest = n;
        let mut dims = Dims::new();
        for _ in 1..rank {
            let divisors: Vec<usize> = (1..=rest).filter(|d| rest.is_multiple_of(*d)).collect();
            let d = *divisors.choose(&mut self.rng)?;
            dims.push(d);
            rest /= d;
        }
        dims.push(rest);
        dims.shuffle(&mut self.rng);
        Some(Shape(dims))
    }

    /// Batch and contracting dims at random positions on both sides.
    fn dot_general(&mut self) -> Option<Value> {
        let x = self.operand_where(|t| t.dtype.is_numeric())?;
        let ty = self.f.ty(x).clone();
        let rl = ty.rank();
        let mut order: Vec<usize> = (0..rl).collect();
        order.shuffle(&mut self.rng);
        let nb = self.rng.gen_range(0..=rl);
        let nc = self.rng.gen_range(0..=rl - nb);
        let lhs_batch: Dims = order[..nb].into();
        let lhs_contract: Dims = order[nb..nb + nc].into();
        let free = self.rng.gen_range(0..=2usize);
        let rr = nb + nc + free;
        if rr > self.cfg.max_rank {
            return None;
        }
        let mut rorder: Vec<usize> = (0..rr).collect();
        rorder.shuffle(&mut self.rng);
        let rhs_batch: Dims = rorder[..nb].into();
        let rhs_contract: Dims = rorder[nb..nb + nc].into();
        let mut rdims: Dims = (0..rr).map(|_| self.dim()).collect();
        for (&l, &r) in
            lhs_batch.iter().zip(&rhs_batch).chain(lhs_contract.iter().zip(&rhs_contract))
        {
            *rdims.get_mut(r)? = *ty.dims().get(l)?;
        }
        let rhs_ty = Type { dtype: ty.dtype, shape: Shape(rdims) };
        if rhs_ty.shape.num_elements().ok()? > self.cfg.max_elements {
            return None;
        }
        let y = self.value_of(&rhs_ty)?;
        let dims = DotDims { lhs_batch, rhs_batch, lhs_contract, rhs_contract };
        self.push(Op::DotGeneral(Box::new(dims)), &[x, y])
    }
}
