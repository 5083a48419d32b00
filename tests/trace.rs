//! `nutgraf trace` and `/api/trace`: a wire story reprinted by two outlets
//! (one paragraph edited, one outlet dated by month only) beside an
//! unrelated story that shares words (tests/fixtures/wire), then a fourth
//! reprint imported later.

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

fn trace(args: &[&str]) -> Value {
    let mut all = vec!["trace"];
    all.extend_from_slice(args);
    all.push("--json");
    json_on(&config(), index(), &all)
}

fn ids(v: &Value) -> Vec<&str> {
    v["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

fn copy<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not among the copies: {v}"))
}

#[test]
fn a_paragraph_is_traced_to_every_reprint_in_order_the_first_marked() {
    let v = trace(&["daily#2"]);
    // By the last day each date may mean: Oct 3, Oct 5, then "2019-10".
    assert_eq!(ids(&v), ["ap#1", "daily#2", "gazette#1"]);
    assert_eq!(copy(&v, "ap#1")["first"], true);
    assert_eq!(copy(&v, "daily#2")["first"], false);
    assert_eq!(copy(&v, "daily#2")["source"], true);
    // The month-only date may be earlier than the first: said, not decided.
    let gazette = copy(&v, "gazette#1");
    assert_eq!(gazette["date_precision"], "month");
    assert_eq!(gazette["may_be_earlier"], true);
    assert_eq!(copy(&v, "daily#2")["may_be_earlier"], false);
    assert!(v["copies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["verbatim"] == true));
    assert_eq!(v["outlets"], 3);
    assert_eq!(
        v["summary"],
        "3 copies in 3 outlets, first in Associated Press on 2019-10-03 (may be earlier: Gotham Gazette, 2019-10 (month only))"
    );
    // The unrelated story shares words ("voted on Thursday to approve",
    // "after weeks of negotiations"), not the paragraph.
    assert!(!ids(&v).contains(&"council#1"));
}

#[test]
fn a_near_copy_says_what_it_changed_against_the_first() {
    let v = trace(&["ap#2"]);
    assert_eq!(ids(&v), ["ap#2", "daily#3", "gazette#2"]);
    let edited = copy(&v, "gazette#2");
    assert_eq!(edited["verbatim"], false);
    let shared = edited["similarity"].as_f64().unwrap();
    assert!((0.5..1.0).contains(&shared), "{shared}");
    let changes: Vec<(&str, &str)> = edited["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["change"].as_str().unwrap(), c["words"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("removed", "some"),
            ("added", "many"),
            ("removed", "communities"),
            ("added", "towns")
        ]
    );
    assert!(copy(&v, "daily#3")["changes"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_quote_inside_longer_paragraphs_finds_every_paragraph_carrying_it() {
    let v = trace(&[
        "--text",
        "sending the measure to the House after weeks of negotiations",
    ]);
    assert_eq!(ids(&v), ["ap#1", "daily#2", "gazette#1"]);
    assert!(v["text"].is_string() && v.get("id").is_none());
    // A near quote (one word changed) still finds them, marked near, with
    // the change against the quote.
    let v = trace(&[
        "--text",
        "sending the bill to the House after weeks of negotiations",
    ]);
    assert_eq!(ids(&v), ["ap#1", "daily#2", "gazette#1"]);
    let first = copy(&v, "ap#1");
    assert_eq!(first["verbatim"], false);
    let changes: Vec<&str> = first["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["words"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["bill", "measure"]);
}

#[test]
fn the_terminal_shows_dates_as_precise_as_they_are() {
    let out = nutgraf(&config(), index())
        .args(["trace", "ap#2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("3 copies in 3 outlets, first in Associated Press on 2019-10-03"),
        "{text}"
    );
    assert!(text.contains("2019-10 (month only)"), "{text}");
    assert!(text.contains("first known"), "{text}");
    assert!(text.contains("near copy, "), "{text}");
    assert!(
        text.contains("− communities") && text.contains("+ towns"),
        "{text}"
    );
}

#[test]
fn too_short_or_unknown_input_is_refused_with_the_reason() {
    let out = nutgraf(&config(), index())
        .args(["trace", "--text", "on Thursday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 6"));
    let out = nutgraf(&config(), index())
        .args(["trace", "nosuch#1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = nutgraf(&config(), index())
        .args(["trace"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_reprint_imported_later_joins_the_trace() {
    let (dir, config, index) = fixture_copy("wire");
    build_index(&config, &index);
    let before = json_on(&config, &index, &["trace", "ap#2", "--json"]);
    assert_eq!(before["copies"].as_array().unwrap().len(), 3);
    let reprint = serde_json::json!({
        "ID": "coastal", "title": "What the flood bill means here", "authors": "Ann Shore",
        "source": "Coastal Times", "bias_text": "center", "date": "2019-11-01", "url": "",
        "content_original": "The bill would raise premiums for some coastal homeowners while expanding federal grants for communities that elevate homes and roads, according to a summary released by the Senate Banking Committee.\n\nLocal officials said they would study it."
    });
    let mut lines = std::fs::read_to_string(dir.path().join("wire.jsonl")).unwrap();
    lines.push_str(&format!("{reprint}\n"));
    std::fs::write(dir.path().join("wire.jsonl"), lines).unwrap();
    build_index(&config, &index);
    let after = json_on(&config, &index, &["trace", "ap#2", "--json"]);
    assert_eq!(ids(&after), ["ap#2", "daily#3", "gazette#2", "coastal#1"]);
    assert_eq!(after["outlets"], 4);
    assert_eq!(copy(&after, "coastal#1")["verbatim"], true);
}

#[test]
fn the_api_answers_as_the_command_line_does() {
    let s = start(&config(), index(), Some("127.0.0.1:0"));
    let get = |path: &str| -> (u16, Value) {
        let r = reqwest::blocking::get(format!("{}{path}", s.url)).unwrap();
        (r.status().as_u16(), r.json().unwrap())
    };
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("took_us");
        v
    };
    let (status, v) = get("/api/trace/ap%232");
    assert_eq!(status, 200);
    assert_eq!(strip(v), strip(trace(&["ap#2"])));
    let (status, v) =
        get("/api/trace?text=sending%20the%20measure%20to%20the%20House%20after%20weeks");
    assert_eq!(status, 200);
    assert_eq!(ids(&v), ["ap#1", "daily#2", "gazette#1"]);
    let (status, v) = get("/api/trace?text=");
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("text="), "{v}");
    let (status, _) = get("/api/trace?text=the%20House");
    assert_eq!(status, 400);
}
