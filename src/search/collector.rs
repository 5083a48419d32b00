//! One pass over the units that match a query: the best hits of the page
//! and disjunctive facet counts, together.
//!
//! tantivy has no multi-select facets, and running the query once per
//! facet would multiply the cost. Instead every unit matching the *text*
//! query is seen once: if it passes all facet filters it is a hit and
//! counts in every facet; if it fails exactly one facet's filter it still
//! counts in that facet (a facet's counts ignore its own filter), so a user
//! sees what else they could pick. Values are compared and counted as
//! fast-field term ordinals; [`FacetValues`], read once per index
//! generation, maps each segment's ordinals to the index's values, so a
//! search never decodes a dictionary.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, Column};
use tantivy::index::SegmentId;
use tantivy::query::{Scorer, Weight};
use tantivy::{DocAddress, DocId, DocSet, Score, SegmentOrdinal, SegmentReader, TERMINATED};

use super::collapse::{CopyTable, Folded, Folds, Member, SegmentFold, SegmentFolds, Tally, ALONE};
use super::histogram::{DateTally, NO_VALUE};
use super::ranked::Ranked;
use super::response::Sources;
use crate::index::schema::{name, FacetField, AUTHOR_SEPARATOR};
use crate::query::scorers::BonusScorer;

/// The filters of a search, already resolved to exact indexed values.
#[derive(Debug, Clone, Default)]
pub struct ResolvedFilters {
    /// Per facet field: the allowed values (empty: no filter on it).
    pub facets: Vec<(FacetField, Vec<String>)>,
    /// Inclusive `YYYYMMDD` bounds on the published date.
    pub since: Option<u64>,
    pub until: Option<u64>,
}

/// Every facet value of one index generation, sorted, and for each segment
/// the map from its column ordinals to them (an author list maps to
/// each of its names).
#[derive(Debug, Default)]
pub struct FacetValues {
    pub generation: u64,
    pub values: HashMap<FacetField, Vec<String>>,
    /// Per field, the comparison key of every value (`names::key`), same
    /// order; computed on first use of the field (thousands of authors
    /// cost milliseconds, which a search without an author filter should
    /// not pay).
    keys: HashMap<FacetField, OnceLock<Vec<String>>>,
    segments: HashMap<SegmentId, SegmentMaps>,
    /// Per split field, the units by date span and split value, read on
    /// the first histogram split by it.
    dates: HashMap<FacetField, OnceLock<DateRows>>,
    /// The shared copy clusters, read on the first search that folds
    /// copies.
    copies: OnceLock<CopyTable>,
}

/// The units by date span and split value: each unit's row in a table of
/// the distinct `(first day, last day, value index)` of the generation.
/// Read once per index generation and split field, so a histogram costs a
/// hit one array read and one increment, and segments' counts add up row
/// by row (reading three columns per hit, then merging by key, more than
/// doubled a broad query's time).
#[derive(Debug, Default)]
pub struct DateRows {
    rows: Vec<(u64, u64, u32)>,
    /// Per segment, per unit (document id), its row.
    segments: HashMap<SegmentId, Arc<Vec<u32>>>,
}

/// Per column ordinal, the indices of its names.
type OrdinalNames = Vec<Vec<u32>>;

/// Per facet field, the segment's column of it, opened once per
/// generation (opening a column per search cost more than counting a
/// narrow query's hits).
type SegmentMaps = HashMap<FacetField, SegmentColumn>;

#[derive(Debug, Clone)]
struct SegmentColumn {
    /// Each unit's term ordinals.
    ords: Column<u64>,
    /// Each ordinal's indices into the field's values.
    map: Arc<OrdinalNames>,
}

impl FacetValues {
    /// Reads the facet dictionaries of every segment. Names are interned
    /// as they stream by (a corpus repeats its author lists in every
    /// segment), then sorted once.
    pub fn read(searcher: &tantivy::Searcher) -> tantivy::Result<FacetValues> {
        let mut interned: HashMap<FacetField, HashMap<String, u32>> = HashMap::new();
        // Per segment and field: each ordinal's interned names.
        let mut raw: Vec<(SegmentId, FacetField, Column<u64>, OrdinalNames)> = Vec::new();
        for segment in searcher.segment_readers() {
            for field in FacetField::ALL {
                let Some(column) = segment.fast_fields().str(field.value_field_name())? else {
                    continue;
                };
                let names = interned.entry(field).or_default();
                let mut by_ord = Vec::with_capacity(column.num_terms());
                let mut stream = column.dictionary().stream()?;
                while stream.advance() {
                    let value = std::str::from_utf8(stream.key()).unwrap_or_default();
                    let ids: Vec<u32> = value
                        .split(AUTHOR_SEPARATOR)
                        .filter(|n| !n.is_empty())
                        .map(|n| match names.get(n) {
                            Some(&id) => id,
                            None => {
                                let id = names.len() as u32;
                                names.insert(n.to_string(), id);
                                id
                            }
                        })
                        .collect();
                    by_ord.push(ids);
                }
                raw.push((segment.segment_id(), field, column.ords().clone(), by_ord));
            }
        }
        // Sort each field's values; renumber the interned ids to match.
        let mut values: HashMap<FacetField, Vec<String>> = HashMap::new();
        let mut renumber: HashMap<FacetField, Vec<u32>> = HashMap::new();
        for (field, names) in interned {
            let mut sorted: Vec<(String, u32)> = names.into_iter().collect();
            sorted.sort_unstable();
            let mut new_id = vec![0u32; sorted.len()];
            for (position, (_, old)) in sorted.iter().enumerate() {
                new_id[*old as usize] = position as u32;
            }
            values.insert(field, sorted.into_iter().map(|(name, _)| name).collect());
            renumber.insert(field, new_id);
        }
        let mut segments: HashMap<SegmentId, SegmentMaps> = HashMap::new();
        for (segment, field, ords, mut by_ord) in raw {
            let new_id = &renumber[&field];
            for ids in &mut by_ord {
                for id in ids.iter_mut() {
                    *id = new_id[*id as usize];
                }
            }
            segments.entry(segment).or_default().insert(
                field,
                SegmentColumn {
                    ords,
                    map: Arc::new(by_ord),
                },
            );
        }
        Ok(FacetValues {
            generation: searcher.generation().generation_id(),
            values,
            keys: FacetField::ALL
                .into_iter()
                .map(|f| (f, OnceLock::new()))
                .collect(),
            segments,
            dates: FacetField::ALL
                .into_iter()
                .map(|f| (f, OnceLock::new()))
                .collect(),
            copies: OnceLock::new(),
        })
    }

    /// The generation's shared copy clusters, read on first use.
    pub fn copies(&self, searcher: &tantivy::Searcher) -> &CopyTable {
        self.copies.get_or_init(|| CopyTable::read(searcher))
    }

    /// Makes sure the date rows of a split field are read (the collector
    /// only looks them up).
    pub fn read_dates(
        &self,
        searcher: &tantivy::Searcher,
        split: FacetField,
    ) -> tantivy::Result<()> {
        let Some(lock) = self.dates.get(&split) else {
            return Ok(());
        };
        if lock.get().is_some() {
            return Ok(());
        }
        let mut dates = DateRows::default();
        let mut row_of: HashMap<(u64, u64, u32), u32> = HashMap::new();
        let mut froms = vec![None; BLOCK];
        let mut tos = vec![None; BLOCK];
        let mut splits = vec![None; BLOCK];
        for segment in searcher.segment_readers() {
            let split_column = self
                .segments
                .get(&segment.segment_id())
                .and_then(|m| m.get(&split));
            let ff = segment.fast_fields();
            let (from, to) = (ff.u64(name::PUBLISHED_FROM)?, ff.u64(name::PUBLISHED_TO)?);
            let max = segment.max_doc();
            let mut keys = Vec::with_capacity(max as usize);
            let mut last: Option<((u64, u64, u32), u32)> = None;
            let docs: Vec<DocId> = (0..max).collect();
            for block in docs.chunks(BLOCK) {
                let n = block.len();
                from.first_vals(block, &mut froms[..n]);
                to.first_vals(block, &mut tos[..n]);
                if let Some(s) = split_column {
                    s.ords.first_vals(block, &mut splits[..n]);
                }
                for k in 0..n {
                    let value = splits[k]
                        .and_then(|o| split_column?.map.get(o as usize)?.first().copied())
                        .unwrap_or(NO_VALUE);
                    let key = (froms[k].unwrap_or(0), tos[k].unwrap_or(0), value);
                    // Neighbouring units share a document, so mostly a key.
                    let row = match last {
                        Some((k0, r)) if k0 == key => r,
                        _ => {
                            let next = dates.rows.len() as u32;
                            let r = *row_of.entry(key).or_insert(next);
                            if r == next {
                                dates.rows.push(key);
                            }
                            r
                        }
                    };
                    last = Some((key, row));
                    keys.push(row);
                }
            }
            dates.segments.insert(segment.segment_id(), Arc::new(keys));
        }
        // Two searches may read at once; either's result is the same.
        let _ = lock.set(dates);
        Ok(())
    }

    /// The comparison keys of a field's values.
    pub fn keys(&self, field: FacetField) -> &[String] {
        let Some(keys) = self.keys.get(&field) else {
            return &[];
        };
        keys.get_or_init(|| {
            self.values.get(&field).map_or_else(Vec::new, |v| {
                v.iter().map(|name| crate::text::names::key(name)).collect()
            })
        })
    }

    fn index_of(&self, field: FacetField, value: &str) -> Option<u32> {
        self.values
            .get(&field)?
            .binary_search_by(|v| v.as_str().cmp(value))
            .ok()
            .map(|i| i as u32)
    }

    fn date_rows(&self, split: FacetField) -> Option<&DateRows> {
        self.dates.get(&split)?.get()
    }
}

/// What the collector gathers.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Best first; at most `offset + limit`.
    pub top: Vec<(Score, DocAddress)>,
    pub total: u64,
    /// Per facet, the values listed (unordered): the most frequent, up to
    /// the limit, and those the filters select.
    pub facets: HashMap<FacetField, Vec<(String, u64)>>,
    /// Per facet, how many counted values were not listed.
    pub left_out: HashMap<FacetField, u64>,
    /// The deadline passed before every match was seen: the counts and
    /// hits are partial and must not be shown as an answer.
    pub timed_out: bool,
    /// With a histogram asked for: the hits by date span and split value.
    pub dates: Option<DateTally>,
    /// With copies folded: distinct paragraphs per outlet and stance.
    pub sources: Option<Sources>,
    /// With copies folded: what each hit of `top` that stands for a
    /// cluster folded.
    pub folded: HashMap<DocAddress, Folded>,
}

#[derive(Clone)]
pub struct UnitCollector {
    pub filters: ResolvedFilters,
    /// The facet values of the generation searched.
    pub values: Arc<FacetValues>,
    /// How many of the best hits to keep (offset + limit).
    pub keep: usize,
    /// Whether to count facets at all (show does not need them).
    pub count_facets: bool,
    /// Values listed per facet, most frequent first (0: all). Values a
    /// filter selects are listed whatever their rank.
    pub facet_limit: usize,
    /// When to stop looking at matches (see [`Gathered::timed_out`]).
    pub deadline: Option<Instant>,
    /// Tally the hits by date for a histogram split by this facet.
    pub histogram: Option<FacetField>,
    /// Fold copies: one hit per copy cluster, the best-ranked (the
    /// generation's [`FacetValues::copies`] must have been read).
    pub collapse: bool,
}

/// Matches collected between two looks at the clock. Reading the clock
/// costs about 25 ns; once per 4,096 matches that is well under 0.01 ns a
/// match, beside the tens of nanoseconds judging a match costs, and a
/// segment collects 4,096 matches in well under a millisecond, so a search
/// stops within about a millisecond of its deadline.
const CLOCK_EVERY: u32 = 4_096;

struct FacetColumn {
    field: FacetField,
    /// Ordinal -> indices into the generation's values of the field.
    map: Arc<Vec<Vec<u32>>>,
    /// The column's term ordinals, and whether a unit has at most one
    /// (then `first` is a direct read; authors may be several).
    ords: Column<u64>,
    single: bool,
    /// Indexed by term ordinal: allowed by the filter. None: no filter.
    allowed: Option<Vec<bool>>,
    /// Counts by term ordinal.
    counts: Vec<u32>,
    /// The ordinals counted, in first-counted order: harvest reads these
    /// rather than every counter (a narrow query counts a handful of a
    /// segment's thousands of author lists).
    touched: Vec<u32>,
}

impl FacetColumn {
    /// Counts the units of a block that `counted` accepts (`firsts`: their
    /// values, read for single-valued columns).
    fn count(&mut self, firsts: &[Option<u64>], docs: &[DocId], counted: impl Fn(usize) -> bool) {
        if !self.single {
            let ords = self.ords.clone();
            for k in (0..docs.len()).filter(|&k| counted(k)) {
                for o in ords.values_for_doc(docs[k]) {
                    self.add(o, 1);
                }
            }
            return;
        }
        // A document's units sit side by side and share most values, so
        // values come in runs: a run is counted in a register and added
        // once (adding to the same counter unit after unit waits on each
        // previous add).
        let mut run: (u64, u32) = (0, 0);
        for (k, first) in firsts.iter().enumerate() {
            if let Some(o) = *first {
                if counted(k) {
                    if o == run.0 {
                        run.1 += 1;
                    } else {
                        if run.1 > 0 {
                            self.add(run.0, run.1);
                        }
                        run = (o, 1);
                    }
                }
            }
        }
        if run.1 > 0 {
            self.add(run.0, run.1);
        }
    }

    fn add(&mut self, ord: u64, n: u32) {
        let count = &mut self.counts[ord as usize];
        if *count == 0 {
            self.touched.push(ord as u32);
        }
        *count += n;
    }
}

/// A segment's hits by row of the generation's [`DateRows`].
struct DateCounts {
    /// Per unit, its row.
    keys: Arc<Vec<u32>>,
    rows: usize,
    counts: Vec<u32>,
    /// The rows counted, in first-counted order (a narrow query's few).
    touched: Vec<u32>,
}

impl DateCounts {
    fn count(&mut self, docs: &[DocId], passes: impl Fn(usize) -> bool) {
        if self.counts.len() < self.rows {
            self.counts = vec![0; self.rows];
        }
        // A document's units sit side by side and share a row: a run is
        // counted in a register and added once (as facets are).
        let mut run: (u32, u32) = (0, 0);
        for (k, &doc) in docs.iter().enumerate() {
            if !passes(k) {
                continue;
            }
            let Some(&row) = self.keys.get(doc as usize) else {
                continue;
            };
            if row == run.0 {
                run.1 += 1;
            } else {
                self.add(run);
                run = (row, 1);
            }
        }
        self.add(run);
    }

    fn add(&mut self, (row, n): (u32, u32)) {
        if n == 0 {
            return;
        }
        let count = &mut self.counts[row as usize];
        if *count == 0 {
            self.touched.push(row);
        }
        *count += n;
    }

    fn harvest(&self) -> Vec<(u32, u64)> {
        self.touched
            .iter()
            .map(|&row| (row, u64::from(self.counts[row as usize])))
            .collect()
    }
}

pub struct UnitSegmentCollector {
    segment: SegmentOrdinal,
    /// Folding copies: the hits of shared clusters, held apart.
    fold: Option<Fold>,
    tally: Option<DateCounts>,
    facets: Vec<FacetColumn>,
    dates: Option<(Column<u64>, Column<u64>, u64, u64)>,
    keep: usize,
    heap: BinaryHeap<Reverse<Ranked>>,
    total: u64,
    count_facets: bool,
    /// Filtered facets whose column this segment lacks (no unit in it has
    /// a value): every unit of the segment fails those filters.
    missing: usize,
    /// Matches waiting to be judged a block at a time: columns read a
    /// block of rows much faster than one row at a time.
    docs: Vec<DocId>,
    scores: Vec<Score>,
    /// Per facet, the block's first ordinals (single-valued facets).
    firsts: Vec<Vec<Option<u64>>>,
    /// Per waiting match, its verdict (see [`PASSES`]).
    verdicts: Vec<u8>,
    /// The block's passing units (their places in the block), and their
    /// documents.
    passing: Vec<usize>,
    passing_docs: Vec<DocId>,
    /// The deadline stopped this segment before its last match.
    stopped: bool,
}

/// Matches judged together.
const BLOCK: usize = 256;

/// A segment's hits that have copies, folded per cluster, and what the
/// source counts need of every hit.
struct Fold {
    copies: SegmentFold,
    /// Where outlet and stance are in the collector's facets (counted
    /// searches only).
    outlet: Option<usize>,
    stance: Option<usize>,
    /// Hits alone in their cluster per outlet and stance column ordinal
    /// (under a filter on the field; an array add a hit), their number
    /// being the segment's hits less the folded ones.
    alone_outlet: Vec<u32>,
    alone_stance: Vec<u32>,
}

/// What a segment folded; the alone counts by value index.
#[derive(Default)]
struct FoldFruit {
    folds: SegmentFolds,
    alone: u64,
    alone_outlet: Vec<(u32, u64)>,
    alone_stance: Vec<(u32, u64)>,
}

impl Collector for UnitCollector {
    type Fruit = Gathered;
    type Child = UnitSegmentCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let ff = reader.fast_fields();
        let mut facets = Vec::new();
        let mut missing = 0;
        for field in FacetField::ALL {
            let wanted = self
                .filters
                .facets
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, v)| v)
                .filter(|v| !v.is_empty());
            // Folded copies name their outlets, counted or not.
            let named = self.collapse && field == FacetField::Outlet;
            if !self.count_facets && wanted.is_none() && !named {
                continue;
            }
            let Some(SegmentColumn { ords, map }) = self
                .values
                .segments
                .get(&reader.segment_id())
                .and_then(|m| m.get(&field))
                .cloned()
            else {
                missing += usize::from(wanted.is_some());
                continue;
            };
            let allowed = wanted.map(|values| {
                let wanted: Vec<u32> = values
                    .iter()
                    .filter_map(|v| self.values.index_of(field, v))
                    .collect();
                // An author list is allowed when one of its names is.
                map.iter()
                    .map(|names| names.iter().any(|n| wanted.contains(n)))
                    .collect()
            });
            let counts = if self.count_facets {
                vec![0; map.len()]
            } else {
                Vec::new()
            };
            let single = !matches!(ords.get_cardinality(), Cardinality::Multivalued);
            facets.push(FacetColumn {
                field,
                ords,
                single,
                map,
                allowed,
                counts,
                touched: Vec::new(),
            });
        }
        let dates = if self.filters.since.is_some() || self.filters.until.is_some() {
            Some((
                ff.u64(name::PUBLISHED_FROM)?,
                ff.u64(name::PUBLISHED_TO)?,
                self.filters.since.unwrap_or(0),
                self.filters.until.unwrap_or(u64::MAX),
            ))
        } else {
            None
        };
        let tally = self.histogram.map(|split| {
            let rows = self.values.date_rows(split);
            DateCounts {
                keys: rows
                    .and_then(|r| r.segments.get(&reader.segment_id()).cloned())
                    .unwrap_or_default(),
                rows: rows.map_or(0, |r| r.rows.len()),
                counts: Vec::new(),
                touched: Vec::new(),
            }
        });
        let fold = self.collapse.then(|| {
            let at = |field| facets.iter().position(|f: &FacetColumn| f.field == field);
            let outlet = at(FacetField::Outlet);
            let stance = at(FacetField::Stance).filter(|_| self.count_facets);
            // Alone hits are counted per value here only under a filter on
            // the field; without one, the facet's counts hold them (see
            // `UnitCollector::fold`), and a broad search saves two adds a hit.
            let ordinals = |at: Option<usize>| match at {
                Some(i) if self.count_facets && facets[i].allowed.is_some() => {
                    vec![0; facets[i].map.len() + 1]
                }
                _ => Vec::new(),
            };
            let copies = self
                .values
                .copies
                .get()
                .map(|t| t.segment(reader.segment_id()))
                .unwrap_or_default();
            Fold {
                copies: SegmentFold::new(segment, copies),
                alone_outlet: ordinals(outlet),
                alone_stance: ordinals(stance),
                outlet,
                stance,
            }
        });
        Ok(UnitSegmentCollector {
            segment,
            fold,
            tally,
            facets,
            dates,
            keep: self.keep,
            // Room grows with the matches, not with the limit asked for
            // (a limit of 10^10 must not reserve 10^10 slots): at most
            // the segment's units, and no more than a page up front.
            heap: BinaryHeap::with_capacity(
                self.keep.min(reader.max_doc() as usize).min(BLOCK) + 1,
            ),
            total: 0,
            count_facets: self.count_facets,
            missing,
            docs: Vec::with_capacity(BLOCK),
            scores: Vec::with_capacity(BLOCK),
            firsts: vec![vec![None; BLOCK]; FacetField::ALL.len()],
            verdicts: Vec::with_capacity(BLOCK),
            passing: Vec::with_capacity(BLOCK),
            passing_docs: Vec::with_capacity(BLOCK),
            stopped: false,
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    /// tantivy's own loop (`Weight::for_each`) cannot be stopped; this one
    /// is the same loop over the same scorer, with a countdown to the next
    /// look at the clock when the search has a deadline.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFruit> {
        let mut collector = self.for_segment(segment, reader)?;
        let past = |deadline: &Option<Instant>| deadline.is_some_and(|d| Instant::now() >= d);
        if past(&self.deadline) {
            collector.stopped = true;
            return Ok(collector.harvest());
        }
        let mut scorer = weight.scorer(reader, 1.0)?;
        // A query with a bonus (closeness) is told the score a unit must
        // beat to be kept: everything when nothing is kept.
        if self.keep == 0 {
            if let Some(b) = scorer.downcast_mut::<BonusScorer>() {
                b.must_beat(Score::INFINITY);
            }
        }
        // A unit that fails a filter on outlet, author, stance and the
        // like is counted in that facet but never ranked: it is not scored
        // (under a narrow filter, most of the matches). Kinds are left to
        // the block: most units pass the default kind filter.
        let prechecks: Vec<(Column<u64>, Vec<bool>)> = collector
            .facets
            .iter()
            .filter(|f| f.single && f.field != FacetField::Kind)
            .filter_map(|f| Some((f.ords.clone(), f.allowed.clone()?)))
            .collect();
        // One loop per case, so that the unfiltered one stays as tight as
        // it was (a test per match inside it cost a broad search 15 %).
        if prechecks.is_empty() {
            self.drive(&mut collector, &mut scorer, reader, |_| true);
        } else {
            let passes = |doc: DocId| {
                prechecks.iter().all(|(ords, allowed)| {
                    ords.first(doc)
                        .is_some_and(|o| allowed.get(o as usize).copied().unwrap_or(false))
                })
            };
            self.drive(&mut collector, &mut scorer, reader, passes);
        }
        Ok(collector.harvest())
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<Gathered> {
        let mut all = Gathered::default();
        let mut heap: Vec<Ranked> = Vec::new();
        let mut by_value: HashMap<FacetField, Vec<u64>> = HashMap::new();
        let date_rows = self
            .histogram
            .and_then(|split| self.values.date_rows(split));
        let mut by_row: Vec<u64> = vec![0; date_rows.map_or(0, |r| r.rows.len())];
        let mut folds: Vec<FoldFruit> = Vec::new();
        for f in fruits {
            folds.extend(f.fold);
            all.timed_out |= f.stopped;
            for (row, n) in f.dates.unwrap_or_default() {
                by_row[row as usize] += n;
            }
            all.total += f.total;
            heap.extend(f.top.into_iter().map(|(s, a)| Ranked(s, a)));
            for (field, counts) in f.facets {
                let into = by_value
                    .entry(field)
                    .or_insert_with(|| vec![0; self.values.values.get(&field).map_or(0, Vec::len)]);
                for (v, n) in counts {
                    into[v as usize] += n;
                }
            }
        }
        // Folding reads the outlet and stance counts of every value.
        let facet_counts: HashMap<FacetField, Vec<u64>> = if self.collapse {
            [FacetField::Outlet, FacetField::Stance]
                .into_iter()
                .filter_map(|f| Some((f, by_value.get(&f)?.clone())))
                .collect()
        } else {
            HashMap::new()
        };
        for (field, counts) in by_value {
            let names = &self.values.values[&field];
            let mut counted: Vec<(u32, u64)> = counts
                .into_iter()
                .enumerate()
                .filter(|(_, n)| *n > 0)
                .map(|(v, n)| (v as u32, n))
                .collect();
            if self.facet_limit > 0 && counted.len() > self.facet_limit {
                let selected: Vec<u32> = self
                    .filters
                    .facets
                    .iter()
                    .filter(|(f, _)| *f == field)
                    .flat_map(|(_, values)| values.iter())
                    .filter_map(|v| self.values.index_of(field, v))
                    .collect();
                // Selected values first, then the most frequent, ties in
                // name order (value indices are in name order).
                let rank = |&(v, n): &(u32, u64)| (!selected.contains(&v), Reverse(n), v);
                let chosen = counted.iter().filter(|(v, _)| selected.contains(v)).count();
                let listed = self.facet_limit.max(chosen);
                if listed < counted.len() {
                    counted.select_nth_unstable_by_key(listed - 1, rank);
                    all.left_out.insert(field, (counted.len() - listed) as u64);
                }
                counted.truncate(listed);
            }
            all.facets.insert(
                field,
                counted
                    .into_iter()
                    .map(|(v, n)| (names[v as usize].clone(), n))
                    .collect(),
            );
        }
        if let Some(rows) = date_rows {
            all.dates = Some(DateTally(
                by_row
                    .iter()
                    .zip(&rows.rows)
                    .filter(|(n, _)| **n > 0)
                    .map(|(&n, &key)| (key, n))
                    .collect(),
            ));
        }
        let folded = self.collapse.then(|| self.fold(folds, &facet_counts));
        // Only a page's worth of clusters can make the page: picked
        // before the sort (a broad search folds thousands).
        let page = folded
            .as_ref()
            .map(|(folds, _)| folds.page(self.keep))
            .unwrap_or_default();
        heap.extend(page.iter().map(|&(ranked, _)| ranked));
        heap.sort_by(|a, b| b.cmp(a));
        heap.truncate(self.keep);
        all.top = heap.into_iter().map(|Ranked(s, a)| (s, a)).collect();
        if let Some((folds, sources)) = folded {
            let outlets = self.values.values.get(&FacetField::Outlet);
            all.folded = folds.folded(&all.top, &page, outlets.map_or(&[], Vec::as_slice));
            all.sources = sources;
        }
        Ok(all)
    }
}

impl UnitCollector {
    /// The segments' folded hits together, and the source counts
    /// (counted searches only).
    fn fold(
        &self,
        fruits: Vec<FoldFruit>,
        facet_counts: &HashMap<FacetField, Vec<u64>>,
    ) -> (Folds, Option<Sources>) {
        let clusters = self.values.copies.get().map_or(0, CopyTable::clusters);
        let mut alone = 0;
        let mut by_segment = Vec::with_capacity(fruits.len());
        let mut alone_values: Vec<(FacetField, Vec<(u32, u64)>)> = Vec::new();
        for f in fruits {
            alone += f.alone;
            by_segment.push(f.folds);
            alone_values.push((FacetField::Outlet, f.alone_outlet));
            alone_values.push((FacetField::Stance, f.alone_stance));
        }
        let folds = Folds::merge(by_segment, clusters);
        if !self.count_facets {
            return (folds, None);
        }
        let names = |field| {
            self.values
                .values
                .get(&field)
                .map_or(&[][..], Vec::as_slice)
        };
        let filtered = |field: FacetField| {
            self.filters
                .facets
                .iter()
                .any(|(f, v)| *f == field && !v.is_empty())
        };
        // Per value, the hits alone in their cluster: without a filter on
        // the field, the facet's count less the folded hits; under one,
        // as the segments counted them.
        let alone_per_value = |field: FacetField, pick: fn(&Member) -> u32| {
            let values = names(field).len();
            if filtered(field) {
                let mut counts = vec![0; values];
                for (_, pairs) in alone_values.iter().filter(|(f, _)| *f == field) {
                    for &(v, n) in pairs {
                        if let Some(c) = counts.get_mut(v as usize) {
                            *c += n;
                        }
                    }
                }
                return counts;
            }
            let Some(total) = facet_counts.get(&field) else {
                return vec![0; values];
            };
            let folded = folds.hits_per_value(pick, values);
            total
                .iter()
                .zip(folded.iter().chain(std::iter::repeat(&0)))
                .map(|(&n, &f)| n.saturating_sub(f))
                .collect()
        };
        let outlet = alone_per_value(FacetField::Outlet, |m| m.outlet);
        let stance = alone_per_value(FacetField::Stance, |m| m.stance);
        let sources = folds.sources(
            alone,
            Tally {
                names: names(FacetField::Outlet),
                alone: &outlet,
            },
            Tally {
                names: names(FacetField::Stance),
                alone: &stance,
            },
        );
        (folds, Some(sources))
    }
}

/// One segment's share, facet counts by value index.
pub struct SegmentFruit {
    top: Vec<(Score, DocAddress)>,
    total: u64,
    /// Per facet, (value index, count) for the values counted.
    facets: Vec<(FacetField, Vec<(u32, u64)>)>,
    /// Stopped at the deadline before the last match.
    stopped: bool,
    /// Hits by date row (with a histogram).
    dates: Option<Vec<(u32, u64)>>,
    /// Hits with copies, folded (when folding).
    fold: Option<FoldFruit>,
}

impl SegmentCollector for UnitSegmentCollector {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.docs.push(doc);
        self.scores.push(score);
        if self.docs.len() == BLOCK {
            self.judge_block();
        }
    }

    fn harvest(mut self) -> SegmentFruit {
        self.judge_block();
        let mut facets = Vec::new();
        if self.count_facets {
            for facet in &self.facets {
                // Counts by the generation's value index: only the values
                // counted, as a narrow query counts few of them.
                let mut by_value: Vec<(u32, u64)> = Vec::new();
                for &ord in &facet.touched {
                    let n = u64::from(facet.counts[ord as usize]);
                    by_value.extend(facet.map[ord as usize].iter().map(|&v| (v, n)));
                }
                facets.push((facet.field, by_value));
            }
        }
        SegmentFruit {
            top: self
                .heap
                .into_iter()
                .map(|Reverse(Ranked(s, a))| (s, a))
                .collect(),
            total: self.total,
            facets,
            stopped: self.stopped,
            dates: self.tally.as_ref().map(DateCounts::harvest),
            fold: self.fold.map(|f| {
                // Per column ordinal to per value of the generation.
                // (The last slot, units without a value, is left out.)
                let by_value = |at: Option<usize>, counts: Vec<u32>| -> Vec<(u32, u64)> {
                    counts
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| **n > 0)
                        .filter_map(|(ord, &n)| {
                            let value = self.facets[at?].map.get(ord)?.first().copied()?;
                            Some((value, u64::from(n)))
                        })
                        .collect()
                };
                // Every passing hit is alone or folded.
                let alone = self.total - f.copies.hits();
                FoldFruit {
                    folds: f.copies.harvest(),
                    alone,
                    alone_outlet: by_value(f.outlet, f.alone_outlet),
                    alone_stance: by_value(f.stance, f.alone_stance),
                }
            }),
        }
    }
}

impl UnitSegmentCollector {
    /// Judges the waiting matches a facet at a time, not a unit at a time:
    /// column values read for the whole block, then one tight loop per
    /// filter and per counted facet (a broad query judges most units of
    /// the index, so these loops are its cost).
    fn judge_block(&mut self) {
        let n = self.docs.len();
        if n == 0 {
            return;
        }
        // Filtered facets' values first: they decide which units pass.
        for (i, facet) in self.facets.iter().enumerate() {
            if facet.single && facet.allowed.is_some() {
                facet.ords.first_vals(&self.docs, &mut self.firsts[i][..n]);
            }
        }
        let mut verdicts = std::mem::take(&mut self.verdicts);
        verdicts.clear();
        verdicts.resize(
            n,
            match self.missing {
                0 => PASSES,
                1 => FAILS_ABSENT,
                _ => EXCLUDED,
            },
        );
        if let Some((from, to, since, until)) = &self.dates {
            for (verdict, &doc) in verdicts.iter_mut().zip(&self.docs) {
                match (from.first(doc), to.first(doc)) {
                    (Some(f), Some(t)) if t >= *since && f <= *until => {}
                    _ => *verdict = EXCLUDED,
                }
            }
        }
        for (i, facet) in self.facets.iter().enumerate() {
            let Some(allowed) = &facet.allowed else {
                continue;
            };
            let is_allowed = |o: u64| allowed.get(o as usize).copied().unwrap_or(false);
            for (k, verdict) in verdicts.iter_mut().enumerate() {
                if *verdict == EXCLUDED {
                    continue;
                }
                let ok = if facet.single {
                    self.firsts[i][k].is_some_and(is_allowed)
                } else {
                    facet.ords.values_for_doc(self.docs[k]).any(is_allowed)
                };
                if !ok {
                    *verdict = if *verdict == PASSES {
                        fails_only(i)
                    } else {
                        EXCLUDED
                    };
                }
            }
        }
        // An unfiltered facet is read, and counted, only at the units that
        // pass: under a narrow filter, a few of the block's.
        // (Only when few pass: a block where most do, as under the
        // default kind filter, is read and counted whole, faster.)
        let few_pass = verdicts.iter().filter(|&&v| v == PASSES).count() * 2 < n;
        if few_pass {
            self.passing.clear();
            self.passing
                .extend((0..n).filter(|&k| verdicts[k] == PASSES));
            self.passing_docs.clear();
            self.passing_docs
                .extend(self.passing.iter().map(|&k| self.docs[k]));
        }
        for (i, facet) in self.facets.iter().enumerate() {
            if !facet.single || facet.allowed.is_some() {
                continue;
            }
            let firsts = &mut self.firsts[i];
            if !few_pass {
                facet.ords.first_vals(&self.docs, &mut firsts[..n]);
            } else {
                // Read into the front, then moved to their places (from
                // the back, so none is overwritten before it moves).
                let m = self.passing.len();
                facet.ords.first_vals(&self.passing_docs, &mut firsts[..m]);
                firsts[m..n].fill(None);
                for j in (0..m).rev() {
                    let value = firsts[j];
                    firsts[j] = None;
                    firsts[self.passing[j]] = value;
                }
            }
        }
        if self.count_facets {
            // A unit counts in every facet if it passes, and in the one
            // facet whose filter alone it fails.
            for (i, facet) in self.facets.iter_mut().enumerate() {
                // (Units that do not pass have no value read for an
                // unfiltered facet: skipped.)
                let own = fails_only(i);
                facet.count(&self.firsts[i][..n], &self.docs, |k| {
                    verdicts[k] == PASSES || verdicts[k] == own
                });
            }
        }
        if let Some(tally) = &mut self.tally {
            tally.count(&self.docs, |k| verdicts[k] == PASSES);
        }
        // Taken out while the block is judged: an offer changes `self`.
        let mut fold = self.fold.take();
        for (k, &verdict) in verdicts.iter().enumerate() {
            if verdict != PASSES {
                continue;
            }
            self.total += 1;
            let doc = self.docs[k];
            if let Some(fold) = &mut fold {
                let cluster = fold.copies.cluster(doc);
                if cluster == ALONE {
                    // The last slot counts units without the value.
                    let firsts = &self.firsts;
                    let add = |at: Option<usize>, counts: &mut Vec<u32>| {
                        if let (Some(i), false) = (at, counts.is_empty()) {
                            let ord = firsts[i][k].map_or(counts.len() - 1, |o| o as usize);
                            if let Some(n) = counts.get_mut(ord) {
                                *n += 1;
                            }
                        }
                    };
                    add(fold.outlet, &mut fold.alone_outlet);
                    add(fold.stance, &mut fold.alone_stance);
                } else {
                    let value = |at: Option<usize>| {
                        at.and_then(|i| {
                            let ord = self.firsts[i][k]?;
                            self.facets[i].map.get(ord as usize)?.first().copied()
                        })
                        .unwrap_or(NO_VALUE)
                    };
                    let (outlet, stance) = (value(fold.outlet), value(fold.stance));
                    fold.copies
                        .fold(cluster, self.scores[k], doc, outlet, stance);
                    continue;
                }
            }
            self.offer(Ranked(self.scores[k], DocAddress::new(self.segment, doc)));
        }
        self.fold = fold;
        self.verdicts = verdicts;
        self.docs.clear();
        self.scores.clear();
    }
}

impl UnitCollector {
    /// Feeds a segment's matches to its collector: each live match with
    /// its score, or with none when it fails `ranked`'s filters.
    fn drive(
        &self,
        collector: &mut UnitSegmentCollector,
        scorer: &mut Box<dyn Scorer>,
        reader: &SegmentReader,
        ranked: impl Fn(DocId) -> bool,
    ) {
        let past = |deadline: &Option<Instant>| deadline.is_some_and(|d| Instant::now() >= d);
        let alive = reader.alive_bitset();
        // The score a unit must beat, told to a query with a bonus as the
        // kept units change.
        let bonus = scorer.is::<BonusScorer>();
        let mut countdown = CLOCK_EVERY;
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                let score = if ranked(doc) { scorer.score() } else { 0.0 };
                collector.collect(doc, score);
                if bonus && collector.docs.is_empty() {
                    if let (Some(worst), Some(b)) =
                        (collector.worst_kept(), scorer.downcast_mut::<BonusScorer>())
                    {
                        b.must_beat(worst);
                    }
                }
            }
            if self.deadline.is_some() {
                countdown -= 1;
                if countdown == 0 {
                    countdown = CLOCK_EVERY;
                    if past(&self.deadline) {
                        collector.stopped = true;
                        break;
                    }
                }
            }
            doc = scorer.advance();
        }
    }
}

impl UnitSegmentCollector {
    /// The score of the worst unit kept, once as many are kept as wanted
    /// (a unit must beat it to be kept).
    fn worst_kept(&self) -> Option<Score> {
        if self.keep == 0 || self.heap.len() < self.keep {
            return None;
        }
        self.heap.peek().map(|Reverse(Ranked(score, _))| *score)
    }

    /// Keeps a passing unit if it is among the best so far.
    fn offer(&mut self, ranked: Ranked) {
        if self.keep == 0 {
            return;
        }
        if self.heap.len() < self.keep {
            self.heap.push(Reverse(ranked));
        } else if let Some(Reverse(worst)) = self.heap.peek() {
            if ranked > *worst {
                self.heap.pop();
                self.heap.push(Reverse(ranked));
            }
        }
    }
}

/// A unit's verdict in a block: it passes every filter, fails only the
/// filter of facet `i` (`fails_only(i)`), fails only a filter on a facet
/// its segment lacks, or fails more (excluded: counted nowhere).
const PASSES: u8 = 0;
const FAILS_ABSENT: u8 = 254;
const EXCLUDED: u8 = 255;

fn fails_only(facet: usize) -> u8 {
    facet as u8 + 1
}
