//! The wire layer: byte classes, head parsing and rendering, request-targets, query
//! strings, ranges.

pub mod class;
pub mod head;
pub mod parse;
pub mod query;
pub mod range;
pub mod render;
pub mod uri;
