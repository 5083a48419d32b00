//! Units as `_bulk` NDJSON: for each unit an action line naming the index
//! and the unit id as `_id` (a second export overwrites rather than
//! doubles), then the unit. Gathered into [`Batch`]es of at most a given
//! size, a unit never split across two: each is one `_bulk` request,
//! written to a numbered file ([`BulkFiles`]) or sent
//! (`super::upload`).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::date::{date_precision, date_span};
use crate::model::UnitView;

/// Bytes per file unless asked otherwise: the size the engines' guides
/// suggest for one bulk request (5–15 MB).
pub const DEFAULT_BATCH_BYTES: usize = 5 * 1024 * 1024;

/// A unit as the cluster stores it (see [`super::mapping`]).
pub fn document(u: &UnitView) -> Value {
    let span = u.published.as_deref().and_then(date_span);
    let day = |ymd: u64| {
        format!(
            "{:04}-{:02}-{:02}",
            ymd / 10_000,
            ymd / 100 % 100,
            ymd % 100
        )
    };
    json!({
        "id": u.id,
        "doc_id": u.doc_id,
        "paragraph": u.paragraph,
        "paragraphs_in_doc": u.paragraphs_in_doc,
        "title": u.title,
        "authors": u.authors,
        "outlet": u.outlet,
        "stance": u.stance,
        "genre": u.genre,
        "kind": u.kind,
        "published": u.published,
        "published_from": span.map(|(from, _)| day(from)),
        "published_to": span.map(|(_, to)| day(to)),
        "date_precision": date_precision(u.published.as_deref()),
        "url": u.url,
        "cluster": u.cluster,
        // What `--collapse` folds on: the copy cluster, or the unit alone.
        "fold": u.cluster.as_deref().unwrap_or(&u.id),
        "text": u.text,
    })
}

/// The two lines of one unit, each ending with a newline.
pub fn lines(index: &str, u: &UnitView) -> String {
    let action = json!({ "index": { "_index": index, "_id": u.id } });
    format!("{action}\n{}\n", document(u))
}

/// One `_bulk` request body and the unit ids it carries, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub body: String,
    pub ids: Vec<String>,
}

/// Gathers units into batches of at most `max_bytes` (a unit larger than
/// that alone is a batch of its own): what both the bulk files and a
/// direct export send, so a batch number means the same units in both.
pub struct Batches {
    index: String,
    max_bytes: usize,
    open: Batch,
}

impl Batches {
    pub fn new(index: &str, max_bytes: usize) -> Batches {
        Batches {
            index: index.to_string(),
            max_bytes: max_bytes.max(1),
            open: Batch::default(),
        }
    }

    /// Adds a unit; returns the batch it closed when it did not fit.
    pub fn push(&mut self, u: &UnitView) -> Option<Batch> {
        let pair = lines(&self.index, u);
        let closed =
            if !self.open.ids.is_empty() && self.open.body.len() + pair.len() > self.max_bytes {
                Some(std::mem::take(&mut self.open))
            } else {
                None
            };
        self.open.body.push_str(&pair);
        self.open.ids.push(u.id.clone());
        closed
    }

    /// The last batch, unless there is none.
    pub fn finish(self) -> Option<Batch> {
        (!self.open.ids.is_empty()).then_some(self.open)
    }
}

/// Writes units into `bulk-00001.ndjson`, `bulk-00002.ndjson`, … in a
/// folder, one [`Batch`] a file.
pub struct BulkFiles {
    dir: PathBuf,
    batches: Batches,
    /// The files written so far.
    pub files: Vec<PathBuf>,
    pub units: u64,
}

impl BulkFiles {
    pub fn new(dir: &Path, index: &str, max_bytes: usize) -> BulkFiles {
        BulkFiles {
            dir: dir.to_path_buf(),
            batches: Batches::new(index, max_bytes),
            files: Vec::new(),
            units: 0,
        }
    }

    fn write_file(&mut self, batch: &Batch) -> Result<()> {
        let path = self
            .dir
            .join(format!("bulk-{:05}.ndjson", self.files.len() + 1));
        std::fs::write(&path, &batch.body).map_err(|e| Error::Io {
            context: format!("writing bulk files in {}", self.dir.display()),
            source: e,
        })?;
        self.files.push(path);
        Ok(())
    }

    pub fn write(&mut self, u: &UnitView) -> Result<()> {
        if let Some(batch) = self.batches.push(u) {
            self.write_file(&batch)?;
        }
        self.units += 1;
        Ok(())
    }

    /// Writes the last file.
    pub fn finish(mut self) -> Result<(Vec<PathBuf>, u64)> {
        let rest = std::mem::replace(&mut self.batches, Batches::new("", 1)).finish();
        if let Some(batch) = rest {
            self.write_file(&batch)?;
        }
        Ok((self.files, self.units))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, published: Option<&str>) -> UnitView {
        UnitView {
            id: id.into(),
            doc_id: id.split('#').next().unwrap().into(),
            paragraph: 2,
            paragraphs_in_doc: 5,
            title: "A title".into(),
            authors: vec!["Jane Doe".into(), "John Roe".into()],
            outlet: "Daily Planet".into(),
            stance: "left".into(),
            genre: "news".into(),
            kind: "body".into(),
            published: published.map(String::from),
            url: Some("https://example.org/a".into()),
            text: "Line \"quoted\"\nand a second line.".into(),
            cluster: None,
        }
    }

    #[test]
    fn an_action_line_names_the_index_and_the_unit_id() {
        // The shape of the engines' documentation:
        // {"index":{"_index":"test","_id":"1"}} then the source.
        let text = lines("nutgraf", &unit("a#2", Some("2019-10")));
        let rows: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 2, "{text}");
        assert_eq!(
            rows[0],
            json!({"index": {"_index": "nutgraf", "_id": "a#2"}})
        );
        assert_eq!(rows[1]["authors"], json!(["Jane Doe", "John Roe"]));
        assert_eq!(rows[1]["published_from"], "2019-10-01");
        assert_eq!(rows[1]["published_to"], "2019-10-31");
        assert_eq!(rows[1]["date_precision"], "month");
        assert_eq!(rows[1]["text"], "Line \"quoted\"\nand a second line.");
        assert!(text.ends_with('\n'));
        let undated = lines("nutgraf", &unit("b#1", None));
        let doc: Value = serde_json::from_str(undated.lines().nth(1).unwrap()).unwrap();
        assert!(doc["published_from"].is_null());
        assert_eq!(doc["date_precision"], "undated");
    }

    #[test]
    fn files_stay_under_the_bound_and_never_split_a_unit() {
        let dir = tempfile::tempdir().unwrap();
        let pair = lines("n", &unit("a#1", Some("2019"))).len();
        let mut files = BulkFiles::new(dir.path(), "n", pair * 3 + 1);
        for i in 0..10 {
            files.write(&unit(&format!("a#{i}"), Some("2019"))).unwrap();
        }
        let (written, units) = files.finish().unwrap();
        assert_eq!(units, 10);
        assert_eq!(written.len(), 4, "3 + 3 + 3 + 1 units");
        let mut all = String::new();
        for f in &written {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(text.len() <= pair * 3 + 1);
            assert_eq!(text.lines().count() % 2, 0);
            all.push_str(&text);
        }
        assert_eq!(all.lines().count(), 20);
        assert!(written[0].ends_with("bulk-00001.ndjson"));
    }
}
