//! The tantivy schema of a unit and its typed field handles.
//!
//! Facet values (author, outlet, genre, stance, kind) live in raw `STRING`
//! fast fields so that one pass over the matching units can count them and
//! filter by them (see `search`). Author, outlet and genre also have an
//! analysed copy so the query language can scope words to them
//! (`author:grinberg`, `outlet:arab`).

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
    STRING,
};

use crate::analysis::{LABEL_ANALYZER, NAME_ANALYZER, TEXT_ANALYZER};

/// Bumped whenever the schema or the analysis changes in a way that needs
/// a rebuild; an index of another version asks for `--rebuild`.
pub const SCHEMA_VERSION: u32 = 1;

/// Field names, as written in queries (`title:`, `author:`...) and in the
/// index files.
pub mod name {
    pub const ID: &str = "id";
    pub const DOC_ID: &str = "doc_id";
    pub const DOC_HASH: &str = "doc_hash";
    pub const PARAGRAPH: &str = "paragraph";
    pub const PARAGRAPHS_IN_DOC: &str = "paragraphs_in_doc";
    pub const TEXT: &str = "text";
    pub const TITLE: &str = "title";
    pub const AUTHOR: &str = "author";
    pub const OUTLET: &str = "outlet";
    pub const GENRE: &str = "genre";
    pub const STANCE: &str = "stance";
    pub const KIND: &str = "kind";
    pub const AUTHOR_VALUE: &str = "author_value";
    pub const OUTLET_VALUE: &str = "outlet_value";
    pub const GENRE_VALUE: &str = "genre_value";
    pub const PUBLISHED: &str = "published";
    pub const PUBLISHED_FROM: &str = "published_from";
    pub const PUBLISHED_TO: &str = "published_to";
    pub const URL: &str = "url";
}

/// Handles to every field of the unit schema.
#[derive(Debug, Clone)]
pub struct Fields {
    pub schema: Schema,
    /// Unit id `<doc id>#<paragraph>`; indexed raw for `show`.
    pub id: Field,
    pub doc_id: Field,
    /// Content hash of the unit's document, for incremental indexing.
    pub doc_hash: Field,
    pub paragraph: Field,
    pub paragraphs_in_doc: Field,
    pub text: Field,
    pub title: Field,
    /// Analysed author names (query language only).
    pub author: Field,
    pub outlet: Field,
    pub genre: Field,
    /// Stance and kind are single-word labels: indexed folded, fast raw.
    pub stance: Field,
    pub kind: Field,
    /// Facet values, raw.
    pub author_value: Field,
    pub outlet_value: Field,
    pub genre_value: Field,
    /// Published date as written ("2025-03"), stored only.
    pub published: Field,
    /// First and last day the date covers, `YYYYMMDD`, for date filters.
    pub published_from: Field,
    pub published_to: Field,
    pub url: Field,
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

    /// The raw fast field holding this facet's values.
    pub fn value_field_name(self) -> &'static str {
        match self {
            FacetField::Author => name::AUTHOR_VALUE,
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

impl Fields {
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
            .set_fast("raw")
            .set_stored();
        let date = NumericOptions::default().set_fast().set_indexed();
        b.add_text_field(name::ID, STRING | STORED);
        b.add_text_field(name::DOC_ID, STRING | STORED | FAST);
        b.add_text_field(name::DOC_HASH, STRING | FAST);
        b.add_u64_field(
            name::PARAGRAPH,
            NumericOptions::default()
                .set_indexed()
                .set_fast()
                .set_stored(),
        );
        b.add_u64_field(name::PARAGRAPHS_IN_DOC, STORED);
        b.add_text_field(name::TEXT, analysed(TEXT_ANALYZER, true, true));
        b.add_text_field(name::TITLE, analysed(TEXT_ANALYZER, true, true));
        b.add_text_field(name::AUTHOR, analysed(NAME_ANALYZER, true, false));
        b.add_text_field(name::OUTLET, analysed(NAME_ANALYZER, true, false));
        b.add_text_field(name::GENRE, analysed(NAME_ANALYZER, true, false));
        b.add_text_field(name::STANCE, label.clone());
        b.add_text_field(name::KIND, label);
        b.add_text_field(name::AUTHOR_VALUE, STRING | STORED | FAST);
        b.add_text_field(name::OUTLET_VALUE, STRING | STORED | FAST);
        b.add_text_field(name::GENRE_VALUE, STRING | STORED | FAST);
        b.add_text_field(name::PUBLISHED, STORED);
        b.add_u64_field(name::PUBLISHED_FROM, date.clone());
        b.add_u64_field(name::PUBLISHED_TO, date);
        b.add_text_field(name::URL, STORED);
        Fields::from_schema(b.build()).expect("the schema just built has every field")
    }

    /// Field handles of an existing index's schema; None when a field is
    /// missing (an index from another version of nutgraf).
    pub fn from_schema(schema: Schema) -> Option<Fields> {
        let f = |n: &str| schema.get_field(n).ok();
        Some(Fields {
            id: f(name::ID)?,
            doc_id: f(name::DOC_ID)?,
            doc_hash: f(name::DOC_HASH)?,
            paragraph: f(name::PARAGRAPH)?,
            paragraphs_in_doc: f(name::PARAGRAPHS_IN_DOC)?,
            text: f(name::TEXT)?,
            title: f(name::TITLE)?,
            author: f(name::AUTHOR)?,
            outlet: f(name::OUTLET)?,
            genre: f(name::GENRE)?,
            stance: f(name::STANCE)?,
            kind: f(name::KIND)?,
            author_value: f(name::AUTHOR_VALUE)?,
            outlet_value: f(name::OUTLET_VALUE)?,
            genre_value: f(name::GENRE_VALUE)?,
            published: f(name::PUBLISHED)?,
            published_from: f(name::PUBLISHED_FROM)?,
            published_to: f(name::PUBLISHED_TO)?,
            url: f(name::URL)?,
            schema,
        })
    }
}

impl Default for Fields {
    fn default() -> Self {
        Fields::new()
    }
}
