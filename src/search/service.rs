//! The seam between the front ends and a search backend. The command line,
//! the HTTP server and the benchmarks ask their questions through
//! [`SearchService`] and render the answers in [`super::response`]; the
//! local tantivy index ([`Searcher`]) is one backend, and another (a search
//! cluster) plugs in here without touching rendering or the server.

use std::time::Instant;

use super::export::{ExportSummary, MatchSummary};
use super::response::{FacetsResponse, SearchResponse, ShowResponse, SimilarResponse};
use super::trace::{self, TraceRequest, TraceResponse};
use super::{similar, SearchRequest, Searcher};
use crate::error::Result;
use crate::index::integrity;
use crate::model::UnitView;

/// A search backend: everything a front end can ask.
pub trait SearchService: Send + Sync {
    /// Ranked hits with snippets and facet counts.
    fn search(&self, request: &SearchRequest) -> Result<SearchResponse>;
    /// A unit with `context` units on either side of it.
    fn show(&self, id: &str, context: usize) -> Result<ShowResponse>;
    /// Units of other documents that repeat unit `id`'s claim, stopped
    /// with [`crate::error::Error::Timeout`] at `deadline`.
    fn similar(&self, id: &str, limit: usize, deadline: Option<Instant>)
        -> Result<SimilarResponse>;
    /// Every unit carrying a unit's paragraph or a quote, in order of
    /// publication (see [`super::trace`]).
    fn trace(&self, request: &TraceRequest, deadline: Option<Instant>) -> Result<TraceResponse>;
    /// Counts over the whole index.
    fn facets(&self) -> Result<FacetsResponse>;
    /// Every unit a search counts (its `total_hits`, not a page), best
    /// first, each handed to `each` as soon as it is read, so memory
    /// does not grow with the rows; `each` failing stops the export.
    fn export(
        &self,
        request: &SearchRequest,
        each: &mut dyn FnMut(UnitView) -> Result<()>,
    ) -> Result<ExportSummary>;
    /// Counts per stance and outlet, first and last date and the best
    /// match of the units a search counts (a batch's row).
    fn summary(&self, request: &SearchRequest) -> Result<MatchSummary>;
    /// How many units can be searched now.
    fn units(&self) -> u64;
    /// Where the units are, for messages ("the index at DIR").
    fn place(&self) -> String;
    /// Checks that everything stored is intact, reading it all (once,
    /// before a server starts answering).
    fn verify(&self) -> Result<()>;
    /// The same backend opened afresh, seeing every commit made since
    /// (the server's answer to SIGHUP).
    fn reopen(&self) -> Result<Box<dyn SearchService>>;
}

impl SearchService for Searcher {
    fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        Searcher::search(self, request)
    }

    fn show(&self, id: &str, context: usize) -> Result<ShowResponse> {
        Searcher::show(self, id, context)
    }

    fn similar(
        &self,
        id: &str,
        limit: usize,
        deadline: Option<Instant>,
    ) -> Result<SimilarResponse> {
        similar::similar_until(self, id, limit, deadline)
    }

    fn trace(&self, request: &TraceRequest, deadline: Option<Instant>) -> Result<TraceResponse> {
        trace::trace(self, request, deadline)
    }

    fn facets(&self) -> Result<FacetsResponse> {
        Searcher::facets(self)
    }

    fn export(
        &self,
        request: &SearchRequest,
        each: &mut dyn FnMut(UnitView) -> Result<()>,
    ) -> Result<ExportSummary> {
        Searcher::export(self, request, each)
    }

    fn summary(&self, request: &SearchRequest) -> Result<MatchSummary> {
        Searcher::summary(self, request)
    }

    fn units(&self) -> u64 {
        self.tantivy_searcher().num_docs()
    }

    fn place(&self) -> String {
        format!("the index at {}", self.index.dir.display())
    }

    fn verify(&self) -> Result<()> {
        integrity::ensure_intact(&self.index.dir)
    }

    fn reopen(&self) -> Result<Box<dyn SearchService>> {
        Ok(Box::new(Searcher::open(&self.index.dir, true)?))
    }
}
