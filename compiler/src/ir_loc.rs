//! Formatting helpers for optional source locations.

use std::fmt;

use gradlift_ir::Loc;

/// Formats an optional location as a `FILE:LINE:COL: ` prefix.
pub(crate) struct LocPrefix<'a>(pub &'a Option<Loc>);

impl fmt::Display for LocPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(loc) => write!(f, "{loc}: "),
            None => Ok(()),
        }
    }
}
