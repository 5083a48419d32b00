//! The words an index holds: a text field's term dictionary, read for
//! prefix expansion (`normali*`), fuzzy expansion (`Khanin~1`) and "did you
//! mean" suggestions.
//!
//! tantivy has no prefix query and its fuzzy query cannot tell which terms
//! it matched; expanding here gives the searcher a plain set of terms to
//! score and the highlighter the words to mark.

use std::collections::HashMap;

use tantivy::query::FuzzyTermQuery;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

use crate::error::{Error, Result};

/// Most terms a prefix or fuzzy word expands to: the most frequent win.
pub const MAX_EXPANSIONS: usize = 128;

/// A text field's terms across every segment of one searcher.
pub struct Lexicon<'a> {
    searcher: &'a Searcher,
    field: Field,
}

fn io(e: std::io::Error) -> Error {
    Error::Io {
        context: "reading the term dictionary".into(),
        source: e,
    }
}

impl<'a> Lexicon<'a> {
    pub fn new(searcher: &'a Searcher, field: Field) -> Lexicon<'a> {
        Lexicon { searcher, field }
    }

    /// In how many units the term occurs (deleted units included until
    /// their segment is merged, as BM25 itself counts them).
    pub fn doc_freq(&self, term: &str) -> u64 {
        self.searcher
            .doc_freq(&Term::from_field_text(self.field, term))
            .unwrap_or(0)
    }

    /// Terms that start with `prefix`, most frequent first.
    pub fn with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<(String, u64)>> {
        let mut found: HashMap<String, u64> = HashMap::new();
        for segment in self.searcher.segment_readers() {
            let inverted = segment
                .inverted_index(self.field)
                .map_err(|e| Error::Input(e.to_string()))?;
            let mut stream = inverted
                .terms()
                .range()
                .ge(prefix.as_bytes())
                .into_stream()
                .map_err(io)?;
            while stream.advance() {
                if !stream.key().starts_with(prefix.as_bytes()) {
                    break;
                }
                let term = String::from_utf8_lossy(stream.key()).into_owned();
                *found.entry(term).or_default() += u64::from(stream.value().doc_freq);
            }
        }
        Ok(most_frequent(found, limit))
    }

    /// Terms within `distance` edits of `term` (a transposition is one
    /// edit), most frequent first.
    pub fn within(&self, term: &str, distance: u8, limit: usize) -> Result<Vec<(String, u64)>> {
        let query = FuzzyTermQuery::new(Term::from_field_text(self.field, term), distance, true);
        let mut found: HashMap<String, u64> = HashMap::new();
        for segment in self.searcher.segment_readers() {
            let automaton = query.automaton().map_err(|e| Error::Query(e.to_string()))?;
            let inverted = segment
                .inverted_index(self.field)
                .map_err(|e| Error::Input(e.to_string()))?;
            let mut stream = inverted
                .terms()
                .search(automaton)
                .into_stream()
                .map_err(io)?;
            while stream.advance() {
                let term = String::from_utf8_lossy(stream.key()).into_owned();
                *found.entry(term).or_default() += u64::from(stream.value().doc_freq);
            }
        }
        Ok(most_frequent(found, limit))
    }
}

fn most_frequent(found: HashMap<String, u64>, limit: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = found.into_iter().filter(|(_, n)| *n > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(limit);
    v
}
