//! The tokenizer's fast path for ASCII text (with curly quotes and
//! dashes) finds the same words as Unicode's word-boundary tables, on
//! random text made of the characters where the rules differ most:
//! letters, digits, connectors, middle marks, spaces and line ends.

use nutgraf::text::words::{words, words_by_tables, Words};
use proptest::prelude::*;

/// The word segments of the general path: those that start with a
/// letter, digit or connector.
fn by_tables(s: &str) -> Vec<(usize, &str)> {
    words_by_tables(s)
        .filter(|(_, w)| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .collect()
}

const PIECES: &[&str] = &[
    "a", "Z", "q", "0", "7", "_", ":", ",", ";", ".", "'", "\u{2018}", "\u{2019}", "\u{201C}",
    "\u{201D}", "\u{2013}", "\u{2014}", " ", "  ", "\n", "\r\n", "\t", "\"", "-", "(", "$", "%",
    "word", "U.S.", "2.5", "1,000", "it's", "x_1",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn the_fast_path_finds_the_words_of_the_tables(
        pieces in prop::collection::vec(prop::sample::select(PIECES), 0..24)
    ) {
        let text: String = pieces.concat();
        let fast = words(&text);
        prop_assert!(matches!(fast, Words::Fast(_)), "{text:?} took the general path");
        let fast: Vec<(usize, &str)> = fast.collect();
        prop_assert_eq!(fast, by_tables(&text), "{:?}", text);
    }
}

#[test]
fn text_with_other_characters_is_left_to_the_tables() {
    for text in [
        "Erdoğan’s",
        "Ze\u{0301}ev",
        "שלום",
        "a\u{00A0}b",
        "東京 2.5",
    ] {
        assert!(matches!(words(text), Words::General(_)), "{text}");
        let general: Vec<(usize, &str)> = words(text).collect();
        let tables: Vec<(usize, &str)> = words_by_tables(text).collect();
        assert_eq!(general, tables);
    }
}
