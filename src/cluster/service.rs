//! [`ClusterService`]: the [`SearchService`] of an index in a cluster, so
//! that `search`, `batch`, `show`, `similar`, `facets`, `bench` and
//! `serve` answer from it with the same output, JSON and web page as from
//! a local index.
//!
//! What a cluster cannot answer as nutgraf does is an error that says so:
//! `trace` (it compares every copy's words) and `--explain`. `search
//! --all` reads every match page by page (`search_after`); `batch` counts
//! with aggregations. A search that no unit answers
//! with every word is relaxed as locally, and a page that full matches do
//! not fill goes on with partial ones; there are no "did you mean"
//! suggestions. Histograms are counted by the cluster and bucketed
//! here, as locally.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::answer;
use super::client::{Body, Client, Retry};
use super::query::{self, ClusterFilters, Page};
use crate::error::{Error, Result};
use crate::index::schema::{FacetField, SCHEMA_VERSION};
use crate::model::date::date_span;
use crate::model::{parse_unit_id, UnitKind, UnitView};
use crate::query::parse::{Node, Scope};
use crate::query::scorers::WORD_CREDIT;
use crate::search::export::{ExportSummary, MatchSummary};
use crate::search::filters::resolve_among;
use crate::search::histogram::{DateTally, Histogram, HistogramRequest, NO_VALUE};
use crate::search::request::check_range;
use crate::search::response::{FacetsResponse, Hit, SearchResponse, ShowResponse, SimilarResponse};
use crate::search::trace::{TraceRequest, TraceResponse};
use crate::search::{SearchRequest, SearchService, Searcher, MAX_SEARCH_LIMIT};
use crate::text::analysis;
use crate::text::names::{key, AuthorAliases};

/// The facet values of the index, for forgiving filters (fetched once).
type Catalog = BTreeMap<FacetField, (Vec<String>, Vec<String>)>;

/// An index in an OpenSearch or Elasticsearch cluster.
pub struct ClusterService {
    client: Arc<Client>,
    units: u64,
    title_boost: f32,
    catalog: OnceLock<std::result::Result<Catalog, String>>,
}

/// A request made ready for the cluster.
struct Prepared {
    q: Value,
    loose: Option<(Value, usize)>,
    filters: ClusterFilters,
    any_kind: bool,
    node: Option<Node>,
}

/// The title weight of the cluster's queries: nutgraf's default.
const TITLE_BOOST: f32 = crate::config::DEFAULT_TITLE_BOOST;

impl ClusterService {
    /// Opens the index a URL names (`http://HOST:9200/nutgraf`): checks
    /// that the cluster answers and that the index is nutgraf's.
    pub fn open(url: &str) -> Result<ClusterService> {
        let mut client = Client::new(url)?;
        // Someone waits for each answer: a few quick tries, not an
        // export's patience.
        client.retry = Retry {
            attempts: 3,
            first_wait: Duration::from_millis(250),
            max_wait: Duration::from_secs(2),
        };
        ClusterService::with_client(Arc::new(client))
    }

    fn with_client(client: Arc<Client>) -> Result<ClusterService> {
        let mut service = ClusterService {
            client,
            units: 0,
            title_boost: TITLE_BOOST,
            catalog: OnceLock::new(),
        };
        service.check_index()?;
        let count = service.get("_count", "counting the units")?;
        service.units = count["count"].as_u64().unwrap_or(0);
        Ok(service)
    }

    fn get(&self, path: &str, what: &str) -> Result<Value> {
        self.client.expect_ok(Method::GET, path, Body::None, what)
    }

    fn search_raw(&self, body: &Value, what: &str) -> Result<Value> {
        self.client
            .expect_ok(Method::POST, "_search", Body::Json(body), what)
    }

    /// The index exists and was made by `nutgraf export --to` for this
    /// schema.
    fn check_index(&self) -> Result<()> {
        let mapping = self.get("_mapping", "reading the index's mapping")?;
        let meta = mapping
            .as_object()
            .and_then(|m| m.values().next())
            .map(|v| v["mappings"]["_meta"].clone())
            .unwrap_or(Value::Null);
        let url = self.client.target.url();
        match meta["nutgraf_schema"].as_u64() {
            Some(v) if v == u64::from(SCHEMA_VERSION) => Ok(()),
            Some(v) => Err(Error::Input(format!(
                "the index {url} was exported for index schema v{v}; this nutgraf reads v{SCHEMA_VERSION}: run `nutgraf export --to {url}` again"
            ))),
            None => Err(Error::Input(format!(
                "the index {url} was not made by `nutgraf export --to` (its mapping has no nutgraf schema); export to it first"
            ))),
        }
    }

    /// Every value of the facets filters resolve against, with name keys.
    fn catalog(&self) -> Result<&Catalog> {
        let got = self.catalog.get_or_init(|| {
            let body = query::facets_body();
            let answer = self
                .search_raw(&body, "reading the facet values")
                .map_err(|e| e.to_string())?;
            let (facets, _) = answer::facets(&answer, 0);
            Ok(FacetField::ALL
                .into_iter()
                .map(|f| {
                    let values: Vec<String> =
                        facets.get(f).0.iter().map(|(v, _)| v.clone()).collect();
                    let keys = values.iter().map(|v| key(v)).collect();
                    (f, (values, keys))
                })
                .collect())
        });
        got.as_ref().map_err(|e| Error::Cluster(e.clone()))
    }

    /// The values a user's value selects, forgivingly as locally (author
    /// aliases of a config are not known to the cluster).
    fn resolve(&self, field: FacetField, wanted: &str) -> std::result::Result<Vec<String>, String> {
        if field == FacetField::Kind {
            return UnitKind::parse(wanted)
                .map(|k| vec![k.as_str().to_string()])
                .ok_or_else(|| {
                    let all: Vec<&str> = UnitKind::ALL.iter().map(|k| k.as_str()).collect();
                    format!("no kind \"{wanted}\"; kinds are: {}", all.join(", "))
                });
        }
        let catalog = self.catalog().map_err(|e| e.to_string())?;
        let (known, keys) = catalog.get(&field).cloned().unwrap_or_default();
        resolve_among(&known, &keys, &AuthorAliases::default(), field, wanted)
    }

    fn filters(&self, request: &SearchRequest, any_kind: bool) -> Result<ClusterFilters> {
        let mut out = ClusterFilters::default();
        for field in FacetField::ALL {
            let wanted = request.filters.values(field);
            if field == FacetField::Kind && wanted.is_empty() {
                if !any_kind {
                    out.facets.push((field, query::default_kinds()));
                }
                continue;
            }
            if wanted.is_empty() {
                continue;
            }
            let mut values = Vec::new();
            for w in wanted {
                values.extend(self.resolve(field, w).map_err(Error::Filter)?);
            }
            values.sort();
            values.dedup();
            out.facets.push((field, values));
        }
        if let Some(d) = &request.filters.since {
            out.since = Some(query::date_bound(d, "since")?);
        }
        if let Some(d) = &request.filters.until {
            out.until = Some(query::date_bound(d, "until")?);
        }
        Ok(out)
    }

    /// The matches of `q` counted by date and split value, bucketed as
    /// locally; with `normalize`, every unit under the same filters too.
    fn histogram(
        &self,
        asked: &HistogramRequest,
        q: Value,
        filters: &ClusterFilters,
    ) -> Result<Histogram> {
        let mut names: Vec<String> = Vec::new();
        let tally = self.date_tally(q, filters, asked.split, &mut names)?;
        let all = if asked.normalize {
            let everything = json!({ "match_all": {} });
            Some(self.date_tally(everything, filters, asked.split, &mut names)?)
        } else {
            None
        };
        Histogram::build(asked, &tally, &names, all.as_ref())
    }

    /// Counts by `(first day, last day, split value)`, page by page.
    fn date_tally(
        &self,
        q: Value,
        filters: &ClusterFilters,
        split: FacetField,
        names: &mut Vec<String>,
    ) -> Result<DateTally> {
        let mut tally = DateTally::default();
        let mut after: Option<Value> = None;
        loop {
            let body = query::histogram_body(q.clone(), filters, split, after.as_ref());
            let found = self.search_raw(&body, "counting the matches by date")?;
            let dates = &found["aggregations"]["matches"]["dates"];
            let buckets = dates["buckets"].as_array().cloned().unwrap_or_default();
            for b in &buckets {
                let span = b["key"]["published"]
                    .as_str()
                    .and_then(date_span)
                    .unwrap_or((0, 0));
                let value = match b["key"]["split"].as_str() {
                    Some(v) => match names.iter().position(|n| n == v) {
                        Some(i) => i as u32,
                        None => {
                            names.push(v.to_string());
                            (names.len() - 1) as u32
                        }
                    },
                    None => NO_VALUE,
                };
                let n = b["doc_count"].as_u64().unwrap_or(0);
                tally.add((span.0, span.1, value), n);
            }
            match dates.get("after_key") {
                Some(key) if !key.is_null() && buckets.len() == query::HISTOGRAM_PAGE => {
                    after = Some(key.clone());
                }
                _ => return Ok(tally),
            }
        }
    }

    /// A request's query and filters as the cluster reads them, and its
    /// relaxed form (when no unit may hold every word) with its number
    /// of words.
    fn prepare(&self, request: &SearchRequest) -> Result<Prepared> {
        let node = Searcher::parse(&request.query)?;
        let any_kind = node
            .as_ref()
            .is_some_and(|n| n.mentions(Scope::Facet(FacetField::Kind)));
        let filters = self.filters(request, any_kind)?;
        let resolve = |f: FacetField, v: &str| self.resolve(f, v);
        let q = query::query(node.as_ref(), &resolve, self.title_boost)?;
        let loose = query::loosened(
            node.as_ref(),
            &resolve,
            self.title_boost,
            &query::Loose::Relaxed,
        )?;
        Ok(Prepared {
            q,
            loose,
            filters,
            any_kind,
            node,
        })
    }

    /// The query an export or a batch counts: the query, or, when no unit
    /// holds every word, its relaxed form (and whether it is).
    fn counted_query(&self, p: Prepared) -> Result<(Value, ClusterFilters, bool)> {
        if let Some((loose, _)) = p.loose {
            let none = query::summary_body(p.q.clone(), &p.filters);
            let found = self.search_raw(&none, "counting the matches")?;
            if answer::total(&found) == 0 {
                return Ok((loose, p.filters, true));
            }
        }
        Ok((p.q, p.filters, false))
    }

    /// Partial matches after the full ones (`q`): each plain word looked
    /// for in the paragraph, one of the rarest held there.
    fn filling(
        &self,
        node: Option<&Node>,
        q: &Value,
        filters: &ClusterFilters,
        from: usize,
        size: usize,
    ) -> Result<Vec<Hit>> {
        let resolve = |f: FacetField, v: &str| self.resolve(f, v);
        let plain = query::plain_words(node, &resolve, self.title_boost)?;
        if plain.len() < 2 {
            return Ok(Vec::new());
        }
        let counted = self.search_raw(&query::word_counts_body(&plain), "counting the words")?;
        let counts: Vec<u64> = (0..plain.len())
            .map(|i| {
                counted["aggregations"][format!("w{i}")]["doc_count"]
                    .as_u64()
                    .unwrap_or(0)
            })
            .collect();
        let rare = query::rarest(&counts);
        let how = query::Loose::Filling {
            rare: &rare,
            full: q,
        };
        let Some((loose, words)) = query::loosened(node, &resolve, self.title_boost, &how)? else {
            return Ok(Vec::new());
        };
        let found = self.search_raw(&query::hits_body(loose, filters, from, size), "searching")?;
        let mut hits = answer::hits(&found)?;
        let raw = found["hits"]["hits"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        mark_partial(&mut hits, &raw, words);
        Ok(hits)
    }

    fn unavailable(what: &str, instead: &str) -> Error {
        Error::Unavailable(format!(
            "{what} is not available with --backend (a cluster cannot answer it as nutgraf does); {instead}"
        ))
    }
}

/// Partial matches: how many of the `words` each holds, and its BM25
/// without the credit its words scored.
fn mark_partial(hits: &mut [Hit], raw: &[Value], words: usize) {
    for (hit, raw) in hits.iter_mut().zip(raw) {
        let held = answer::words_matched(raw);
        hit.matched_words = Some(held);
        hit.query_words = Some(words);
        hit.score -= WORD_CREDIT * held as f32;
    }
}

/// The unit's words that the similar units' highlights mark, most often
/// marked first: the cluster does not say which words `more_like_this`
/// chose, so these stand for them. Without highlights (a cluster that
/// does not highlight such queries), the unit's words of four letters or
/// more that the similar units hold.
fn shared_words(text: &str, hits: &[crate::search::Hit]) -> Vec<String> {
    let mut analyzer = analysis::text_analyzer();
    let own: Vec<String> = analysis::terms(&mut analyzer, text);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |words: &str, counts: &mut BTreeMap<String, usize>| {
        let mut seen = Vec::new();
        for term in analysis::terms(&mut analyzer, words) {
            if own.contains(&term) && !seen.contains(&term) {
                seen.push(term.clone());
                *counts.entry(term).or_default() += 1;
            }
        }
    };
    for hit in hits {
        let s = &hit.snippet;
        let marked: Vec<&str> = s
            .highlights
            .iter()
            .filter_map(|[a, b]| s.text.get(*a..*b))
            .collect();
        count(&marked.join(" "), &mut counts);
    }
    if counts.is_empty() {
        for hit in hits {
            count(&hit.unit.text, &mut counts);
        }
        counts.retain(|w, _| w.chars().count() >= 4);
    }
    let mut words: Vec<(String, usize)> = counts.into_iter().collect();
    words.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| b.0.len().cmp(&a.0.len()))
            .then_with(|| a.0.cmp(&b.0))
    });
    words.into_iter().take(25).map(|(w, _)| w).collect()
}

impl SearchService for ClusterService {
    fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        let started = Instant::now();
        request.check_page()?;
        if request.explain {
            return Err(ClusterService::unavailable(
                "--explain",
                "the cluster's own explanation is its `explain` API",
            ));
        }
        let Prepared {
            q,
            loose,
            filters,
            any_kind,
            node,
        } = self.prepare(request)?;
        let page = Page {
            offset: request.offset,
            limit: request.limit,
            facet_limit: request.facet_limit,
            collapse: request.collapse,
        };
        let body = query::search_body(q.clone(), &filters, &page);
        let mut q = q;
        let mut found = self.search_raw(&body, "searching")?;
        let mut total_hits = answer::total(&found);
        let mut hits = answer::hits(&found)?;
        let mut relaxed = false;
        if total_hits == 0 {
            // No unit holds every word: those holding most of them, as
            // nutgraf answers.
            if let Some((loose, words)) = loose {
                let again = self.search_raw(
                    &query::search_body(loose.clone(), &filters, &page),
                    "searching",
                )?;
                if answer::total(&again) > 0 {
                    relaxed = true;
                    total_hits = answer::total(&again);
                    hits = answer::hits(&again)?;
                    let raw = again["hits"]["hits"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    mark_partial(&mut hits, &raw, words);
                    found = again;
                    q = loose;
                }
            }
        } else if request.limit > 0 && hits.len() < request.limit {
            // Full matches do not fill the page: it goes on with partial
            // ones, as locally.
            let full = usize::try_from(total_hits).unwrap_or(usize::MAX);
            let from = request.offset.saturating_sub(full);
            let more = self.filling(
                node.as_ref(),
                &q,
                &filters,
                from,
                request.limit - hits.len(),
            )?;
            hits.extend(more);
        }
        let (facets, facets_left_out) = answer::facets(&found, request.facet_limit);
        let excluded_by_kind = if request.filters.kind.is_empty() && !any_kind {
            facets
                .kind
                .0
                .iter()
                .filter(|(k, n)| {
                    *n > 0 && UnitKind::parse(k).is_some_and(|k| !k.searched_by_default())
                })
                .cloned()
                .collect()
        } else {
            BTreeMap::new()
        };
        let histogram = match &request.histogram {
            Some(asked) => Some(self.histogram(asked, q, &filters)?),
            None => None,
        };
        Ok(SearchResponse {
            query: request.query.clone(),
            total_hits,
            took_us: started.elapsed().as_micros() as u64,
            relaxed,
            full_matches: if relaxed { 0 } else { total_hits },
            excluded_by_kind,
            suggestions: Vec::new(),
            offset: request.offset,
            limit: request.limit,
            hits,
            facets,
            facets_left_out,
            histogram,
            collapsed: request.collapse,
            sources: request.collapse.then(|| answer::sources(&found)),
        })
    }

    fn show(&self, id: &str, context: usize) -> Result<ShowResponse> {
        let Some((doc_id, paragraph)) = parse_unit_id(id) else {
            return Err(Error::UnitNotFound(id.to_string()));
        };
        let found = self.search_raw(
            &query::neighbours_body(doc_id, paragraph, context),
            "reading a unit and its neighbours",
        )?;
        let units = answer::units(&found)?;
        if !units.iter().any(|u| u.id == id) {
            let doc = self.search_raw(&query::document_body(doc_id), "reading a document")?;
            return Err(match answer::units(&doc)?.first() {
                Some(u) => Error::NoParagraph {
                    id: id.to_string(),
                    doc_id: doc_id.to_string(),
                    paragraphs: u.paragraphs_in_doc,
                },
                None => Error::UnitNotFound(id.to_string()),
            });
        }
        Ok(ShowResponse::new(id, context, units, |u| u.id == id))
    }

    fn similar(
        &self,
        id: &str,
        limit: usize,
        _deadline: Option<Instant>,
    ) -> Result<SimilarResponse> {
        let started = Instant::now();
        check_range("limit", limit, MAX_SEARCH_LIMIT, "")?;
        let unit = self.show(id, 0)?.units.remove(0).unit;
        let body = query::similar_body(&self.client.target.index, id, &unit.doc_id, limit);
        let found = self.search_raw(&body, "finding similar units")?;
        let (facets, facets_left_out) = answer::facets(&found, crate::search::DEFAULT_FACET_LIMIT);
        let hits = answer::hits(&found)?;
        Ok(SimilarResponse {
            id: id.to_string(),
            words: shared_words(&unit.text, &hits),
            total_hits: answer::total(&found),
            took_us: started.elapsed().as_micros() as u64,
            limit,
            hits,
            facets,
            facets_left_out,
            unit,
        })
    }

    fn trace(&self, _: &TraceRequest, _: Option<Instant>) -> Result<TraceResponse> {
        Err(ClusterService::unavailable(
            "trace",
            "run it on a local index (`nutgraf trace` without --backend)",
        ))
    }

    fn facets(&self) -> Result<FacetsResponse> {
        let found = self.search_raw(&query::facets_body(), "counting the facets")?;
        let (facets, _) = answer::facets(&found, 0);
        Ok(FacetsResponse {
            total_units: answer::total(&found),
            facets,
        })
    }

    /// Every match, a page of [`query::EXPORT_PAGE`] at a time with
    /// `search_after`, best first.
    fn export(
        &self,
        request: &SearchRequest,
        each: &mut dyn FnMut(UnitView) -> Result<()>,
    ) -> Result<ExportSummary> {
        let (q, filters, relaxed) = self.counted_query(self.prepare(request)?)?;
        let mut rows = 0;
        let mut after: Option<Value> = None;
        loop {
            let body = query::export_body(q.clone(), &filters, after.as_ref());
            let found = self.search_raw(&body, "reading every match")?;
            let page = found["hits"]["hits"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for h in &page {
                each(answer::unit(&h["_source"])?)?;
                rows += 1;
            }
            match page.last() {
                Some(last) if page.len() == query::EXPORT_PAGE => {
                    after = Some(last["sort"].clone())
                }
                _ => return Ok(ExportSummary { rows, relaxed }),
            }
        }
    }

    /// A batch's row from one request: the best match's id and
    /// aggregations.
    fn summary(&self, request: &SearchRequest) -> Result<MatchSummary> {
        let (q, filters, relaxed) = self.counted_query(self.prepare(request)?)?;
        let found = self.search_raw(&query::summary_body(q, &filters), "counting the matches")?;
        let aggs = &found["aggregations"];
        let counts = |name: &str| -> Vec<(String, u64)> {
            let mut v: Vec<(String, u64)> = aggs[name]["buckets"]
                .as_array()
                .map(|b| {
                    b.iter()
                        .filter_map(|b| {
                            Some((b["key"].as_str()?.to_string(), b["doc_count"].as_u64()?))
                        })
                        .collect()
                })
                .unwrap_or_default();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        };
        let date = |name: &str| aggs[name]["buckets"][0]["key"].as_str().map(String::from);
        Ok(MatchSummary {
            total_hits: answer::total(&found),
            relaxed,
            best: found["hits"]["hits"][0]["_id"].as_str().map(String::from),
            by_stance: counts("stance"),
            by_outlet: counts("outlet"),
            first_date: date("first"),
            last_date: date("last"),
        })
    }

    fn units(&self) -> u64 {
        self.units
    }

    fn place(&self) -> String {
        // Without the scheme: scripts read the first URL of `serve`'s
        // first line as its own address.
        let t = &self.client.target;
        let host = t.base.split_once("://").map_or(t.base.as_str(), |(_, h)| h);
        format!("the index {} of the cluster at {host}", t.index)
    }

    /// The index is there and nutgraf's (a cluster checks its own data).
    fn verify(&self) -> Result<()> {
        self.check_index()
    }

    fn reopen(&self) -> Result<Box<dyn SearchService>> {
        Ok(Box::new(ClusterService::with_client(self.client.clone())?))
    }
}
