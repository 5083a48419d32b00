//! Answers as rows that leave the tool: CSV for spreadsheets (RFC 4180,
//! UTF-8 with a byte-order mark, formula-like cells guarded) and JSON
//! Lines for programs, one object a line. [`citation`] makes the rows of
//! an export (every unit a search counts, with its citation); [`batch`]
//! the rows of a batch of queries (one a query, with its counts).
//!
//! Rows are written as they come: nothing here holds more than one row.

use std::io::{self, Write};

use serde::Serialize;

pub mod batch;
pub mod citation;

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// RFC 4180 CSV: a header row, CRLF line ends, quoted where needed.
    Csv,
    /// JSON Lines: one JSON object a line, with exactly the text indexed.
    Jsonl,
}

impl TableFormat {
    pub const NAMES: [&'static str; 2] = ["csv", "jsonl"];

    /// `csv` or `jsonl` (any case).
    pub fn parse(name: &str) -> Option<TableFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(TableFormat::Csv),
            "jsonl" => Some(TableFormat::Jsonl),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Jsonl => "jsonl",
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            TableFormat::Csv => "text/csv; charset=utf-8; header=present",
            TableFormat::Jsonl => "application/x-ndjson; charset=utf-8",
        }
    }
}

/// A file name for the rows of a search: `nutgraf-` and the query's
/// letters and digits, lower-case, runs of anything else as one `-`, at
/// most 60 of them (`nutgraf-section-907.csv`; `nutgraf-all.csv` for an
/// empty query). ASCII only, so every browser and shell takes it as is.
pub fn file_name(query: &str, format: TableFormat) -> String {
    let mut slug = String::new();
    for c in query.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "all" } else { slug };
    format!("nutgraf-{slug}.{}", format.as_str())
}

/// The UTF-8 byte-order mark a CSV starts with: without it, Excel reads
/// a CSV as the system's legacy code page and garbles every accent and
/// curly quote; LibreOffice, Numbers, Google Sheets, pandas and Python's
/// `utf-8-sig` take it as a mark and drop it.
pub const BOM: &[u8] = "\u{feff}".as_bytes();

/// A cell made safe to open in a spreadsheet. A cell that starts with
/// `=`, `+`, `-` or `@` is read as a formula by Excel, LibreOffice and
/// Google Sheets (`=HYPERLINK(…)` in an article would become a live
/// link, `=cmd|…` a command on old Excel); a leading tab or carriage
/// return can hide such a start. These cells get a `'` in front, which
/// spreadsheets read as "text follows". A cell that already starts with
/// `'` gets one too, so the rule can be undone exactly: remove one
/// leading `'` from a cell that has one.
pub fn guard(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The exact text of a cell [`guard`] wrote.
pub fn unguard(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// One row of a table: its cells in the header's order for CSV, itself
/// as a JSON object for JSON Lines.
pub trait Row: Serialize {
    fn cells(&self) -> Vec<String>;
}

/// Writes rows one at a time to `W` (buffered: call
/// [`TableWriter::finish`] at the end).
pub struct TableWriter<W: Write> {
    out: Out<W>,
    /// Applied to each CSV cell after the guard (a terminal's view of
    /// control characters); None writes cells as they are.
    shown: Option<fn(&str) -> String>,
    rows: u64,
}

enum Out<W: Write> {
    // Boxed: the CSV writer's state is ten times the JSON side's.
    Csv(Box<csv::Writer<W>>),
    Jsonl(io::BufWriter<W>),
}

/// Bytes buffered before they are written on: big enough that writes are
/// few, small enough that a reader sees rows come.
const BUFFER: usize = 64 * 1024;

impl<W: Write> TableWriter<W> {
    /// Starts a table: for CSV, the byte-order mark and the header row.
    pub fn new(format: TableFormat, mut out: W, header: &[&str]) -> io::Result<TableWriter<W>> {
        let out = match format {
            TableFormat::Csv => {
                out.write_all(BOM)?;
                let mut csv = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .buffer_capacity(BUFFER)
                    .from_writer(out);
                csv.write_record(header).map_err(csv_error)?;
                Out::Csv(Box::new(csv))
            }
            TableFormat::Jsonl => Out::Jsonl(io::BufWriter::with_capacity(BUFFER, out)),
        };
        Ok(TableWriter {
            out,
            shown: None,
            rows: 0,
        })
    }

    /// CSV cells pass through `shown` before they are written (JSON Lines
    /// escapes control characters itself).
    pub fn showing(mut self, shown: fn(&str) -> String) -> TableWriter<W> {
        self.shown = Some(shown);
        self
    }

    pub fn write(&mut self, row: &impl Row) -> io::Result<()> {
        match &mut self.out {
            Out::Csv(csv) => {
                let cells = row.cells();
                let guarded = cells.iter().map(|c| match self.shown {
                    Some(shown) => shown(&guard(c)),
                    None => guard(c).into_owned(),
                });
                csv.write_record(guarded).map_err(csv_error)?;
            }
            Out::Jsonl(out) => {
                serde_json::to_writer(&mut *out, row).map_err(io::Error::from)?;
                out.write_all(b"\n")?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes out what is buffered and hands back the writer.
    pub fn finish(self) -> io::Result<W> {
        match self.out {
            Out::Csv(csv) => csv.into_inner().map_err(|e| e.into_error()),
            Out::Jsonl(out) => out.into_inner().map_err(|e| e.into_error()),
        }
    }
}

fn csv_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Pair {
        a: String,
        n: u64,
    }

    impl Row for Pair {
        fn cells(&self) -> Vec<String> {
            vec![self.a.clone(), self.n.to_string()]
        }
    }

    #[test]
    fn file_names_are_plain_ascii_slugs() {
        let csv = TableFormat::Csv;
        assert_eq!(file_name("Section 907", csv), "nutgraf-section-907.csv");
        assert_eq!(
            file_name("\"health care\" -Obama", TableFormat::Jsonl),
            "nutgraf-health-care-obama.jsonl"
        );
        assert_eq!(file_name("", csv), "nutgraf-all.csv");
        assert_eq!(
            file_name("Erdoğan\"; rm -rf /", csv),
            "nutgraf-erdo-an-rm-rf.csv"
        );
        assert_eq!(
            file_name(&"x".repeat(500), csv).len(),
            "nutgraf-.csv".len() + 60
        );
    }

    #[test]
    fn formula_like_cells_are_guarded_and_the_guard_undoes_exactly() {
        for cell in ["=1+1", "+1", "-2", "@SUM(A1)", "\t=x", "\r=x", "'quoted"] {
            let g = guard(cell);
            assert_eq!(g, format!("'{cell}"));
            assert_eq!(unguard(&g), cell);
        }
        for cell in ["plain", "", " =not first", "1-2", "“=”"] {
            assert_eq!(guard(cell), cell);
            assert_eq!(unguard(&guard(cell)), cell);
        }
    }

    #[test]
    fn csv_starts_with_a_bom_and_quotes_what_needs_it() {
        let mut w = TableWriter::new(TableFormat::Csv, Vec::new(), &["a", "n"]).unwrap();
        for a in ["x, \"y\"\nz", "=2"] {
            w.write(&Pair { a: a.into(), n: 3 }).unwrap();
        }
        assert_eq!(w.rows(), 2);
        let bytes = w.finish().unwrap();
        assert!(bytes.starts_with(BOM));
        let text = std::str::from_utf8(&bytes[BOM.len()..]).unwrap();
        assert_eq!(text, "a,n\r\n\"x, \"\"y\"\"\nz\",3\r\n'=2,3\r\n");
    }

    #[test]
    fn jsonl_is_one_exact_object_a_line() {
        let mut w = TableWriter::new(TableFormat::Jsonl, Vec::new(), &["a", "n"]).unwrap();
        w.write(&Pair {
            a: "=2\n\u{1b}".into(),
            n: 3,
        })
        .unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(text, "{\"a\":\"=2\\n\\u001b\",\"n\":3}\n");
    }
}
