//! Seeded random graph generator for property tests.
