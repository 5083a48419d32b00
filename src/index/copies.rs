//! Copy clusters, given to units as they are written: units carrying the
//! same paragraph, verbatim or nearly, share a cluster id (a wire story
//! reprinted by twenty outlets is one cluster of twenty units).
//!
//! Within an import, each unit's sketch bands ([`crate::text::shingles`])
//! are looked up in a table of the bands seen so far: two bands in common
//! with an earlier unit, and a sketch that agrees with its cluster's first
//! unit's on about [`LIKE`] of their runs, put it in that cluster
//! (verbatim copies share all ten bands; a near copy, whose runs overlap
//! by about half or more, most often shares two). Units the index held
//! before the import are not in the table (it lives in memory, for one
//! import): a unit the table does not place is looked for in the index as
//! it was committed, among the units holding its three rarest
//! words, and joins the cluster of the unit whose runs it shares by
//! [`NEAR`] or more. So a reprint imported later joins
//! its cluster, and nothing is recomputed for the corpus. A paragraph of
//! fewer than [`MIN_WORDS`] words is clustered with nothing (id 0).
//!
//! A new cluster takes the next number after the largest the index holds,
//! so a rebuild of the same collections gives the same numbers, and small
//! numbers in order pack into a few bits a unit (random 64-bit ids took
//! 8 bytes a unit). Clusters are joined, never merged: a unit that bridges
//! two clusters joins the one it shares most with.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use tantivy::query::{BooleanQuery, EnableScoring, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};

use crate::error::{Error, Result};
use crate::index::open::UnitIndex;
use crate::index::schema::Fields;
use crate::index::stored::{cluster_column, first_units, stored_str};
use crate::model::report::CopyCounts;
use crate::text::analysis;
use crate::text::shingles::{
    jaccard, runs, sketch, word_hashes, NumberHasher, Sketch, BANDS, SLOTS,
};

pub use crate::text::shingles::MIN_WORDS;

/// Share of word runs a unit must have in common with a unit of the
/// index (of all runs either has) to join its cluster.
pub const NEAR: f64 = 0.5;
/// Bands a unit must share with an earlier unit of the same import.
pub const BANDS_SHARED: usize = 2;
/// Share of runs the sketches of a unit and its cluster's first unit must
/// be estimated to have in common for the unit to join.
pub const LIKE: f64 = 0.35;
/// The rarest words of a unit that look for its copies in the index: a
/// copy holds them all.
const LOOKUP_WORDS: usize = 3;
/// Units of the index compared word for word with a new one (each a
/// stored read).
const LOOKUP_CANDIDATES: usize = 3;

/// Assigns copy clusters to the units of one import.
pub struct CopyClusters {
    /// Per band, key -> slot in `ids` (the cluster that first had it).
    /// A table per band, not one for all: tables grow by doubling, and
    /// ten small ones never hold two copies of everything at once (one
    /// table of a corpus's 8 million keys peaked at 150 MB).
    bands: Vec<HashMap<u32, u32, BuildHasherDefault<NumberHasher>>>,
    /// Slot -> cluster id.
    ids: Vec<u64>,
    /// Slot -> the slot's first unit's sketch marks: a unit sharing bands
    /// joins only when its sketch agrees with the first unit's on about
    /// [`LIKE`] of their runs (two bands may agree by chance between
    /// short paragraphs that share a stock phrase).
    marks: Vec<[u8; SLOTS]>,
    /// The index as committed before the import, when it held units.
    earlier: Option<Earlier>,
    /// The number the next new cluster takes.
    next: u64,
    pub counts: CopyCounts,
}

struct Earlier {
    searcher: tantivy::Searcher,
    fields: Fields,
    dir: std::path::PathBuf,
    analyzer: tantivy::tokenizer::TextAnalyzer,
    /// Words looked up so far, and how many units of the index hold them.
    frequencies: HashMap<String, u64>,
}

impl CopyClusters {
    /// Clusters for an import into `index`; with `look_back`, units not
    /// placed within the import are looked for among the units the index
    /// holds now (not for a rebuild, which deletes them).
    pub fn new(index: &UnitIndex, look_back: bool) -> Result<CopyClusters> {
        let mut next = 1;
        let earlier = if look_back {
            let reader = index
                .index
                .reader()
                .map_err(|e| Error::tantivy(&index.dir, e))?;
            let searcher = reader.searcher();
            // Deleted units count too: a number is never given twice while
            // a unit may still hold it.
            for segment in searcher.segment_readers() {
                if let Some(column) = cluster_column(segment) {
                    next = next.max(column.max_value().saturating_add(1));
                }
            }
            (searcher.num_docs() > 0).then(|| Earlier {
                searcher,
                fields: index.fields.clone(),
                dir: index.dir.clone(),
                analyzer: analysis::claim_analyzer(),
                frequencies: HashMap::new(),
            })
        } else {
            None
        };
        Ok(CopyClusters {
            bands: (0..BANDS).map(|_| HashMap::default()).collect(),
            ids: Vec::new(),
            marks: Vec::new(),
            earlier,
            next,
            counts: CopyCounts::default(),
        })
    }

    /// The cluster of a unit with `text` (0: too short to cluster).
    pub fn assign(&mut self, text: &str) -> Result<u64> {
        let words = word_hashes(text);
        let Some(Sketch { keys, marks }) = sketch(&words) else {
            return Ok(0);
        };
        let mine = Sketch { keys, marks };
        self.counts.clustered += 1;
        let mut met: [(u32, usize); BANDS] = [(u32::MAX, 0); BANDS];
        for (band, key) in keys.iter().enumerate() {
            if let Some(&slot) = self.bands[band].get(key) {
                if let Some(entry) = met.iter_mut().find(|(s, n)| *s == slot || *n == 0) {
                    *entry = (slot, entry.1 + 1);
                }
            }
        }
        // The cluster met most often; of equals, the earliest.
        let best = met
            .iter()
            .filter(|(_, n)| *n >= BANDS_SHARED)
            .filter(|&&(slot, _)| {
                let first = Sketch {
                    keys,
                    marks: self.marks[slot as usize],
                };
                mine.likeness(&first) >= LIKE
            })
            .max_by_key(|&&(slot, n)| (n, std::cmp::Reverse(slot)))
            .map(|&(slot, _)| slot);
        let slot = match best {
            Some(slot) => {
                self.counts.joined += 1;
                slot
            }
            None => {
                let id = match self.earlier_cluster(text, &words)? {
                    Some(id) => {
                        self.counts.joined_earlier += 1;
                        id
                    }
                    None => {
                        self.next += 1;
                        self.next - 1
                    }
                };
                self.ids.push(id);
                self.marks.push(marks);
                (self.ids.len() - 1) as u32
            }
        };
        for (band, key) in keys.into_iter().enumerate() {
            self.bands[band].entry(key).or_insert(slot);
        }
        Ok(self.ids[slot as usize])
    }

    /// The cluster of the unit of the index before this import that
    /// carries `text` most nearly, if one does.
    fn earlier_cluster(&mut self, text: &str, words: &[u64]) -> Result<Option<u64>> {
        let Some(earlier) = &mut self.earlier else {
            return Ok(None);
        };
        let err = |e| Error::tantivy(&earlier.dir, e);
        let mut terms: Vec<(u64, Term)> = Vec::new();
        // Function words are never among the rarest: not looked up.
        for t in analysis::terms(&mut earlier.analyzer, text) {
            let term = Term::from_field_text(earlier.fields.text, &t);
            if terms.iter().any(|(_, seen)| *seen == term) {
                continue;
            }
            // An import repeats its words: each is looked up once.
            let df = match earlier.frequencies.get(&t) {
                Some(&df) => df,
                None => {
                    let df = earlier.searcher.doc_freq(&term).map_err(err)?;
                    earlier.frequencies.insert(t, df);
                    df
                }
            };
            if df > 0 {
                terms.push((df, term));
            }
        }
        if terms.is_empty() {
            return Ok(None);
        }
        terms.sort_by_key(|(df, _)| *df);
        terms.truncate(LOOKUP_WORDS);
        // Units holding all three rarest words, in index order: no scores
        // (computing them looked every word up again in every segment),
        // and an intersection led by the rarest word. Forgiving one edited
        // word (two of three, or four of six ranked by score) found a
        // fifth more earlier copies at twice or three times the cost.
        let query = BooleanQuery::intersection(
            terms
                .iter()
                .map(|(_, term)| {
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic));
                    q
                })
                .collect(),
        );
        let weight = query
            .weight(EnableScoring::disabled_from_searcher(&earlier.searcher))
            .map_err(err)?;
        let mut found = Vec::new();
        for (ord, segment) in earlier.searcher.segment_readers().iter().enumerate() {
            let mut scorer = weight.scorer(segment, 1.0).map_err(err)?;
            first_units(&mut *scorer, ord, segment, LOOKUP_CANDIDATES, &mut found);
        }
        let ours = runs(words);
        let mut best: Option<(f64, u64)> = None;
        for addr in found {
            let segment = earlier.searcher.segment_reader(addr.segment_ord);
            let cluster = cluster_column(segment)
                .and_then(|c| c.first(addr.doc_id))
                .unwrap_or(0);
            if cluster == 0 {
                continue;
            }
            let doc: TantivyDocument = earlier.searcher.doc(addr).map_err(err)?;
            let theirs = runs(&word_hashes(
                stored_str(&doc, earlier.fields.text).unwrap_or_default(),
            ));
            let share = jaccard(&ours, &theirs);
            if share >= NEAR && best.is_none_or(|(b, _)| share > b) {
                best = Some((share, cluster));
            }
        }
        Ok(best.map(|(_, cluster)| cluster))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIRE: &str = "The Senate voted on Tuesday to extend the program for another two years, sending the bill to the president, who is expected to sign it this week.";

    fn in_ram() -> UnitIndex {
        let fields = Fields::new();
        let index = tantivy::Index::create_in_ram(fields.schema.clone());
        analysis::register(&index);
        UnitIndex {
            dir: "test-index".into(),
            index,
            fields,
            info: Default::default(),
        }
    }

    #[test]
    fn copies_share_a_cluster_and_others_start_their_own() {
        let index = in_ram();
        let mut c = CopyClusters::new(&index, true).unwrap();
        let first = c.assign(WIRE).unwrap();
        assert_eq!(first, 1);
        assert_eq!(c.assign(&WIRE.to_uppercase()).unwrap(), first);
        let edited = WIRE.replace("this week", "on Friday");
        assert_eq!(c.assign(&edited).unwrap(), first);
        let other = c
            .assign("A storm knocked out power to thousands of homes across the region overnight, and crews expected repairs to take several days.")
            .unwrap();
        assert_ne!(other, first);
        assert_eq!(c.assign("He declined to comment.").unwrap(), 0);
        assert_eq!(
            c.counts,
            CopyCounts {
                clustered: 4,
                joined: 2,
                joined_earlier: 0
            }
        );
    }
}
