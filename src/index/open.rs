//! Opening an index folder: what the index knows about itself (the
//! [`IndexInfo`] payload of every commit), the folder tantivy reads through,
//! and the checks that tell a missing index from a damaged or foreign one.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tantivy::directory::error::{
    DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError,
};
use tantivy::directory::{
    DirectoryLock, FileHandle, FileSlice, Lock, MmapDirectory, WatchCallback, WatchHandle,
    WritePtr, META_LOCK,
};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{doc, Directory, Index, IndexMeta, IndexSettings, TantivyError};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::index::integrity::{self, Problem, Verification};
use crate::index::schema::{Fields, SCHEMA_VERSION};
use crate::text::analysis;
use crate::text::names::AuthorAliases;

/// How many bytes of stored units are compressed together (a hit's
/// reading decompresses its whole block). On AllSides, 8 KiB blocks
/// read a few-hit page perhaps 3-5 % faster (within this machine's noise)
/// but store 6.6 MB more, 12 KiB 2.7 MB more and no faster: tantivy's
/// 16 KiB kept.
const STORE_BLOCK_BYTES: usize = 16384;

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

/// Threads a search runs its segments on: one per core, at most 8. An
/// import leaves at most this many segments (see
/// [`crate::index::writer::UnitWriter::finish`]).
pub fn search_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
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
            // Level 3 in blocks of STORE_BLOCK_BYTES: level 9 in 64 KiB
            // blocks stores AllSides in 15 MB less (6% of the index) but
            // takes 51 µs instead of 19 to read a hit whose block is not
            // cached.
            docstore_compression: Compressor::Zstd(ZstdCompressor {
                compression_level: Some(3),
            }),
            docstore_blocksize: STORE_BLOCK_BYTES,
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
