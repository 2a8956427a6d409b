//! The copy loop every rewriting pass shares: walk the source function in
//! node order, and for each node either copy it (operands remapped), emit a
//! replacement in its place, or point it at a value already in the output.
//! Parameters, names and locations carry over, so a walk that only copies
//! produces a function that prints exactly like its source.

use gradlift_ir::{Args, Function, IrError, Op, Value};

/// A function under reconstruction from `src`.
pub(crate) struct Rebuild<'f> {
    src: &'f Function,
    out: Function,
    /// The output value standing for each source value (instructions not
    /// reached yet map to themselves and are never read).
    map: Vec<Value>,
    /// For each output value, the source node it was emitted for (`None`
    /// for helpers).
    origin: Vec<Option<Value>>,
}

impl<'f> Rebuild<'f> {
    /// Starts the output with `src`'s parameters (names and locations kept).
    pub(crate) fn new(src: &'f Function) -> Result<Rebuild<'f>, IrError> {
        let mut out = Function::new(src.name());
        let mut map = Vec::with_capacity(src.len());
        for p in src.params() {
            let v = out.add_param(src.value_name(p), src.ty(p).clone())?;
            out.set_loc(v, src.loc(p).cloned());
            map.push(v);
        }
        map.extend((src.num_params()..src.len()).map(Value::from_index));
        let origin = src.params().map(Some).collect();
        Ok(Rebuild { src, out, map, origin })
    }

    /// The new function so far.
    pub(crate) fn out(&self) -> &Function {
        &self.out
    }

    /// The function being rebuilt.
    pub(crate) fn src(&self) -> &'f Function {
        self.src
    }

    /// The output value that stands for source value `v`.
    pub(crate) fn get(&self, v: Value) -> Value {
        self.map[v.index()]
    }

    /// The operands of source node `v`, as output values.
    pub(crate) fn args(&self, v: Value) -> Args {
        self.src.args(v).iter().map(|&a| self.get(a)).collect()
    }

    /// Copies source node `v` with operands `args`.
    pub(crate) fn keep(&mut self, v: Value, args: &[Value]) -> Result<Value, IrError> {
        self.emit(v, self.src.op(v).clone(), args)
    }

    /// Emits `op(args)` in place of source node `v`, with its name and
    /// location.
    pub(crate) fn emit(&mut self, v: Value, op: Op, args: &[Value]) -> Result<Value, IrError> {
        let nv = self.out.push(op, args, self.src.loc(v).cloned())?;
        self.out.set_value_name(nv, self.src.value_name(v))?;
        self.map[v.index()] = nv;
        self.origin.push(Some(v));
        Ok(nv)
    }

    /// Emits an unnamed helper instruction for the rewrite of source node
    /// `v` (it gets `v`'s location).
    pub(crate) fn helper(&mut self, v: Value, op: Op, args: &[Value]) -> Result<Value, IrError> {
        let nv = self.out.push(op, args, self.src.loc(v).cloned())?;
        self.origin.push(None);
        Ok(nv)
    }

    /// The source node output value `v` was emitted for (`None` for
    /// helpers).
    pub(crate) fn origin(&self, v: Value) -> Option<Value> {
        self.origin.get(v.index()).copied().flatten()
    }

    /// Source node `v` is replaced by the existing output value `to`. If
    /// `v` was named and `to` (an instruction) is not, `to` takes the name,
    /// so a user's name survives the rewrite.
    pub(crate) fn alias(&mut self, v: Value, to: Value) -> Result<(), IrError> {
        self.map[v.index()] = to;
        if let Some(name) = self.src.value_name(v) {
            if to.index() >= self.out.num_params() && self.out.value_name(to).is_none() {
                self.out.set_value_name(to, Some(name))?;
            }
        }
        Ok(())
    }

    /// Sets the results and returns the new function.
    pub(crate) fn finish(mut self) -> Result<Function, IrError> {
        let results = self.src.results().iter().map(|&r| self.get(r)).collect();
        self.out.set_results(results)?;
        Ok(self.out)
    }
}
