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
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tantivy::directory::error::{
    DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError,
};
use tantivy::directory::{
    DirectoryLock, FileHandle, FileSlice, Lock, MmapDirectory, WatchCallback, WatchHandle,
    WritePtr, INDEX_WRITER_LOCK, META_LOCK,
};
use tantivy::indexer::UserOperation;
use tantivy::schema::Value;
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{
    doc, Directory, Index, IndexMeta, IndexSettings, IndexWriter, TantivyDocument, TantivyError,
    Term,
};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::index::integrity::{self, Problem, Verification};
use crate::index::schema::{Fields, SCHEMA_VERSION};
use crate::ingest::collection;
use crate::ingest::split::{units, Splitter};
use crate::model::date::date_span;
use crate::model::document::{Document, DocumentRecord};
use crate::model::unit::Unit;
use crate::model::{IndexReport, Repairs};
use crate::text::analysis;
use crate::text::names::AuthorAliases;

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

/// Whether a folder holds files of a tantivy index (with or without its
/// `meta.json`): such a folder is never taken for an empty one.
pub fn holds_index_files(dir: &Path) -> bool {
    const SEGMENT_FILES: [&str; 7] = [
        ".idx",
        ".term",
        ".pos",
        ".store",
        ".fast",
        ".fieldnorm",
        ".del",
    ];
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        name == ".managed.json" || SEGMENT_FILES.iter().any(|ext| name.ends_with(ext))
    })
}

/// The index folder as tantivy sees it: memory-mapped, except that a
/// reader does without its lock when the lock file cannot be created.
/// tantivy takes that lock (`.tantivy-meta.lock`) only while it opens a
/// segment's files, so that a writer's clean-up cannot delete them
/// meanwhile; in a folder where no file can be created there is no
/// writer to fear, and a read-only index stays searchable.
#[derive(Clone, Debug)]
struct IndexFolder(MmapDirectory);

/// A lock that holds nothing.
struct NoLock;

impl Directory for IndexFolder {
    fn get_file_handle(
        &self,
        path: &Path,
    ) -> std::result::Result<Arc<dyn FileHandle>, OpenReadError> {
        self.0.get_file_handle(path)
    }
    fn open_read(&self, path: &Path) -> std::result::Result<FileSlice, OpenReadError> {
        self.0.open_read(path)
    }
    fn delete(&self, path: &Path) -> std::result::Result<(), DeleteError> {
        self.0.delete(path)
    }
    fn exists(&self, path: &Path) -> std::result::Result<bool, OpenReadError> {
        self.0.exists(path)
    }
    fn open_write(&self, path: &Path) -> std::result::Result<WritePtr, OpenWriteError> {
        self.0.open_write(path)
    }
    fn atomic_read(&self, path: &Path) -> std::result::Result<Vec<u8>, OpenReadError> {
        self.0.atomic_read(path)
    }
    fn atomic_write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
        self.0.atomic_write(path, data)
    }
    fn sync_directory(&self) -> std::io::Result<()> {
        self.0.sync_directory()
    }
    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.0.watch(watch_callback)
    }
    fn acquire_lock(&self, lock: &Lock) -> std::result::Result<DirectoryLock, LockError> {
        match self.0.acquire_lock(lock) {
            Err(LockError::IoError(_)) if lock.filepath == META_LOCK.filepath => {
                Ok(DirectoryLock::from(Box::new(NoLock)))
            }
            other => other,
        }
    }
}

/// Opens the tantivy index in `dir` (which has a `meta.json`).
fn open_folder(dir: &Path) -> Result<Index> {
    let folder = MmapDirectory::open(dir).map_err(|e| match e {
        OpenDirectoryError::IoError { io_error, .. } => Error::Storage {
            dir: dir.to_path_buf(),
            doing: "opening the index folder".into(),
            source: io_error,
        },
        e => Error::tantivy(dir, TantivyError::from(e)),
    })?;
    Index::open(IndexFolder(folder)).map_err(|e| Error::tantivy(dir, e))
}

/// How the commit payload ends: a checksum of the info before it, as
/// `meta.json` has none of its own. The payload stays one JSON object
/// (another nutgraf ignores the extra key).
const CHECKSUM_KEY: &str = ",\"checksum\":\"";

fn payload_sum(json: &str) -> String {
    blake3::hash(json.as_bytes()).to_hex()[..16].to_string()
}

/// The commit payload for `info`: its JSON with the checksum of that
/// JSON as a last key.
pub fn encode_payload(info: &IndexInfo) -> String {
    let json = serde_json::to_string(info).expect("IndexInfo serialises");
    let open = json.strip_suffix('}').expect("IndexInfo is a JSON object");
    format!("{open}{CHECKSUM_KEY}{}\"}}", payload_sum(&json))
}

/// The index info in a commit payload. One without the checksum key (an
/// earlier nutgraf's) is read as it is.
pub fn decode_payload(payload: &str) -> std::result::Result<IndexInfo, Problem> {
    let damaged = |problem: String| Problem::damage("meta.json", problem);
    let checked = payload
        .strip_suffix("\"}")
        .and_then(|p| p.rsplit_once(CHECKSUM_KEY))
        .filter(|(_, sum)| sum.len() == 16 && sum.bytes().all(|b| b.is_ascii_hexdigit()));
    if let Some((open, sum)) = checked {
        if payload_sum(&format!("{open}}}")) != sum {
            return Err(damaged(
                "its nutgraf payload disagrees with its checksum".into(),
            ));
        }
    }
    serde_json::from_str(payload).map_err(|e| {
        // Another version's info: say so rather than call it damaged.
        let version = serde_json::from_str::<serde_json::Value>(payload)
            .ok()
            .and_then(|v| v.get("schema_version").and_then(|n| n.as_u64()));
        match version {
            Some(v) if v != u64::from(SCHEMA_VERSION) => Problem::version(
                "meta.json",
                format!("schema version {v}, this build reads {SCHEMA_VERSION}"),
            ),
            _ => damaged(format!("its nutgraf payload is unreadable ({e})")),
        }
    })
}

/// What `meta.json` says, checked: nutgraf's info from the payload and
/// the field handles of a schema that must be this build's.
fn read_meta(
    index: &Index,
    metas: &IndexMeta,
) -> std::result::Result<(IndexInfo, Fields), Problem> {
    let info = match metas.payload.as_deref() {
        Some(payload) => Some(decode_payload(payload)?),
        None if !metas.segments.is_empty() => {
            return Err(Problem::damage(
                "meta.json",
                "it lists segments but no nutgraf payload",
            ))
        }
        None => None,
    };
    if let Some(info) = &info {
        if info.schema_version != SCHEMA_VERSION {
            return Err(Problem::version(
                "meta.json",
                format!(
                    "schema version {}, this build reads {SCHEMA_VERSION}",
                    info.schema_version
                ),
            ));
        }
    }
    let schema = index.schema();
    let Some(fields) = Fields::from_schema(schema.clone()) else {
        return Err(match info {
            // The payload says this version: the schema was damaged.
            Some(_) => Problem::damage("meta.json", "its schema lacks nutgraf's fields"),
            None => Problem::version("meta.json", "its schema lacks nutgraf's fields"),
        });
    };
    if info.is_some() {
        let expected = Fields::new().schema;
        if schema != expected {
            let differs = expected
                .fields()
                .find(|(field, entry)| {
                    let same = schema
                        .get_field(entry.name())
                        .ok()
                        .filter(|f| f == field)
                        .is_some_and(|f| schema.get_field_entry(f) == *entry);
                    !same
                })
                .map_or_else(
                    || "its schema has fields this build does not write".to_string(),
                    |(_, entry)| {
                        format!(
                            "its schema's field {} differs from this build's",
                            entry.name()
                        )
                    },
                );
            return Err(Problem::damage("meta.json", differs));
        }
    }
    Ok((info.unwrap_or_default(), fields))
}

impl UnitIndex {
    /// Opens an existing index, checking the files that changed since
    /// they were last found intact (see [`integrity`]).
    pub fn open(dir: &Path) -> Result<UnitIndex> {
        Self::open_verified(dir, Verification::Changed)
    }

    /// Opens an existing index, checking its files as `how` says.
    pub fn open_verified(dir: &Path, how: Verification) -> Result<UnitIndex> {
        let index = Self::open_unverified(dir)?;
        let metas = index
            .index
            .load_metas()
            .map_err(|e| Error::tantivy(dir, e))?;
        let checked = integrity::verify_files(dir, &index.index, &metas, how)?;
        match integrity::error_for(dir, &checked.problems) {
            Some(e) => Err(e),
            None => Ok(index),
        }
    }

    /// Opens an existing index, checking `meta.json` only.
    pub fn open_unverified(dir: &Path) -> Result<UnitIndex> {
        if !exists(dir) {
            if holds_index_files(dir) {
                return Err(Error::Damaged {
                    dir: dir.to_path_buf(),
                    what: "meta.json: missing, beside the files of segments".into(),
                });
            }
            return Err(Error::NoIndex(dir.to_path_buf()));
        }
        let index = open_folder(dir)?;
        Self::wrap(dir, index)
    }

    fn wrap(dir: &Path, index: Index) -> Result<UnitIndex> {
        analysis::register(&index);
        let metas = index.load_metas().map_err(|e| Error::tantivy(dir, e))?;
        let (info, fields) = read_meta(&index, &metas).map_err(|p| p.into_error(dir))?;
        Ok(UnitIndex {
            dir: dir.to_path_buf(),
            index,
            fields,
            info,
        })
    }

    /// Opens the index in `dir`, creating an empty one if there is none.
    pub fn open_or_create(dir: &Path) -> Result<UnitIndex> {
        // Files without `meta.json` are a damaged index, not none.
        if exists(dir) || holds_index_files(dir) {
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
        let metas = self
            .index
            .load_metas()
            .map_err(|e| Error::tantivy(&self.dir, e))?;
        let problems = integrity::reader_problems(&searcher, &metas, &self.fields);
        if let Some(e) = integrity::error_for(&self.dir, &problems) {
            return Err(e);
        }
        let mut out = HashMap::new();
        let (mut id, mut hash) = (String::new(), String::new());
        for segment in searcher.segment_readers() {
            let ff = segment.fast_fields();
            let ids = ff
                .str(crate::index::schema::name::DOC_ID)
                .map_err(|e| Error::tantivy(&self.dir, e))?;
            let hashes = ff
                .str(crate::index::schema::name::DOC_HASH)
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
    /// Lets a run delete more than [`deletions_need_consent`] allows
    /// (`--allow-deletions`).
    pub allow_deletions: bool,
}

/// A run may delete at most this many documents without
/// `--allow-deletions`, whatever the share...
pub const DELETIONS_ALLOWED: usize = 10;
/// ... or at most this share (in percent) of the index's documents.
pub const DELETIONS_ALLOWED_PERCENT: usize = 10;

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
        let writer: IndexWriter = index
            .index
            .writer_with_num_threads(threads, budget)
            .map_err(|e| Error::tantivy(&index.dir, e))?;
        // Files a killed run or a full disk left behind (written, never
        // committed) go now: a run that commits nothing would keep them.
        writer
            .garbage_collect_files()
            .wait()
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
    pub fn put_document(&mut self, document: &Document, hash: &str, units: &[Unit]) -> Result<()> {
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
        match self.writer.run(group) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.failure(e)),
        }
    }

    /// The error to report for a failed write. When an indexing thread
    /// stopped on an error (a full disk, say), tantivy reports only that
    /// "the index writer was killed"; joining the threads, as preparing a
    /// commit does, gives the error that killed it.
    fn failure(&mut self, e: TantivyError) -> Error {
        if matches!(&e, TantivyError::ErrorInThread(m) if m.contains("killed")) {
            match self.writer.prepare_commit() {
                Err(cause) => return Error::tantivy(self.dir, cause),
                Ok(prepared) => {
                    let _ = prepared.abort();
                }
            }
        }
        Error::tantivy(self.dir, e)
    }

    /// Commits everything so far atomically, with the index info.
    pub fn commit(&mut self, info: &IndexInfo) -> Result<()> {
        let payload = encode_payload(info);
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
    for value in crate::index::schema::author_set_values(&d.authors) {
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

    let mut gone: Vec<&String> = previous
        .keys()
        .filter(|id| !run.seen.contains(*id))
        .collect();
    if !opts.allow_deletions && deletions_need_consent(gone.len(), previous.len()) {
        gone.sort();
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
        ..
    } = run;
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
        report.deletions_refused = previous.keys().filter(|id| !seen.contains(*id)).count();
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

#[cfg(test)]
mod storage_tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tantivy::directory::{AntiCallToken, RamDirectory, TerminatingWrite};

    /// A folder on a device that is full after `room` bytes.
    #[derive(Clone, Debug)]
    struct SmallDevice {
        files: RamDirectory,
        room: Arc<AtomicUsize>,
    }

    impl SmallDevice {
        fn take(&self, n: usize) -> std::io::Result<()> {
            self.room
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |room| {
                    room.checked_sub(n)
                })
                .map(|_| ())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::StorageFull))
        }
    }

    struct OnSmallDevice {
        file: WritePtr,
        device: SmallDevice,
    }

    impl Write for OnSmallDevice {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.device.take(buf.len())?;
            self.file.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.file.flush()
        }
    }

    impl TerminatingWrite for OnSmallDevice {
        fn terminate_ref(&mut self, token: AntiCallToken) -> std::io::Result<()> {
            self.file.terminate_ref(token)
        }
    }

    impl Directory for SmallDevice {
        fn get_file_handle(
            &self,
            path: &Path,
        ) -> std::result::Result<Arc<dyn FileHandle>, OpenReadError> {
            self.files.get_file_handle(path)
        }
        fn delete(&self, path: &Path) -> std::result::Result<(), DeleteError> {
            self.files.delete(path)
        }
        fn exists(&self, path: &Path) -> std::result::Result<bool, OpenReadError> {
            self.files.exists(path)
        }
        fn open_write(&self, path: &Path) -> std::result::Result<WritePtr, OpenWriteError> {
            let file = self.files.open_write(path)?;
            Ok(std::io::BufWriter::new(Box::new(OnSmallDevice {
                file,
                device: self.clone(),
            })))
        }
        fn atomic_read(&self, path: &Path) -> std::result::Result<Vec<u8>, OpenReadError> {
            self.files.atomic_read(path)
        }
        fn atomic_write(&self, path: &Path, data: &[u8]) -> std::io::Result<()> {
            self.take(data.len())?;
            self.files.atomic_write(path, data)
        }
        fn sync_directory(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
            self.files.watch(watch_callback)
        }
    }

    #[test]
    fn the_payload_carries_a_checksum_of_the_info() {
        let mut info = IndexInfo {
            schema_version: SCHEMA_VERSION,
            topic: "a topic".into(),
            title_boost: 2.0,
            ..IndexInfo::default()
        };
        info.duplicate_ids.insert("a#1".into());
        let payload = encode_payload(&info);
        assert_eq!(decode_payload(&payload).unwrap(), info);
        // Still one JSON object, readable by a nutgraf without checksums.
        let plain: IndexInfo = serde_json::from_str(&payload).unwrap();
        assert_eq!(plain, info);
        // A changed value that still parses is caught.
        let changed = payload.replace("2.0", "3.0");
        let problem = decode_payload(&changed).unwrap_err();
        assert!(problem.problem.contains("checksum"), "{problem:?}");
        // An earlier nutgraf's payload, without the checksum, is read.
        let legacy = serde_json::to_string(&info).unwrap();
        assert_eq!(decode_payload(&legacy).unwrap(), info);
        // Another version's payload is a version problem, not damage.
        let other = decode_payload(r#"{"schema_version": 1, "old": true}"#).unwrap_err();
        assert_eq!(other.kind, crate::index::integrity::ProblemKind::Version);
    }

    /// A full disk is reported as one, not as "the index writer was
    /// killed" (what tantivy says once its indexing thread has stopped).
    #[test]
    fn a_full_disk_is_reported_as_no_space_left() {
        let fields = Fields::new();
        let device = SmallDevice {
            files: RamDirectory::create(),
            room: Arc::new(AtomicUsize::new(200_000)),
        };
        let index = Index::create(device, fields.schema.clone(), IndexSettings::default()).unwrap();
        analysis::register(&index);
        let index = UnitIndex {
            dir: PathBuf::from("idx"),
            index,
            fields,
            info: IndexInfo::default(),
        };
        let splitter = Splitter::new(&Default::default()).unwrap();
        let mut writer = UnitWriter::new(&index, 16, 1).unwrap();
        let mut failure = None;
        // Enough text to fill the indexing budget and force a flush to
        // the full device, then more writes meet the stopped thread.
        for i in 0..20_000 {
            let document = Document {
                id: format!("doc-{i}"),
                title: format!("Title {i}"),
                authors: vec!["A. Writer".into()],
                outlet: "Outlet".into(),
                stance: "neutral".into(),
                genre: "news".into(),
                published: None,
                url: None,
                stance_overrides: BTreeMap::new(),
                text: format!("Paragraph {i} says something long enough to count, word {i} after word {i}.\n\nAnother paragraph {i}, with more words in it to fill the memory budget sooner."),
            };
            let units = units(&document, &splitter);
            if let Err(e) = writer.put_document(&document, "hash", &units) {
                failure = Some(e);
                break;
            }
        }
        let failure = match failure {
            Some(e) => e,
            None => writer.commit(&IndexInfo::default()).unwrap_err(),
        };
        let message = failure.to_string();
        assert!(
            matches!(failure, Error::Storage { .. })
                && message.contains("no space left on the device holding idx"),
            "{message}"
        );
        assert!(!message.contains("killed"), "{message}");
    }
}
