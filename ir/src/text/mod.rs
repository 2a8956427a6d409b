//! The `.gir` text format (IR.md): printer and parser.
