//! Collections: many documents in one file (JSONL or CSV, plain or
//! gzip-compressed), described in index-config by a `[[collection]]` table
//! with a mapping from the file's fields to nutgraf's.
//!
//! ```toml
//! [[collection]]
//! file = "../../shared/data/allsides/articles.jsonl.gz"
//! source = "AllSides news articles (Baly et al., EMNLP 2020)"
//! [collection.fields]        # nutgraf field = the file's field
//! id = "ID"
//! title = "title"
//! authors = "authors"
//! outlet = "source"
//! stance = "bias_text"
//! published = "date"
//! url = "url"
//! text = "content_original"
//! [collection.constants]     # for fields the file lacks
//! genre = "news"
//! ```
//!
//! Records are read one at a time, so memory does not grow with the file.
//! Real-world mess is cleaned or reported, never fatal unless asked: a
//! record that cannot become a document is a [`Problem`] with its line.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::config::collection::{Collection, Format};
use crate::model::address::web_address;
use crate::model::date::clean_date;
use crate::model::document::Document;
use crate::model::Repairs;
use crate::text::names::AuthorAliases;

/// Why a record did not become a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// Not JSON, not an object, or a CSV row that does not parse.
    Malformed,
    NoId,
    EmptyText,
    UnknownStance,
    /// Two different ids that become the same id once cleaned (`a#1`,
    /// `a-1`): the later record is skipped, not allowed to replace the
    /// earlier.
    IdClash,
    /// The file could not be read on (an I/O error, a compressed stream
    /// cut short or damaged, a last record cut in half): the read ends
    /// here, whatever `--strict` says.
    Unreadable,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Malformed => "malformed record",
            ProblemKind::NoId => "no id",
            ProblemKind::EmptyText => "empty text",
            ProblemKind::UnknownStance => "stance not in the vocabulary",
            ProblemKind::IdClash => "ids that clash once cleaned",
            ProblemKind::Unreadable => "unreadable file",
        }
    }
}

/// A record that was skipped, with where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: usize,
    pub kind: ProblemKind,
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}: {}",
            self.line,
            self.kind.as_str(),
            self.detail
        )
    }
}

/// What a record becomes.
pub type Record = Result<Document, Problem>;

/// Why a row gave no fields: a bad record (skipped and counted), or a
/// read that cannot go on (the end of the collection).
#[derive(Debug, Clone, PartialEq)]
enum RowError {
    Bad(String),
    Fatal(String),
}

/// A record's fields by name, or why it could not be read, with its line.
type Row = (usize, Result<HashMap<String, String>, RowError>);
type Rows = Box<dyn Iterator<Item = Row> + Send>;

/// Counts bytes as they are read (progress in MB/s and ETA).
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An open collection file, yielding records in order.
pub struct Reader {
    lines: Rows,
    collection: Collection,
    aliases: AuthorAliases,
    stances: Vec<String>,
    /// Bytes of the file read so far, and its size.
    pub bytes_read: Arc<AtomicU64>,
    pub bytes_total: u64,
    pub repairs: Repairs,
    taken: usize,
    /// Cleaned id -> the id as written when cleaning changed it, and its
    /// line: two ids that clean alike are a clash, not a replacement.
    ids: HashMap<String, (Option<Box<str>>, usize)>,
    /// A read failed: nothing more is read.
    failed: bool,
}

/// Opens a collection (`input` replaces its file, as `--input` does).
pub fn open(
    collection: &Collection,
    input: Option<&Path>,
    aliases: &AuthorAliases,
    stances: &[String],
) -> Result<Reader, crate::error::Error> {
    let mut collection = collection.clone();
    if let Some(p) = input {
        collection.file = p.to_path_buf();
    }
    let path = &collection.file;
    let file = File::open(path).map_err(|e| {
        let from = collection
            .source
            .as_deref()
            .map(|s| format!("; the data set: {s}"))
            .unwrap_or_default();
        crate::error::Error::Input(format!(
            "{}: cannot open the collection file named at {}:{}: {e}{from}. Pass its path with --input PATH",
            path.display(),
            collection.config_file.display(),
            collection.line,
        ))
    })?;
    let metadata = file.metadata().ok();
    if metadata.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(crate::error::Error::Input(format!(
            "{}: is a folder, not a collection file (JSONL or CSV, plain or .gz); pass the file itself with --input PATH",
            path.display()
        )));
    }
    let bytes_total = metadata.map_or(0, |m| m.len());
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut buffered = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            read: bytes_read.clone(),
        },
    );
    let gz = buffered
        .fill_buf()
        .map(|b| b.starts_with(&[0x1f, 0x8b]))
        .unwrap_or(false);
    let stream: Box<dyn Read + Send> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let lines: Rows = match collection.format {
        Format::Jsonl => Box::new(jsonl_records(BufReader::with_capacity(1 << 16, stream))),
        Format::Csv => Box::new(csv_records(stream)),
    };
    Ok(Reader {
        lines,
        collection,
        aliases: aliases.clone(),
        stances: stances.to_vec(),
        bytes_read,
        bytes_total,
        repairs: Repairs::default(),
        taken: 0,
        ids: HashMap::new(),
        failed: false,
    })
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(value_text)
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

/// JSON objects, one per line, as field maps. A read error ends the
/// rows (it would repeat forever), and so does a last line that is cut
/// short: a file that ends mid-record was not read whole.
fn jsonl_records(mut input: impl BufRead + Send) -> impl Iterator<Item = Row> + Send {
    let mut line_no = 0;
    let mut offset = 0u64;
    let mut buf = Vec::new();
    let mut done = false;
    std::iter::from_fn(move || loop {
        if done {
            return None;
        }
        buf.clear();
        line_no += 1;
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => {
                done = true;
                return Some((
                    line_no,
                    Err(RowError::Fatal(format!(
                        "cannot read it: {e} (after byte {} of its text); the file looks cut short or damaged",
                        offset + buf.len() as u64
                    ))),
                ));
            }
        }
        offset += buf.len() as u64;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = match serde_json::from_slice::<Value>(&buf) {
            Ok(Value::Object(map)) => Ok(map
                .into_iter()
                .filter_map(|(k, v)| value_text(&v).map(|v| (k, v)))
                .collect()),
            Ok(_) => Err(RowError::Bad("not a JSON object".to_string())),
            Err(e) if buf.last() != Some(&b'\n') => {
                done = true;
                Err(RowError::Fatal(format!(
                    "the file ends in the middle of a record ({e}; byte {offset} of the text): it looks cut short"
                )))
            }
            Err(e) => Err(RowError::Bad(format!("not JSON: {e}"))),
        };
        return Some((line_no, parsed));
    })
}

/// Follows the quoting of a CSV stream as the `csv` crate reads it (a
/// quote opens a quoted value only at the start of a value; `""` inside
/// one is a quote), so that a quote never closed is seen at the end: the
/// crate would silently read the rest of the file as one value.
#[derive(Debug, Default)]
struct Quoting {
    state: QuoteState,
    line: usize,
    /// The line where the open quoted value started.
    opened: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum QuoteState {
    #[default]
    ValueStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl Quoting {
    fn feed(&mut self, bytes: &[u8]) {
        use QuoteState::*;
        for &b in bytes {
            let separator = matches!(b, b',' | b'\n' | b'\r');
            self.state = match (self.state, b) {
                (ValueStart, b'"') => {
                    self.opened = self.line + 1;
                    Quoted
                }
                (ValueStart | Unquoted, _) if separator => ValueStart,
                (ValueStart | Unquoted, _) => Unquoted,
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (QuoteInQuoted, _) if separator => ValueStart,
                (QuoteInQuoted, _) => Unquoted,
            };
            if b == b'\n' {
                self.line += 1;
            }
        }
    }
}

/// Reads through, telling [`Quoting`] what passed.
struct QuoteWatch<R> {
    inner: R,
    quoting: Arc<std::sync::Mutex<Quoting>>,
}

impl<R: Read> Read for QuoteWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.quoting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .feed(&buf[..n]);
        Ok(n)
    }
}

/// CSV rows (the first is the header) as field maps. A read error ends
/// the rows; a quote never closed makes its record a bad one.
fn csv_records(input: impl Read + Send) -> impl Iterator<Item = Row> + Send {
    let quoting = Arc::new(std::sync::Mutex::new(Quoting::default()));
    let watched = QuoteWatch {
        inner: input,
        quoting: quoting.clone(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(watched);
    let headers: Result<Vec<String>, RowError> = reader
        .headers()
        .map(|h| h.iter().map(|s| s.trim().to_string()).collect())
        .map_err(|e| match e.kind() {
            csv::ErrorKind::Io(io) => RowError::Fatal(format!("cannot read the header row: {io}")),
            _ => RowError::Bad(format!("no header row: {e}")),
        });
    let mut records = reader.into_records();
    let mut failed_header = headers.clone().err();
    let mut done = false;
    // One record is held back until the next is read: only then is it
    // known whether the file ended inside its quotes.
    let mut ahead: Option<Row> = None;
    let mut next_row = move |headers: &Vec<String>| -> Option<Row> {
        if done {
            return None;
        }
        let record = records.next()?;
        Some(match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line() as usize);
                if r.len() != headers.len() {
                    (
                        line,
                        Err(RowError::Bad(format!(
                            "{} values for {} columns",
                            r.len(),
                            headers.len()
                        ))),
                    )
                } else {
                    (
                        line,
                        Ok(headers
                            .iter()
                            .cloned()
                            .zip(r.iter().map(str::to_string))
                            .collect()),
                    )
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                if let csv::ErrorKind::Io(io) = e.kind() {
                    done = true;
                    (
                        line,
                        Err(RowError::Fatal(format!(
                            "cannot read it: {io}; the file looks cut short or damaged"
                        ))),
                    )
                } else {
                    (line, Err(RowError::Bad(format!("not a CSV row: {e}"))))
                }
            }
        })
    };
    let mut started = false;
    std::iter::from_fn(move || {
        let headers = match &headers {
            Ok(h) => h,
            Err(_) => return failed_header.take().map(|e| (1, Err(e))),
        };
        if !started {
            started = true;
            ahead = next_row(headers);
        }
        let current = ahead.take()?;
        ahead = next_row(headers);
        if ahead.is_none() {
            let q = quoting.lock().unwrap_or_else(|p| p.into_inner());
            if q.state == QuoteState::Quoted && !matches!(current.1, Err(RowError::Fatal(_))) {
                return Some((
                    q.opened,
                    Err(RowError::Bad(format!(
                        "a quote opened on line {} is never closed, so the rest of the file would be one value; close it (a quote inside a quoted value is written \"\")",
                        q.opened
                    ))),
                ));
            }
        }
        Some(current)
    })
}

impl Iterator for Reader {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.failed || self.collection.limit.is_some_and(|l| self.taken >= l) {
            return None;
        }
        let (line, fields) = self.lines.next()?;
        self.taken += 1;
        Some(match fields {
            Err(RowError::Bad(detail)) => Err(Problem {
                line,
                kind: ProblemKind::Malformed,
                detail,
            }),
            Err(RowError::Fatal(detail)) => {
                self.failed = true;
                Err(Problem {
                    line,
                    kind: ProblemKind::Unreadable,
                    detail,
                })
            }
            Ok(fields) => self.document(line, &fields),
        })
    }
}

/// Removes stray quotes and spaces around a name, and doubled spaces in it.
pub fn clean_name(raw: &str) -> String {
    let quotes: &[char] = &['"', '\'', '“', '”', '‘', '’', '`', '«', '»'];
    let trimmed = raw.trim().trim_matches(quotes).trim();
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    words.join(" ")
}

/// An id that is safe in a unit id (`<doc id>#<n>`).
fn clean_id(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| {
            if c == '#' || c.is_whitespace() {
                '-'
            } else {
                c
            }
        })
        .collect()
}

impl Reader {
    /// Remembers which id as written became `id`; a different one that
    /// became the same id earlier is a clash, named with both lines.
    fn claim_id(&mut self, id: &str, raw: &str, line: usize) -> Result<(), Problem> {
        let raw = raw.trim();
        match self.ids.get(id) {
            Some((earlier, earlier_line)) => {
                let earlier = earlier.as_deref().unwrap_or(id);
                if earlier != raw {
                    return Err(Problem {
                        line,
                        kind: ProblemKind::IdClash,
                        detail: format!(
                            "id \"{raw}\" (line {line}) and id \"{earlier}\" (line {earlier_line}) both become \"{id}\" (`#` and spaces become `-` in unit ids); this record was skipped: give the two distinct ids"
                        ),
                    });
                }
            }
            None => {
                let written = (raw != id).then(|| raw.into());
                self.ids.insert(id.to_string(), (written, line));
            }
        }
        Ok(())
    }

    /// The file being read.
    pub fn file(&self) -> &Path {
        &self.collection.file
    }

    fn field(&self, fields: &HashMap<String, String>, name: &str) -> Option<String> {
        self.collection
            .fields
            .get(name)
            .and_then(|source| fields.get(source))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .or_else(|| self.collection.constants.get(name).cloned())
    }

    fn document(&mut self, line: usize, fields: &HashMap<String, String>) -> Record {
        let problem = |kind, detail: String| Problem { line, kind, detail };
        let raw_id = self.field(fields, "id").unwrap_or_default();
        let id = Some(clean_id(&raw_id))
            .filter(|i| !i.is_empty())
            .ok_or_else(|| problem(ProblemKind::NoId, "the id field is empty".into()))?;
        let text = self.field(fields, "text").unwrap_or_default();
        if text.trim().is_empty() {
            return Err(problem(ProblemKind::EmptyText, format!("document {id}")));
        }
        let stance_raw = self.field(fields, "stance").unwrap_or_default();
        let stance = stance_raw.to_lowercase();
        if !self.stances.contains(&stance) {
            return Err(problem(
                ProblemKind::UnknownStance,
                format!(
                    "document {id}: \"{stance_raw}\" is not one of {}",
                    self.stances.join(", ")
                ),
            ));
        }
        let title = match self.field(fields, "title") {
            Some(t) => t,
            None => {
                self.repairs.untitled += 1;
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                let mut t: String = first.trim().chars().take(80).collect();
                if first.trim().chars().count() > 80 {
                    t.push('…');
                }
                t
            }
        };
        let mut authors: Vec<String> = Vec::new();
        if let Some(raw) = self.field(fields, "authors") {
            for part in raw.split(self.collection.authors_separator.as_str()) {
                let name = clean_name(part);
                if name != part.trim() {
                    self.repairs.authors_cleaned += 1;
                }
                if !name.is_empty() {
                    let name = self.aliases.resolve(&name);
                    if !authors.contains(&name) {
                        authors.push(name);
                    }
                }
            }
        }
        let published = match self.field(fields, "published") {
            None => None,
            Some(d) => {
                let clean = clean_date(&d);
                if clean.is_none() {
                    self.repairs.dates_dropped += 1;
                }
                clean
            }
        };
        let url = match self.field(fields, "url") {
            None => None,
            Some(u) => {
                let clean = web_address(&u);
                if clean.is_none() {
                    self.repairs.urls_dropped += 1;
                }
                clean
            }
        };
        self.claim_id(&id, &raw_id, line)?;
        Ok(Document {
            id,
            title,
            authors,
            outlet: self
                .field(fields, "outlet")
                .unwrap_or_else(|| "unknown".into()),
            stance,
            genre: self
                .field(fields, "genre")
                .map(|g| g.to_lowercase())
                .unwrap_or_else(|| "unknown".into()),
            published,
            url,
            stance_overrides: BTreeMap::new(),
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_stray_quotes_and_spaces() {
        assert_eq!(clean_name(" \"Cortney OBrien\" "), "Cortney OBrien");
        assert_eq!(clean_name("“Jane  Doe”"), "Jane Doe");
        assert_eq!(clean_name("'"), "");
    }

    fn rows_of(text: &str) -> Vec<Row> {
        csv_records(std::io::Cursor::new(text.as_bytes().to_vec())).collect()
    }

    #[test]
    fn a_quote_never_closed_is_a_bad_record_with_its_line() {
        let rows = rows_of("id,text\na,\"fine \"\"quoted\"\" text\"\nb,\"open\nc,more\n");
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows[0].1.is_ok());
        let (line, Err(RowError::Bad(detail))) = &rows[1] else {
            panic!("{rows:?}")
        };
        assert_eq!(*line, 3);
        assert!(detail.contains("never closed"), "{detail}");
        // Quotes inside an unquoted value, and a closed multi-line value
        // at the end, are fine.
        let rows = rows_of("id,text\na,5\" tall\nb,\"two\nlines\"");
        assert!(rows.iter().all(|r| r.1.is_ok()), "{rows:?}");
    }

    #[test]
    fn a_read_error_ends_the_rows() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("the disk is gone"))
            }
        }
        let rows: Vec<Row> = jsonl_records(BufReader::new(Failing)).take(5).collect();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(matches!(&rows[0].1, Err(RowError::Fatal(d)) if d.contains("the disk is gone")));
        let rows: Vec<Row> = csv_records(Failing).take(5).collect();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(matches!(rows[0].1, Err(RowError::Fatal(_))));
    }

    #[test]
    fn ids_cannot_break_unit_ids() {
        assert_eq!(clean_id(" a#b c "), "a-b-c");
    }
}
