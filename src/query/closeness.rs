//! Closeness: among units that hold a query's words, those holding them
//! close together and in order rank higher. Each run of plain words is
//! scored as one phrase, and each pair of neighbouring words side by side,
//! in the paragraph (as Lucene's edismax `pf` and `pf2` do). The clauses
//! only score: [`super::scorers::Checked`] looks at them at the units the
//! query found.

use tantivy::query::{Bm25StatisticsProvider, BoostQuery, PhraseQuery, Query};
use tantivy::schema::Field;
use tantivy::{Score, Term};

use super::parse::{Node, Sign};
use crate::text::analysis;

type Q = Box<dyn Query>;

/// How much a unit holding the query's plain words as one contiguous run,
/// in order, gains: its BM25 for that run, times this.
pub const PHRASE_WEIGHT: f32 = 1.0;
/// How much each pair of the query's neighbouring words standing side by
/// side in a unit gains.
pub const PAIR_WEIGHT: f32 = 0.3;
/// Most neighbouring-word pairs scored for closeness (a pasted paragraph
/// is scored on its first ones).
const MAX_PAIRS: usize = 16;
/// Longest run of words scored as one phrase.
const MAX_RUN_TERMS: usize = 32;

/// The runs of plain words in the query, in order, as analysed terms with
/// their positions: a phrase, a pattern, a scope or an exclusion ends a
/// run.
fn word_runs(node: &Node) -> Vec<Vec<(usize, String)>> {
    let clauses: Vec<(Sign, &Node)> = match node {
        Node::All(c) => c.iter().map(|(s, n)| (*s, n)).collect(),
        n @ Node::Word { .. } => vec![(Sign::Plain, n)],
        _ => Vec::new(),
    };
    let mut runs = vec![Vec::new()];
    for (sign, n) in clauses {
        match n {
            Node::Word {
                text,
                prefix: false,
                fuzzy: None,
                ..
            } if sign != Sign::Excluded => {
                let run = runs.last_mut().expect("a run");
                let base = run.last().map_or(0, |(p, _): &(usize, String)| p + 1);
                for (p, t) in analysis::terms_with_positions(&mut analysis::text_analyzer(), text) {
                    run.push((base + p, t));
                }
            }
            _ => runs.push(Vec::new()),
        }
    }
    runs.retain(|r| r.len() > 1);
    runs
}

/// The closeness phrases: each run's terms with their positions, and
/// the weight of the phrase.
fn phrases(node: &Node) -> Vec<(Vec<(usize, String)>, f32)> {
    let mut out = Vec::new();
    let mut pairs = 0;
    for run in word_runs(node) {
        if run.len() > 2 && run.len() <= MAX_RUN_TERMS {
            out.push((run.clone(), PHRASE_WEIGHT));
        }
        for pair in run.windows(2) {
            if pairs == MAX_PAIRS {
                break;
            }
            let weight = if run.len() == 2 {
                PHRASE_WEIGHT
            } else {
                PAIR_WEIGHT
            };
            out.push((pair.to_vec(), weight));
            pairs += 1;
        }
    }
    out
}

/// Scoring for closeness: each run of plain words as one phrase, and
/// each pair of neighbouring words side by side, in the paragraph (as
/// Lucene's edismax `pf` and `pf2` do).
pub fn closeness(node: &Node, text: Field) -> Vec<Q> {
    phrases(node)
        .into_iter()
        .map(|(terms, weight)| {
            let first = terms[0].0;
            let terms = terms
                .iter()
                .map(|(p, t)| (p - first, Term::from_field_text(text, t)))
                .collect();
            Box::new(BoostQuery::new(
                Box::new(PhraseQuery::new_with_offset(terms)),
                weight,
            )) as Q
        })
        .collect()
}

/// How much closeness can add to a unit's score, at most.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosenessBound {
    /// To any unit: a phrase's BM25 stays under its weight times `1 + k1`
    /// times the sum of its words' idf (tantivy's BM25 for a phrase).
    pub most: Score,
    /// Per point of the unit's score without closeness: a phrase occurs
    /// no more often than its rarest-in-the-unit word, and BM25 grows
    /// with the count alike for both (same field, same length), so a
    /// phrase scores at most its weight times what its words score in the
    /// paragraph, which the unit's score holds (a word repeated in the
    /// phrase counted as often as it stands there).
    pub per_score: Score,
}

impl ClosenessBound {
    /// No bound known: closeness is checked everywhere.
    pub const NONE: ClosenessBound = ClosenessBound {
        most: Score::INFINITY,
        per_score: Score::INFINITY,
    };

    /// The most closeness adds to a unit that scores `score` without it.
    pub fn at(&self, score: Score) -> Score {
        self.most.min(self.per_score * score)
    }
}

/// The bounds of closeness (units whose score without closeness cannot
/// reach the page even with this much are not checked for it:
/// `super::scorers::WithBonus`).
pub fn closeness_bound(
    node: &Node,
    text: Field,
    stats: &dyn Bm25StatisticsProvider,
) -> ClosenessBound {
    // tantivy's BM25 constants and idf, in f64 with a margin over f32's
    // rounding: the bound must never be below a real score.
    const K1: f64 = 1.2;
    let Ok(units) = stats.total_num_docs() else {
        return ClosenessBound::NONE;
    };
    let idf = |term: &str| -> Option<f64> {
        let n = stats.doc_freq(&Term::from_field_text(text, term)).ok()?;
        let x = (units.saturating_sub(n) as f64 + 0.5) / (n as f64 + 0.5);
        Some((1.0 + x).ln())
    };
    let (mut most, mut per_score) = (0.0, 0.0);
    for (terms, weight) in phrases(node) {
        let mut words: Vec<&str> = terms.iter().map(|(_, t)| t.as_str()).collect();
        let Some(all) = words.iter().map(|t| idf(t)).sum::<Option<f64>>() else {
            return ClosenessBound::NONE;
        };
        words.sort_unstable();
        words.dedup();
        let Some(distinct) = words.iter().map(|t| idf(t)).sum::<Option<f64>>() else {
            return ClosenessBound::NONE;
        };
        most += f64::from(weight) * (1.0 + K1) * all;
        per_score += f64::from(weight) * all / distinct.max(f64::MIN_POSITIVE);
    }
    ClosenessBound {
        most: (most * 1.001 + 1e-3) as Score,
        per_score: (per_score * 1.001 + 1e-4) as Score,
    }
}
