//! What an indexing run did: documents added, replaced, unchanged and
//! deleted, records skipped and repaired. The command line prints it, and
//! an error that stops a run carries it, so a stopped run still says what
//! it kept.

use std::collections::BTreeMap;

use serde::Serialize;

/// What an indexing run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndexReport {
    pub documents_added: usize,
    pub documents_replaced: usize,
    pub documents_unchanged: usize,
    pub documents_deleted: usize,
    pub units_added: usize,
    /// Whether anything was written (false: the index was up to date).
    pub committed: bool,
    /// Commits made (a long import commits as it goes).
    pub commits: usize,
    /// Records met again in the same run (the last one wins).
    pub duplicates: usize,
    /// Records skipped, by reason.
    pub skipped: BTreeMap<String, usize>,
    /// The first bad records, with file and line.
    pub problems: Vec<String>,
    /// Repairs made to records that were kept.
    pub repairs: Repairs,
    /// Documents this run would have deleted but did not: too many
    /// without `--allow-deletions`, or a collection not read to its end.
    pub deletions_refused: usize,
    /// Copy clusters given to the units written.
    pub copies: CopyCounts,
}

/// What clustering did with the units written (see `index::copies`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CopyCounts {
    /// Units long enough to cluster.
    pub clustered: u64,
    /// Units that joined a cluster of a unit written in the same run.
    pub joined: u64,
    /// Units that joined a cluster of a unit the index held before.
    pub joined_earlier: u64,
}

/// Repairs made to records that were kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Repairs {
    /// Dates that were junk or partial beyond use, dropped.
    pub dates_dropped: usize,
    /// Author names cleaned of stray quotes or spaces.
    pub authors_cleaned: usize,
    /// Records without a title, titled from their text.
    pub untitled: usize,
    /// Addresses that were not http(s), dropped.
    pub urls_dropped: usize,
}

impl Repairs {
    pub fn add(&mut self, other: &Repairs) {
        self.dates_dropped += other.dates_dropped;
        self.authors_cleaned += other.authors_cleaned;
        self.untitled += other.untitled;
        self.urls_dropped += other.urls_dropped;
    }
}
