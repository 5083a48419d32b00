//! The rows of an export: one per unit, with the columns a citation
//! needs and the citation itself, ready to paste. Column names are the
//! JSON contract's (`search --json`'s hit fields) plus `citation`.

use serde::Serialize;

use super::Row;
use crate::model::UnitView;

/// The columns, in order: the CSV header and the JSON Lines keys.
pub const COLUMNS: [&str; 15] = [
    "id",
    "doc_id",
    "paragraph",
    "paragraphs_in_doc",
    "outlet",
    "authors",
    "stance",
    "genre",
    "kind",
    "published",
    "url",
    "title",
    "text",
    "citation",
    "cluster",
];

/// How a CSV cell joins a unit's authors (JSON Lines keeps the list).
pub const AUTHORS_JOINED_BY: &str = "; ";

/// One unit as an export writes it.
#[derive(Debug, Serialize)]
pub struct CitationRow<'a> {
    pub id: &'a str,
    pub doc_id: &'a str,
    pub paragraph: u32,
    pub paragraphs_in_doc: u32,
    pub outlet: &'a str,
    pub authors: &'a [String],
    pub stance: &'a str,
    pub genre: &'a str,
    pub kind: &'a str,
    pub published: Option<&'a str>,
    pub url: Option<&'a str>,
    pub title: &'a str,
    pub text: &'a str,
    pub citation: String,
    /// The unit's copy cluster (empty: too short to cluster).
    pub cluster: Option<&'a str>,
}

impl<'a> CitationRow<'a> {
    pub fn new(u: &'a UnitView) -> CitationRow<'a> {
        CitationRow {
            id: &u.id,
            doc_id: &u.doc_id,
            paragraph: u.paragraph,
            paragraphs_in_doc: u.paragraphs_in_doc,
            outlet: &u.outlet,
            authors: &u.authors,
            stance: &u.stance,
            genre: &u.genre,
            kind: &u.kind,
            published: u.published.as_deref(),
            url: u.url.as_deref(),
            title: &u.title,
            text: &u.text,
            citation: citation(u),
            cluster: u.cluster.as_deref(),
        }
    }
}

impl Row for CitationRow<'_> {
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.doc_id.to_string(),
            self.paragraph.to_string(),
            self.paragraphs_in_doc.to_string(),
            self.outlet.to_string(),
            self.authors.join(AUTHORS_JOINED_BY),
            self.stance.to_string(),
            self.genre.to_string(),
            self.kind.to_string(),
            self.published.unwrap_or_default().to_string(),
            self.url.unwrap_or_default().to_string(),
            self.title.to_string(),
            self.text.to_string(),
            self.citation.clone(),
            self.cluster.unwrap_or_default().to_string(),
        ]
    }
}

/// A unit's citation, as the web page's "Copy citation" writes it:
/// `Authors. “Title.” Outlet, date. Paragraph 7 of 23. URL [nutgraf id]`,
/// leaving out what the unit lacks.
pub fn citation(u: &UnitView) -> String {
    let mut parts: Vec<String> = Vec::new();
    let authors: Vec<&str> = u
        .authors
        .iter()
        .map(String::as_str)
        .filter(|a| !a.is_empty())
        .collect();
    if !authors.is_empty() {
        parts.push(format!("{}.", authors.join(", ")));
    }
    if !u.title.is_empty() {
        parts.push(format!("“{}.”", u.title));
    }
    let place: Vec<&str> = [Some(u.outlet.as_str()), u.published.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    if !place.is_empty() {
        parts.push(format!("{}.", place.join(", ")));
    }
    parts.push(match u.paragraphs_in_doc {
        0 => format!("Paragraph {}.", u.paragraph),
        n => format!("Paragraph {} of {n}.", u.paragraph),
    });
    if let Some(url) = u.url.as_deref().filter(|s| !s.is_empty()) {
        parts.push(url.to_string());
    }
    parts.push(format!("[nutgraf {}]", u.id));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> UnitView {
        UnitView {
            id: "besa-engage-azerbaijan#19".into(),
            doc_id: "besa-engage-azerbaijan".into(),
            paragraph: 19,
            paragraphs_in_doc: 41,
            title: "Engage Azerbaijan".into(),
            authors: vec!["Zeev Khanin".into(), "Alex Grinberg".into()],
            outlet: "BESA Center".into(),
            stance: "supportive".into(),
            genre: "policy paper".into(),
            kind: "body".into(),
            published: Some("2025-03".into()),
            url: Some("https://besacenter.org/x".into()),
            text: "Section 907".into(),
            cluster: None,
        }
    }

    #[test]
    fn a_citation_names_who_what_where_and_which_paragraph() {
        assert_eq!(
            citation(&unit()),
            "Zeev Khanin, Alex Grinberg. “Engage Azerbaijan.” BESA Center, 2025-03. \
             Paragraph 19 of 41. https://besacenter.org/x [nutgraf besa-engage-azerbaijan#19]"
        );
        let bare = UnitView {
            authors: vec![],
            published: None,
            url: None,
            ..unit()
        };
        assert_eq!(
            citation(&bare),
            "“Engage Azerbaijan.” BESA Center. Paragraph 19 of 41. [nutgraf besa-engage-azerbaijan#19]"
        );
    }

    /// What the index never holds (a line break in a paragraph) still
    /// round-trips, should a collection ever keep one.
    #[test]
    fn csv_rows_parse_back_to_the_unit() {
        let u = UnitView {
            text: "=SUM(A1)\n\"quoted\", commas, and a line\r\nbreak".into(),
            title: "-Minus, \"title\"".into(),
            url: None,
            ..unit()
        };
        let mut w =
            crate::table::TableWriter::new(crate::table::TableFormat::Csv, Vec::new(), &COLUMNS)
                .unwrap();
        w.write(&CitationRow::new(&u)).unwrap();
        let bytes = w.finish().unwrap();
        let mut r = csv::Reader::from_reader(&bytes[crate::table::BOM.len()..]);
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, COLUMNS);
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 1);
        let cell = |name: &str| {
            let at = COLUMNS.iter().position(|c| *c == name).unwrap();
            crate::table::unguard(&rows[0][at]).to_string()
        };
        assert_eq!(cell("text"), u.text);
        assert_eq!(cell("title"), u.title);
        assert_eq!(cell("url"), "");
        assert_eq!(cell("paragraph"), "19");
        assert_eq!(&rows[0][12][..2], "'=");
    }

    #[test]
    fn cells_follow_the_columns() {
        let u = unit();
        let row = CitationRow::new(&u);
        let cells = row.cells();
        assert_eq!(cells.len(), COLUMNS.len());
        let json = serde_json::to_value(&row).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut columns = COLUMNS.to_vec();
        columns.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, columns);
        assert_eq!(cells[5], "Zeev Khanin; Alex Grinberg");
        assert_eq!(
            cells[COLUMNS.iter().position(|c| *c == "url").unwrap()],
            "https://besacenter.org/x"
        );
    }
}
