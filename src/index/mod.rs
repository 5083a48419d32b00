//! The tantivy index: its [`schema`] and fields; [`open`]ing a folder and
//! what an index knows about itself; the [`writer`] that turns units into
//! tantivy documents, each unit with its copy cluster ([`copies`]), and
//! ends an import with one segment per core;
//! [`update`], which brings an index up to date with the
//! configured collections (skips, replacements, deletions, commits);
//! reading stored units back ([`stored`]); and checking every file against
//! its checksum ([`integrity`]).

pub mod copies;
pub mod integrity;
pub mod open;
pub mod schema;
pub mod stored;
pub mod update;
pub mod writer;

pub use open::{exists, holds_index_files, IndexInfo, UnitIndex};
pub use schema::{FacetField, Fields};
pub use stored::stored_str;
pub use update::{update, IndexOptions};
pub use writer::{Progress, Silent, UnitWriter};
