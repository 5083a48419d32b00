//! A cluster's answers (`_search` responses) read into nutgraf's
//! response types: units from `_source`, snippets from the highlighter's
//! marks, facet counts from the aggregations.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde_json::{json, Value};

use super::query::{MARK_END, MARK_START};
use crate::error::{Error, Result};
use crate::index::schema::FacetField;
use crate::model::UnitView;
use crate::search::response::Sources;
use crate::search::response::{FacetCounts, Facets, Hit};
use crate::text::snippet::{snippet_with_marks, SNIPPET_BYTES};

fn bad(what: &str) -> Error {
    Error::Cluster(format!(
        "the cluster's answer is not what nutgraf expects ({what}); is the URL an OpenSearch or Elasticsearch index exported by `nutgraf export --to`?"
    ))
}

fn string(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// A unit from a document's `_source`.
pub fn unit(source: &Value) -> Result<UnitView> {
    let id = source["id"]
        .as_str()
        .ok_or_else(|| bad("a unit without id"))?;
    let number = |key: &str| source[key].as_u64().unwrap_or(0).min(u64::from(u32::MAX)) as u32;
    Ok(UnitView {
        id: id.to_string(),
        doc_id: string(&source["doc_id"]),
        paragraph: number("paragraph"),
        paragraphs_in_doc: number("paragraphs_in_doc"),
        title: string(&source["title"]),
        authors: source["authors"]
            .as_array()
            .map(|a| a.iter().map(string).collect())
            .unwrap_or_default(),
        outlet: string(&source["outlet"]),
        stance: string(&source["stance"]),
        genre: string(&source["genre"]),
        kind: string(&source["kind"]),
        published: source["published"].as_str().map(String::from),
        url: source["url"].as_str().map(String::from),
        text: string(&source["text"]),
        cluster: source["cluster"].as_str().map(String::from),
    })
}

/// The total of `hits.total`: an object (`{"value": 7, "relation":
/// "eq"}`) since Elasticsearch 7, a number before.
pub fn total(answer: &Value) -> u64 {
    let t = &answer["hits"]["total"];
    t["value"].as_u64().or_else(|| t.as_u64()).unwrap_or(0)
}

/// A highlighted paragraph (the whole field between marks) as the plain
/// text and the byte ranges of its marks. None when the marked text is
/// not the paragraph with marks added (the cluster changed it).
pub fn marks(text: &str, highlighted: &str) -> Option<Vec<Range<usize>>> {
    let mut plain = String::with_capacity(text.len());
    let mut ranges = Vec::new();
    let mut rest = highlighted;
    while let Some(at) = rest.find(MARK_START) {
        plain.push_str(&rest[..at]);
        rest = &rest[at + MARK_START.len()..];
        let end = rest.find(MARK_END)?;
        let start = plain.len();
        plain.push_str(&rest[..end]);
        // Adjacent marks of one phrase stay separate words, as nutgraf's.
        if end > 0 {
            ranges.push(start..plain.len());
        }
        rest = &rest[end + MARK_END.len()..];
    }
    plain.push_str(rest);
    (plain == text).then_some(ranges)
}

/// One hit: its unit, score and snippet.
pub fn hit(h: &Value) -> Result<Hit> {
    let unit = unit(&h["_source"])?;
    let marked = h["highlight"]["text"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .and_then(|m| marks(&unit.text, m))
        .unwrap_or_default();
    let snippet = snippet_with_marks(&unit.text, &marked, SNIPPET_BYTES);
    // Folded copies (`--collapse`): the group's other units.
    let group = &h["inner_hits"]["copies"]["hits"];
    let (copies, copies_in) = match total(&json!({ "hits": group })) {
        // A unit alone in its group stands for no copies (as locally).
        0 | 1 => (None, Vec::new()),
        n => {
            let mut outlets: Vec<String> = group["hits"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|c| c["_source"]["id"].as_str() != Some(unit.id.as_str()))
                        .filter_map(|c| c["_source"]["outlet"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            outlets.sort_unstable();
            outlets.dedup();
            (Some(n - 1), outlets)
        }
    };
    Ok(Hit {
        score: h["_score"].as_f64().unwrap_or(0.0) as f32,
        matched_words: None,
        query_words: None,
        explain: None,
        copies,
        copies_in,
        shared_words: None,
        snippet,
        unit,
    })
}

/// The sources of a folding search (see [`super::query::fold`]).
pub fn sources(answer: &Value) -> Sources {
    let agg = &answer["aggregations"]["sources"];
    let counts = |key: &str| {
        let mut v: Vec<(String, u64)> = agg[key]["buckets"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|b| {
                        Some((
                            b["key"].as_str()?.to_string(),
                            b["paragraphs"]["value"].as_u64()?,
                        ))
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect()
            })
            .unwrap_or_default();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        FacetCounts(v)
    };
    Sources {
        paragraphs: agg["paragraphs"]["value"].as_u64().unwrap_or(0),
        outlet: counts("outlet"),
        stance: counts("stance"),
    }
}

/// How many of a relaxed query's words a hit holds (its
/// `matched_queries` named `word…`).
pub fn words_matched(h: &Value) -> usize {
    h["matched_queries"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|n| {
                    n.as_str()
                        .is_some_and(|n| n.starts_with(super::query::WORD_NAME))
                })
                .count()
        })
        .unwrap_or(0)
}

/// The hits of an answer, in order.
pub fn hits(answer: &Value) -> Result<Vec<Hit>> {
    answer["hits"]["hits"]
        .as_array()
        .map(|a| a.iter().map(hit).collect())
        .unwrap_or_else(|| Ok(Vec::new()))
}

/// The units of an answer, in order.
pub fn units(answer: &Value) -> Result<Vec<UnitView>> {
    answer["hits"]["hits"]
        .as_array()
        .map(|a| a.iter().map(|h| unit(&h["_source"])).collect())
        .unwrap_or_else(|| Ok(Vec::new()))
}

/// The facet counts of an answer's aggregations (see
/// [`super::query::facet_aggs`]), and per facet how many values the size
/// left out.
pub fn facets(answer: &Value, facet_limit: usize) -> (Facets, BTreeMap<String, u64>) {
    let mut gathered = HashMap::new();
    let mut left_out = BTreeMap::new();
    let buckets = |b: &Value| -> Vec<(String, u64)> {
        b["buckets"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|b| {
                        let key = b["key"].as_str()?.to_string();
                        Some((key, b["doc_count"].as_u64()?))
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect()
            })
            .unwrap_or_default()
    };
    for field in FacetField::ALL {
        let agg = &answer["aggregations"][field.as_str()];
        // Values a filter selects first, then the most frequent, at least
        // `facet_limit` in all (as the local collector lists them).
        let mut values = buckets(&agg["selected"]);
        let chosen = values.len();
        let room = facet_limit.saturating_sub(chosen);
        let top: Vec<(String, u64)> = buckets(&agg["values"])
            .into_iter()
            .filter(|(v, _)| !values.iter().any(|(s, _)| s == v))
            .collect();
        if facet_limit == 0 {
            values.extend(top);
        } else {
            values.extend(top.into_iter().take(room));
        }
        let distinct = agg["distinct"]["value"].as_u64().unwrap_or(0);
        let listed = values.len() as u64;
        if facet_limit > 0 && distinct > listed {
            left_out.insert(field.as_str().to_string(), distinct - listed);
        }
        gathered.insert(field, values);
    }
    (Facets::from_gathered(gathered), left_out)
}

/// The engine's reason for refusing a request, from its error body
/// (`{"error": {"type": …, "reason": …, "root_cause": […]}}`).
pub fn reason(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        let short: String = body.chars().take(300).collect();
        return short.trim().to_string();
    };
    let e = &v["error"];
    if let Some(s) = e.as_str() {
        return s.to_string();
    }
    let cause = &e["root_cause"][0];
    let pick = |x: &Value| match (x["type"].as_str(), x["reason"].as_str()) {
        (Some(t), Some(r)) => Some(format!("{t}: {r}")),
        (None, Some(r)) => Some(r.to_string()),
        _ => None,
    };
    let mut said = pick(e).unwrap_or_else(|| v.to_string());
    if let Some(c) = pick(cause) {
        if !said.contains(&c) {
            said = format!("{said} ({c})");
        }
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_become_byte_ranges_of_the_paragraph() {
        let text = "Baku supplies Israel’s oil.";
        let marked =
            format!("Baku supplies {MARK_START}Israel’s{MARK_END} {MARK_START}oil{MARK_END}.");
        let r = marks(text, &marked).unwrap();
        let words: Vec<&str> = r.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(words, ["Israel’s", "oil"]);
        assert!(marks(text, "something else").is_none());
    }

    #[test]
    fn reasons_come_from_the_error_body() {
        let body = r#"{"error":{"root_cause":[{"type":"mapper_parsing_exception","reason":"unknown parameter [foo]"}],"type":"mapper_parsing_exception","reason":"Failed to parse mapping"},"status":400}"#;
        assert_eq!(
            reason(body),
            "mapper_parsing_exception: Failed to parse mapping (mapper_parsing_exception: unknown parameter [foo])"
        );
    }
}

#[cfg(test)]
mod folding_tests {
    use super::*;

    /// A collapsed hit and the sources aggregation, shaped as the
    /// engines' documentation shows field collapsing with inner hits and
    /// a cardinality under terms.
    #[test]
    fn folded_hits_and_sources_are_read() {
        let h = json!({
            "_score": 2.5,
            "_source": { "id": "ap#1", "doc_id": "ap", "paragraph": 1, "outlet": "Associated Press",
                         "text": "The Senate voted.", "cluster": "7" },
            "fields": { "fold": ["7"] },
            "inner_hits": { "copies": { "hits": {
                "total": { "value": 3, "relation": "eq" },
                "hits": [
                    { "_source": { "id": "ap#1", "outlet": "Associated Press" } },
                    { "_source": { "id": "daily#2", "outlet": "Daily Planet" } },
                    { "_source": { "id": "gazette#1", "outlet": "Gotham Gazette" } }
                ]
            } } }
        });
        let hit = hit(&h).unwrap();
        assert_eq!(hit.copies, Some(2));
        assert_eq!(hit.copies_in, ["Daily Planet", "Gotham Gazette"]);
        assert_eq!(hit.unit.cluster.as_deref(), Some("7"));
        let alone = json!({ "_source": { "id": "x#1", "text": "t" },
                            "inner_hits": { "copies": { "hits": { "total": { "value": 1 }, "hits": [] } } } });
        assert_eq!(super::hit(&alone).unwrap().copies, None);
        let answer = json!({ "aggregations": { "sources": {
            "doc_count": 4,
            "paragraphs": { "value": 2 },
            "outlet": { "buckets": [
                { "key": "Daily Planet", "doc_count": 2, "paragraphs": { "value": 2 } },
                { "key": "Associated Press", "doc_count": 1, "paragraphs": { "value": 1 } }
            ] },
            "stance": { "buckets": [ { "key": "left", "doc_count": 2, "paragraphs": { "value": 2 } } ] }
        } } });
        let s = sources(&answer);
        assert_eq!(s.paragraphs, 2);
        assert_eq!(
            s.outlet.0,
            [
                ("Daily Planet".to_string(), 2),
                ("Associated Press".to_string(), 1)
            ]
        );
        assert_eq!(s.stance.0, [("left".to_string(), 2)]);
    }
}
