//! Small models built with `Function::push` (through the compiler's
//! `Emitter`) whose gradient graphs the pass tests and benchmarks optimise:
//! the tutorial's kinematics MSE loss, one dense layer, and an MLP training
//! step (forward with relu, softmax cross-entropy on integer labels via a
//! one-hot, `ad::grad` with respect to the weights, an SGD update).

#![allow(dead_code)]

use gradlift_compiler::ad::grad;
use gradlift_compiler::emit::Emitter;
use gradlift_ir::{
    BinaryOp, CompareOp, DType, Dims, DotDims, Function, Op, ReduceKind, Shape, Type, UnaryOp,
    Value,
};

fn ty(dims: &[usize]) -> Type {
    Type::new(DType::F32, Shape::new(dims))
}

/// `[m, k] x [k, n] -> [m, n]`.
fn matmul(e: &mut Emitter, x: Value, w: Value) -> Value {
    let d = DotDims {
        lhs_batch: Dims::new(),
        rhs_batch: Dims::new(),
        lhs_contract: Dims::from_slice(&[1]),
        rhs_contract: Dims::from_slice(&[0]),
    };
    e.dot_general(x, w, d).unwrap()
}

/// `x·w + b` with `b` broadcast over the rows.
fn dense(e: &mut Emitter, x: Value, w: Value, b: Value) -> Value {
    let y = matmul(e, x, w);
    let shape = e.ty(y).shape;
    let bb = e.broadcast(b, &shape, &[1]).unwrap();
    e.add(y, bb).unwrap()
}

fn relu(e: &mut Emitter, x: Value) -> Value {
    let z = e.full_like(x, 0.0).unwrap();
    e.binary(BinaryOp::Max, x, z).unwrap()
}

/// The tutorial's kinematics: `pos = x0 + v0 t + a t²/2` on 10 times,
/// loss = mean squared error against a target. Parameters: a, x0, v0
/// (`f32[1,2]`), t (`f32[10,1]`), target (`f32[10,2]`).
pub fn kinematics_loss() -> Function {
    let mut f = Function::new("kinematics");
    let a = f.add_param(Some("a"), ty(&[1, 2])).unwrap();
    let x0 = f.add_param(Some("x0"), ty(&[1, 2])).unwrap();
    let v0 = f.add_param(Some("v0"), ty(&[1, 2])).unwrap();
    let t = f.add_param(Some("t"), ty(&[10, 1])).unwrap();
    let target = f.add_param(Some("target"), ty(&[10, 2])).unwrap();
    let mut e = Emitter::new(&mut f);
    let s = Shape::new(&[10, 2]);
    let (ab, x0b) = (e.broadcast(a, &s, &[0, 1]).unwrap(), e.broadcast(x0, &s, &[0, 1]).unwrap());
    let (v0b, tb) = (e.broadcast(v0, &s, &[0, 1]).unwrap(), e.broadcast(t, &s, &[0, 1]).unwrap());
    let vt = e.mul(v0b, tb).unwrap();
    let p1 = e.add(x0b, vt).unwrap();
    let half = e.full(&ty(&[10, 2]), 0.5).unwrap();
    let ha = e.mul(half, ab).unwrap();
    let tt = e.mul(tb, tb).unwrap();
    let hatt = e.mul(ha, tt).unwrap();
    let pos = e.add(p1, hatt).unwrap();
    let d = e.sub(pos, target).unwrap();
    let d2 = e.mul(d, d).unwrap();
    let sum = e.reduce_sum(d2, &[0, 1]).unwrap();
    let n = e.scalar(DType::F32, 20.0).unwrap();
    let loss = e.div(sum, n).unwrap();
    f.set_results(vec![loss]).unwrap();
    f
}

/// One dense layer with a tanh and a sum-of-squares loss:
/// `sum(tanh(x·w + b)²)`. Parameters: x `[batch, n_in]`, w `[n_in, n_out]`,
/// b `[n_out]`.
pub fn dense_layer_loss(batch: usize, n_in: usize, n_out: usize) -> Function {
    let mut f = Function::new("dense");
    let x = f.add_param(Some("x"), ty(&[batch, n_in])).unwrap();
    let w = f.add_param(Some("w"), ty(&[n_in, n_out])).unwrap();
    let b = f.add_param(Some("b"), ty(&[n_out])).unwrap();
    let mut e = Emitter::new(&mut f);
    let y = dense(&mut e, x, w, b);
    let h = e.unary(UnaryOp::Tanh, y).unwrap();
    let h2 = e.mul(h, h).unwrap();
    let loss = e.reduce_sum(h2, &[0, 1]).unwrap();
    f.set_results(vec![loss]).unwrap();
    f
}

/// The loss of an MLP `sizes[0] → sizes[1] → ... → classes` with relu
/// between layers and softmax cross-entropy on integer labels (a one-hot
/// built from `iota` and `eq`). Parameters: w1, b1, w2, b2, ..., then the
/// input `x: f32[batch, sizes[0]]` and `labels: i32[batch]`.
pub fn mlp_loss(sizes: &[usize], batch: usize) -> Function {
    let mut f = Function::new("mlp");
    let mut params = Vec::new();
    for (k, win) in sizes.windows(2).enumerate() {
        let w = f.add_param(Some(&format!("w{}", k + 1)), ty(&[win[0], win[1]])).unwrap();
        let b = f.add_param(Some(&format!("b{}", k + 1)), ty(&[win[1]])).unwrap();
        params.push((w, b));
    }
    let x = f.add_param(Some("x"), ty(&[batch, sizes[0]])).unwrap();
    let labels = f.add_param(Some("labels"), Type::new(DType::I32, Shape::new(&[batch]))).unwrap();
    let classes = *sizes.last().unwrap();
    let mut e = Emitter::new(&mut f);
    let mut h = x;
    for (k, &(w, b)) in params.iter().enumerate() {
        h = dense(&mut e, h, w, b);
        if k + 1 < params.len() {
            h = relu(&mut e, h);
        }
    }
    // log_softmax with the max subtracted (and not differentiated).
    let logits_shape = Shape::new(&[batch, classes]);
    let m = e.op(Op::Reduce { kind: ReduceKind::Max, axes: Dims::from_slice(&[1]) }, &[h]).unwrap();
    let m = e.op(Op::StopGradient, &[m]).unwrap();
    let mb = e.broadcast(m, &logits_shape, &[0]).unwrap();
    let z = e.sub(h, mb).unwrap();
    let ez = e.unary(UnaryOp::Exp, z).unwrap();
    let se = e.reduce_sum(ez, &[1]).unwrap();
    let lse = e.unary(UnaryOp::Log, se).unwrap();
    let lseb = e.broadcast(lse, &logits_shape, &[0]).unwrap();
    let logp = e.sub(z, lseb).unwrap();
    // one-hot of the labels
    let lb = e.broadcast(labels, &logits_shape, &[0]).unwrap();
    let iota =
        e.op(Op::Iota { dtype: DType::I32, shape: logits_shape.clone(), axis: 1 }, &[]).unwrap();
    let hit = e.compare(CompareOp::Eq, lb, iota).unwrap();
    let onehot = e.convert(hit, DType::F32).unwrap();
    let picked = e.mul(onehot, logp).unwrap();
    let total = e.reduce_sum(picked, &[0, 1]).unwrap();
    let nll = e.neg(total).unwrap();
    let n = e.scalar(DType::F32, batch as f64).unwrap();
    let loss = e.div(nll, n).unwrap();
    f.set_results(vec![loss]).unwrap();
    f
}

/// One SGD training step of [`mlp_loss`]: the gradient with respect to
/// every weight and bias, and `p - lr·grad(p)` for each. Returns the loss
/// followed by the updated parameters.
pub fn mlp_train_step(sizes: &[usize], batch: usize, lr: f64) -> Function {
    let loss = mlp_loss(sizes, batch);
    let n_weights = 2 * (sizes.len() - 1);
    let wrt: Vec<usize> = (0..n_weights).collect();
    let mut g = grad(&loss, &wrt, 0).unwrap();
    g.set_name("mlp_train_step");
    let results = g.results().to_vec();
    let mut e = Emitter::new(&mut g);
    let mut out = vec![results[0]];
    for (k, &gk) in results[1..].iter().enumerate() {
        let p = Value::from_index(k);
        let ty = e.ty(p);
        let step = e.full(&ty, lr).unwrap();
        let scaled = e.mul(step, gk).unwrap();
        out.push(e.sub(p, scaled).unwrap());
    }
    g.set_results(out).unwrap();
    g
}
