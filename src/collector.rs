//! One pass over the units that match a query: the best hits of the page
//! and disjunctive facet counts, together.
//!
//! tantivy has no multi-select facets, and running the query once per
//! facet would multiply the cost. Instead every unit matching the *text*
//! query is seen once: if it passes all facet filters it is a hit and
//! counts in every facet; if it fails exactly one facet's filter it still
//! counts in that facet (a facet's counts ignore its own filter), so a user
//! sees what else they could pick. Values are compared as fast-field term
//! ordinals, resolved to strings only at the end of each segment.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema::{name, FacetField};

/// The filters of a search, already resolved to exact indexed values.
#[derive(Debug, Clone, Default)]
pub struct ResolvedFilters {
    /// Per facet field: the allowed values (empty: no filter on it).
    pub facets: Vec<(FacetField, Vec<String>)>,
    /// Inclusive `YYYYMMDD` bounds on the published date.
    pub since: Option<u64>,
    pub until: Option<u64>,
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
    column: StrColumn,
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
            if !self.count_facets && wanted.is_none() {
                continue;
            }
            let Some(column) = ff.str(field.value_field_name())? else {
                missing += usize::from(wanted.is_some());
                continue;
            };
            let terms = column.num_terms();
            let allowed = match wanted {
                None => None,
                Some(values) => {
                    let mut allowed = vec![false; terms];
                    for v in values {
                        if let Some(ord) = column.dictionary().term_ord(v.as_bytes())? {
                            allowed[ord as usize] = true;
                        }
                    }
                    Some(allowed)
                }
            };
            let counts = if self.count_facets {
                vec![0; terms]
            } else {
                Vec::new()
            };
            facets.push(FacetColumn {
                field,
                column,
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
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Gathered>) -> tantivy::Result<Gathered> {
        let mut all = Gathered::default();
        let mut heap: Vec<Ranked> = Vec::new();
        for f in fruits {
            all.total += f.total;
            heap.extend(f.top.into_iter().map(|(s, a)| Ranked(s, a)));
            for (field, counts) in f.facets {
                let into = all.facets.entry(field).or_default();
                for (value, n) in counts {
                    *into.entry(value).or_default() += n;
                }
            }
        }
        heap.sort_by(|a, b| b.cmp(a));
        heap.truncate(self.keep);
        all.top = heap.into_iter().map(|Ranked(s, a)| (s, a)).collect();
        Ok(all)
    }
}

impl SegmentCollector for UnitSegmentCollector {
    type Fruit = Gathered;

    fn collect(&mut self, doc: DocId, score: Score) {
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
                let ok = facet
                    .column
                    .term_ords(doc)
                    .any(|o| allowed.get(o as usize).copied().unwrap_or(false));
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
                    for o in facet.column.term_ords(doc) {
                        facet.counts[o as usize] += 1;
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

    fn harvest(self) -> Gathered {
        let mut facets = HashMap::new();
        let mut buf = String::new();
        for facet in self.facets {
            if !self.count_facets {
                continue;
            }
            let mut counts = HashMap::new();
            for (ord, &n) in facet.counts.iter().enumerate() {
                if n > 0
                    && facet
                        .column
                        .ord_to_str(ord as u64, &mut buf)
                        .unwrap_or(false)
                {
                    counts.insert(buf.clone(), n);
                }
            }
            facets.insert(facet.field, counts);
        }
        Gathered {
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
