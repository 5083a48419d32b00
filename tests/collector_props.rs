//! The search collector against a naive recount.
//!
//! Each case writes a small random project (3–15 documents of 1–8
//! paragraphs, random titles, authors, outlets, stances, genres, kinds
//! and dates), indexes it through the library, sometimes updates it once
//! more (a document removed, one changed, one added: deleted units in the
//! segments), and runs 10–20 random searches. Every answer is compared
//! with a recount done here, unit by unit, from the corpus the case wrote:
//! the total, the relaxed flag, every facet's disjunctive counts, the facet
//! limit and what it leaves out, the hits and their fields, and paging
//! (pages of one request laid end to end are the start of one big page).
//!
//! The model encodes these rules of search (README, "Query language"; the
//! collector's module comment):
//! - A unit is a paragraph. Paragraphs are separated by blank lines; one
//!   repeated right after itself is kept once (the splitter's rule), and
//!   the rest are numbered from 1.
//! - A query word matches a unit when the unit's text *or* its document's
//!   title holds it, and a unit is a hit only when its text holds at least
//!   one of the query's words. The vocabulary is lowercase English words
//!   that stem to themselves and to no other's stem, so matching is word
//!   equality.
//! - Every word is required; when that finds nothing (after filters), a
//!   query of two words is relaxed to either word, if that finds anything
//!   (`relaxed`). The empty query matches every unit.
//! - A page that full matches do not fill goes on with the partial
//!   matches (units that pass the filters and hold some of the words),
//!   each marked with the words its paragraph holds, more words first;
//!   they are not counted in the total or the facets. (In a relaxed
//!   search, a hit's words are those of its paragraph and title.)
//! - Filters: values of one field are OR-ed, fields AND-ed. Names are
//!   forgiving (case, accents, configured aliases); a unit passes an
//!   author filter when one of its authors is selected. Without a kind
//!   filter the kinds searched by default apply (all but captions and
//!   disclaimers). A date filter keeps units whose date span overlaps the
//!   filter's span; undated units fail it.
//! - Facets are disjunctive: a unit that passes every filter counts in
//!   every facet; one that fails exactly one facet's filter (the date
//!   filter is not a facet) counts in that facet only. An author list
//!   counts each name once.
//! - With a facet limit, the values listed are those a filter selects
//!   plus the most frequent (ties in name order) up to the limit;
//!   `facets_left_out` counts the rest. Values are listed most frequent
//!   first, then by name.
//! - Hits are the matching units that pass every filter, best first;
//!   a page is `offset..offset + limit` of that ranking.

// The library paths this test uses, in one place.
use nutgraf::index::{update, IndexOptions, Silent};
use nutgraf::{Config, SearchRequest, SearchResponse, Searcher};

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as RunnerConfig, FileFailurePersistence, TestRunner};

/// Words of titles and paragraphs.
const WORDS: [&str; 8] = ["oil", "gas", "port", "deal", "bank", "iron", "wind", "salt"];
/// A word queries may use that no document holds.
const ABSENT: &str = "corn";

const KINDS: [&str; 7] = [
    "body",
    "heading",
    "list-item",
    "caption",
    "byline",
    "bio",
    "disclaimer",
];
/// Kinds a search looks at unless a kind filter says otherwise.
const DEFAULT_KINDS: [&str; 5] = ["body", "heading", "list-item", "byline", "bio"];

/// The config's stance vocabulary.
const STANCES: [&str; 4] = ["left", "center", "right", "mixed"];

/// Author names as documents write them, and the name each counts as
/// (the config makes the second of each pair an alias).
const AUTHORS: [(&str, &str); 8] = [
    ("Ann Lee", "Ann Lee"),
    ("Annie Lee", "Ann Lee"),
    ("Bob Marsh", "Bob Marsh"),
    ("Robert Marsh", "Bob Marsh"),
    ("Cleo Park", "Cleo Park"),
    ("Dan Ortiz", "Dan Ortiz"),
    ("Eve Quinn", "Eve Quinn"),
    ("Zoë Ruiz", "Zoë Ruiz"),
];

/// Ways a filter may name an author: the name, folded, or an alias.
fn author_spellings(canonical: &str) -> Vec<String> {
    let mut s = vec![canonical.to_string(), canonical.to_lowercase()];
    s.extend(
        AUTHORS
            .iter()
            .filter(|(written, c)| *c == canonical && *written != canonical)
            .map(|(w, _)| w.to_string()),
    );
    if canonical == "Zoë Ruiz" {
        s.push("zoe ruiz".to_string());
    }
    s
}

const OUTLETS: [&str; 5] = [
    "Daily Ledger",
    "The Courier",
    "Harbor Times",
    "Nord Post",
    "Río Gazette",
];

/// Genres as documents write them; the index holds them lowercased.
const GENRES: [&str; 4] = ["News", "opinion", "Analysis", "policy paper"];

/// A paragraph of a kind other than body opens with a marker word that a
/// `[[splitting.kinds]]` rule of the config recognises.
fn marker(kind: &str) -> String {
    format!("xx{}", kind.replace('-', ""))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Date {
    year: u32,
    month: Option<u32>,
    day: Option<u32>,
}

impl Date {
    fn written(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{}-{m:02}-{d:02}", self.year),
            (Some(m), None) => format!("{}-{m:02}", self.year),
            _ => format!("{}", self.year),
        }
    }

    /// First and last day covered, as `YYYYMMDD`. Days stop at 28, so
    /// taking 31 as every month's last day compares as the real one does.
    fn span(&self) -> (u64, u64) {
        let y = u64::from(self.year) * 10_000;
        match (self.month, self.day) {
            (Some(m), Some(d)) => {
                let day = y + u64::from(m) * 100 + u64::from(d);
                (day, day)
            }
            (Some(m), None) => (y + u64::from(m) * 100 + 1, y + u64::from(m) * 100 + 31),
            _ => (y + 101, y + 1231),
        }
    }
}

fn date() -> impl Strategy<Value = Date> {
    (
        2023u32..=2024,
        proptest::option::of((1u32..=12, proptest::option::of(1u32..=28))),
    )
        .prop_map(|(year, md)| Date {
            year,
            month: md.map(|(m, _)| m),
            day: md.and_then(|(_, d)| d),
        })
}

#[derive(Debug, Clone)]
struct Paragraph {
    /// Index into [`KINDS`].
    kind: usize,
    words: Vec<usize>,
}

impl Paragraph {
    fn text(&self) -> String {
        let mut t = String::new();
        if self.kind != 0 {
            t.push_str(&marker(KINDS[self.kind]));
            t.push(' ');
        }
        let words: Vec<&str> = self.words.iter().map(|&w| WORDS[w]).collect();
        t.push_str(&words.join(" "));
        t.push('.');
        t
    }
}

#[derive(Debug, Clone)]
struct Doc {
    title: Vec<usize>,
    /// Indices into [`AUTHORS`] (repeats allowed: they count once).
    authors: Vec<usize>,
    outlet: usize,
    stance: usize,
    genre: usize,
    published: Option<Date>,
    paragraphs: Vec<Paragraph>,
    /// Paragraph number -> index into [`STANCES`].
    overrides: BTreeMap<u32, usize>,
}

impl Doc {
    fn title(&self) -> String {
        let words: Vec<&str> = self.title.iter().map(|&w| WORDS[w]).collect();
        let t = words.join(" ");
        // A capital first letter: the title analyser folds case.
        let mut c = t.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    }

    /// Paragraph texts as the splitter keeps them.
    fn units(&self) -> Vec<(usize, String)> {
        let mut out: Vec<(usize, String)> = Vec::new();
        for p in &self.paragraphs {
            let text = p.text();
            if out.last().is_some_and(|(_, t)| *t == text) {
                continue;
            }
            out.push((p.kind, text));
        }
        out
    }
}

fn paragraph() -> impl Strategy<Value = Paragraph> {
    (
        prop_oneof![5 => Just(0usize), 2 => 1..KINDS.len()],
        proptest::collection::vec(0..WORDS.len(), 1..=4),
    )
        .prop_map(|(kind, words)| Paragraph { kind, words })
}

fn doc() -> impl Strategy<Value = Doc> {
    (
        proptest::collection::vec(0..WORDS.len(), 1..=2),
        proptest::collection::vec(0..AUTHORS.len(), 0..=3),
        0..OUTLETS.len(),
        0..STANCES.len(),
        0..GENRES.len(),
        proptest::option::weighted(0.8, date()),
        proptest::collection::vec(paragraph(), 1..=8),
        proptest::collection::btree_map(1u32..=9, 0..STANCES.len(), 0..=2),
    )
        .prop_map(
            |(title, authors, outlet, stance, genre, published, paragraphs, overrides)| Doc {
                title,
                authors,
                outlet,
                stance,
                genre,
                published,
                paragraphs,
                overrides,
            },
        )
}

/// A second indexing run: one document removed, one changed, one added.
#[derive(Debug, Clone)]
struct Update {
    remove: Index,
    change: Index,
    changed: Doc,
    added: Doc,
}

#[derive(Debug, Clone)]
struct Request {
    /// Indices into [`WORDS`], or `WORDS.len()` for [`ABSENT`].
    words: Vec<usize>,
    /// (which author of the corpus, which spelling)
    authors: Vec<(Index, Index)>,
    /// (which outlet of the corpus, lowercased)
    outlets: Vec<(Index, bool)>,
    stances: Vec<usize>,
    genres: Vec<(Index, bool)>,
    kinds: Vec<usize>,
    since: Option<Date>,
    until: Option<Date>,
    limit: usize,
    offset: usize,
    facet_limit: usize,
}

/// Mostly no values; sometimes one or two.
fn some<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = Vec<T>> {
    prop_oneof![
        3 => Just(Vec::new()),
        1 => proptest::collection::vec(s.clone(), 1..=1),
        1 => proptest::collection::vec(s, 2..=2),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        (
            proptest::collection::vec(0..=WORDS.len(), 0..=2),
            some((any::<Index>(), any::<Index>())),
            some((any::<Index>(), any::<bool>())),
            some(0..STANCES.len()),
            some((any::<Index>(), any::<bool>())),
            some(0..KINDS.len()),
        ),
        (
            proptest::option::weighted(0.15, date()),
            proptest::option::weighted(0.15, date()),
            0usize..=8,
            0usize..=10,
            0usize..=3,
        ),
    )
        .prop_map(
            |(
                (words, authors, outlets, stances, genres, kinds),
                (since, until, limit, offset, facet_limit),
            )| Request {
                words,
                authors,
                outlets,
                stances,
                genres,
                kinds,
                since,
                until,
                limit,
                offset,
                facet_limit,
            },
        )
}

#[derive(Debug, Clone)]
struct Case {
    docs: Vec<Doc>,
    update: Option<Update>,
    /// Documents between commits (several segments when fewer than all).
    commit_every: usize,
    /// The first run's documents have no dates (segments without any).
    undated: bool,
    requests: Vec<Request>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(doc(), 3..=15),
        proptest::option::of((any::<Index>(), any::<Index>(), doc(), doc()).prop_map(
            |(remove, change, changed, added)| Update {
                remove,
                change,
                changed,
                added,
            },
        )),
        prop_oneof![2 => Just(usize::MAX), 1 => 3usize..=8],
        proptest::bool::weighted(0.25),
        proptest::collection::vec(request(), 10..=20),
    )
        .prop_map(|(docs, update, commit_every, undated, requests)| Case {
            docs,
            update,
            commit_every,
            undated,
            requests,
        })
}

/// The documents of the first run, with their ids.
fn first_corpus(case: &Case) -> Vec<(String, Doc)> {
    case.docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut d = d.clone();
            if case.undated {
                d.published = None;
            }
            (format!("doc-{i}"), d)
        })
        .collect()
}

/// The documents after the update, if any.
fn final_corpus(case: &Case) -> Vec<(String, Doc)> {
    let mut docs = first_corpus(case);
    if let Some(u) = &case.update {
        let change = u.change.index(docs.len());
        docs[change].1 = u.changed.clone();
        docs.remove(u.remove.index(docs.len()));
        docs.push(("doc-added".to_string(), u.added.clone()));
    }
    docs
}

/// Writes the config and the document files of a corpus into `dir`.
fn write_project(dir: &Path, docs: &[(String, Doc)]) -> std::path::PathBuf {
    let mut toml = String::from(
        "[index]\nmemory_budget_mb = 50\nthreads = 1\ntitle_boost = 2.0\n\n\
         [corpus]\ntopic = \"trade\"\n\n[corpus.stances]\n",
    );
    for s in STANCES {
        writeln!(toml, "{s} = \"a stance\"").unwrap();
    }
    toml.push_str("\n[authors]\n");
    for (written, canonical) in AUTHORS {
        if written != canonical {
            writeln!(toml, "\"{canonical}\" = [\"{written}\"]").unwrap();
        }
    }
    for kind in &KINDS[1..] {
        writeln!(
            toml,
            "\n[[splitting.kinds]]\nkind = \"{kind}\"\npattern = \"^{}\\\\b\"",
            marker(kind)
        )
        .unwrap();
    }
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    for (id, d) in docs {
        let text: Vec<String> = d.paragraphs.iter().map(Paragraph::text).collect();
        std::fs::write(dir.join(format!("docs/{id}.txt")), text.join("\n\n") + "\n").unwrap();
        let authors: Vec<String> = d
            .authors
            .iter()
            .map(|&a| format!("\"{}\"", AUTHORS[a].0))
            .collect();
        writeln!(
            toml,
            "\n[[document]]\nid = \"{id}\"\nfile = \"docs/{id}.txt\"\ntitle = \"{}\"\n\
             authors = [{}]\noutlet = \"{}\"\nstance = \"{}\"\ngenre = \"{}\"",
            d.title(),
            authors.join(", "),
            OUTLETS[d.outlet],
            STANCES[d.stance],
            GENRES[d.genre],
        )
        .unwrap();
        if let Some(p) = &d.published {
            writeln!(toml, "published = \"{}\"", p.written()).unwrap();
        }
        if !d.overrides.is_empty() {
            toml.push_str("[document.stance_overrides]\n");
            for (p, s) in &d.overrides {
                writeln!(toml, "\"{p}\" = \"{}\"", STANCES[*s]).unwrap();
            }
        }
    }
    let path = dir.join("nutgraf.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// One unit as the model sees it.
#[derive(Debug, Clone)]
struct ModelUnit {
    id: String,
    doc_id: String,
    paragraph: u32,
    paragraphs_in_doc: u32,
    title: String,
    /// As the document lists them (aliases resolved, repeats kept).
    authors: Vec<String>,
    outlet: String,
    stance: String,
    genre: String,
    kind: String,
    published: Option<String>,
    span: Option<(u64, u64)>,
    text: String,
    /// Words of the text and the title.
    words: HashSet<String>,
    /// Words of the text alone.
    text_words: HashSet<String>,
}

impl ModelUnit {
    /// The unit's values of a facet (an author counts once).
    fn values(&self, facet: usize) -> Vec<String> {
        match facet {
            0 => {
                let mut seen = BTreeSet::new();
                self.authors
                    .iter()
                    .filter(|a| seen.insert(a.as_str()))
                    .cloned()
                    .collect()
            }
            1 => vec![self.outlet.clone()],
            2 => vec![self.stance.clone()],
            3 => vec![self.genre.clone()],
            _ => vec![self.kind.clone()],
        }
    }
}

const FACETS: [&str; 5] = ["author", "outlet", "stance", "genre", "kind"];

fn model_units(docs: &[(String, Doc)]) -> Vec<ModelUnit> {
    let mut out = Vec::new();
    for (id, d) in docs {
        let units = d.units();
        let title = d.title();
        for (i, (kind, text)) in units.iter().enumerate() {
            let paragraph = i as u32 + 1;
            let stance = d.overrides.get(&paragraph).copied().unwrap_or(d.stance);
            let text_words: HashSet<String> = text
                .trim_end_matches('.')
                .split(' ')
                .map(str::to_lowercase)
                .collect();
            let words = text_words
                .iter()
                .cloned()
                .chain(title.split(' ').map(str::to_lowercase))
                .collect();
            out.push(ModelUnit {
                id: format!("{id}#{paragraph}"),
                doc_id: id.clone(),
                paragraph,
                paragraphs_in_doc: units.len() as u32,
                title: title.clone(),
                authors: d
                    .authors
                    .iter()
                    .map(|&a| AUTHORS[a].1.to_string())
                    .collect(),
                outlet: OUTLETS[d.outlet].to_string(),
                stance: STANCES[stance].to_string(),
                genre: GENRES[d.genre].to_lowercase(),
                kind: KINDS[*kind].to_string(),
                published: d.published.map(|p| p.written()),
                span: d.published.map(|p| p.span()),
                text: text.clone(),
                words,
                text_words,
            });
        }
    }
    out
}

/// A request made concrete against the final corpus: the library request
/// and, per facet, the values its filter selects (None: no filter).
struct Resolved {
    request: SearchRequest,
    words: Vec<String>,
    selected: [Option<BTreeSet<String>>; 5],
    since: Option<u64>,
    until: Option<u64>,
}

fn resolve(r: &Request, units: &[ModelUnit]) -> Resolved {
    let words: Vec<String> = r
        .words
        .iter()
        .map(|&w| WORDS.get(w).copied().unwrap_or(ABSENT).to_string())
        .collect();
    let mut request = SearchRequest::new(words.join(" "));
    request.limit = r.limit;
    request.offset = r.offset;
    request.facet_limit = r.facet_limit;
    let mut selected: [Option<BTreeSet<String>>; 5] = Default::default();
    let present = |facet: usize| -> Vec<String> {
        let set: BTreeSet<String> = units.iter().flat_map(|u| u.values(facet)).collect();
        set.into_iter().collect()
    };
    // Values a filter names must be in the index (else it is an error):
    // they are picked among those of the final corpus.
    let authors = present(0);
    if !authors.is_empty() {
        for (which, spelling) in &r.authors {
            let canonical = &authors[which.index(authors.len())];
            let spellings = author_spellings(canonical);
            request
                .filters
                .author
                .push(spelling.get(&spellings).clone());
            selected[0]
                .get_or_insert_with(BTreeSet::new)
                .insert(canonical.clone());
        }
    }
    let outlets = present(1);
    for (which, lower) in &r.outlets {
        let outlet = &outlets[which.index(outlets.len())];
        request.filters.outlet.push(if *lower {
            outlet.to_lowercase()
        } else {
            outlet.clone()
        });
        selected[1]
            .get_or_insert_with(BTreeSet::new)
            .insert(outlet.clone());
    }
    // Any stance of the vocabulary may be asked for, present or not.
    for &s in &r.stances {
        request.filters.stance.push(STANCES[s].to_string());
        selected[2]
            .get_or_insert_with(BTreeSet::new)
            .insert(STANCES[s].to_string());
    }
    let genres = present(3);
    for (which, upper) in &r.genres {
        let genre = &genres[which.index(genres.len())];
        request.filters.genre.push(if *upper {
            genre.to_uppercase()
        } else {
            genre.clone()
        });
        selected[3]
            .get_or_insert_with(BTreeSet::new)
            .insert(genre.clone());
    }
    for &k in &r.kinds {
        request.filters.kind.push(KINDS[k].to_string());
    }
    selected[4] = Some(if r.kinds.is_empty() {
        DEFAULT_KINDS.iter().map(|k| k.to_string()).collect()
    } else {
        r.kinds.iter().map(|&k| KINDS[k].to_string()).collect()
    });
    request.filters.since = r.since.map(|d| d.written());
    request.filters.until = r.until.map(|d| d.written());
    Resolved {
        request,
        words,
        selected,
        since: r.since.map(|d| d.span().0),
        until: r.until.map(|d| d.span().1),
    }
}

/// The naive answer.
#[derive(Debug, PartialEq)]
struct Expected {
    total: u64,
    relaxed: bool,
    /// Ids of the hits, in no particular order.
    hits: BTreeSet<String>,
    /// Partial matches that fill a page: id -> words held.
    partial: BTreeMap<String, usize>,
    /// How many of the query's words a unit holds (its text and title).
    held: BTreeMap<String, usize>,
    facets: [Vec<(String, u64)>; 5],
    left_out: BTreeMap<String, u64>,
}

fn recount(q: &Resolved, units: &[ModelUnit]) -> Expected {
    let distinct: BTreeSet<&String> = q.words.iter().collect();
    let in_text =
        |u: &ModelUnit| distinct.is_empty() || distinct.iter().any(|w| u.text_words.contains(*w));
    let every = |u: &ModelUnit| distinct.iter().all(|w| u.words.contains(*w)) && in_text(u);
    let either = |u: &ModelUnit| distinct.iter().any(|w| u.words.contains(*w)) && in_text(u);
    let held: BTreeMap<String, usize> = units
        .iter()
        .map(|u| {
            let n = distinct.iter().filter(|w| u.words.contains(**w)).count();
            (u.id.clone(), n)
        })
        .collect();
    let count = |matches: &dyn Fn(&ModelUnit) -> bool| -> Expected {
        let mut counts: [BTreeMap<String, u64>; 5] = Default::default();
        let mut hits = BTreeSet::new();
        for u in units.iter().filter(|u| matches(u)) {
            let dated = match u.span {
                Some((from, to)) => {
                    q.since.is_none_or(|s| to >= s) && q.until.is_none_or(|e| from <= e)
                }
                None => q.since.is_none() && q.until.is_none(),
            };
            if !dated {
                continue;
            }
            let fails: Vec<usize> = (0..5)
                .filter(|&f| {
                    q.selected[f]
                        .as_ref()
                        .is_some_and(|sel| !u.values(f).iter().any(|v| sel.contains(v)))
                })
                .collect();
            let counted_in: Vec<usize> = match fails.as_slice() {
                [] => (0..5).collect(),
                [only] => vec![*only],
                _ => vec![],
            };
            for f in counted_in {
                for v in u.values(f) {
                    *counts[f].entry(v).or_default() += 1;
                }
            }
            if fails.is_empty() {
                hits.insert(u.id.clone());
            }
        }
        let mut facets: [Vec<(String, u64)>; 5] = Default::default();
        let mut left_out = BTreeMap::new();
        for f in 0..5 {
            let mut listed: Vec<(String, u64)> =
                std::mem::take(&mut counts[f]).into_iter().collect();
            let selected = |v: &String| q.selected[f].as_ref().is_some_and(|s| s.contains(v));
            if q.request.facet_limit > 0 && listed.len() > q.request.facet_limit {
                // Selected first, then most frequent, then by name.
                listed.sort_by(|a, b| {
                    selected(&b.0)
                        .cmp(&selected(&a.0))
                        .then(b.1.cmp(&a.1))
                        .then(a.0.cmp(&b.0))
                });
                let chosen = listed.iter().filter(|(v, _)| selected(v)).count();
                let keep = q.request.facet_limit.max(chosen);
                if keep < listed.len() {
                    left_out.insert(FACETS[f].to_string(), (listed.len() - keep) as u64);
                }
                listed.truncate(keep);
            }
            listed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            facets[f] = listed;
        }
        Expected {
            total: hits.len() as u64,
            relaxed: false,
            hits,
            partial: BTreeMap::new(),
            held: held.clone(),
            facets,
            left_out,
        }
    };
    let strict = count(&every);
    if distinct.len() > 1 {
        let loose = count(&either);
        if strict.total == 0 && loose.total > 0 {
            return Expected {
                relaxed: true,
                ..loose
            };
        }
        // Words held in the paragraph itself.
        let in_paragraph: BTreeMap<&str, usize> = units
            .iter()
            .map(|u| {
                let n = distinct
                    .iter()
                    .filter(|w| u.text_words.contains(**w))
                    .count();
                (u.id.as_str(), n)
            })
            .collect();
        let partial = loose
            .hits
            .difference(&strict.hits)
            .map(|id| (id.clone(), in_paragraph[id.as_str()]))
            .collect();
        return Expected { partial, ..strict };
    }
    strict
}

fn facets_of(r: &SearchResponse) -> [Vec<(String, u64)>; 5] {
    [
        r.facets.author.0.clone(),
        r.facets.outlet.0.clone(),
        r.facets.stance.0.clone(),
        r.facets.genre.0.clone(),
        r.facets.kind.0.clone(),
    ]
}

/// What the property runs saw, so a run that checked little fails.
#[derive(Debug, Default)]
struct Seen {
    requests: usize,
    with_hits: usize,
    filtered_with_hits: usize,
    dated_with_hits: usize,
    relaxed: usize,
    left_out: usize,
    deep_pages: usize,
    updated: usize,
}

fn search(searcher: &Searcher, r: &SearchRequest) -> Result<SearchResponse, TestCaseError> {
    searcher
        .search(r)
        .map_err(|e| TestCaseError::fail(format!("{r:?}: {e}")))
}

fn check_case(case: &Case, seen: &RefCell<Seen>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    let index = dir.path().join("index");
    let options = IndexOptions {
        commit_every: Some(case.commit_every),
        allow_deletions: true,
        ..IndexOptions::default()
    };
    let mut runs = vec![first_corpus(case)];
    if case.update.is_some() {
        runs.push(final_corpus(case));
        seen.borrow_mut().updated += 1;
    }
    for docs in &runs {
        let config = Config::load(&write_project(&project, docs))
            .map_err(|e| TestCaseError::fail(format!("config: {e}")))?;
        update(&config, &index, &options, &Silent)
            .map_err(|e| TestCaseError::fail(format!("index: {e}")))?;
    }
    let units = model_units(runs.last().unwrap());
    let by_id: BTreeMap<&str, &ModelUnit> = units.iter().map(|u| (u.id.as_str(), u)).collect();
    let searcher =
        Searcher::open(&index, false).map_err(|e| TestCaseError::fail(format!("open: {e}")))?;

    for r in &case.requests {
        let q = resolve(r, &units);
        let want = recount(&q, &units);
        let got = search(&searcher, &q.request)?;
        let what = format!("{:?}", q.request);
        prop_assert_eq!(got.total_hits, want.total, "total of {}", what);
        prop_assert_eq!(got.relaxed, want.relaxed, "relaxed of {}", what);
        for ((name, got), want) in FACETS.iter().zip(facets_of(&got)).zip(&want.facets) {
            prop_assert_eq!(&got, want, "{} facet of {}", name, what);
        }
        prop_assert_eq!(&got.facets_left_out, &want.left_out, "left out of {}", what);

        // Every hit, in one page.
        let mut all = q.request.clone();
        all.offset = 0;
        all.limit = 1000;
        let big = search(&searcher, &all)?;
        let ids: Vec<&str> = big.hits.iter().map(|h| h.unit.id.as_str()).collect();
        let distinct: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
        prop_assert_eq!(distinct.len(), ids.len(), "a hit twice in {:?}", ids);
        // Full matches first, then partial ones (in a relaxed search, all
        // hits are partial).
        let full = if want.relaxed {
            0
        } else {
            big.hits
                .iter()
                .filter(|h| h.matched_words.is_none())
                .count()
        };
        let (full_hits, partial_hits) = big.hits.split_at(full);
        let full_ids: BTreeSet<String> = full_hits.iter().map(|h| h.unit.id.clone()).collect();
        let partial_ids: BTreeMap<String, usize> = partial_hits
            .iter()
            .map(|h| (h.unit.id.clone(), h.matched_words.unwrap_or(usize::MAX)))
            .collect();
        if want.relaxed {
            let relaxed_ids: BTreeSet<String> = partial_ids.keys().cloned().collect();
            prop_assert_eq!(&relaxed_ids, &want.hits, "hits of {}", what);
            for (id, n) in &partial_ids {
                prop_assert_eq!(*n, want.held[id], "words held by {} in {}", id, what);
            }
        } else {
            prop_assert_eq!(&full_ids, &want.hits, "hits of {}", what);
            prop_assert_eq!(&partial_ids, &want.partial, "partial hits of {}", what);
        }
        prop_assert!(
            full_hits.windows(2).all(|w| w[0].score >= w[1].score),
            "scores rise in {}",
            what
        );
        // More words held first; then by score (the score shown has lost
        // the words' credit: a little rounding).
        prop_assert!(
            partial_hits.windows(2).all(|w| {
                let (a, b) = (w[0].matched_words, w[1].matched_words);
                a > b || (a == b && w[0].score >= w[1].score - 0.01)
            }),
            "partial hits out of order in {}",
            what
        );
        for hit in &big.hits {
            let u = by_id[hit.unit.id.as_str()];
            let h = &hit.unit;
            prop_assert_eq!(&h.doc_id, &u.doc_id);
            prop_assert_eq!(h.paragraph, u.paragraph);
            prop_assert_eq!(h.paragraphs_in_doc, u.paragraphs_in_doc);
            prop_assert_eq!(&h.title, &u.title);
            prop_assert_eq!(&h.authors, &u.authors);
            prop_assert_eq!(&h.outlet, &u.outlet);
            prop_assert_eq!(&h.stance, &u.stance);
            prop_assert_eq!(&h.genre, &u.genre);
            prop_assert_eq!(&h.kind, &u.kind);
            prop_assert_eq!(&h.published, &u.published);
            prop_assert_eq!(&h.text, &u.text);
        }
        let ranked: Vec<(String, u32)> = big
            .hits
            .iter()
            .map(|h| (h.unit.id.clone(), h.score.to_bits()))
            .collect();

        // The page asked for is that slice of the big page.
        let end = (r.offset + r.limit).min(ranked.len());
        let page: Vec<(String, u32)> = got
            .hits
            .iter()
            .map(|h| (h.unit.id.clone(), h.score.to_bits()))
            .collect();
        let slice = if r.limit == 0 || r.offset >= end {
            &[][..]
        } else {
            &ranked[r.offset..end]
        };
        prop_assert_eq!(&page[..], slice, "page of {}", what);

        // Pages of `limit` hits from the start, laid end to end, are the
        // start of the big page; each counts the same.
        if r.limit > 0 {
            let mut joined = Vec::new();
            let mut start = 0;
            while start < r.offset + r.limit {
                let mut p = q.request.clone();
                p.offset = start;
                let resp = search(&searcher, &p)?;
                prop_assert_eq!(resp.total_hits, want.total);
                prop_assert_eq!(&facets_of(&resp), &want.facets);
                joined.extend(
                    resp.hits
                        .iter()
                        .map(|h| (h.unit.id.clone(), h.score.to_bits())),
                );
                start += r.limit;
            }
            joined.truncate(r.offset + r.limit);
            prop_assert_eq!(&joined[..], &ranked[..end], "pages of {}", what);
        }

        let mut s = seen.borrow_mut();
        s.requests += 1;
        s.with_hits += usize::from(want.total > 0);
        s.filtered_with_hits +=
            usize::from(want.total > 0 && q.selected[..4].iter().any(Option::is_some));
        s.dated_with_hits +=
            usize::from(want.total > 0 && (q.since.is_some() || q.until.is_some()));
        s.relaxed += usize::from(want.relaxed);
        s.left_out += usize::from(!want.left_out.is_empty());
        s.deep_pages += usize::from(r.offset > 0 && r.offset < ranked.len());
    }
    Ok(())
}

#[test]
fn collector_agrees_with_a_naive_recount() {
    let config = RunnerConfig {
        cases: 32,
        max_shrink_iters: 200,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(file!()),
        ..RunnerConfig::default()
    };
    let seen = RefCell::new(Seen::default());
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&case(), |c| check_case(&c, &seen)) {
        panic!("{e}");
    }
    // The random cases must have reached what the property is about.
    let seen = seen.into_inner();
    assert!(seen.with_hits > seen.requests / 4, "{seen:?}");
    assert!(seen.filtered_with_hits > 0, "{seen:?}");
    assert!(seen.dated_with_hits > 0, "{seen:?}");
    assert!(seen.relaxed > 0, "{seen:?}");
    assert!(seen.left_out > 0, "{seen:?}");
    assert!(seen.deep_pages > 0, "{seen:?}");
    assert!(seen.updated > 0, "{seen:?}");
}
