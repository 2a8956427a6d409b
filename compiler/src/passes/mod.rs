//! Optimisation passes, one per file.

pub mod dce;
