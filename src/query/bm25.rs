//! BM25 with settable `k1` and `b`. tantivy fixes them at 1.2 and 0.75
//! (`tantivy::query::Bm25Weight` keeps them private), which suits news
//! paragraphs; a collection of another shape (long scientific abstracts)
//! may rank better with others, as Lucene's `BM25Similarity(k1, b)` allows.
//! [`TunedTerm`] scores one term with given parameters from the same
//! postings, field norms and statistics tantivy's own term query reads.
//! It is used only when the parameters differ from tantivy's, so the
//! default path keeps tantivy's block-max pruning.

use std::sync::Arc;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SegmentReader, Term, TERMINATED};

/// BM25's two free parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    /// How fast a word's repetitions stop adding (term frequency
    /// saturation).
    pub k1: f32,
    /// How much a long text is discounted against the average (0: not
    /// at all, 1: fully).
    pub b: f32,
}

impl Bm25Params {
    /// tantivy's (and Lucene's) defaults.
    pub const TANTIVY: Bm25Params = Bm25Params { k1: 1.2, b: 0.75 };

    /// Whether these are tantivy's own, so its term query can be used.
    pub fn is_tantivy(&self) -> bool {
        *self == Self::TANTIVY
    }

    /// Checks the parameters' ranges: `k1` ≥ 0 and `b` in [0, 1].
    pub fn checked(k1: f32, b: f32) -> Result<Bm25Params, String> {
        if !(k1.is_finite() && k1 >= 0.0) {
            return Err(format!(
                "BM25 k1 must be a number of 0 or more, not {k1} (tantivy's default: 1.2)"
            ));
        }
        if !(b.is_finite() && (0.0..=1.0).contains(&b)) {
            return Err(format!(
                "BM25 b must be between 0 and 1, not {b} (tantivy's default: 0.75)"
            ));
        }
        Ok(Bm25Params { k1, b })
    }
}

impl Default for Bm25Params {
    fn default() -> Self {
        Self::TANTIVY
    }
}

/// tantivy's idf, so scores agree with its term query when the
/// parameters are the defaults.
fn idf(doc_freq: u64, docs: u64) -> f32 {
    let x = (docs.saturating_sub(doc_freq) as f32 + 0.5) / (doc_freq as f32 + 0.5);
    (1.0 + x).ln()
}

/// One term scored by BM25 with `params`.
#[derive(Debug, Clone)]
pub struct TunedTerm {
    pub term: Term,
    pub params: Bm25Params,
}

impl TunedTerm {
    pub fn new(term: Term, params: Bm25Params) -> TunedTerm {
        TunedTerm { term, params }
    }
}

impl Query for TunedTerm {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let (weight, norms) = match scoring {
            EnableScoring::Enabled {
                statistics_provider: stats,
                ..
            } => {
                let docs = stats.total_num_docs()?.max(1);
                let average = stats.total_num_tokens(self.term.field())? as f32 / docs as f32;
                let weight = idf(stats.doc_freq(&self.term)?, docs) * (1.0 + self.params.k1);
                (
                    weight,
                    norm_table(self.params, average.max(f32::MIN_POSITIVE)),
                )
            }
            EnableScoring::Disabled { .. } => (1.0, Arc::new([1.0; 256])),
        };
        Ok(Box::new(TunedWeight {
            term: self.term.clone(),
            weight,
            norms,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        visitor(&self.term, false);
    }
}

/// BM25's length part, `k1 · (1 − b + b · length / average)`, for each of
/// the 256 field-norm codes a segment stores.
fn norm_table(p: Bm25Params, average: f32) -> Arc<[f32; 256]> {
    let mut table = [0.0; 256];
    for (code, slot) in table.iter_mut().enumerate() {
        let length = FieldNormReader::id_to_fieldnorm(code as u8) as f32;
        *slot = p.k1 * (1.0 - p.b + p.b * length / average);
    }
    Arc::new(table)
}

struct TunedWeight {
    term: Term,
    weight: f32,
    norms: Arc<[f32; 256]>,
}

impl TunedWeight {
    fn scorer_of(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<TunedScorer> {
        let field = self.term.field();
        let postings = reader
            .inverted_index(field)?
            .read_postings(&self.term, IndexRecordOption::WithFreqs)?;
        Ok(TunedScorer {
            postings,
            lengths: reader.get_fieldnorms_reader(field)?,
            weight: self.weight * boost,
            norms: self.norms.clone(),
        })
    }
}

impl Weight for TunedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(self.scorer_of(reader, boost)?))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer_of(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not hold the term"
            )));
        }
        Ok(Explanation::new("BM25 (k1, b set)", scorer.score()))
    }
}

struct TunedScorer {
    /// `None` when the segment lacks the term.
    postings: Option<SegmentPostings>,
    lengths: FieldNormReader,
    weight: f32,
    norms: Arc<[f32; 256]>,
}

impl DocSet for TunedScorer {
    fn advance(&mut self) -> DocId {
        self.postings.as_mut().map_or(TERMINATED, |p| p.advance())
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.postings
            .as_mut()
            .map_or(TERMINATED, |p| p.seek(target))
    }

    fn doc(&self) -> DocId {
        self.postings.as_ref().map_or(TERMINATED, |p| p.doc())
    }

    fn size_hint(&self) -> u32 {
        self.postings.as_ref().map_or(0, |p| p.size_hint())
    }
}

impl Scorer for TunedScorer {
    fn score(&mut self) -> Score {
        let Some(postings) = &self.postings else {
            return 0.0;
        };
        let tf = postings.term_freq() as f32;
        let norm = self.norms[self.lengths.fieldnorm_id(postings.doc()) as usize];
        self.weight * tf / (tf + norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::TopDocs;
    use tantivy::query::TermQuery;
    use tantivy::schema::{Schema, TEXT};
    use tantivy::{doc, Index, IndexWriter};

    fn index() -> (Index, tantivy::schema::Field) {
        let mut builder = Schema::builder();
        let text = builder.add_text_field("text", TEXT);
        let index = Index::create_in_ram(builder.build());
        let mut writer: IndexWriter = index.writer(15_000_000).unwrap();
        for t in [
            "claim claim about vaccines",
            "a long paragraph that mentions the claim once among many other words here",
            "no match",
            "claim",
        ] {
            writer.add_document(doc!(text => t)).unwrap();
        }
        writer.commit().unwrap();
        (index, text)
    }

    fn scores(index: &Index, q: &dyn Query) -> Vec<(u32, f32)> {
        let searcher = index.reader().unwrap().searcher();
        let mut top: Vec<(u32, f32)> = searcher
            .search(q, &TopDocs::with_limit(10).order_by_score())
            .unwrap()
            .into_iter()
            .map(|(s, a)| (a.doc_id, s))
            .collect();
        top.sort_by_key(|(d, _)| *d);
        top
    }

    #[test]
    fn default_parameters_score_as_tantivy_does() {
        let (index, text) = index();
        let term = Term::from_field_text(text, "claim");
        let ours = scores(&index, &TunedTerm::new(term.clone(), Bm25Params::TANTIVY));
        let theirs = scores(&index, &TermQuery::new(term, IndexRecordOption::WithFreqs));
        assert_eq!(ours.len(), 3);
        for ((d1, s1), (d2, s2)) in ours.iter().zip(&theirs) {
            assert_eq!(d1, d2);
            assert!((s1 - s2).abs() < 1e-5, "{s1} against {s2}");
        }
    }

    #[test]
    fn b_zero_ignores_length_and_k1_zero_ignores_repetition() {
        let (index, text) = index();
        let term = Term::from_field_text(text, "claim");
        let flat = scores(
            &index,
            &TunedTerm::new(term.clone(), Bm25Params { k1: 1.2, b: 0.0 }),
        );
        // Once in a long paragraph and once alone score the same.
        assert!((flat[1].1 - flat[2].1).abs() < 1e-6);
        let binary = scores(
            &index,
            &TunedTerm::new(term, Bm25Params { k1: 0.0, b: 0.75 }),
        );
        // Twice and once score the same.
        assert!((binary[0].1 - binary[2].1).abs() < 1e-6);
    }

    #[test]
    fn parameters_out_of_range_are_refused() {
        assert!(Bm25Params::checked(-1.0, 0.5).is_err());
        assert!(Bm25Params::checked(1.0, 1.5).is_err());
        assert!(Bm25Params::checked(f32::NAN, 0.5).is_err());
        assert_eq!(Bm25Params::checked(1.2, 0.75), Ok(Bm25Params::TANTIVY));
    }
}
