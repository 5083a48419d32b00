//! The tantivy schema of a unit and its typed field handles.
//!
//! Facet values (author, outlet, genre, stance, kind) live in raw fast
//! fields so that one pass over the matching units can count them and
//! filter by them (see `collector`); they are also indexed raw for the
//! query language's scopes (`author:grinberg` resolves to exact values).
//! Nothing is indexed that no query reads: the unit id is derived from
//! document id and paragraph, the content hash and dates are fast-only,
//! and raw fields keep no field norms, which keeps the index small.
//!
//! Nothing is stored twice either: a unit stores its own text and
//! document id (its paragraph number, kind and stance are read from their
//! columns), and the first unit of a document
//! (its head) also stores the document's record (title, authors, outlet,
//! genre, date, address, paragraph count) once for all its units.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};

use crate::text::analysis::{LABEL_ANALYZER, TEXT_ANALYZER};

/// Bumped whenever the schema or the analysis changes in a way that needs
/// a rebuild; an index of another version asks for `--rebuild`.
pub const SCHEMA_VERSION: u32 = 6;

/// Field names, as written in queries (`title:`, `author:`...) and in the
/// index files.
pub mod name {
    pub const DOC_ID: &str = "doc_id";
    pub const DOC_HASH: &str = "doc_hash";
    pub const PARAGRAPH: &str = "paragraph";
    pub const TEXT: &str = "text";
    pub const TITLE: &str = "title";
    pub const STANCE: &str = "stance";
    pub const KIND: &str = "kind";
    pub const AUTHOR_VALUE: &str = "author_value";
    pub const AUTHOR_SET: &str = "author_set";
    pub const OUTLET_VALUE: &str = "outlet_value";
    pub const GENRE_VALUE: &str = "genre_value";
    pub const PUBLISHED_FROM: &str = "published_from";
    pub const PUBLISHED_TO: &str = "published_to";
    pub const DOCUMENT: &str = "document";
    pub const CLUSTER: &str = "cluster";
}

/// Handles to every field of the unit schema.
#[derive(Debug, Clone)]
pub struct Fields {
    pub schema: Schema,
    /// The document's id, indexed raw; a unit's id is
    /// `<doc_id>#<paragraph>`.
    pub doc_id: Field,
    /// Content hash of the unit's document, for incremental indexing.
    pub doc_hash: Field,
    pub paragraph: Field,
    pub text: Field,
    pub title: Field,
    /// Stance and kind are single-word labels: indexed folded, fast raw.
    pub stance: Field,
    pub kind: Field,
    /// Facet values, raw (indexed for the query language's scopes; the
    /// values shown come from the document record).
    pub author_value: Field,
    /// A unit's authors as one value, joined by [`AUTHOR_SEPARATOR`]: a
    /// single-valued fast column counts far faster than a multi-valued
    /// one, and a corpus has few distinct author lists. A list longer
    /// than [`AUTHOR_SET_BYTES`] takes several values
    /// ([`author_set_values`]).
    pub author_set: Field,
    pub outlet_value: Field,
    pub genre_value: Field,
    /// First and last day the date covers, `YYYYMMDD`, for date filters.
    pub published_from: Field,
    pub published_to: Field,
    /// The document's record (JSON), stored on its head unit only.
    pub document: Field,
    /// The unit's copy cluster (see `index::copies`), 0 for a unit too
    /// short to cluster: fast only (folding copies reads the column, and
    /// so does a unit shown; stored too, it cost the index 4 % more).
    pub cluster: Field,
}

/// Joins the authors of a unit in the `author_set` column (a character
/// no name contains).
pub const AUTHOR_SEPARATOR: char = '\u{1f}';

/// Longest `author_set` value. tantivy cuts a fast-field value at 65,535
/// bytes, which silently lost most of a long author list; a list longer
/// than this is stored as several values (whole names each), so every
/// author stays countable. Most lists fit in one value, which keeps the
/// column single-valued and fast to count.
pub const AUTHOR_SET_BYTES: usize = 16 * 1024;

/// Longest author name counted whole: a "name" longer than this (64 KB,
/// tantivy's limit for one value) is counted by its first 64 KB, cut at a
/// character boundary. The stored record keeps it whole.
pub const MAX_AUTHOR_NAME_BYTES: usize = 65_535;

/// The `author_set` values of a unit: its authors joined by
/// [`AUTHOR_SEPARATOR`], in as few values of at most [`AUTHOR_SET_BYTES`]
/// as whole names allow; repeats count once. No author gives a lone
/// separator (an empty string is no value, and a column with a value in
/// every row is read directly, without an optional index).
pub fn author_set_values(authors: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut values: Vec<String> = Vec::new();
    let mut current = String::new();
    for name in authors {
        if !seen.insert(name.as_str()) {
            continue;
        }
        let mut end = name.len().min(MAX_AUTHOR_NAME_BYTES - 1);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let name = &name[..end];
        if !current.is_empty() && current.len() + 1 + name.len() > AUTHOR_SET_BYTES {
            values.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(AUTHOR_SEPARATOR);
        }
        current.push_str(name);
    }
    if !current.is_empty() || values.is_empty() {
        if current.is_empty() {
            current.push(AUTHOR_SEPARATOR);
        }
        values.push(current);
    }
    values
}

/// One of the five facet fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FacetField {
    Author,
    Outlet,
    Stance,
    Genre,
    Kind,
}

impl FacetField {
    pub const ALL: [FacetField; 5] = [
        FacetField::Author,
        FacetField::Outlet,
        FacetField::Stance,
        FacetField::Genre,
        FacetField::Kind,
    ];

    /// The name users see (CLI flag, JSON key).
    pub fn as_str(self) -> &'static str {
        match self {
            FacetField::Author => "author",
            FacetField::Outlet => "outlet",
            FacetField::Stance => "stance",
            FacetField::Genre => "genre",
            FacetField::Kind => "kind",
        }
    }

    pub fn parse(s: &str) -> Option<FacetField> {
        FacetField::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The raw fast field holding this facet's values (for authors, the
    /// joined author list: split it on [`AUTHOR_SEPARATOR`]).
    pub fn value_field_name(self) -> &'static str {
        match self {
            FacetField::Author => name::AUTHOR_SET,
            FacetField::Outlet => name::OUTLET_VALUE,
            FacetField::Stance => name::STANCE,
            FacetField::Genre => name::GENRE_VALUE,
            FacetField::Kind => name::KIND,
        }
    }
}

fn analysed(analyzer: &str, positions: bool, stored: bool) -> TextOptions {
    let option = if positions {
        IndexRecordOption::WithFreqsAndPositions
    } else {
        IndexRecordOption::WithFreqs
    };
    let opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer)
            .set_index_option(option),
    );
    if stored {
        opts.set_stored()
    } else {
        opts
    }
}

/// A raw value: indexed whole (no norms: never scored) and fast.
fn raw_value() -> TextOptions {
    TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        )
        .set_fast("raw")
}

impl Fields {
    /// The indexed field a scope of the query language searches
    /// (`author:`, `outlet:`...): raw values, or for stance and kind the
    /// folded labels.
    pub fn value_field(&self, facet: FacetField) -> Field {
        match facet {
            FacetField::Author => self.author_value,
            FacetField::Outlet => self.outlet_value,
            FacetField::Genre => self.genre_value,
            FacetField::Stance => self.stance,
            FacetField::Kind => self.kind,
        }
    }

    /// Builds the unit schema.
    pub fn new() -> Fields {
        let mut b = Schema::builder();
        let label = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(LABEL_ANALYZER)
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            )
            .set_fast("raw");
        let fast_u64 = NumericOptions::default().set_fast();
        b.add_text_field(name::DOC_ID, raw_value().set_stored());
        b.add_text_field(name::DOC_HASH, TextOptions::default().set_fast("raw"));
        b.add_u64_field(name::PARAGRAPH, fast_u64.clone());
        b.add_text_field(name::TEXT, analysed(TEXT_ANALYZER, true, true));
        b.add_text_field(name::TITLE, analysed(TEXT_ANALYZER, true, false));
        b.add_text_field(name::STANCE, label.clone());
        b.add_text_field(name::KIND, label);
        b.add_text_field(
            name::AUTHOR_VALUE,
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            ),
        );
        b.add_text_field(name::AUTHOR_SET, TextOptions::default().set_fast("raw"));
        b.add_text_field(name::OUTLET_VALUE, raw_value());
        b.add_text_field(name::GENRE_VALUE, raw_value());
        b.add_u64_field(name::PUBLISHED_FROM, fast_u64.clone());
        b.add_u64_field(name::PUBLISHED_TO, fast_u64);
        b.add_text_field(name::DOCUMENT, TextOptions::default().set_stored());
        b.add_u64_field(name::CLUSTER, NumericOptions::default().set_fast());
        Fields::from_schema(b.build()).expect("the schema just built has every field")
    }

    /// Field handles of an existing index's schema; None when a field is
    /// missing (an index from another version of nutgraf).
    pub fn from_schema(schema: Schema) -> Option<Fields> {
        let f = |n: &str| schema.get_field(n).ok();
        Some(Fields {
            doc_id: f(name::DOC_ID)?,
            doc_hash: f(name::DOC_HASH)?,
            paragraph: f(name::PARAGRAPH)?,
            text: f(name::TEXT)?,
            title: f(name::TITLE)?,
            stance: f(name::STANCE)?,
            kind: f(name::KIND)?,
            author_value: f(name::AUTHOR_VALUE)?,
            author_set: f(name::AUTHOR_SET)?,
            outlet_value: f(name::OUTLET_VALUE)?,
            genre_value: f(name::GENRE_VALUE)?,
            published_from: f(name::PUBLISHED_FROM)?,
            published_to: f(name::PUBLISHED_TO)?,
            document: f(name::DOCUMENT)?,
            cluster: f(name::CLUSTER)?,
            schema,
        })
    }
}

impl Default for Fields {
    fn default() -> Self {
        Fields::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_author_list_is_split_into_whole_names() {
        let authors: Vec<String> = (0..10_000)
            .map(|i| format!("Author Number {i:05}"))
            .collect();
        let values = author_set_values(&authors);
        assert!(values.len() > 1);
        assert!(values.iter().all(|v| v.len() <= AUTHOR_SET_BYTES));
        let names: Vec<&str> = values
            .iter()
            .flat_map(|v| v.split(AUTHOR_SEPARATOR))
            .collect();
        assert_eq!(
            names,
            authors.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    #[test]
    fn short_lists_stay_one_value_and_none_is_a_lone_separator() {
        let two = ["A".to_string(), "B".to_string(), "A".to_string()];
        assert_eq!(author_set_values(&two), ["A\u{1f}B"]);
        assert_eq!(author_set_values(&[]), ["\u{1f}"]);
        let huge = "é".repeat(40_000);
        let v = author_set_values(&[huge]);
        assert_eq!(v.len(), 1);
        assert!(v[0].len() < MAX_AUTHOR_NAME_BYTES);
    }
}
