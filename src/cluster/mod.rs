//! A search cluster (OpenSearch or Elasticsearch) as a home for the units:
//!
//! - [`mapping`]: the index settings and mapping that reproduce nutgraf's
//!   analysis as closely as those engines allow;
//! - [`bulk`]: the units as `_bulk` NDJSON batches of bounded size, and the
//!   files `curl` can send (`export --to-dir`);
//! - [`query`]: nutgraf's query language and filters as query DSL, and the
//!   search bodies (facets disjunctive through `post_filter` and `filter`
//!   aggregations);
//! - [`answer`]: the cluster's answers read into nutgraf's responses
//!   (snippets from highlights, facet counts from aggregations);
//! - [`client`] (feature `cluster`): HTTP with credentials from the
//!   environment, TLS verified, retries with back-off;
//! - [`upload`] (feature `cluster`): `export --to URL`, batch by batch,
//!   resumable;
//! - [`service`] (feature `cluster`): [`service::ClusterService`], the
//!   [`crate::SearchService`] behind `--backend URL`.

pub mod answer;
pub mod bulk;
#[cfg(feature = "cluster")]
pub mod client;
pub mod mapping;
pub mod query;
#[cfg(feature = "cluster")]
pub mod service;
#[cfg(feature = "cluster")]
pub mod upload;
