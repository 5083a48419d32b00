//! Who said it first, and who copied it: every unit of the archive that
//! carries a paragraph (or a quote), verbatim or nearly, in order of
//! publication, with what each near copy changed against the earliest.
//!
//! Candidates are found through the index: units holding most of the
//! paragraph's rarest words. Each is then compared word for word, after
//! normalisation (case, punctuation and spacing do not count), on runs of
//! [`SHINGLE`] words: a unit carries a paragraph when the two share at
//! least [`NEAR`] of their runs (Jaccard), or when it holds at least
//! [`CARRIES`] of the paragraph's runs (a paragraph merged into a longer
//! one). A unit carries a quote when the passage of it that shares the
//! quote's runs keeps [`CARRIES`] of the quote's words in order (a
//! sentence inside a longer paragraph counts; so does one word in ten
//! changed).

use std::collections::HashSet;
use std::time::Instant;

use serde::Serialize;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use crate::error::{Error, Result};
use crate::model::date::{date_precision, date_span};
use crate::model::UnitView;
use crate::search::collector::UnitCollector;
use crate::search::request::{timeout, Filters};
use crate::search::searcher::Searcher;
use crate::text::analysis;
use crate::text::shingles::{jaccard, run_hashes, runs, shared_runs, word_hashes};

/// Words compared together: a copy must keep runs of three words in order
/// (the runs copy clusters are made of).
pub const SHINGLE: usize = crate::text::shingles::RUN;
/// Share of word runs two paragraphs must have in common (of all runs
/// either has) to be copies of each other.
pub const NEAR: f64 = 0.5;
/// Share of a paragraph's (or a quote's) word runs another unit must hold
/// to carry it.
pub const CARRIES: f64 = 0.8;
/// Share of a quote's word runs a unit must hold to be compared with it
/// word for word.
const QUOTE_RUNS: f64 = 0.4;
/// Fewest words a paragraph or a quote must have to be traced: shorter
/// ones ("Advertisement", a dateline, "He declined to comment.") repeat
/// by chance.
pub const MIN_WORDS: usize = 6;
/// Units looked at; a paragraph reprinted more often than this is traced
/// through its best-matching copies.
const MAX_CANDIDATES: usize = 500;
/// The rarest words that find candidates.
const MAX_TERMS: usize = 40;
/// A word in more than this share of units does not help find a copy
/// (and reading its postings is most of a trace's time): left out of
/// the candidate search, not of the comparison.
const MAX_TERM_SHARE: f64 = 0.02;
/// Fewest words the candidate search keeps, however common: an edit often
/// changes a paragraph's rarest words, so a few must not decide alone.
const MIN_TERMS: usize = 8;
/// A paragraph with fewer telling words than [`MIN_TERMS`], whose words'
/// postings hold more than [`LONG_POSTINGS`] entries together: its rarest
/// words a candidate must hold.
const REQUIRED_WHEN_COMMON: usize = 2;
const LONG_POSTINGS: u64 = 100_000;

/// What to trace.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceRequest {
    /// A unit by id: every unit carrying its paragraph.
    Unit(String),
    /// A quote: every unit carrying it, verbatim or nearly.
    Text(String),
}

/// One unit that carries the paragraph or quote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceCopy {
    #[serde(flatten)]
    pub unit: UnitView,
    /// The unit traced (`trace UNIT_ID`).
    pub source: bool,
    /// The same words, in the same order, after normalisation.
    pub verbatim: bool,
    /// Share of word runs in common (paragraphs: of all runs either has;
    /// a quote: of the quote's).
    pub similarity: f64,
    /// `day`, `month`, `year` or `undated`: how precise `published` is.
    pub date_precision: &'static str,
    /// The earliest copy: the first known appearance.
    pub first: bool,
    /// Dated too coarsely to say it came after the first (a month-only
    /// date that may be earlier).
    pub may_be_earlier: bool,
    /// What this copy changed against the first: runs of words removed
    /// and added, in order (empty for verbatim copies and the first).
    pub changes: Vec<WordChange>,
}

/// A run of words a copy removed from, or added to, the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordChange {
    /// `removed` or `added`.
    pub change: &'static str,
    pub words: String,
}

/// `trace --json` prints exactly this.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceResponse {
    /// The unit traced, or the quote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// "N copies in M outlets, first in OUTLET on DATE".
    pub summary: String,
    pub outlets: usize,
    /// In order of publication (by the last day a date may mean), the
    /// undated last.
    pub copies: Vec<TraceCopy>,
    pub took_us: u64,
}

/// A text as the words compared: lower case, letters and digits only.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The words of a paragraph from the first to the last run it shares
/// with a quote: where the paragraph carries it.
/// (`wanted`: the quote's runs, sorted, as `shingles::runs` gives them.)
fn passage<'a>(theirs: &'a [String], wanted: &[u64]) -> &'a [String] {
    let in_order = run_hashes(&word_hashes(&theirs.join(" ")));
    let shared: Vec<usize> = in_order
        .iter()
        .enumerate()
        .take(theirs.len().saturating_sub(SHINGLE - 1))
        .filter(|(_, run)| wanted.binary_search(run).is_ok())
        .map(|(i, _)| i)
        .collect();
    // Widened by a run on each side: an edit near the quote's ends breaks
    // the runs there, and the passage must still hold the words around it.
    match (shared.first(), shared.last()) {
        (Some(&a), Some(&b)) => {
            &theirs[a.saturating_sub(SHINGLE)..(b + 2 * SHINGLE).min(theirs.len())]
        }
        _ => theirs,
    }
}

/// A date as a reader should take it: `2019-10 (month only)`.
pub fn honest_date(published: Option<&str>) -> String {
    match (published, date_precision(published)) {
        (Some(d), "month") => format!("{d} (month only)"),
        (Some(d), "year") => format!("{d} (year only)"),
        (Some(d), _) => d.to_string(),
        (None, _) => "undated".to_string(),
    }
}

/// Traces a unit's paragraph or a quote through the archive.
pub fn trace(
    searcher: &Searcher,
    request: &TraceRequest,
    deadline: Option<Instant>,
) -> Result<TraceResponse> {
    let started = Instant::now();
    let (text, source) = match request {
        TraceRequest::Unit(id) => {
            let unit = searcher.unit(id)?;
            (unit.text.clone(), Some(unit))
        }
        TraceRequest::Text(quote) => (quote.clone(), None),
    };
    let quoted = words(&text);
    if quoted.len() < MIN_WORDS {
        let what = if source.is_some() {
            "the paragraph"
        } else {
            "the quote"
        };
        return Err(Error::Query(format!(
            "{what} has {} words: at least {MIN_WORDS} are needed to tell a copy from a chance repeat",
            quoted.len()
        )));
    }
    let reader = searcher.tantivy_searcher();
    let fields = searcher.fields();

    // Candidates: units holding most of the text's rarest words.
    let mut seen = HashSet::new();
    let mut terms: Vec<(u64, Term)> = Vec::new();
    for t in analysis::terms(&mut analysis::text_analyzer(), &text) {
        if !seen.insert(t.clone()) {
            continue;
        }
        let term = Term::from_field_text(fields.text, &t);
        let df = reader
            .doc_freq(&term)
            .map_err(|e| Error::tantivy(&searcher.index.dir, e))?;
        if df > 0 {
            terms.push((df, term));
        }
    }
    terms.sort_by_key(|(df, _)| *df);
    let units_in_index = reader.num_docs().max(1) as f64;
    let telling = terms
        .iter()
        .filter(|(df, _)| *df as f64 / units_in_index <= MAX_TERM_SHARE)
        .count();
    terms.truncate(telling.clamp(MIN_TERMS, MAX_TERMS));
    let share = if source.is_some() { 0.6 } else { 0.8 };
    let minimum = ((terms.len() as f64 * share).ceil() as usize).max(1);
    // A paragraph of common words ("This is about country, our country")
    // had to take common words to have enough: when their postings are
    // long, its two rarest are required, so the search skips along them
    // instead of reading every common word's postings (55 ms on AllSides,
    // now 8). A small index reads little either way, and keeps every
    // word optional (an edit may change a rare word).
    let postings: u64 = terms.iter().map(|(df, _)| df).sum();
    let required = if telling < MIN_TERMS && postings > LONG_POSTINGS {
        REQUIRED_WHEN_COMMON.min(minimum)
    } else {
        0
    };
    let clauses: Vec<(Occur, Box<dyn Query>)> = terms
        .into_iter()
        .enumerate()
        .map(|(i, (_, term))| {
            let q: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
            let occur = if i < required {
                Occur::Must
            } else {
                Occur::Should
            };
            (occur, q)
        })
        .collect();
    let minimum = minimum - required;
    let found = if clauses.is_empty() {
        Vec::new()
    } else {
        let query = BooleanQuery::with_minimum_required_clauses(clauses, minimum);
        // Every kind: a reprint is a reprint wherever it sits.
        let every_kind = Filters::every_kind();
        let collector = UnitCollector {
            values: searcher.catalog(&reader)?,
            filters: searcher.resolve(&reader, &every_kind)?,
            keep: MAX_CANDIDATES,
            count_facets: false,
            facet_limit: 0,
            deadline,
            histogram: None,
            collapse: false,
        };
        let gathered = searcher.gather(&reader, &query, &collector)?;
        if gathered.timed_out {
            return Err(timeout(started));
        }
        gathered.top
    };

    // Each candidate compared word for word.
    let wanted = runs(&word_hashes(&text));
    let mut units = searcher.unit_reader(&reader);
    let mut copies: Vec<TraceCopy> = Vec::new();
    for (i, &(_, addr)) in found.iter().enumerate() {
        if i % 64 == 63 && deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(timeout(started));
        }
        let unit = units.read(addr)?;
        let theirs = words(&unit.text);
        let held = runs(&word_hashes(&unit.text));
        let common = shared_runs(&wanted, &held) as f64;
        let contained = common / wanted.len() as f64;
        let (carries, similarity, verbatim) = match &source {
            Some(_) => {
                let jaccard = jaccard(&wanted, &held);
                (
                    jaccard >= NEAR || contained >= CARRIES,
                    jaccard,
                    theirs == quoted,
                )
            }
            // A quote: the passage holding most of its runs, compared word
            // for word (one changed word in ten is a near quote, though it
            // breaks three of its runs).
            None if contained < QUOTE_RUNS => (false, contained, false),
            None => {
                let passage = passage(&theirs, &wanted);
                let kept = kept_words(&quoted, passage) as f64 / quoted.len() as f64;
                (
                    kept >= CARRIES,
                    kept,
                    theirs.windows(quoted.len()).any(|w| w == quoted.as_slice()),
                )
            }
        };
        if !carries {
            continue;
        }
        copies.push(TraceCopy {
            source: source.as_ref().is_some_and(|s| s.id == unit.id),
            verbatim,
            similarity: (similarity * 1000.0).round() / 1000.0,
            date_precision: date_precision(unit.published.as_deref()),
            first: false,
            may_be_earlier: false,
            changes: Vec::new(),
            unit,
        });
    }
    // The unit traced is always among its copies, whatever the index
    // found first.
    if let Some(unit) = source {
        if !copies.iter().any(|c| c.source) {
            copies.push(TraceCopy {
                source: true,
                verbatim: true,
                similarity: 1.0,
                date_precision: date_precision(unit.published.as_deref()),
                first: false,
                may_be_earlier: false,
                changes: Vec::new(),
                unit,
            });
        }
    }

    // In order of publication: by the last day a date may mean (a
    // month-only date is known by the month's end), undated last.
    let span = |c: &TraceCopy| c.unit.published.as_deref().and_then(date_span);
    copies.sort_by(|a, b| {
        let key = |c: &TraceCopy| span(c).map_or((u64::MAX, u64::MAX), |(f, t)| (t, f));
        key(a)
            .cmp(&key(b))
            .then_with(|| a.unit.outlet.cmp(&b.unit.outlet))
            .then_with(|| a.unit.id.cmp(&b.unit.id))
    });
    if let Some(first_by) = copies.first().and_then(span).map(|(_, to)| to) {
        copies[0].first = true;
        for c in copies.iter_mut().skip(1) {
            // A coarser date that begins before the first's last day may
            // be the earlier one: said, not decided.
            c.may_be_earlier = span(c).is_some_and(|(from, _)| from < first_by);
        }
    }
    match request {
        // A paragraph: what each copy changed against the first, on the
        // texts as written.
        TraceRequest::Unit(_) => {
            if let Some(first) = copies.first().map(|c| c.unit.text.clone()) {
                let first_words = words(&first);
                for c in copies.iter_mut().skip(1) {
                    if words(&c.unit.text) != first_words {
                        c.changes = changes(&first, &c.unit.text);
                    }
                }
            }
        }
        // A quote: what each near copy's passage changed against the
        // quote (normalised words: the passage sits inside other text).
        TraceRequest::Text(_) => {
            let quote = quoted.join(" ");
            for c in copies.iter_mut().filter(|c| !c.verbatim) {
                let theirs = words(&c.unit.text);
                let aligned = aligned(&quoted, passage(&theirs, &wanted));
                c.changes = changes(&quote, &aligned.join(" "));
            }
        }
    }
    let outlets = copies
        .iter()
        .map(|c| c.unit.outlet.as_str())
        .collect::<HashSet<_>>()
        .len();
    let summary = summary(&copies, outlets);
    let (id, text) = match request {
        TraceRequest::Unit(id) => (Some(id.clone()), None),
        TraceRequest::Text(t) => (None, Some(t.clone())),
    };
    Ok(TraceResponse {
        id,
        text,
        summary,
        outlets,
        copies,
        took_us: started.elapsed().as_micros() as u64,
    })
}

fn summary(copies: &[TraceCopy], outlets: usize) -> String {
    let Some(first) = copies.first() else {
        return "No unit carries it.".into();
    };
    let n = copies.len();
    let mut s = format!(
        "{n} {} in {outlets} {}, first in {} on {}",
        if n == 1 { "copy" } else { "copies" },
        if outlets == 1 { "outlet" } else { "outlets" },
        first.unit.outlet,
        honest_date(first.unit.published.as_deref())
    );
    let unsure: Vec<String> = copies
        .iter()
        .filter(|c| c.may_be_earlier)
        .map(|c| {
            format!(
                "{}, {}",
                c.unit.outlet,
                honest_date(c.unit.published.as_deref())
            )
        })
        .collect();
    if !unsure.is_empty() {
        s.push_str(&format!(" (may be earlier: {})", unsure.join("; ")));
    }
    s
}

/// The part of `passage` that stands for `quote`: from its first word
/// kept to its last, widened by as many words as the quote has before its
/// first kept word and after its last (words replaced at the ends). The
/// rest of the widened passage is context, not a change.
fn aligned<'a>(quote: &[String], passage: &'a [String]) -> &'a [String] {
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, quote, passage);
    let kept: Vec<(usize, usize, usize)> = ops
        .iter()
        .filter_map(|op| match op {
            similar::DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => Some((*old_index, *new_index, *len)),
            _ => None,
        })
        .collect();
    let (Some(&(old_a, new_a, _)), Some(&(old_b, new_b, len_b))) = (kept.first(), kept.last())
    else {
        return passage;
    };
    let start = new_a.saturating_sub(old_a);
    let end = (new_b + len_b + (quote.len() - (old_b + len_b))).min(passage.len());
    &passage[start..end.max(start)]
}

/// How many of `quote`'s words `passage` keeps, in order.
fn kept_words(quote: &[String], passage: &[String]) -> usize {
    similar::capture_diff_slices(similar::Algorithm::Myers, quote, passage)
        .iter()
        .map(|op| match op {
            similar::DiffOp::Equal { len, .. } => *len,
            _ => 0,
        })
        .sum()
}

/// The runs of words `copy` removed from `first` and added to it, in
/// order; `similar`'s word diff (Myers), on the texts as written.
fn changes(first: &str, copy: &str) -> Vec<WordChange> {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::from_words(first, copy);
    let mut out: Vec<WordChange> = Vec::new();
    for change in diff.iter_all_changes() {
        let kind = match change.tag() {
            ChangeTag::Equal => {
                // A run ends at an unchanged word (spaces alone do not end it).
                if !change.value().trim().is_empty() {
                    out.push(WordChange {
                        change: "",
                        words: String::new(),
                    });
                }
                continue;
            }
            ChangeTag::Delete => "removed",
            ChangeTag::Insert => "added",
        };
        match out.last_mut() {
            Some(last) if last.change == kind => last.words.push_str(change.value()),
            _ => out.push(WordChange {
                change: kind,
                words: change.value().to_string(),
            }),
        }
    }
    out.into_iter()
        .filter(|c| !c.change.is_empty())
        .map(|c| WordChange {
            words: c.words.split_whitespace().collect::<Vec<_>>().join(" "),
            ..c
        })
        .filter(|c| !c.words.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_ignore_case_punctuation_and_spacing() {
        assert_eq!(
            words("The  Senate, on Tuesday—passed it."),
            ["the", "senate", "on", "tuesday", "passed", "it"]
        );
        let a = runs(&word_hashes("one two three four"));
        let b = runs(&word_hashes("ONE two, three  four!"));
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn changes_are_runs_of_removed_and_added_words() {
        let c = changes(
            "The minister said on Tuesday that talks would resume.",
            "The minister said Wednesday that talks would resume soon.",
        );
        let kinds: Vec<(&str, &str)> = c.iter().map(|c| (c.change, c.words.as_str())).collect();
        assert_eq!(
            kinds,
            [
                ("removed", "on Tuesday"),
                ("added", "Wednesday"),
                ("removed", "resume."),
                ("added", "resume soon.")
            ]
        );
        assert!(changes("same words here", "same words here").is_empty());
    }

    #[test]
    fn dates_say_how_precise_they_are() {
        assert_eq!(honest_date(Some("2019-10")), "2019-10 (month only)");
        assert_eq!(honest_date(Some("2019")), "2019 (year only)");
        assert_eq!(honest_date(Some("2019-10-03")), "2019-10-03");
        assert_eq!(honest_date(None), "undated");
    }
}
