//! nutgraf: paragraph-level search for news and opinion.
//!
//! Data flows one way: [`config`] describes documents, [`document`]s are
//! split into paragraph [`unit`]s by [`split`], analysed by [`analysis`] and
//! written to a tantivy index ([`schema`], [`index`]); [`search`] turns a
//! query into ranked hits with [`snippet`]s and facet counts
//! ([`collector`]), read back from the index by [`stored`], and [`render`]
//! turns those into terminal text or JSON.

pub mod analysis;
pub mod bench;
pub mod collection;
pub mod collector;
pub mod config;
pub mod document;
pub mod error;
pub mod eval;
#[cfg(feature = "yardsticks")]
pub mod fts5;
pub mod index;
pub mod integrity;
pub mod lexicon;
#[cfg(feature = "yardsticks")]
pub mod load;
pub mod names;
pub mod query;
pub mod render;
pub mod schema;
pub mod search;
#[cfg(feature = "server")]
pub mod server;
pub mod similar;
pub mod snippet;
pub mod split;
pub mod stored;
pub mod suggest;
pub mod unit;

pub use config::Config;
pub use error::{Error, Result};
pub use search::{SearchRequest, SearchResponse, Searcher};
