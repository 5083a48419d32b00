//! Copies folded: a search that shows one hit per copy cluster (a wire
//! story reprinted by twenty outlets is one hit, "+19 copies in …"), and
//! counts of independent sources beside the per-unit facets.
//!
//! Which units share a cluster is stored with each unit at import (see
//! `index::copies`); [`CopyTable`], read once per index generation,
//! numbers the clusters of two or more units densely, per segment and in
//! the generation, so a search folds into arrays rather than hash maps:
//! a hit alone in its cluster costs one array read, a copy ([`SegmentFold`])
//! a few more, and the segments' folds join ([`Folds`]) in one pass.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use tantivy::index::SegmentId;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal};

use super::histogram::NO_VALUE;
use super::ranked::Ranked;
use super::response::{FacetCounts, Sources};
use crate::index::stored::cluster_column;
use crate::text::shingles::NumberHasher;

/// Cluster numbers hash by one multiplication (SipHash made reading a
/// generation's clusters twice as slow).
type Numbers = BuildHasherDefault<NumberHasher>;

/// A unit in no shared cluster.
pub const ALONE: u32 = u32::MAX;

/// One segment's shared clusters.
///
/// Most units have no copy, so which units have one is a bit per unit
/// with a running count (a rank), and only those units' clusters are
/// listed: a narrow search's scattered hits read a few cached words, not
/// a 4-byte slot per unit of a megabyte-sized array (that cache miss was
/// a third of the cost of folding).
#[derive(Debug, Default)]
pub struct SegmentCopies {
    /// Per 64 units: which have a shared cluster, and how many before.
    words: Vec<Word>,
    /// Per unit with a shared cluster, in document order: its cluster's
    /// number in the segment.
    local: Vec<u32>,
    /// Per number in the segment: the cluster's number in the generation.
    global: Vec<u32>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Word {
    bits: u64,
    before: u32,
}

impl SegmentCopies {
    /// From each unit's cluster in the generation ([`ALONE`]: none).
    fn new(clusters: impl Iterator<Item = u32>) -> SegmentCopies {
        let mut copies = SegmentCopies::default();
        let mut in_segment: HashMap<u32, u32, Numbers> = HashMap::default();
        for (doc, g) in clusters.enumerate() {
            if doc % 64 == 0 {
                let before = copies.local.len() as u32;
                copies.words.push(Word { bits: 0, before });
            }
            if g == ALONE {
                continue;
            }
            if let Some(word) = copies.words.last_mut() {
                word.bits |= 1 << (doc % 64);
            }
            let global = &mut copies.global;
            let local = *in_segment.entry(g).or_insert_with(|| {
                global.push(g);
                global.len() as u32 - 1
            });
            copies.local.push(local);
        }
        copies
    }

    /// The unit's cluster, numbered in the segment ([`ALONE`]: none).
    #[inline]
    pub fn cluster(&self, doc: DocId) -> u32 {
        let Some(word) = self.words.get(doc as usize / 64) else {
            return ALONE;
        };
        let bit = 1u64 << (doc % 64);
        if word.bits & bit == 0 {
            return ALONE;
        }
        let rank = word.before + (word.bits & (bit - 1)).count_ones();
        self.local.get(rank as usize).copied().unwrap_or(ALONE)
    }

    /// The unit's cluster, numbered in the generation ([`ALONE`]: none).
    pub fn generation_cluster(&self, doc: DocId) -> u32 {
        match self.cluster(doc) {
            ALONE => ALONE,
            c => self.global[c as usize],
        }
    }
}

/// The shared clusters of one index generation.
#[derive(Debug, Default)]
pub struct CopyTable {
    segments: HashMap<SegmentId, Arc<SegmentCopies>>,
    /// How many clusters of two or more live units there are.
    clusters: usize,
}

impl CopyTable {
    /// Reads every unit's cluster (deleted units left out: a cluster
    /// whose copies were deleted is no longer shared).
    pub fn read(searcher: &tantivy::Searcher) -> CopyTable {
        let mut columns = Vec::new();
        let mut count: HashMap<u64, u32, Numbers> = HashMap::default();
        for segment in searcher.segment_readers() {
            let column = cluster_column(segment);
            let alive = segment.alive_bitset();
            let mut ids = Vec::with_capacity(segment.max_doc() as usize);
            for doc in 0..segment.max_doc() {
                let id = match (&column, alive.is_none_or(|a| a.is_alive(doc))) {
                    (Some(c), true) => c.first(doc).unwrap_or(0),
                    _ => 0,
                };
                if id != 0 {
                    *count.entry(id).or_default() += 1;
                }
                ids.push(id);
            }
            columns.push((segment.segment_id(), ids));
        }
        let mut number: HashMap<u64, u32, Numbers> = HashMap::default();
        for (id, n) in count {
            if n > 1 {
                let next = number.len() as u32;
                number.insert(id, next);
            }
        }
        let clusters = number.len();
        let segments = columns
            .into_iter()
            .map(|(segment, ids)| {
                let clusters = ids
                    .into_iter()
                    .map(|id| number.get(&id).copied().unwrap_or(ALONE));
                (segment, Arc::new(SegmentCopies::new(clusters)))
            })
            .collect();
        CopyTable { segments, clusters }
    }

    /// A segment's units' shared clusters (none: every unit alone).
    pub fn segment(&self, segment: SegmentId) -> Arc<SegmentCopies> {
        self.segments.get(&segment).cloned().unwrap_or_default()
    }

    /// How many shared clusters the generation has.
    pub fn clusters(&self) -> usize {
        self.clusters
    }

    /// The shared cluster of the unit at `addr` ([`ALONE`]: none).
    pub fn shared_at(&self, searcher: &tantivy::Searcher, addr: DocAddress) -> u32 {
        let segment = searcher.segment_reader(addr.segment_ord).segment_id();
        self.segments
            .get(&segment)
            .map_or(ALONE, |units| units.generation_cluster(addr.doc_id))
    }
}

/// A folded hit: its cluster, outlet and stance (value indices of the
/// generation, or [`NO_VALUE`]) and address.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    pub cluster: u32,
    pub outlet: u32,
    pub stance: u32,
    pub address: DocAddress,
}

/// A cluster's best hit in a segment, and how many hits it has there.
#[derive(Clone, Copy, Default)]
struct Best {
    score: Score,
    doc: DocId,
    hits: u32,
}

/// One segment's hits that have a copy, folded per cluster.
pub struct SegmentFold {
    segment: SegmentOrdinal,
    copies: Arc<SegmentCopies>,
    /// Per cluster of the segment (made at the first copy hit).
    best: Vec<Best>,
    /// The clusters hit, in the order first hit.
    touched: Vec<u32>,
    /// Every folded hit, its cluster numbered in the segment.
    members: Vec<Member>,
}

impl SegmentFold {
    pub fn new(segment: SegmentOrdinal, copies: Arc<SegmentCopies>) -> SegmentFold {
        SegmentFold {
            segment,
            copies,
            best: Vec::new(),
            touched: Vec::new(),
            members: Vec::new(),
        }
    }

    /// The unit's cluster in the segment ([`ALONE`]: nothing to fold).
    #[inline]
    pub fn cluster(&self, doc: DocId) -> u32 {
        self.copies.cluster(doc)
    }

    /// Folds a hit into its cluster (from [`SegmentFold::cluster`]).
    /// Hits come in document order, so of equal scores the first stays
    /// best, as [`Ranked`] orders them.
    #[inline]
    pub fn fold(&mut self, cluster: u32, score: Score, doc: DocId, outlet: u32, stance: u32) {
        if self.best.is_empty() {
            self.best = vec![Best::default(); self.copies.global.len()];
        }
        let Some(best) = self.best.get_mut(cluster as usize) else {
            return;
        };
        if best.hits == 0 {
            self.touched.push(cluster);
            *best = Best {
                score,
                doc,
                hits: 0,
            };
        } else if score.total_cmp(&best.score).is_gt() {
            best.score = score;
            best.doc = doc;
        }
        best.hits += 1;
        self.members.push(Member {
            cluster,
            outlet,
            stance,
            address: DocAddress::new(self.segment, doc),
        });
    }

    /// How many hits were folded.
    pub fn hits(&self) -> u64 {
        self.members.len() as u64
    }

    /// The segment's folds, clusters numbered in the generation.
    pub fn harvest(self) -> SegmentFolds {
        let global = &self.copies.global;
        let best = self
            .touched
            .iter()
            .map(|&c| {
                let b = self.best[c as usize];
                let address = DocAddress::new(self.segment, b.doc);
                (
                    global[c as usize],
                    Ranked(b.score, address),
                    u64::from(b.hits),
                )
            })
            .collect();
        let members = self
            .members
            .into_iter()
            .map(|m| Member {
                cluster: global[m.cluster as usize],
                ..m
            })
            .collect();
        SegmentFolds { best, members }
    }
}

/// What a segment folded: per cluster its best hit and number of hits,
/// and every folded hit.
#[derive(Default)]
pub struct SegmentFolds {
    best: Vec<(u32, Ranked, u64)>,
    members: Vec<Member>,
}

/// The segments' folds together (a cluster may span segments).
pub struct Folds {
    /// Each cluster hit: its number, best hit and number of hits.
    clusters: Vec<(u32, Ranked, u64)>,
    /// The folded hits by cluster: the `i`th cluster's are
    /// `members[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    members: Vec<Member>,
}

impl Folds {
    /// Joins the segments' folds; `clusters` is the generation's count.
    pub fn merge(segments: Vec<SegmentFolds>, clusters: usize) -> Folds {
        let mut at = vec![u32::MAX; clusters];
        let mut list: Vec<(u32, Ranked, u64)> = Vec::new();
        for s in &segments {
            for &(c, ranked, n) in &s.best {
                let Some(slot) = at.get_mut(c as usize) else {
                    continue;
                };
                if *slot == u32::MAX {
                    *slot = list.len() as u32;
                    list.push((c, ranked, n));
                } else {
                    let entry = &mut list[*slot as usize];
                    entry.1 = entry.1.max(ranked);
                    entry.2 += n;
                }
            }
        }
        // Grouped by cluster in one pass (a counting sort): each cluster
        // knows its number of hits, so where its group starts.
        let mut starts = Vec::with_capacity(list.len() + 1);
        let mut end = 0;
        for &(_, _, n) in &list {
            starts.push(end);
            end += n as usize;
        }
        starts.push(end);
        let mut fill = starts.clone();
        let blank = Member {
            cluster: ALONE,
            outlet: NO_VALUE,
            stance: NO_VALUE,
            address: DocAddress::new(0, 0),
        };
        let mut members = vec![blank; end];
        for m in segments.into_iter().flat_map(|s| s.members) {
            let Some(&i) = at.get(m.cluster as usize) else {
                continue;
            };
            if let Some(slot) = fill.get_mut(i as usize) {
                if let Some(place) = members.get_mut(*slot) {
                    *place = m;
                    *slot += 1;
                }
            }
        }
        Folds {
            clusters: list,
            starts,
            members,
        }
    }

    /// The best `keep` clusters' best hits, unordered, each with its
    /// place among the clusters (only these can make the page).
    pub fn page(&self, keep: usize) -> Vec<(Ranked, usize)> {
        let mut bests: Vec<(Ranked, usize)> = self
            .clusters
            .iter()
            .enumerate()
            .map(|(i, c)| (c.1, i))
            .collect();
        if keep > 0 && bests.len() > keep {
            bests.select_nth_unstable_by(keep - 1, |a, b| b.0.cmp(&a.0));
        }
        bests.truncate(keep);
        bests
    }

    /// How many folded hits carry each value (`values` of them).
    pub fn hits_per_value(&self, pick: fn(&Member) -> u32, values: usize) -> Vec<u64> {
        let mut counts = vec![0; values];
        for m in &self.members {
            if let Some(n) = counts.get_mut(pick(m) as usize) {
                *n += 1;
            }
        }
        counts
    }

    /// How many clusters have a folded hit carrying each value.
    fn clusters_per_value(&self, pick: fn(&Member) -> u32, values: usize) -> Vec<u64> {
        let mut counts = vec![0; values];
        // The last cluster each value was counted for: the hits come
        // grouped by cluster, so a cluster counts once per value.
        let mut last = vec![usize::MAX; values];
        for (i, group) in self.starts.windows(2).enumerate() {
            for m in &self.members[group[0]..group[1]] {
                let v = pick(m) as usize;
                if let (Some(n), Some(seen)) = (counts.get_mut(v), last.get_mut(v)) {
                    if *seen != i {
                        *seen = i;
                        *n += 1;
                    }
                }
            }
        }
        counts
    }

    /// The source counts: `alone` hits have no copy among the hits, and
    /// per outlet and stance, so many of them carry each value.
    pub fn sources(&self, alone: u64, outlet: Tally, stance: Tally) -> Sources {
        let count = |tally: Tally, pick: fn(&Member) -> u32| {
            let mut counts = self.clusters_per_value(pick, tally.names.len());
            for (n, a) in counts.iter_mut().zip(tally.alone) {
                *n += a;
            }
            FacetCounts::sorted(
                counts
                    .into_iter()
                    .zip(tally.names)
                    .filter(|(n, _)| *n > 0)
                    .map(|(n, name)| (name.clone(), n))
                    .collect(),
            )
        };
        Sources {
            paragraphs: alone + self.clusters.len() as u64,
            outlet: count(outlet, |m| m.outlet),
            stance: count(stance, |m| m.stance),
        }
    }

    /// What each hit of `top` that stands for a cluster folded: how many
    /// other hits, and their outlets (`page` as [`Folds::page`] gave it).
    pub fn folded(
        &self,
        top: &[(Score, DocAddress)],
        page: &[(Ranked, usize)],
        outlets: &[String],
    ) -> HashMap<DocAddress, Folded> {
        let standing: HashMap<DocAddress, usize> =
            page.iter().map(|&(Ranked(_, a), i)| (a, i)).collect();
        top.iter()
            .filter_map(|(_, addr)| {
                let &i = standing.get(addr)?;
                let group = &self.members[self.starts[i]..self.starts[i + 1]];
                let mut names: Vec<String> = group
                    .iter()
                    .filter(|m| m.address != *addr)
                    .filter_map(|m| outlets.get(m.outlet as usize).cloned())
                    .collect();
                names.sort_unstable();
                names.dedup();
                let folded = Folded {
                    copies: self.clusters[i].2 - 1,
                    outlets: names,
                };
                Some((*addr, folded))
            })
            .collect()
    }
}

/// A facet's values by name and, per value, the hits alone in their
/// cluster that carry it.
pub struct Tally<'a> {
    pub names: &'a [String],
    pub alone: &'a [u64],
}

/// What a folded hit stands for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Folded {
    /// Other hits of its cluster, folded into it.
    pub copies: u64,
    /// Their outlets, by name.
    pub outlets: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_finds_each_units_cluster_across_words() {
        // Units 3, 64, 65 and 130 share clusters 7 and 9; the rest are alone.
        let mut clusters = vec![ALONE; 200];
        clusters[3] = 7;
        clusters[64] = 9;
        clusters[65] = 7;
        clusters[130] = 9;
        let copies = SegmentCopies::new(clusters.iter().copied());
        for (doc, &g) in clusters.iter().enumerate() {
            assert_eq!(copies.generation_cluster(doc as DocId), g, "unit {doc}");
        }
        assert_eq!(copies.cluster(3), copies.cluster(65));
        assert_ne!(copies.cluster(3), copies.cluster(64));
        assert_eq!(copies.cluster(500), ALONE);
    }

    fn member(cluster: u32, outlet: u32, doc: DocId) -> Member {
        Member {
            cluster,
            outlet,
            stance: 0,
            address: DocAddress::new(0, doc),
        }
    }

    #[test]
    fn folds_join_segments_and_count_each_cluster_once_per_outlet() {
        // Cluster 0: three hits in two segments, two of them in outlet 1;
        // cluster 1: one hit in each segment, both in outlet 1.
        let first = SegmentFolds {
            best: vec![
                (0, Ranked(2.0, DocAddress::new(0, 1)), 2),
                (1, Ranked(1.0, DocAddress::new(0, 5)), 1),
            ],
            members: vec![member(0, 1, 1), member(0, 1, 2), member(1, 1, 5)],
        };
        let second = SegmentFolds {
            best: vec![
                (0, Ranked(3.0, DocAddress::new(1, 4)), 1),
                (1, Ranked(0.5, DocAddress::new(1, 6)), 1),
            ],
            members: vec![
                Member {
                    address: DocAddress::new(1, 4),
                    ..member(0, 0, 4)
                },
                Member {
                    address: DocAddress::new(1, 6),
                    ..member(1, 1, 6)
                },
            ],
        };
        let folds = Folds::merge(vec![first, second], 2);
        assert_eq!(folds.hits_per_value(|m| m.outlet, 2), vec![1, 4]);
        assert_eq!(folds.clusters_per_value(|m| m.outlet, 2), vec![1, 2]);
        let page = folds.page(1);
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].0, Ranked(3.0, DocAddress::new(1, 4)));
        let names = ["A".to_string(), "B".to_string()];
        let top = [(3.0, DocAddress::new(1, 4))];
        let folded = folds.folded(&top, &page, &names);
        let best = &folded[&DocAddress::new(1, 4)];
        assert_eq!(best.copies, 2);
        assert_eq!(best.outlets, vec!["B".to_string()]);
        let sources = folds.sources(
            3,
            Tally {
                names: &names,
                alone: &[2, 1],
            },
            Tally {
                names: &names[..1],
                alone: &[0],
            },
        );
        assert_eq!(sources.paragraphs, 5);
        assert_eq!(
            sources.outlet.0,
            vec![("A".to_string(), 3), ("B".to_string(), 3)]
        );
    }
}
