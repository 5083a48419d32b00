//! Partial matches: the units that hold most, not all, of a query's words.
//!
//! When fewer units than a page holds contain every word, the page goes on
//! with units that contain most of them, never above a full match, each
//! marked with how many of the query's words it holds. A relaxed query
//! gives each word a unit holds [`WORD_CREDIT`] beside its BM25, so units
//! rank by words held first (BM25 alone can put a unit with one rare word
//! above one with three common ones), the same on every page.

use tantivy::Score;

use crate::query::scorers::WORD_CREDIT;

/// How many of the query's words a hit of a relaxed query holds, and its
/// BM25 score, from the score the query gave it.
pub fn words_and_score(score: Score) -> (usize, Score) {
    let words = (score / WORD_CREDIT).floor().max(0.0);
    (words as usize, score - words * WORD_CREDIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credit_is_taken_off_and_counted() {
        assert_eq!(words_and_score(2.0 * WORD_CREDIT + 7.5), (2, 7.5));
        assert_eq!(words_and_score(WORD_CREDIT + 0.25), (1, 0.25));
        assert_eq!(words_and_score(3.0), (0, 3.0));
    }
}
