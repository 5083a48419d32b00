//! The words an index holds: a text field's term dictionary, read for
//! prefix expansion (`normali*`), fuzzy expansion (`Khanin~1`) and "did you
//! mean" suggestions.
//!
//! tantivy has no prefix query and its fuzzy query cannot tell which terms
//! it matched; expanding here gives the searcher a plain set of terms to
//! score and the highlighter the words to mark.

use std::collections::HashMap;
use std::time::Instant;

use tantivy::query::FuzzyTermQuery;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

use crate::error::{Error, Result};

/// Most terms a prefix or fuzzy word expands to: the most frequent win.
pub const MAX_EXPANSIONS: usize = 128;
/// A prefix or fuzzy word that matches more indexed words than this is
/// too broad (`th*`): the user is asked to narrow it rather than given
/// 128 arbitrary words out of thousands, and the dictionary scan stops
/// here, which bounds its work.
pub const MAX_PATTERN_WORDS: usize = 1_000;

/// The words a pattern matched, or why there are none to give.
#[derive(Debug, Clone, PartialEq)]
pub enum Expansion {
    /// Most frequent first, at most the limit asked for.
    Found(Vec<(String, u64)>),
    /// More than [`MAX_PATTERN_WORDS`] words match.
    TooBroad,
    /// The deadline passed during the scan.
    Stopped,
}

/// Dictionary entries scanned between two looks at the clock (a scan
/// reads millions of entries a second).
const CLOCK_EVERY: usize = 1_024;

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
    pub fn with_prefix(
        &self,
        prefix: &str,
        limit: usize,
        deadline: Option<Instant>,
    ) -> Result<Expansion> {
        let mut found = Found::new(deadline);
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
                if let Some(end) = found.add(stream.key(), stream.value().doc_freq) {
                    return Ok(end);
                }
            }
        }
        Ok(found.most_frequent(limit))
    }

    /// Terms within `distance` edits of `term` (a transposition is one
    /// edit) whose first `fixed` letters are `term`'s, most frequent
    /// first. Suggestions hold the first letter: a typo seldom falls
    /// there, and scanning one letter's part of the dictionary rather than
    /// all of it is about twenty times cheaper (Lucene's spell checker
    /// holds it for the same reason).
    pub fn within(
        &self,
        term: &str,
        distance: u8,
        fixed: usize,
        limit: usize,
        deadline: Option<Instant>,
    ) -> Result<Expansion> {
        let query = FuzzyTermQuery::new(Term::from_field_text(self.field, term), distance, true);
        let start: String = term.chars().take(fixed).collect();
        // The first key after every key that begins with `start` (a UTF-8
        // string's last byte is never 0xFF, so it can be raised by one).
        let past = start.as_bytes().split_last().map(|(last, head)| {
            let mut past = head.to_vec();
            past.push(last.saturating_add(1));
            past
        });
        // Built once for every segment: building it was most of a
        // suggestion's work once the scan was narrowed to a letter.
        let automaton = query.automaton().map_err(|e| Error::Query(e.to_string()))?;
        let mut found = Found::new(deadline);
        for segment in self.searcher.segment_readers() {
            let inverted = segment
                .inverted_index(self.field)
                .map_err(|e| Error::Input(e.to_string()))?;
            let mut scan = inverted.terms().search(&automaton).ge(start.as_bytes());
            if let Some(past) = &past {
                scan = scan.lt(past);
            }
            let mut stream = scan.into_stream().map_err(io)?;
            while stream.advance() {
                if let Some(end) = found.add(stream.key(), stream.value().doc_freq) {
                    return Ok(end);
                }
            }
        }
        Ok(found.most_frequent(limit))
    }
}

/// Terms found so far, summed over segments, with the scan's bounds.
struct Found {
    terms: HashMap<Vec<u8>, u64>,
    scanned: usize,
    deadline: Option<Instant>,
}

impl Found {
    fn new(deadline: Option<Instant>) -> Found {
        Found {
            terms: HashMap::new(),
            scanned: 0,
            deadline,
        }
    }

    /// Adds a term; Some when the scan must end (too broad, or stopped).
    fn add(&mut self, term: &[u8], doc_freq: u32) -> Option<Expansion> {
        self.scanned += 1;
        if self.scanned.is_multiple_of(CLOCK_EVERY)
            && self.deadline.is_some_and(|d| Instant::now() >= d)
        {
            return Some(Expansion::Stopped);
        }
        if doc_freq == 0 {
            return None;
        }
        match self.terms.get_mut(term) {
            Some(n) => *n += u64::from(doc_freq),
            None => {
                if self.terms.len() >= MAX_PATTERN_WORDS {
                    return Some(Expansion::TooBroad);
                }
                self.terms.insert(term.to_vec(), u64::from(doc_freq));
            }
        }
        None
    }

    fn most_frequent(self, limit: usize) -> Expansion {
        let mut v: Vec<(String, u64)> = self
            .terms
            .into_iter()
            .map(|(t, n)| (String::from_utf8_lossy(&t).into_owned(), n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(limit);
        Expansion::Found(v)
    }
}
