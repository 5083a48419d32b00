//! The foundation end to end: the real binary on the real seeds.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::*;
use serde_json::Value;

fn outlets(v: &Value) -> BTreeSet<String> {
    hits(v)
        .iter()
        .map(|h| field(h, "outlet").to_string())
        .collect()
}

#[test]
fn section_907_comes_from_besa_and_the_new_arab_with_marks() {
    let v = search("Section 907", &[]);
    assert!(v["total_hits"].as_u64().unwrap() >= 3);
    assert_eq!(
        outlets(&v),
        BTreeSet::from(["BESA Center".to_string(), "The New Arab".to_string()])
    );
    for h in hits(&v) {
        let snippet = &h["snippet"];
        let text = snippet["text"].as_str().unwrap();
        let marks = snippet["highlights"].as_array().unwrap();
        assert!(!marks.is_empty(), "no highlight in {h}");
        for m in marks {
            let (a, b) = (
                m[0].as_u64().unwrap() as usize,
                m[1].as_u64().unwrap() as usize,
            );
            let word = text[a..b].to_lowercase();
            assert!(word == "section" || word == "907", "marked {word:?}");
        }
        let html = snippet["html"].as_str().unwrap();
        assert!(html.contains("<mark>907</mark>"), "{html}");
        // The unit id is `<doc id>#<paragraph>` and the numbers agree.
        let id = field(h, "id");
        let n = h["paragraph"].as_u64().unwrap();
        assert_eq!(id, format!("{}#{n}", field(h, "doc_id")));
        assert!(n >= 1 && n <= h["paragraphs_in_doc"].as_u64().unwrap());
    }
}

#[test]
fn author_filter_forgives_case_and_takes_a_surname() {
    for name in [
        "Grinberg",
        "grinberg",
        "Alex Grinberg",
        "Alexander Grinberg",
    ] {
        let v = search("Azerbaijan", &["--author", name]);
        let docs: BTreeSet<&str> = hits(&v).iter().map(|h| field(h, "doc_id")).collect();
        assert_eq!(
            docs,
            BTreeSet::from([
                "besa-engage-azerbaijan",
                "newsweek-netanyahu-azerbaijan-trip"
            ]),
            "--author {name}"
        );
        for h in hits(&v) {
            let authors: Vec<&str> = h["authors"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert!(authors.contains(&"Alex Grinberg"), "{authors:?}");
        }
    }
}

#[test]
fn unknown_author_is_an_error_naming_the_closest() {
    let out = run(&["search", "Azerbaijan", "--author", "Grinbreg"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no author matches \"Grinbreg\""), "{err}");
    assert!(err.contains("Alex Grinberg"), "{err}");
}

#[test]
fn stance_filter_and_disjunctive_facets() {
    let v = search("Azerbaijan", &["--stance", "critical"]);
    assert!(!hits(&v).is_empty());
    assert_eq!(outlets(&v), BTreeSet::from(["The New Arab".to_string()]));
    // The stance facet ignores its own filter: supportive is still counted.
    let stance = v["facets"]["stance"].as_object().unwrap();
    assert!(stance["supportive"].as_u64().unwrap() > 0, "{stance:?}");
    assert_eq!(
        stance["critical"].as_u64().unwrap(),
        v["total_hits"].as_u64().unwrap()
    );
    // Other facets follow the filter.
    let outlet = v["facets"]["outlet"].as_object().unwrap();
    assert_eq!(outlet.keys().collect::<Vec<_>>(), vec!["The New Arab"]);
}

#[test]
fn single_valued_facets_sum_to_the_hits() {
    let v = search("Israel", &[]);
    let total = v["total_hits"].as_u64().unwrap();
    assert!(total > 10);
    for facet in ["outlet", "stance", "genre", "kind"] {
        let sum: u64 = v["facets"][facet]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(sum, total, "facet {facet}");
    }
}

#[test]
fn repeated_filters_are_or_within_and_across_fields() {
    let v = search("Azerbaijan", &["--outlet", "JNS", "--outlet", "cbn news"]);
    assert_eq!(
        outlets(&v),
        BTreeSet::from(["CBN News".to_string(), "JNS".to_string()])
    );
    let v = search(
        "Azerbaijan",
        &[
            "--outlet", "JNS", "--outlet", "CBN News", "--genre", "opinion",
        ],
    );
    assert_eq!(outlets(&v), BTreeSet::from(["JNS".to_string()]));
}

#[test]
fn paging_with_offset_is_consistent() {
    let all = search("Azerbaijan", &[]);
    let ids: Vec<&str> = hits(&all).iter().map(|h| field(h, "id")).collect();
    assert!(ids.len() > 12);
    let mut paged = Vec::new();
    for offset in (0..ids.len()).step_by(5) {
        let page = json(&[
            "search",
            "Azerbaijan",
            "--json",
            "--limit",
            "5",
            "--offset",
            &offset.to_string(),
        ]);
        assert_eq!(page["total_hits"], all["total_hits"]);
        paged.extend(hits(&page).iter().map(|h| field(h, "id").to_string()));
    }
    assert_eq!(paged, ids);
    let unique: BTreeSet<&String> = paged.iter().collect();
    assert_eq!(unique.len(), paged.len(), "a unit appeared on two pages");
}

#[test]
fn page_furniture_is_not_indexed() {
    // "Breadcrumb" appears in no article text, only as page furniture.
    let mut args = vec!["search", "Breadcrumb", "--json"];
    args.extend(ALL_KINDS);
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "Breadcrumb should match nothing"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total_hits"], 0);
    // "topic" is a real word in JNS's text; the trailing "Topics" label and
    // the lone separators must not be units of their own.
    let mut args = vec!["search", "", "--json", "--limit", "1000"];
    args.extend(ALL_KINDS);
    let v = json(&args);
    for hit in hits(&v) {
        let text = field(hit, "text");
        assert!(
            !matches!(text, "Topics" | "Breadcrumb" | "|" | "-"),
            "furniture indexed as {}",
            field(hit, "id")
        );
    }
}

#[test]
fn captions_and_disclaimers_only_on_request() {
    let v = search("opinions author responsibility", &[]);
    assert!(hits(&v).iter().all(|h| field(h, "kind") != "disclaimer"));
    let v = search("opinions author responsibility", &["--kind", "disclaimer"]);
    assert!(!hits(&v).is_empty());
    assert!(hits(&v).iter().all(|h| field(h, "kind") == "disclaimer"));
}

#[test]
fn relaxed_when_no_unit_has_every_word() {
    let v = search("Witkoff zanzibar", &[]);
    assert_eq!(v["relaxed"], true);
    assert!(hits(&v)
        .iter()
        .all(|h| field(h, "text").contains("Witkoff")));
    assert!(!hits(&v).is_empty());
    let v = search("Witkoff Baku", &[]);
    assert_eq!(v["relaxed"], false);
    let out = run(&["search", "Witkoff zanzibar"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("No paragraph has every word"));
}

#[test]
fn date_filters_use_the_published_month() {
    // A partial date is the span it covers: JNS's "2025" may fall in April.
    let v = search("Azerbaijan", &["--since", "2025-04"]);
    let docs: BTreeSet<&str> = hits(&v).iter().map(|h| field(h, "doc_id")).collect();
    assert_eq!(
        docs,
        BTreeSet::from([
            "jns-azerbaijan-kazakhstan-normalization",
            "newarab-azerbaijan-abraham-accords",
            "newsweek-netanyahu-azerbaijan-trip"
        ])
    );
    let v = search(
        "Azerbaijan",
        &["--since", "2025-03-01", "--until", "2025-03-31"],
    );
    let docs: BTreeSet<&str> = hits(&v).iter().map(|h| field(h, "doc_id")).collect();
    assert!(
        docs.contains("besa-engage-azerbaijan")
            && docs.contains("cbn-azerbaijan-shiite-nation-israel")
    );
    assert!(!docs.contains("newarab-azerbaijan-abraham-accords"));
    let v = search("Azerbaijan", &["--until", "2025-03-10"]);
    assert!(hits(&v).iter().all(|h| field(h, "published") <= "2025-03"));
    let out = run(&["search", "Azerbaijan", "--since", "last week"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("YYYY-MM-DD"));
}

#[test]
fn text_output_shows_source_place_and_facets_without_colour_on_a_pipe() {
    let out = run(&["search", "Section 907"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "colour on a pipe");
    assert!(
        text.contains("BESA Center · Zeev (Vladimir) Khanin, Alex Grinberg · 2025-03 · supportive"),
        "{text}"
    );
    assert!(text.contains("¶ "));
    assert!(text.contains("outlet:"));
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

#[test]
fn facet_limit_lists_the_most_frequent_and_counts_the_rest() {
    let all = search("Azerbaijan", &["--facet-limit", "0"]);
    let outlets = all["facets"]["outlet"].as_object().unwrap();
    assert_eq!(outlets.len(), 5);
    let two = search("Azerbaijan", &["--facet-limit", "2"]);
    assert_eq!(two["facets"]["outlet"].as_object().unwrap().len(), 2);
    assert_eq!(two["facets_left_out"]["outlet"], 3);
    // The text output counts what it does not show, listed or not.
    let out = run(&["search", "Azerbaijan", "--facet-limit", "2"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("outlet:")).unwrap();
    assert!(line.ends_with("· +3 more"), "{text}");
}

#[test]
fn show_prints_a_unit_with_its_neighbours() {
    let v = search("Witkoff Baku 14 March", &[]);
    let id = field(hits(&v)[0], "id").to_string();
    let n = hits(&v)[0]["paragraph"].as_u64().unwrap();
    let shown = json(&["show", &id, "--context", "1", "--json"]);
    let units = shown["units"].as_array().unwrap();
    let numbers: Vec<u64> = units
        .iter()
        .map(|u| u["paragraph"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![n - 1, n, n + 1]);
    let focus: Vec<bool> = units
        .iter()
        .map(|u| u["focus"].as_bool().unwrap())
        .collect();
    assert_eq!(focus, vec![false, true, false]);
    let out = run(&["show", &id]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("▶"), "{text}");
    assert!(text.contains("Witkoff"));

    let out = run(&["show", "no-such-doc#3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no unit no-such-doc#3"));
}

#[test]
fn facets_cover_the_whole_index() {
    let v = json(&["facets", "--json"]);
    let total = v["total_units"].as_u64().unwrap();
    let outlets: HashMap<String, u64> =
        serde_json::from_value(v["facets"]["outlet"].clone()).unwrap();
    assert_eq!(outlets.len(), 5);
    assert_eq!(outlets.values().sum::<u64>(), total);
    let kinds = v["facets"]["kind"].as_object().unwrap();
    for k in [
        "body",
        "heading",
        "caption",
        "disclaimer",
        "bio",
        "byline",
        "list-item",
    ] {
        assert!(kinds.contains_key(k), "kind {k} missing: {kinds:?}");
    }
    let one = json(&["facets", "stance", "--json"]);
    assert_eq!(one["field"], "stance");
    let out = run(&["facets", "colour"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn malformed_queries_and_configs_fail_clearly() {
    // Each is read as meant where it can be, and is an error otherwise:
    // the exit code says which (0 found, 1 nothing found, 2 error).
    for (q, expected) in [
        ("\"unbalanced", 1),     // the phrase "unbalanced": in no unit
        ("title:", 2),           // a scope with nothing after it
        ("(", 0),                // an empty group: no words, every unit
        ("AND", 0),              // the word "and"
        ("nosuchfield:word", 1), // not a scope: the words, in no unit
    ] {
        let out = run(&["search", q]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(expected), "{q}: {err}");
        assert!(!err.contains("panicked"), "{q}: {err}");
        if expected == 2 {
            assert!(
                err.starts_with("nutgraf: invalid query: column"),
                "{q}: {err}"
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[index]\ndir = \"x\"\n[corpus\n").unwrap();
    let out = nutgraf(&bad, &dir.path().join("idx"))
        .args(["index"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3"), "{err}");
    let out = nutgraf(&dir.path().join("missing.toml"), &dir.path().join("idx"))
        .args(["index"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn indexing_is_incremental_and_a_bad_file_loses_nothing() {
    let project = project_copy();
    let config = project.path().join("index-config/nutgraf.toml");
    let index = project.path().join("idx");
    let report = |args: &[&str]| -> Value {
        json_on(&config, &index, &[&["index", "--json"], args].concat())
    };
    let first = report(&[]);
    assert_eq!(first["documents_added"], 5);
    let meta = std::fs::read(index.join("meta.json")).unwrap();
    let files = |d: &std::path::Path| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let before = files(&index);

    let again = report(&[]);
    assert_eq!(again["documents_unchanged"], 5);
    assert_eq!(again["committed"], false);
    assert_eq!(
        std::fs::read(index.join("meta.json")).unwrap(),
        meta,
        "meta.json rewritten"
    );
    assert_eq!(files(&index), before);

    let seed = project.path().join("seeds/004_695256bb226bb410.txt");
    let mut text = std::fs::read_to_string(&seed).unwrap();
    text.push_str("\nA closing paragraph about pomegranates.\n");
    std::fs::write(&seed, &text).unwrap();
    let edited = report(&[]);
    assert_eq!(edited["documents_replaced"], 1);
    assert_eq!(edited["documents_unchanged"], 4);
    let v: Value = json_on(&config, &index, &["search", "pomegranates", "--json"]);
    assert_eq!(v["total_hits"], 1);
    assert_eq!(hits(&v)[0]["doc_id"], "cbn-azerbaijan-shiite-nation-israel");

    // A file that is not UTF-8 is an error and the index keeps what it had.
    std::fs::write(&seed, b"\xff\xfe broken").unwrap();
    let out = nutgraf(&config, &index).arg("index").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
    let v: Value = json_on(&config, &index, &["search", "pomegranates", "--json"]);
    assert_eq!(v["total_hits"], 1, "the indexed document was lost");

    // Removing a document from the config deletes its units.
    std::fs::write(&seed, text).unwrap();
    let seeds_toml = project.path().join("index-config/seeds.toml");
    let cfg = std::fs::read_to_string(&seeds_toml).unwrap();
    let cut = cfg.rfind("[[document]]").unwrap();
    std::fs::write(&seeds_toml, &cfg[..cut]).unwrap();
    let removed = report(&[]);
    assert_eq!(removed["documents_deleted"], 1);
    let v: Value = json_on(&config, &index, &["search", "pomegranates", "--json"]);
    assert_eq!(v["total_hits"], 0);
    let rebuilt = report(&["--rebuild"]);
    assert_eq!(rebuilt["documents_added"], 4);
}

#[test]
fn first_search_builds_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("fresh");
    let out = nutgraf(&default_config(), &index)
        .args(["search", "Section 907", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["total_hits"].as_u64().unwrap() >= 3);
    assert!(index.join("meta.json").exists());
}

#[test]
fn an_index_of_another_version_asks_for_rebuild_which_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("old");
    std::fs::create_dir(&index).unwrap();
    // An index whose schema is not this version's.
    let mut schema = tantivy::schema::Schema::builder();
    schema.add_text_field("body", tantivy::schema::TEXT | tantivy::schema::STORED);
    tantivy::Index::create_in_dir(&index, schema.build()).unwrap();

    let out = nutgraf(&default_config(), &index)
        .args(["search", "Section 907"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another version") && err.contains("--rebuild"),
        "{err}"
    );

    let report = json_on(&default_config(), &index, &["index", "--rebuild", "--json"]);
    assert_eq!(report["documents_added"], 5);
    let v: Value = json_on(
        &default_config(),
        &index,
        &["search", "Section 907", "--json"],
    );
    assert!(v["total_hits"].as_u64().unwrap() >= 3);
    // Nothing is left beside the index.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["old".to_string()]);
}
