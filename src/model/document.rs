//! Documents: one article with its metadata and full text, as the indexer
//! receives it from the config (a `[[document]]` entry) or from a bulk
//! collection file (JSONL or CSV). Everything downstream (splitting into
//! units, indexing) starts from this type.

use std::collections::BTreeMap;

/// One article to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Readable, unique slug, e.g. `besa-engage-azerbaijan`.
    pub id: String,
    pub title: String,
    /// Canonical author names (aliases already resolved); may be empty.
    pub authors: Vec<String>,
    pub outlet: String,
    /// One of the corpus' stance vocabulary (validated by the config).
    pub stance: String,
    pub genre: String,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, already validated.
    pub published: Option<String>,
    pub url: Option<String>,
    /// Per-paragraph stance overrides: paragraph number (from 1) -> stance.
    pub stance_overrides: BTreeMap<u32, String>,
    /// The article text as read (UTF-8).
    pub text: String,
}

impl Document {
    /// A content hash over everything that decides how the document is
    /// indexed: metadata and text. Unchanged hash => the indexer skips it.
    pub fn content_hash(&self, rules_fingerprint: &str) -> String {
        let mut h = blake3::Hasher::new();
        let mut field = |s: &str| {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        field(&self.id);
        field(&self.title);
        for a in &self.authors {
            field(a);
        }
        field("\u{0}");
        field(&self.outlet);
        field(&self.stance);
        field(&self.genre);
        field(self.published.as_deref().unwrap_or(""));
        field(self.url.as_deref().unwrap_or(""));
        for (p, s) in &self.stance_overrides {
            field(&p.to_string());
            field(s);
        }
        field(rules_fingerprint);
        field(&self.text);
        h.finalize().to_hex()[..32].to_string()
    }
}

/// What every unit of a document shares, as the index stores it once per
/// document (on its first unit) and a search shows it with every hit.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocumentRecord {
    pub title: String,
    pub authors: Vec<String>,
    pub outlet: String,
    pub genre: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How many units the document has.
    pub paragraphs: u32,
}

impl DocumentRecord {
    pub fn new(document: &Document, paragraphs: u32) -> DocumentRecord {
        DocumentRecord {
            title: document.title.clone(),
            authors: document.authors.clone(),
            outlet: document.outlet.clone(),
            genre: document.genre.clone(),
            published: document.published.clone(),
            url: document.url.clone(),
            paragraphs,
        }
    }
}
