//! The tantivy index: its [`schema`] and fields, the [`writer`] that brings
//! an index up to date with the configured collections (an update plan,
//! deletions, commits), reading stored units back ([`stored`]), and
//! checking every file against its checksum ([`integrity`]).

pub mod integrity;
pub mod schema;
pub mod stored;
pub mod writer;

pub use schema::{FacetField, Fields};
pub use writer::{
    exists, holds_index_files, stored_str, stored_u64, update, IndexInfo, IndexOptions, Progress,
    Silent, UnitIndex, UnitWriter,
};
