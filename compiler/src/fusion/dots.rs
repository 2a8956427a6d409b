//! Short contractions as elementwise ops: a `dot_general` with at most
//! [`ELEMENTWISE_MAX_K`] products per output (the first layer of an MLP on
//! one input feature, the backward pass through a 2-output layer, an outer
//! product) becomes `0 + l_0 r_0 + l_1 r_1 + ...` on broadcasts of the
//! operands' slices. A GEMM call for it is mostly call and packing
//! overhead, and its result would be written out and read back; as
//! elementwise ops it fuses into its consumers (bias, activation, their
//! derivatives).
//!
//! The products are summed in the interpreter's order (contracted index in
//! row-major order, from +0) with separate roundings, so the rewrite is
//! exact: the compiled result is the interpreter's, bit for bit. Floats
//! only: integer products stay library calls.
//!
//! Matrix-vector shapes (one side's free dims of 1 or 2 elements) stay
//! GEMM calls: as broadcast products summed by a reduction kernel they
//! measured slower (the drift network's step, W3: 56.5 -> 64 us), as the
//! reduction kernels have few outputs per row and read one operand with a
//! stride.

use gradlift_ir::{BinaryOp, DType, Dims, DotDims, Function, IrError, Op, Shape, Tensor, Value};

use crate::passes::rebuild::Rebuild;

/// Contractions of at most this many products per output become
/// elementwise ops.
pub const ELEMENTWISE_MAX_K: usize = 4;

/// Whether `dot_general` node `v` of `f` becomes elementwise ops.
fn is_short(f: &Function, v: Value, d: &DotDims) -> bool {
    if !matches!(f.ty(v).dtype, DType::F32 | DType::F64) {
        return false;
    }
    let l = f.ty(f.args(v)[0]).shape.dims();
    d.lhs_contract.iter().map(|&c| l[c]).product::<usize>() <= ELEMENTWISE_MAX_K
}

/// Rewrites the short contractions of `f` as described above; returns `f`
/// unchanged (a clone) when it has none.
pub fn expand_short_dots(f: &Function) -> Result<Function, IrError> {
    let short = |v: Value| matches!(f.op(v), Op::DotGeneral(d) if is_short(f, v, d));
    if !f.instructions().any(|(v, _)| short(v)) {
        return Ok(f.clone());
    }
    let mut rb = Rebuild::new(f)?;
    for (v, node) in f.instructions() {
        let args = rb.args(v);
        match &node.op {
            Op::DotGeneral(d) if short(v) => {
                let sum = Expander { rb: &mut rb, v }.expand(d, &args, &f.ty(v).shape)?;
                rb.alias(v, sum)?;
            }
            _ => {
                rb.keep(v, &args)?;
            }
        }
    }
    rb.finish()
}

/// Emits the expansion of product `v` as helpers of its rewrite.
struct Expander<'a, 'f> {
    rb: &'a mut Rebuild<'f>,
    v: Value,
}

impl Expander<'_, '_> {
    fn push(&mut self, op: Op, args: &[Value]) -> Result<Value, IrError> {
        self.rb.helper(self.v, op, args)
    }

    fn dims(&self, x: Value) -> Vec<usize> {
        self.rb.out().ty(x).shape.dims().to_vec()
    }

    /// `x` with its axes in the order batch, free, contracted, and the
    /// contracted axes merged into one (of 1 element when there are none).
    fn arrange(&mut self, x: Value, batch: &Dims, contract: &Dims) -> Result<Value, IrError> {
        let dims = self.dims(x);
        let free = (0..dims.len()).filter(|a| !batch.contains(a) && !contract.contains(a));
        let perm: Dims =
            batch.iter().copied().chain(free).chain(contract.iter().copied()).collect();
        let x = if perm.iter().enumerate().all(|(i, &p)| i == p) {
            x
        } else {
            self.push(Op::Transpose { perm: perm.clone() }, &[x])?
        };
        if contract.len() == 1 {
            return Ok(x);
        }
        let keep = dims.len() - contract.len();
        let mut shape: Vec<usize> = perm[..keep].iter().map(|&a| dims[a]).collect();
        shape.push(contract.iter().map(|&c| dims[c]).product());
        self.push(Op::Reshape { shape: Shape::new(&shape) }, &[x])
    }

    /// `0 + l_0 r_0 + l_1 r_1 + ...` of shape `out_shape`.
    fn expand(&mut self, d: &DotDims, args: &[Value], out_shape: &Shape) -> Result<Value, IrError> {
        // Products per output (1 when nothing is contracted).
        let lhs = self.dims(args[0]);
        let k: usize = d.lhs_contract.iter().map(|&c| lhs[c]).product();
        let l = self.arrange(args[0], &d.lhs_batch, &d.lhs_contract)?;
        let r = self.arrange(args[1], &d.rhs_batch, &d.rhs_contract)?;
        let nb = d.lhs_batch.len();
        let nm = self.dims(l).len() - 1 - nb;
        let rank = out_shape.dims().len();
        // Output axes of each side's (batch, free) axes.
        let l_axes: Dims = (0..nb + nm).collect();
        let r_axes: Dims = (0..nb).chain(nb + nm..rank).collect();
        let dt = self.rb.out().ty(l).dtype;
        let zero =
            self.push(Op::Constant { value: Tensor::zeros(dt, Shape::new(&[]))?.into() }, &[])?;
        let mut acc =
            self.push(Op::BroadcastInDim { shape: out_shape.clone(), dims: Dims::new() }, &[zero])?;
        for i in 0..k {
            let lk = self.take(l, i, out_shape, &l_axes)?;
            let rk = self.take(r, i, out_shape, &r_axes)?;
            let p = self.push(Op::Binary(BinaryOp::Mul), &[lk, rk])?;
            acc = self.push(Op::Binary(BinaryOp::Add), &[acc, p])?;
        }
        Ok(acc)
    }

    /// Index `i` of the last axis of `x`, broadcast to `shape` with the
    /// other axes of `x` at `axes`.
    fn take(&mut self, x: Value, i: usize, shape: &Shape, axes: &Dims) -> Result<Value, IrError> {
        let dims = self.dims(x);
        let last = dims.len() - 1;
        let mut start = vec![0; dims.len()];
        let mut limit = dims.clone();
        start[last] = i;
        limit[last] = i + 1;
        let s = self.push(
            Op::Slice(Box::new(gradlift_ir::SliceAttrs {
                start: Dims::from_slice(&start),
                limit: Dims::from_slice(&limit),
                stride: Dims::from_slice(&vec![1; dims.len()]),
            })),
            &[x],
        )?;
        let s = self.push(Op::Reshape { shape: Shape::new(&dims[..last]) }, &[s])?;
        self.push(Op::BroadcastInDim { shape: shape.clone(), dims: axes.clone() }, &[s])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradlift_ir::interp::eval_function;
    use gradlift_ir::Type;

    /// `dot_general(x, y)` of parameters of the given shapes.
    fn product(l: &[usize], r: &[usize], dt: DType, d: DotDims) -> Function {
        let mut f = Function::new("dot");
        let x = f.add_param(Some("x"), Type::new(dt, Shape::new(l))).unwrap();
        let y = f.add_param(Some("y"), Type::new(dt, Shape::new(r))).unwrap();
        let z = f.push(Op::DotGeneral(Box::new(d)), &[x, y], None).unwrap();
        f.set_results(vec![z]).unwrap();
        f
    }

    fn dd(lb: &[usize], rb: &[usize], lc: &[usize], rc: &[usize]) -> DotDims {
        DotDims {
            lhs_batch: Dims::from_slice(lb),
            rhs_batch: Dims::from_slice(rb),
            lhs_contract: Dims::from_slice(lc),
            rhs_contract: Dims::from_slice(rc),
        }
    }

    /// Deterministic values with both signs, zeros and varied magnitudes.
    fn values(ty: &Type, seed: u64) -> Tensor {
        let n = ty.shape.size();
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let v: Vec<f64> = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                match s % 11 {
                    0 => 0.0,
                    1 => -0.0,
                    k => {
                        ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
                            * 10f64.powi(k as i32 % 5 - 2)
                    }
                }
            })
            .collect();
        match ty.dtype {
            DType::F32 => {
                Tensor::from_vec(ty.shape.clone(), v.iter().map(|&x| x as f32).collect()).unwrap()
            }
            _ => Tensor::from_vec(ty.shape.clone(), v).unwrap(),
        }
    }

    /// Under the interpreter, the rewrite gives the product's bits: batch
    /// dims, several and zero contracted dims, transposed layouts; longer
    /// contractions are left alone.
    #[test]
    fn expansion_is_exact_under_the_interpreter() {
        let cases: Vec<(Vec<usize>, Vec<usize>, DotDims, bool)> = vec![
            // First MLP layer on one feature: x[100,1] · w[5,1]ᵀ.
            (vec![100, 1], vec![5, 1], dd(&[], &[], &[1], &[1]), true),
            // Backward through a 2-output layer: g[7,2] · w[2,9].
            (vec![7, 2], vec![2, 9], dd(&[], &[], &[1], &[0]), true),
            // Matrix-vector shapes stay GEMM calls: a 2-output layer
            // h[6,50] · w[2,50]ᵀ, a first layer's gradient g[100,8]ᵀ · x[100,1],
            // v[30] · a[30,6].
            (vec![6, 50], vec![2, 50], dd(&[], &[], &[1], &[1]), false),
            (vec![100, 8], vec![100, 1], dd(&[], &[], &[0], &[0]), false),
            (vec![30], vec![30, 6], dd(&[], &[], &[0], &[0]), false),
            // Batched, two contracted dims (3x3 = 9 products): too long.
            (vec![4, 3, 5, 3], vec![3, 3, 4], dd(&[0], &[2], &[1, 3], &[0, 1]), false),
            // Batched outer product (no contracted dims).
            (vec![3, 4], vec![3, 5], dd(&[0], &[0], &[], &[]), true),
            // Three products per output, batch dim last on the rhs.
            (vec![2, 3, 6], vec![3, 5, 2], dd(&[0], &[2], &[1], &[0]), true),
            // A real GEMM stays a library call.
            (vec![8, 16], vec![16, 8], dd(&[], &[], &[1], &[0]), false),
        ];
        for dt in [DType::F32, DType::F64] {
            for (i, (l, r, d, want)) in cases.iter().enumerate() {
                let f = product(l, r, dt, d.clone());
                let v = f.results()[0];
                let Op::DotGeneral(dims) = f.op(v) else { unreachable!() };
                assert_eq!(is_short(&f, v, dims), *want, "case {i}");
                let g = expand_short_dots(&f).unwrap();
                assert_eq!(g.len() > f.len(), *want, "case {i}: rewritten");
                let args: Vec<Tensor> = f
                    .param_types()
                    .iter()
                    .enumerate()
                    .map(|(k, t)| values(t, 7 * i as u64 + k as u64))
                    .collect();
                let a = eval_function(&f, &args).unwrap();
                let b = eval_function(&g, &args).unwrap();
                assert_eq!(a[0].shape(), b[0].shape(), "case {i}");
                let bits = |t: &Tensor| -> Vec<u64> {
                    match t.data() {
                        gradlift_ir::Data::F32(v) => v.iter().map(|x| x.to_bits() as u64).collect(),
                        gradlift_ir::Data::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
                        _ => unreachable!(),
                    }
                };
                assert_eq!(bits(&a[0]), bits(&b[0]), "case {i} ({dt:?}): values differ");
            }
        }
    }
}
