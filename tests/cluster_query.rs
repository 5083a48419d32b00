//! The search bodies nutgraf sends a cluster (`--backend`), one for each
//! feature of the query language and each combination of filters, against
//! golden copies in tests/fixtures/cluster/search/, and every part of them
//! checked against the request shapes the OpenSearch and Elasticsearch
//! documentation gives (bool, match, match_phrase with slop, prefix, term,
//! terms, fuzzy, range, post_filter, filter aggregations with terms and
//! cardinality sub-aggregations, highlight).
//!
//! To accept a deliberate change: `NUTGRAF_UPDATE_GOLDEN=1 cargo test
//! --release --test cluster_query`, then read the diff.

use std::path::PathBuf;

use nutgraf::cluster::query::{self, ClusterFilters, Page};
use nutgraf::index::schema::FacetField;
use nutgraf::query::parse::parse;
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster/search")
}

/// Facet scopes resolve as the cluster's catalogue would: the seeds'
/// authors by surname, other values as written.
fn resolve(field: FacetField, value: &str) -> Result<Vec<String>, String> {
    Ok(match (field, value.to_lowercase().as_str()) {
        (FacetField::Author, "grinberg") => vec!["Alex Grinberg".into()],
        (FacetField::Author, "khanin") => vec!["Zeev (Vladimir) Khanin".into()],
        (FacetField::Author, "nobody") => return Err("no author matches \"nobody\"".into()),
        _ => vec![value.to_string()],
    })
}

fn filters(
    facets: &[(FacetField, &[&str])],
    since: Option<&str>,
    until: Option<&str>,
) -> ClusterFilters {
    ClusterFilters {
        facets: facets
            .iter()
            .map(|(f, v)| (*f, v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        since: since.map(|d| query::date_bound(d, "since").unwrap()),
        until: until.map(|d| query::date_bound(d, "until").unwrap()),
    }
}

fn default_kinds() -> (FacetField, Vec<String>) {
    (FacetField::Kind, query::default_kinds())
}

fn body(q: &str, mut f: ClusterFilters, page: Page) -> Value {
    if !f.facets.iter().any(|(field, _)| *field == FacetField::Kind) {
        f.facets.push(default_kinds());
    }
    let node = parse(q).unwrap();
    let translated = query::query(node.as_ref(), &resolve, 2.0).unwrap();
    query::search_body(translated, &f, &page)
}

fn page() -> Page {
    Page {
        offset: 0,
        limit: 10,
        facet_limit: 100,
        collapse: false,
    }
}

/// Every case: (fixture name, query, filters, page).
fn cases() -> Vec<(&'static str, Value)> {
    let none = || filters(&[], None, None);
    vec![
        ("word", body("Baku", none(), page())),
        ("words", body("Section 907", none(), page())),
        ("phrase", body("\"oil needs\"", none(), page())),
        ("phrase-slop", body("\"oil needs\"~2", none(), page())),
        ("or", body("Baku OR Tehran", none(), page())),
        (
            "exclusion",
            body("gas -Iran -\"South Caucasus\"", none(), page()),
        ),
        ("required", body("+gas Israel", none(), page())),
        ("group", body("(SOCAR OR gas) Israel", none(), page())),
        ("title-scope", body("title:normalization", none(), page())),
        ("text-scope", body("text:azerbaijan israel", none(), page())),
        ("author-scope", body("author:grinberg gas", none(), page())),
        (
            "facet-group-scope",
            body("stance:(critical OR neutral) Baku", none(), page()),
        ),
        (
            "kind-scope",
            body("kind:caption Azerbaijan", filters(&[], None, None), page()),
        ),
        ("prefix", body("normali*", none(), page())),
        ("fuzzy", body("Khanin~1", none(), page())),
        ("hyphenated-word", body("Nagorno-Karabakh", none(), page())),
        ("empty-query", body("", none(), page())),
        (
            "outlet-and-stance",
            body(
                "gas",
                filters(
                    &[
                        (FacetField::Outlet, &["The New Arab", "JNS"]),
                        (FacetField::Stance, &["critical"]),
                    ],
                    None,
                    None,
                ),
                page(),
            ),
        ),
        (
            "author-and-dates",
            body(
                "Iran",
                filters(
                    &[(FacetField::Author, &["Alex Grinberg"])],
                    Some("2025-03"),
                    Some("2025"),
                ),
                page(),
            ),
        ),
        (
            "every-filter",
            body(
                "Azerbaijan",
                filters(
                    &[
                        (FacetField::Author, &["Alex Grinberg"]),
                        (FacetField::Outlet, &["BESA Center"]),
                        (FacetField::Stance, &["supportive"]),
                        (FacetField::Genre, &["policy paper"]),
                        (FacetField::Kind, &["body", "caption"]),
                    ],
                    Some("2024"),
                    Some("2025-12-31"),
                ),
                page(),
            ),
        ),
        (
            "page-3-all-facet-values",
            body(
                "Israel",
                none(),
                Page {
                    offset: 20,
                    limit: 10,
                    facet_limit: 0,
                    collapse: false,
                },
            ),
        ),
        (
            "collapse",
            body(
                "Israel",
                none(),
                Page {
                    collapse: true,
                    ..page()
                },
            ),
        ),
        (
            "counts-only",
            body(
                "Israel",
                none(),
                Page {
                    offset: 0,
                    limit: 0,
                    facet_limit: 100,
                    collapse: false,
                },
            ),
        ),
        ("relaxed", {
            let node = parse("Baku zebra +gas -Iran author:grinberg").unwrap();
            let (q, words) = query::loosened(node.as_ref(), &resolve, 2.0, &query::Loose::Relaxed)
                .unwrap()
                .unwrap();
            // Baku, zebra and the required gas.
            assert_eq!(words, 3);
            let mut f = none();
            f.facets.push(default_kinds());
            query::search_body(q, &f, &page())
        }),
        (
            "histogram-next-page",
            query::histogram_body(
                query::query(parse("gas").unwrap().as_ref(), &resolve, 2.0).unwrap(),
                &filters(&[(FacetField::Outlet, &["JNS"])], Some("2020"), None),
                FacetField::Stance,
                Some(&json!({ "published": "2025-03", "split": "supportive" })),
            ),
        ),
        (
            "export-next-page",
            query::export_body(
                query::query(parse("gas").unwrap().as_ref(), &resolve, 2.0).unwrap(),
                &filters(&[(FacetField::Stance, &["critical"])], None, Some("2025")),
                Some(&json!([3.2, "newarab-azerbaijan-abraham-accords#8"])),
            ),
        ),
        (
            "batch-row",
            query::summary_body(
                query::query(parse("gas").unwrap().as_ref(), &resolve, 2.0).unwrap(),
                &filters(&[(FacetField::Stance, &["critical"])], None, None),
            ),
        ),
        ("filling", {
            let node = parse("Baku zebra +gas -Iran author:grinberg").unwrap();
            let full = query::query(node.as_ref(), &resolve, 2.0).unwrap();
            let how = query::Loose::Filling {
                rare: &[1],
                full: &full,
            };
            let (q, words) = query::loosened(node.as_ref(), &resolve, 2.0, &how)
                .unwrap()
                .unwrap();
            assert_eq!(words, 3);
            let mut f = none();
            f.facets.push(default_kinds());
            query::hits_body(q, &f, 0, 7)
        }),
        (
            "word-counts",
            query::word_counts_body(
                &query::plain_words(parse("Baku zebra +gas").unwrap().as_ref(), &resolve, 2.0)
                    .unwrap(),
            ),
        ),
        ("facets", query::facets_body()),
        (
            "show",
            query::neighbours_body("besa-engage-azerbaijan", 4, 2),
        ),
        (
            "similar",
            query::similar_body(
                "nutgraf",
                "besa-engage-azerbaijan#4",
                "besa-engage-azerbaijan",
                10,
            ),
        ),
    ]
}

#[test]
fn search_bodies_match_their_golden_copies() {
    let update = std::env::var_os("NUTGRAF_UPDATE_GOLDEN").is_some();
    let dir = fixtures();
    let mut changed = Vec::new();
    for (name, body) in cases() {
        let path = dir.join(format!("{name}.json"));
        let text = serde_json::to_string_pretty(&body).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} is missing: run with NUTGRAF_UPDATE_GOLDEN=1",
                path.display()
            )
        });
        if golden != text {
            changed.push(format!("{name}:\n{text}"));
        }
    }
    assert!(
        changed.is_empty(),
        "search bodies changed (NUTGRAF_UPDATE_GOLDEN=1 accepts them):\n{}",
        changed.join("\n")
    );
}

/// The parameters the documentation gives each query, aggregation and
/// part of a search body that nutgraf uses.
fn check_query(q: &Value, at: &str) {
    let obj = q
        .as_object()
        .unwrap_or_else(|| panic!("{at}: a query is an object: {q}"));
    assert_eq!(obj.len(), 1, "{at}: one query type per object: {q}");
    let (kind, inner) = obj.iter().next().unwrap();
    let at = format!("{at}.{kind}");
    // `{ "field": { params } }` with only documented params.
    let field_params = |allowed: &[&str]| {
        let m = inner.as_object().unwrap();
        assert_eq!(m.len(), 1, "{at}: one field: {inner}");
        let params = m.values().next().unwrap().as_object().unwrap();
        for k in params.keys() {
            assert!(
                allowed.contains(&k.as_str()),
                "{at}: undocumented parameter {k}"
            );
        }
        params.clone()
    };
    match kind.as_str() {
        "bool" => {
            for (k, v) in inner.as_object().unwrap() {
                match k.as_str() {
                    "must" | "should" | "filter" | "must_not" => {
                        for (i, sub) in v.as_array().unwrap().iter().enumerate() {
                            check_query(sub, &format!("{at}.{k}[{i}]"));
                        }
                    }
                    "minimum_should_match" => assert!(v.is_number() || v.is_string()),
                    "boost" => assert!(v.is_number()),
                    // Named queries: the answer lists those a hit matched.
                    "_name" => assert!(v.is_string()),
                    other => panic!("{at}: bool has no {other}"),
                }
            }
        }
        "match" => {
            let p = field_params(&["query"]);
            assert!(p["query"].is_string());
        }
        "match_phrase" => {
            let p = field_params(&["query", "slop"]);
            assert!(p["query"].is_string());
            assert!(p.get("slop").is_none_or(Value::is_u64));
        }
        "prefix" | "term" => {
            let p = field_params(&["value"]);
            assert!(p["value"].is_string());
        }
        "fuzzy" => {
            let p = field_params(&[
                "value",
                "fuzziness",
                "prefix_length",
                "transpositions",
                "max_expansions",
            ]);
            assert!(p["value"].is_string());
            assert!(p["fuzziness"].as_u64().is_some_and(|d| d <= 2));
        }
        "range" => {
            let p = field_params(&["gte", "lte"]);
            for v in p.values() {
                match v.as_str() {
                    Some(d) => assert_eq!(
                        d.len(),
                        10,
                        "{at}: dates as yyyy-MM-dd, the mapping's format"
                    ),
                    None => assert!(v.is_u64(), "{at}: a number or a date"),
                }
            }
        }
        "terms" => {
            let m = inner.as_object().unwrap();
            assert_eq!(m.len(), 1, "{at}: one field");
            assert!(m.values().next().unwrap().is_array());
        }
        "match_all" | "match_none" => assert_eq!(inner, &json!({})),
        "constant_score" => {
            check_query(&inner["filter"], &format!("{at}.filter"));
            assert!(inner["boost"].is_number(), "{at}");
            assert_eq!(inner.as_object().unwrap().len(), 2, "{at}");
        }
        "more_like_this" => {
            for k in inner.as_object().unwrap().keys() {
                assert!(
                    [
                        "fields",
                        "like",
                        "min_term_freq",
                        "min_doc_freq",
                        "max_query_terms",
                        "minimum_should_match"
                    ]
                    .contains(&k.as_str()),
                    "{at}: undocumented parameter {k}"
                );
            }
            for doc in inner["like"].as_array().unwrap() {
                assert!(doc["_index"].is_string() && doc["_id"].is_string());
            }
        }
        other => panic!("{at}: nutgraf sends no {other} query"),
    }
}

fn check_body(body: &Value, name: &str) {
    for (k, v) in body.as_object().unwrap() {
        match k.as_str() {
            "from" | "size" => assert!(v.is_u64(), "{name}: {k}"),
            "track_total_hits" => assert!(v.is_boolean()),
            "_source" => assert!(v.is_array() || v.is_boolean(), "{name}"),
            "search_after" => assert!(v.is_array(), "{name}: the last hit's sort values"),
            "query" | "post_filter" => check_query(v, &format!("{name}.{k}")),
            "sort" => assert!(v.is_array()),
            "highlight" => {
                assert!(v["pre_tags"].is_array() && v["post_tags"].is_array());
                // 0 fragments: the whole field, marked.
                assert_eq!(v["fields"]["text"]["number_of_fragments"], 0);
            }
            "aggs" => {
                for (facet, agg) in v.as_object().unwrap() {
                    let at = format!("{name}.aggs.{facet}");
                    if let Some(t) = agg.get("terms") {
                        // A plain terms aggregation (a batch's counts).
                        assert!(t["field"].is_string() && t["size"].is_u64(), "{at}");
                        if let Some(order) = t.get("order") {
                            let dir = &order["_key"];
                            assert!(dir == "asc" || dir == "desc", "{at}");
                        }
                        continue;
                    }
                    check_query(&agg["filter"], &format!("{at}.filter"));
                    if agg.get("aggs").is_none() {
                        // A filter aggregation alone counts its units.
                        assert_eq!(agg.as_object().unwrap().len(), 1, "{at}");
                        continue;
                    }
                    if facet == "sources" {
                        // Folded copies: distinct `fold` values in all and
                        // under per-outlet and per-stance terms buckets.
                        let card = |c: &Value| {
                            let c = &c["cardinality"];
                            assert_eq!(c["field"], "fold", "{at}");
                            assert!(c["precision_threshold"].as_u64().unwrap() <= 40_000, "{at}");
                        };
                        card(&agg["aggs"]["paragraphs"]);
                        for by in ["outlet", "stance"] {
                            let t = &agg["aggs"][by];
                            assert_eq!(t["terms"]["field"], by, "{at}");
                            assert!(t["terms"]["size"].is_u64(), "{at}");
                            card(&t["aggs"]["paragraphs"]);
                        }
                        continue;
                    }
                    if facet == "matches" {
                        // A histogram's pairs: a composite aggregation of
                        // terms sources, missing values as their own bucket.
                        let c = &agg["aggs"]["dates"]["composite"];
                        assert!(c["size"].is_u64(), "{at}");
                        for source in c["sources"].as_array().unwrap() {
                            let (_, s) = source.as_object().unwrap().iter().next().unwrap();
                            assert!(s["terms"]["field"].is_string(), "{at}");
                            assert_eq!(s["terms"]["missing_bucket"], true, "{at}");
                        }
                        assert!(c.get("after").is_none_or(Value::is_object), "{at}");
                        continue;
                    }
                    let terms = &agg["aggs"]["values"]["terms"];
                    assert!(terms["field"].is_string() && terms["size"].is_u64(), "{at}");
                    if let Some(sel) = agg["aggs"].get("selected") {
                        let t = &sel["terms"];
                        assert_eq!(t["field"], terms["field"], "{at}");
                        assert!(
                            t["include"].is_array() && t["size"].is_u64(),
                            "{at}: include as exact values"
                        );
                    }
                    let card = &agg["aggs"]["distinct"]["cardinality"];
                    assert_eq!(card["field"], terms["field"], "{at}");
                    assert!(
                        card["precision_threshold"].as_u64().unwrap() <= 40_000,
                        "{at}: the documented maximum"
                    );
                }
            }
            "collapse" => {
                // Field collapsing with inner hits, as documented.
                assert_eq!(v["field"], "fold", "{name}");
                let inner = &v["inner_hits"];
                assert!(
                    inner["name"].is_string() && inner["size"].is_u64(),
                    "{name}"
                );
                assert!(inner["_source"].is_array(), "{name}");
            }
            other => panic!("{name}: nutgraf sends no {other}"),
        }
    }
}

#[test]
fn every_part_of_every_body_has_a_documented_shape() {
    for (name, body) in cases() {
        check_body(&body, name);
    }
}

#[test]
fn each_facet_counts_under_every_filter_but_its_own() {
    let b = body(
        "gas",
        filters(
            &[
                (FacetField::Outlet, &["JNS"]),
                (FacetField::Stance, &["critical"]),
            ],
            Some("2020"),
            None,
        ),
        page(),
    );
    let terms_fields = |filter: &Value| -> Vec<String> {
        filter["bool"]["filter"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["terms"].as_object())
                    .flat_map(|m| m.keys().cloned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        terms_fields(&b["aggs"]["outlet"]["filter"]),
        ["stance", "kind"]
    );
    assert_eq!(
        terms_fields(&b["aggs"]["stance"]["filter"]),
        ["outlet", "kind"]
    );
    assert_eq!(
        terms_fields(&b["aggs"]["author"]["filter"]),
        ["outlet", "stance", "kind"]
    );
    assert_eq!(
        terms_fields(&b["post_filter"]),
        ["outlet", "stance", "kind"]
    );
    // Dates are not facets: they narrow the query, so every count.
    assert_eq!(
        b["query"]["bool"]["filter"],
        json!([{ "range": { "published_to": { "gte": "2020-01-01" } } }])
    );
}

#[test]
fn what_a_cluster_cannot_express_is_an_error() {
    let e = query::query(parse("author:nobody gas").unwrap().as_ref(), &resolve, 2.0).unwrap_err();
    assert!(e.to_string().contains("no author matches"), "{e}");
    let e = query::query(parse("outlet:fox~1").unwrap().as_ref(), &resolve, 2.0).unwrap_err();
    assert!(e.to_string().contains("not a pattern"), "{e}");
}
