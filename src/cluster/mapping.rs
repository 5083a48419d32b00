//! The index body (`PUT /<index>`): analysis settings and the mapping of a
//! unit. The field names are the JSON contract's (`search --json`), so a
//! unit in the cluster reads like a hit.
//!
//! Analysis: words split where a letter meets a digit, the standard
//! tokenizer (Unicode word boundaries, as nutgraf's tokenizer), English
//! possessives removed, lower case, ASCII folding,
//! Snowball English stemming: the same steps as nutgraf's `text` analyzer.
//! What differs is said in `_meta.differences`, since JSON holds no
//! comments.

use serde_json::{json, Value};

use crate::index::schema::SCHEMA_VERSION;

/// The analyzer of running text (paragraphs and titles).
pub const TEXT_ANALYZER: &str = "nutgraf_text";
/// The normalizer of facet values compared forgivingly (`.key` fields).
pub const KEY_NORMALIZER: &str = "nutgraf_key";

/// What a cluster's answers may differ in, kept with the mapping.
pub const DIFFERENCES: &str = "The standard tokenizer splits on Unicode word boundaries as nutgraf's tokenizer does, but keeps words of up to 255 characters (nutgraf drops words over 40 bytes) and treats apostrophes inside words as word characters (nutgraf splits at them after removing possessives). BM25 statistics are per shard unless the search asks for dfs_query_then_fetch, so scores and close rankings can differ from the local index; hits and counts for words, phrases and filters are the same. Facet values are exact keywords; the .key subfields fold case and accents, as nutgraf's forgiving filters do, but author aliases from the config are not known to the cluster.";

/// `PUT /<index>` body: settings and mappings.
pub fn index_body() -> Value {
    let keyword = || {
        json!({
            "type": "keyword",
            "fields": { "key": { "type": "keyword", "normalizer": KEY_NORMALIZER } }
        })
    };
    json!({
        "settings": {
            "analysis": {
                "filter": {
                    "nutgraf_possessive": { "type": "stemmer", "language": "possessive_english" },
                    "nutgraf_snowball": { "type": "snowball", "language": "English" }
                },
                // A word splits where a letter meets a digit ("F35" is
                // "F 35"), as nutgraf's tokenizer splits it; two filters,
                // since regex matches do not overlap ("a1b2").
                "char_filter": {
                    "nutgraf_letter_digit": { "type": "pattern_replace", "pattern": "(\\p{L})(\\p{N})", "replacement": "$1 $2" },
                    "nutgraf_digit_letter": { "type": "pattern_replace", "pattern": "(\\p{N})(\\p{L})", "replacement": "$1 $2" }
                },
                "analyzer": {
                    TEXT_ANALYZER: {
                        "type": "custom",
                        "char_filter": ["nutgraf_letter_digit", "nutgraf_digit_letter"],
                        "tokenizer": "standard",
                        "filter": ["nutgraf_possessive", "lowercase", "asciifolding", "nutgraf_snowball"]
                    }
                },
                "normalizer": {
                    KEY_NORMALIZER: { "type": "custom", "filter": ["lowercase", "asciifolding"] }
                }
            }
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": { "nutgraf_schema": SCHEMA_VERSION, "differences": DIFFERENCES },
            "properties": {
                "id": { "type": "keyword" },
                "doc_id": { "type": "keyword" },
                "paragraph": { "type": "integer" },
                "paragraphs_in_doc": { "type": "integer" },
                // Offsets stored with the postings: highlighting without
                // re-analysis, as nutgraf marks snippets on the words.
                "text": { "type": "text", "analyzer": TEXT_ANALYZER, "index_options": "offsets" },
                "title": { "type": "text", "analyzer": TEXT_ANALYZER },
                "authors": keyword(),
                "outlet": keyword(),
                "stance": keyword(),
                "genre": keyword(),
                "kind": { "type": "keyword" },
                // The date as written, and the days it may mean: a
                // month-only date spans its month, as `--since`/`--until`
                // read it.
                "published": { "type": "keyword" },
                "published_from": { "type": "date", "format": "yyyy-MM-dd" },
                "published_to": { "type": "date", "format": "yyyy-MM-dd" },
                "date_precision": { "type": "keyword" },
                "url": { "type": "keyword", "index": false },
                "cluster": { "type": "keyword" },
                "fold": { "type": "keyword" }
            }
        }
    })
}

/// Whether a name can be a cluster index (lower case letters, digits,
/// `-`, `_`, `.`; not first `-`, `_` or `.`).
pub fn check_index_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        && !name.starts_with(['-', '_', '.']);
    if ok {
        Ok(())
    } else if name.is_empty() {
        Err("the URL names no index (its path must end with the index name)".into())
    } else {
        Err(format!(
            "{name:?} cannot be a cluster index name: lower case letters, digits, -, _ or . (not first)"
        ))
    }
}
