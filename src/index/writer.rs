//! Writing units: each unit of a document becomes one tantivy document
//! with its text, title, facet values and stored fields.

use std::path::Path;

use tantivy::indexer::UserOperation;
use tantivy::{doc, IndexWriter, TantivyDocument, TantivyError, Term};

use crate::error::{Error, Result};
use crate::index::open::{encode_payload, IndexInfo, UnitIndex};
use crate::index::schema::Fields;
use crate::model::date::date_span;
use crate::model::document::{Document, DocumentRecord};
use crate::model::unit::Unit;

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
    /// its document's record just before it). `clusters`: each unit's
    /// copy cluster, in order (0: none).
    pub fn put_document(
        &mut self,
        document: &Document,
        hash: &str,
        units: &[Unit],
        clusters: &[u64],
    ) -> Result<()> {
        let record = DocumentRecord::new(document, units.len() as u32);
        let mut group = Vec::with_capacity(units.len() + 1);
        group.push(UserOperation::Delete(Term::from_field_text(
            self.fields.doc_id,
            &document.id,
        )));
        for (i, unit) in units.iter().enumerate() {
            let head = (i == 0).then_some(&record);
            let cluster = clusters.get(i).copied().unwrap_or(0);
            group.push(UserOperation::Add(unit_document(
                self.fields,
                unit,
                hash,
                cluster,
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
    cluster: u64,
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
        f.cluster => cluster,
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

#[cfg(test)]
mod storage_tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use tantivy::directory::error::{DeleteError, OpenReadError, OpenWriteError};
    use tantivy::directory::{
        AntiCallToken, FileHandle, RamDirectory, TerminatingWrite, WatchCallback, WatchHandle,
        WritePtr,
    };
    use tantivy::{Directory, Index, IndexSettings};

    use crate::index::open::{decode_payload, encode_payload};
    use crate::index::schema::SCHEMA_VERSION;
    use crate::ingest::split::{units, Splitter};
    use crate::model::document::Document;
    use crate::text::analysis;

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
            if let Err(e) = writer.put_document(&document, "hash", &units, &[]) {
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
