//! Per-call memory: the arena of temps, kernel scratch, GEMM packing space
//! and the pointer tables, in one 64-byte aligned block per workspace.
//! An executable keeps a pool of workspaces so concurrent calls never share
//! scratch memory and a steady-state call allocates nothing.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

use crate::program::ARENA_ALIGN;

/// The address handed out for zero-sized buffers: non-null, 64-byte
/// aligned, never dereferenced.
pub(crate) fn dangling() -> *mut u8 {
    #[repr(align(64))]
    struct Align64(#[allow(dead_code)] [u8; 64]);
    NonNull::<Align64>::dangling().as_ptr().cast()
}

/// A zero-initialised, [`ARENA_ALIGN`]-aligned heap block.
pub(crate) struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
}

impl AlignedBuf {
    /// `len` zero bytes (no allocation when `len == 0`).
    pub(crate) fn zeroed(len: usize) -> AlignedBuf {
        if len == 0 {
            // SAFETY: `dangling` is non-null.
            return AlignedBuf { ptr: unsafe { NonNull::new_unchecked(dangling()) }, len };
        }
        let layout = Self::layout(len);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else { alloc::handle_alloc_error(layout) };
        AlignedBuf { ptr, len }
    }

    fn layout(len: usize) -> Layout {
        match Layout::from_size_align(len, ARENA_ALIGN) {
            Ok(l) => l,
            // Sizes come from validated programs, far below isize::MAX.
            Err(_) => panic!("workspace of {len} bytes is too large"),
        }
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: allocated in `zeroed` with this layout.
            unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.len)) }
        }
    }
}

/// Everything one call needs besides the caller's tensors.
pub(crate) struct Workspace {
    /// Arena, kernel scratch and packing space (see `plan::MemLayout`).
    pub mem: AlignedBuf,
    /// Base pointer of every buffer of the program. Temps and constants are
    /// fixed when the workspace is made; params and results are bound at
    /// the start of each call.
    pub ptrs: Vec<*mut u8>,
    /// The buffer tables of all kernel steps, back to back.
    pub tables: Vec<*mut u8>,
    /// Input pointers of the library step being run.
    pub ins: Vec<*const u8>,
    /// Index counters for library routines.
    pub index: Vec<usize>,
}

// SAFETY: the raw pointers point into this workspace's own block, into the
// executable's constants (immutable, shared) or, during a call only, into
// the caller's tensors. A workspace is used by one call at a time.
unsafe impl Send for Workspace {}
