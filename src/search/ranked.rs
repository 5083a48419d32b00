//! A hit's place in the ranking: its score, then its address, so that
//! equal scores keep one order from page to page.

use std::cmp::Ordering;

use tantivy::{DocAddress, Score};

/// A hit ranked: higher scores first, ties by address (lower first).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ranked(pub Score, pub DocAddress);

impl Eq for Ranked {}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then_with(|| other.1.cmp(&self.1))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
