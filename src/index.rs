//! Building and updating the unit index.
//!
//! Indexing is incremental: each document carries a content hash (text,
//! metadata and splitting rules); an unchanged document is skipped, a
//! changed one is replaced (delete by `doc_id`, then add), and a document
//! gone from the config is deleted. Nothing is committed when nothing
//! changed, so a re-run rewrites nothing. Each commit is atomic and carries
//! an [`IndexInfo`] payload, so the index describes itself to searchers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::schema::Value;
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{doc, Index, IndexSettings, IndexWriter, TantivyDocument, Term};

use crate::analysis;
use crate::config::{date_span, Config};
use crate::document::Document;
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
}

impl IndexInfo {
    pub fn from_config(config: &Config) -> IndexInfo {
        IndexInfo {
            schema_version: SCHEMA_VERSION,
            topic: config.corpus.topic.clone(),
            stances: config.corpus.stances.clone(),
            authors: config.authors.clone(),
            title_boost: config.index.title_boost,
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
    /// Starts a phase with `total` steps (documents or bytes).
    fn start(&self, _total: u64, _message: &str) {}
    fn advance(&self, _steps: u64) {}
    fn finish(&self) {}
}

/// Progress that reports nothing.
pub struct Silent;
impl Progress for Silent {}

/// Options of one indexing run.
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// Start over: delete every unit first (still one atomic commit).
    pub rebuild: bool,
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

    /// Replaces a document's units by `units`.
    pub fn put_document(&self, document: &Document, hash: &str, units: &[Unit]) -> Result<()> {
        self.delete_document(&document.id);
        for unit in units {
            self.writer
                .add_document(unit_document(self.fields, unit, hash))
                .map_err(|e| Error::tantivy(self.dir, e))?;
        }
        Ok(())
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

/// The tantivy document of one unit.
fn unit_document(f: &Fields, unit: &Unit, hash: &str) -> TantivyDocument {
    let d = unit.document;
    let mut doc = doc!(
        f.doc_id => d.id.as_str(),
        f.doc_hash => hash,
        f.paragraph => unit.paragraph as u64,
        f.paragraphs_in_doc => unit.paragraphs_in_doc as u64,
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
    // Always a value (a lone separator for none: an empty string is no
    // value): a column with a value in every row is read directly,
    // without an optional index.
    let sep = crate::schema::AUTHOR_SEPARATOR.to_string();
    if d.authors.is_empty() {
        doc.add_text(f.author_set, &sep);
    } else {
        doc.add_text(f.author_set, d.authors.join(&sep));
    }
    if let Some(p) = &d.published {
        doc.add_text(f.published, p);
        if let Some((from, to)) = date_span(p) {
            doc.add_u64(f.published_from, from);
            doc.add_u64(f.published_to, to);
        }
    }
    if let Some(url) = &d.url {
        doc.add_text(f.url, url);
    }
    doc
}

/// Reads a stored string field of a tantivy document.
pub fn stored_str(doc: &TantivyDocument, field: tantivy::schema::Field) -> Option<&str> {
    doc.get_first(field).and_then(|v| v.as_str())
}

/// Reads every stored string of a (multi-valued) field.
pub fn stored_strs(doc: &TantivyDocument, field: tantivy::schema::Field) -> Vec<String> {
    doc.get_all(field)
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// Reads a stored u64 field.
pub fn stored_u64(doc: &TantivyDocument, field: tantivy::schema::Field) -> Option<u64> {
    doc.get_first(field).and_then(|v| v.as_u64())
}

/// Brings the index at `dir` up to date with the documents `config`
/// describes. Every document is read and checked before anything is
/// written, so a bad file leaves the index as it was.
pub fn update(
    config: &Config,
    dir: &Path,
    opts: &IndexOptions,
    progress: &dyn Progress,
) -> Result<IndexReport> {
    let splitter = Splitter::new(&config.splitting)
        .map_err(|e| Error::Input(format!("{}: [splitting]: {e}", config.path.display())))?;
    let fingerprint = splitter.fingerprint();
    let documents: Vec<Document> = config
        .documents
        .iter()
        .map(|d| d.load())
        .collect::<Result<_, _>>()?;

    let index = UnitIndex::open_or_create(dir)?;
    let info = IndexInfo::from_config(config);
    let existing = if opts.rebuild {
        HashMap::new()
    } else {
        index.document_hashes()?
    };
    let mut writer = UnitWriter::new(&index, config.index.memory_budget_mb, config.index.threads)?;
    let mut report = IndexReport::default();
    if opts.rebuild {
        writer.delete_all()?;
    }

    progress.start(documents.len() as u64, "indexing documents");
    let mut wanted = HashSet::new();
    for document in &documents {
        wanted.insert(document.id.as_str());
        let hash = document.content_hash(fingerprint);
        match existing.get(&document.id) {
            Some(old) if *old == hash => report.documents_unchanged += 1,
            old => {
                let units = units(document, &splitter);
                writer.put_document(document, &hash, &units)?;
                report.units_added += units.len();
                if old.is_some() {
                    report.documents_replaced += 1;
                } else {
                    report.documents_added += 1;
                }
            }
        }
        progress.advance(1);
    }
    for id in existing.keys() {
        if !wanted.contains(id.as_str()) {
            writer.delete_document(id);
            report.documents_deleted += 1;
        }
    }
    progress.finish();

    let changed = opts.rebuild
        || report.documents_added + report.documents_replaced + report.documents_deleted > 0
        || index.info != info;
    if changed {
        writer.commit(&info)?;
        report.committed = true;
    }
    writer.finish()?;
    Ok(report)
}
