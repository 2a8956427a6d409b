//! Functions and modules: typed value handles, nodes kept in topological
//! order (an instruction only uses values defined before it), parameters
//! first. Every walk over a graph is a loop over this order; nothing here
//! recurses.

use std::fmt;

use smallvec::SmallVec;

use crate::error::{IrError, Loc};
use crate::op::Op;
use crate::shape;
use crate::types::Type;

/// A handle to a value of a function: the index of the node defining it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(u32);

impl Value {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The handle of node `i`. Only meaningful for `i < function.len()`.
    pub fn from_index(i: usize) -> Value {
        Value(i as u32)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// Operand lists: most ops take at most three.
pub type Args = SmallVec<[Value; 3]>;

/// One instruction (or parameter): its op, operands and result type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    pub op: Op,
    pub args: Args,
    pub ty: Type,
}

/// One function: parameters, instructions in topological order, results.
///
/// Equality compares names, ops, operands, types and results, not source
/// locations (a parsed graph and the traced graph it was printed from are
/// equal).
#[derive(Clone, Debug)]
pub struct Function {
    name: String,
    nodes: Vec<Node>,
    num_params: usize,
    names: Vec<Option<Box<str>>>,
    locs: Vec<Option<Loc>>,
    results: Vec<Value>,
}

impl PartialEq for Function {
    fn eq(&self, other: &Function) -> bool {
        self.name == other.name
            && self.num_params == other.num_params
            && self.nodes == other.nodes
            && self.names == other.names
            && self.results == other.results
    }
}

/// The largest number of nodes a function may hold (values are `u32`).
pub const MAX_NODES: usize = u32::MAX as usize - 1;

impl Function {
    /// An empty function named `name` (written `@name`, without the `@`).
    pub fn new(name: impl Into<String>) -> Function {
        Function {
            name: name.into(),
            nodes: Vec::new(),
            num_params: 0,
            names: Vec::new(),
            locs: Vec::new(),
            results: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Adds parameter number `num_params()`. Parameters come before every
    /// instruction: adding one after an instruction is an error.
    pub fn add_param(&mut self, name: Option<&str>, ty: Type) -> Result<Value, IrError> {
        if self.nodes.len() != self.num_params {
            return Err(IrError::Verify {
                func: self.name.clone(),
                msg: "parameters must be added before any instruction".into(),
                loc: None,
            });
        }
        ty.shape.num_elements()?;
        let index = self.num_params as u32;
        let v = self.append(Node { op: Op::Parameter { index }, args: Args::new(), ty }, None)?;
        self.num_params += 1;
        if let Some(n) = name {
            self.names[v.index()] = Some(n.into());
        }
        Ok(v)
    }

    /// Appends an instruction after checking its operands and inferring its
    /// result type from the op's shape rule. Errors name the op, the operand
    /// types and `loc`.
    pub fn push(&mut self, op: Op, args: &[Value], loc: Option<Loc>) -> Result<Value, IrError> {
        let ty = self.infer(&op, args).map_err(|e| e.with_loc(loc.clone()))?;
        self.append(Node { op, args: Args::from_slice(args), ty }, loc)
    }

    /// The type `op` would produce on `args` (without appending anything).
    pub fn infer(&self, op: &Op, args: &[Value]) -> Result<Type, IrError> {
        if let Op::Parameter { .. } = op {
            return Err(IrError::Verify {
                func: self.name.clone(),
                msg: "parameters are added with add_param, not as instructions".into(),
                loc: None,
            });
        }
        let mut tys: SmallVec<[&Type; 3]> = SmallVec::new();
        for &a in args {
            match self.nodes.get(a.index()) {
                Some(n) => tys.push(&n.ty),
                None => {
                    return Err(IrError::Verify {
                        func: self.name.clone(),
                        msg: format!("{}: operand {a} is not defined before use", op.name()),
                        loc: None,
                    })
                }
            }
        }
        shape::infer(op, &tys)
    }

    fn append(&mut self, node: Node, loc: Option<Loc>) -> Result<Value, IrError> {
        if self.nodes.len() >= MAX_NODES {
            return Err(IrError::Verify {
                func: self.name.clone(),
                msg: format!("a function holds at most {MAX_NODES} values"),
                loc,
            });
        }
        let v = Value(self.nodes.len() as u32);
        self.nodes.push(node);
        self.names.push(None);
        self.locs.push(loc);
        Ok(v)
    }

    /// Sets the values the function returns (in order).
    pub fn set_results(&mut self, results: Vec<Value>) -> Result<(), IrError> {
        for &r in &results {
            if r.index() >= self.nodes.len() {
                return Err(IrError::Verify {
                    func: self.name.clone(),
                    msg: format!("result {r} is not a value of this function"),
                    loc: None,
                });
            }
        }
        self.results = results;
        Ok(())
    }

    pub fn results(&self) -> &[Value] {
        &self.results
    }

    pub fn num_params(&self) -> usize {
        self.num_params
    }

    /// The handle of parameter `i`.
    pub fn param(&self, i: usize) -> Value {
        Value(i as u32)
    }

    pub fn params(&self) -> impl Iterator<Item = Value> + '_ {
        (0..self.num_params).map(|i| Value(i as u32))
    }

    /// Parameter types, in order.
    pub fn param_types(&self) -> Vec<Type> {
        self.nodes[..self.num_params].iter().map(|n| n.ty.clone()).collect()
    }

    /// Result types, in order.
    pub fn result_types(&self) -> Vec<Type> {
        self.results.iter().map(|r| self.nodes[r.index()].ty.clone()).collect()
    }

    /// Number of nodes (parameters included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Number of instructions (parameters excluded).
    pub fn num_instructions(&self) -> usize {
        self.nodes.len() - self.num_params
    }

    pub fn node(&self, v: Value) -> &Node {
        &self.nodes[v.index()]
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Every value with its node, in topological order.
    pub fn iter(&self) -> impl Iterator<Item = (Value, &Node)> + '_ {
        self.nodes.iter().enumerate().map(|(i, n)| (Value(i as u32), n))
    }

    /// Instructions only (parameters skipped), in topological order.
    pub fn instructions(&self) -> impl Iterator<Item = (Value, &Node)> + '_ {
        self.iter().skip(self.num_params)
    }

    pub fn ty(&self, v: Value) -> &Type {
        &self.nodes[v.index()].ty
    }

    pub fn op(&self, v: Value) -> &Op {
        &self.nodes[v.index()].op
    }

    pub fn args(&self, v: Value) -> &[Value] {
        &self.nodes[v.index()].args
    }

    /// The value's name in text (`%x`), if it has one; unnamed values print
    /// as numbers.
    pub fn value_name(&self, v: Value) -> Option<&str> {
        self.names[v.index()].as_deref()
    }

    /// Names a value. Names are letters, digits and `_`, not all digits
    /// (all-digit names are the printer's numbering); `None` removes it.
    pub fn set_value_name(&mut self, v: Value, name: Option<&str>) -> Result<(), IrError> {
        if let Some(n) = name {
            if !is_valid_name(n) || n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IrError::Verify {
                    func: self.name.clone(),
                    msg: format!(
                        "invalid value name {n:?}: use letters, digits and _ (not all digits)"
                    ),
                    loc: None,
                });
            }
        }
        self.names[v.index()] = name.map(Into::into);
        Ok(())
    }

    pub fn loc(&self, v: Value) -> Option<&Loc> {
        self.locs[v.index()].as_ref()
    }

    pub fn set_loc(&mut self, v: Value, loc: Option<Loc>) {
        self.locs[v.index()] = loc;
    }
}

/// Value and function names: non-empty, ASCII letters, digits and `_`.
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A set of functions (a `.gir` file).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Module {
    funcs: Vec<Function>,
}

impl Module {
    pub fn new() -> Module {
        Module::default()
    }

    /// Adds a function; names must be unique within the module.
    pub fn push(&mut self, f: Function) -> Result<(), IrError> {
        if self.get(f.name()).is_some() {
            return Err(IrError::Verify {
                func: f.name().to_string(),
                msg: "a function of this name is already defined".into(),
                loc: None,
            });
        }
        self.funcs.push(f);
        Ok(())
    }

    /// A module of these functions; names must be unique. Checks in one
    /// pass (repeated [`Module::push`] is quadratic in the function count).
    pub fn from_funcs(funcs: Vec<Function>) -> Result<Module, IrError> {
        let mut seen = std::collections::HashSet::new();
        for f in &funcs {
            if !seen.insert(f.name()) {
                return Err(IrError::Verify {
                    func: f.name().to_string(),
                    msg: "a function of this name is already defined".into(),
                    loc: None,
                });
            }
        }
        drop(seen);
        Ok(Module { funcs })
    }

    pub fn funcs(&self) -> &[Function] {
        &self.funcs
    }

    pub fn funcs_mut(&mut self) -> &mut [Function] {
        &mut self.funcs
    }

    pub fn get(&self, name: &str) -> Option<&Function> {
        self.funcs.iter().find(|f| f.name() == name)
    }

    /// The named function, or the first one when `name` is `None`.
    pub fn func(&self, name: Option<&str>) -> Result<&Function, IrError> {
        match name {
            Some(n) => self.get(n).ok_or_else(|| IrError::Eval {
                msg: format!(
                    "no function @{n} in this module (it has: {})",
                    self.funcs
                        .iter()
                        .map(|f| format!("@{}", f.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                loc: None,
            }),
            None => self.funcs.first().ok_or_else(|| IrError::Eval {
                msg: "the module holds no function".into(),
                loc: None,
            }),
        }
    }
}

impl From<Function> for Module {
    fn from(f: Function) -> Module {
        Module { funcs: vec![f] }
    }
}
