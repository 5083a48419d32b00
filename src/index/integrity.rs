//! Whether an index is intact, and what a damaged one does to a read.
//!
//! tantivy ends every segment file with a footer holding a CRC-32 of its
//! bytes; `meta.json` (which segments make the index, how many units each
//! holds, the schema and nutgraf's own commit payload) has none, so it is
//! checked by meaning: the payload carries its own checksum, the schema
//! must be the one this build writes, and each segment's files must exist
//! and agree with what `meta.json` says of them (unit count, deletions).
//!
//! Checking every byte of a large index on every one-shot command would
//! cost more than the search (AllSides: 250 MB), so [`Verification`]
//! remembers which files were checked: their name, length, modification
//! time and inode, in a small record beside the index (or, when the index
//! folder is read-only, in the user's cache folder). A file whose stamp
//! matches the record is not read again; any file that changed is. A file
//! changed less than [`SETTLED`] ago is checked but not remembered, so a
//! change within the file system's clock tick cannot hide behind its
//! stamp. `nutgraf check` and `serve` check every byte regardless.
//!
//! A read that fails or panics on a damaged index is turned by [`guard`]
//! into [`Error::Damaged`] once a full check confirms the damage.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tantivy::directory::error::OpenReadError;
use tantivy::index::SegmentComponent;
use tantivy::{Directory, Index, IndexMeta};

use crate::error::{Error, Result};
use crate::index::schema::Fields;
use crate::index::UnitIndex;

/// The record of checked files, in the index folder.
pub const RECORD_FILE: &str = ".nutgraf-verified.json";

/// How long a file must have been left alone before its check is
/// remembered (longer than any file system's clock tick).
pub const SETTLED: Duration = Duration::from_secs(2);

/// How much of an index to check when opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Every byte of every file; what was found intact is remembered.
    Full,
    /// Files the record does not know as they are now; nothing recorded
    /// (an indexer about to write).
    Changed,
    /// As `Changed`, and what was found intact is remembered.
    ChangedRecorded,
}

/// Whether a problem is damage or an index of another version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    Damage,
    Version,
}

/// One thing wrong with an index: the file, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub problem: String,
    pub kind: ProblemKind,
}

impl Problem {
    pub fn damage(file: impl Into<String>, problem: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            problem: problem.into(),
            kind: ProblemKind::Damage,
        }
    }

    pub fn version(file: impl Into<String>, problem: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            problem: problem.into(),
            kind: ProblemKind::Version,
        }
    }

    /// The error a command reports for this problem.
    pub fn into_error(self, dir: &Path) -> Error {
        match self.kind {
            ProblemKind::Damage => Error::Damaged {
                dir: dir.to_path_buf(),
                what: format!("{}: {}", self.file, self.problem),
            },
            ProblemKind::Version => Error::IndexVersion {
                dir: dir.to_path_buf(),
                found: self.problem,
            },
        }
    }
}

/// The error for a list of problems: the first damage (saying how many
/// more there are), else the first version problem.
pub fn error_for(dir: &Path, problems: &[Problem]) -> Option<Error> {
    let damage: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Damage)
        .collect();
    if let Some(first) = damage.first() {
        let mut what = format!("{}: {}", first.file, first.problem);
        match damage.len() {
            1 => {}
            2 => what.push_str("; and 1 more problem"),
            n => what.push_str(&format!("; and {} more problems", n - 1)),
        }
        return Some(Error::Damaged {
            dir: dir.to_path_buf(),
            what,
        });
    }
    problems.first().cloned().map(|p| p.into_error(dir))
}

/// What `nutgraf check` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub index: String,
    pub healthy: bool,
    pub segments: usize,
    /// Units searchable (when the segments could be opened).
    pub units: Option<u64>,
    /// Files checked, and their bytes.
    pub files: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
    pub took_ms: u64,
}

impl CheckReport {
    /// The error to report for an unhealthy index.
    pub fn error(&self, dir: &Path) -> Option<Error> {
        error_for(dir, &self.problems)
    }
}

/// Checks every file of the index in `dir`, every byte, and the files
/// against each other. Fails only when the index cannot be looked at
/// (there is none, or the file system refuses); damage is in the report.
pub fn check(dir: &Path) -> Result<CheckReport> {
    let started = Instant::now();
    let mut report = CheckReport {
        index: dir.display().to_string(),
        healthy: false,
        segments: 0,
        units: None,
        files: 0,
        bytes: 0,
        problems: Vec::new(),
        took_ms: 0,
    };
    let finish = |mut report: CheckReport| {
        report.healthy = report.problems.is_empty();
        report.took_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    };
    let index = match UnitIndex::open_unverified(dir) {
        Ok(index) => index,
        Err(Error::Damaged { what, .. }) => {
            let (file, problem) = what.split_once(": ").unwrap_or(("meta.json", &what));
            report.problems.push(Problem::damage(file, problem));
            return finish(report);
        }
        Err(Error::IndexVersion { found, .. }) => {
            report.problems.push(Problem::version("meta.json", found));
            return finish(report);
        }
        Err(e) => return Err(e),
    };
    let metas = index
        .index
        .load_metas()
        .map_err(|e| Error::tantivy(dir, e))?;
    report.segments = metas.segments.len();
    let files = verify_files(dir, &index.index, &metas, Verification::Full)?;
    report.files = files.checked;
    report.bytes = files.bytes;
    report.problems = files.problems;
    if report.problems.is_empty() {
        // Only intact files are opened: tantivy trusts their bytes.
        let opened = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let reader = index
                .index
                .reader_builder()
                .reload_policy(tantivy::ReloadPolicy::Manual)
                .try_into()
                .map_err(|e| Error::tantivy(dir, e))?;
            let searcher = reader.searcher();
            Ok::<_, Error>((
                searcher.num_docs(),
                reader_problems(&searcher, &metas, &index.fields),
            ))
        }));
        match opened {
            Ok(Ok((units, problems))) => {
                report.units = Some(units);
                report.problems = problems;
            }
            Ok(Err(e)) => report.problems.push(Problem::damage(
                "segments",
                format!("cannot be opened: {e}"),
            )),
            Err(panic) => report.problems.push(Problem::damage(
                "segments",
                format!("cannot be opened: {}", panic_message(&*panic)),
            )),
        }
    }
    finish(report)
}

/// Checks the index in `dir` in full; its damage as an error.
pub fn ensure_intact(dir: &Path) -> Result<()> {
    let report = check(dir)?;
    match report.error(dir) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Files checked by [`verify_files`].
pub(crate) struct FilesChecked {
    pub checked: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
}

/// The files a segment must have, with whether each must exist.
fn segment_files(metas: &IndexMeta) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for segment in &metas.segments {
        let mut components = vec![
            SegmentComponent::Terms,
            SegmentComponent::Postings,
            SegmentComponent::Positions,
            SegmentComponent::Store,
            SegmentComponent::FastFields,
            SegmentComponent::FieldNorms,
        ];
        if segment.has_deletes() {
            components.push(SegmentComponent::Delete);
        }
        for ext in &metas.persisted_custom_extensions {
            components.push(SegmentComponent::Custom(ext.clone()));
        }
        for component in components {
            files.push(segment.relative_path(component));
        }
    }
    files
}

/// Checks each file of each segment of `metas` against its checksum (all
/// of them, or those the record does not know as they are), and that no
/// segment has deletions `meta.json` does not mention.
pub(crate) fn verify_files(
    dir: &Path,
    index: &Index,
    metas: &IndexMeta,
    how: Verification,
) -> Result<FilesChecked> {
    let files = segment_files(metas);
    let mut out = FilesChecked {
        checked: 0,
        bytes: 0,
        problems: Vec::new(),
    };
    let known = if how == Verification::Full {
        Record::default()
    } else {
        Record::load(dir)
    };
    let mut verified = Record::default();
    let now = SystemTime::now();
    for file in &files {
        let name = file.to_string_lossy().into_owned();
        let stamp = match Stamp::of(&dir.join(file)) {
            Ok(stamp) => stamp,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.problems.push(Problem::damage(name, "missing"));
                continue;
            }
            Err(e) => {
                return Err(Error::Storage {
                    dir: dir.to_path_buf(),
                    doing: format!("reading {name}"),
                    source: std::sync::Arc::new(e),
                })
            }
        };
        out.checked += 1;
        out.bytes += stamp.len;
        if known.files.get(&name) == Some(&stamp) {
            verified.files.insert(name, stamp);
            continue;
        }
        match verify_file(dir, index, file)? {
            Some(problem) => out.problems.push(problem),
            None if stamp.settled(now) => {
                verified.files.insert(name, stamp);
            }
            None => {}
        }
    }
    out.problems.extend(stray_deletes(dir, metas)?);
    if how != Verification::Changed && out.problems.is_empty() && verified != known {
        verified.save(dir);
    }
    Ok(out)
}

/// One file against the checksum in its footer.
fn verify_file(dir: &Path, index: &Index, file: &Path) -> Result<Option<Problem>> {
    let name = file.to_string_lossy().into_owned();
    let storage = |io_error: std::sync::Arc<std::io::Error>| Error::Storage {
        dir: dir.to_path_buf(),
        doing: format!("reading {name}"),
        source: io_error,
    };
    let refused = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::Interrupted
        )
    };
    // tantivy's own words speak of old versions; damage is likelier.
    let unreadable = |_: &std::io::Error| {
        Problem::damage(
            name.clone(),
            "its end (the footer holding its checksum) is unreadable: the file was cut short or overwritten",
        )
    };
    // tantivy reads the last 8 bytes for the footer's length (and panics
    // on a shorter file).
    if std::fs::metadata(dir.join(file)).is_ok_and(|m| m.len() < 8) {
        return Ok(Some(unreadable(&std::io::ErrorKind::UnexpectedEof.into())));
    }
    let directory = index.directory();
    let checked = std::panic::catch_unwind(AssertUnwindSafe(|| directory.validate_checksum(file)));
    let Ok(checked) = checked else {
        return Ok(Some(unreadable(&std::io::ErrorKind::InvalidData.into())));
    };
    match checked {
        Ok(true) => {}
        Ok(false) => {
            return Ok(Some(Problem::damage(
                name,
                "its checksum disagrees: the file changed after it was written",
            )))
        }
        Err(OpenReadError::FileDoesNotExist(_)) => {
            return Ok(Some(Problem::damage(name, "missing")))
        }
        Err(OpenReadError::IoError { io_error, .. }) if refused(&io_error) => {
            return Err(storage(io_error))
        }
        Err(OpenReadError::IoError { io_error, .. }) => return Ok(Some(unreadable(&io_error))),
        Err(OpenReadError::IncompatibleIndex(i)) => {
            return Ok(Some(Problem::version(name, format!("{i:?}"))))
        }
    }
    // The checksum covers the data, not the footer's version field.
    match directory.open_read(file) {
        Ok(_) => Ok(None),
        Err(OpenReadError::IncompatibleIndex(i)) => Ok(Some(Problem::version(
            name,
            format!("written in another tantivy index format ({i:?})"),
        ))),
        Err(OpenReadError::FileDoesNotExist(_)) => Ok(Some(Problem::damage(name, "missing"))),
        Err(OpenReadError::IoError { io_error, .. }) if refused(&io_error) => {
            Err(storage(io_error))
        }
        Err(OpenReadError::IoError { io_error, .. }) => Ok(Some(unreadable(&io_error))),
    }
}

/// Committed deletion files of segments that `meta.json` says have none
/// (a `deletes` entry lost from `meta.json` would bring deleted units
/// back).
fn stray_deletes(dir: &Path, metas: &IndexMeta) -> Result<Vec<Problem>> {
    let without: HashSet<String> = metas
        .segments
        .iter()
        .filter(|s| !s.has_deletes())
        .map(|s| s.id().uuid_string())
        .collect();
    let mut problems = Vec::new();
    if without.is_empty() {
        return Ok(problems);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Io {
        context: format!("cannot list the index folder {}", dir.display()),
        source: e,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".del") else {
            continue;
        };
        let Some((segment, opstamp)) = stem.split_once('.') else {
            continue;
        };
        // A deletion file newer than the last commit is work not yet
        // committed (an indexer running now, or one killed before its
        // commit, whose files the next run clears): not damage.
        let committed = opstamp
            .parse::<u64>()
            .is_ok_and(|stamp| stamp <= metas.opstamp);
        if committed && without.contains(segment) {
            problems.push(Problem::damage(
                "meta.json",
                format!("it lists segment {segment} without deletions, but {name} holds some"),
            ));
        }
    }
    Ok(problems)
}

/// Checks what the open segments say against `meta.json`: each segment's
/// unit count against its field norms (one byte per unit), and its count
/// of deleted units against its deletion file.
pub(crate) fn reader_problems(
    searcher: &tantivy::Searcher,
    metas: &IndexMeta,
    fields: &Fields,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for segment in searcher.segment_readers() {
        let id = segment.segment_id().uuid_string();
        let max_doc = segment.max_doc();
        let norms = segment
            .fieldnorms_readers()
            .get_field(fields.text)
            .ok()
            .flatten()
            .map(|norms| norms.num_docs());
        if max_doc > 0 && norms != Some(max_doc) {
            problems.push(Problem::damage(
                "meta.json",
                format!(
                    "it says segment {id} holds {max_doc} units, its field norms say {}",
                    norms.map_or_else(|| "none".to_string(), |n| n.to_string())
                ),
            ));
        }
        // `metas` may be a later commit than the reader's: compare only
        // the same generation of the segment.
        let deleted = metas
            .segments
            .iter()
            .find(|m| {
                m.id() == segment.segment_id() && m.delete_opstamp() == segment.delete_opstamp()
            })
            .map(|m| m.num_deleted_docs());
        if let Some(bitset) = segment.alive_bitset() {
            if bitset.bitset().max_value() < max_doc {
                problems.push(Problem::damage(
                    format!("{id}.del"),
                    format!(
                        "it covers {} units, the segment holds {max_doc}",
                        bitset.bitset().max_value()
                    ),
                ));
            }
        }
        if let Some(deleted) = deleted.filter(|&d| d != segment.num_deleted_docs()) {
            problems.push(Problem::damage(
                "meta.json",
                format!(
                    "it says segment {id} has {deleted} deleted units, its deletion file says {}",
                    segment.num_deleted_docs()
                ),
            ));
        }
    }
    problems
}

/// Runs a read on the index so that damage is reported as damage: an
/// error that damage may explain, or a panic inside tantivy, leads to a
/// full check of the index in the folder `dir` gives; damage found is
/// reported as [`Error::Damaged`]. A panic that no damage explains is an
/// [`Error::Internal`]. (The caller decides whether panic messages reach
/// stderr: see `std::panic::set_hook`.)
pub fn guard<T>(
    dir: impl FnOnce() -> Option<PathBuf>,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(work)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) if e.may_be_damage() => Err(confirm(dir(), e)),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(confirm(dir(), Error::Internal(panic_message(&*panic)))),
    }
}

/// The damage of the index in `dir` if a full check finds some, else
/// `error` itself.
pub fn confirm(dir: Option<PathBuf>, error: Error) -> Error {
    let Some(dir) = dir else {
        return error;
    };
    let checked = std::panic::catch_unwind(|| check(&dir));
    match checked {
        Ok(Ok(report)) => match report.error(&dir) {
            Some(damage @ Error::Damaged { .. }) => damage,
            _ => error,
        },
        _ => error,
    }
}

/// The text of a panic.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// What a file was when it was found intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    len: u64,
    secs: u64,
    nanos: u32,
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> std::io::Result<Stamp> {
        let meta = std::fs::metadata(path)?;
        let modified = meta
            .modified()?
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Stamp {
            len: meta.len(),
            secs: modified.as_secs(),
            nanos: modified.subsec_nanos(),
            inode,
        })
    }

    /// Whether the file was last changed long enough ago to be remembered.
    fn settled(&self, now: SystemTime) -> bool {
        let modified = UNIX_EPOCH + Duration::new(self.secs, self.nanos);
        now.duration_since(modified).is_ok_and(|age| age >= SETTLED)
    }
}

/// The files found intact, by name.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Record {
    files: BTreeMap<String, Stamp>,
}

impl Record {
    /// Where the record of the index in `dir` may be: in the folder, else
    /// (a read-only index) in the user's cache folder.
    fn places(dir: &Path) -> Vec<PathBuf> {
        let mut places = vec![dir.join(RECORD_FILE)];
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let key = blake3::hash(canonical.to_string_lossy().as_bytes()).to_hex();
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        places.push(
            cache
                .join("nutgraf")
                .join(format!("verified-{}.json", &key[..16])),
        );
        places
    }

    /// The first record found; an unreadable one counts as none (it only
    /// saves work).
    fn load(dir: &Path) -> Record {
        Record::places(dir)
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Writes the record where it can (whole or not at all); a record that
    /// cannot be written only means checking again next time.
    fn save(&self, dir: &Path) {
        let Ok(json) = serde_json::to_vec(self) else {
            return;
        };
        for place in Record::places(dir) {
            let Some(parent) = place.parent() else {
                continue;
            };
            if parent != dir && std::fs::create_dir_all(parent).is_err() {
                continue;
            }
            let written = tempfile::NamedTempFile::new_in(parent).and_then(|mut f| {
                f.write_all(&json)?;
                f.persist(&place).map_err(|e| e.error)?;
                Ok(())
            });
            if written.is_ok() {
                return;
            }
        }
    }
}
