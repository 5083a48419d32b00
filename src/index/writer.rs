//! Writing units: each unit of a document becomes one tantivy document
//! with its text, title, facet values and stored fields.

use std::path::Path;

use tantivy::index::SegmentId;
use tantivy::indexer::{NoMergePolicy, UserOperation};
use tantivy::{doc, IndexWriter, TantivyDocument, TantivyError, Term};

use crate::error::{Error, Result};
use crate::index::open::{encode_payload, search_threads, IndexInfo, UnitIndex};
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
    /// Segments `finish` leaves (0: one per search thread).
    segments: usize,
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
        // No merges while units are written: tantivy's policy merges
        // segments of like size as they pile up, which leaves one large
        // segment and small ones that no later merge can make even (see
        // `finish`), and the last merge would redo its work.
        writer.set_merge_policy(Box::new(NoMergePolicy));
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
            segments: 0,
        })
    }

    /// Leaves about `segments` segments at the end (0: one per search
    /// thread; see [`UnitWriter::finish`]).
    pub fn leaving_segments(mut self, segments: usize) -> Self {
        self.segments = segments;
        self
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
        let shared = DocumentValues::of(document);
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
                &shared,
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

    /// Releases the writer (and its lock), then merges the committed
    /// segments into about one per search thread (or as many as asked),
    /// of about equal size.
    ///
    /// Every segment costs a query a term lookup and a scorer per word,
    /// however few units it holds, segments beyond one per core add no
    /// parallelism, and the largest segment sets a broad query's time: on
    /// AllSides, queries of few hits took a third less time on two
    /// segments than on the nine tantivy's merge policy left.
    pub fn finish(self) -> Result<()> {
        let index = self.writer.index().clone();
        self.writer
            .wait_merging_threads()
            .map_err(|e| Error::tantivy(self.dir, e))?;
        let parts = match self.segments {
            0 => search_threads(),
            n => n,
        };
        compact(&index, parts).map_err(|e| Error::tantivy(self.dir, e))
    }
}

/// Merges `index`'s segments into at most `parts` of about equal size.
/// The writer's lock is taken again for it, after the import's writer has
/// finished (a segment in a merge cannot join another); when another
/// writer took the lock meanwhile, it will compact the index itself.
fn compact(index: &tantivy::Index, parts: usize) -> tantivy::Result<()> {
    // Only ids and counts are kept: a segment's files stay on disk while
    // anything holds its metadata.
    let sizes: Vec<(SegmentId, u32)> = index
        .searchable_segment_metas()?
        .iter()
        .map(|m| (m.id(), m.num_docs()))
        .collect();
    let groups = merges(&sizes, parts);
    if groups.is_empty() {
        return Ok(());
    }
    release_free_memory();
    let mut writer: IndexWriter = match index.writer_with_num_threads(1, 15_000_000) {
        Ok(writer) => writer,
        Err(TantivyError::LockFailure(..)) => return Ok(()),
        Err(e) => return Err(e),
    };
    writer.set_merge_policy(Box::new(NoMergePolicy));
    // Started together, the merges run side by side on tantivy's merge
    // threads.
    let merging: Vec<_> = groups.iter().map(|group| writer.merge(group)).collect();
    for merge in merging {
        merge.wait()?;
    }
    // The merged segments' files go now, not at the next import.
    writer.garbage_collect_files().wait()?;
    writer.wait_merging_threads()
}

/// Gives the memory the indexing threads freed back to the system, so that
/// a merge's memory comes on top of what the import still uses, not of
/// what it once used: glibc keeps freed memory of other threads' arenas.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused pages of the heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The merges that leave about `parts` segments of about equal size.
/// The segments are put in at most `parts` groups of about equal units
/// (the largest segment first, each to the group holding fewest so far),
/// and a group is merged whole, unless its largest segment dwarfs the
/// others (they hold less than an eighth of its units): then only the
/// others merge, among themselves. So a full import ends with `parts`
/// segments, while an import that changes a few documents of a large
/// index writes its few units again, not half the index.
fn merges<Id: Copy>(segments: &[(Id, u32)], parts: usize) -> Vec<Vec<Id>> {
    let mut by_size: Vec<(Id, u64)> = segments
        .iter()
        .map(|&(id, units)| (id, u64::from(units)))
        .collect();
    by_size.sort_by_key(|&(_, units)| std::cmp::Reverse(units));
    let mut groups: Vec<(u64, Vec<(Id, u64)>)> = Vec::new();
    for segment in by_size {
        if groups.len() < parts.max(1) {
            groups.push((segment.1, vec![segment]));
        } else if let Some(lightest) = groups.iter_mut().min_by_key(|(total, _)| *total) {
            lightest.0 += segment.1;
            lightest.1.push(segment);
        }
    }
    groups
        .into_iter()
        .filter_map(|(total, group)| {
            let largest = group.first()?.1;
            let whole = (total - largest) * 8 >= largest;
            let merged = if whole { &group[..] } else { &group[1..] };
            Some(merged.iter().map(|&(id, _)| id).collect::<Vec<Id>>())
        })
        .filter(|ids| ids.len() > 1)
        .collect()
}

/// Values every unit of a document carries, worked out once for all.
struct DocumentValues {
    author_set: Vec<String>,
    dates: Option<(u64, u64)>,
}

impl DocumentValues {
    fn of(d: &Document) -> DocumentValues {
        DocumentValues {
            author_set: crate::index::schema::author_set_values(&d.authors),
            dates: d.published.as_deref().and_then(date_span),
        }
    }
}

/// The tantivy document of a unit; `record` is given for the head unit
/// only (the one that stores it).
fn unit_document(
    f: &Fields,
    unit: &Unit,
    hash: &str,
    cluster: u64,
    shared: &DocumentValues,
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
    for value in &shared.author_set {
        doc.add_text(f.author_set, value);
    }
    if let Some((from, to)) = shared.dates {
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

    /// A unit index over a tantivy index of this schema.
    fn unit_index(index: Index, fields: Fields) -> UnitIndex {
        analysis::register(&index);
        UnitIndex {
            dir: PathBuf::from("idx"),
            index,
            fields,
            info: IndexInfo::default(),
        }
    }

    /// A document `i` of the given text.
    fn document(i: usize, text: String) -> Document {
        Document {
            id: format!("doc-{i}"),
            title: format!("Title {i}"),
            authors: vec!["A. Writer".into()],
            outlet: "Outlet".into(),
            stance: "neutral".into(),
            genre: "news".into(),
            published: None,
            url: None,
            stance_overrides: BTreeMap::new(),
            text,
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

    #[test]
    fn segments_merge_into_groups_of_about_equal_units() {
        // What tantivy's merge policy left of an AllSides import.
        let sizes = [
            (0, 484_759),
            (1, 62_146),
            (2, 60_638),
            (3, 60_184),
            (4, 60_103),
            (5, 59_276),
            (6, 58_355),
            (7, 31_581),
            (8, 29_654),
        ];
        let units = |group: &Vec<i32>| -> u32 { group.iter().map(|&i| sizes[i as usize].1).sum() };
        // The big segment stays; the eight others become one.
        let two = merges(&sizes, 2);
        assert_eq!(two.len(), 1);
        assert_eq!(units(&two[0]), 421_937);
        let three = merges(&sizes, 3);
        let totals: Vec<u32> = three.iter().map(units).collect();
        assert_eq!(totals.len(), 2);
        assert!(totals[0].abs_diff(totals[1]) <= 31_581, "{totals:?}");
        assert_eq!(merges(&sizes, 1), vec![(0..9).collect::<Vec<_>>()]);
        // As many segments as groups, or fewer: nothing to merge.
        assert!(merges(&sizes[..2], 2).is_empty());
        assert!(merges(&sizes[..2], 4).is_empty());
        assert!(merges::<i32>(&[], 2).is_empty());
        // A few changed documents: their small segments merge among
        // themselves, not into the large ones.
        let later = [(0, 454_780), (1, 451_916), (2, 40), (3, 25), (4, 3)];
        let mut small = merges(&later, 2).concat();
        small.sort();
        assert_eq!(small, vec![2, 3, 4]);
        assert!(merges(&later[..3], 2).is_empty());
    }

    /// However many commits wrote them, the units end in at most one
    /// segment per search thread, every one of them kept.
    #[test]
    fn an_import_ends_with_one_segment_per_search_thread() {
        let fields = Fields::new();
        let index = unit_index(Index::create_in_ram(fields.schema.clone()), fields);
        let splitter = Splitter::new(&Default::default()).unwrap();
        let mut writer = UnitWriter::new(&index, 16, 2).unwrap();
        for i in 0..12 {
            let document = document(
                i,
                format!("First paragraph of {i}.\n\nSecond paragraph of {i}."),
            );
            writer
                .put_document(&document, "hash", &units(&document, &splitter), &[])
                .unwrap();
            writer.commit(&IndexInfo::default()).unwrap();
        }
        let before = index.index.searchable_segment_metas().unwrap().len();
        assert!(before > search_threads(), "{before} segments");
        writer.finish().unwrap();
        let metas = index.index.searchable_segment_metas().unwrap();
        assert!(metas.len() <= search_threads(), "{} segments", metas.len());
        let units: u32 = metas.iter().map(|m| m.num_docs()).sum();
        assert_eq!(units, 24);
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
        let index = unit_index(index, fields);
        let splitter = Splitter::new(&Default::default()).unwrap();
        let mut writer = UnitWriter::new(&index, 16, 1).unwrap();
        let mut failure = None;
        // Enough text to fill the indexing budget and force a flush to
        // the full device, then more writes meet the stopped thread.
        for i in 0..20_000 {
            let document = document(i, format!("Paragraph {i} says something long enough to count, word {i} after word {i}.\n\nAnother paragraph {i}, with more words in it to fill the memory budget sooner."));
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
