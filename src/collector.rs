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

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, Column};
use tantivy::index::SegmentId;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema::{name, FacetField, AUTHOR_SEPARATOR};

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
    /// The comparison key of every value (`names::key`), same order;
    /// computed on first use (thousands of authors cost milliseconds,
    /// which a one-shot search without a name filter should not pay).
    keys: std::sync::OnceLock<HashMap<FacetField, Vec<String>>>,
    segments: HashMap<SegmentId, SegmentMaps>,
}

/// Per facet field, each column ordinal's indices into the field's values.
type SegmentMaps = HashMap<FacetField, Arc<Vec<Vec<u32>>>>;

impl FacetValues {
    /// Reads the facet dictionaries of every segment. Names are interned
    /// as they stream by (a corpus repeats its author lists in every
    /// segment), then sorted once.
    pub fn read(searcher: &tantivy::Searcher) -> tantivy::Result<FacetValues> {
        let mut interned: HashMap<FacetField, HashMap<String, u32>> = HashMap::new();
        // Per segment and field: each ordinal's interned names.
        let mut raw: Vec<(SegmentId, FacetField, Vec<Vec<u32>>)> = Vec::new();
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
                raw.push((segment.segment_id(), field, by_ord));
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
        for (segment, field, mut by_ord) in raw {
            let new_id = &renumber[&field];
            for ids in &mut by_ord {
                for id in ids.iter_mut() {
                    *id = new_id[*id as usize];
                }
            }
            segments
                .entry(segment)
                .or_default()
                .insert(field, Arc::new(by_ord));
        }
        Ok(FacetValues {
            generation: searcher.generation().generation_id(),
            values,
            keys: std::sync::OnceLock::new(),
            segments,
        })
    }

    /// The comparison keys of a field's values.
    pub fn keys(&self, field: FacetField) -> &[String] {
        let all = self.keys.get_or_init(|| {
            self.values
                .iter()
                .map(|(f, v)| (*f, v.iter().map(|name| crate::names::key(name)).collect()))
                .collect()
        });
        all.get(&field).map_or(&[], Vec::as_slice)
    }

    fn index_of(&self, field: FacetField, value: &str) -> Option<u32> {
        self.values
            .get(&field)?
            .binary_search_by(|v| v.as_str().cmp(value))
            .ok()
            .map(|i| i as u32)
    }
}

/// What the collector gathers.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Best first; at most `offset + limit`.
    pub top: Vec<(Score, DocAddress)>,
    pub total: u64,
    pub facets: HashMap<FacetField, HashMap<String, u64>>,
}

pub struct UnitCollector {
    pub filters: ResolvedFilters,
    /// The facet values of the generation searched.
    pub values: Arc<FacetValues>,
    /// How many of the best hits to keep (offset + limit).
    pub keep: usize,
    /// Whether to count facets at all (bench and show do not need them).
    pub count_facets: bool,
}

#[derive(Clone, Copy, PartialEq)]
struct Ranked(Score, DocAddress);
impl Eq for Ranked {}
impl Ord for Ranked {
    /// Higher score first; ties broken by address so paging is stable.
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

struct FacetColumn {
    field: FacetField,
    /// Ordinal -> indices into the generation's values of the field.
    map: Arc<Vec<Vec<u32>>>,
    /// How many values the field has in the generation.
    values: usize,
    /// The column's term ordinals, and whether a unit has at most one
    /// (then `first` is a direct read; authors may be several).
    ords: Column<u64>,
    single: bool,
    /// Indexed by term ordinal: allowed by the filter. None: no filter.
    allowed: Option<Vec<bool>>,
    counts: Vec<u64>,
}

pub struct UnitSegmentCollector {
    segment: SegmentOrdinal,
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
}

/// Matches judged together.
const BLOCK: usize = 256;

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
            if !self.count_facets && wanted.is_none() {
                continue;
            }
            let Some(column) = ff.str(field.value_field_name())? else {
                missing += usize::from(wanted.is_some());
                continue;
            };
            let Some(map) = self
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
                vec![0; column.num_terms()]
            } else {
                Vec::new()
            };
            let ords = column.ords().clone();
            let single = !matches!(ords.get_cardinality(), Cardinality::Multivalued);
            facets.push(FacetColumn {
                field,
                values: self.values.values.get(&field).map_or(0, Vec::len),
                ords,
                single,
                map,
                allowed,
                counts,
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
        Ok(UnitSegmentCollector {
            segment,
            facets,
            dates,
            keep: self.keep,
            heap: BinaryHeap::with_capacity(self.keep + 1),
            total: 0,
            count_facets: self.count_facets,
            missing,
            docs: Vec::with_capacity(BLOCK),
            scores: Vec::with_capacity(BLOCK),
            firsts: vec![vec![None; BLOCK]; FacetField::ALL.len()],
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<Gathered> {
        let mut all = Gathered::default();
        let mut heap: Vec<Ranked> = Vec::new();
        let mut by_value: HashMap<FacetField, Vec<u64>> = HashMap::new();
        for f in fruits {
            all.total += f.total;
            heap.extend(f.top.into_iter().map(|(s, a)| Ranked(s, a)));
            for (field, counts) in f.facets {
                let into = by_value
                    .entry(field)
                    .or_insert_with(|| vec![0; counts.len()]);
                for (sum, n) in into.iter_mut().zip(counts) {
                    *sum += n;
                }
            }
        }
        for (field, counts) in by_value {
            let names = &self.values.values[&field];
            all.facets.insert(
                field,
                counts
                    .into_iter()
                    .enumerate()
                    .filter(|(_, n)| *n > 0)
                    .map(|(v, n)| (names[v].clone(), n))
                    .collect(),
            );
        }
        heap.sort_by(|a, b| b.cmp(a));
        heap.truncate(self.keep);
        all.top = heap.into_iter().map(|Ranked(s, a)| (s, a)).collect();
        Ok(all)
    }
}

/// One segment's share, facet counts by value index.
pub struct SegmentFruit {
    top: Vec<(Score, DocAddress)>,
    total: u64,
    facets: Vec<(FacetField, Vec<u64>)>,
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
                // Counts by the generation's value index.
                let mut by_value = vec![0u64; facet.values];
                for (ord, &n) in facet.counts.iter().enumerate() {
                    if n > 0 {
                        for &v in &facet.map[ord] {
                            by_value[v as usize] += n;
                        }
                    }
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
        }
    }
}

impl UnitSegmentCollector {
    /// Judges the waiting matches: column values read for the whole block,
    /// then each unit filtered, counted and ranked.
    fn judge_block(&mut self) {
        let n = self.docs.len();
        if n == 0 {
            return;
        }
        for (i, facet) in self.facets.iter().enumerate() {
            if facet.single {
                facet.ords.first_vals(&self.docs, &mut self.firsts[i][..n]);
            }
        }
        for k in 0..n {
            self.judge(k);
        }
        self.docs.clear();
        self.scores.clear();
    }

    fn judge(&mut self, k: usize) {
        let doc = self.docs[k];
        let score = self.scores[k];
        if let Some((from, to, since, until)) = &self.dates {
            match (from.first(doc), to.first(doc)) {
                (Some(f), Some(t)) if t >= *since && f <= *until => {}
                _ => return,
            }
        }
        if self.missing > 1 {
            return;
        }
        // Which facet filter the unit fails: none, exactly one (`usize::MAX`
        // for a facet the segment lacks), or more (then it is not counted).
        let mut failing = (self.missing == 1).then_some(usize::MAX);
        for (i, facet) in self.facets.iter().enumerate() {
            if let Some(allowed) = &facet.allowed {
                let is_allowed = |o: u64| allowed.get(o as usize).copied().unwrap_or(false);
                let ok = if facet.single {
                    self.firsts[i][k].is_some_and(is_allowed)
                } else {
                    facet.ords.values_for_doc(doc).any(is_allowed)
                };
                if !ok {
                    if failing.is_some() {
                        return;
                    }
                    failing = Some(i);
                }
            }
        }
        if self.count_facets {
            for (i, facet) in self.facets.iter_mut().enumerate() {
                if failing.is_none() || failing == Some(i) {
                    if facet.single {
                        if let Some(o) = self.firsts[i][k] {
                            facet.counts[o as usize] += 1;
                        }
                    } else {
                        for o in facet.ords.values_for_doc(doc) {
                            facet.counts[o as usize] += 1;
                        }
                    }
                }
            }
        }
        if failing.is_some() {
            return;
        }
        self.total += 1;
        if self.keep == 0 {
            return;
        }
        let ranked = Ranked(score, DocAddress::new(self.segment, doc));
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
