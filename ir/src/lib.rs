//! gradlift's data model: dtypes, shapes, host tensors, the op list and its
//! shape rules, graphs, the `.gir` text format, the verifier and the
//! reference interpreter (the oracle every later stage is tested against).

pub mod dtype;
pub mod error;
pub mod graph;
pub mod interp;
pub mod npy;
pub mod op;
pub mod random_graph;
pub mod shape;
pub mod tensor;
pub mod text;
pub mod types;
pub mod verify;

pub use dtype::DType;
pub use error::{IrError, Loc};
pub use graph::{Args, Function, Module, Node, Value};
pub use op::{
    BinaryOp, CompareOp, CustomRule, DotDims, Linearity, Op, PadAttrs, ReduceKind, SliceAttrs,
    UnaryOp,
};
pub use tensor::{Data, Element, Tensor};
pub use types::{Dims, Shape, Type};
