//! Reading units back from the index: a unit's own stored fields joined
//! with its document's record.
//!
//! The record (title, authors, outlet, genre, date, address, paragraph
//! count) is stored once, on the document's first unit (its head), not on
//! every unit: on a news corpus that is a tenth of the index. A
//! document's units are written as one group, head first, so the head of
//! the unit at address `a` with paragraph `p` is at `a - (p - 1)`; the
//! reader checks that and falls back to a lookup by id when it does not
//! hold. Each record is read once per reader.
//!
//! A unit's paragraph number, kind and stance are read from their columns,
//! not stored as well: stored, they took 5.6 MB of AllSides' store (the
//! paragraph's eight bytes a unit compress badly).

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use tantivy::collector::TopDocs;
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{BooleanQuery, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, DocSet, TantivyDocument, Term, TERMINATED};

use crate::error::{Error, Result};
use crate::index::schema::{name, Fields};
use crate::model::document::DocumentRecord;
use crate::model::unit::unit_id;
use crate::model::UnitView;

/// Reads units of one index generation.
pub struct UnitReader<'a> {
    searcher: &'a tantivy::Searcher,
    fields: &'a Fields,
    dir: &'a Path,
    records: HashMap<String, Arc<DocumentRecord>>,
    /// Records kept at most (then forgotten all at once).
    record_limit: usize,
    /// Every segment's columns of paragraph numbers, kinds, stances and
    /// copy clusters (opened on first use, unless given).
    columns: Option<Arc<UnitColumns>>,
}

/// A unit's stored fields, and its paragraph number (from its column).
struct Stored {
    doc_id: String,
    paragraph: u32,
    text: String,
    record: Option<DocumentRecord>,
}

impl<'a> UnitReader<'a> {
    pub fn new(searcher: &'a tantivy::Searcher, fields: &'a Fields, dir: &'a Path) -> Self {
        UnitReader {
            searcher,
            fields,
            dir,
            records: HashMap::new(),
            record_limit: usize::MAX,
            columns: None,
        }
    }

    /// Reads paragraph numbers, kinds, stances and clusters through
    /// columns already open (opening a segment's column reads its block
    /// index: a third of a small search's reading when done for every
    /// search).
    pub fn with_columns(mut self, columns: Arc<UnitColumns>) -> Self {
        self.columns = Some(columns);
        self
    }

    fn columns(&mut self) -> Arc<UnitColumns> {
        let searcher = self.searcher;
        self.columns
            .get_or_insert_with(|| Arc::new(UnitColumns::open(searcher)))
            .clone()
    }

    /// Keeps at most `limit` document records: a reader that visits a
    /// whole archive (an export) would otherwise keep every record. One
    /// forgotten costs a read of its document's head, mostly in a block
    /// the store has just decompressed.
    pub fn with_record_limit(mut self, limit: usize) -> Self {
        self.record_limit = limit.max(1);
        self
    }

    /// The unit at `addr`, with its document's record.
    pub fn read(&mut self, addr: DocAddress) -> Result<UnitView> {
        let columns = self.columns();
        let mut unit = self.stored(addr, &columns)?;
        let record = match self.records.get(&unit.doc_id) {
            Some(known) => known.clone(),
            None => {
                let record = match unit.record.take() {
                    Some(own) => own,
                    None => self.record_of(addr, &unit.doc_id, unit.paragraph, &columns)?,
                };
                let record = Arc::new(record);
                if self.records.len() >= self.record_limit {
                    self.records.clear();
                }
                self.records.insert(unit.doc_id.clone(), record.clone());
                record
            }
        };
        Ok(UnitView {
            id: unit_id(&unit.doc_id, unit.paragraph),
            doc_id: unit.doc_id,
            paragraph: unit.paragraph,
            paragraphs_in_doc: record.paragraphs,
            title: record.title.clone(),
            authors: record.authors.clone(),
            outlet: record.outlet.clone(),
            stance: columns.label(&columns.stances, addr),
            genre: record.genre.clone(),
            kind: columns.label(&columns.kinds, addr),
            published: record.published.clone(),
            url: record.url.clone(),
            text: unit.text,
            cluster: cluster_name(columns.cluster(addr)),
        })
    }

    /// The copy cluster of the unit at `addr` (0: none).
    pub fn cluster(&mut self, addr: DocAddress) -> u64 {
        self.columns().cluster(addr)
    }

    /// Where a document's paragraph is, if the index has it.
    pub fn address_of(&self, doc_id: &str, paragraph: u32) -> Result<Option<DocAddress>> {
        let f = self.fields;
        let at = Term::from_field_u64(f.paragraph, u64::from(paragraph));
        let query = BooleanQuery::intersection(vec![
            Box::new(TermQuery::new(
                Term::from_field_text(f.doc_id, doc_id),
                IndexRecordOption::Basic,
            )),
            Box::new(RangeQuery::new(
                Bound::Included(at.clone()),
                Bound::Included(at),
            )),
        ]);
        let found = self
            .searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())
            .map_err(|e| Error::tantivy(self.dir, e))?;
        Ok(found.first().map(|&(_, addr)| addr))
    }

    fn stored(&self, addr: DocAddress, columns: &UnitColumns) -> Result<Stored> {
        let doc: TantivyDocument = self
            .searcher
            .doc(addr)
            .map_err(|e| Error::tantivy(self.dir, e))?;
        let f = self.fields;
        let s = |field| stored_str(&doc, field).unwrap_or_default().to_string();
        Ok(Stored {
            doc_id: s(f.doc_id),
            paragraph: columns.paragraph(addr),
            text: s(f.text),
            record: stored_str(&doc, f.document).and_then(|json| serde_json::from_str(json).ok()),
        })
    }

    /// The record of the document a unit belongs to, from its head.
    fn record_of(
        &self,
        addr: DocAddress,
        doc_id: &str,
        paragraph: u32,
        columns: &UnitColumns,
    ) -> Result<DocumentRecord> {
        let head_before = paragraph
            .checked_sub(1)
            .and_then(|back| addr.doc_id.checked_sub(back))
            .map(|doc| DocAddress::new(addr.segment_ord, doc));
        if let Some(head) = head_before {
            let unit = self.stored(head, columns)?;
            if unit.doc_id == doc_id && unit.paragraph == 1 {
                if let Some(record) = unit.record {
                    return Ok(record);
                }
            }
        }
        let head = self.address_of(doc_id, 1)?;
        head.map(|addr| self.stored(addr, columns))
            .transpose()?
            .and_then(|unit| unit.record)
            .ok_or_else(|| Error::Damaged {
                dir: self.dir.to_path_buf(),
                what: format!("document {doc_id:?} has units but no record"),
            })
    }
}

/// Every segment's columns of paragraph numbers, kinds, stances and copy
/// clusters, of one index generation.
#[derive(Default)]
pub struct UnitColumns {
    pub generation: u64,
    paragraphs: Vec<Option<Column<u64>>>,
    kinds: Vec<Option<StrColumn>>,
    stances: Vec<Option<StrColumn>>,
    clusters: Vec<Option<Column<u64>>>,
}

impl UnitColumns {
    pub fn open(searcher: &tantivy::Searcher) -> UnitColumns {
        let segments = searcher.segment_readers();
        UnitColumns {
            generation: searcher.generation().generation_id(),
            paragraphs: segments
                .iter()
                .map(|s| s.fast_fields().u64(name::PARAGRAPH).ok())
                .collect(),
            kinds: segments
                .iter()
                .map(|s| label_column(s, name::KIND))
                .collect(),
            stances: segments
                .iter()
                .map(|s| label_column(s, name::STANCE))
                .collect(),
            clusters: segments.iter().map(cluster_column).collect(),
        }
    }

    /// The paragraph number of the unit at `addr` (0: unknown).
    pub fn paragraph(&self, addr: DocAddress) -> u32 {
        u32::try_from(value_at(&self.paragraphs, addr)).unwrap_or(0)
    }

    /// The copy cluster of the unit at `addr` (0: none).
    pub fn cluster(&self, addr: DocAddress) -> u64 {
        value_at(&self.clusters, addr)
    }

    /// The unit's value in a label column (empty: none).
    fn label(&self, columns: &[Option<StrColumn>], addr: DocAddress) -> String {
        let mut value = String::new();
        if let Some(column) = columns
            .get(addr.segment_ord as usize)
            .and_then(Option::as_ref)
        {
            if let Some(ord) = column.ords().first(addr.doc_id) {
                // An ordinal past the dictionary leaves the value empty.
                let _ = column.ord_to_str(ord, &mut value);
            }
        }
        value
    }
}

fn label_column(segment: &tantivy::SegmentReader, field: &str) -> Option<StrColumn> {
    segment.fast_fields().str(field).ok().flatten()
}

fn value_at(columns: &[Option<Column<u64>>], addr: DocAddress) -> u64 {
    columns
        .get(addr.segment_ord as usize)
        .and_then(Option::as_ref)
        .and_then(|c| c.first(addr.doc_id))
        .unwrap_or(0)
}

/// Adds the units of segment `ord` that `docs` finds, not deleted, to
/// `out` until it holds `limit`.
pub fn first_units(
    docs: &mut dyn DocSet,
    ord: usize,
    segment: &tantivy::SegmentReader,
    limit: usize,
    out: &mut Vec<DocAddress>,
) {
    let alive = segment.alive_bitset();
    let mut doc = docs.doc();
    while doc != TERMINATED && out.len() < limit {
        if alive.is_none_or(|a| a.is_alive(doc)) {
            out.push(DocAddress::new(ord as u32, doc));
        }
        doc = docs.advance();
    }
}

/// A segment's column of copy clusters.
pub fn cluster_column(segment: &tantivy::SegmentReader) -> Option<Column<u64>> {
    segment.fast_fields().u64(name::CLUSTER).ok()
}

/// A copy cluster as users see it (its number, as a string: an id, not
/// a quantity); none for 0, a unit too short to cluster.
pub fn cluster_name(cluster: u64) -> Option<String> {
    (cluster != 0).then(|| cluster.to_string())
}

/// Reads a stored string field of a tantivy document.
pub fn stored_str(doc: &TantivyDocument, field: tantivy::schema::Field) -> Option<&str> {
    doc.get_first(field).and_then(|v| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::{doc, Index, IndexWriter};

    fn unit(f: &Fields, doc_id: &str, paragraph: u64, record: Option<&str>) -> TantivyDocument {
        let mut d = doc!(
            f.doc_id => doc_id,
            f.paragraph => paragraph,
            f.text => format!("text of {doc_id} {paragraph}"),
            f.kind => "body",
            f.stance => "neutral",
        );
        if let Some(r) = record {
            d.add_text(f.document, r);
        }
        d
    }

    fn record(title: &str) -> String {
        serde_json::to_string(&DocumentRecord {
            title: title.into(),
            authors: vec!["A. Writer".into()],
            outlet: "Outlet".into(),
            genre: "news".into(),
            published: Some("2025-03".into()),
            url: None,
            paragraphs: 2,
        })
        .unwrap()
    }

    /// Units written apart from their head (not as a group) still find
    /// their document's record; a unit whose document has no record is a
    /// clear error. (Units written as a group, the indexer's way, are
    /// read throughout the command-line tests.)
    #[test]
    fn units_find_their_document_record() {
        let f = Fields::new();
        let index = Index::create_in_ram(f.schema.clone());
        crate::text::analysis::register(&index);
        let mut w: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let (a, b) = (record("Alpha"), record("Beta"));
        w.add_document(unit(&f, "a", 1, Some(&a))).unwrap();
        w.add_document(unit(&f, "b", 1, Some(&b))).unwrap();
        w.add_document(unit(&f, "a", 2, None)).unwrap();
        w.add_document(unit(&f, "b", 2, None)).unwrap();
        w.add_document(unit(&f, "c", 2, None)).unwrap();
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let mut reader = UnitReader::new(&searcher, &f, Path::new("test-index"));
        let at = |doc| DocAddress::new(0, doc);

        let a2 = reader.read(at(2)).unwrap();
        assert_eq!((a2.id.as_str(), a2.title.as_str()), ("a#2", "Alpha"));
        assert_eq!(a2.authors, vec!["A. Writer".to_string()]);
        assert_eq!(a2.paragraphs_in_doc, 2);
        assert_eq!(a2.published.as_deref(), Some("2025-03"));
        assert_eq!(a2.text, "text of a 2");
        // Neither a#2 nor b#2 has its head one unit before it.
        let b2 = reader.read(at(3)).unwrap();
        assert_eq!((b2.id.as_str(), b2.title.as_str()), ("b#2", "Beta"));
        let b1 = reader.read(at(1)).unwrap();
        assert_eq!(b1.title, "Beta");

        let err = reader.read(at(4)).unwrap_err().to_string();
        assert!(err.contains("\"c\"") && err.contains("--rebuild"), "{err}");
    }
}
