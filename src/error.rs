//! The library's error type: every failure a user can meet, worded to say
//! what went wrong, where, and how to fix it.

use std::path::PathBuf;

use crate::config::ConfigError;

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
    /// A number of a request (a limit, an offset) outside its allowed
    /// range; the message names it and the range.
    #[error("{0}")]
    Limit(String),
    /// The search ran past its deadline and was stopped (its work really
    /// ends: the collector, expansions, suggestions and snippets check it).
    #[error("the search was stopped after {after_ms} ms: it needed more time than allowed; narrow the query (fewer words or patterns, longer prefixes, or a filter)")]
    Timeout { after_ms: u64 },
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
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
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
