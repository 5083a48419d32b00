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

/// The class of an ASCII character (the curly single quotes, the only
/// other middle marks of the set, are told apart in [`class_at`]).
fn class(b: u8) -> Class {
    match b {
        b'A'..=b'Z' | b'a'..=b'z' => Class::Letter,
        b'0'..=b'9' => Class::Digit,
        b'_' => Class::Connector,
        b':' => Class::MidLetter,
        b',' | b';' => Class::MidNum,
        b'.' | b'\'' => Class::MidNumLet,
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

/// The segments between a text's UAX #29 word boundaries with their byte
/// offsets, in order. The fast path gives only those that start with a
/// letter, digit or connector (the others are spaces and punctuation);
/// the general path gives every segment, and a caller skips those that
/// hold no letter or digit.
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

/// The class of the character at byte `i` of a fast-path text, and its
/// length in bytes. Its non-ASCII characters are all three bytes,
/// `E2 80 xx`; of them only the single quotes (`98`, `99`) are middle
/// marks.
fn class_at(bytes: &[u8], i: usize) -> (Class, usize) {
    let b = bytes[i];
    if b.is_ascii() {
        return (class(b), 1);
    }
    let len = match b {
        0xF0.. => 4,
        0xE0.. => 3,
        _ => 2,
    };
    let quote = b == 0xE2
        && bytes.get(i + 1) == Some(&0x80)
        && matches!(bytes.get(i + 2), Some(0x98 | 0x99));
    (
        if quote {
            Class::MidNumLet
        } else {
            Class::Other
        },
        len,
    )
}

impl<'a> Iterator for FastWords<'a> {
    type Item = (usize, &'a str);

    // Byte by byte: every character that can be inside a word is ASCII
    // or a curly single quote.
    fn next(&mut self) -> Option<(usize, &'a str)> {
        let bytes = self.text.as_bytes();
        let mut i = self.at;
        // A word starts at a letter, digit or connector; anything else
        // is a segment of its own (or a run of spaces) and is skipped.
        let mut last = loop {
            if i >= bytes.len() {
                self.at = i;
                return None;
            }
            let (k, len) = class_at(bytes, i);
            if matches!(k, Class::Letter | Class::Digit | Class::Connector) {
                break k;
            }
            i += len;
        };
        let start = i;
        i += 1;
        while i < bytes.len() {
            let (k, len) = class_at(bytes, i);
            match k {
                // WB5, WB8, WB9, WB10, WB13a, WB13b: letters, digits and
                // connectors hold together.
                Class::Letter | Class::Digit | Class::Connector => {
                    last = k;
                    i += len;
                }
                // WB6/WB7 (letter mark letter), WB11/WB12 (digit mark
                // digit): a middle mark joins only what is the same kind
                // on both sides.
                Class::MidLetter | Class::MidNum | Class::MidNumLet => {
                    let after = (i + len < bytes.len()).then(|| class_at(bytes, i + len).0);
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
                    i += len;
                }
                Class::Other => break,
            }
        }
        self.at = i;
        Some((start, &self.text[start..i]))
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
