//! Partial matches: the units that hold most, not all, of a query's words.
//!
//! When fewer units than a page holds contain every word, the page goes on
//! with units that contain most of them, never above a full match, each
//! marked with how many of the query's words it holds. They are ranked by
//! that number first, then by score: BM25 alone can put a unit that holds
//! one rare word above one that holds three common ones.

use tantivy::query::{EnableScoring, Query, Weight};
use tantivy::{DocAddress, DocSet, Score};

/// Candidates ranked by words held, per hit wanted: BM25 orders the
/// candidates, so a few times the page is read to find those holding most
/// words.
const CANDIDATES_PER_HIT: usize = 3;
/// Candidates ranked at least.
const MIN_CANDIDATES: usize = 30;

/// How many candidates to collect to fill `wanted` places.
pub fn candidates(wanted: usize) -> usize {
    wanted
        .saturating_mul(CANDIDATES_PER_HIT)
        .max(MIN_CANDIDATES)
}

/// A unit that holds some of the query's words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Partial {
    pub score: Score,
    pub addr: DocAddress,
    /// How many of the query's words (top-level clauses) it holds.
    pub matched: usize,
}

/// `found` ranked by the number of `clauses` each unit matches, then by
/// score, best first.
pub fn rank(
    searcher: &tantivy::Searcher,
    clauses: &[Box<dyn Query>],
    found: &[(Score, DocAddress)],
) -> tantivy::Result<Vec<Partial>> {
    let weights: Vec<Box<dyn Weight>> = clauses
        .iter()
        .map(|q| q.weight(EnableScoring::disabled_from_searcher(searcher)))
        .collect::<tantivy::Result<_>>()?;
    let mut ranked = Vec::with_capacity(found.len());
    for &(score, addr) in found {
        let segment = searcher.segment_reader(addr.segment_ord);
        let mut matched = 0;
        for w in &weights {
            if w.scorer(segment, 1.0)?.seek(addr.doc_id) == addr.doc_id {
                matched += 1;
            }
        }
        ranked.push(Partial {
            score,
            addr,
            matched,
        });
    }
    ranked.sort_by(|a, b| {
        b.matched
            .cmp(&a.matched)
            .then(b.score.total_cmp(&a.score))
            .then(a.addr.cmp(&b.addr))
    });
    Ok(ranked)
}
