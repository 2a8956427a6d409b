//! erf: not implemented yet (the reference interpreter has no erf op).

use super::ops::Ctx;
use cranelift_codegen::ir::Value;

pub(crate) fn erf(_c: &mut Ctx, _x: Value) -> Value {
    unimplemented!("math::emit: Erf is not implemented yet")
}
