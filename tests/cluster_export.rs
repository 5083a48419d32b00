//! `nutgraf export --to-dir`: the mapping for an OpenSearch or
//! Elasticsearch cluster (against a golden copy) and the units as `_bulk`
//! files, on the seeds.

mod common;

use std::collections::HashSet;
use std::path::Path;

use common::*;
use serde_json::Value;

fn export(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut c = nutgraf(&default_config(), seed_index());
    c.arg("export").arg("--to-dir").arg(dir).args(extra);
    c.output().unwrap()
}

fn bulk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("bulk-")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_mapping_reproduces_nutgraf_s_analysis_and_matches_its_golden_copy() {
    let dir = tempfile::tempdir().unwrap();
    let out = export(dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join("mapping.json")).unwrap();
    let golden =
        std::fs::read_to_string(root().join("tests/fixtures/cluster/mapping.json")).unwrap();
    assert_eq!(
        written, golden,
        "the mapping changed: update tests/fixtures/cluster/mapping.json if on purpose"
    );
    let m: Value = serde_json::from_str(&written).unwrap();
    let analyzer = &m["settings"]["analysis"]["analyzer"]["nutgraf_text"];
    assert_eq!(analyzer["tokenizer"], "standard");
    // Words split where a letter meets a digit, both ways, before the
    // tokenizer: "F35" is "F 35" as in nutgraf.
    assert_eq!(
        analyzer["char_filter"],
        serde_json::json!(["nutgraf_letter_digit", "nutgraf_digit_letter"])
    );
    let char_filters = &m["settings"]["analysis"]["char_filter"];
    for name in ["nutgraf_letter_digit", "nutgraf_digit_letter"] {
        assert_eq!(char_filters[name]["type"], "pattern_replace");
        assert_eq!(char_filters[name]["replacement"], "$1 $2");
    }
    assert_eq!(
        analyzer["filter"],
        serde_json::json!([
            "nutgraf_possessive",
            "lowercase",
            "asciifolding",
            "nutgraf_snowball"
        ])
    );
    let filters = &m["settings"]["analysis"]["filter"];
    assert_eq!(
        filters["nutgraf_possessive"]["language"],
        "possessive_english"
    );
    assert_eq!(filters["nutgraf_snowball"]["type"], "snowball");
    let props = &m["mappings"]["properties"];
    assert_eq!(props["text"]["analyzer"], "nutgraf_text");
    assert_eq!(props["authors"]["type"], "keyword");
    assert_eq!(
        props["authors"]["fields"]["key"]["normalizer"],
        "nutgraf_key"
    );
    assert_eq!(props["published_from"]["type"], "date");
    assert_eq!(m["mappings"]["dynamic"], "strict");
    assert!(m["mappings"]["_meta"]["differences"]
        .as_str()
        .unwrap()
        .contains("BM25"));
}

#[test]
fn every_unit_is_one_bulk_pair_keyed_by_its_id_and_reads_as_show_does() {
    let dir = tempfile::tempdir().unwrap();
    assert!(export(dir.path(), &["--name", "news-2025"])
        .status
        .success());
    let mut args = vec!["search", "", "--limit", "0", "--json"];
    args.extend(ALL_KINDS);
    let total = json(&args)["total_hits"].as_u64().unwrap();
    let text: String = bulk_files(dir.path())
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let lines = json_lines(text.as_bytes());
    assert_eq!(lines.len() as u64, 2 * total);
    let mut ids = HashSet::new();
    for pair in lines.chunks(2) {
        let (action, doc) = (&pair[0]["index"], &pair[1]);
        assert_eq!(action["_index"], "news-2025");
        assert_eq!(action["_id"], doc["id"]);
        assert!(
            ids.insert(doc["id"].as_str().unwrap().to_string()),
            "a unit twice"
        );
    }
    // A unit reads as `show --json` shows it.
    let unit = &lines[1];
    let shown = json(&[
        "show",
        unit["id"].as_str().unwrap(),
        "--context",
        "0",
        "--json",
    ]);
    let focus = &shown["units"][0];
    for key in [
        "doc_id",
        "paragraph",
        "outlet",
        "stance",
        "kind",
        "published",
        "text",
        "title",
        "authors",
    ] {
        assert_eq!(unit[key], focus[key], "{key}");
    }
    assert!(unit["date_precision"].is_string());
}

#[test]
fn files_are_bounded_and_a_new_export_replaces_the_old_files() {
    let dir = tempfile::tempdir().unwrap();
    assert!(export(dir.path(), &["--batch-bytes", "20000"])
        .status
        .success());
    let small = bulk_files(dir.path());
    assert!(small.len() > 3, "{} files", small.len());
    let joined: String = small
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for f in &small {
        let text = std::fs::read_to_string(f).unwrap();
        let pairs = text.lines().count() / 2;
        // Over the bound only when a single unit is larger than it.
        assert!(
            text.len() <= 20_000 || pairs == 1,
            "{}: {} bytes",
            f.display(),
            text.len()
        );
        assert_eq!(text.lines().count() % 2, 0, "a unit split across files");
    }
    assert!(export(dir.path(), &[]).status.success());
    let one = bulk_files(dir.path());
    assert_eq!(one.len(), 1, "stale bulk files were left: {one:?}");
    assert_eq!(std::fs::read_to_string(&one[0]).unwrap(), joined);
    let out = export(dir.path(), &["--name", "Not A Name"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--name"));
}
