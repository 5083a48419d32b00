//! Snippets: the best passage of a unit with the query's words marked.
//!
//! Written here rather than taken from tantivy's `SnippetGenerator`
//! because that one cuts its window mid-sentence, marks nothing for prefix
//! or fuzzy queries, and can only learn the query's words from the query
//! itself. Here the searcher says which index terms matched (including
//! expanded prefixes), the unit text is re-analysed with the same analyzer
//! so marks land on the original words, and the window is snapped to
//! sentence boundaries.

use std::collections::HashSet;
use std::ops::Range;

use serde::Serialize;
use tantivy::tokenizer::TextAnalyzer;
use unicode_segmentation::UnicodeSegmentation;

use super::analysis;

/// A passage with the matched words marked. In JSON it also carries
/// `highlights_chars`, the same ranges counted in characters.
#[derive(Debug, Clone, PartialEq)]
pub struct Snippet {
    pub text: String,
    /// `[start, end)` byte offsets into `text`.
    pub highlights: Vec<[usize; 2]>,
    /// `text`, HTML-escaped, with `<mark>` around the highlights.
    pub html: String,
}

impl Snippet {
    /// The highlights as `[start, end)` offsets in characters (Unicode
    /// scalar values, as Python and Rust count them) rather than bytes.
    pub fn highlights_chars(&self) -> Vec<[usize; 2]> {
        let chars_before = |byte: usize| {
            self.text
                .char_indices()
                .take_while(|&(i, _)| i < byte)
                .count()
        };
        self.highlights
            .iter()
            .map(|&[a, b]| [chars_before(a), chars_before(b)])
            .collect()
    }
}

impl Serialize for Snippet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Snippet", 4)?;
        s.serialize_field("text", &self.text)?;
        s.serialize_field("highlights", &self.highlights)?;
        s.serialize_field("highlights_chars", &self.highlights_chars())?;
        s.serialize_field("html", &self.html)?;
        s.end()
    }
}

/// Longest snippet unless a highlighter is told otherwise, in bytes.
pub const SNIPPET_BYTES: usize = 320;

/// Marks the words of a running text that analyse to one of a set of
/// terms (the index's text analysis).
#[derive(Clone)]
pub struct Highlighter {
    /// The text's words, folded, and the stemmer
    /// ([`analysis::text_analyzer_steps`]).
    words: TextAnalyzer,
    stem: TextAnalyzer,
    terms: HashSet<String>,
    /// The terms' first letters. English stemming keeps a word's first
    /// letter, so a word that starts with none of them cannot match and
    /// is not stemmed.
    firsts: Vec<char>,
    /// Longest snippet, in bytes (a single long sentence is cut to it).
    pub max_bytes: usize,
}

impl Highlighter {
    pub fn new(terms: HashSet<String>) -> Highlighter {
        let (words, stem) = analysis::text_analyzer_steps();
        let mut firsts: Vec<char> = terms.iter().filter_map(|t| t.chars().next()).collect();
        firsts.sort_unstable();
        firsts.dedup();
        Highlighter {
            words,
            stem,
            terms,
            firsts,
            max_bytes: SNIPPET_BYTES,
        }
    }

    /// Byte ranges of the matching words in `text`.
    ///
    /// Finding words by Unicode's rules is most of marking a paragraph,
    /// so a plain word that cannot match is passed over without them: a
    /// run of ASCII letters between ASCII white space (or the text's ends)
    /// is always one word by those rules, and if its first letter starts
    /// no query term, it is no match. The rest of the text is read, a
    /// stretch between such words at a time, as the whole text would be
    /// (Unicode's word boundaries never join across white space).
    pub fn matches(&self, text: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        if self.terms.is_empty() {
            return out;
        }
        let bytes = text.as_bytes();
        let passed_over = |chunk: &[u8]| {
            chunk.iter().all(u8::is_ascii_alphabetic)
                && self
                    .firsts
                    .binary_search(&char::from(chunk[0].to_ascii_lowercase()))
                    .is_err()
        };
        // Cloned once a text (a clone allocates the analyzer's chain).
        let mut analyzers = (self.words.clone(), self.stem.clone());
        let mut stretch: Option<usize> = None;
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at].is_ascii_whitespace() {
                at += 1;
                continue;
            }
            let start = at;
            while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            if passed_over(&bytes[start..at]) {
                if let Some(from) = stretch.take() {
                    self.mark(&mut analyzers, text, from..start, &mut out);
                }
            } else if stretch.is_none() {
                stretch = Some(start);
            }
        }
        if let Some(from) = stretch {
            self.mark(&mut analyzers, text, from..text.len(), &mut out);
        }
        out
    }

    /// Marks the matching words of `text[within]`.
    fn mark(
        &self,
        (words, stem): &mut (TextAnalyzer, TextAnalyzer),
        text: &str,
        within: Range<usize>,
        out: &mut Vec<Range<usize>>,
    ) {
        let shift = within.start;
        let mut stream = words.token_stream(&text[within]);
        while let Some(token) = stream.next() {
            // (A word that starts with other than a letter or digit, such
            // as an apostrophe, may lose it in stemming: always stemmed.)
            let first = token.text.chars().next();
            let may_match = first.is_some_and(|c| {
                !c.is_ascii_alphanumeric() || self.firsts.binary_search(&c).is_ok()
            });
            if !may_match {
                continue;
            }
            let mut stemmed = stem.token_stream(&token.text);
            if stemmed.next().is_some_and(|t| self.terms.contains(&t.text)) {
                out.push(token.offset_from + shift..token.offset_to + shift);
            }
        }
    }

    /// The best passage of `text`: the run of whole sentences, at most
    /// `max_bytes` long, with the most marked words (the earliest on a
    /// tie); a text that fits is returned whole.
    pub fn snippet(&self, text: &str) -> Snippet {
        snippet_with_marks(text, &self.matches(text), self.max_bytes)
    }
}

/// The best passage of `text` at most `max_bytes` long, given the byte
/// ranges of its marked words (found here, or by a search cluster's
/// highlighter): the window [`Highlighter::snippet`] chooses.
pub fn snippet_with_marks(text: &str, marks: &[Range<usize>], max_bytes: usize) -> Snippet {
    let window = best_window(text, marks, max_bytes);
    let mut snippet_text = String::new();
    let lead = window.start > 0;
    if lead {
        snippet_text.push_str("… ");
    }
    let shift = snippet_text.len();
    snippet_text.push_str(&text[window.clone()]);
    if window.end < text.trim_end().len() {
        snippet_text.push_str(" …");
    }
    let highlights: Vec<[usize; 2]> = marks
        .iter()
        .filter(|m| m.start >= window.start && m.end <= window.end)
        .map(|m| [m.start - window.start + shift, m.end - window.start + shift])
        .collect();
    let html = to_html(&snippet_text, &highlights);
    Snippet {
        text: snippet_text,
        highlights,
        html,
    }
}

/// Chooses the byte range of the snippet.
fn best_window(text: &str, marks: &[Range<usize>], max: usize) -> Range<usize> {
    let text_trimmed_end = text.trim_end().len();
    if text_trimmed_end <= max {
        return 0..text_trimmed_end;
    }
    let sentences: Vec<Range<usize>> = text
        .split_sentence_bound_indices()
        .map(|(i, s)| i..i + s.trim_end().len())
        .filter(|r| !r.is_empty())
        .collect();
    let count = |r: &Range<usize>| {
        marks
            .iter()
            .filter(|m| m.start >= r.start && m.end <= r.end)
            .count()
    };
    let mut best: Option<(usize, Range<usize>)> = None;
    for i in 0..sentences.len() {
        let mut end = sentences[i].end;
        if end - sentences[i].start > max {
            continue;
        }
        for s in &sentences[i + 1..] {
            if s.end - sentences[i].start > max {
                break;
            }
            end = s.end;
        }
        let r = sentences[i].start..end;
        let n = count(&r);
        if best.as_ref().is_none_or(|(b, _)| n > *b) {
            best = Some((n, r));
        }
    }
    // Prefer a window of whole sentences unless a long sentence holds more
    // of the marks than any such window.
    let first_mark = marks.first().map_or(0, |m| m.start);
    let cut = cut_around(text, first_mark, max);
    match best {
        Some((n, r)) if n >= count(&cut) => r,
        _ => cut,
    }
}

/// A window of about `max` bytes starting a little before `at`, cut at
/// word boundaries.
fn cut_around(text: &str, at: usize, max: usize) -> Range<usize> {
    let mut start = at.saturating_sub(max / 4);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    if start > 0 {
        // Move to the start of the next word.
        if let Some(p) = text[start..].find(char::is_whitespace) {
            if start + p < at {
                start += p + 1;
            }
        }
    }
    let mut end = (start + max).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        if let Some(p) = text[start..end].rfind(char::is_whitespace) {
            if start + p > at {
                end = start + p;
            }
        }
    }
    start..end
}

/// Escapes text for HTML and wraps the highlight ranges in `<mark>`.
pub fn to_html(text: &str, highlights: &[[usize; 2]]) -> String {
    let mut out = String::with_capacity(text.len() + highlights.len() * 13);
    let mut at = 0;
    for &[s, e] in highlights {
        if s < at || e > text.len() {
            continue;
        }
        escape_into(&text[at..s], &mut out);
        out.push_str("<mark>");
        escape_into(&text[s..e], &mut out);
        out.push_str("</mark>");
        at = e;
    }
    escape_into(&text[at..], &mut out);
    out
}

/// HTML-escapes `s` (text and attribute safe).
pub fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::analysis::{terms, text_analyzer};

    fn highlighter(words: &str) -> Highlighter {
        Highlighter::new(terms(&mut text_analyzer(), words).into_iter().collect())
    }

    /// Words passed over unread are never ones the whole text's reading
    /// would mark, and the rest are marked where it marks them.
    #[test]
    fn passing_over_plain_words_marks_what_reading_everything_does() {
        let texts = [
            "Baku supplies Israel’s OIL needs, the U.S. says.",
            "  Oil\tand gas:\n\nIsrael's  pipeline (oil-for-gas) in 2019; Erdoğan's oil.",
            "oil",
            "pipelines\u{00A0}oil \u{0301}oil Öil oil.oil oil's 'oil' OIL",
            "a sentence with no match at all",
            "",
        ];
        for words in ["israel oil", "pipeline gas 2019", "erdogan", "s"] {
            let h = highlighter(words);
            for text in texts {
                let mut analyzer = text_analyzer();
                let mut everything = Vec::new();
                let mut stream = analyzer.token_stream(text);
                while let Some(t) = stream.next() {
                    if h.terms.contains(&t.text) {
                        everything.push(t.offset_from..t.offset_to);
                    }
                }
                assert_eq!(h.matches(text), everything, "{words:?} in {text:?}");
            }
        }
    }

    #[test]
    fn marks_land_on_original_words() {
        let h = highlighter("israel oil");
        let text = "Baku supplies Israel’s OIL needs.";
        let s = h.snippet(text);
        let marked: Vec<&str> = s.highlights.iter().map(|[a, b]| &s.text[*a..*b]).collect();
        assert_eq!(marked, vec!["Israel’s", "OIL"]);
        assert_eq!(
            s.html,
            "Baku supplies <mark>Israel’s</mark> <mark>OIL</mark> needs."
        );
    }

    #[test]
    fn long_text_is_cut_at_sentences_around_the_matches() {
        let h = highlighter("section 907");
        let filler = "This sentence is filler about other matters entirely. ".repeat(8);
        let text = format!("{filler}Section 907 restricts aid. {filler}");
        let s = h.snippet(&text);
        assert!(s.text.len() <= h.max_bytes + 2 * "… ".len());
        assert!(s.text.starts_with("… "));
        assert_eq!(s.highlights.len(), 2);
        let [a, b] = s.highlights[0];
        assert_eq!(&s.text[a..b], "Section");
    }

    #[test]
    fn json_gives_character_offsets_beside_byte_offsets() {
        let h = highlighter("oil");
        let s = h.snippet("Israel’s café buys oil.");
        let v = serde_json::to_value(&s).unwrap();
        // `’` is 3 bytes and `é` 2: bytes 22..25 are characters 19..22.
        assert_eq!(v["highlights"], serde_json::json!([[22, 25]]));
        assert_eq!(v["highlights_chars"], serde_json::json!([[19, 22]]));
        let chars: Vec<char> = s.text.chars().collect();
        assert_eq!(chars[19..22].iter().collect::<String>(), "oil");
    }

    #[test]
    fn html_is_escaped() {
        let h = highlighter("script");
        let s = h.snippet("<script>alert('x')</script> & \"q\"");
        assert!(!s.html.contains("<script>"));
        assert!(s.html.contains("&lt;<mark>script</mark>&gt;"));
        assert!(s.html.contains("&amp; &quot;q&quot;"));
    }

    #[test]
    fn no_terms_gives_the_opening_passage() {
        let h = highlighter("");
        let s = h.snippet("Short text.");
        assert_eq!(s.text, "Short text.");
        assert!(s.highlights.is_empty());
    }
}
