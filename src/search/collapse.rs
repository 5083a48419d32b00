//! Copies folded: a search that shows one hit per copy cluster (a wire
//! story reprinted by twenty outlets is one hit, "+19 copies in …"), and
//! counts of independent sources beside the per-unit facets.
//!
//! Which units share a cluster is stored with each unit at import (see
//! `index::copies`); [`CopyTable`], read once per index generation,
//! turns the ids into small numbers and keeps only the clusters of two
//! or more units alive, so a search folds and counts only the units that
//! have a copy, and every other hit costs one array read.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use serde::Serialize;
use tantivy::index::SegmentId;
use tantivy::DocId;

use crate::index::stored::cluster_column;
use crate::text::shingles::NumberHasher;

/// Cluster numbers hash by one multiplication (SipHash made reading a
/// generation's clusters twice as slow).
type Numbers = BuildHasherDefault<NumberHasher>;

/// A unit in no shared cluster.
pub const ALONE: u32 = u32::MAX;

/// The shared clusters of one index generation.
#[derive(Debug, Default)]
pub struct CopyTable {
    /// Per segment, per unit (document id), its shared cluster's number,
    /// or [`ALONE`].
    segments: HashMap<SegmentId, Arc<Vec<u32>>>,
    /// Per shared cluster, its units.
    pub members: Vec<u32>,
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
        let mut members = Vec::new();
        for (id, n) in count {
            if n > 1 {
                number.insert(id, members.len() as u32);
                members.push(n);
            }
        }
        let segments = columns
            .into_iter()
            .map(|(segment, ids)| {
                let shared = ids
                    .into_iter()
                    .map(|id| number.get(&id).copied().unwrap_or(ALONE))
                    .collect();
                (segment, Arc::new(shared))
            })
            .collect();
        CopyTable { segments, members }
    }

    /// A segment's units' shared clusters (none: every unit alone).
    pub fn segment(&self, segment: SegmentId) -> Arc<Vec<u32>> {
        self.segments.get(&segment).cloned().unwrap_or_default()
    }
}

impl CopyTable {
    /// The shared cluster of the unit at `addr` ([`ALONE`]: none).
    pub fn shared_at(&self, searcher: &tantivy::Searcher, addr: tantivy::DocAddress) -> u32 {
        let segment = searcher.segment_reader(addr.segment_ord).segment_id();
        self.segments
            .get(&segment)
            .map_or(ALONE, |units| shared(units, addr.doc_id))
    }
}

/// A segment's units' shared clusters, read per unit.
pub fn shared(clusters: &[u32], doc: DocId) -> u32 {
    clusters.get(doc as usize).copied().unwrap_or(ALONE)
}

/// How many distinct paragraphs the hits hold, per outlet and stance: a
/// cluster of copies counts once per value, however many units carry it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sources {
    /// Distinct paragraphs among all the hits.
    pub paragraphs: u64,
    pub outlet: super::FacetCounts,
    pub stance: super::FacetCounts,
}

/// What a folded hit stands for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Folded {
    /// Other hits of its cluster, folded into it.
    pub copies: u64,
    /// Their outlets, by name.
    pub outlets: Vec<String>,
}
