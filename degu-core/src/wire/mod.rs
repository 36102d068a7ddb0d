//! The wire layer: byte classes, head parsing and rendering, request-targets, query
//! strings, ranges.

// The byte tables are the parser's and the chunk decoder's own; the fuzz targets check
// parsed heads against them, so the `fuzz` feature shows them.
#[cfg(feature = "fuzz")]
pub mod class;
#[cfg(not(feature = "fuzz"))]
pub(crate) mod class;
pub mod head;
pub mod parse;
pub mod query;
pub mod range;
pub mod render;
pub mod uri;
