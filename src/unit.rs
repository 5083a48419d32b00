//! Units: the paragraphs of a document, numbered from 1, each tagged with
//! its document's metadata, its kind and its stance. A unit is what the
//! index stores and what a search returns.

use crate::document::Document;
use crate::split::{Splitter, UnitKind};

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

/// The units of one document.
pub fn units<'d>(document: &'d Document, splitter: &Splitter) -> Vec<Unit<'d>> {
    let paragraphs = splitter.split(&document.text, &document.authors);
    let count = paragraphs.len() as u32;
    paragraphs
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let paragraph = i as u32 + 1;
            let stance = document
                .stance_overrides
                .get(&paragraph)
                .map_or(document.stance.as_str(), String::as_str);
            Unit {
                document,
                paragraph,
                paragraphs_in_doc: count,
                kind: p.kind,
                text: p.text,
                stance,
            }
        })
        .collect()
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
