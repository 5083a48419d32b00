//! Copy clusters and folded copies, on the wire fixture
//! (tests/fixtures/wire): a wire story reprinted by two outlets (one
//! paragraph edited), an unrelated story that shares words, then a
//! reprint imported later and a reprint changed.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn config() -> PathBuf {
    root().join("tests/fixtures/wire/wire.toml")
}

fn index() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    fixture_index(&DIR, &config())
}

/// The cluster of a unit, as `show` gives it (None: not clustered).
fn cluster_on(config: &Path, index: &Path, id: &str) -> Option<String> {
    let v = json_on(config, index, &["show", id, "--context", "0", "--json"]);
    v["units"][0]["cluster"].as_str().map(String::from)
}

fn cluster(id: &str) -> Option<String> {
    cluster_on(&config(), index(), id)
}

fn folded_search(extra: &[&str]) -> Value {
    let mut args = vec!["search", "flood insurance", "--json"];
    args.extend_from_slice(extra);
    json_on(&config(), index(), &args)
}

fn ids(v: &Value) -> Vec<&str> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect()
}

#[test]
fn reprints_share_a_cluster_and_other_paragraphs_do_not() {
    let lead = cluster("ap#1").expect("a long paragraph is clustered");
    assert!(lead.parse::<u64>().is_ok_and(|n| n > 0), "{lead}");
    assert_eq!(cluster("daily#2").as_ref(), Some(&lead));
    assert_eq!(cluster("gazette#1").as_ref(), Some(&lead));
    // The edited paragraph ("some" -> "many", "communities" -> "towns")
    // is a near copy: same cluster.
    let second = cluster("ap#2").unwrap();
    assert_ne!(second, lead);
    assert_eq!(cluster("daily#3").as_ref(), Some(&second));
    assert_eq!(cluster("gazette#2").as_ref(), Some(&second));
    // The unrelated story shares phrases, not the paragraph.
    let council = cluster("council#1").unwrap();
    assert!(council != lead && council != second);
    let intro = cluster("daily#1").unwrap();
    assert!(intro != lead && intro != second && intro != council);
}

#[test]
fn collapse_shows_one_hit_per_cluster_and_counts_independent_sources() {
    let plain = folded_search(&[]);
    assert_eq!(plain["total_hits"], 4);
    assert!(plain.get("sources").is_none() && plain.get("collapsed").is_none());
    assert!(plain["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h.get("copies").is_none()));

    let v = folded_search(&["--collapse"]);
    assert_eq!(v["collapsed"], true);
    // Units are still counted per unit; the page has one hit per cluster.
    assert_eq!(v["total_hits"], 4);
    assert_eq!(v["facets"], plain["facets"]);
    let shown = ids(&v);
    assert_eq!(shown.len(), 2, "{v}");
    assert!(shown.contains(&"daily#1"));
    let wire: Vec<&Value> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["id"] != "daily#1")
        .collect();
    // The best-ranked copy stands for the cluster, and says which
    // outlets the others are in.
    let best = plain["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] != "daily#1")
        .unwrap();
    assert_eq!(wire[0]["id"], best["id"]);
    assert_eq!(wire[0]["copies"], 2);
    let mut expected: Vec<&str> = ["Associated Press", "Daily Planet", "Gotham Gazette"]
        .into_iter()
        .filter(|o| *o != best["outlet"])
        .collect();
    expected.sort();
    assert_eq!(wire[0]["copies_in"], serde_json::json!(expected));
    // Sources: two distinct paragraphs; Daily Planet carries both, every
    // other outlet one; the wire paragraph counts once for each stance
    // that carries it.
    let s = &v["sources"];
    assert_eq!(s["paragraphs"], 2);
    assert_eq!(s["outlet"]["Daily Planet"], 2);
    assert_eq!(s["outlet"]["Associated Press"], 1);
    assert_eq!(s["outlet"]["Gotham Gazette"], 1);
    assert_eq!(s["stance"]["left"], 2);
    assert_eq!(s["stance"]["center"], 1);
    assert_eq!(s["stance"]["right"], 1);
}

/// Sources are counted hit by hit under a filter on outlet or stance,
/// and from the facet counts without one: both ways agree.
#[test]
fn sources_agree_with_and_without_filters_on_their_fields() {
    let plain = folded_search(&["--collapse"]);
    let every_stance = folded_search(&[
        "--collapse",
        "--stance",
        "left",
        "--stance",
        "center",
        "--stance",
        "right",
    ]);
    assert_eq!(plain["sources"], every_stance["sources"]);
    let two = folded_search(&[
        "--collapse",
        "--outlet",
        "Daily Planet",
        "--outlet",
        "Associated Press",
    ]);
    // daily#1 alone; daily#2 and ap#1 one paragraph.
    let s = &two["sources"];
    assert_eq!(s["paragraphs"], 2, "{two}");
    assert_eq!(s["outlet"]["Daily Planet"], 2);
    assert_eq!(s["outlet"]["Associated Press"], 1);
    assert!(s["outlet"].get("Gotham Gazette").is_none());
    assert_eq!(s["stance"]["left"], 2);
    assert_eq!(s["stance"]["center"], 1);
}

#[test]
fn collapse_in_the_terminal_says_what_was_folded() {
    let out = nutgraf(&config(), index())
        .args(["search", "flood insurance", "--collapse"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("+2 copies in "), "{text}");
    assert!(
        text.contains("of 2 distinct, copies folded (4 units;"),
        "{text}"
    );
    assert!(
        text.contains("Copies folded: 2 distinct paragraphs among 4 units"),
        "{text}"
    );
}

#[test]
fn the_api_folds_copies_as_the_command_line_does() {
    let s = start(&config(), index(), Some("127.0.0.1:0"));
    let r = reqwest::blocking::get(format!(
        "{}/api/search?q=flood%20insurance&collapse=true",
        s.url
    ))
    .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let mut api: Value = r.json().unwrap();
    let mut cli = folded_search(&["--collapse"]);
    api.as_object_mut().unwrap().remove("took_us");
    cli.as_object_mut().unwrap().remove("took_us");
    assert_eq!(api, cli);
    let r = reqwest::blocking::get(format!("{}/api/search?q=flood&collapse=maybe", s.url)).unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

fn append(dir: &Path, record: Value) {
    let path = dir.join("wire.jsonl");
    let mut lines = std::fs::read_to_string(&path).unwrap();
    lines.push_str(&format!("{record}\n"));
    std::fs::write(path, lines).unwrap();
}

#[test]
fn a_reprint_imported_later_joins_its_cluster_and_short_lines_join_none() {
    let (dir, config, index) = fixture_copy("wire");
    build_index(&config, &index);
    let before = cluster_on(&config, &index, "ap#2").unwrap();
    append(
        dir.path(),
        serde_json::json!({
            "ID": "coastal", "title": "What the flood bill means here", "authors": "Ann Shore",
            "source": "Coastal Times", "bias_text": "center", "date": "2019-11-01", "url": "",
            "content_original": "The bill would raise premiums for some coastal homeowners while expanding federal grants for communities that elevate homes and roads, according to a summary released by the Senate Banking Committee.\n\nLocal officials said they would study it."
        }),
    );
    let out = nutgraf(&config, &index).arg("index").output().unwrap();
    assert!(out.status.success());
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("1 joined earlier units"), "{report}");
    // Nothing earlier was recomputed: the cluster kept its id.
    assert_eq!(cluster_on(&config, &index, "ap#2").unwrap(), before);
    assert_eq!(cluster_on(&config, &index, "coastal#1").unwrap(), before);
    // Seven words: too short to tell a copy from a chance repeat.
    assert_eq!(cluster_on(&config, &index, "coastal#2"), None);
    let v = json_on(
        &config,
        &index,
        &["search", "coastal homeowners", "--collapse", "--json"],
    );
    assert_eq!(v["total_hits"], 4);
    assert_eq!(v["hits"].as_array().unwrap().len(), 1);
    assert_eq!(v["hits"][0]["copies"], 3);
    assert_eq!(v["sources"]["paragraphs"], 1);
}

#[test]
fn a_changed_reprint_leaves_its_cluster() {
    let (dir, config, index) = fixture_copy("wire");
    build_index(&config, &index);
    let wire = cluster_on(&config, &index, "ap#2").unwrap();
    assert_eq!(cluster_on(&config, &index, "gazette#2").unwrap(), wire);
    // The Gazette rewrites its second paragraph.
    let path = dir.path().join("wire.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let changed: String = text
        .lines()
        .map(|line| {
            let mut record: Value = serde_json::from_str(line).unwrap();
            if record["ID"] == "gazette" {
                let first = record["content_original"]
                    .as_str()
                    .unwrap()
                    .split("\n\n")
                    .next()
                    .unwrap()
                    .to_string();
                record["content_original"] = Value::from(format!(
                    "{first}\n\nGotham's own harbour district, flooded twice in a decade, is not covered by any of the new grants, the mayor's office said in a statement on Friday evening."
                ));
            }
            format!("{record}\n")
        })
        .collect();
    std::fs::write(&path, changed).unwrap();
    build_index(&config, &index);
    let now = cluster_on(&config, &index, "gazette#2").unwrap();
    assert_ne!(now, wire);
    assert_eq!(cluster_on(&config, &index, "daily#3").unwrap(), wire);
    let v = json_on(
        &config,
        &index,
        &["search", "coastal homeowners", "--collapse", "--json"],
    );
    assert_eq!(v["hits"][0]["copies"], 1);
}
