//! Shape and dtype rules: one exhaustive match over the op list. Each rule
//! returns the result type or an error naming the op and its operand types.

use crate::dtype::DType;
use crate::error::IrError;
use crate::op::{DTypeClass, DotDims, Op, PadAttrs, SliceAttrs};
use crate::types::{checked_product, Dims, Shape, Type};

/// The result type of `op` applied to operands of types `args`.
pub fn infer(op: &Op, args: &[&Type]) -> Result<Type, IrError> {
    let err = |msg: String| IrError::Op {
        op: op.name(),
        operands: args.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
        msg,
        loc: None,
    };
    if !op.arity().accepts(args.len()) {
        return Err(err(format!("takes {:?} operands, got {}", op.arity(), args.len())));
    }
    let ty = match op {
        Op::Parameter { .. } => return Err(err("a parameter is not an instruction".into())),
        Op::Constant { value } => value.ty(),
        Op::Iota { dtype, shape, axis } => {
            if !dtype.is_numeric() {
                return Err(err(format!("iota needs a numeric dtype, got {dtype}")));
            }
            if *axis >= shape.rank() {
                return Err(err(format!("axis {axis} out of range for rank {}", shape.rank())));
            }
            Type::new(*dtype, shape.clone())
        }
        Op::Unary(u) => {
            check_class(args[0].dtype, u.dtypes()).map_err(err)?;
            args[0].clone()
        }
        Op::Binary(b) => {
            same_types(args[0], args[1]).map_err(err)?;
            check_class(args[0].dtype, b.dtypes()).map_err(err)?;
            args[0].clone()
        }
        Op::Compare(_) => {
            same_types(args[0], args[1]).map_err(err)?;
            Type::new(DType::Bool, args[0].shape.clone())
        }
        Op::Select => {
            if args[0].dtype != DType::Bool {
                return Err(err(format!("predicate must be bool, got {}", args[0].dtype)));
            }
            same_types(args[1], args[2]).map_err(err)?;
            if args[0].shape != args[1].shape {
                return Err(err(format!(
                    "predicate shape {} differs from branch shape {}",
                    args[0].shape, args[1].shape
                )));
            }
            args[1].clone()
        }
        Op::Convert { to } => Type::new(*to, args[0].shape.clone()),
        Op::BroadcastInDim { shape, dims } => {
            broadcast_rule(args[0], shape, dims).map_err(err)?;
            Type::new(args[0].dtype, shape.clone())
        }
        Op::Reshape { shape } => {
            let n_out = shape.num_elements()?;
            let n_in = args[0].shape.size();
            if n_in != n_out {
                return Err(err(format!(
                    "cannot reshape {n_in} elements into {shape} ({n_out} elements)"
                )));
            }
            Type::new(args[0].dtype, shape.clone())
        }
        Op::Transpose { perm } => {
            check_permutation(perm, args[0].rank()).map_err(err)?;
            let d = args[0].dims();
            Type::new(args[0].dtype, Shape(perm.iter().map(|&p| d[p]).collect()))
        }
        Op::Slice(s) => Type::new(args[0].dtype, slice_rule(args[0], s).map_err(err)?),
        Op::Concatenate { axis } => {
            Type::new(args[0].dtype, concat_rule(args, *axis).map_err(err)?)
        }
        Op::Pad(p) => {
            if args[1].rank() != 0 || args[1].dtype != args[0].dtype {
                return Err(err(format!(
                    "padding value must be a {}[] scalar, got {}",
                    args[0].dtype, args[1]
                )));
            }
            Type::new(args[0].dtype, pad_rule(args[0], p).map_err(err)?)
        }
        Op::Reverse { axes } => {
            check_axes(axes, args[0].rank()).map_err(err)?;
            args[0].clone()
        }
        Op::Reduce { axes, .. } => {
            check_class(args[0].dtype, DTypeClass::Numeric).map_err(err)?;
            check_axes(axes, args[0].rank()).map_err(err)?;
            let d = args[0].dims();
            let out: Dims = (0..d.len()).filter(|i| !axes.contains(i)).map(|i| d[i]).collect();
            Type::new(args[0].dtype, Shape(out))
        }
        Op::Argmax { axis } => {
            check_class(args[0].dtype, DTypeClass::Numeric).map_err(err)?;
            let d = args[0].dims();
            if *axis >= d.len() {
                return Err(err(format!("axis {axis} out of range for rank {}", d.len())));
            }
            if d[*axis] == 0 {
                return Err(err(format!("argmax over axis {axis}, which is empty")));
            }
            let out: Dims = (0..d.len()).filter(|i| i != axis).map(|i| d[i]).collect();
            Type::new(DType::I64, Shape(out))
        }
        Op::DotGeneral(dd) => dot_rule(args[0], args[1], dd).map_err(err)?,
        Op::Gather { axis } => {
            check_index_dtype(args[1].dtype).map_err(err)?;
            Type::new(args[0].dtype, gather_shape(args[0], args[1], *axis).map_err(err)?)
        }
        Op::ScatterAdd { axis } => {
            check_index_dtype(args[1].dtype).map_err(err)?;
            check_class(args[0].dtype, DTypeClass::Numeric).map_err(err)?;
            let want = gather_shape(args[0], args[1], *axis).map_err(err)?;
            if args[2].dtype != args[0].dtype || args[2].shape != want {
                return Err(err(format!(
                    "updates must be {}{want} (x[:axis] ++ idx ++ x[axis+1:]), got {}",
                    args[0].dtype, args[2]
                )));
            }
            args[0].clone()
        }
        Op::StopGradient => args[0].clone(),
        Op::CustomJvp(rule) => custom_rule(rule, args).map_err(err)?,
    };
    ty.shape.num_elements()?;
    Ok(ty)
}

fn check_class(dt: DType, class: DTypeClass) -> Result<(), String> {
    if class.accepts(dt) {
        Ok(())
    } else {
        Err(format!("expects {}, got {dt}", class.describe()))
    }
}

fn check_index_dtype(dt: DType) -> Result<(), String> {
    if dt.is_int() {
        Ok(())
    } else {
        Err(format!("indices must be i32 or i64, got {dt}"))
    }
}

fn same_types(a: &Type, b: &Type) -> Result<(), String> {
    if a.dtype != b.dtype {
        return Err(format!("operand dtypes differ: {} vs {}", a.dtype, b.dtype));
    }
    if a.shape != b.shape {
        return Err(format!(
            "operand shapes differ: {} vs {} (broadcasting is explicit: use broadcast_in_dim)",
            a.shape, b.shape
        ));
    }
    Ok(())
}

/// Axes: each in range, no repeats.
fn check_axes(axes: &[usize], rank: usize) -> Result<(), String> {
    for (i, &a) in axes.iter().enumerate() {
        if a >= rank {
            return Err(format!("axis {a} out of range for rank {rank}"));
        }
        if axes[..i].contains(&a) {
            return Err(format!("axis {a} repeated"));
        }
    }
    Ok(())
}

fn check_permutation(perm: &[usize], rank: usize) -> Result<(), String> {
    if perm.len() != rank {
        return Err(format!("perm has {} entries for rank {rank}", perm.len()));
    }
    check_axes(perm, rank).map_err(|m| format!("perm is not a permutation: {m}"))
}

fn broadcast_rule(x: &Type, shape: &Shape, dims: &[usize]) -> Result<(), String> {
    if dims.len() != x.rank() {
        return Err(format!("dims has {} entries for an operand of rank {}", dims.len(), x.rank()));
    }
    for (i, &d) in dims.iter().enumerate() {
        if d >= shape.rank() {
            return Err(format!("dims[{i}] = {d} out of range for result rank {}", shape.rank()));
        }
        if i > 0 && dims[i - 1] >= d {
            return Err("dims must be strictly increasing".into());
        }
        let (src, dst) = (x.dims()[i], shape.dims()[d]);
        if src != dst && src != 1 {
            return Err(format!(
                "operand dim {i} has size {src}, which cannot broadcast to result dim {d} of size {dst}"
            ));
        }
    }
    Ok(())
}

fn slice_rule(x: &Type, s: &SliceAttrs) -> Result<Shape, String> {
    let r = x.rank();
    if s.start.len() != r || s.limit.len() != r || s.stride.len() != r {
        return Err(format!("start, limit and stride need {r} entries each"));
    }
    let mut out = Dims::new();
    for i in 0..r {
        let (st, li, sd, d) = (s.start[i], s.limit[i], s.stride[i], x.dims()[i]);
        if sd == 0 {
            return Err(format!("stride[{i}] is 0"));
        }
        if st > li || li > d {
            return Err(format!("dim {i}: need 0 <= start ({st}) <= limit ({li}) <= size ({d})"));
        }
        out.push((li - st).div_ceil(sd));
    }
    Ok(Shape(out))
}

fn concat_rule(args: &[&Type], axis: usize) -> Result<Shape, String> {
    let first = args[0];
    if axis >= first.rank() {
        return Err(format!("axis {axis} out of range for rank {}", first.rank()));
    }
    let mut total: usize = 0;
    for (k, t) in args.iter().enumerate() {
        if t.dtype != first.dtype {
            return Err(format!(
                "operand {k} has dtype {}, operand 0 has {}",
                t.dtype, first.dtype
            ));
        }
        if t.rank() != first.rank()
            || (0..first.rank()).any(|i| i != axis && t.dims()[i] != first.dims()[i])
        {
            return Err(format!(
                "operand {k} has shape {}, which differs from operand 0's {} off axis {axis}",
                t.shape, first.shape
            ));
        }
        total = total.checked_add(t.dims()[axis]).ok_or("concatenated size overflows")?;
    }
    let mut out = first.shape.0.clone();
    out[axis] = total;
    Ok(Shape(out))
}

fn pad_rule(x: &Type, p: &PadAttrs) -> Result<Shape, String> {
    let r = x.rank();
    if p.low.len() != r || p.high.len() != r || p.interior.len() != r {
        return Err(format!("low, high and interior need {r} entries each"));
    }
    let mut out = Dims::new();
    for i in 0..r {
        let d = x.dims()[i] as i128;
        let interior = p.interior[i] as i128 * (d - 1).max(0);
        let n = p.low[i] as i128 + p.high[i] as i128 + d + interior;
        if n < 0 {
            return Err(format!("dim {i}: padded size {n} is negative"));
        }
        out.push(usize::try_from(n).map_err(|_| format!("dim {i}: padded size {n} too large"))?);
    }
    if checked_product(&out).is_none() {
        return Err(format!("result shape {} is too large", Shape(out)));
    }
    Ok(Shape(out))
}

fn dot_rule(l: &Type, r: &Type, d: &DotDims) -> Result<Type, String> {
    if l.dtype != r.dtype {
        return Err(format!("operand dtypes differ: {} vs {}", l.dtype, r.dtype));
    }
    check_class(l.dtype, DTypeClass::Numeric)?;
    if d.lhs_batch.len() != d.rhs_batch.len() {
        return Err("lhs_batch and rhs_batch differ in length".into());
    }
    if d.lhs_contract.len() != d.rhs_contract.len() {
        return Err("lhs_contract and rhs_contract differ in length".into());
    }
    let lhs_used: Dims = d.lhs_batch.iter().chain(&d.lhs_contract).copied().collect();
    let rhs_used: Dims = d.rhs_batch.iter().chain(&d.rhs_contract).copied().collect();
    check_axes(&lhs_used, l.rank()).map_err(|m| format!("lhs dims: {m}"))?;
    check_axes(&rhs_used, r.rank()).map_err(|m| format!("rhs dims: {m}"))?;
    for (&a, &b) in d.lhs_batch.iter().zip(&d.rhs_batch) {
        if l.dims()[a] != r.dims()[b] {
            return Err(format!(
                "batch dims differ: lhs dim {a} is {}, rhs dim {b} is {}",
                l.dims()[a],
                r.dims()[b]
            ));
        }
    }
    for (&a, &b) in d.lhs_contract.iter().zip(&d.rhs_contract) {
        if l.dims()[a] != r.dims()[b] {
            return Err(format!(
                "contracting dims differ: lhs dim {a} is {}, rhs dim {b} is {}",
                l.dims()[a],
                r.dims()[b]
            ));
        }
    }
    let mut out: Dims = d.lhs_batch.iter().map(|&a| l.dims()[a]).collect();
    out.extend((0..l.rank()).filter(|i| !lhs_used.contains(i)).map(|i| l.dims()[i]));
    out.extend((0..r.rank()).filter(|i| !rhs_used.contains(i)).map(|i| r.dims()[i]));
    Ok(Type::new(l.dtype, Shape(out)))
}

/// `x[:axis] ++ idx ++ x[axis+1:]`.
fn gather_shape(x: &Type, idx: &Type, axis: usize) -> Result<Shape, String> {
    if axis >= x.rank() {
        return Err(format!("axis {axis} out of range for rank {}", x.rank()));
    }
    if x.dims()[axis] == 0 && idx.shape.size() > 0 {
        return Err(format!("cannot take indices along axis {axis}, which is empty"));
    }
    let mut out: Dims = x.dims()[..axis].iter().copied().collect();
    out.extend(idx.dims().iter().copied());
    out.extend(x.dims()[axis + 1..].iter().copied());
    if checked_product(&out).is_none() {
        return Err(format!("result shape {} is too large", Shape(out)));
    }
    Ok(Shape(out))
}

/// A custom rule's functions fit each other and the operands.
fn custom_rule(rule: &crate::op::CustomRule, args: &[&Type]) -> Result<Type, String> {
    let (p, j) = (&rule.primal, &rule.jvp);
    if p.results().len() != 1 {
        return Err(format!("the primal function @{} must return one value", p.name()));
    }
    let params = p.param_types();
    for (i, (a, want)) in args.iter().zip(&params).enumerate() {
        if *a != want {
            return Err(format!("operand {i} has type {a}, @{} expects {want}", p.name()));
        }
    }
    let out = p.ty(p.results()[0]).clone();
    let mut jvp_params = params.clone();
    jvp_params.extend(params.iter().cloned());
    if j.param_types() != jvp_params {
        return Err(format!(
            "the jvp function @{} must take the primal operands then one tangent per operand ({} parameters)",
            j.name(),
            jvp_params.len()
        ));
    }
    if j.result_types() != vec![out.clone(), out.clone()] {
        return Err(format!(
            "the jvp function @{} must return (primal result, tangent), both {out}",
            j.name()
        ));
    }
    Ok(out)
}
