//! Text analysis: the tokenizer chains that turn unit text, titles and
//! names into index terms.
//!
//! Words are found with Unicode word boundaries (UAX #29), so "Israel’s",
//! "Sa'ar" and "U.S." each stay one word and highlights land on the
//! original words; a word also splits where a letter meets a digit ("F35"
//! is "F 35"). Each word is then normalised: curly and straight
//! apostrophes are treated alike, a possessive `'s` is dropped, remaining apostrophes and
//! abbreviation dots are removed ("Ze’ev" and "Zeev" meet), case and accents
//! are folded ("Erdoğan" and "Erdogan" meet) and, for running text, English
//! words are stemmed.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, StopWordFilter, TextAnalyzer, Token,
    TokenStream, Tokenizer,
};
use tantivy::Index;

use super::stemming::CachedStemmer;
use super::words::{words, Words};

/// Analyzer for running text (unit text, titles): words, folding, stemming.
pub const TEXT_ANALYZER: &str = "nutgraf_text";
/// Analyzer for names (authors, outlets, genres): words and folding, no
/// stemming, so "Khanin" never turns into something else.
pub const NAME_ANALYZER: &str = "nutgraf_name";
/// Analyzer for single-token labels (stance, kind): the whole value, folded.
pub const LABEL_ANALYZER: &str = "nutgraf_label";

/// Words longer than this are not indexed (base64 junk, run-together URLs).
const MAX_WORD_BYTES: usize = 60;

/// Registers nutgraf's analyzers on an index. The schema stores only an
/// analyzer's name, so this must run after every `Index::open*`/`create*`.
pub fn register(index: &Index) {
    let manager = index.tokenizers();
    manager.register(TEXT_ANALYZER, text_analyzer());
    manager.register(NAME_ANALYZER, name_analyzer());
    manager.register(
        LABEL_ANALYZER,
        TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .build(),
    );
}

/// The running-text analyzer, for use outside an index (tests, similarity).
pub fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(CachedStemmer)
        .build()
}

/// The running-text analyzer in two steps: its words, folded but not yet
/// stemmed, and the stemmer alone, for one folded word at a time. The
/// highlighter stems only the words that can match (stemming is a third
/// of marking a paragraph).
pub fn text_analyzer_steps() -> (TextAnalyzer, TextAnalyzer) {
    let words = TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    let stem = TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
        .filter(CachedStemmer)
        .build();
    (words, stem)
}

/// The running-text analyzer without English function words ("no",
/// "their", "since", "well") and lone letters (the "s" of "1990s", the
/// "F" of "F-35"): the words that can carry a claim. Its terms are the
/// index's terms (these are only left out).
pub fn claim_analyzer() -> TextAnalyzer {
    let letters = ('a'..='z').map(String::from);
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            FUNCTION_WORDS.iter().map(|w| w.to_string()).chain(letters),
        ))
        .filter(AsciiFoldingFilter)
        .filter(CachedStemmer)
        .build()
}

/// English function words: articles, pronouns, auxiliaries,
/// conjunctions, prepositions and the adverbs that only join a sentence.
/// tantivy's English list (Lucene's 33 words) leaves out most of these,
/// and a claim's words must never be "since", "well" or "would".
const FUNCTION_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "although",
    "am",
    "among",
    "an",
    "and",
    "another",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "either",
    "even",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "less",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "neither",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "often",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "others",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "per",
    "quite",
    "rather",
    "said",
    "same",
    "say",
    "says",
    "shall",
    "she",
    "should",
    "since",
    "so",
    "some",
    "still",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "to",
    "too",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "was",
    "we",
    "well",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yet",
    "you",
    "your",
    "yours",
];

/// The name analyzer (no stemming).
pub fn name_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The name analyzer's words joined by a space: the key names are
/// compared by. Text of ASCII (most of what an import compares: every
/// short paragraph against the authors' names) skips the lower-casing
/// and folding filters, which would leave it as it is but for the case:
/// they cost more than the words themselves.
pub fn name_key(text: &str) -> String {
    if !text.is_ascii() {
        return name_key_by_analyzer(text);
    }
    let mut key = String::with_capacity(text.len());
    let mut tokenizer = WordTokenizer::default();
    let mut stream = tokenizer.token_stream(text);
    while stream.advance() {
        let word = &stream.token().text;
        if word.len() >= MAX_WORD_BYTES {
            continue;
        }
        if !key.is_empty() {
            key.push(' ');
        }
        key.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
    key
}

fn name_key_by_analyzer(text: &str) -> String {
    terms(&mut name_analyzer(), text).join(" ")
}

/// The terms a string analyses to, in order (for tests and for matching
/// names outside the index).
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// The terms a string analyses to with their token positions (for
/// phrases: a word dropped by a filter leaves a gap).
pub fn terms_with_positions(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        let t = stream.token();
        out.push((t.position, t.text.clone()));
    }
    out
}

/// Splits text into words at Unicode word boundaries, and words at each
/// change between letters and digits ("F35" and "F-35", "COVID19" and
/// "COVID-19", "Deltex1" and "Deltex 1" meet, as Lucene's word-delimiter
/// filter splits them), and normalises apostrophes inside each word.
/// Offsets always cover the original characters.
#[derive(Clone, Default)]
pub struct WordTokenizer {
    token: Token,
}

pub struct WordTokenStream<'a> {
    words: Words<'a>,
    /// What is left of the current word after a letter-digit split, and
    /// where it starts in the text.
    rest: (usize, &'a str),
    token: &'a mut Token,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream<'a> {
        self.token.reset();
        WordTokenStream {
            words: words(text),
            rest: (0, ""),
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            if self.rest.1.is_empty() {
                match self.words.next() {
                    Some(next) => self.rest = next,
                    None => return false,
                }
            }
            let (offset, rest) = self.rest;
            let (word, after) = rest.split_at(letters_or_digits(rest));
            self.rest = (offset + word.len(), after);
            if !word.chars().any(char::is_alphanumeric) {
                continue;
            }
            self.token.text.clear();
            normalise_word(word, &mut self.token.text);
            if self.token.text.is_empty() {
                continue;
            }
            self.token.offset_from = offset;
            self.token.offset_to = offset + word.len();
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The length of a word's first run of letters or of digits: where a
/// letter meets a digit or a digit a letter. Other characters (the dot of
/// "2.5" or of "U.S.", apostrophes) stay with the run they follow.
fn letters_or_digits(word: &str) -> usize {
    // Byte by byte when the word is ASCII (most are).
    if word.is_ascii() {
        let bytes = word.as_bytes();
        let Some(first) = bytes.iter().position(u8::is_ascii_alphanumeric) else {
            return word.len();
        };
        let digit = bytes[first].is_ascii_digit();
        return bytes[first..]
            .iter()
            .position(|b| {
                if digit {
                    b.is_ascii_alphabetic()
                } else {
                    b.is_ascii_digit()
                }
            })
            .map_or(word.len(), |i| first + i);
    }
    letters_or_digits_by_chars(word)
}

fn letters_or_digits_by_chars(word: &str) -> usize {
    let mut run: Option<bool> = None;
    for (i, c) in word.char_indices() {
        let digit = if c.is_numeric() {
            true
        } else if c.is_alphabetic() {
            false
        } else {
            continue;
        };
        match run {
            Some(d) if d != digit => return i,
            _ => run = Some(digit),
        }
    }
    word.len()
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{FF07}')
}

/// Drops a possessive `'s` (or a trailing apostrophe, as in "Khanins'"),
/// then removes the apostrophes and the dots of abbreviations ("U.S.") that
/// UAX #29 keeps inside a word. Dots between digits ("2.5") are kept.
fn normalise_word(word: &str, out: &mut String) {
    // Most words are ASCII letters and digits alone: nothing to drop.
    if word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        out.push_str(word);
        return;
    }
    normalise_word_by_chars(word, out);
}

fn normalise_word_by_chars(word: &str, out: &mut String) {
    let mut end = word.len();
    let mut rev = word.char_indices().rev();
    if let Some((i, last)) = rev.next() {
        if last == 's' || last == 'S' {
            if let Some((j, prev)) = rev.next() {
                if is_apostrophe(prev) {
                    end = j;
                }
            }
        } else if is_apostrophe(last) {
            end = i;
        }
    }
    let core = &word[..end];
    let has_letter = core.chars().any(char::is_alphabetic);
    for c in core.chars() {
        if is_apostrophe(c) || (c == '.' && has_letter) {
            continue;
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Vec<String> {
        terms(&mut text_analyzer(), s)
    }
    fn name(s: &str) -> Vec<String> {
        terms(&mut name_analyzer(), s)
    }

    #[test]
    fn curly_and_straight_apostrophes_meet() {
        assert_eq!(name("Ze’ev Khanin"), name("Ze'ev Khanin"));
        assert_eq!(name("Ze’ev"), name("Zeev"));
        assert_eq!(name("Sa’ar"), vec!["saar"]);
        assert_eq!(text("wouldn’t"), text("wouldn't"));
    }

    #[test]
    fn possessives_are_dropped() {
        assert_eq!(text("Israel’s"), text("Israel"));
        assert_eq!(text("Baku's oil"), text("Baku oil"));
        assert_eq!(name("the Khanins’ paper"), vec!["the", "khanins", "paper"]);
    }

    #[test]
    fn accents_and_case_fold() {
        assert_eq!(name("Erdoğan"), vec!["erdogan"]);
        assert_eq!(name("ERDOGAN"), vec!["erdogan"]);
        assert_eq!(text("détente"), text("detente"));
    }

    #[test]
    fn hyphenated_names_split_into_words() {
        assert_eq!(name("Begin-Sadat"), vec!["begin", "sadat"]);
        assert_eq!(name("Nagorno-Karabakh"), vec!["nagorno", "karabakh"]);
    }

    #[test]
    fn abbreviations_and_numbers() {
        assert_eq!(name("U.S."), vec!["us"]);
        assert_eq!(name("2.5 60%"), vec!["2.5", "60"]);
        assert_eq!(text("Section 907"), vec!["section", "907"]);
    }

    #[test]
    fn letters_and_digits_split_apart() {
        assert_eq!(text("F35"), text("F-35"));
        assert_eq!(text("COVID19"), vec!["covid", "19"]);
        assert_eq!(text("Deltex1 binds"), text("Deltex 1 binds"));
        assert_eq!(text("1.5mg of 2.5"), vec!["1.5", "mg", "of", "2.5"]);
        assert_eq!(
            text("the 1990s, B2x's"),
            vec!["the", "1990", "s", "b", "2", "x"]
        );
        assert_eq!(name("U.S. G7"), vec!["us", "g", "7"]);
    }

    #[test]
    fn a_split_words_parts_keep_their_place_in_the_text() {
        let mut a = text_analyzer();
        let mut stream = a.token_stream("see F35A now");
        let mut got = Vec::new();
        while stream.advance() {
            let t = stream.token();
            got.push((t.text.clone(), t.offset_from, t.offset_to, t.position));
        }
        let want = [
            ("see", 0, 3, 0),
            ("f", 4, 5, 1),
            ("35", 5, 7, 2),
            ("a", 7, 8, 3),
            ("now", 9, 12, 4),
        ];
        let want: Vec<(String, usize, usize, usize)> = want
            .iter()
            .map(|(w, a, b, p)| (w.to_string(), *a, *b, *p))
            .collect();
        assert_eq!(got, want);
    }

    proptest::proptest! {
        /// The ASCII shortcuts give what the character-by-character
        /// versions give.
        #[test]
        fn ascii_shortcuts_agree_with_the_general_code(word in "[a-zA-Z0-9_.'’-]{0,12}") {
            proptest::prop_assert_eq!(letters_or_digits(&word), letters_or_digits_by_chars(&word));
            let (mut fast, mut general) = (String::new(), String::new());
            normalise_word(&word, &mut fast);
            normalise_word_by_chars(&word, &mut general);
            proptest::prop_assert_eq!(fast, general);
        }

        /// A name's key is what the name analyzer gives, ASCII or not
        /// (long words, apostrophes, digits and separators included).
        #[test]
        fn name_keys_agree_with_the_analyzer(
            text in "([a-zA-Z]{58,62}|[a-zA-Z0-9]{1,12}|[ .,'’_:()-]{1,3}|[éŁß])*"
        ) {
            proptest::prop_assert_eq!(name_key(&text), name_key_by_analyzer(&text));
        }
    }

    #[test]
    fn a_name_key_drops_words_as_long_as_the_limit() {
        for n in [MAX_WORD_BYTES - 1, MAX_WORD_BYTES, MAX_WORD_BYTES + 1] {
            let text = format!("Jo {} Doe", "a".repeat(n));
            assert_eq!(name_key(&text), name_key_by_analyzer(&text), "{n}");
        }
        assert_eq!(name_key(&format!("Jo {} Doe", "a".repeat(60))), "jo doe");
    }

    #[test]
    fn english_stemming_for_text_only() {
        assert_eq!(text("normalization"), text("normalize"));
        assert_eq!(text("talks"), text("talk"));
        assert_eq!(name("talks"), vec!["talks"]);
    }

    #[test]
    fn offsets_cover_the_original_words() {
        let s = "Israel’s “energy-for-arms” deal";
        let mut a = text_analyzer();
        let mut stream = a.token_stream(s);
        let mut spans = Vec::new();
        while stream.advance() {
            let t = stream.token();
            spans.push(&s[t.offset_from..t.offset_to]);
        }
        assert_eq!(spans, vec!["Israel’s", "energy", "for", "arms", "deal"]);
    }

    #[test]
    fn punctuation_only_yields_nothing() {
        assert!(text("— | … ’ ' - ").is_empty());
        assert!(text("").is_empty());
    }
}
