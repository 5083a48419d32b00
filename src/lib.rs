//! nutgraf: paragraph-level search for news and opinion.
//!
//! Data flows one way, and so do the modules' dependencies, each on those
//! listed before it:
//!
//! - [`error`]: every failure a user can meet, worded to say how to fix it;
//! - [`model`]: documents, units and their kinds, dates, the import report;
//! - [`text`]: analysis into terms, author names, snippets, the word runs
//!   and sketches that tell copies;
//! - [`config`]: the index configuration and its collections;
//! - [`ingest`]: reading collections into documents, splitting them into units;
//! - [`index`]: the tantivy schema, writing and updating (each unit with
//!   its copy cluster), stored units, integrity;
//! - [`query`]: the query language, its expansions and suggestions;
//! - [`search`]: requests, ranked hits with facet counts, copies folded,
//!   similar units, traces, and the [`search::SearchService`] seam;
//! - [`render`]: terminal text and JSON for the answers;
//! - [`table`]: answers as rows that leave the tool: every match of a
//!   search with its citation, a batch of queries (CSV, JSON Lines);
//! - [`cluster`]: an OpenSearch or Elasticsearch index of the units: its
//!   mapping and `_bulk` files, the query language as query DSL, and
//!   (feature `cluster`) the export to it and a [`SearchService`] answering
//!   from it;
//! - [`server`]: the HTTP API and the web page (feature `server`);
//! - [`tools`]: benchmarks, evaluation and yardsticks;

pub mod cluster;
pub mod config;
pub mod error;
pub mod index;
pub mod ingest;
pub mod model;
pub mod query;
pub mod render;
pub mod search;
#[cfg(feature = "server")]
pub mod server;
pub mod table;
pub mod text;
pub mod tools;

pub use config::Config;
pub use error::{Error, Result};
pub use search::{SearchRequest, SearchResponse, SearchService, Searcher};
