//! `[[collection]]` tables: a data file, its format and which of its
//! fields fill nutgraf's, as written and as validated. Reading the file is
//! [`crate::ingest::collection`]'s work.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{join_clean, ConfigError};

/// The nutgraf fields a collection can fill.
pub const FIELDS: [&str; 9] = [
    "id",
    "title",
    "authors",
    "outlet",
    "stance",
    "genre",
    "published",
    "url",
    "text",
];

/// The file format of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jsonl,
    Csv,
}

/// `[[collection]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCollection {
    pub file: String,
    pub format: Option<Format>,
    /// Where the data set comes from (said when the file is missing).
    pub source: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Between several authors in one field (default ",").
    pub authors_separator: Option<String>,
    /// Read only the first N records (for trials).
    pub limit: Option<usize>,
}

/// A validated collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub file: PathBuf,
    pub format: Format,
    pub source: Option<String>,
    /// nutgraf field -> the file's field.
    pub fields: BTreeMap<String, String>,
    /// nutgraf field -> a value for every record.
    pub constants: BTreeMap<String, String>,
    pub authors_separator: String,
    pub limit: Option<usize>,
    pub config_file: PathBuf,
    pub line: usize,
}

impl Collection {
    /// Checks a `[[collection]]` table; `dir` is the config file's folder.
    pub fn validate(
        raw: &RawCollection,
        file: &Path,
        line: usize,
        dir: &Path,
    ) -> Result<Collection, ConfigError> {
        let fail = |message: String| ConfigError {
            file: file.to_path_buf(),
            line: Some(line),
            message,
        };
        for key in raw.fields.keys().chain(raw.constants.keys()) {
            if !FIELDS.contains(&key.as_str()) {
                return Err(fail(format!(
                    "[[collection]]: \"{key}\" is not a nutgraf field; use {}",
                    FIELDS.join(", ")
                )));
            }
        }
        for needed in ["id", "text", "stance"] {
            if !raw.fields.contains_key(needed) && !raw.constants.contains_key(needed) {
                return Err(fail(format!(
                    "[[collection]]: say which field holds the {needed} (fields.{needed} = \"…\") or give a constant"
                )));
            }
        }
        let path = join_clean(dir, &raw.file);
        let format = match raw.format {
            Some(f) => f,
            None => guess_format(&path).ok_or_else(|| {
                fail(format!(
                    "[[collection]]: cannot tell the format of {}; add format = \"jsonl\" or \"csv\"",
                    raw.file
                ))
            })?,
        };
        Ok(Collection {
            file: path,
            format,
            source: raw.source.clone(),
            fields: raw.fields.clone(),
            constants: raw.constants.clone(),
            authors_separator: raw.authors_separator.clone().unwrap_or_else(|| ",".into()),
            limit: raw.limit,
            config_file: file.to_path_buf(),
            line,
        })
    }
}

/// `jsonl` or `csv` from a file name (`.gz` looked through).
pub fn guess_format(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
        Some(Format::Jsonl)
    } else if name.ends_with(".csv") {
        Some(Format::Csv)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names() {
        assert_eq!(guess_format(Path::new("a.jsonl.gz")), Some(Format::Jsonl));
        assert_eq!(guess_format(Path::new("a.CSV")), Some(Format::Csv));
        assert_eq!(guess_format(Path::new("a.txt")), None);
    }
}
