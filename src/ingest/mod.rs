//! From input files to units: reading a collection (JSONL or CSV, plain or
//! gzip) into documents with their problems and repairs ([`collection`]),
//! and splitting a document's text into paragraph units of a kind
//! ([`split`]).

pub mod collection;
pub mod split;

pub use split::{units, Splitter};
