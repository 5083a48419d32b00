//! Query files: one query per line in the search syntax, optionally
//! followed by tab-separated filters (`outlet=Fox News`, `stance=left`,
//! `author=…`, `genre=…`, `kind=…`, `since=2016`, `until=2018`); blank
//! lines and lines starting with `#` are skipped. `nutgraf bench` times
//! them and `nutgraf batch` counts them.

use std::path::Path;

use super::{Filters, SearchRequest};
use crate::error::{Error, Result};

/// One query of a query file.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryLine {
    pub request: SearchRequest,
    /// Where it came from (`file:line`), for error messages.
    pub source: String,
}

/// Reads a query file.
pub fn read_queries(path: &Path) -> Result<Vec<QueryLine>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        context: format!("{}: cannot read the query file", path.display()),
        source: e,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let source = format!("{}:{}", path.display(), i + 1);
        out.extend(parse_query_line(line, source)?);
    }
    Ok(out)
}

/// One line of a query file: None for a blank line or a `#` comment. The
/// query, then tab-separated filters. `source` (`file:line`) names the
/// line in errors and in the query.
pub fn parse_query_line(line: &str, source: String) -> Result<Option<QueryLine>> {
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return Ok(None);
    }
    query_from_fields(line.split('\t'), source).map(Some)
}

/// A query from its fields: the query itself, then filters written
/// `key=value` (blank fields are skipped). The fields of a line of a
/// query file, split at tabs, or of a CSV record.
pub fn query_from_fields<'a>(
    fields: impl IntoIterator<Item = &'a str>,
    source: String,
) -> Result<QueryLine> {
    let mut parts = fields.into_iter();
    let mut request = SearchRequest::new(parts.next().unwrap_or_default().trim());
    for filter in parts.filter(|p| !p.trim().is_empty()) {
        let (key, value) = filter.split_once('=').ok_or_else(|| {
            Error::Input(format!(
                "{source}: filter {filter:?} should look like key=value (outlet=Fox News)"
            ))
        })?;
        if !request.filters.set(key.trim(), value.trim().to_string()) {
            return Err(Error::Input(format!(
                "{source}: unknown filter {:?}; use {}",
                key.trim(),
                Filters::KEYS.join(", ")
            )));
        }
    }
    Ok(QueryLine { request, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_files_take_filters_after_tabs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.txt");
        std::fs::write(
            &path,
            "# comment\n\nSection 907\n\"oil needs\"\toutlet=Fox News\tstance=left\n",
        )
        .unwrap();
        let q = read_queries(&path).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[1].request.query, "\"oil needs\"");
        assert_eq!(q[1].request.filters.outlet, ["Fox News"]);
        assert_eq!(q[1].request.filters.stance, ["left"]);
        assert!(q[1].source.ends_with(":4"));
        std::fs::write(&path, "x\tcolour=red\n").unwrap();
        let e = read_queries(&path).unwrap_err().to_string();
        assert!(e.contains(":1") && e.contains("colour"), "{e}");
    }
}
