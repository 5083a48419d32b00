//! Query wrappers that tantivy does not have: [`Guarded`] keeps an
//! exclusion answerable, [`Counted`] adds a fixed credit to a clause's
//! score so that a relaxed query ranks units by how many of its words they
//! hold before BM25, and [`Checked`] looks at clauses only at the units
//! other clauses found rather than searching for them.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, Term, TERMINATED};

type Q = Box<dyn Query>;

/// A query whose scorer may be asked about a document it has already
/// passed. tantivy 0.27's phrase scorer asserts against that when it sits
/// under `-` and has run out of matches (`-"1 author"` next to an empty
/// phrase); exclusions are wrapped in this so any query stays answerable.
#[derive(Debug)]
pub struct Guarded(pub Q);

impl Clone for Guarded {
    fn clone(&self) -> Self {
        Guarded(self.0.box_clone())
    }
}

impl Query for Guarded {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(GuardedWeight(self.0.weight(scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor);
    }
}

struct GuardedWeight(Box<dyn Weight>);

impl Weight for GuardedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(GuardedScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

struct GuardedScorer(Box<dyn Scorer>);

impl DocSet for GuardedScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.0.doc();
        if doc >= target {
            doc
        } else {
            self.0.seek(target)
        }
    }

    // `seek_danger` keeps DocSet's default, which checks `doc()` first.

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }
}

impl Scorer for GuardedScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}

/// What a clause of a relaxed query adds when it matches, beside its BM25:
/// more than any BM25 sum, so units holding more of the query's words
/// rank first, and a unit's count of words is its score divided by this.
pub const WORD_CREDIT: Score = 10_000.0;

/// A clause whose score is its own plus [`WORD_CREDIT`].
#[derive(Debug)]
pub struct Counted(pub Q);

impl Clone for Counted {
    fn clone(&self) -> Self {
        Counted(self.0.box_clone())
    }
}

impl Query for Counted {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(CountedWeight(self.0.weight(scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor);
    }
}

struct CountedWeight(Box<dyn Weight>);

impl Weight for CountedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(CountedScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let inner = self.0.explain(reader, doc)?;
        let mut e = Explanation::new("a word held, plus its score", inner.value() + WORD_CREDIT);
        e.add_detail(inner);
        Ok(e)
    }
}

struct CountedScorer(Box<dyn Scorer>);

impl DocSet for CountedScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.0.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        self.0.seek_danger(target)
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }
}

impl Scorer for CountedScorer {
    fn score(&mut self) -> Score {
        self.0.score() + WORD_CREDIT
    }
}

/// Any of some clauses, checked only at the units other clauses of a
/// boolean query found, never searched for. tantivy moves an optional
/// clause through every unit it matches, and re-reads a union's postings
/// window by window when asked about far apart units; for the closeness
/// phrases ("of the" is in most paragraphs, and a phrase checks positions
/// all the way) and for the words of a long query that is most of the
/// work. Checked at a unit, each clause skips straight to it.
///
/// As a required clause it must never lead an intersection: it says how
/// much it costs as "everything".
#[derive(Debug)]
pub struct Checked {
    pub clauses: Vec<Q>,
    /// Whether the clauses' scores count (false: a filter).
    pub scored: bool,
}

impl Clone for Checked {
    fn clone(&self) -> Self {
        Checked {
            clauses: self.clauses.iter().map(|q| q.box_clone()).collect(),
            scored: self.scored,
        }
    }
}

impl Query for Checked {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights = self
            .clauses
            .iter()
            .map(|q| q.weight(scoring))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(CheckedWeight {
            weights,
            scored: self.scored,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for q in &self.clauses {
            q.query_terms(visitor);
        }
    }
}

struct CheckedWeight {
    weights: Vec<Box<dyn Weight>>,
    scored: bool,
}

impl Weight for CheckedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut parts = Vec::with_capacity(self.weights.len());
        for w in &self.weights {
            let scorer = w.scorer(reader, boost)?;
            let known = scorer.doc();
            parts.push(Part {
                scorer,
                known,
                valid: true,
            });
        }
        Ok(Box::new(CheckedScorer {
            parts,
            scored: self.scored,
            doc: 0,
            score: 0.0,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let parts: Vec<Explanation> = self
            .weights
            .iter()
            .filter_map(|w| w.explain(reader, doc).ok())
            .collect();
        if parts.is_empty() {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} matches none of the clauses"
            )));
        }
        let total = if self.scored {
            parts.iter().map(|p| p.value()).sum()
        } else {
            0.0
        };
        let mut e = Explanation::new("any of, checked at the unit", total);
        for p in parts {
            e.add_detail(p);
        }
        Ok(e)
    }
}

/// One clause: its scorer and the first unit it may match.
struct Part {
    scorer: Box<dyn Scorer>,
    /// No match before this unit.
    known: DocId,
    /// Whether the scorer sits on `known` (it may be left between units
    /// after a failed check).
    valid: bool,
}

struct CheckedScorer {
    parts: Vec<Part>,
    scored: bool,
    /// The unit last asked about, or a lower bound of the next match.
    doc: DocId,
    score: Score,
}

impl DocSet for CheckedScorer {
    /// Never driven on its own (only asked about units): moving on is
    /// asking about the next unit.
    fn advance(&mut self) -> DocId {
        self.seek(self.doc.saturating_add(1))
    }

    /// The unit if a clause matches it, else a unit before which none
    /// does (not necessarily a match: the scorer is only ever asked).
    fn seek(&mut self, target: DocId) -> DocId {
        let mut score = 0.0;
        let mut next = TERMINATED;
        let mut found = false;
        for p in &mut self.parts {
            let at_target = if p.known > target {
                false
            } else if p.known == target && p.valid {
                true
            } else {
                match p.scorer.seek_danger(target) {
                    SeekDangerResult::Found => {
                        p.known = target;
                        p.valid = true;
                        true
                    }
                    SeekDangerResult::SeekLowerBound(bound) => {
                        p.known = bound;
                        p.valid = false;
                        false
                    }
                }
            };
            if at_target {
                if self.scored {
                    score += p.scorer.score();
                }
                found = true;
            } else {
                next = next.min(p.known);
            }
        }
        self.score = score;
        self.doc = if found { target } else { next };
        self.doc
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        if target >= TERMINATED {
            return SeekDangerResult::SeekLowerBound(TERMINATED);
        }
        match self.seek(target) {
            doc if doc == target => SeekDangerResult::Found,
            bound => SeekDangerResult::SeekLowerBound(bound),
        }
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        u32::MAX
    }

    fn cost(&self) -> u64 {
        u64::MAX
    }
}

impl Scorer for CheckedScorer {
    fn score(&mut self) -> Score {
        self.score
    }
}
