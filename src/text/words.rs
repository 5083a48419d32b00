//! Word boundaries (Unicode's UAX #29), with a fast path for the text most
//! paragraphs are written in.
//!
//! Finding boundaries with `unicode-segmentation` looks every character
//! up in Unicode's tables; on AllSides that was a sixth of an import's
//! time. Most paragraphs hold only ASCII and a few typographic marks
//! (curly quotes and apostrophes, dashes), whose word-break classes are
//! fixed: for them [`words`] applies the UAX #29 rules that can arise
//! between such characters directly, and gives exactly the words
//! `unicode-segmentation` gives (a property test in `tests/` compares the
//! two on random text). Any other character sends the whole text down
//! the general path.

use unicode_segmentation::{UWordBoundIndices, UnicodeSegmentation};

/// The word-break class of a character of the fast path's set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// ALetter: A–Z, a–z.
    Letter,
    /// Numeric: 0–9.
    Digit,
    /// ExtendNumLet: `_`.
    Connector,
    /// MidLetter: `:`.
    MidLetter,
    /// MidNum: `,` `;`.
    MidNum,
    /// MidNumLet and Single_Quote: `.` `'` `‘` `’`.
    MidNumLet,
    /// Everything else of the set (spaces, line ends, other punctuation,
    /// curly double quotes, dashes): never inside a word.
    Other,
}

fn class(c: char) -> Class {
    match c {
        'A'..='Z' | 'a'..='z' => Class::Letter,
        '0'..='9' => Class::Digit,
        '_' => Class::Connector,
        ':' => Class::MidLetter,
        ',' | ';' => Class::MidNum,
        '.' | '\'' | '\u{2018}' | '\u{2019}' => Class::MidNumLet,
        _ => Class::Other,
    }
}

/// Whether every character of `text` is one the fast path knows: ASCII,
/// curly quotes and apostrophes, en and em dashes.
fn fast(text: &str) -> bool {
    text.is_ascii()
        || text.chars().all(|c| {
            c.is_ascii()
                || matches!(
                    c,
                    '\u{2018}' | '\u{2019}' | '\u{201C}' | '\u{201D}' | '\u{2013}' | '\u{2014}'
                )
        })
}

/// The words of a text with their byte offsets, in order: the segments
/// between UAX #29 word boundaries that start with a letter, digit or
/// connector (the others are spaces and punctuation). A word of the
/// general path may hold other characters, as UAX #29 says.
pub enum Words<'a> {
    Fast(FastWords<'a>),
    General(UWordBoundIndices<'a>),
}

/// The words of `text` (see [`Words`]).
pub fn words(text: &str) -> Words<'_> {
    if fast(text) {
        Words::Fast(FastWords { text, at: 0 })
    } else {
        Words::General(text.split_word_bound_indices())
    }
}

/// The general path alone, for comparing the two.
pub fn words_by_tables(text: &str) -> Words<'_> {
    Words::General(text.split_word_bound_indices())
}

impl<'a> Iterator for Words<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        match self {
            Words::Fast(w) => w.next(),
            Words::General(w) => w.next(),
        }
    }
}

/// The fast path: only the word segments, found by the rules of UAX #29
/// that apply between letters, digits, connectors and the middle marks.
pub struct FastWords<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for FastWords<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        let text = self.text;
        let mut chars = text[self.at..]
            .char_indices()
            .map(|(i, c)| (self.at + i, c));
        // A word starts at a letter, digit or connector; anything else
        // is a segment of its own (or a run of spaces) and is skipped.
        let (start, mut last) = chars.find_map(|(i, c)| match class(c) {
            k @ (Class::Letter | Class::Digit | Class::Connector) => Some((i, k)),
            _ => None,
        })?;
        let mut end = start + 1;
        let rest = &text[end..];
        let mut ahead = rest.char_indices().peekable();
        while let Some(&(i, c)) = ahead.peek() {
            let k = class(c);
            match k {
                // WB5, WB8, WB9, WB10, WB13a, WB13b: letters, digits and
                // connectors hold together.
                Class::Letter | Class::Digit | Class::Connector => {
                    ahead.next();
                    end = start + 1 + i + c.len_utf8();
                    last = k;
                }
                // WB6/WB7 (letter mark letter), WB11/WB12 (digit mark
                // digit): a middle mark joins only what is the same kind
                // on both sides.
                Class::MidLetter | Class::MidNum | Class::MidNumLet => {
                    let after = rest[i + c.len_utf8()..].chars().next().map(class);
                    let joins = matches!(
                        (last, k, after),
                        (
                            Class::Letter,
                            Class::MidLetter | Class::MidNumLet,
                            Some(Class::Letter)
                        ) | (
                            Class::Digit,
                            Class::MidNum | Class::MidNumLet,
                            Some(Class::Digit)
                        )
                    );
                    if !joins {
                        break;
                    }
                    ahead.next();
                    end = start + 1 + i + c.len_utf8();
                }
                Class::Other => break,
            }
        }
        self.at = end;
        Some((start, &text[start..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_words(s: &str) -> Vec<(usize, &str)> {
        assert!(fast(s));
        words(s).collect()
    }

    /// The word segments of the general path (those that hold a letter,
    /// digit or connector).
    fn table_words(s: &str) -> Vec<(usize, &str)> {
        words_by_tables(s)
            .filter(|(_, w)| w.chars().any(|c| c.is_alphanumeric() || c == '_'))
            .collect()
    }

    #[test]
    fn the_fast_path_keeps_the_words_uax29_keeps() {
        for s in [
            "Israel’s U.S. oil, 2.5 and 1,000.5 men: a:b don't 3.a a.3",
            "e.g. x_1 _y __ a_ 1_000 Tel-Aviv’s ‘quoted’ “double” – — end.",
            "a..b 1..2 a.'b 1,,2 ,1 .5 5. :a a: 'a a' \r\n \t  x",
        ] {
            assert_eq!(fast_words(s), table_words(s), "{s}");
        }
    }

    #[test]
    fn other_characters_take_the_general_path() {
        assert!(matches!(words("Erdoğan"), Words::General(_)));
        assert!(matches!(words("plain text, 2.5"), Words::Fast(_)));
        assert!(matches!(words("it’s – “so”"), Words::Fast(_)));
    }
}
