//! The library's error type: every failure a user can meet, worded to say
//! what went wrong, where, and how to fix it.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::index::IndexReport;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("no index at {0}: run `nutgraf index` first (or pass --index DIR)")]
    NoIndex(PathBuf),
    #[error("the index at {dir} was written by another version of nutgraf ({found}); run `nutgraf index --rebuild`")]
    IndexVersion { dir: PathBuf, found: String },
    #[error("another `nutgraf index` is writing to {0}; wait for it to finish (searches keep working meanwhile)")]
    Locked(PathBuf),
    #[error("invalid query: {0}")]
    Query(String),
    #[error("{0}")]
    Filter(String),
    #[error("no unit {0}: unit ids look like `<document id>#<paragraph>`, e.g. `besa-engage-azerbaijan#4`")]
    UnitNotFound(String),
    #[error("{0}")]
    Input(String),
    #[error("index error at {dir}: {source}")]
    Tantivy {
        dir: PathBuf,
        #[source]
        source: tantivy::TantivyError,
    },
    /// A collection file could not be read to its end (an I/O error, a
    /// compressed file cut short, a reader crash): nothing was deleted.
    #[error("{}: {detail}. The file was not read to its end, so nothing was deleted{}; fix or replace the file and run `nutgraf index` again", file.display(), kept(report))]
    IncompleteRead {
        file: PathBuf,
        detail: String,
        /// What the run did before it stopped.
        report: Box<IndexReport>,
    },
    /// A run would delete too many documents without `--allow-deletions`.
    #[error("this run would delete {deleting} of the {documents} documents in {} (their ids are not in the input any more, e.g. {}); nothing was deleted{}. If the input is complete and they should go, run again with --allow-deletions", dir.display(), examples.join(", "), kept(report))]
    DeletionsRefused {
        dir: PathBuf,
        deleting: usize,
        documents: usize,
        /// The first few ids that would go.
        examples: Vec<String>,
        report: Box<IndexReport>,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a stopped run kept, for its message.
fn kept(report: &IndexReport) -> String {
    let written = report.documents_added + report.documents_replaced;
    if report.committed && written > 0 {
        format!(" ({written} documents added or replaced were kept)")
    } else {
        String::new()
    }
}

impl Error {
    /// The report of an indexing run that stopped without deleting.
    pub fn index_report(&self) -> Option<&IndexReport> {
        match self {
            Error::IncompleteRead { report, .. } | Error::DeletionsRefused { report, .. } => {
                Some(report)
            }
            _ => None,
        }
    }

    /// Wraps a tantivy error with the index folder it concerns, turning the
    /// lock failure into its own clear message.
    pub fn tantivy(dir: &std::path::Path, source: tantivy::TantivyError) -> Error {
        match source {
            tantivy::TantivyError::LockFailure(..) => Error::Locked(dir.to_path_buf()),
            source => Error::Tantivy {
                dir: dir.to_path_buf(),
                source,
            },
        }
    }
}
