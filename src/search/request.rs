//! What a search asks: the query, its filters, paging and limits, and the
//! bounds every request is checked against.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::histogram::HistogramRequest;
use crate::error::{Error, Result};
use crate::index::schema::FacetField;
use crate::model::UnitKind;

/// Filters of a search. Repeated values of one field are OR-ed; fields are
/// AND-ed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filters {
    pub author: Vec<String>,
    pub outlet: Vec<String>,
    pub stance: Vec<String>,
    pub genre: Vec<String>,
    /// Unit kinds; empty means the kinds searched by default (body,
    /// heading, list-item, byline, bio).
    pub kind: Vec<String>,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub since: Option<String>,
    pub until: Option<String>,
}

impl Filters {
    /// No filter but every kind, captions and disclaimers included: what
    /// traces a reprint and exports a whole index.
    pub fn every_kind() -> Filters {
        Filters {
            kind: UnitKind::ALL
                .iter()
                .map(|k| k.as_str().to_string())
                .collect(),
            ..Filters::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        FacetField::ALL.iter().all(|&f| self.values(f).is_empty())
            && self.since.is_none()
            && self.until.is_none()
    }

    /// The filter keys, as the command line, the HTTP API and benchmark
    /// query files name them: the facet fields, then the dates.
    pub const KEYS: [&'static str; 7] = [
        "author", "outlet", "stance", "genre", "kind", "since", "until",
    ];

    /// The values asked of a facet field.
    pub fn values(&self, field: FacetField) -> &[String] {
        match field {
            FacetField::Author => &self.author,
            FacetField::Outlet => &self.outlet,
            FacetField::Stance => &self.stance,
            FacetField::Genre => &self.genre,
            FacetField::Kind => &self.kind,
        }
    }

    fn values_mut(&mut self, field: FacetField) -> &mut Vec<String> {
        match field {
            FacetField::Author => &mut self.author,
            FacetField::Outlet => &mut self.outlet,
            FacetField::Stance => &mut self.stance,
            FacetField::Genre => &mut self.genre,
            FacetField::Kind => &mut self.kind,
        }
    }

    /// Sets one filter by its key (`outlet`, `Fox News`): a facet value
    /// is added to those asked (they are OR-ed), a date replaces the one
    /// set. Returns false when `key` is not one of [`Filters::KEYS`].
    pub fn set(&mut self, key: &str, value: String) -> bool {
        match key {
            "since" => self.since = Some(value),
            "until" => self.until = Some(value),
            _ => match FacetField::ALL.into_iter().find(|f| f.as_str() == key) {
                Some(field) => self.values_mut(field).push(value),
                None => return false,
            },
        }
        true
    }

    /// Every filter as `(key, value)`, in [`Filters::KEYS`] order: what
    /// [`Filters::set`] reads back into the same filters.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let facets = FacetField::ALL
            .into_iter()
            .flat_map(|f| self.values(f).iter().map(move |v| (f.as_str(), v.as_str())));
        let dates = [("since", &self.since), ("until", &self.until)]
            .into_iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)));
        facets.chain(dates).collect()
    }
}

/// A search to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub query: String,
    #[serde(default)]
    pub filters: Filters,
    /// Hits listed, at most [`MAX_SEARCH_LIMIT`]; 0 counts the matches
    /// (total and facets) without listing any.
    pub limit: usize,
    /// Hits skipped before those listed, at most [`MAX_SEARCH_OFFSET`].
    #[serde(default)]
    pub offset: usize,
    /// Values listed per facet, most frequent first; 0 lists them all.
    #[serde(default = "default_facet_limit")]
    pub facet_limit: usize,
    /// When to give up: past it the search stops (within about a
    /// millisecond of work) and answers [`Error::Timeout`]. None: no limit.
    #[serde(skip)]
    pub deadline: Option<Instant>,
    /// Explain each hit's score (`--explain`, `explain=true`).
    #[serde(default)]
    pub explain: bool,
    /// Count the hits by date (`--histogram`, `histogram=`); None: no
    /// histogram.
    #[serde(skip)]
    pub histogram: Option<HistogramRequest>,
    /// Fold copies: one hit per copy cluster (`--collapse`,
    /// `collapse=true`), and the `sources` counts.
    #[serde(default)]
    pub collapse: bool,
}

/// Most hits one search lists. Memory grows with the hits found, not
/// with the limit, but a page of 100,000 paragraphs is already more than
/// anyone reads; the limit keeps a typo (`--limit 10000000000`) from
/// printing a whole archive.
pub const MAX_SEARCH_LIMIT: usize = 100_000;
/// Deepest page start. A search keeps the best `offset + limit` matches
/// (16 bytes each), so the deepest page costs about 18 MB at most.
pub const MAX_SEARCH_OFFSET: usize = 1_000_000;

/// A limit or offset in its range, or an error naming it and the range.
pub fn check_range(name: &str, value: usize, max: usize, note: &str) -> Result<()> {
    if value > max {
        return Err(Error::Limit(format!(
            "{name} {value} is out of range: it must be between 0 and {max}{note}"
        )));
    }
    Ok(())
}

/// The time spent so far, as a timeout reports it.
pub(crate) fn timeout(started: Instant) -> Error {
    Error::Timeout {
        after_ms: started.elapsed().as_millis() as u64,
    }
}

/// Whether a deadline has passed.
pub(crate) fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Values listed per facet unless a request says otherwise: a broad
/// query on a news archive counts thousands of authors, which no reader
/// scans and every response would carry (as Solr and Algolia, 100).
pub const DEFAULT_FACET_LIMIT: usize = 100;

fn default_facet_limit() -> usize {
    DEFAULT_FACET_LIMIT
}

impl SearchRequest {
    /// Checks the page asked for: limit and offset in their ranges.
    pub fn check_page(&self) -> Result<()> {
        check_range(
            "limit",
            self.limit,
            MAX_SEARCH_LIMIT,
            " (0 counts the matches without listing them)",
        )?;
        check_range("offset", self.offset, MAX_SEARCH_OFFSET, "")
    }

    pub fn new(query: impl Into<String>) -> SearchRequest {
        SearchRequest {
            query: query.into(),
            filters: Filters::default(),
            limit: 10,
            offset: 0,
            facet_limit: DEFAULT_FACET_LIMIT,
            deadline: None,
            explain: false,
            histogram: None,
            collapse: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_set_by_key_read_back_as_the_same_pairs() {
        let mut f = Filters::default();
        for (k, v) in [
            ("outlet", "Fox News"),
            ("author", "grinberg"),
            ("outlet", "JNS"),
            ("since", "2020"),
            ("kind", "caption"),
            ("until", "2021-06"),
            ("since", "2019"),
        ] {
            assert!(f.set(k, v.to_string()), "{k}");
        }
        assert_eq!(f.outlet, ["Fox News", "JNS"]);
        // A date replaces; a facet value adds.
        assert_eq!(f.since.as_deref(), Some("2019"));
        let pairs = f.pairs();
        assert_eq!(
            pairs,
            [
                ("author", "grinberg"),
                ("outlet", "Fox News"),
                ("outlet", "JNS"),
                ("kind", "caption"),
                ("since", "2019"),
                ("until", "2021-06"),
            ]
        );
        let mut again = Filters::default();
        for (k, v) in pairs {
            again.set(k, v.to_string());
        }
        assert_eq!(again, f);
        assert!(!f.set("colour", "red".into()));
        assert!(Filters::KEYS
            .iter()
            .all(|k| Filters::default().set(k, "2020".into())));
    }
}
