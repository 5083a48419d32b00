//! Query wrappers that tantivy does not have: [`Guarded`] keeps an
//! exclusion answerable, [`Counted`] adds a fixed credit to a clause's
//! score so that a relaxed query ranks units by how many of its words they
//! hold before BM25, and [`Checked`] looks at clauses only at the units
//! other clauses found rather than searching for them; [`Either`] is a
//! small union that jumps without clearing a window.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};

use super::closeness::ClosenessBound;
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
        any_of_explained(
            &self.weights,
            reader,
            doc,
            "any of, checked at the unit",
            self.scored,
        )
    }
}

/// The explanation of a unit's score under any of `weights`: the
/// clauses that match it, summed (or counted as nothing when not
/// `scored`); an error when none does.
fn any_of_explained(
    weights: &[Box<dyn Weight>],
    reader: &SegmentReader,
    doc: DocId,
    what: &'static str,
    scored: bool,
) -> tantivy::Result<Explanation> {
    let parts: Vec<Explanation> = weights
        .iter()
        .filter_map(|w| w.explain(reader, doc).ok())
        .collect();
    if parts.is_empty() {
        return Err(tantivy::TantivyError::InvalidArgument(format!(
            "unit {doc} matches none of the clauses"
        )));
    }
    let total = if scored {
        parts.iter().map(Explanation::value).sum()
    } else {
        0.0
    };
    let mut e = Explanation::new(what, total);
    for p in parts {
        e.add_detail(p);
    }
    Ok(e)
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

/// Any of a few clauses (a word in the paragraph or in its title): the
/// sum of the scores of those that match, as a boolean query of optional
/// clauses gives, without its buffered union. That union scores a window
/// of 4,096 units at a time and clears it on every far jump, so inside an
/// intersection of rare words, which jumps from unit to far unit, most of
/// a query's time went to clearing windows; here a jump moves each clause
/// straight to the unit.
#[derive(Debug)]
pub struct Either(pub Vec<Q>);

impl Clone for Either {
    fn clone(&self) -> Self {
        Either(self.0.iter().map(|q| q.box_clone()).collect())
    }
}

impl Query for Either {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights = self
            .0
            .iter()
            .map(|q| q.weight(scoring))
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(EitherWeight(weights)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for q in &self.0 {
            q.query_terms(visitor);
        }
    }
}

struct EitherWeight(Vec<Box<dyn Weight>>);

impl Weight for EitherWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut clauses = Vec::with_capacity(self.0.len());
        for w in &self.0 {
            let s = w.scorer(reader, boost)?;
            if s.doc() != TERMINATED {
                clauses.push(s);
            }
        }
        if clauses.len() <= 1 {
            return Ok(clauses
                .pop()
                .unwrap_or_else(|| Box::new(tantivy::query::EmptyScorer)));
        }
        let docs: Vec<DocId> = clauses.iter().map(|c| c.doc()).collect();
        let doc = docs.iter().copied().min().unwrap_or(TERMINATED);
        Ok(Box::new(EitherScorer {
            clauses,
            docs,
            doc,
            units: reader.max_doc(),
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        any_of_explained(&self.0, reader, doc, "any of", true)
    }
}

struct EitherScorer {
    clauses: Vec<Box<dyn Scorer>>,
    /// Where each clause stands (kept here: one call fewer per clause
    /// and unit).
    docs: Vec<DocId>,
    doc: DocId,
    /// The segment's units, for the size estimate.
    units: u32,
}

impl EitherScorer {
    fn settle(&mut self) -> DocId {
        self.doc = self.docs.iter().copied().min().unwrap_or(TERMINATED);
        self.doc
    }
}

impl DocSet for EitherScorer {
    fn advance(&mut self) -> DocId {
        let doc = self.doc;
        for (c, at) in self.clauses.iter_mut().zip(&mut self.docs) {
            if *at == doc {
                *at = c.advance();
            }
        }
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for (c, at) in self.clauses.iter_mut().zip(&mut self.docs) {
            if *at < target {
                *at = c.seek(target);
            }
        }
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    /// Estimated as tantivy's union estimates it (clauses that overlap a
    /// little more than at random).
    fn size_hint(&self) -> u32 {
        let units = f64::from(self.units.max(1));
        let outside = self.clauses.iter().fold(1.0, |p, c| {
            p * (1.0 - f64::from(c.size_hint()) / units * 0.8)
        });
        (units * (1.0 - outside)).round().min(units) as u32
    }

    /// As tantivy's union costs it, so an intersection orders its
    /// clauses, and so adds their scores, as before.
    fn cost(&self) -> u64 {
        self.clauses.iter().map(|c| c.cost()).sum()
    }
}

impl Scorer for EitherScorer {
    /// Summed in clause order, as a boolean query sums its optional
    /// clauses (the same score to the last bit).
    fn score(&mut self) -> Score {
        let doc = self.doc;
        let mut score = 0.0;
        for (c, &at) in self.clauses.iter_mut().zip(&self.docs) {
            if at == doc {
                score += c.score();
            }
        }
        score
    }
}

/// A query and a bonus that only raises its units' scores (closeness),
/// checked only at units that could reach the page with it: the
/// collector tells the scorer the score a unit must beat
/// ([`BonusScorer::must_beat`]), and a unit whose score without the bonus
/// stays under it even with the most the bonus can add is scored without
/// it. Such a
/// unit cannot be on the page, so hits, order and scores on the page are
/// the same; what is saved is the closeness phrases' position checks at
/// units that never show (most of a broad query's).
#[derive(Debug)]
pub struct WithBonus {
    pub main: Q,
    pub bonus: Q,
    /// The most the bonus adds to a unit's score.
    pub bound: ClosenessBound,
}

impl Clone for WithBonus {
    fn clone(&self) -> Self {
        WithBonus {
            main: self.main.box_clone(),
            bonus: self.bonus.box_clone(),
            bound: self.bound,
        }
    }
}

impl Query for WithBonus {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(WithBonusWeight {
            main: self.main.weight(scoring)?,
            bonus: self.bonus.weight(scoring)?,
            bound: self.bound,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.main.query_terms(visitor);
        self.bonus.query_terms(visitor);
    }
}

struct WithBonusWeight {
    main: Box<dyn Weight>,
    bonus: Box<dyn Weight>,
    bound: ClosenessBound,
}

impl Weight for WithBonusWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(BonusScorer {
            main: self.main.scorer(reader, boost)?,
            bonus: self.bonus.scorer(reader, boost)?,
            bound: ClosenessBound {
                most: self.bound.most * boost,
                ..self.bound
            },
            must_beat: Score::NEG_INFINITY,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let main = self.main.explain(reader, doc)?;
        let bonus = self.bonus.explain(reader, doc).ok();
        let total = main.value() + bonus.as_ref().map_or(0.0, Explanation::value);
        let mut e = Explanation::new("a match, and its bonus", total);
        e.add_detail(main);
        if let Some(bonus) = bonus {
            e.add_detail(bonus);
        }
        Ok(e)
    }
}

/// The scorer of [`WithBonus`]: its units are the main query's.
pub struct BonusScorer {
    main: Box<dyn Scorer>,
    bonus: Box<dyn Scorer>,
    bound: ClosenessBound,
    must_beat: Score,
}

impl BonusScorer {
    /// From now on, units that cannot score above `score` even with the
    /// bonus are scored without it (their score stays under `score`).
    pub fn must_beat(&mut self, score: Score) {
        self.must_beat = score;
    }
}

impl DocSet for BonusScorer {
    fn advance(&mut self) -> DocId {
        self.main.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.main.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        self.main.seek_danger(target)
    }

    fn doc(&self) -> DocId {
        self.main.doc()
    }

    fn size_hint(&self) -> u32 {
        self.main.size_hint()
    }

    fn cost(&self) -> u64 {
        self.main.cost()
    }
}

impl Scorer for BonusScorer {
    /// The main score plus the bonus where it applies, added as a boolean
    /// query adds an optional clause (the same score to the last bit).
    fn score(&mut self) -> Score {
        let score = self.main.score();
        if score + self.bound.at(score) < self.must_beat {
            return score;
        }
        let doc = self.main.doc();
        if self.bonus.doc() <= doc && self.bonus.seek(doc) == doc {
            score + self.bonus.score()
        } else {
            score
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::TopDocs;
    use tantivy::query::{BooleanQuery, BoostQuery, Occur, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, TEXT};
    use tantivy::{doc, Index, IndexWriter};

    /// `Either` finds the units a boolean query of optional clauses finds,
    /// with the same scores to the last bit, alone and inside an
    /// intersection (where it is jumped through).
    #[test]
    fn either_scores_as_optional_clauses_do() {
        let mut schema = Schema::builder();
        let text = schema.add_text_field("text", TEXT);
        let title = schema.add_text_field("title", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer(15_000_000).unwrap();
        for i in 0..3_000u32 {
            let body = match i % 7 {
                0 => "oil pipeline from baku",
                1 => "the pipeline and the oil",
                2 => "gas from the caspian",
                _ => "nothing to see here",
            };
            let head = if i % 5 == 0 { "oil deal" } else { "news" };
            let rare = if i % 97 == 0 { " rare" } else { "" };
            writer
                .add_document(doc!(text => format!("{body}{rare}"), title => head))
                .unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let term = |f, w: &str| -> Q {
            Box::new(TermQuery::new(
                Term::from_field_text(f, w),
                IndexRecordOption::WithFreqs,
            ))
        };
        let word = |w: &str| -> Vec<Q> {
            vec![
                term(text, w),
                Box::new(BoostQuery::new(term(title, w), 0.5)),
            ]
        };
        let boolean = |w: &str| -> Q {
            Box::new(BooleanQuery::new(
                word(w).into_iter().map(|q| (Occur::Should, q)).collect(),
            ))
        };
        let either = |w: &str| -> Q { Box::new(Either(word(w))) };
        let top = |q: &dyn Query| {
            searcher
                .search(q, &TopDocs::with_limit(5_000).order_by_score())
                .unwrap()
        };
        for w in ["oil", "pipeline", "rare"] {
            let (a, b) = (top(&*boolean(w)), top(&*either(w)));
            assert!(!a.is_empty(), "{w}");
            assert_eq!(a, b, "{w}");
        }
        let both = |make: &dyn Fn(&str) -> Q| -> Q {
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, make("rare")),
                (Occur::Must, make("oil")),
            ]))
        };
        let (a, b) = (top(&*both(&boolean)), top(&*both(&either)));
        assert!(!a.is_empty());
        assert_eq!(a, b);
    }

    /// The bonus is skipped only where it cannot matter: a unit is scored
    /// in full whenever its full score could beat the mark, and otherwise
    /// stays under the mark; the bound is never below a real bonus.
    #[test]
    fn a_bonus_is_skipped_only_where_it_cannot_reach_the_page() {
        use crate::query::closeness::{closeness, closeness_bound};
        use crate::query::parse::parse;
        use crate::text::analysis;

        let mut schema = Schema::builder();
        let opts = tantivy::schema::TextOptions::default().set_indexing_options(
            tantivy::schema::TextFieldIndexing::default()
                .set_tokenizer(analysis::TEXT_ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let text = schema.add_text_field("text", opts);
        let index = Index::create_in_ram(schema.build());
        analysis::register(&index);
        let mut writer: IndexWriter = index.writer(15_000_000).unwrap();
        for i in 0..2_000u32 {
            let body = match i % 5 {
                0 => "the oil pipeline runs from Baku to the sea",
                1 => "pipeline politics: oil, gas and the sea",
                2 => "oil pipeline oil pipeline oil pipeline",
                3 => "a pipeline for oil",
                _ => "gas only",
            };
            let filler = "and then more words about other things entirely ".repeat(8);
            let body = if i % 10 == 3 {
                format!("oil {filler} pipeline")
            } else {
                body.to_string()
            };
            writer.add_document(doc!(text => body)).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let node = parse("oil pipeline").unwrap().unwrap();
        let word = |w: &str| -> Q {
            Box::new(TermQuery::new(
                Term::from_field_text(text, w),
                IndexRecordOption::WithFreqs,
            ))
        };
        let query = WithBonus {
            main: Box::new(BooleanQuery::new(vec![
                (Occur::Must, word("oil")),
                (Occur::Must, word("pipelin")),
            ])),
            bonus: Box::new(Checked {
                clauses: closeness(&node, text),
                scored: true,
            }),
            bound: closeness_bound(&node, text, &searcher),
        };
        let weight = query
            .weight(EnableScoring::enabled_from_searcher(&searcher))
            .unwrap();
        let reader = searcher.segment_reader(0);
        let scores = |mark: Option<Score>| {
            let mut scorer = weight.scorer(reader, 1.0).unwrap();
            if let Some(mark) = mark {
                scorer
                    .downcast_mut::<BonusScorer>()
                    .unwrap()
                    .must_beat(mark);
            }
            let mut out = Vec::new();
            while scorer.doc() != TERMINATED {
                out.push((scorer.doc(), scorer.score()));
                scorer.advance();
            }
            out
        };
        let full = scores(None);
        assert_eq!(full.len(), 1_600);
        let mains: Vec<Score> = {
            let w = query
                .main
                .weight(EnableScoring::enabled_from_searcher(&searcher))
                .unwrap();
            let mut s = w.scorer(reader, 1.0).unwrap();
            let mut v = Vec::new();
            while s.doc() != TERMINATED {
                v.push(s.score());
                s.advance();
            }
            v
        };
        let most_bonus = full
            .iter()
            .zip(&mains)
            .map(|((_, f), m)| f - m)
            .fold(0.0, Score::max);
        assert!(most_bonus > 0.0);
        assert!(
            query.bound.most >= most_bonus,
            "{:?} < {most_bonus}",
            query.bound
        );
        for ((_, f), m) in full.iter().zip(&mains) {
            assert!(
                query.bound.at(*m) >= f - m,
                "{:?}: {m} + {}",
                query.bound,
                f - m
            );
        }
        // Marks among the units' scores: some skipped, none wrongly.
        let mut sorted: Vec<Score> = full.iter().map(|&(_, s)| s).collect();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let mut skipped = 0;
        for mark in [sorted[0], sorted[100], sorted[800]] {
            let marked = scores(Some(mark));
            for ((doc, f), (doc2, m)) in full.iter().zip(&marked) {
                assert_eq!(doc, doc2);
                if *f >= mark {
                    assert_eq!(f.to_bits(), m.to_bits(), "unit {doc}");
                } else {
                    assert!(*m < mark, "unit {doc}");
                    skipped += usize::from(f != m);
                }
            }
        }
        assert!(skipped > 0, "the bonus was never skipped");
    }
}
