//! "Did you mean": for a query word that no unit contains, the closest
//! words the index does hold, found with a Levenshtein automaton over the
//! term dictionary and shown as they are written in the text.

use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};
use unicode_segmentation::UnicodeSegmentation;

use crate::analysis;
use crate::index::stored_str;
use crate::lexicon::Lexicon;
use crate::query::Missing;
use crate::schema::Fields;

/// Most alternatives offered.
const MAX_SUGGESTIONS: usize = 3;

/// Whole corrected queries, best first: every missing word replaced by its
/// closest indexed word, then alternatives for the first missing word.
pub fn suggestions(
    searcher: &tantivy::Searcher,
    fields: &Fields,
    query: &str,
    missing: &[Missing],
) -> Vec<String> {
    let lex = Lexicon::new(searcher, fields.text);
    let chars: Vec<char> = query.chars().collect();
    // Per missing word: its corrections, best first.
    let mut corrections: Vec<(&Missing, Vec<String>)> = Vec::new();
    for m in missing {
        let typed: String = chars[m.span.0..m.span.1.min(chars.len())].iter().collect();
        let words = closest_words(searcher, fields, &lex, &m.term, &typed);
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

/// Indexed words near a term, as written in the text, best first (fewest
/// edits, then most frequent).
fn closest_words(
    searcher: &tantivy::Searcher,
    fields: &Fields,
    lex: &Lexicon,
    term: &str,
    typed: &str,
) -> Vec<String> {
    let len = term.chars().count();
    if len < 3 || term.chars().all(|c| c.is_ascii_digit()) {
        return Vec::new();
    }
    let distance = if len <= 5 { 1 } else { 2 };
    let Ok(found) = lex.within(term, distance, 32) else {
        return Vec::new();
    };
    let mut ranked: Vec<(usize, u64, String)> = found
        .into_iter()
        .filter(|(t, _)| t != term)
        .map(|(t, df)| (strsim::damerau_levenshtein(term, &t), df, t))
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut words = Vec::new();
    for (_, _, t) in ranked {
        if let Some(w) = surface(searcher, fields, &t, typed) {
            if !words.contains(&w) {
                words.push(w);
            }
        }
        if words.len() == MAX_SUGGESTIONS {
            break;
        }
    }
    words
}

/// The index holds stems ("normal"); a user wants a word ("normalization").
/// Reads one unit that holds the term and takes the word it came from.
fn surface(
    searcher: &tantivy::Searcher,
    fields: &Fields,
    term: &str,
    typed: &str,
) -> Option<String> {
    let query = TermQuery::new(
        Term::from_field_text(fields.text, term),
        IndexRecordOption::Basic,
    );
    let top = searcher
        .search(&query, &TopDocs::with_limit(1).order_by_score())
        .ok()?;
    let (_, addr) = top.first()?;
    let doc: TantivyDocument = searcher.doc(*addr).ok()?;
    let text = stored_str(&doc, fields.text)?;
    let mut analyzer = analysis::text_analyzer();
    let word = text
        .unicode_words()
        .find(|w| analysis::terms(&mut analyzer, w) == [term])?;
    // Keep the user's lower case; otherwise the text's spelling.
    if typed.chars().all(|c| !c.is_uppercase()) {
        Some(word.to_lowercase())
    } else {
        Some(word.to_string())
    }
}
