//! Claim tracing: the units of *other* documents that say most nearly what
//! one unit says, with the shared words marked.
//!
//! This is more-like-this: the unit's most distinctive words (term
//! frequency × inverse document frequency, as Lucene's MoreLikeThis picks
//! them; names and numbers weigh more, function words never count) become
//! a weighted disjunction, BM25 ranks the candidates, and a candidate must
//! share a third of those words (at least two), so a long paragraph asks
//! for more in common than a short one. Each hit says how many it shares.
//! It is built here rather than with tantivy's `MoreLikeThisQuery`
//! because a fact-checker needs to see *which* words the units share, and
//! that query does not tell.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use crate::error::{Error, Result};
use crate::search::collector::UnitCollector;
use crate::search::request::{
    check_range, timeout, Filters, DEFAULT_FACET_LIMIT, MAX_SEARCH_LIMIT,
};
use crate::search::response::{Facets, SimilarResponse};
use crate::search::searcher::{left_out, Searcher};
use crate::text::analysis;
use crate::text::snippet::Highlighter;

/// How many of a unit's words describe it.
const MAX_WORDS: usize = 20;
/// Share of those words a similar unit must hold (and at least
/// [`MIN_SHARED`]).
const SHARED: f64 = 0.2;
const MIN_SHARED: usize = 3;
/// How much more a name or a number tells of a claim than another word
/// as rare.
const NAME_WEIGHT: f64 = 1.5;
/// A word in more than this share of units says nothing about a claim.
const MAX_DOC_SHARE: f64 = 0.3;

/// The units of other documents most like unit `id`: at most `limit`
/// (0 to [`MAX_SEARCH_LIMIT`]; 0 counts them without listing any).
pub fn similar(searcher: &Searcher, id: &str, limit: usize) -> Result<SimilarResponse> {
    similar_until(searcher, id, limit, None)
}

/// As [`similar`], stopped with [`crate::error::Error::Timeout`] at `deadline`.
pub fn similar_until(
    searcher: &Searcher,
    id: &str,
    limit: usize,
    deadline: Option<Instant>,
) -> Result<SimilarResponse> {
    let started = Instant::now();
    check_range(
        "limit",
        limit,
        MAX_SEARCH_LIMIT,
        " (0 counts the similar units without listing them)",
    )?;
    let unit = searcher.unit(id)?;
    let reader = searcher.tantivy_searcher();
    let fields = searcher.fields();
    let words = distinctive_words(&reader, fields.text, &unit.text)
        .map_err(|e| Error::tantivy(&searcher.index.dir, e))?;

    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let top = words.first().map_or(1.0, |w| w.weight);
    for w in &words {
        let q = TermQuery::new(
            Term::from_field_text(fields.text, &w.term),
            IndexRecordOption::WithFreqs,
        );
        clauses.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(q), (w.weight / top) as f32)),
        ));
    }
    // Sharing one or two words is chance; a repeated claim shares more,
    // and a longer paragraph's more.
    let minimum = ((words.len() as f64 * SHARED).ceil() as usize)
        .max(MIN_SHARED)
        .min(words.len().max(1));
    clauses.push((
        Occur::MustNot,
        Box::new(TermQuery::new(
            Term::from_field_text(fields.doc_id, &unit.doc_id),
            IndexRecordOption::Basic,
        )),
    ));
    let query = BooleanQuery::with_minimum_required_clauses(clauses, minimum);
    let collector = UnitCollector {
        values: searcher.catalog(&reader)?,
        filters: searcher.resolve(&reader, &Filters::default())?,
        keep: limit,
        count_facets: true,
        facet_limit: DEFAULT_FACET_LIMIT,
        deadline,
        histogram: None,
        collapse: false,
    };
    let gathered = if words.is_empty() {
        Default::default()
    } else {
        searcher.gather(&reader, &query, &collector)?
    };
    if gathered.timed_out {
        return Err(timeout(started));
    }
    let highlighter =
        Highlighter::new(words.iter().map(|w| w.term.clone()).collect::<HashSet<_>>());
    let mut hits = searcher
        .hits_until(&reader, &gathered.top, &highlighter, deadline)?
        .ok_or_else(|| timeout(started))?;
    // How many of the words each hit holds.
    let wanted: HashSet<&str> = words.iter().map(|w| w.term.as_str()).collect();
    let mut analyzer = analysis::claim_analyzer();
    for hit in &mut hits {
        let held: HashSet<String> = analysis::terms(&mut analyzer, &hit.unit.text)
            .into_iter()
            .filter(|t| wanted.contains(t.as_str()))
            .collect();
        hit.shared_words = Some(held.len());
    }
    Ok(SimilarResponse {
        id: id.to_string(),
        unit,
        words: words.into_iter().map(|w| w.word).collect(),
        total_hits: gathered.total,
        took_us: started.elapsed().as_micros() as u64,
        limit,
        hits,
        facets: Facets::from_gathered(gathered.facets),
        facets_left_out: left_out(gathered.left_out),
    })
}

/// A distinctive word of a unit.
struct Word {
    /// As indexed (a stem).
    term: String,
    /// As written in the unit.
    word: String,
    /// tf·idf.
    weight: f64,
}

/// A text's most distinctive words, most telling first.
fn distinctive_words(
    reader: &tantivy::Searcher,
    field: tantivy::schema::Field,
    text: &str,
) -> tantivy::Result<Vec<Word>> {
    // term -> (count, the word as first written)
    let mut tf: HashMap<String, (u32, String)> = HashMap::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut analyzer = analysis::claim_analyzer();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let t = stream.token();
        let written = &text[t.offset_from..t.offset_to];
        if is_name_or_number(written, &text[..t.offset_from]) {
            names.insert(t.text.clone());
        }
        let entry = tf
            .entry(t.text.clone())
            .or_insert_with(|| (0, written.to_lowercase()));
        entry.0 += 1;
    }
    let n = reader.num_docs().max(1) as f64;
    let mut weighted: Vec<Word> = Vec::new();
    for (term, (count, word)) in tf {
        // A failed lookup is an error, not a rare word: reading on would
        // answer from a damaged dictionary.
        let df = reader.doc_freq(&Term::from_field_text(field, &term))? as f64;
        // df 1 is the unit itself: a word nobody else uses finds nothing.
        if df <= 1.0 || df / n > MAX_DOC_SHARE {
            continue;
        }
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        let kind = if names.contains(&term) {
            NAME_WEIGHT
        } else {
            1.0
        };
        weighted.push(Word {
            term,
            word,
            weight: f64::from(count) * idf * kind,
        });
    }
    weighted.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| a.term.cmp(&b.term))
    });
    weighted.truncate(MAX_WORDS);
    Ok(weighted)
}

/// A number, or a name: a capitalised word that does not start a
/// sentence ("Baku" in "ties with Baku", not "Since" in "Since the
/// 1990s"), or an acronym.
fn is_name_or_number(written: &str, before: &str) -> bool {
    if written.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    let letters: Vec<char> = written.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        return true;
    }
    let capital = letters.first().is_some_and(|c| c.is_uppercase());
    let starts_sentence = before
        .trim_end_matches(|c: char| c.is_whitespace() || "\"“‘'([".contains(c))
        .chars()
        .last()
        .is_none_or(|c| ".!?:;•-—".contains(c));
    capital && !starts_sentence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_are_told_from_sentence_starts() {
        assert!(is_name_or_number("Baku", "ties with "));
        assert!(is_name_or_number("1990s", "Since the "));
        assert!(is_name_or_number("NATO", ""));
        assert!(!is_name_or_number("Since", "a secret. "));
        assert!(!is_name_or_number("The", ""));
        assert!(!is_name_or_number("The", "he said: “"));
        assert!(!is_name_or_number("close", "Azerbaijan’s "));
    }
}
