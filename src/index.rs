//! Building and updating the unit index.
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

use serde::{Deserialize, Serialize};
use tantivy::indexer::UserOperation;
use tantivy::schema::Value;
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{doc, Index, IndexSettings, IndexWriter, TantivyDocument, Term};

use crate::analysis;
use crate::collection::{self, Repairs};
use crate::config::{date_span, Config};
use crate::document::{Document, DocumentRecord};
use crate::error::{Error, Result};
use crate::names::AuthorAliases;
use crate::schema::{Fields, SCHEMA_VERSION};
use crate::split::Splitter;
use crate::unit::{units, Unit};

/// What an index knows about itself, stored with every commit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexInfo {
    pub schema_version: u32,
    pub topic: String,
    /// stance label -> definition
    pub stances: Vec<(String, String)>,
    pub authors: AuthorAliases,
    pub title_boost: f32,
    /// Ids that occurred more than once in the last import: their records
    /// are held back and only the last one written, so an unchanged
    /// collection with duplicates rewrites nothing.
    #[serde(default)]
    pub duplicate_ids: BTreeSet<String>,
}

impl IndexInfo {
    pub fn from_config(config: &Config) -> IndexInfo {
        IndexInfo {
            schema_version: SCHEMA_VERSION,
            topic: config.corpus.topic.clone(),
            stances: config.corpus.stances.clone(),
            authors: config.authors.clone(),
            title_boost: config.index.title_boost,
            duplicate_ids: BTreeSet::new(),
        }
    }
}

/// An open index: tantivy's handle, the field handles and the info.
pub struct UnitIndex {
    pub dir: PathBuf,
    pub index: Index,
    pub fields: Fields,
    pub info: IndexInfo,
}

/// Whether a folder holds an index.
pub fn exists(dir: &Path) -> bool {
    dir.join("meta.json").is_file()
}

impl UnitIndex {
    /// Opens an existing index.
    pub fn open(dir: &Path) -> Result<UnitIndex> {
        if !exists(dir) {
            return Err(Error::NoIndex(dir.to_path_buf()));
        }
        let index = Index::open_in_dir(dir).map_err(|e| Error::tantivy(dir, e))?;
        Self::wrap(dir, index)
    }

    fn wrap(dir: &Path, index: Index) -> Result<UnitIndex> {
        analysis::register(&index);
        let metas = index.load_metas().map_err(|e| Error::tantivy(dir, e))?;
        let info: IndexInfo = metas
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        let version_error = |found: String| Error::IndexVersion {
            dir: dir.to_path_buf(),
            found,
        };
        let fields = Fields::from_schema(index.schema())
            .ok_or_else(|| version_error("its schema lacks nutgraf's fields".into()))?;
        if metas.payload.is_some() && info.schema_version != SCHEMA_VERSION {
            return Err(version_error(format!(
                "schema version {}, this build reads {SCHEMA_VERSION}",
                info.schema_version
            )));
        }
        Ok(UnitIndex {
            dir: dir.to_path_buf(),
            index,
            fields,
            info,
        })
    }

    /// Opens the index in `dir`, creating an empty one if there is none.
    pub fn open_or_create(dir: &Path) -> Result<UnitIndex> {
        if exists(dir) {
            return Self::open(dir);
        }
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            context: format!("cannot create the index folder {}", dir.display()),
            source,
        })?;
        let settings = IndexSettings {
            // zstd keeps the stored paragraphs far smaller than lz4 does.
            // Level 3 in 16 KiB blocks: level 9 in 64 KiB blocks stores
            // AllSides in 15 MB less (6% of the index) but takes 51 µs
            // instead of 19 to read a hit whose block is not cached.
            docstore_compression: Compressor::Zstd(ZstdCompressor {
                compression_level: Some(3),
            }),
            ..IndexSettings::default()
        };
        let index = Index::builder()
            .schema(Fields::new().schema)
            .settings(settings)
            .create_in_dir(dir)
            .map_err(|e| Error::tantivy(dir, e))?;
        Self::wrap(dir, index)
    }

    /// The content hash of every indexed document, by document id.
    pub fn document_hashes(&self) -> Result<HashMap<String, String>> {
        let reader = self
            .index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| Error::tantivy(&self.dir, e))?;
        let searcher = reader.searcher();
        let mut out = HashMap::new();
        let (mut id, mut hash) = (String::new(), String::new());
        for segment in searcher.segment_readers() {
            let ff = segment.fast_fields();
            let ids = ff
                .str(crate::schema::name::DOC_ID)
                .map_err(|e| Error::tantivy(&self.dir, e))?;
            let hashes = ff
                .str(crate::schema::name::DOC_HASH)
                .map_err(|e| Error::tantivy(&self.dir, e))?;
            let (Some(ids), Some(hashes)) = (ids, hashes) else {
                continue;
            };
            let mut seen_ord = HashSet::new();
            for doc in segment.doc_ids_alive() {
                let Some(id_ord) = ids.ords().first(doc) else {
                    continue;
                };
                if !seen_ord.insert(id_ord) {
                    continue;
                }
                let Some(hash_ord) = hashes.ords().first(doc) else {
                    continue;
                };
                id.clear();
                hash.clear();
                let ok = ids.ord_to_str(id_ord, &mut id).unwrap_or(false)
                    && hashes.ord_to_str(hash_ord, &mut hash).unwrap_or(false);
                if ok {
                    out.insert(id.clone(), hash.clone());
                }
            }
        }
        Ok(out)
    }
}

/// Reports indexing progress; the CLI draws a bar, the library stays quiet.
pub trait Progress: Sync {
    /// Starts a phase of `total` documents.
    fn start(&self, _total: u64, _message: &str) {}
    fn advance(&self, _steps: u64) {}
    /// Starts a phase measured in bytes of a file (a collection).
    fn start_bytes(&self, _total: u64, _message: &str) {}
    /// Bytes read so far and documents written so far.
    fn set_bytes(&self, _read: u64, _documents: u64) {}
    fn finish(&self) {}
}

/// Progress that reports nothing.
pub struct Silent;
impl Progress for Silent {}

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
}

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
}

/// Writes units into a tantivy writer.
pub struct UnitWriter<'a> {
    fields: &'a Fields,
    writer: IndexWriter,
    dir: &'a Path,
}

impl<'a> UnitWriter<'a> {
    /// Takes the index's writer lock (a second indexer gets
    /// [`Error::Locked`] at once).
    pub fn new(index: &'a UnitIndex, memory_budget_mb: usize, threads: usize) -> Result<Self> {
        let threads = if threads == 0 {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(4)
        } else {
            threads
        };
        // tantivy needs at least 15 MB per indexing thread.
        let budget = (memory_budget_mb << 20).max(threads * (16 << 20));
        let writer = index
            .index
            .writer_with_num_threads(threads, budget)
            .map_err(|e| Error::tantivy(&index.dir, e))?;
        Ok(UnitWriter {
            fields: &index.fields,
            writer,
            dir: &index.dir,
        })
    }

    /// Deletes every unit of a document.
    pub fn delete_document(&self, doc_id: &str) {
        self.writer
            .delete_term(Term::from_field_text(self.fields.doc_id, doc_id));
    }

    pub fn delete_all(&self) -> Result<()> {
        self.writer
            .delete_all_documents()
            .map(|_| ())
            .map_err(|e| Error::tantivy(self.dir, e))
    }

    /// Replaces a document's units by `units`, as one group: its units
    /// land next to each other, head first, in one segment (a unit finds
    /// its document's record just before it).
    pub fn put_document(&self, document: &Document, hash: &str, units: &[Unit]) -> Result<()> {
        let record = DocumentRecord::new(document, units.len() as u32);
        let mut group = Vec::with_capacity(units.len() + 1);
        group.push(UserOperation::Delete(Term::from_field_text(
            self.fields.doc_id,
            &document.id,
        )));
        for (i, unit) in units.iter().enumerate() {
            let head = (i == 0).then_some(&record);
            group.push(UserOperation::Add(unit_document(
                self.fields,
                unit,
                hash,
                head,
            )));
        }
        self.writer
            .run(group)
            .map(|_| ())
            .map_err(|e| Error::tantivy(self.dir, e))
    }

    /// Commits everything so far atomically, with the index info.
    pub fn commit(&mut self, info: &IndexInfo) -> Result<()> {
        let payload = serde_json::to_string(info).expect("IndexInfo serialises");
        let mut prepared = self
            .writer
            .prepare_commit()
            .map_err(|e| Error::tantivy(self.dir, e))?;
        prepared.set_payload(&payload);
        prepared.commit().map_err(|e| Error::tantivy(self.dir, e))?;
        Ok(())
    }

    /// Waits for merges to finish and releases the lock.
    pub fn finish(self) -> Result<()> {
        self.writer
            .wait_merging_threads()
            .map_err(|e| Error::tantivy(self.dir, e))
    }
}

/// The tantivy document of a unit; `record` is given for the head unit
/// only (the one that stores it).
fn unit_document(
    f: &Fields,
    unit: &Unit,
    hash: &str,
    record: Option<&DocumentRecord>,
) -> TantivyDocument {
    let d = unit.document;
    let mut doc = doc!(
        f.doc_id => d.id.as_str(),
        f.doc_hash => hash,
        f.paragraph => unit.paragraph as u64,
        f.text => unit.text.as_str(),
        f.title => d.title.as_str(),
        f.outlet_value => d.outlet.as_str(),
        f.genre_value => d.genre.as_str(),
        f.stance => unit.stance,
        f.kind => unit.kind.as_str(),
    );
    for author in &d.authors {
        doc.add_text(f.author_value, author);
    }
    // Always a value, and a long list in several (see author_set_values).
    for value in crate::schema::author_set_values(&d.authors) {
        doc.add_text(f.author_set, value);
    }
    if let Some((from, to)) = d.published.as_deref().and_then(date_span) {
        doc.add_u64(f.published_from, from);
        doc.add_u64(f.published_to, to);
    }
    if let Some(record) = record {
        let json = serde_json::to_string(record).expect("a document record serialises");
        doc.add_text(f.document, json);
    }
    doc
}

/// Reads a stored string field of a tantivy document.
pub fn stored_str(doc: &TantivyDocument, field: tantivy::schema::Field) -> Option<&str> {
    doc.get_first(field).and_then(|v| v.as_str())
}

/// Reads a stored u64 field.
pub fn stored_u64(doc: &TantivyDocument, field: tantivy::schema::Field) -> Option<u64> {
    doc.get_first(field).and_then(|v| v.as_u64())
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
    let mut staging = None;
    let index = match UnitIndex::open_or_create(dir) {
        Err(Error::IndexVersion { .. }) if opts.rebuild => {
            let beside = staging_dir(dir);
            remove_dir(&beside)?;
            staging = Some(beside.clone());
            UnitIndex::open_or_create(&beside)?
        }
        other => other?,
    };
    let mut info = IndexInfo::from_config(config);
    let existing = if opts.rebuild {
        HashMap::new()
    } else {
        index.document_hashes()?
    };
    let held_ids = if opts.rebuild {
        BTreeSet::new()
    } else {
        index.info.duplicate_ids.clone()
    };
    info.duplicate_ids = held_ids.clone();
    let mut run = Run {
        held_ids,
        held: BTreeMap::new(),
        writer: UnitWriter::new(&index, config.index.memory_budget_mb, config.index.threads)?,
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
        run.collection(reader, opts.strict, progress)?;
    }
    run.write_held()?;

    let Run {
        mut writer,
        existing,
        seen,
        mut report,
        since_commit,
        mut info,
        duplicates_found,
        ..
    } = run;
    info.duplicate_ids = duplicates_found;
    for id in existing.keys() {
        if !seen.contains(id) {
            writer.delete_document(id);
            report.documents_deleted += 1;
        }
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

/// Where a rebuild of the index at `dir` is staged.
fn staging_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "index".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!("{name}.rebuilding"))
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
        let old = self.existing.get(&document.id);
        if !duplicate && old == Some(&hash) {
            self.report.documents_unchanged += 1;
            return Ok(());
        }
        let units = units(document, &self.splitter);
        // Replaces earlier units of the same id (a duplicate: last wins).
        self.writer.put_document(document, &hash, &units)?;
        self.report.units_added += units.len();
        if !duplicate {
            if old.is_some() {
                self.report.documents_replaced += 1;
            } else {
                self.report.documents_added += 1;
            }
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

    /// Streams one collection: records are read and parsed on a thread of
    /// their own while this one splits and writes.
    fn collection(
        &mut self,
        mut reader: collection::Reader,
        strict: bool,
        progress: &dyn Progress,
    ) -> Result<()> {
        let file = reader.file().to_path_buf();
        let bytes = reader.bytes_read.clone();
        progress.start_bytes(reader.bytes_total, &file.display().to_string());
        let (tx, rx) = std::sync::mpsc::sync_channel::<collection::Record>(512);
        let parser = std::thread::spawn(move || {
            for record in &mut reader {
                if tx.send(record).is_err() {
                    break;
                }
            }
            reader.repairs
        });
        let mut documents = 0u64;
        let mut outcome = Ok(());
        for record in rx {
            match record {
                Ok(document) => {
                    if let Err(e) = self.take(document) {
                        outcome = Err(e);
                        break;
                    }
                    documents += 1;
                }
                Err(problem) if strict => {
                    outcome = Err(Error::Input(format!(
                        "{}: {problem} (--strict stops at the first bad record; without it, bad records are skipped and counted)",
                        file.display()
                    )));
                    break;
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
        }
        // On an error the channel closes and the parser stops.
        let repairs = parser.join().unwrap_or_default();
        progress.finish();
        outcome?;
        self.report.repairs.add(&repairs);
        Ok(())
    }
}
