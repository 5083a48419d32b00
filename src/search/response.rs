//! What a search answers, one model for every front end: the command
//! line's text, `--json` and the web page all render these types.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::histogram::Histogram;
use crate::index::schema::FacetField;
use crate::model::UnitView;
use crate::text::snippet::Snippet;

/// Why a hit ranks where it does: its score taken apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The hit's score: the words' parts plus closeness.
    pub score: f32,
    /// Per word, phrase or group of the query, in order.
    pub words: Vec<WordScore>,
    /// How much more a match in the title weighs than one in the paragraph.
    pub title_weight: f32,
    /// What the words' closeness added: the plain words as one phrase and
    /// neighbouring pairs side by side in the paragraph.
    pub closeness: f32,
}

/// One word's (or phrase's) part of a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordScore {
    /// As typed in the query.
    pub word: String,
    /// Whether the unit holds it (in the paragraph or the title).
    pub matched: bool,
    /// BM25 in the paragraph.
    pub text: f32,
    /// BM25 in the title, times the title weight.
    pub title: f32,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    #[serde(flatten)]
    pub unit: UnitView,
    pub score: f32,
    /// For a partial match (a unit holding some, not all, of the query's
    /// words): how many it holds, and of how many. Partial matches that
    /// fill a page count the words in their paragraph; those of a relaxed
    /// search (no unit holds every word), in paragraph or title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_words: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_words: Option<usize>,
    /// Why it ranks here (when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explanation>,
    /// With copies folded, for a hit that stands for its copy cluster:
    /// how many other hits carry its paragraph, and their outlets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copies: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies_in: Vec<String>,
    /// A similar unit: how many of the claim's words (`words` of the
    /// response) it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_words: Option<usize>,
    pub snippet: Snippet,
}

/// Counts of one facet's values, most frequent first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FacetCounts(pub Vec<(String, u64)>);

impl Serialize for FacetCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl FacetCounts {
    /// Most frequent first, then by value.
    pub(crate) fn sorted(mut v: Vec<(String, u64)>) -> FacetCounts {
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        FacetCounts(v)
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

/// How many distinct paragraphs the hits hold, per outlet and stance: a
/// cluster of copies counts once per value, however many units carry it
/// (see `collapse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sources {
    /// Distinct paragraphs among all the hits.
    pub paragraphs: u64,
    pub outlet: FacetCounts,
    pub stance: FacetCounts,
}

/// Counts for every facet.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Facets {
    pub author: FacetCounts,
    pub outlet: FacetCounts,
    pub stance: FacetCounts,
    pub genre: FacetCounts,
    pub kind: FacetCounts,
}

impl Facets {
    pub(crate) fn from_gathered(mut m: HashMap<FacetField, Vec<(String, u64)>>) -> Facets {
        let mut take = |f| FacetCounts::sorted(m.remove(&f).unwrap_or_default());
        Facets {
            author: take(FacetField::Author),
            outlet: take(FacetField::Outlet),
            stance: take(FacetField::Stance),
            genre: take(FacetField::Genre),
            kind: take(FacetField::Kind),
        }
    }

    pub fn get(&self, field: FacetField) -> &FacetCounts {
        match field {
            FacetField::Author => &self.author,
            FacetField::Outlet => &self.outlet,
            FacetField::Stance => &self.stance,
            FacetField::Genre => &self.genre,
            FacetField::Kind => &self.kind,
        }
    }
}

/// The answer to a search (`search --json` prints exactly this).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResponse {
    pub query: String,
    pub total_hits: u64,
    pub took_us: u64,
    /// No unit had every word: these are the units with most of them.
    pub relaxed: bool,
    /// Units holding every word of the query. `total_hits` and the facet
    /// counts count these (or, when there are none, the partial matches);
    /// a page they do not fill goes on with partial matches, each marked
    /// with `matched_words` and `query_words`.
    pub full_matches: u64,
    /// Matches in kinds a search skips by default (captions, disclaimers),
    /// by kind: not among the hits; `--kind K` shows them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub excluded_by_kind: BTreeMap<String, u64>,
    /// "Did you mean" alternatives for words the index does not hold.
    pub suggestions: Vec<String>,
    pub offset: usize,
    pub limit: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
    /// Per facet, how many values with counts the facet limit left out
    /// (absent when none were).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facets_left_out: BTreeMap<String, u64>,
    /// The hits counted by date (when asked): buckets, `imprecise` and
    /// `undated` sum to `total_hits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
    /// Copies folded: each hit stands for its copy cluster (`copies`,
    /// `copies_in`), and `total_hits` and `facets` still count units.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub collapsed: bool,
    /// With copies folded: distinct paragraphs among the hits, in all and
    /// per outlet and stance (a paragraph reprinted by twenty outlets of
    /// one stance counts once for that stance, once for each outlet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Sources>,
}

/// `show`: a unit with its neighbours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShowResponse {
    pub id: String,
    pub context: usize,
    pub units: Vec<ShownUnit>,
}

impl ShowResponse {
    /// The units shown around unit `id`, the one `focus` picks marked.
    pub fn new(
        id: &str,
        context: usize,
        units: Vec<UnitView>,
        focus: impl Fn(&UnitView) -> bool,
    ) -> ShowResponse {
        ShowResponse {
            id: id.to_string(),
            context,
            units: units
                .into_iter()
                .map(|unit| ShownUnit {
                    focus: focus(&unit),
                    unit,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShownUnit {
    #[serde(flatten)]
    pub unit: UnitView,
    /// The unit asked for (the others are its context).
    pub focus: bool,
}

/// `facets`: counts over the whole index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacetsResponse {
    pub total_units: u64,
    pub facets: Facets,
}

/// `similar`: units elsewhere that repeat a unit's claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarResponse {
    pub id: String,
    pub unit: UnitView,
    /// The distinctive words the search looked for, most telling first.
    pub words: Vec<String>,
    /// Units in other documents sharing enough of those words.
    pub total_hits: u64,
    pub took_us: u64,
    pub limit: usize,
    pub hits: Vec<Hit>,
    /// Who repeats it: counts over all those units.
    pub facets: Facets,
    /// As in a search response.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facets_left_out: BTreeMap<String, u64>,
}
