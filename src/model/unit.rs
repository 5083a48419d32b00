//! Units: the paragraphs of a document, numbered from 1, each tagged with
//! its document's metadata, its kind and its stance. A unit is what the
//! index stores and what a search returns.

use serde::{Deserialize, Serialize};

use crate::model::document::Document;

/// One paragraph-level unit of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit<'d> {
    pub document: &'d Document,
    /// 1-based position in the document.
    pub paragraph: u32,
    pub paragraphs_in_doc: u32,
    pub kind: UnitKind,
    pub text: String,
    /// The document's stance unless a per-paragraph override says otherwise.
    pub stance: &'d str,
}

impl Unit<'_> {
    /// `<document id>#<paragraph number>`.
    pub fn id(&self) -> String {
        unit_id(&self.document.id, self.paragraph)
    }
}

/// The unit id of a document's paragraph.
pub fn unit_id(doc_id: &str, paragraph: u32) -> String {
    format!("{doc_id}#{paragraph}")
}

/// Splits a unit id into document id and paragraph number.
pub fn parse_unit_id(id: &str) -> Option<(&str, u32)> {
    let (doc, n) = id.rsplit_once('#')?;
    let n: u32 = n.parse().ok()?;
    (!doc.is_empty() && n >= 1).then_some((doc, n))
}

/// What a paragraph is on its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitKind {
    Body,
    Heading,
    ListItem,
    Caption,
    Byline,
    Bio,
    Disclaimer,
}

impl UnitKind {
    pub const ALL: [UnitKind; 7] = [
        UnitKind::Body,
        UnitKind::Heading,
        UnitKind::ListItem,
        UnitKind::Caption,
        UnitKind::Byline,
        UnitKind::Bio,
        UnitKind::Disclaimer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Body => "body",
            UnitKind::Heading => "heading",
            UnitKind::ListItem => "list-item",
            UnitKind::Caption => "caption",
            UnitKind::Byline => "byline",
            UnitKind::Bio => "bio",
            UnitKind::Disclaimer => "disclaimer",
        }
    }

    pub fn parse(s: &str) -> Option<UnitKind> {
        UnitKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Captions and disclaimers repeat boilerplate, so a search leaves them
    /// out unless `--kind` asks for them.
    pub fn searched_by_default(self) -> bool {
        !matches!(self, UnitKind::Caption | UnitKind::Disclaimer)
    }
}

/// One unit as stored, without search-specific data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitView {
    pub id: String,
    pub doc_id: String,
    pub paragraph: u32,
    pub paragraphs_in_doc: u32,
    pub title: String,
    pub authors: Vec<String>,
    pub outlet: String,
    pub stance: String,
    pub genre: String,
    pub kind: String,
    pub published: Option<String>,
    pub url: Option<String>,
    pub text: String,
    /// The unit's copy cluster: units carrying the same paragraph,
    /// verbatim or nearly, share it (none for a paragraph too short to
    /// tell a copy from a chance repeat).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_ids_round_trip() {
        assert_eq!(
            unit_id("besa-engage-azerbaijan", 19),
            "besa-engage-azerbaijan#19"
        );
        assert_eq!(parse_unit_id("a#b#4"), Some(("a#b", 4)));
        assert_eq!(parse_unit_id("a#0"), None);
        assert_eq!(parse_unit_id("#4"), None);
        assert_eq!(parse_unit_id("a"), None);
    }
}
