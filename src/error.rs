//! The library's error type: every failure a user can meet, worded to say
//! what went wrong, where, and how to fix it.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::directory::error::{LockError, OpenDirectoryError, OpenReadError, OpenWriteError};
use tantivy::TantivyError;

use crate::model::IndexReport;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("no index at {0}: run `nutgraf index` first (or pass --index DIR)")]
    NoIndex(PathBuf),
    #[error("the index at {dir} was written by another version of nutgraf ({found}); run `nutgraf index --rebuild`")]
    IndexVersion { dir: PathBuf, found: String },
    /// A file of the index is missing, cut short or changed since it was
    /// written (its checksum disagrees), or the files disagree with each
    /// other. `what` names the file and the fault.
    #[error("the index at {dir} is damaged ({what}): run `nutgraf index --rebuild`")]
    Damaged { dir: PathBuf, what: String },
    #[error("another `nutgraf index` is writing to {0}; wait for it to finish (searches keep working meanwhile)")]
    Locked(PathBuf),
    /// The file system refused: no space left, no permission, read-only.
    #[error("{}", storage_message(dir, doing, source))]
    Storage {
        dir: PathBuf,
        /// What nutgraf was doing, e.g. "writing the index".
        doing: String,
        #[source]
        source: Arc<std::io::Error>,
    },
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
    /// The document exists but has no such paragraph.
    #[error("no unit {id}: document {doc_id} has {paragraphs} paragraph{} ({doc_id}#1 to {doc_id}#{paragraphs})", if *paragraphs == 1 { "" } else { "s" })]
    NoParagraph {
        id: String,
        doc_id: String,
        paragraphs: u32,
    },
    #[error("{0}")]
    Input(String),
    /// The search cluster a server answers from (`serve --backend`) or an
    /// export writes to could not be reached, refused, or answered what
    /// nutgraf cannot read. The message names the cluster and the fix.
    #[error("{0}")]
    Cluster(String),
    /// What was asked cannot be answered in this mode (e.g. copy folding
    /// when a cluster answers); the message says what can.
    #[error("{0}")]
    Unavailable(String),
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
    /// A panic that damage to the index does not explain: a bug.
    #[error(
        "internal error: {0} (a bug in nutgraf; please report it with the command that caused it)"
    )]
    Internal(String),
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

    /// Wraps a tantivy error with the index folder it concerns: a lock
    /// held by another process, a refusal of the file system (no space,
    /// no permission, read-only) and data tantivy found corrupt each get
    /// their own message.
    pub fn tantivy(dir: &Path, source: TantivyError) -> Error {
        let storage = |doing: &str, e: Arc<std::io::Error>| Error::Storage {
            dir: dir.to_path_buf(),
            doing: doing.to_string(),
            source: e,
        };
        match source {
            TantivyError::LockFailure(LockError::LockBusy, _) => Error::Locked(dir.to_path_buf()),
            TantivyError::LockFailure(LockError::IoError(e), _) => {
                storage("creating the index's lock file", e)
            }
            TantivyError::IoError(e) if is_storage(&e) => storage("writing the index", e),
            TantivyError::OpenWriteError(OpenWriteError::IoError { io_error, .. }) => {
                storage("writing the index", io_error)
            }
            TantivyError::OpenReadError(OpenReadError::IoError { io_error, .. })
                if is_storage(&io_error) =>
            {
                storage("reading the index", io_error)
            }
            TantivyError::OpenDirectoryError(OpenDirectoryError::IoError { io_error, .. })
                if is_storage(&io_error) =>
            {
                storage("opening the index", io_error)
            }
            // Parts of tantivy pass an I/O error on as its text only.
            TantivyError::InternalError(m) | TantivyError::ErrorInThread(m)
                if storage_kind_in(&m).is_some() =>
            {
                let kind = storage_kind_in(&m).unwrap_or(ErrorKind::Other);
                storage("writing the index", Arc::new(std::io::Error::new(kind, m)))
            }
            TantivyError::DataCorruption(c) => Error::Damaged {
                dir: dir.to_path_buf(),
                what: corruption_message(&c),
            },
            source => Error::Tantivy {
                dir: dir.to_path_buf(),
                source,
            },
        }
    }

    /// Whether this error may come from a damaged index (so a check of
    /// the index's files should decide what to report).
    pub fn may_be_damage(&self) -> bool {
        match self {
            Error::Tantivy { source, .. } => !matches!(
                source,
                TantivyError::AggregationError(_)
                    | TantivyError::FieldNotFound(_)
                    | TantivyError::InvalidArgument(_)
                    | TantivyError::IndexAlreadyExists
                    | TantivyError::IndexBuilderMissingArgument(_)
            ),
            Error::IndexVersion { .. } => true,
            _ => false,
        }
    }
}

/// Errors of the file system itself (as opposed to bad bytes in a file).
fn is_storage(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::StorageFull
            | ErrorKind::QuotaExceeded
            | ErrorKind::PermissionDenied
            | ErrorKind::ReadOnlyFilesystem
            | ErrorKind::FileTooLarge
    )
}

/// The kind of file-system error an error's text names, if any: tantivy
/// turns some I/O errors into text (`"No space left on device (os error
/// 28)"`), losing their kind.
fn storage_kind_in(message: &str) -> Option<ErrorKind> {
    let kinds = [
        ErrorKind::StorageFull,
        ErrorKind::QuotaExceeded,
        ErrorKind::ReadOnlyFilesystem,
        ErrorKind::PermissionDenied,
        ErrorKind::FileTooLarge,
    ];
    // The OS's errors by number (Linux, macOS), then Rust's own words.
    #[cfg(unix)]
    {
        let code = message
            .rsplit_once("(os error ")
            .and_then(|(_, rest)| rest.split_once(')'))
            .and_then(|(n, _)| n.parse::<i32>().ok());
        if let Some(code) = code {
            let kind = std::io::Error::from_raw_os_error(code).kind();
            if kinds.contains(&kind) {
                return Some(kind);
            }
        }
    }
    kinds
        .into_iter()
        .find(|&kind| message.contains(&std::io::Error::from(kind).to_string()))
}

fn storage_message(dir: &Path, doing: &str, e: &std::io::Error) -> String {
    let d = dir.display();
    match e.kind() {
        ErrorKind::StorageFull => format!(
            "no space left on the device holding {d} (while {doing}): free some space and run the command again; the index keeps its last commit"
        ),
        ErrorKind::QuotaExceeded => format!(
            "disk quota exceeded on the device holding {d} (while {doing}): free some space or raise the quota and run the command again"
        ),
        ErrorKind::ReadOnlyFilesystem => format!(
            "{d} is on a read-only file system (while {doing}): searching works, indexing needs a writable folder"
        ),
        ErrorKind::PermissionDenied => format!(
            "permission denied in {d} (while {doing}): {e}; check the folder's owner and permissions"
        ),
        _ => format!("cannot use {d} (while {doing}): {e}"),
    }
}

/// tantivy's corruption report, shortened: the file and the first
/// words of the fault (tantivy quotes all of `meta.json`).
fn corruption_message(c: &tantivy::error::DataCorruption) -> String {
    // Only the Debug form is public: `Data corruption (in file `"F"`): C.`
    let text = format!("{c:?}");
    let file = text
        .split_once("(in file `\"")
        .and_then(|(_, rest)| rest.split_once("\"`)"))
        .map(|(file, _)| file.to_string());
    let comment = text.split_once(": ").map_or(text.as_str(), |(_, c)| c);
    let comment = comment.split(". Content:").next().unwrap_or_default();
    let mut short: String = comment.chars().take(120).collect();
    if short.len() < comment.len() {
        short.push('…');
    }
    let short = short.trim_end_matches('.');
    match file {
        Some(file) => format!("{file}: {short}"),
        None => short.to_string(),
    }
}

/// A configuration error: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each refusal of the file system says what it is and names the
    /// folder; only a lock held by another process is "another indexer".
    #[test]
    fn storage_errors_and_lock_failures_say_their_cause() {
        let dir = Path::new("/data/idx");
        let io = |kind: ErrorKind| Arc::new(std::io::Error::from(kind));
        let said = |e: TantivyError| Error::tantivy(dir, e).to_string();

        let full = said(TantivyError::IoError(io(ErrorKind::StorageFull)));
        assert!(
            full.contains("no space left on the device holding /data/idx"),
            "{full}"
        );
        // As tantivy passes some on: the OS's text only.
        let text = said(TantivyError::InternalError(
            "No space left on device (os error 28)".into(),
        ));
        assert!(
            text.contains("no space left on the device holding"),
            "{text}"
        );

        let busy = said(TantivyError::LockFailure(LockError::LockBusy, None));
        assert!(
            busy.contains("another `nutgraf index` is writing"),
            "{busy}"
        );
        let read_only = said(TantivyError::LockFailure(
            LockError::IoError(io(ErrorKind::ReadOnlyFilesystem)),
            None,
        ));
        assert!(
            read_only.contains("read-only file system") && !read_only.contains("another"),
            "{read_only}"
        );
        let denied = said(TantivyError::LockFailure(
            LockError::IoError(io(ErrorKind::PermissionDenied)),
            None,
        ));
        assert!(
            denied.contains("permission denied in /data/idx") && !denied.contains("another"),
            "{denied}"
        );
    }
}
