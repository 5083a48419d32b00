//! "Did you mean": for a query word that no unit contains, the closest
//! words the index does hold, found with a Levenshtein automaton over the
//! term dictionary and shown as they are written in the text.

use std::time::Instant;

use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};
use unicode_segmentation::UnicodeSegmentation;

use crate::index::schema::Fields;
use crate::index::stored::first_units;
use crate::index::stored_str;
use crate::query::lexicon::{Expansion, Lexicon};
use crate::query::Missing;
use crate::text::analysis;
use crate::text::names;

/// Most alternatives offered.
const MAX_SUGGESTIONS: usize = 3;
/// Most missing words corrected in one query: each costs a few dictionary
/// scans and stored-text reads (about a millisecond), and a query of
/// hundreds of unknown words is no typo.
const MAX_CORRECTED: usize = 8;

/// Whole corrected queries, best first: every missing word replaced by its
/// closest indexed word, then alternatives for the first missing word.
pub fn suggestions(
    searcher: &tantivy::Searcher,
    fields: &Fields,
    query: &str,
    missing: &[Missing],
) -> Vec<String> {
    suggestions_until(searcher, fields, query, missing, None)
}

/// As [`suggestions`], giving up (with what it has) at `deadline`.
pub fn suggestions_until(
    searcher: &tantivy::Searcher,
    fields: &Fields,
    query: &str,
    missing: &[Missing],
    deadline: Option<Instant>,
) -> Vec<String> {
    let lex = Lexicon::new(searcher, fields.text);
    let chars: Vec<char> = query.chars().collect();
    // Per missing word: its corrections, best first.
    let mut corrections: Vec<(&Missing, Vec<String>)> = Vec::new();
    for m in missing.iter().take(MAX_CORRECTED) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let typed: String = chars[m.span.0.min(chars.len())..m.span.1.min(chars.len())]
            .iter()
            .collect();
        let words = closest_words(searcher, fields, &lex, &m.term, &typed, deadline);
        if !words.is_empty() {
            corrections.push((m, words));
        }
    }
    let Some(first) = corrections.first() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for alternative in 0..first.1.len().min(MAX_SUGGESTIONS) {
        let mut fixed = chars.clone();
        // Replace from the end so earlier spans stay valid.
        for (i, (m, words)) in corrections.iter().enumerate().rev() {
            let pick = if i == 0 { alternative } else { 0 };
            let replacement: Vec<char> = words[pick].chars().collect();
            fixed.splice(m.span.0..m.span.1.min(fixed.len()), replacement);
        }
        let s: String = fixed.into_iter().collect();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Indexed words near a typed word, as written in the text, best first
/// (fewest edits from what was typed, then most frequent).
fn closest_words(
    searcher: &tantivy::Searcher,
    fields: &Fields,
    lex: &Lexicon,
    term: &str,
    typed: &str,
    deadline: Option<Instant>,
) -> Vec<String> {
    let len = term.chars().count();
    if len < 3 || term.chars().all(|c| c.is_ascii_digit()) {
        return Vec::new();
    }
    let max_edits = if len <= 5 { 1 } else { 2 };
    // The index holds stems, and a stem can be several letters shorter
    // than the word ("exploraton" is 4 edits from "explor"): look near the
    // word and near its beginnings, then judge candidates by the words
    // they stand for.
    let found = |e: crate::error::Result<Expansion>| match e {
        Ok(Expansion::Found(v)) => v,
        _ => Vec::new(),
    };
    let mut candidates: Vec<(String, u64)> = found(lex.within(term, max_edits, 1, 32, deadline));
    let chars: Vec<char> = term.chars().collect();
    for keep in len.saturating_sub(4).max(4)..len {
        let beginning: String = chars[..keep].iter().collect();
        candidates.extend(found(lex.within(&beginning, 1, 1, 16, deadline)));
    }
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    candidates.dedup_by(|a, b| a.0 == b.0);
    let typed_key = names::key(typed);
    let mut ranked: Vec<(usize, u64, String)> = Vec::new();
    for (t, df) in candidates.into_iter().filter(|(t, _)| t != term).take(40) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if let Some(word) = surface(searcher, fields, &t, &typed_key) {
            let edits = strsim::damerau_levenshtein(&typed_key, &names::key(&word));
            if edits > 0 && edits <= usize::from(max_edits) && !ranked.iter().any(|r| r.2 == word) {
                ranked.push((edits, df, word));
            }
        }
    }
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let lower = typed.chars().all(|c| !c.is_uppercase());
    ranked
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, _, w)| if lower { w.to_lowercase() } else { w })
        .collect()
}

/// The index holds stems ("explor"); a user wants a word ("exploration").
/// Reads a few units that hold the term and takes, of the words there
/// that analyse to it, the one closest to what was typed.
fn surface(
    searcher: &tantivy::Searcher,
    fields: &Fields,
    term: &str,
    typed_key: &str,
) -> Option<String> {
    // The first units of the term's postings: no scoring, and no search
    // handed to the worker threads (forty of those made a query of two
    // unknown words take 18 ms). Several units, since one may hold only
    // another form ("impeached" where "impeachment" was meant).
    const UNITS: usize = 3;
    let key = Term::from_field_text(fields.text, term);
    let mut units = Vec::with_capacity(UNITS);
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let Some(mut postings) = segment
            .inverted_index(fields.text)
            .ok()
            .and_then(|inverted| inverted.read_postings(&key, IndexRecordOption::Basic).ok())
            .flatten()
        else {
            continue;
        };
        first_units(&mut postings, ord, segment, UNITS, &mut units);
        if units.len() == UNITS {
            break;
        }
    }
    let mut analyzer = analysis::text_analyzer();
    let mut name = analysis::name_analyzer();
    // Stemming keeps a word's first letter: words that start otherwise
    // (in ASCII) are not analysed at all.
    let first = term.chars().next()?;
    let may_be = |w: &str| {
        w.chars()
            .next()
            .is_some_and(|c| !c.is_ascii() || c.to_ascii_lowercase() == first)
    };
    let mut best: Option<(usize, String)> = None;
    for addr in units {
        let Ok(doc) = searcher.doc::<TantivyDocument>(addr) else {
            continue;
        };
        let Some(text) = stored_str(&doc, fields.text) else {
            continue;
        };
        for w in text.unicode_words().filter(|w| may_be(w)) {
            if analysis::terms(&mut analyzer, w) != [term] {
                continue;
            }
            let edits =
                strsim::damerau_levenshtein(typed_key, &analysis::terms(&mut name, w).join(" "));
            if best.as_ref().is_none_or(|(e, _)| edits < *e) {
                best = Some((edits, w.to_string()));
            }
        }
    }
    best.map(|(_, w)| w)
}
