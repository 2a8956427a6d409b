//! What the compiler hands the runtime: a [`Program`] is a list of typed
//! buffers and a straight list of [`Step`]s over them. No graph, no control
//! flow; the compiler has already fused, scheduled and memory-planned.
//!
//! ```text
//! program: 2 params, 1 result, arena 64 B
//!   b0: f32[4] param 0 (%x)
//!   b1: f32[4] const
//!   b2: f32[4] temp @0
//!   b3: f32[4] result 0
//!   s0: kernel fusion.0 units=4 grain=1 in(b0, b1) out(b2)
//!   s1: library reverse in(b2) out(b3)
//! ```
//! (the [`fmt::Display`] form, for dumps and snapshot tests).

use std::fmt;
use std::sync::Arc;

use gradlift_ir::{Op, Tensor, Type};

use crate::kernel::CompiledKernel;

/// Index of a buffer in [`Program::buffers`].
pub type BufferId = usize;

/// Alignment (bytes) of every temp slot offset and of the arena itself.
pub const ARENA_ALIGN: usize = 64;

/// Where a buffer's memory comes from.
#[derive(Clone, Debug)]
pub enum BufferKind {
    /// The caller's argument tensor for parameter `index`. Whether the
    /// program may write it is [`ParamDesc::donated`].
    Param {
        /// Parameter index.
        index: usize,
    },
    /// Read-only data baked into the program.
    Constant(Arc<Tensor>),
    /// A slot of the per-call arena at byte `offset` (a multiple of
    /// [`ARENA_ALIGN`]). The compiler's memory planner assigns offsets; slots
    /// of buffers whose lifetimes are disjoint may overlap. The contents at
    /// the start of a call are unspecified.
    Temp {
        /// Byte offset in the arena.
        offset: usize,
    },
    /// The caller's result tensor `index`, written in place.
    Result {
        /// Result index.
        index: usize,
    },
}

/// A buffer: its array type and where it lives.
#[derive(Clone, Debug)]
pub struct BufferDesc {
    /// Dtype and shape of the dense row-major data.
    pub ty: Type,
    /// Where the memory comes from.
    pub kind: BufferKind,
}

impl BufferDesc {
    /// Size of the dense row-major data in bytes.
    pub fn byte_size(&self) -> usize {
        self.ty.shape.size() * self.ty.dtype.size_bytes()
    }
}

/// A parameter of the program.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDesc {
    /// The IR name of the parameter, for error messages (`%x`).
    pub name: Option<String>,
    /// The argument's dtype and shape.
    pub ty: Type,
    /// The program may write this argument in place (the caller donates
    /// it, e.g. a weight updated by a training step); callers must pass it
    /// as [`Arg::Mut`](crate::Arg::Mut).
    pub donated: bool,
}

/// One step of a program. Steps run in order, one after another; a step
/// may itself run on several threads.
#[derive(Clone, Debug)]
pub enum Step {
    /// A JIT kernel. Its buffer table is `inputs ++ outputs ++ scratch`, in
    /// the kernel's order. Only `outputs` and `scratch` may be written.
    ///
    /// `scratch` lists one buffer per entry of
    /// [`CompiledKernel::scratch_bytes`], each at least that large, or is
    /// left empty to let the runtime supply the scratch memory itself.
    Kernel {
        /// The compiled code and its work split.
        kernel: CompiledKernel,
        /// Buffers the kernel reads.
        inputs: Vec<BufferId>,
        /// Buffers the kernel writes.
        outputs: Vec<BufferId>,
        /// Scratch buffers (temps), or empty for runtime-supplied scratch.
        scratch: Vec<BufferId>,
    },
    /// A library routine computing one IR op with its attributes: see
    /// [`crate::library`] for the supported ops. The output must not share
    /// memory with an input, except `scatter_add` whose output may be its
    /// operand `x` itself (an in-place update).
    Library {
        /// The op, with its attributes.
        op: Op,
        /// The operands, in the op's order.
        inputs: Vec<BufferId>,
        /// Where the result goes.
        output: BufferId,
    },
    /// Copies `from` into `to`: same dtype and element count (the shapes
    /// may differ, so this also serves a reshape).
    Copy {
        /// Source buffer.
        from: BufferId,
        /// Destination buffer.
        to: BufferId,
    },
}

/// A compiled function: parameters, result types, buffers and steps.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// The parameters, in call order.
    pub params: Vec<ParamDesc>,
    /// The result types, in order.
    pub results: Vec<Type>,
    /// Every buffer; a [`BufferId`] indexes this list.
    pub buffers: Vec<BufferDesc>,
    /// The steps, run in order.
    pub steps: Vec<Step>,
    /// Size of the per-call arena holding every [`BufferKind::Temp`].
    pub arena_bytes: usize,
}

impl Program {
    /// An empty program.
    pub fn new() -> Program {
        Program::default()
    }

    /// Adds a parameter and returns its index.
    pub fn add_param(&mut self, name: Option<&str>, ty: Type, donated: bool) -> usize {
        self.params.push(ParamDesc { name: name.map(str::to_owned), ty, donated });
        self.params.len() - 1
    }

    /// Adds a result type and returns its index.
    pub fn add_result(&mut self, ty: Type) -> usize {
        self.results.push(ty);
        self.results.len() - 1
    }

    /// Adds a buffer and returns its id.
    pub fn add_buffer(&mut self, ty: Type, kind: BufferKind) -> BufferId {
        self.buffers.push(BufferDesc { ty, kind });
        self.buffers.len() - 1
    }

    /// Appends a step.
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "program: {} params, {} results, arena {} B",
            self.params.len(),
            self.results.len(),
            self.arena_bytes
        )?;
        for (id, b) in self.buffers.iter().enumerate() {
            write!(f, "  b{id}: {} ", b.ty)?;
            match &b.kind {
                BufferKind::Param { index } => {
                    write!(f, "param {index}")?;
                    if let Some(p) = self.params.get(*index) {
                        if let Some(n) = &p.name {
                            write!(f, " (%{n})")?;
                        }
                        if p.donated {
                            write!(f, " donated")?;
                        }
                    }
                }
                BufferKind::Constant(_) => write!(f, "const")?,
                BufferKind::Temp { offset } => write!(f, "temp @{offset}")?,
                BufferKind::Result { index } => write!(f, "result {index}")?,
            }
            writeln!(f)?;
        }
        for (s, step) in self.steps.iter().enumerate() {
            write!(f, "  s{s}: ")?;
            match step {
                Step::Kernel { kernel, inputs, outputs, scratch } => {
                    write!(
                        f,
                        "kernel {} units={} grain={} in({}) out({})",
                        kernel.name,
                        kernel.units,
                        kernel.grain,
                        Ids(inputs),
                        Ids(outputs)
                    )?;
                    if !scratch.is_empty() {
                        write!(f, " scratch({})", Ids(scratch))?;
                    }
                }
                Step::Library { op, inputs, output } => {
                    write!(f, "library {} in({}) out(b{output})", op.name(), Ids(inputs))?;
                }
                Step::Copy { from, to } => write!(f, "copy b{from} -> b{to}")?,
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// `b0, b1, b2`.
struct Ids<'a>(&'a [BufferId]);

impl fmt::Display for Ids<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "b{id}")?;
        }
        Ok(())
    }
}
