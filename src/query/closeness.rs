//! Closeness: among units that hold a query's words, those holding them
//! close together and in order rank higher. Each run of plain words is
//! scored as one phrase, and each pair of neighbouring words side by side,
//! in the paragraph (as Lucene's edismax `pf` and `pf2` do). The clauses
//! only score: [`super::scorers::Checked`] looks at them at the units the
//! query found.

use tantivy::query::{BoostQuery, PhraseQuery, Query};
use tantivy::schema::Field;
use tantivy::Term;

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

/// Scoring for closeness: each run of plain words as one phrase, and
/// each pair of neighbouring words side by side, in the paragraph (as
/// Lucene's edismax `pf` and `pf2` do).
pub fn closeness(node: &Node, text: Field) -> Vec<Q> {
    let phrase = |terms: &[(usize, String)], weight: f32| -> Q {
        let first = terms[0].0;
        let terms = terms
            .iter()
            .map(|(p, t)| (p - first, Term::from_field_text(text, t)))
            .collect();
        Box::new(BoostQuery::new(
            Box::new(PhraseQuery::new_with_offset(terms)),
            weight,
        ))
    };
    let mut out = Vec::new();
    let mut pairs = 0;
    for run in word_runs(node) {
        if run.len() > 2 && run.len() <= MAX_RUN_TERMS {
            out.push(phrase(&run, PHRASE_WEIGHT));
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
            out.push(phrase(pair, weight));
            pairs += 1;
        }
    }
    out
}
