//! Answering a search: what is asked ([`request`]), what is answered
//! ([`response`]: one model for the command line, JSON and the web page),
//! the [`searcher`] that resolves a request against an open index (its
//! [`filters`] resolved forgivingly, [`partial`] matches filling a page,
//! scores taken apart by [`explain`]), [`trace`] (who carried a paragraph
//! first, and who copied it), the [`collector`] that ranks hits
//! and counts facets (and dates, for a [`histogram`]) in one pass,
//! [`collapse`] (copies folded, independent sources counted),
//! [`query_file`]s of queries with filters, [`ranked`] hits (score, then
//! address), [`similar`] units, and the
//! [`service::SearchService`] seam the front ends ask through.
//!
//! [`export`] reads every unit a search counts, not a page of them (an
//! export's rows, a batch's counts).

pub mod collapse;
pub mod collector;
pub mod explain;
pub mod export;
pub mod filters;
pub mod histogram;
pub mod partial;
pub mod query_file;
pub mod ranked;
pub mod request;
pub mod response;
pub mod searcher;
pub mod service;
pub mod similar;
pub mod trace;

pub use histogram::{Histogram, HistogramRequest, Interval, IntervalChoice};
pub use request::{
    Filters, SearchRequest, DEFAULT_FACET_LIMIT, MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET,
};
pub use response::{
    Explanation, FacetCounts, Facets, FacetsResponse, Hit, SearchResponse, ShowResponse, ShownUnit,
    SimilarResponse, WordScore,
};
pub use searcher::Searcher;
pub use service::SearchService;
pub use trace::{TraceRequest, TraceResponse};

pub use export::{ExportSummary, MatchSummary};
