//! nutgraf's parsed query ([`Node`]) and filters as OpenSearch /
//! Elasticsearch query DSL, and the search bodies built from them.
//!
//! The translation keeps the local meaning: every word required, a word
//! found in the paragraph or the title (the title weighted), a word that
//! analyses to several terms read as a phrase, at least one of the
//! query's words in the paragraph itself, facet scopes as filters that do
//! not rank. Facet filters go to `post_filter`, and each facet's counts
//! come from a `filter` aggregation holding every other facet's filter,
//! so the counts are disjunctive as nutgraf's are, in the same request.

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::index::schema::FacetField;
use crate::model::date::{date_span, normalise_date};
use crate::model::UnitKind;
use crate::query::compile::{clause_key, paragraph_clauses, RARE_WORDS_UNITS};
use crate::query::lexicon::MAX_EXPANSIONS;
use crate::query::parse::{Node, Scope, Sign};
use crate::query::scorers::WORD_CREDIT;
use crate::text::analysis;

/// The paragraph field.
pub const TEXT: &str = "text";
/// The title field.
pub const TITLE: &str = "title";
/// Marks a highlight starts and ends with: private-use characters, so no
/// article text can be taken for them (and no HTML needs escaping yet).
pub const MARK_START: &str = "\u{E000}";
pub const MARK_END: &str = "\u{E001}";
/// Values asked per facet when all are wanted; five facets stay under the
/// engines' default limit of 65,535 buckets a request.
pub const ALL_VALUES: usize = 10_000;
/// Below this many distinct values a `cardinality` count is exact.
const CARDINALITY_EXACT_BELOW: u64 = 40_000;

/// The cluster field holding a facet's values.
pub fn facet_field(field: FacetField) -> &'static str {
    match field {
        FacetField::Author => "authors",
        FacetField::Outlet => "outlet",
        FacetField::Stance => "stance",
        FacetField::Genre => "genre",
        FacetField::Kind => "kind",
    }
}

/// Turns a facet scope's value (`author:grinberg`) into the values the
/// cluster holds (forgivingly, as locally), or says why none.
pub type Resolve<'a> = &'a dyn Fn(FacetField, &str) -> std::result::Result<Vec<String>, String>;

/// The query part of a search: what matches and how it ranks.
pub fn query(node: Option<&Node>, resolve: Resolve, title_boost: f32) -> Result<Value> {
    let Some(node) = node else {
        return Ok(json!({ "match_all": {} }));
    };
    let t = Translator {
        resolve,
        title_boost,
    };
    let single = single_clause(node);
    let main = if single {
        // One word or phrase: it must be in the paragraph; the title
        // only adds to its score.
        let scoped = unwrap_plain(node);
        let in_text = t.node(scoped, Some(Scope::Text))?;
        let in_title = t.node(scoped, Some(Scope::Title))?;
        match (in_text, in_title) {
            (Some(text), Some(title)) => json!({ "bool": {
                "must": [text],
                "should": [boost(title, title_boost)],
            }}),
            (Some(text), None) => text,
            _ => return Ok(json!({ "match_none": {} })),
        }
    } else {
        match t.node(node, None)? {
            Some(q) => q,
            None => return Ok(json!({ "match_all": {} })),
        }
    };
    if single {
        return Ok(main);
    }
    // At least one of the query's words in the paragraph, not only in
    // titles: as nutgraf counts a unit.
    let mut in_text = Vec::new();
    for clause in paragraph_clauses(node) {
        if let Some(q) = t.node(clause, Some(Scope::Text))? {
            in_text.push(q);
        }
    }
    if in_text.is_empty() {
        return Ok(main);
    }
    Ok(json!({ "bool": {
        "must": [main],
        "filter": [any_of(in_text)],
    }}))
}

/// The name a relaxed query gives its words (`word1`, `word2`, …): an
/// answer lists those a unit holds in `matched_queries`.
pub const WORD_NAME: &str = "word";

/// How a query is loosened to find partial matches.
pub enum Loose<'a> {
    /// No unit holds every word: the units holding most of them.
    Relaxed,
    /// The partial matches after the full ones on a page they do not
    /// fill: each plain word looked for in the paragraph, at least one of
    /// the rarest (`rare`, indices among the plain words) held there, and
    /// the full matches (`full`, the query itself) left out.
    Filling { rare: &'a [usize], full: &'a Value },
}

/// The query loosened, as nutgraf loosens it. Each word or phrase a unit
/// may hold is named ([`WORD_NAME`]), so the answer says which ones a unit
/// holds, and scores [`WORD_CREDIT`] beside its BM25, so units rank by the
/// words they hold first, on every page; `+required` words stay required,
/// exclusions and facet scopes as they are. With the number of words;
/// None when loosening cannot change the answer.
pub fn loosened(
    node: Option<&Node>,
    resolve: Resolve,
    title_boost: f32,
    how: &Loose,
) -> Result<Option<(Value, usize)>> {
    let Some(node @ Node::All(clauses)) = node else {
        return Ok(None);
    };
    if !node.relaxable() {
        return Ok(None);
    }
    let filling = matches!(how, Loose::Filling { .. });
    let t = Translator {
        resolve,
        title_boost,
    };
    let mut lists: [(&str, Vec<Value>); 4] = [
        ("should", Vec::new()),
        ("must", Vec::new()),
        ("filter", Vec::new()),
        ("must_not", Vec::new()),
    ];
    let mut seen: Vec<String> = Vec::new();
    let mut words = 0;
    let mut plain = Vec::new();
    for (sign, n) in clauses {
        let key = format!("{sign:?}{}", clause_key(n));
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let is_plain_word = *sign == Sign::Plain && !n.is_filter();
        let scope = (filling && is_plain_word).then_some(Scope::Text);
        let Some(q) = t.node(n, scope)? else {
            continue;
        };
        if is_plain_word {
            plain.push(q.clone());
        }
        // A required word is one of the words a unit holds, as locally.
        let (list, counted) = match sign {
            Sign::Excluded => (3, false),
            _ if n.is_filter() => (2, false),
            Sign::Required => (1, true),
            Sign::Plain => (0, true),
        };
        let q = if counted {
            words += 1;
            json!({ "bool": {
                "should": [q.clone(), { "constant_score": { "filter": q, "boost": WORD_CREDIT } }],
                "_name": format!("{WORD_NAME}{words}"),
            } })
        } else {
            q
        };
        lists[list].1.push(q);
    }
    let required = !lists[1].1.is_empty();
    match how {
        Loose::Relaxed => {
            // At least one of the words in the paragraph, as in a full
            // search.
            let mut in_text = Vec::new();
            for clause in paragraph_clauses(node) {
                if let Some(q) = t.node(clause, Some(Scope::Text))? {
                    in_text.push(q);
                }
            }
            if !in_text.is_empty() {
                lists[2].1.push(any_of(in_text));
            }
        }
        Loose::Filling { rare, full } => {
            if plain.len() > 1 {
                let rarest: Vec<Value> =
                    rare.iter().filter_map(|&i| plain.get(i).cloned()).collect();
                if !rarest.is_empty() {
                    lists[2].1.push(any_of(rarest));
                }
            }
            lists[3].1.push((*full).clone());
        }
    }
    // With a required word (or the rarest ones) the others only rank,
    // as locally; without, a unit holds at least one.
    let anchored = required || (filling && plain.len() > 1);
    let mut b = Map::new();
    for (key, list) in lists {
        if !list.is_empty() {
            b.insert(key.into(), Value::Array(list));
        }
    }
    if !anchored {
        b.insert("minimum_should_match".into(), json!(1));
    }
    Ok(Some((json!({ "bool": b }), words)))
}

/// The plain words of a query (not required, excluded or scoped to a
/// facet), each looked for in the paragraph: what [`Loose::Filling`]
/// picks the rarest of. Counted with [`word_counts_body`].
pub fn plain_words(node: Option<&Node>, resolve: Resolve, title_boost: f32) -> Result<Vec<Value>> {
    let Some(Node::All(clauses)) = node else {
        return Ok(Vec::new());
    };
    let t = Translator {
        resolve,
        title_boost,
    };
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (sign, n) in clauses {
        let key = format!("{sign:?}{}", clause_key(n));
        if seen.contains(&key) || *sign != Sign::Plain || n.is_filter() {
            continue;
        }
        seen.push(key);
        if let Some(q) = t.node(n, Some(Scope::Text))? {
            out.push(q);
        }
    }
    Ok(out)
}

/// The body counting the units that hold each word in their paragraph
/// (aggregations `w0`, `w1`, … in order).
pub fn word_counts_body(words: &[Value]) -> Value {
    let mut aggs = Map::new();
    for (i, q) in words.iter().enumerate() {
        aggs.insert(format!("w{i}"), json!({ "filter": q }));
    }
    json!({ "size": 0, "query": { "match_all": {} }, "aggs": aggs })
}

/// The rarest words by their counts: the rarest, and the next ones while
/// their units add up to at most nutgraf's bound.
pub fn rarest(counts: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&i| counts[i]);
    let mut total = 0u64;
    let mut chosen = Vec::new();
    for i in order {
        total = total.saturating_add(counts[i]);
        if !chosen.is_empty() && total > RARE_WORDS_UNITS {
            break;
        }
        chosen.push(i);
    }
    chosen
}

/// The body of a page of hits without facet counts (the partial matches
/// that fill a page): every filter as a filter clause, highlights asked.
pub fn hits_body(query: Value, filters: &ClusterFilters, from: usize, size: usize) -> Value {
    json!({
        "from": from,
        "size": size,
        "track_total_hits": false,
        "query": filtered(query, filters),
        "highlight": highlight(),
    })
}

fn boost(q: Value, by: f32) -> Value {
    if (by - 1.0).abs() < f32::EPSILON {
        return q;
    }
    json!({ "bool": { "should": [q], "boost": by } })
}

fn any_of(mut parts: Vec<Value>) -> Value {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    json!({ "bool": { "should": parts, "minimum_should_match": 1 } })
}

fn all_of(mut parts: Vec<Value>) -> Value {
    if parts.len() == 1 {
        return parts.remove(0);
    }
    json!({ "bool": { "must": parts } })
}

/// A lone word or phrase, under a plain or required sign.
fn unwrap_plain(node: &Node) -> &Node {
    match node {
        Node::All(c) => c
            .iter()
            .find(|(s, _)| *s != Sign::Excluded)
            .map_or(node, |(_, n)| unwrap_plain(n)),
        n => n,
    }
}

/// Whether the query is one word or phrase, nothing excluded (repeats
/// count once).
fn single_clause(node: &Node) -> bool {
    match node {
        Node::Word { .. } | Node::Phrase { .. } => true,
        Node::All(c) => {
            let mut distinct: Vec<&(Sign, Node)> = Vec::new();
            for clause in c {
                if !distinct.iter().any(|d| same(d, clause)) {
                    distinct.push(clause);
                }
            }
            matches!(distinct.as_slice(), [(s, n)] if *s != Sign::Excluded && single_clause(n))
        }
        _ => false,
    }
}

/// The same clause, wherever it stands in the query.
fn same(a: &(Sign, Node), b: &(Sign, Node)) -> bool {
    a.0 == b.0 && clause_key(&a.1) == clause_key(&b.1)
}

struct Translator<'a> {
    resolve: Resolve<'a>,
    title_boost: f32,
}

impl Translator<'_> {
    /// The fields a text word is looked up in, with their boosts.
    fn fields(&self, scope: Option<Scope>) -> Vec<(&'static str, f32)> {
        match scope {
            Some(Scope::Title) => vec![(TITLE, 1.0)],
            Some(Scope::Text) => vec![(TEXT, 1.0)],
            _ => vec![(TEXT, 1.0), (TITLE, self.title_boost)],
        }
    }

    fn on_fields(&self, scope: Option<Scope>, build: &dyn Fn(&str) -> Value) -> Value {
        any_of(
            self.fields(scope)
                .into_iter()
                .map(|(f, b)| boost(build(f), b))
                .collect(),
        )
    }

    fn node(&self, node: &Node, scope: Option<Scope>) -> Result<Option<Value>> {
        Ok(match node {
            Node::All(clauses) => {
                let mut must = Vec::new();
                let mut filter = Vec::new();
                let mut must_not = Vec::new();
                for (sign, n) in clauses {
                    let Some(q) = self.node(n, scope)? else {
                        continue;
                    };
                    match sign {
                        Sign::Excluded => must_not.push(q),
                        _ if n.is_filter() => filter.push(q),
                        _ => must.push(q),
                    }
                }
                if must.is_empty() && filter.is_empty() && must_not.is_empty() {
                    return Ok(None);
                }
                if must.len() == 1 && filter.is_empty() && must_not.is_empty() {
                    return Ok(must.pop());
                }
                let mut b = Map::new();
                for (key, list) in [("must", must), ("filter", filter), ("must_not", must_not)] {
                    if !list.is_empty() {
                        b.insert(key.into(), Value::Array(list));
                    }
                }
                Some(json!({ "bool": b }))
            }
            Node::Any(branches) => {
                let mut parts = Vec::new();
                for n in branches {
                    if let Some(q) = self.node(n, scope)? {
                        parts.push(q);
                    }
                }
                (!parts.is_empty()).then(|| any_of(parts))
            }
            Node::Scoped { scope, node } => self.node(node, Some(*scope))?,
            Node::Word { text, span, .. } | Node::Phrase { text, span, .. }
                if matches!(scope, Some(Scope::Facet(_))) =>
            {
                let Some(Scope::Facet(field)) = scope else {
                    return Ok(None);
                };
                if let Node::Word { prefix, fuzzy, .. } = node {
                    if *prefix || fuzzy.is_some() {
                        return Err(Error::Query(format!(
                            "column {}: `{}:` takes a name, not a pattern",
                            span.0 + 1,
                            field.as_str()
                        )));
                    }
                }
                let values = (self.resolve)(field, text)
                    .map_err(|m| Error::Query(format!("column {}: {m}", span.0 + 1)))?;
                Some(json!({ "terms": { facet_field(field): values } }))
            }
            Node::Word {
                text, prefix: true, ..
            } => self.prefix(text, scope),
            Node::Word {
                text,
                fuzzy: Some(d),
                ..
            } => self.fuzzy(text, *d, scope),
            Node::Word { text, .. } => self.words(text, 0, scope),
            Node::Phrase { text, slop, .. } => self.words(text, *slop, scope),
        })
    }

    /// Words or a phrase. The engine analyses them as the mapping says
    /// (the same steps as nutgraf's), so the text goes as typed; a word
    /// that analyses to nothing (punctuation) asks for nothing.
    fn words(&self, text: &str, slop: u32, scope: Option<Scope>) -> Option<Value> {
        let terms = analysis::terms(&mut analysis::text_analyzer(), text);
        if terms.is_empty() {
            return None;
        }
        Some(self.on_fields(scope, &|field| {
            if terms.len() == 1 {
                json!({ "match": { field: { "query": text } } })
            } else if slop == 0 {
                json!({ "match_phrase": { field: { "query": text } } })
            } else {
                json!({ "match_phrase": { field: { "query": text, "slop": slop } } })
            }
        }))
    }

    /// `normali*`: the index holds stems, so the prefix also takes a stem
    /// it extends by a few letters (as nutgraf does; a stem the cluster
    /// does not hold matches nothing).
    fn prefix(&self, text: &str, scope: Option<Scope>) -> Option<Value> {
        let words = analysis::terms(&mut analysis::name_analyzer(), text);
        let (last, before) = words.split_last()?;
        let chars: Vec<char> = last.chars().collect();
        let stems: Vec<String> = (chars.len().saturating_sub(3).max(4)..chars.len())
            .map(|keep| chars[..keep].iter().collect())
            .collect();
        let mut parts: Vec<Value> = before
            .iter()
            .filter_map(|w| self.words(w, 0, scope))
            .collect();
        parts.push(self.on_fields(scope, &|field| {
            let mut any = vec![json!({ "prefix": { field: { "value": last } } })];
            any.extend(
                stems
                    .iter()
                    .map(|s| json!({ "term": { field: { "value": s } } })),
            );
            any_of(any)
        }));
        Some(all_of(parts))
    }

    /// `Khanin~1`: each analysed word within that many edits (Levenshtein
    /// with transpositions, as nutgraf counts them), as many expansions as
    /// nutgraf allows.
    fn fuzzy(&self, text: &str, distance: u8, scope: Option<Scope>) -> Option<Value> {
        let words = analysis::terms(&mut analysis::text_analyzer(), text);
        let parts: Vec<Value> = words
            .iter()
            .map(|w| {
                self.on_fields(scope, &|field| {
                    json!({ "fuzzy": { field: {
                        "value": w,
                        "fuzziness": distance,
                        "prefix_length": 0,
                        "transpositions": true,
                        "max_expansions": MAX_EXPANSIONS,
                    } } })
                })
            })
            .collect();
        (!parts.is_empty()).then(|| all_of(parts))
    }
}

/// A search's filters with their values as the cluster holds them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterFilters {
    /// Per facet, the values of which a unit must hold one.
    pub facets: Vec<(FacetField, Vec<String>)>,
    /// The first day `--since` covers, `YYYY-MM-DD`.
    pub since: Option<String>,
    /// The last day `--until` covers.
    pub until: Option<String>,
}

/// `--since`/`--until` as the day it starts or ends on.
pub fn date_bound(date: &str, flag: &str) -> Result<String> {
    let (first, last) = normalise_date(date)
        .and_then(|n| date_span(&n))
        .ok_or_else(|| {
            Error::Filter(format!(
                "--{flag} {date}: not a date; write YYYY, YYYY-MM or YYYY-MM-DD"
            ))
        })?;
    let ymd = if flag == "until" { last } else { first };
    Ok(format!(
        "{:04}-{:02}-{:02}",
        ymd / 10_000,
        ymd / 100 % 100,
        ymd % 100
    ))
}

/// The kinds searched unless asked otherwise.
pub fn default_kinds() -> Vec<String> {
    UnitKind::ALL
        .iter()
        .filter(|k| k.searched_by_default())
        .map(|k| k.as_str().to_string())
        .collect()
}

impl ClusterFilters {
    /// One facet's filter.
    fn facet_clause(field: FacetField, values: &[String]) -> Value {
        json!({ "terms": { facet_field(field): values } })
    }

    /// The dates: a unit's span must meet the asked span, as locally (a
    /// unit dated only by its month is in for any day of that month); an
    /// undated unit is out once a date is asked.
    pub fn date_clauses(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if let Some(since) = &self.since {
            out.push(json!({ "range": { "published_to": { "gte": since } } }));
        }
        if let Some(until) = &self.until {
            out.push(json!({ "range": { "published_from": { "lte": until } } }));
        }
        out
    }

    /// Every facet filter but `except`'s.
    fn facet_clauses(&self, except: Option<FacetField>) -> Vec<Value> {
        self.facets
            .iter()
            .filter(|(f, _)| Some(*f) != except)
            .map(|(f, v)| ClusterFilters::facet_clause(*f, v))
            .collect()
    }
}

fn filter_of(clauses: Vec<Value>) -> Value {
    if clauses.is_empty() {
        json!({ "match_all": {} })
    } else {
        json!({ "bool": { "filter": clauses } })
    }
}

/// What a search body asks besides the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
    /// Values per facet; 0 for all.
    pub facet_limit: usize,
    /// Fold copies: one hit per copy cluster (`--collapse`).
    pub collapse: bool,
}

/// The facet aggregations: per facet, a `filter` aggregation holding
/// every other facet's filter, a `terms` aggregation of its values and a
/// `cardinality` of them (how many values the size left out).
pub fn facet_aggs(filters: &ClusterFilters, facet_limit: usize) -> Value {
    let size = match facet_limit {
        0 => ALL_VALUES,
        n => n.min(ALL_VALUES),
    };
    let mut aggs = Map::new();
    for field in FacetField::ALL {
        let name = facet_field(field);
        let mut agg = json!({
            "filter": filter_of(filters.facet_clauses(Some(field))),
            "aggs": {
                "values": { "terms": { "field": name, "size": size } },
                "distinct": { "cardinality": { "field": name, "precision_threshold": CARDINALITY_EXACT_BELOW } }
            }
        });
        // The values a filter selects are listed whatever their rank, as
        // locally.
        let selected = filters
            .facets
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default();
        if facet_limit > 0 && !selected.is_empty() {
            agg["aggs"]["selected"] = json!({ "terms": {
                "field": name, "include": selected, "size": selected.len()
            } });
        }
        aggs.insert(field.as_str().into(), agg);
    }
    Value::Object(aggs)
}

/// The highlight part: the whole paragraph with each matched word between
/// [`MARK_START`] and [`MARK_END`]; nutgraf cuts the snippet itself.
pub fn highlight() -> Value {
    json!({
        "pre_tags": [MARK_START],
        "post_tags": [MARK_END],
        "fields": { TEXT: { "number_of_fragments": 0 } }
    })
}

/// The body of `POST /<index>/_search` for a page of hits with facet
/// counts.
pub fn search_body(query: Value, filters: &ClusterFilters, page: &Page) -> Value {
    let dates = filters.date_clauses();
    let query = if dates.is_empty() {
        query
    } else {
        json!({ "bool": { "must": [query], "filter": dates } })
    };
    let mut body = json!({
        "from": page.offset,
        "size": page.limit,
        "track_total_hits": true,
        "query": query,
        "aggs": facet_aggs(filters, page.facet_limit),
    });
    let post = filters.facet_clauses(None);
    if !post.is_empty() {
        body["post_filter"] = filter_of(post);
    }
    if page.limit > 0 {
        body["highlight"] = highlight();
    }
    if page.collapse {
        fold(&mut body, filters);
    }
    body
}

/// Copies listed per folded hit (their outlets name where the copies are).
pub const COPIES_LISTED: usize = 100;

/// Folds copies (`--collapse`): the engine's field collapsing on `fold`
/// (the copy cluster, or for a unit in none its own id), with each
/// group's other units as inner hits; and the sources counted as distinct
/// `fold` values, in all and per outlet and stance, among the listed
/// matches (`cardinality`: exact below [`CARDINALITY_EXACT_BELOW`]
/// distinct values, then within a few percent).
pub fn fold(body: &mut Value, filters: &ClusterFilters) {
    body["collapse"] = json!({
        "field": FOLD,
        "inner_hits": { "name": "copies", "size": COPIES_LISTED, "_source": ["id", "outlet"] }
    });
    let distinct =
        json!({ "cardinality": { "field": FOLD, "precision_threshold": CARDINALITY_EXACT_BELOW } });
    body["aggs"]["sources"] = json!({
        "filter": filter_of(filters.facet_clauses(None)),
        "aggs": {
            "paragraphs": distinct,
            "outlet": { "terms": { "field": facet_field(FacetField::Outlet), "size": ALL_VALUES },
                        "aggs": { "paragraphs": distinct } },
            "stance": { "terms": { "field": facet_field(FacetField::Stance), "size": ALL_VALUES },
                        "aggs": { "paragraphs": distinct } }
        }
    });
}

/// The field copies are folded on.
pub const FOLD: &str = "fold";

/// Date and split-value pairs a histogram request reads per page.
pub const HISTOGRAM_PAGE: usize = 10_000;

/// The body counting matches by the date as written and a split facet
/// (`--histogram`): a `composite` aggregation, read page by page from
/// `after`, under a `filter` aggregation holding every facet filter (the
/// matches a search lists). nutgraf buckets the counts itself, as
/// locally, so imprecise dates are told apart from precise ones.
pub fn histogram_body(
    query: Value,
    filters: &ClusterFilters,
    split: FacetField,
    after: Option<&Value>,
) -> Value {
    let dates = filters.date_clauses();
    let query = if dates.is_empty() {
        query
    } else {
        json!({ "bool": { "must": [query], "filter": dates } })
    };
    let mut composite = json!({
        "size": HISTOGRAM_PAGE,
        "sources": [
            { "published": { "terms": { "field": "published", "missing_bucket": true } } },
            { "split": { "terms": { "field": facet_field(split), "missing_bucket": true } } }
        ]
    });
    if let Some(after) = after {
        composite["after"] = after.clone();
    }
    json!({
        "size": 0,
        "query": query,
        "aggs": { "matches": {
            "filter": filter_of(filters.facet_clauses(None)),
            "aggs": { "dates": { "composite": composite } }
        } }
    })
}

/// Units an export reads per request.
pub const EXPORT_PAGE: usize = 1_000;

/// A query with every filter (dates and facets) as a filter clause: what
/// an export and a batch count, where no facet is shown.
fn filtered(query: Value, filters: &ClusterFilters) -> Value {
    let mut clauses = filters.date_clauses();
    clauses.extend(filters.facet_clauses(None));
    if clauses.is_empty() {
        query
    } else {
        json!({ "bool": { "must": [query], "filter": clauses } })
    }
}

/// The body of one page of an export (`search --all`): every match, best
/// first and by unit id on a tie, so that `search_after` (the sort values
/// of the last unit read) goes on exactly where the page ended.
pub fn export_body(query: Value, filters: &ClusterFilters, after: Option<&Value>) -> Value {
    let mut body = json!({
        "size": EXPORT_PAGE,
        "track_total_hits": false,
        "query": filtered(query, filters),
        "sort": [ { "_score": { "order": "desc" } }, { "id": { "order": "asc" } } ]
    });
    if let Some(after) = after {
        body["search_after"] = after.clone();
    }
    body
}

/// The body of a batch's row: the best match, the matches per stance and
/// outlet, and the first and last date as written (dates as written sort
/// as text in calendar order, a less precise date first).
pub fn summary_body(query: Value, filters: &ClusterFilters) -> Value {
    let terms = |field: &str| json!({ "terms": { "field": field, "size": ALL_VALUES } });
    json!({
        "size": 1,
        "track_total_hits": true,
        "_source": ["id"],
        "query": filtered(query, filters),
        "aggs": {
            "stance": terms("stance"),
            "outlet": terms("outlet"),
            "first": { "terms": { "field": "published", "size": 1, "order": { "_key": "asc" } } },
            "last": { "terms": { "field": "published", "size": 1, "order": { "_key": "desc" } } }
        }
    })
}

/// The body counting every unit by facet (`nutgraf facets`).
pub fn facets_body() -> Value {
    json!({
        "size": 0,
        "track_total_hits": true,
        "query": { "match_all": {} },
        "aggs": facet_aggs(&ClusterFilters::default(), 0),
    })
}

/// The body finding a unit and its neighbours in its document.
pub fn neighbours_body(doc_id: &str, paragraph: u32, context: usize) -> Value {
    // At most 9,999 units: the engines answer no more than 10,000 hits a
    // request unless an index is set otherwise.
    let context = context.min(4_999) as u64;
    let from = u64::from(paragraph).saturating_sub(context).max(1);
    let to = u64::from(paragraph).saturating_add(context);
    json!({
        "size": to - from + 1,
        "query": { "bool": { "filter": [
            { "term": { "doc_id": { "value": doc_id } } },
            { "range": { "paragraph": { "gte": from, "lte": to } } }
        ] } },
        "sort": [ { "paragraph": "asc" } ]
    })
}

/// The body of a count of one document's units (to tell "no such
/// paragraph" from "no such document").
pub fn document_body(doc_id: &str) -> Value {
    json!({
        "size": 1,
        "query": { "bool": { "filter": [ { "term": { "doc_id": { "value": doc_id } } } ] } }
    })
}

/// The body finding units of other documents that say what unit `id`
/// says: `more_like_this` on its paragraph, every word of it a candidate
/// (one paragraph repeats few words), the unit's document excluded.
pub fn similar_body(index: &str, id: &str, doc_id: &str, limit: usize) -> Value {
    json!({
        "size": limit,
        "track_total_hits": true,
        "query": { "bool": {
            "must": [ { "more_like_this": {
                "fields": [TEXT],
                "like": [ { "_index": index, "_id": id } ],
                "min_term_freq": 1,
                "min_doc_freq": 1,
                "max_query_terms": 25,
                "minimum_should_match": "30%"
            } } ],
            "must_not": [ { "term": { "doc_id": { "value": doc_id } } } ]
        } },
        "aggs": facet_aggs(&ClusterFilters::default(), crate::search::DEFAULT_FACET_LIMIT),
        "highlight": highlight(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse::parse;

    fn q(text: &str) -> Value {
        let resolve = |f: FacetField, v: &str| -> std::result::Result<Vec<String>, String> {
            Ok(vec![format!("{}={v}", f.as_str())])
        };
        query(parse(text).unwrap().as_ref(), &resolve, 2.0).unwrap()
    }

    #[test]
    fn one_word_must_be_in_the_paragraph_and_the_title_adds() {
        assert_eq!(
            q("Baku"),
            json!({ "bool": {
                "must": [ { "match": { "text": { "query": "Baku" } } } ],
                "should": [ { "bool": { "should": [ { "match": { "title": { "query": "Baku" } } } ], "boost": 2.0 } } ]
            } })
        );
    }

    #[test]
    fn exclusions_and_scopes_are_must_not_and_filter() {
        let v = q("gas -Iran author:grinberg");
        let b = &v["bool"]["must"][0]["bool"];
        assert_eq!(b["must_not"].as_array().unwrap().len(), 1);
        assert_eq!(
            b["filter"][0],
            json!({ "terms": { "authors": ["author=grinberg"] } })
        );
    }

    #[test]
    fn scoped_patterns_are_refused() {
        let resolve =
            |_: FacetField, _: &str| -> std::result::Result<Vec<String>, String> { Ok(vec![]) };
        let e = query(parse("author:grin*").unwrap().as_ref(), &resolve, 2.0).unwrap_err();
        assert!(e.to_string().contains("not a pattern"), "{e}");
    }
}
