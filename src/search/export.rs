//! Every unit a search counts, not a page of them: the rows of an export
//! (`search --all`, `/api/export`) and the dates a batch reports.
//!
//! The units a search counts in `total_hits` are its full matches, or,
//! when no unit holds every word, the partial matches of the relaxed
//! search; the partial matches that fill a page are not counted, so they
//! are not exported either. Memory stays flat however many units match:
//! the matches are kept as (score, address) pairs, 16 bytes each, and
//! the units are read and handed on one at a time, best first.

use std::collections::HashMap;

use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, Score};

use super::collector::{Gathered, UnitCollector};
use super::request::{timeout, SearchRequest};
use super::searcher::Searcher;
use crate::error::{Error, Result};
use crate::index::schema::{name, FacetField};
use crate::model::UnitView;
use crate::query::{self, Scope};

/// Units read as one piece of an export's work: enough to make handing
/// a chunk between threads cheap, few enough that the chunks in flight
/// hold a few MB.
const CHUNK: usize = 256;
/// Threads reading an export's units at most.
const MAX_READERS: usize = 4;
/// Document records an export's reader keeps (a few MB): the records of
/// a whole archive would be tens of MB.
const RECORDS_KEPT: usize = 4_096;

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// Units handed on: the search's `total_hits`.
    pub rows: u64,
    /// Whether they are the partial matches of a relaxed search.
    pub relaxed: bool,
}

/// What a batch reports of one search, over the units it counts (its
/// `total_hits`). Unlike a search's facets, whose counts for a filtered
/// field ignore that filter (to show what else could be picked), these
/// count the matches only: `stance=left` counts no unit as right.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchSummary {
    pub total_hits: u64,
    /// No unit holds every word: these are the partial matches.
    pub relaxed: bool,
    /// The best match's unit id.
    pub best: Option<String>,
    /// Units per stance and per outlet, most first (ties by name).
    pub by_stance: Vec<(String, u64)>,
    pub by_outlet: Vec<(String, u64)>,
    /// The earliest and the latest date, as the articles give them
    /// (`2016`, `2016-03`, `2016-03-14`), in calendar order of their
    /// first day, a less precise date first on the same day (as they
    /// sort as text: `2016` < `2016-01` < `2016-01-01`); a unit without
    /// a date has no say.
    pub first_date: Option<String>,
    pub last_date: Option<String>,
}

/// The counted units of one search, best first.
pub(crate) struct Counted {
    pub(crate) top: Vec<(Score, DocAddress)>,
    pub(crate) relaxed: bool,
}

impl Searcher {
    /// Every unit `request`'s search counts, in the search's rank order,
    /// each read and handed to `each` as it is read; the search's limit,
    /// offset, facet limit and explain are not used. `each` failing (a
    /// closed pipe, a client gone) stops the export with its error. The
    /// request's deadline bounds finding the matches, not reading them.
    pub fn export(
        &self,
        request: &SearchRequest,
        each: &mut dyn FnMut(UnitView) -> Result<()>,
    ) -> Result<ExportSummary> {
        let searcher = self.tantivy_searcher();
        let counted = self.counted(&searcher, request)?;
        let relaxed = counted.relaxed;
        // The scores are not needed any more: 8 bytes a match, not 16.
        let ranked: Vec<DocAddress> = counted.top.into_iter().map(|(_, a)| a).collect();
        let readers = self.threads.clamp(1, MAX_READERS);
        if readers == 1 || ranked.len() <= CHUNK {
            let mut reader = self.unit_reader(&searcher).with_record_limit(RECORDS_KEPT);
            for &addr in &ranked {
                each(reader.read(addr)?)?;
            }
        } else {
            self.read_in_parallel(&searcher, &ranked, readers, each)?;
        }
        Ok(ExportSummary {
            rows: ranked.len() as u64,
            relaxed,
        })
    }

    /// Reads ranked units on `readers` threads and hands them to `each`
    /// in rank order, on this thread. Reading a unit is mostly
    /// decompressing its block of the store, and an export's units are
    /// all over it, so reading is what an export costs; threads share it
    /// out. Reader `k` reads chunks `k`, `k + readers`, …, and may run at
    /// most two chunks ahead of the writer: memory stays a few chunks.
    fn read_in_parallel(
        &self,
        searcher: &tantivy::Searcher,
        ranked: &[DocAddress],
        readers: usize,
        each: &mut dyn FnMut(UnitView) -> Result<()>,
    ) -> Result<()> {
        let chunks: Vec<&[DocAddress]> = ranked.chunks(CHUNK).collect();
        std::thread::scope(|scope| {
            let mut inboxes = Vec::with_capacity(readers);
            for k in 0..readers {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<UnitView>>>(1);
                inboxes.push(rx);
                let mine = chunks.iter().skip(k).step_by(readers);
                scope.spawn(move || {
                    let mut reader = self.unit_reader(searcher).with_record_limit(RECORDS_KEPT);
                    for chunk in mine {
                        let units: Result<Vec<UnitView>> =
                            chunk.iter().map(|&addr| reader.read(addr)).collect();
                        let failed = units.is_err();
                        // The writer has stopped (its error is returned).
                        if tx.send(units).is_err() || failed {
                            return;
                        }
                    }
                });
            }
            for i in 0..chunks.len() {
                let units = inboxes[i % readers].recv().map_err(|_| {
                    Error::Internal("a thread reading the export's units stopped".into())
                })??;
                for unit in units {
                    each(unit)?;
                }
            }
            Ok(())
        })
    }

    /// Counts, dates and the best match of the units `request`'s search
    /// counts: one pass over them reading fast columns, then three stored
    /// units (the best, the first and the last dated).
    pub fn summary(&self, request: &SearchRequest) -> Result<MatchSummary> {
        let searcher = self.tantivy_searcher();
        let counted = self.counted(&searcher, request)?;
        let err = |e| Error::tantivy(&self.index.dir, e);
        let mut columns = Vec::new();
        for segment in searcher.segment_readers() {
            let ff = segment.fast_fields();
            columns.push(SegmentColumns {
                from: ff.u64(name::PUBLISHED_FROM).ok(),
                to: ff.u64(name::PUBLISHED_TO).ok(),
                stance: ff.str(FacetField::Stance.value_field_name()).map_err(err)?,
                outlet: ff.str(FacetField::Outlet.value_field_name()).map_err(err)?,
                stances: HashMap::new(),
                outlets: HashMap::new(),
            });
        }
        // Dates in calendar order of their first day, a less precise
        // date first on the same day (`2016` < `2016-01` < `2016-01-01`,
        // as the dates sort as text): (first day, last day reversed).
        let mut first: Option<((u64, u64), DocAddress)> = None;
        let mut last: Option<((u64, u64), DocAddress)> = None;
        for &(_, addr) in &counted.top {
            let Some(c) = columns.get_mut(addr.segment_ord as usize) else {
                continue;
            };
            let doc = addr.doc_id;
            let from = c.from.as_ref().and_then(|col| col.first(doc));
            let to = c.to.as_ref().and_then(|col| col.first(doc));
            if let (Some(from), Some(to)) = (from, to) {
                let key = (from, u64::MAX - to);
                if first.is_none_or(|(k, _)| key < k) {
                    first = Some((key, addr));
                }
                if last.is_none_or(|(k, _)| key > k) {
                    last = Some((key, addr));
                }
            }
            if let Some(ord) = c.stance.as_ref().and_then(|col| col.ords().first(doc)) {
                *c.stances.entry(ord).or_default() += 1;
            }
            if let Some(ord) = c.outlet.as_ref().and_then(|col| col.ords().first(doc)) {
                *c.outlets.entry(ord).or_default() += 1;
            }
        }
        // Ordinals are per segment: their values are added up by name.
        let mut by_stance: HashMap<String, u64> = HashMap::new();
        let mut by_outlet: HashMap<String, u64> = HashMap::new();
        for c in &columns {
            for (col, counts, into) in [
                (&c.stance, &c.stances, &mut by_stance),
                (&c.outlet, &c.outlets, &mut by_outlet),
            ] {
                let Some(col) = col else { continue };
                for (&ord, &n) in counts {
                    let mut value = String::new();
                    col.ord_to_str(ord, &mut value).map_err(|e| Error::Io {
                        context: format!("{}: cannot read a facet value", self.index.dir.display()),
                        source: e,
                    })?;
                    *into.entry(value).or_default() += n;
                }
            }
        }
        let mut reader = self.unit_reader(&searcher);
        let mut published = |found: Option<((u64, u64), DocAddress)>| -> Result<Option<String>> {
            Ok(match found {
                Some((_, addr)) => reader.read(addr)?.published,
                None => None,
            })
        };
        let first_date = published(first)?;
        let last_date = published(last)?;
        let best = match counted.top.first() {
            Some(&(_, addr)) => Some(reader.read(addr)?.id),
            None => None,
        };
        Ok(MatchSummary {
            total_hits: counted.top.len() as u64,
            relaxed: counted.relaxed,
            best,
            by_stance: most_first(by_stance),
            by_outlet: most_first(by_outlet),
            first_date,
            last_date,
        })
    }

    /// The units a search counts, all of them, best first: as
    /// [`Searcher::search`] finds them (the same filters, the same
    /// relaxation when no unit holds every word), without facet counts.
    pub(crate) fn counted(
        &self,
        searcher: &tantivy::Searcher,
        request: &SearchRequest,
    ) -> Result<Counted> {
        let started = std::time::Instant::now();
        let node = Searcher::parse(&request.query)?;
        let any_kind = node
            .as_ref()
            .is_some_and(|n| n.mentions(Scope::Facet(FacetField::Kind)));
        let filters = self.resolve_filters(searcher, &request.filters, any_kind)?;
        let collector = UnitCollector {
            values: self.catalog(searcher)?,
            filters,
            keep: usize::MAX,
            count_facets: false,
            facet_limit: 0,
            deadline: request.deadline,
            histogram: None,
            collapse: false,
        };
        let gather = |words| -> Result<Gathered> {
            let compiled = self.compile_until(
                searcher,
                &request.query,
                node.as_ref(),
                words,
                request.deadline,
                started,
            )?;
            let gathered = self.gather(searcher, &*compiled.query, &collector)?;
            if gathered.timed_out {
                return Err(timeout(started));
            }
            Ok(gathered)
        };
        let full = gather(query::Words::All)?;
        if full.total == 0 && node.as_ref().is_some_and(query::Node::relaxable) {
            let loose = gather(query::Words::Most)?;
            if loose.total > 0 {
                return Ok(Counted {
                    top: loose.top,
                    relaxed: true,
                });
            }
        }
        Ok(Counted {
            top: full.top,
            relaxed: false,
        })
    }
}

/// One segment's columns read by [`Searcher::summary`], and its counts
/// by term ordinal.
struct SegmentColumns {
    from: Option<Column<u64>>,
    to: Option<Column<u64>>,
    stance: Option<StrColumn>,
    outlet: Option<StrColumn>,
    stances: HashMap<u64, u64>,
    outlets: HashMap<u64, u64>,
}

/// Counts, most first, ties by name.
fn most_first(counts: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}
