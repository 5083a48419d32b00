//! Searching: a query and filters in, ranked hits with snippets and
//! disjunctive facet counts out. Also `show` (a unit with its neighbours)
//! and whole-index facet counts.
//!
//! The searcher holds the index open; it never reads the config. What it
//! needs to know about the corpus (author aliases, stance vocabulary, title
//! boost) comes from the index's own commit payload.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tantivy::query::{AllQuery, BooleanQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, Executor, IndexReader, ReloadPolicy, Term};

use super::collapse::ALONE;
use super::histogram::{DateTally, Histogram, HistogramRequest};
use super::partial;
use super::request::{past, timeout, Filters, SearchRequest};
use super::response::{Facets, FacetsResponse, Hit, SearchResponse, ShowResponse};
use crate::config::DEFAULT_TITLE_BOOST;
use crate::error::{Error, Result};
use crate::index::integrity::{self, Verification};
use crate::index::schema::{FacetField, Fields};
use crate::index::stored::{UnitColumns, UnitReader};
use crate::index::{IndexInfo, UnitIndex};
use crate::model::unit::parse_unit_id;
use crate::model::UnitKind;
use crate::model::UnitView;
use crate::query::scorers::Checked;
use crate::query::suggest;
use crate::query::{self, Compiled, Node, Scope};
use crate::search::collector::{FacetValues, Gathered, ResolvedFilters, UnitCollector};
use crate::text::snippet::Highlighter;

/// Estimated postings a query reads, from which its segments are searched
/// in parallel. Below it one thread answers sooner: a query on the seeds
/// takes 0.12 ms instead of 0.17. Above it the second core soon repays
/// its wake-up (`impeachment`, 21,777 units: 0.65 ms instead of 0.98).
const PARALLEL_FROM_POSTINGS: u64 = 2_000;

/// Hits on a page from which they are read on the search threads (waking
/// one costs about as much as reading three hits).
const PARALLEL_FROM_HITS: usize = 6;

/// The postings a query reads through in the whole index, estimated from its
/// largest segment (one dictionary lookup per term). A query without
/// terms (every unit) counts as all of them.
fn estimated_postings(searcher: &tantivy::Searcher, query: &dyn Query) -> u64 {
    let Some(largest) = searcher
        .segment_readers()
        .iter()
        .max_by_key(|s| s.max_doc())
    else {
        return 0;
    };
    let mut postings = 0u64;
    let mut terms = 0;
    searched_terms(query, &mut |term| {
        terms += 1;
        postings += largest
            .inverted_index(term.field())
            .and_then(|index| Ok(index.doc_freq(term)?))
            .map_or(0, u64::from);
    });
    if terms == 0 {
        return u64::MAX;
    }
    postings.saturating_mul(searcher.num_docs().max(1)) / u64::from(largest.max_doc().max(1))
}

/// An open index, ready to answer searches. Cheap to share across threads.
pub struct Searcher {
    pub index: UnitIndex,
    reader: IndexReader,
    /// Facet values of the last generation searched: for resolving
    /// forgiving filters ("grinberg" -> "Alex Grinberg") and counting.
    catalog: Mutex<Option<Arc<FacetValues>>>,
    /// The paragraph and copy cluster columns of the last generation read.
    columns: Mutex<Option<Arc<UnitColumns>>>,
    /// Threads a search runs on (asking the system costs file reads).
    pub(super) threads: usize,
}

impl Searcher {
    /// Opens the index in `dir`. `follow_commits`: reload automatically
    /// when an indexer commits (for long-running servers); otherwise the
    /// searcher sees the index as it was when opened.
    ///
    /// The index's files are checked first, those that changed since they
    /// were last found intact (see [`crate::index::integrity`]): a damaged index
    /// is [`Error::Damaged`]. Opening writes nothing the search needs: a
    /// read-only index is searchable.
    pub fn open(dir: &Path, follow_commits: bool) -> Result<Searcher> {
        let mut index = UnitIndex::open_verified(dir, Verification::ChangedRecorded)?;
        // Segments are searched in parallel: a broad query on a big index
        // finishes in about 1/cores of the time.
        let threads = crate::index::open::search_threads();
        if threads > 1 {
            index
                .index
                .set_multithread_executor(threads)
                .map_err(|e| Error::tantivy(dir, e))?;
        }
        let policy = if follow_commits {
            ReloadPolicy::OnCommitWithDelay
        } else {
            ReloadPolicy::Manual
        };
        let reader = index
            .index
            .reader_builder()
            .reload_policy(policy)
            .try_into()
            .map_err(|e| Error::tantivy(dir, e))?;
        // The segments' own counts against what meta.json says of them.
        let metas = index
            .index
            .load_metas()
            .map_err(|e| Error::tantivy(dir, e))?;
        let problems = integrity::reader_problems(&reader.searcher(), &metas, &index.fields);
        if let Some(e) = integrity::error_for(dir, &problems) {
            return Err(e);
        }
        Ok(Searcher {
            index,
            reader,
            catalog: Mutex::new(None),
            columns: Mutex::new(None),
            threads,
        })
    }

    pub fn fields(&self) -> &Fields {
        &self.index.fields
    }

    pub fn info(&self) -> &IndexInfo {
        &self.index.info
    }

    /// Sees the latest commit now.
    pub fn reload(&self) -> Result<()> {
        self.reader.reload().map_err(|e| self.err(e))
    }

    /// A tantivy searcher on the current generation.
    pub fn tantivy_searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    fn err(&self, e: tantivy::TantivyError) -> Error {
        Error::tantivy(&self.index.dir, e)
    }

    /// Parses and compiles a user query against one index generation. An
    /// empty query matches every unit. `conjunction`: every plain word
    /// required (else any is enough, best first).
    pub fn compile(
        &self,
        searcher: &tantivy::Searcher,
        text: &str,
        node: Option<&Node>,
        conjunction: bool,
    ) -> Result<Compiled> {
        let words = if conjunction {
            query::Words::All
        } else {
            query::Words::Most
        };
        self.compile_until(searcher, text, node, words, None, Instant::now())
    }

    /// As [`Searcher::compile`], stopping at `deadline` (a search that
    /// started at `started`).
    pub(super) fn compile_until(
        &self,
        searcher: &tantivy::Searcher,
        text: &str,
        node: Option<&Node>,
        words: query::Words,
        deadline: Option<Instant>,
        started: Instant,
    ) -> Result<Compiled> {
        let Some(node) = node else {
            return Ok(Compiled {
                query: Box::new(AllQuery),
                highlight: HashSet::new(),
                missing: Vec::new(),
                words: 0,
            });
        };
        let catalog = self.catalog(searcher)?;
        let resolve = |field: FacetField, value: &str| self.resolve_value(&catalog, field, value);
        let cx = query::Context {
            searcher,
            fields: self.fields(),
            title_boost: self.title_boost(),
            words,
            resolve: &resolve,
            deadline,
        };
        query::compile(node, &cx).map_err(|e| match e {
            query::CompileError::Invalid(e) => Error::Query(e.pointing_into(text)),
            query::CompileError::Timeout => timeout(started),
        })
    }

    /// How much more a title match weighs than one in the paragraph.
    pub(super) fn title_boost(&self) -> f32 {
        // An index written before the weight was recorded has none.
        if self.info().title_boost > 0.0 {
            self.info().title_boost
        } else {
            DEFAULT_TITLE_BOOST
        }
    }

    /// Parses a user query (syntax errors point at their column).
    pub fn parse(text: &str) -> Result<Option<Node>> {
        query::parse(text).map_err(|e| Error::Query(e.pointing_into(text)))
    }

    /// Runs a search.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        let started = Instant::now();
        request.check_page()?;
        let deadline = request.deadline;
        let searcher = self.reader.searcher();
        let node = Searcher::parse(&request.query)?;
        // `kind:caption` in the query lifts the default kind filter.
        let any_kind = node
            .as_ref()
            .is_some_and(|n| n.mentions(Scope::Facet(FacetField::Kind)));
        let filters = self.resolve_filters(&searcher, &request.filters, any_kind)?;
        let values = self.catalog(&searcher)?;
        if request.collapse {
            values.copies(&searcher);
        }
        if let Some(h) = &request.histogram {
            values
                .read_dates(&searcher, h.split)
                .map_err(|e| self.err(e))?;
        }
        let collector = UnitCollector {
            values,
            filters,
            // Counting only (limit 0) keeps no hit, whatever the offset.
            keep: match request.limit {
                0 => 0,
                n => request.offset.saturating_add(n),
            },
            count_facets: true,
            facet_limit: request.facet_limit,
            deadline,
            histogram: request.histogram.as_ref().map(|h| h.split),
            collapse: request.collapse,
        };
        let compile = |words| {
            let node = node.as_ref();
            self.compile_until(&searcher, &request.query, node, words, deadline, started)
        };
        let mut compiled = compile(query::Words::All)?;
        let mut gathered = self.gather(&searcher, &*compiled.query, &collector)?;
        let mut relaxed = false;
        if gathered.timed_out {
            return Err(timeout(started));
        }
        let relaxable = node.as_ref().is_some_and(Node::relaxable);
        if gathered.total == 0 && relaxable {
            let loose = compile(query::Words::Most)?;
            let again = self.gather(&searcher, &*loose.query, &collector)?;
            if again.timed_out {
                return Err(timeout(started));
            }
            if again.total > 0 {
                relaxed = true;
                gathered = again;
                compiled = loose;
            }
        }
        let full_matches = if relaxed { 0 } else { gathered.total };
        let mut query_words = compiled.words;
        let partial_hit = |&(score, addr): &(f32, DocAddress)| {
            let (words, score) = partial::words_and_score(score);
            (score, addr, Some(words))
        };
        let mut ranked: Vec<(f32, DocAddress, Option<usize>)> = if relaxed {
            gathered.top.iter().map(partial_hit).collect()
        } else {
            gathered.top.iter().map(|&(s, a)| (s, a, None)).collect()
        };
        // A page that full matches do not fill goes on with partial ones.
        let short = collector.keep.saturating_sub(ranked.len());
        if !relaxed && short > 0 && relaxable {
            let loose = compile(query::Words::MostWithRare)?;
            query_words = loose.words;
            // Every full match is on the page already (there are fewer
            // than it holds): the partial ones are the rest.
            let full: HashSet<DocAddress> = ranked.iter().map(|&(_, a, _)| a).collect();
            let more = UnitCollector {
                keep: ranked.len() + short,
                count_facets: false,
                histogram: None,
                ..collector.clone()
            };
            let found = self.gather(&searcher, &*loose.query, &more)?;
            if found.timed_out {
                return Err(timeout(started));
            }
            // Folding copies, a partial match whose copy is shown is
            // folded into it.
            let shown: HashSet<u32> = if request.collapse {
                let table = collector.values.copies(&searcher);
                full.iter()
                    .map(|&a| table.shared_at(&searcher, a))
                    .filter(|&c| c != ALONE)
                    .collect()
            } else {
                HashSet::new()
            };
            let copy_shown = |addr: DocAddress| {
                request.collapse
                    && shown.contains(
                        &collector
                            .values
                            .copies(&searcher)
                            .shared_at(&searcher, addr),
                    )
            };
            ranked.extend(
                found
                    .top
                    .iter()
                    .filter(|(_, addr)| !full.contains(addr) && !copy_shown(*addr))
                    .map(partial_hit)
                    .take(short),
            );
            for (addr, folded) in found.folded {
                gathered.folded.entry(addr).or_insert(folded);
            }
        }
        let excluded_by_kind = if request.filters.kind.is_empty() && !any_kind {
            gathered
                .facets
                .get(&FacetField::Kind)
                .into_iter()
                .flatten()
                .filter(|(kind, n)| {
                    *n > 0 && UnitKind::parse(kind).is_some_and(|k| !k.searched_by_default())
                })
                .map(|(kind, n)| (kind.clone(), *n))
                .collect()
        } else {
            BTreeMap::new()
        };
        let suggestions = suggest::suggestions_until(
            &searcher,
            self.fields(),
            &request.query,
            &compiled.missing,
            deadline,
        );
        if past(deadline) {
            return Err(timeout(started));
        }
        let highlighter = Highlighter::new(compiled.highlight);
        let page = ranked.get(request.offset..).unwrap_or_default();
        let addresses: Vec<(f32, DocAddress)> = page.iter().map(|&(s, a, _)| (s, a)).collect();
        let mut hits = self
            .hits_until(&searcher, &addresses, &highlighter, deadline)?
            .ok_or_else(|| timeout(started))?;
        for (hit, &(_, addr, matched)) in hits.iter_mut().zip(page) {
            if matched.is_some() {
                hit.matched_words = matched;
                hit.query_words = Some(query_words);
            }
            if let Some(folded) = gathered.folded.remove(&addr) {
                hit.copies = Some(folded.copies);
                hit.copies_in = folded.outlets;
            }
        }
        if let (true, Some(node)) = (request.explain, node.as_ref()) {
            self.explain(&searcher, &request.query, node, page, &mut hits, started)?;
        }
        let histogram = match &request.histogram {
            Some(asked) => Some(self.histogram(
                &searcher,
                asked,
                gathered.dates.take().unwrap_or_default(),
                &collector,
                started,
            )?),
            None => None,
        };
        Ok(SearchResponse {
            query: request.query.clone(),
            total_hits: gathered.total,
            took_us: started.elapsed().as_micros() as u64,
            relaxed,
            full_matches,
            excluded_by_kind,
            suggestions,
            offset: request.offset,
            limit: request.limit,
            hits,
            facets: Facets::from_gathered(gathered.facets),
            facets_left_out: left_out(gathered.left_out),
            histogram,
            collapsed: request.collapse,
            sources: gathered.sources.take(),
        })
    }

    /// The hits' dates in buckets; with `normalize`, every unit under the
    /// same filters counted too (a second pass, matching all units).
    fn histogram(
        &self,
        searcher: &tantivy::Searcher,
        asked: &HistogramRequest,
        tally: DateTally,
        collector: &UnitCollector,
        started: Instant,
    ) -> Result<Histogram> {
        let all = if asked.normalize {
            let everything = UnitCollector {
                keep: 0,
                count_facets: false,
                ..collector.clone()
            };
            let found = self.gather(searcher, &AllQuery, &everything)?;
            if found.timed_out {
                return Err(timeout(started));
            }
            Some(found.dates.unwrap_or_default())
        } else {
            None
        };
        let names = collector
            .values
            .values
            .get(&asked.split)
            .map_or(&[][..], Vec::as_slice);
        Histogram::build(asked, &tally, names, all.as_ref())
    }

    /// One unit by id.
    pub fn unit(&self, id: &str) -> Result<UnitView> {
        let (doc_id, paragraph) =
            parse_unit_id(id).ok_or_else(|| Error::UnitNotFound(id.to_string()))?;
        let searcher = self.reader.searcher();
        let mut reader = self.unit_reader(&searcher);
        let Some(addr) = reader.address_of(doc_id, paragraph)? else {
            // Say how many paragraphs the document has, if it is indexed.
            let first = match reader.address_of(doc_id, 1)? {
                Some(first) => Some(reader.read(first)?),
                None => None,
            };
            return Err(match first {
                Some(unit) => Error::NoParagraph {
                    id: id.to_string(),
                    doc_id: doc_id.to_string(),
                    paragraphs: unit.paragraphs_in_doc,
                },
                None => Error::UnitNotFound(id.to_string()),
            });
        };
        reader.read(addr)
    }

    /// Reads units of the generation `searcher` sees.
    pub fn unit_reader<'a>(&'a self, searcher: &'a tantivy::Searcher) -> UnitReader<'a> {
        let generation = searcher.generation().generation_id();
        let columns = {
            let mut cached = self.columns.lock().unwrap_or_else(|p| p.into_inner());
            match cached.as_ref().filter(|c| c.generation == generation) {
                Some(c) => c.clone(),
                None => cached.insert(Arc::new(UnitColumns::open(searcher))).clone(),
            }
        };
        UnitReader::new(searcher, self.fields(), &self.index.dir).with_columns(columns)
    }

    /// Resolves filters as a search does (for other kinds of query).
    pub(crate) fn resolve(
        &self,
        searcher: &tantivy::Searcher,
        filters: &Filters,
    ) -> Result<ResolvedFilters> {
        self.resolve_filters(searcher, filters, false)
    }

    /// Runs a query through the unit collector, its segments in
    /// parallel only when the query's words are common enough to repay
    /// waking other threads (about 55 µs on this project's machine, a
    /// third of a narrow query's time).
    pub(crate) fn gather(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn Query,
        collector: &UnitCollector,
    ) -> Result<Gathered> {
        let executor = if estimated_postings(searcher, query) >= PARALLEL_FROM_POSTINGS {
            self.index.index.search_executor()
        } else {
            &Executor::SingleThread
        };
        searcher
            .search_with_executor(
                query,
                collector,
                executor,
                EnableScoring::enabled_from_searcher(searcher),
            )
            .map_err(|e| self.err(e))
    }

    /// Hits for ranked addresses: each unit read, its snippet marked.
    pub fn hits(
        &self,
        searcher: &tantivy::Searcher,
        ranked: &[(f32, DocAddress)],
        highlighter: &Highlighter,
    ) -> Result<Vec<Hit>> {
        Ok(self
            .hits_until(searcher, ranked, highlighter, None)?
            .unwrap_or_default())
    }

    /// As [`Searcher::hits`]; None when the deadline passed first.
    ///
    /// A hit costs tens of microseconds (a store block decompressed, a
    /// snippet marked), so a page of [`PARALLEL_FROM_HITS`] or more is
    /// read in parts on the search threads, each with its own reader.
    pub(crate) fn hits_until(
        &self,
        searcher: &tantivy::Searcher,
        ranked: &[(f32, DocAddress)],
        highlighter: &Highlighter,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<Hit>>> {
        if self.threads < 2 || ranked.len() < PARALLEL_FROM_HITS {
            return self.read_hits(searcher, ranked, highlighter, deadline);
        }
        let parts = ranked.chunks(ranked.len().div_ceil(self.threads));
        let read =
            |part: &[(f32, DocAddress)]| Ok(self.read_hits(searcher, part, highlighter, deadline));
        let mut hits = Vec::with_capacity(ranked.len());
        for part in self
            .index
            .index
            .search_executor()
            .map(read, parts)
            .map_err(|e| self.err(e))?
        {
            match part? {
                Some(part) => hits.extend(part),
                None => return Ok(None),
            }
        }
        Ok(Some(hits))
    }

    /// Reads hits in order on this thread.
    fn read_hits(
        &self,
        searcher: &tantivy::Searcher,
        ranked: &[(f32, DocAddress)],
        highlighter: &Highlighter,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<Hit>>> {
        let mut reader = self.unit_reader(searcher);
        let mut hits = Vec::with_capacity(ranked.len().min(1024));
        for &(score, addr) in ranked {
            // The clock is read every 64 hits.
            if hits.len() % 64 == 63 && past(deadline) {
                return Ok(None);
            }
            let unit = reader.read(addr)?;
            let snippet = highlighter.snippet(&unit.text);
            hits.push(Hit {
                unit,
                score,
                matched_words: None,
                query_words: None,
                explain: None,
                copies: None,
                copies_in: Vec::new(),
                shared_words: None,
                snippet,
            });
        }
        Ok(Some(hits))
    }

    /// The facet values of a searcher's generation, read once per
    /// generation.
    pub fn catalog(&self, searcher: &tantivy::Searcher) -> Result<Arc<FacetValues>> {
        let generation = searcher.generation().generation_id();
        let mut cached = self.catalog.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached.as_ref().filter(|c| c.generation == generation) {
            return Ok(c.clone());
        }
        let values = Arc::new(FacetValues::read(searcher).map_err(|e| self.err(e))?);
        *cached = Some(values.clone());
        Ok(values)
    }

    /// A unit with `context` units on each side (`show`).
    pub fn show(&self, id: &str, context: usize) -> Result<ShowResponse> {
        let (doc_id, paragraph) =
            parse_unit_id(id).ok_or_else(|| Error::UnitNotFound(id.to_string()))?;
        let mut units = self.document_units(doc_id)?;
        if !units.iter().any(|u| u.paragraph == paragraph) {
            return Err(match units.first() {
                Some(unit) => Error::NoParagraph {
                    id: id.to_string(),
                    doc_id: doc_id.to_string(),
                    paragraphs: unit.paragraphs_in_doc,
                },
                None => Error::UnitNotFound(id.to_string()),
            });
        }
        let lo = paragraph.saturating_sub(context as u32);
        let hi = paragraph.saturating_add(context as u32);
        units.retain(|u| u.paragraph >= lo && u.paragraph <= hi);
        Ok(ShowResponse::new(id, context, units, |u| {
            u.paragraph == paragraph
        }))
    }

    /// Every unit of a document, in paragraph order.
    pub fn document_units(&self, doc_id: &str) -> Result<Vec<UnitView>> {
        let searcher = self.reader.searcher();
        let term = Term::from_field_text(self.fields().doc_id, doc_id);
        // Room for the document's units, no more: its term's count of
        // units (deleted ones included) bounds them.
        let units = searcher.doc_freq(&term).map_err(|e| self.err(e))?;
        let query = TermQuery::new(term, IndexRecordOption::Basic);
        let collector = UnitCollector {
            values: self.catalog(&searcher)?,
            filters: ResolvedFilters::default(),
            keep: usize::try_from(units).unwrap_or(usize::MAX),
            count_facets: false,
            facet_limit: 0,
            deadline: None,
            histogram: None,
            collapse: false,
        };
        let found = self.gather(&searcher, &query, &collector)?;
        let mut reader = self.unit_reader(&searcher);
        let mut units = found
            .top
            .iter()
            .map(|&(_, addr)| reader.read(addr))
            .collect::<Result<Vec<_>>>()?;
        units.sort_by_key(|u| u.paragraph);
        Ok(units)
    }

    /// Value counts over the whole index (every kind of unit).
    pub fn facets(&self) -> Result<FacetsResponse> {
        let searcher = self.reader.searcher();
        let collector = UnitCollector {
            values: self.catalog(&searcher)?,
            filters: ResolvedFilters::default(),
            keep: 0,
            count_facets: true,
            facet_limit: 0,
            deadline: None,
            histogram: None,
            collapse: false,
        };
        let g = self.gather(&searcher, &AllQuery, &collector)?;
        Ok(FacetsResponse {
            total_units: g.total,
            facets: Facets::from_gathered(g.facets),
        })
    }
}

/// Left-out counts by facet name.
pub(crate) fn left_out(by_field: HashMap<FacetField, u64>) -> BTreeMap<String, u64> {
    by_field
        .into_iter()
        .map(|(f, n)| (f.as_str().to_string(), n))
        .collect()
}

/// Visits the terms whose postings a query reads through: not those under
/// `-` (only checked at the units found), nor those of [`Checked`] clauses
/// (closeness, the paragraph requirement), which tantivy's `query_terms`
/// visits too.
fn searched_terms(query: &dyn Query, visit: &mut dyn FnMut(&Term)) {
    if let Some(b) = query.downcast_ref::<BooleanQuery>() {
        for (occur, sub) in b.clauses() {
            if *occur != Occur::MustNot {
                searched_terms(sub.as_ref(), visit);
            }
        }
    } else if query.downcast_ref::<Checked>().is_none() {
        query.query_terms(&mut |t, _| visit(t));
    }
}
