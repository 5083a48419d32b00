//! Bulk import of collections: messy records, formats, crash safety, the
//! writer lock, and searching while an import runs.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/collection")
}

/// Runs `nutgraf index --json` and returns its exit code and report.
fn index(config: &Path, dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let out = nutgraf(config, dir)
        .arg("index")
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn facets(config: &Path, dir: &Path) -> Value {
    json_on(config, dir, &["facets", "--json"])
}

#[test]
fn messy_jsonl_is_cleaned_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures().join("news.toml");
    let (code, r, err) = index(&config, dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["documents_added"], 4, "{r}");
    assert_eq!(r["duplicates"], 1);
    assert_eq!(r["skipped"]["empty text"], 1);
    assert_eq!(r["skipped"]["malformed record"], 2);
    assert_eq!(r["skipped"]["stance not in the vocabulary"], 1);
    assert_eq!(r["skipped"]["no id"], 1);
    assert_eq!(r["repairs"]["dates_dropped"], 1);
    assert_eq!(r["repairs"]["authors_cleaned"], 2);
    assert_eq!(r["repairs"]["urls_dropped"], 1);
    let problems = r["problems"].to_string();
    assert!(problems.contains("news.jsonl:line 4"), "{problems}");

    // What landed: the duplicate's last record, clean names, no quotes.
    let f = facets(&config, dir.path());
    assert_eq!(f["total_units"], 9, "{f}");
    let authors = f["facets"]["author"].as_object().unwrap();
    for name in ["Jane Doe", "Mary Major", "Lois Lane"] {
        assert!(authors.contains_key(name), "{authors:?}");
    }
    // John Roe signed only the first a1, which the later a1 replaced.
    assert!(!authors.contains_key("John Roe"), "{authors:?}");
    assert!(!authors.keys().any(|k| k.contains('"') || k.contains('\'')));
    let v: Value = json_on(&config, dir.path(), &["show", "a1#3", "--json"]);
    assert_eq!(v["units"][0]["title"], "Senate passes budget (updated)");
    // The American date was read; the junk one dropped; no javascript: link.
    let a5: Value = json_on(
        &config,
        dir.path(),
        &["show", "a5#1", "--json", "--context", "0"],
    );
    assert_eq!(a5["units"][0]["published"], "2019-03-05");
    assert!(a5["units"][0]["url"].is_null());

    // Unchanged on a second run.
    let (_, again, _) = index(&config, dir.path(), &[]);
    assert_eq!(again["documents_unchanged"], 4, "{again}");
    assert_eq!(again["committed"], false);
}

#[test]
fn strict_stops_at_the_first_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = index(&fixtures().join("news.toml"), dir.path(), &["--strict"]);
    assert_eq!(code, 2);
    assert!(err.contains("news.jsonl: line 3: empty text"), "{err}");
}

#[test]
fn gzip_and_csv_read_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("news.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&std::fs::read(fixtures().join("news.jsonl")).unwrap())
        .unwrap();
    enc.finish().unwrap();
    let config = fixtures().join("news.toml");
    let idx = dir.path().join("gz");
    let (code, r, err) = index(&config, &idx, &["--input", gz.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["documents_added"], 4);
    assert_eq!(facets(&config, &idx)["total_units"], 9);

    let csv = fixtures().join("news-csv.toml");
    let idx = dir.path().join("csv");
    let (code, r, err) = index(&csv, &idx, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["documents_added"], 3, "{r}");
    assert_eq!(r["skipped"]["malformed record"], 1);
    assert!(r["problems"].to_string().contains("news.csv:line 6"), "{r}");
    let f = facets(&csv, &idx);
    // c1's quoted field spans lines and holds two paragraphs.
    assert_eq!(f["total_units"], 4, "{f}");
    assert!(f["facets"]["author"]
        .as_object()
        .unwrap()
        .contains_key("Tina Track"));
}

#[test]
fn a_missing_collection_file_says_where_the_data_comes_from() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = index(
        &root().join("index-config/allsides.toml"),
        dir.path(),
        &["--input", "/no/such/articles.jsonl.gz"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/articles.jsonl.gz"), "{err}");
    assert!(err.contains("Article-Bias-Prediction"), "{err}");
    assert!(err.contains("--input"), "{err}");
    assert!(!dir.path().join("meta.json").exists(), "nothing written");
}

/// A collection big enough that indexing takes a while: `n` documents of
/// three paragraphs each.
fn big_collection(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let data = dir.join("big.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&data).unwrap());
    for i in 0..n {
        let text = format!(
            "Paragraph one of story {i} about the budget and the senate vote.\n\nParagraph two of story {i}: the governor, the mayor and the council met.\n\nParagraph three of story {i} ends here with a quote from a spokesman."
        );
        let outlet = ["Daily Planet", "Metro News", "Coastal Times"][i % 3];
        let stance = ["left", "center", "right"][i % 3];
        let line = serde_json::json!({
            "ID": format!("s{i}"), "title": format!("Story {i}"), "authors": "Jane Doe",
            "source": outlet, "bias_text": stance, "date": "2019-01-01",
            "url": "", "content_original": text,
        });
        writeln!(f, "{line}").unwrap();
    }
    f.flush().unwrap();
    let config = dir.join("big.toml");
    let text = std::fs::read_to_string(fixtures().join("news.toml"))
        .unwrap()
        .replace("news.jsonl", data.to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    (config, data)
}

fn spawn_index(config: &Path, dir: &Path, extra: &[&str]) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("nutgraf"))
        .arg("--config")
        .arg(config)
        .arg("--index")
        .arg(dir)
        .arg("index")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the index in `dir` has a commit with units in it.
fn wait_for_a_commit(config: &Path, dir: &Path, child: &mut std::process::Child) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no commit within two minutes");
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the indexer ended ({status}) before it could be interrupted; make the collection bigger");
        }
        if dir.join("meta.json").exists() {
            let out = nutgraf(config, dir)
                .args(["facets", "--json"])
                .output()
                .unwrap();
            if out.status.success() {
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                let n = v["total_units"].as_u64().unwrap_or(0);
                if n > 0 {
                    return n;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_import_keeps_its_last_commit_and_the_next_run_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 60_000;
    let (config, _) = big_collection(tmp.path(), n);
    let idx = tmp.path().join("idx");
    let mut child = spawn_index(&config, &idx, &["--commit-every", "2000"]);
    let seen = wait_for_a_commit(&config, &idx, &mut child);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The index opens at its last commit: whole documents only.
    let f = facets(&config, &idx);
    let units = f["total_units"].as_u64().unwrap();
    assert!(
        units >= seen && units.is_multiple_of(3),
        "{units} units after the kill"
    );
    assert!(units < 3 * n as u64, "the import should not have finished");
    // Running again completes it; nothing lost, nothing twice.
    let (code, r, err) = index(&config, &idx, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        r["documents_added"].as_u64().unwrap() + r["documents_unchanged"].as_u64().unwrap(),
        n as u64,
        "{r}"
    );
    assert_eq!(r["documents_unchanged"].as_u64().unwrap(), units / 3);
    assert_eq!(facets(&config, &idx)["total_units"], 3 * n as u64);
}

#[test]
fn a_second_indexer_fails_at_once_and_search_works_meanwhile() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, _) = big_collection(tmp.path(), 60_000);
    let idx = tmp.path().join("idx");
    let mut first = spawn_index(&config, &idx, &["--commit-every", "2000"]);
    wait_for_a_commit(&config, &idx, &mut first);

    let started = Instant::now();
    let (code, _, err) = index(&config, &idx, &[]);
    let took = started.elapsed();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another `nutgraf index` is writing"), "{err}");
    // "At once": well before the first indexer could finish.
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first indexer finished before the second was refused ({took:?})"
    );

    let out = nutgraf(&config, &idx)
        .args(["search", "budget senate", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["total_hits"].as_u64().unwrap() > 0);
    first.kill().unwrap();
    first.wait().unwrap();
}

/// The AllSides corpus, when it is there: the first 3,000 articles as the
/// shipped config reads them.
#[test]
fn allsides_as_it_is() {
    let data = root().join("../shared/data/allsides/articles.jsonl.gz");
    if !data.is_file() {
        eprintln!("skipped: {} is absent", data.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("allsides.toml");
    let text = std::fs::read_to_string(root().join("index-config/allsides.toml"))
        .unwrap()
        .replace(
            "authors_separator = \",\"",
            "authors_separator = \",\"\nlimit = 3000",
        );
    std::fs::write(&config, text).unwrap();
    let idx = tmp.path().join("idx");
    let (code, r, err) = index(&config, &idx, &["--input", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let added = r["documents_added"].as_u64().unwrap();
    let skipped: u64 = r["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        added + skipped + r["duplicates"].as_u64().unwrap(),
        3000,
        "{r}"
    );
    let f = facets(&config, &idx);
    let stances: Vec<&String> = f["facets"]["stance"].as_object().unwrap().keys().collect();
    assert!(stances
        .iter()
        .all(|s| ["left", "center", "right"].contains(&s.as_str())));
    let authors = f["facets"]["author"].as_object().unwrap();
    assert!(!authors
        .keys()
        .any(|k| k.starts_with('"') || k.ends_with('"')));
}
