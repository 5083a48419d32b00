//! End to end against osmem-server (PyPI `osmem-server`, an in-memory
//! OpenSearch-compatible server for tests): the seeds exported with
//! `export --to`, then `search`, `show`, `facets`, `similar` and `serve`
//! through `--backend`, compared with the local index.
//!
//! What is compared: the units found (not their order: BM25 statistics
//! and scoring differ between engines, so ranking may differ) for exact
//! phrases, words and filters; facet counts; a unit's neighbours. osmem's
//! highlighter marks every word of a hit, so highlight precision is
//! checked against the stub's fixtures (tests/cluster_backend.rs) only.
//!
//! Run by `.ci/run` (which installs the server); skipped with a notice
//! when the server cannot be found or started.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::{json, Value};

/// The server, stopped when dropped.
struct Osmem {
    child: Child,
    url: String,
}

impl Drop for Osmem {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server binary: `OSMEM_SERVER_BIN`, else the one the Python package
/// bundles.
fn binary() -> Option<String> {
    if let Ok(b) = std::env::var("OSMEM_SERVER_BIN") {
        return Some(b);
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import osmem_server; print(osmem_server.resolve_binary())",
        ])
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !path.is_empty()).then_some(path)
}

fn start() -> Option<Osmem> {
    let bin = binary()?;
    // It stops when its stdin closes: the pipe is held open by `child`.
    let mut child = Command::new(bin)
        .args(["-addr", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let ready: Value = serde_json::from_str(&line).ok()?;
    let url = ready["url"].as_str()?.to_string();
    Some(Osmem { child, url })
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

/// Whether osmem answers word searches under nutgraf's mapping. osmem
/// 0.1.6 accepts the `possessive_english` stemmer but then matches every
/// document for any `match` query (and indexes no terms when it comes
/// first); when it does, the test's index is created beforehand with that
/// one filter left out, which `export --to` accepts (same fields and
/// types). Only possessives (`Israel’s`) are then analysed differently.
fn possessive_filter_works(server: &str) -> bool {
    let body = nutgraf::cluster::mapping::index_body();
    let probe = format!("{server}/nutgraf-probe");
    let _ = http().put(&probe).json(&body).send();
    let _ = http()
        .put(format!("{probe}/_doc/1?refresh=true"))
        .json(&json!({ "id": "a#1", "text": "Section 907 restricts aid" }))
        .send();
    let found = http()
        .post(format!("{probe}/_search"))
        .json(&json!({ "query": { "match": { "text": "zebra" } } }))
        .send()
        .and_then(|r| r.json::<Value>())
        .map(|v| v["hits"]["total"]["value"].as_u64().unwrap_or(1))
        .unwrap_or(1);
    let _ = http().delete(&probe).send();
    found == 0
}

/// The units of the full matches (a local page that full matches do not
/// fill goes on with partial ones, marked with `matched_words`; a cluster
/// lists full matches only).
fn ids(v: &Value) -> BTreeSet<String> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h.get("matched_words").is_none())
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
#[ignore = "needs osmem-server from PyPI; .ci/run installs it"]
fn the_seeds_on_osmem_answer_as_the_local_index() {
    let Some(server) = start() else {
        eprintln!("notice: osmem-server is not installed or did not start (pip install osmem-server); test skipped");
        return;
    };
    let index = seed_index();
    let url = format!("{}/nutgraf", server.url);
    if !possessive_filter_works(&server.url) {
        eprintln!("notice: this osmem-server mis-evaluates match queries under the possessive_english filter; the index is created without it");
        let mut body = nutgraf::cluster::mapping::index_body();
        let filters = body["settings"]["analysis"]["analyzer"]["nutgraf_text"]["filter"]
            .as_array_mut()
            .unwrap();
        filters.retain(|f| f != "nutgraf_possessive");
        let r = http().put(&url).json(&body).send().unwrap();
        assert!(r.status().is_success(), "{}", r.text().unwrap());
    }
    let out = nutgraf(&default_config(), index)
        .args(["export", "--to", &url, "--batch-bytes", "30000"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("The index holds 134 units"), "{said}");

    let both = |args: &[&str]| -> (Value, Value) {
        let local = json(args);
        let mut with = vec!["--backend", url.as_str()];
        with.extend_from_slice(args);
        let out = nutgraf(&default_config(), index)
            .args(&with)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (local, serde_json::from_slice(&out.stdout).unwrap())
    };
    // Copies folded: the same distinct paragraphs and folded hits (the
    // seeds hold no copy clusters of two units; tests/copies.rs and the
    // unit tests of cluster::answer cover folded groups).
    {
        let args = [
            "search",
            "Kazakhstan Abraham",
            "--collapse",
            "--limit",
            "200",
            "--json",
        ];
        let (local, cluster) = both(&args);
        assert_eq!(local["total_hits"], cluster["total_hits"]);
        assert_eq!(
            local["sources"]["paragraphs"], cluster["sources"]["paragraphs"],
            "{cluster}"
        );
        assert_eq!(local["sources"]["outlet"], cluster["sources"]["outlet"]);
        let folded = |v: &Value| -> Vec<(String, u64)> {
            let mut f: Vec<(String, u64)> = v["hits"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|h| Some((h["cluster"].as_str()?.to_string(), h["copies"].as_u64()?)))
                .collect();
            f.sort();
            f
        };
        assert_eq!(folded(&local), folded(&cluster));
        assert_eq!(
            local["hits"].as_array().unwrap().len(),
            cluster["hits"].as_array().unwrap().len()
        );
    }
    // The same units for phrases, words and filters (ranking may differ).
    // Words that the seeds also hold as possessives (`Israel’s`) are left
    // out: with the index made without the possessive filter they differ.
    for args in [
        vec!["search", "\"Section 907\""],
        vec!["search", "\"oil needs\""],
        vec!["search", "\"South Caucasus\"~1"],
        vec!["search", "Azerbaijan gas"],
        // Letters and digits split as nutgraf splits them: "1990" finds
        // the two paragraphs that say "1990s" only when the cluster
        // splits too (checked below).
        vec!["search", "1990"],
        vec!["search", "\"1990 s\" arms"],
        vec!["search", "gas -Iran"],
        vec!["search", "+gas Israel"],
        vec!["search", "(SOCAR OR gas) Israel"],
        vec!["search", "normali*"],
        vec!["search", "Khanin~1"],
        vec!["search", "title:normalization"],
        vec!["search", "author:grinberg Tehran"],
        vec!["search", "author:khanin gas"],
        vec![
            "search",
            "gas",
            "--outlet",
            "the new arab",
            "--outlet",
            "JNS",
        ],
        vec![
            "search",
            "",
            "--outlet",
            "the new arab",
            "--stance",
            "critical",
        ],
        vec!["search", "", "--since", "2025-04", "--until", "2025"],
        vec!["search", "", "--kind", "caption", "--kind", "body"],
        vec!["search", "", "--author", "Grinberg"],
    ] {
        let mut args = args.clone();
        args.extend(["--limit", "200", "--json"]);
        let (local, cluster) = both(&args);
        if args[1] == "1990" {
            assert_eq!(local["total_hits"], 2, "{local}");
        }
        assert_eq!(local["total_hits"], cluster["total_hits"], "{args:?}");
        assert_eq!(ids(&local), ids(&cluster), "{args:?}");
        assert_eq!(
            local["facets"]["outlet"], cluster["facets"]["outlet"],
            "{args:?}"
        );
        assert_eq!(
            local["facets"]["stance"], cluster["facets"]["stance"],
            "{args:?}"
        );
    }
    // A page that full matches do not fill goes on with partial ones: the
    // same ones, holding as many words (their order may differ).
    for q in [
        "gas SOCAR",
        "author:grinberg gas Tehran",
        "+gas SOCAR Kazakhstan",
    ] {
        let (local, cluster) = both(&["search", q, "--limit", "200", "--json"]);
        let partial = |v: &Value| -> BTreeSet<(String, u64, u64)> {
            v["hits"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h.get("matched_words").is_some())
                .map(|h| {
                    (
                        h["id"].as_str().unwrap().to_string(),
                        h["matched_words"].as_u64().unwrap(),
                        h["query_words"].as_u64().unwrap(),
                    )
                })
                .collect()
        };
        assert!(!partial(&local).is_empty(), "{q}");
        assert_eq!(partial(&local), partial(&cluster), "{q}");
    }
    // A short facet list keeps the values a filter selects, and says how
    // many it left out.
    let (local, cluster) = both(&[
        "search",
        "",
        "--outlet",
        "JNS",
        "--facet-limit",
        "1",
        "--json",
    ]);
    assert_eq!(local["facets"], cluster["facets"]);
    assert_eq!(local["facets_left_out"], cluster["facets_left_out"]);
    // Every match (search --all), and a batch's counts (its best match
    // may differ with the ranking).
    for q in ["gas", "\"Section 907\"", "gas zebraxyz SOCAR"] {
        let rows = |with: &[&str]| -> BTreeSet<String> {
            let mut args = with.to_vec();
            args.extend(["search", q, "--all", "--format", "jsonl"]);
            let out = nutgraf(&default_config(), index)
                .args(&args)
                .output()
                .unwrap();
            jsonl_ids(&out.stdout).into_iter().collect()
        };
        let local_rows = rows(&[]);
        assert!(!local_rows.is_empty(), "{q}");
        assert_eq!(local_rows, rows(&["--backend", &url]), "{q}");
    }
    let queries = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        queries.path(),
        "gas\nSection 907\ngas\tstance=critical\ngas zebraxyz SOCAR\n",
    )
    .unwrap();
    let batch = |with: &[&str]| -> Vec<Vec<String>> {
        let mut args = with.to_vec();
        args.extend([
            "batch",
            queries.path().to_str().unwrap(),
            "--format",
            "jsonl",
        ]);
        let out = nutgraf(&default_config(), index)
            .args(&args)
            .output()
            .unwrap();
        json_lines(&out.stdout)
            .into_iter()
            .map(|mut v| {
                v.as_object_mut()
                    .unwrap()
                    .retain(|k, _| !k.starts_with("best"));
                vec![v.to_string()]
            })
            .collect()
    };
    let local_rows = batch(&[]);
    assert_eq!(local_rows.len(), 4);
    assert_eq!(local_rows, batch(&["--backend", &url]));
    // Histograms: the same buckets, precise or not, split and normalised.
    for extra in [
        &["--histogram"][..],
        &["--histogram=month", "--normalize"],
        &["--histogram=day", "--split", "outlet"],
    ] {
        let mut args = vec!["search", "gas", "--limit", "0", "--json"];
        args.extend_from_slice(extra);
        let (local, cluster) = both(&args);
        assert_eq!(local["histogram"], cluster["histogram"], "{args:?}");
    }
    // No unit holds every word: both relax to the units holding most.
    for q in [
        "gas zebraxyz SOCAR",
        "+gas zebraxyz SOCAR",
        "author:grinberg zebraxyz gas",
        "title:normalization zebraxyz SOCAR",
    ] {
        let (local, cluster) = both(&["search", q, "--limit", "200", "--json"]);
        assert_eq!(local["relaxed"], true);
        assert_eq!(cluster["relaxed"], true);
        assert_eq!(local["total_hits"], cluster["total_hits"]);
        let all = |v: &Value| -> BTreeSet<(String, u64, u64)> {
            v["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h["id"].as_str().unwrap().to_string(),
                        h["matched_words"].as_u64().unwrap(),
                        h["query_words"].as_u64().unwrap(),
                    )
                })
                .collect()
        };
        assert_eq!(all(&local), all(&cluster), "{q}");
    }
    // Paging: two pages of the cluster are its first twenty hits.
    let (_, first) = both(&["search", "Azerbaijan", "--limit", "10", "--json"]);
    let (_, second) = both(&[
        "search",
        "Azerbaijan",
        "--limit",
        "10",
        "--offset",
        "10",
        "--json",
    ]);
    let (_, all) = both(&["search", "Azerbaijan", "--limit", "20", "--json"]);
    let paged: BTreeSet<String> = ids(&first).union(&ids(&second)).cloned().collect();
    assert_eq!(paged, ids(&all));
    // Facets over everything, and a unit with its neighbours.
    let (local, cluster) = both(&["facets", "--json"]);
    assert_eq!(local, cluster);
    let (local, cluster) = both(&[
        "show",
        "besa-engage-azerbaijan#4",
        "--context",
        "2",
        "--json",
    ]);
    assert_eq!(local, cluster);
    // Similar units come from other documents.
    let (_, similar) = both(&["similar", "besa-engage-azerbaijan#4", "--json"]);
    for h in similar["hits"].as_array().unwrap() {
        assert_ne!(h["doc_id"], "besa-engage-azerbaijan");
    }
    // The web page's API answers from the cluster.
    let served = start_with(
        &default_config(),
        index,
        &["--backend", &url, "--addr", "127.0.0.1:0"],
    );
    assert!(served.said("the index nutgraf of the cluster at"));
    // As the page asks: every search with its histogram.
    let api: Value = http()
        .get(format!(
            "{}/api/search?q=%22Section%20907%22&limit=50&histogram=auto",
            served.url
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let local = json(&[
        "search",
        "\"Section 907\"",
        "--limit",
        "50",
        "--histogram",
        "--json",
    ]);
    assert_eq!(ids(&api), ids(&local));
    assert_eq!(api["histogram"], local["histogram"]);
}
