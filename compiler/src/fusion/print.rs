//! Printing a fused program.
