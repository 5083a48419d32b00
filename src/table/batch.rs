//! The rows of a batch: a file of queries in, one row per query out,
//! with its count, its counts per stance and its top outlets, its first
//! and last date and its best match.
//!
//! The file is a query file as `nutgraf bench` reads it (one query a
//! line, filters after tabs: `healthcare<TAB>stance=left`), or, when its
//! name ends in `.csv`, a CSV file whose records hold the same fields
//! (`healthcare,stance=left`; a first record `query` is a header). A
//! line that cannot be read or searched gets a row with its error, and
//! the batch goes on.

use std::path::Path;

use serde::Serialize;

use super::Row;
use crate::error::{Error, Result};
use crate::search::query_file::{parse_query_line, query_from_fields, QueryLine};
use crate::search::{FacetCounts, MatchSummary, SearchService};

/// One line of a batch file.
#[derive(Debug)]
pub struct BatchLine {
    /// 1-based line number in the file (of a CSV record, where it starts).
    pub line: u64,
    /// The query as written (for the row of a line that cannot be read).
    pub text: String,
    pub query: Result<QueryLine>,
}

/// Reads a batch file: every line but blank ones and `#` comments. Only
/// a file that cannot be read at all (missing, not UTF-8) is an error.
pub fn read_batch(path: &Path) -> Result<Vec<BatchLine>> {
    let text = std::fs::read(path).map_err(|e| Error::Io {
        context: format!("{}: cannot read the query file", path.display()),
        source: e,
    })?;
    let text = String::from_utf8(text).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::Input(format!(
            "{}:{line}: the file is not UTF-8 text (byte {at}); save it as UTF-8",
            path.display()
        ))
    })?;
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv {
        csv_lines(path, &text)
    } else {
        Ok(text_lines(path, &text))
    }
}

fn text_lines(path: &Path, text: &str) -> Vec<BatchLine> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let source = format!("{}:{}", path.display(), i + 1);
        let query = match parse_query_line(line, source) {
            Ok(None) => continue,
            Ok(Some(q)) => Ok(q),
            Err(e) => Err(e),
        };
        out.push(BatchLine {
            line: i as u64 + 1,
            text: line
                .split('\t')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
            query,
        });
    }
    out
}

fn csv_lines(path: &Path, text: &str) -> Result<Vec<BatchLine>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut first = true;
    loop {
        let line = reader.position().line();
        let read = reader.read_record(&mut record);
        let line = match record.position() {
            Some(p) => p.line(),
            None => line,
        };
        let source = format!("{}:{line}", path.display());
        match read {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.push(BatchLine {
                    line,
                    text: String::new(),
                    query: Err(Error::Input(format!("{source}: {e}"))),
                });
                continue;
            }
        }
        let query_text = record.get(0).unwrap_or_default().trim().to_string();
        let header = first && query_text.eq_ignore_ascii_case("query");
        first = false;
        // Comments are skipped here, not by the CSV reader, whose line
        // count would then leave them out.
        let comment = query_text.starts_with('#');
        if header || comment || record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        // A quote never closed runs to the end of the file: one query
        // holding a line break is that, not a query.
        let query = if record.iter().any(|f| f.contains('\n')) {
            Err(Error::Input(format!(
                "{source}: a field holds a line break (a quote opened here is never closed?)"
            )))
        } else {
            query_from_fields(record.iter(), source)
        };
        out.push(BatchLine {
            line,
            text: query_text,
            query,
        });
    }
    Ok(out)
}

/// A batch over one index: the stance columns are the index's stances.
pub struct Batch {
    /// Every stance value of the index, by name.
    pub stances: Vec<String>,
    /// Outlets listed per row, most units first.
    pub top_outlets: usize,
}

/// One query's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchRow {
    pub line: u64,
    pub query: String,
    /// The line's filters, `key=value` joined by `; `.
    pub filters: String,
    pub total_hits: u64,
    pub relaxed: bool,
    /// Units per stance, every stance of the index in name order.
    pub stance: FacetCounts,
    /// The outlets with most units, most first.
    pub top_outlets: FacetCounts,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// The best match's unit id.
    pub best_id: Option<String>,
    /// Why the line has no counts (then every count is 0).
    pub error: Option<String>,
}

impl Batch {
    /// A batch over `service`'s index, its stances read from it.
    pub fn new(service: &dyn SearchService, top_outlets: usize) -> Result<Batch> {
        let mut stances: Vec<String> = service
            .facets()?
            .facets
            .stance
            .0
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        stances.sort();
        Ok(Batch {
            stances,
            top_outlets,
        })
    }

    /// The CSV header: a column per stance (`stance:left`).
    pub fn header(&self) -> Vec<String> {
        let mut h: Vec<String> = ["line", "query", "filters", "total_hits", "relaxed"]
            .map(String::from)
            .to_vec();
        h.extend(self.stances.iter().map(|s| format!("stance:{s}")));
        h.extend(["top_outlets", "first_date", "last_date", "best_id", "error"].map(String::from));
        h
    }

    /// The row of one line; a line that cannot be read or searched gets
    /// its error in the row.
    pub fn row(&self, service: &dyn SearchService, line: &BatchLine) -> BatchRow {
        let mut row = BatchRow {
            line: line.line,
            query: line.text.clone(),
            filters: String::new(),
            total_hits: 0,
            relaxed: false,
            stance: FacetCounts(self.stances.iter().map(|s| (s.clone(), 0)).collect()),
            top_outlets: FacetCounts::default(),
            first_date: None,
            last_date: None,
            best_id: None,
            error: None,
        };
        let query = match &line.query {
            Ok(q) => q,
            Err(e) => {
                row.error = Some(e.to_string());
                return row;
            }
        };
        row.query = query.request.query.clone();
        row.filters = query
            .request
            .filters
            .pairs()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        match service.summary(&query.request) {
            Ok(s) => self.fill(&mut row, s),
            Err(e) => row.error = Some(format!("{}: {e}", query.source)),
        }
        row
    }

    fn fill(&self, row: &mut BatchRow, s: MatchSummary) {
        row.total_hits = s.total_hits;
        row.relaxed = s.relaxed;
        for (stance, n) in s.by_stance {
            match row.stance.0.iter_mut().find(|(v, _)| *v == stance) {
                Some(slot) => slot.1 = n,
                // A stance committed after the batch began.
                None => row.stance.0.push((stance, n)),
            }
        }
        row.top_outlets = FacetCounts(s.by_outlet.into_iter().take(self.top_outlets).collect());
        row.first_date = s.first_date;
        row.last_date = s.last_date;
        row.best_id = s.best;
    }
}

impl Row for BatchRow {
    fn cells(&self) -> Vec<String> {
        let mut c = vec![
            self.line.to_string(),
            self.query.clone(),
            self.filters.clone(),
            self.total_hits.to_string(),
            self.relaxed.to_string(),
        ];
        c.extend(self.stance.0.iter().map(|(_, n)| n.to_string()));
        c.push(
            self.top_outlets
                .0
                .iter()
                .map(|(o, n)| format!("{o}: {n}"))
                .collect::<Vec<_>>()
                .join("; "),
        );
        for v in [
            &self.first_date,
            &self.last_date,
            &self.best_id,
            &self.error,
        ] {
            c.push(v.clone().unwrap_or_default());
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_csv_files_read_alike_and_bad_lines_keep_their_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("q.txt");
        std::fs::write(
            &txt,
            "# c\n\nSection 907\nBaku\tstance=critical\tsince=2020\nx\tcolour=red\n",
        )
        .unwrap();
        let lines = read_batch(&txt).unwrap();
        assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), [3, 4, 5]);
        let q = lines[1].query.as_ref().unwrap();
        assert_eq!(q.request.filters.stance, ["critical"]);
        assert_eq!(q.request.filters.since.as_deref(), Some("2020"));
        let e = lines[2].query.as_ref().unwrap_err().to_string();
        assert!(e.contains("q.txt:5") && e.contains("colour"), "{e}");

        let csv = dir.path().join("q.csv");
        std::fs::write(
            &csv,
            "\u{feff}query,filter\n\"\"\"health care\"\", reform\",stance=critical\n# c\nBaku\nx,colour=red\n\"open\n",
        )
        .unwrap();
        let lines = read_batch(&csv).unwrap();
        assert_eq!(
            lines.iter().map(|l| l.line).collect::<Vec<_>>(),
            [2, 4, 5, 6]
        );
        let q = lines[0].query.as_ref().unwrap();
        assert_eq!(q.request.query, "\"health care\", reform");
        assert_eq!(q.request.filters.stance, ["critical"]);
        assert!(lines[2].query.is_err());
        let e = lines[3].query.as_ref().unwrap_err().to_string();
        assert!(e.contains("q.csv:6") && e.contains("never closed"), "{e}");
    }

    #[test]
    fn a_file_not_utf8_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("q.txt");
        std::fs::write(&f, b"ok\nbad \xff\n").unwrap();
        let e = read_batch(&f).unwrap_err().to_string();
        assert!(e.contains("q.txt:2") && e.contains("UTF-8"), "{e}");
    }
}
