//! Bringing an index up to date with the configured collections.
//!
//! Indexing is incremental: each document carries a content hash (text,
//! metadata and splitting rules); an unchanged document is skipped, a
//! changed one is replaced (delete by `doc_id`, then add), and a document
//! gone from the config is deleted. Nothing is committed when nothing
//! changed, so a re-run rewrites nothing. Each commit is atomic and carries
//! an [`IndexInfo`] payload, so the index describes itself to searchers.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tantivy::directory::error::LockError;
use tantivy::directory::{MmapDirectory, INDEX_WRITER_LOCK};
use tantivy::Directory;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::index::copies::CopyClusters;
use crate::index::open::{IndexInfo, UnitIndex};
use crate::index::writer::{Progress, UnitWriter};
use crate::ingest::collection;
use crate::ingest::split::{units, Splitter};
use crate::model::document::Document;
use crate::model::{IndexReport, Repairs};

/// Options of one indexing run.
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// Start over: delete every unit first (one atomic commit at the end).
    pub rebuild: bool,
    /// Replaces the file of the config's single collection.
    pub input: Option<PathBuf>,
    /// A bad record stops the run instead of being skipped.
    pub strict: bool,
    /// Documents between commits (default [`DEFAULT_COMMIT_EVERY`]).
    pub commit_every: Option<usize>,
    /// Lets a run delete more than [`deletions_need_consent`] allows
    /// (`--allow-deletions`).
    pub allow_deletions: bool,
}

/// A run may delete at most this many documents without
/// `--allow-deletions`, whatever the share...
pub const DELETIONS_ALLOWED: usize = 10;
/// ... or at most this share (in percent) of the index's documents.
pub const DELETIONS_ALLOWED_PERCENT: usize = 10;

/// What a run does with a document of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Indexed with the same content: nothing to write.
    Skip,
    /// Not in the index yet.
    Add,
    /// In the index with other content (text, metadata or splitting
    /// rules changed): its units are replaced.
    Replace,
    /// Met earlier in this run: written again, the last one wins.
    Repeat,
}

/// The step for a document whose content hash is `hash`, given the hash
/// the index holds for its id (`indexed`) and whether this run met the id
/// before.
pub fn step(indexed: Option<&String>, hash: &str, met_before: bool) -> Step {
    match indexed {
        _ if met_before => Step::Repeat,
        Some(old) if old == hash => Step::Skip,
        Some(_) => Step::Replace,
        None => Step::Add,
    }
}

/// The indexed documents (id -> hash) that this run's input did not hold:
/// the ones to delete, sorted.
pub fn gone<'a>(indexed: &'a HashMap<String, String>, seen: &HashSet<String>) -> Vec<&'a String> {
    let mut gone: Vec<&String> = indexed.keys().filter(|id| !seen.contains(*id)).collect();
    gone.sort();
    gone
}

/// Whether deleting `deleting` of the index's `documents` needs
/// `--allow-deletions`: deleting every document (an empty input file), or
/// more than [`DELETIONS_ALLOWED`] documents that are also more than
/// [`DELETIONS_ALLOWED_PERCENT`]% of the index (a file cut short).
pub fn deletions_need_consent(deleting: usize, documents: usize) -> bool {
    deleting > 0
        && (deleting >= documents
            || (deleting > DELETIONS_ALLOWED
                && deleting * 100 > documents * DELETIONS_ALLOWED_PERCENT))
}

/// Brings the index at `dir` up to date with the documents `config`
/// describes: its `[[document]]` files (all read and checked before
/// anything is written, so a bad file leaves the index as it was), then
/// its collections, streamed record by record.
///
/// Unchanged documents (same content hash) are skipped, changed ones
/// replaced, new ones added, and documents no longer described deleted
/// once everything was read. A long import commits every
/// `commit_every` documents (and at least every 30 s), so a killed run
/// keeps its progress: the next run skips what was committed and
/// finishes the rest. `--rebuild` commits once, at the end.
pub fn update(
    config: &Config,
    dir: &Path,
    opts: &IndexOptions,
    progress: &dyn Progress,
) -> Result<IndexReport> {
    let splitter = Splitter::new(&config.splitting)
        .map_err(|e| Error::Input(format!("{}: [splitting]: {e}", config.path.display())))?;
    let documents: Vec<Document> = config
        .documents
        .iter()
        .map(|d| d.load())
        .collect::<Result<_, _>>()?;
    if opts.input.is_some() && config.collections.len() != 1 {
        return Err(Error::Input(format!(
            "--input replaces the file of a config's one [[collection]]; {} has {}",
            config.path.display(),
            config.collections.len()
        )));
    }
    // Open the collections first: a missing file is an error before
    // anything is written.
    let stances: Vec<String> = config
        .corpus
        .stances
        .iter()
        .map(|(s, _)| s.clone())
        .collect();
    let mut readers = Vec::new();
    for c in &config.collections {
        readers.push(collection::open(
            c,
            opts.input.as_deref(),
            &config.authors,
            &stances,
        )?);
    }

    // An index of another version cannot be rewritten in place (its
    // schema differs): `--rebuild` builds a new one beside it, which takes
    // its place only once complete.
    // A rebuild killed before it finished leaves its staging folder.
    remove_stale_staging(dir)?;
    let mut staging = None;
    let index = match UnitIndex::open_or_create(dir) {
        // So is a damaged index: `--rebuild` is what its message asks for.
        Err(Error::IndexVersion { .. } | Error::Damaged { .. }) if opts.rebuild => {
            let beside = staging_dir(dir);
            remove_dir(&beside)?;
            staging = Some(beside.clone());
            UnitIndex::open_or_create(&beside)?
        }
        other => other?,
    };
    let mut info = IndexInfo::from_config(config);
    // What the index holds before this run: a rebuild rewrites it all but
    // must not lose documents silently either.
    let previous = if staging.is_some() {
        HashMap::new()
    } else {
        index.document_hashes()?
    };
    let existing = if opts.rebuild {
        HashMap::new()
    } else {
        previous.clone()
    };
    let held_ids = if opts.rebuild {
        BTreeSet::new()
    } else {
        index.info.duplicate_ids.clone()
    };
    info.duplicate_ids = held_ids.clone();
    // A rebuild deletes what the index held: nothing to join.
    let clusters = CopyClusters::new(&index, !opts.rebuild && staging.is_none())?;
    let mut run = Run {
        clusters,
        held_ids,
        held: BTreeMap::new(),
        writer: UnitWriter::new(&index, config.index.memory_budget_mb, config.index.threads)?
            .leaving_segments(config.index.segments),
        fingerprint: splitter.fingerprint().to_string(),
        splitter,
        existing,
        seen: HashSet::new(),
        duplicates_found: BTreeSet::new(),
        report: IndexReport::default(),
        info,
        commit_every: if opts.rebuild {
            usize::MAX
        } else {
            opts.commit_every.unwrap_or(DEFAULT_COMMIT_EVERY).max(1)
        },
        since_commit: 0,
        last_commit: Instant::now(),
    };
    if opts.rebuild {
        run.writer.delete_all()?;
    }

    if !documents.is_empty() {
        progress.start(documents.len() as u64, "documents");
        for document in &documents {
            run.put(document)?;
            progress.advance(1);
        }
        progress.finish();
    }
    for reader in readers {
        if let Some(failure) = run.collection(reader, opts.strict, progress)? {
            // Not read to its end: what is not seen may still be in the
            // file, so nothing is deleted. What was read is kept (a
            // rebuild keeps the old index instead, whole).
            let report = run.keep_without_deleting(opts.rebuild, &previous)?;
            discard_staging(staging.as_deref());
            return Err(Error::IncompleteRead {
                file: failure.file,
                detail: failure.detail,
                report: Box::new(report),
            });
        }
    }
    run.write_held()?;

    let gone = gone(&previous, &run.seen);
    if !opts.allow_deletions && deletions_need_consent(gone.len(), previous.len()) {
        let examples = gone.iter().take(5).map(|s| s.to_string()).collect();
        let report = run.keep_without_deleting(opts.rebuild, &previous)?;
        discard_staging(staging.as_deref());
        return Err(Error::DeletionsRefused {
            dir: dir.to_path_buf(),
            deleting: report.deletions_refused,
            documents: previous.len(),
            examples,
            report: Box::new(report),
        });
    }

    let Run {
        mut writer,
        mut report,
        since_commit,
        mut info,
        duplicates_found,
        clusters,
        ..
    } = run;
    report.copies = clusters.counts;
    info.duplicate_ids = duplicates_found;
    for id in &gone {
        if !opts.rebuild {
            writer.delete_document(id);
        }
        report.documents_deleted += 1;
    }
    let changed =
        opts.rebuild || since_commit > 0 || report.documents_deleted > 0 || index.info != info;
    if changed {
        writer.commit(&info)?;
        report.commits += 1;
    }
    report.committed = report.commits > 0;
    writer.finish()?;
    if let Some(staging) = staging {
        drop(index);
        replace_dir(dir, &staging)?;
    }
    Ok(report)
}

/// Removes an unfinished rebuild's folder (the old index stays).
fn discard_staging(staging: Option<&Path>) {
    if let Some(staging) = staging {
        // Best effort: the next rebuild removes it anyway.
        let _ = remove_dir(staging);
    }
}

/// Where a rebuild of the index at `dir` is staged.
fn staging_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "index".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!("{name}.rebuilding"))
}

/// Removes the staging folder a killed rebuild of `dir` left, unless a
/// rebuild is still writing there (it holds the folder's writer lock).
fn remove_stale_staging(dir: &Path) -> Result<()> {
    let staging = staging_dir(dir);
    if !staging.is_dir() {
        return Ok(());
    }
    if let Ok(folder) = MmapDirectory::open(&staging) {
        if let Err(LockError::LockBusy) = folder.acquire_lock(&INDEX_WRITER_LOCK) {
            return Err(Error::Locked(dir.to_path_buf()));
        }
    }
    remove_dir(&staging)
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            context: format!("cannot remove {}", dir.display()),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Puts the complete index at `staging` in the place of the one at `dir`.
fn replace_dir(dir: &Path, staging: &Path) -> Result<()> {
    let old = staging.with_extension("old");
    remove_dir(&old)?;
    let rename = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|source| Error::Io {
            context: format!("cannot move {} to {}", from.display(), to.display()),
            source,
        })
    };
    rename(dir, &old)?;
    rename(staging, dir)?;
    remove_dir(&old)
}

/// Documents written between commits of a long import.
pub const DEFAULT_COMMIT_EVERY: usize = 5_000;
/// Longest time between commits of a long import.
const COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
/// Bad records listed in a report (all are counted).
const MAX_PROBLEMS_LISTED: usize = 20;

/// One indexing run's state.
struct Run<'a> {
    /// Ids known to repeat (from the last run), and their latest records.
    held_ids: BTreeSet<String>,
    held: BTreeMap<String, (Document, usize)>,
    /// Ids met more than once in this run.
    duplicates_found: BTreeSet<String>,
    writer: UnitWriter<'a>,
    clusters: CopyClusters,
    splitter: Splitter,
    fingerprint: String,
    /// doc id -> content hash, as committed before this run.
    existing: HashMap<String, String>,
    /// Ids met in this run.
    seen: HashSet<String>,
    report: IndexReport,
    info: IndexInfo,
    commit_every: usize,
    since_commit: usize,
    last_commit: Instant,
}

impl Run<'_> {
    /// Takes one record of a collection: held back when its id repeats.
    fn take(&mut self, document: Document) -> Result<()> {
        if self.held_ids.contains(&document.id) {
            let entry = self
                .held
                .entry(document.id.clone())
                .or_insert_with(|| (document.clone(), 0));
            *entry = (document, entry.1 + 1);
            return Ok(());
        }
        self.put(&document)
    }

    /// Writes the last record of each held-back id.
    fn write_held(&mut self) -> Result<()> {
        let held = std::mem::take(&mut self.held);
        for (id, (document, times)) in held {
            if times > 1 {
                self.report.duplicates += times - 1;
                self.duplicates_found.insert(id);
            }
            self.put(&document)?;
        }
        Ok(())
    }

    fn put(&mut self, document: &Document) -> Result<()> {
        let hash = document.content_hash(&self.fingerprint);
        let duplicate = !self.seen.insert(document.id.clone());
        if duplicate {
            self.report.duplicates += 1;
            self.duplicates_found.insert(document.id.clone());
        }
        let step = step(self.existing.get(&document.id), &hash, duplicate);
        if step == Step::Skip {
            self.report.documents_unchanged += 1;
            return Ok(());
        }
        let units = units(document, &self.splitter);
        let clusters = units
            .iter()
            .map(|u| self.clusters.assign(&u.text))
            .collect::<Result<Vec<u64>>>()?;
        // Replaces earlier units of the same id (a repeat: last wins).
        self.writer
            .put_document(document, &hash, &units, &clusters)?;
        self.report.units_added += units.len();
        match step {
            Step::Replace => self.report.documents_replaced += 1,
            Step::Add => self.report.documents_added += 1,
            Step::Skip | Step::Repeat => {}
        }
        self.since_commit += 1;
        if self.since_commit >= self.commit_every
            || (self.commit_every != usize::MAX && self.last_commit.elapsed() > COMMIT_INTERVAL)
        {
            self.writer.commit(&self.info)?;
            self.report.commits += 1;
            self.since_commit = 0;
            self.last_commit = Instant::now();
        }
        Ok(())
    }

    /// Ends a run that must not delete: commits what was written since
    /// the last commit (except in a rebuild, whose writes are dropped
    /// with its deletion of everything) and reports the documents it
    /// would have deleted as refused.
    fn keep_without_deleting(
        self,
        rebuild: bool,
        previous: &HashMap<String, String>,
    ) -> Result<IndexReport> {
        let Run {
            mut writer,
            mut report,
            since_commit,
            info,
            seen,
            ..
        } = self;
        report.deletions_refused = gone(previous, &seen).len();
        if rebuild {
            // Dropping the writer rolls back to the last commit: the old
            // index, whole.
            drop(writer);
            report.commits = 0;
        } else {
            if since_commit > 0 {
                writer.commit(&info)?;
                report.commits += 1;
            }
            writer.finish()?;
        }
        report.committed = report.commits > 0;
        Ok(report)
    }

    /// Streams one collection: records are read and parsed on a thread of
    /// their own while this one splits and writes. `Ok(Some(_))`: the
    /// file could not be read to its end.
    fn collection(
        &mut self,
        reader: collection::Reader,
        strict: bool,
        progress: &dyn Progress,
    ) -> Result<Option<ReadFailure>> {
        let file = reader.file().to_path_buf();
        let bytes = reader.bytes_read.clone();
        progress.start_bytes(reader.bytes_total, &file.display().to_string());
        let mut documents = 0u64;
        let mut outcome = Ok(());
        let mut unreadable = None;
        let read = read_on_thread(reader, |record| {
            match record {
                Ok(document) => {
                    if let Err(e) = self.take(document) {
                        outcome = Err(e);
                        return false;
                    }
                    documents += 1;
                }
                Err(problem) if problem.kind == collection::ProblemKind::Unreadable => {
                    unreadable = Some(format!("line {}: {}", problem.line, problem.detail));
                    return false;
                }
                Err(problem) if strict => {
                    outcome = Err(Error::Input(format!(
                        "{}: {problem} (--strict stops at the first bad record; without it, bad records are skipped and counted)",
                        file.display()
                    )));
                    return false;
                }
                Err(problem) => {
                    *self
                        .report
                        .skipped
                        .entry(problem.kind.as_str().to_string())
                        .or_default() += 1;
                    if self.report.problems.len() < MAX_PROBLEMS_LISTED {
                        self.report
                            .problems
                            .push(format!("{}:{problem}", file.display()));
                    }
                }
            }
            progress.set_bytes(bytes.load(std::sync::atomic::Ordering::Relaxed), documents);
            true
        });
        progress.finish();
        outcome?;
        let detail = match (read, unreadable) {
            (Ok(repairs), None) => {
                self.report.repairs.add(&repairs);
                return Ok(None);
            }
            (_, Some(detail)) => detail,
            (Err(crash), None) => crash,
        };
        Ok(Some(ReadFailure { file, detail }))
    }
}

/// A collection that could not be read to its end.
struct ReadFailure {
    file: PathBuf,
    detail: String,
}

/// Reads `reader` on a thread of its own, handing each record to `take`
/// until it returns false. The reader's repairs, or, when the reading
/// thread crashed, what it said: a crash must not pass for the end of
/// the file.
fn read_on_thread<R>(
    mut reader: R,
    mut take: impl FnMut(collection::Record) -> bool,
) -> std::result::Result<Repairs, String>
where
    R: Iterator<Item = collection::Record> + RepairsOf + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel::<collection::Record>(512);
    let parser = std::thread::spawn(move || {
        for record in &mut reader {
            if tx.send(record).is_err() {
                break;
            }
        }
        reader.repairs()
    });
    for record in rx {
        if !take(record) {
            break;
        }
    }
    // The receiver is gone: a parser still sending stops.
    parser.join().map_err(|panic| {
        let said = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        format!("reading the file failed: the reader crashed ({said}); please report this as a bug")
    })
}

/// What a record reader repaired on the way.
trait RepairsOf {
    fn repairs(&self) -> Repairs;
}

impl RepairsOf for collection::Reader {
    fn repairs(&self) -> Repairs {
        self.repairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Crashing(usize);

    impl Iterator for Crashing {
        type Item = collection::Record;
        fn next(&mut self) -> Option<collection::Record> {
            self.0 += 1;
            if self.0 > 3 {
                panic!("a reader bug");
            }
            Some(Err(collection::Problem {
                line: self.0,
                kind: collection::ProblemKind::Malformed,
                detail: "bad".into(),
            }))
        }
    }

    impl RepairsOf for Crashing {
        fn repairs(&self) -> Repairs {
            Repairs::default()
        }
    }

    #[test]
    fn a_crashing_reader_is_a_failure_not_the_end_of_the_file() {
        let mut taken = 0;
        let read = read_on_thread(Crashing(0), |_| {
            taken += 1;
            true
        });
        assert_eq!(taken, 3);
        let said = read.unwrap_err();
        assert!(said.contains("a reader bug"), "{said}");
    }

    #[test]
    fn each_document_is_skipped_added_replaced_or_repeated() {
        let hash = |s: &str| s.to_string();
        assert_eq!(step(Some(&hash("h1")), "h1", false), Step::Skip);
        assert_eq!(step(Some(&hash("h1")), "h2", false), Step::Replace);
        assert_eq!(step(None, "h1", false), Step::Add);
        // A repeat is written again even when its content is unchanged
        // (an earlier record of the run may have replaced it).
        assert_eq!(step(Some(&hash("h1")), "h1", true), Step::Repeat);
        assert_eq!(step(None, "h1", true), Step::Repeat);
    }

    #[test]
    fn the_documents_gone_are_the_indexed_ones_not_seen_in_order() {
        let indexed: HashMap<String, String> = ["c", "a", "b", "d"]
            .iter()
            .map(|id| (id.to_string(), format!("hash-{id}")))
            .collect();
        let seen: HashSet<String> = ["b", "e"].iter().map(|s| s.to_string()).collect();
        assert_eq!(gone(&indexed, &seen), ["a", "c", "d"]);
        let all: HashSet<String> = indexed.keys().cloned().collect();
        assert!(gone(&indexed, &all).is_empty());
        assert_eq!(gone(&indexed, &HashSet::new()).len(), 4);
    }

    #[test]
    fn deletions_need_consent_beyond_a_small_share() {
        assert!(!deletions_need_consent(0, 0));
        assert!(!deletions_need_consent(0, 100));
        // Everything: an empty input.
        assert!(deletions_need_consent(3, 3));
        assert!(deletions_need_consent(37_554, 37_554));
        // A handful: fine whatever the share.
        assert!(!deletions_need_consent(1, 5));
        assert!(!deletions_need_consent(10, 20));
        // More than a handful and more than 10%.
        assert!(deletions_need_consent(11, 100));
        assert!(!deletions_need_consent(11, 110));
        assert!(deletions_need_consent(18_000, 37_554));
    }
}
