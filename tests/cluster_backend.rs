//! `export --to URL` and `--backend URL` against a loopback stand-in for a
//! cluster (mockito) that answers as the OpenSearch and Elasticsearch
//! documentation's examples do: a page of hits with highlights and
//! aggregations, a unit's neighbours, an engine's error body, a busy
//! cluster (429 then 200), a connection dropped mid-export, units refused
//! in a `_bulk` answer, and an export killed and then resumed. The real
//! binary runs each time; no cluster is needed.

mod common;

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use mockito::{Matcher, Server, ServerGuard};
use serde_json::{json, Value};

const START: &str = "\u{E000}";
const END: &str = "\u{E001}";

/// The seeds' index, which the exports read (each stub has its own
/// port, so each export its own checkpoint).
fn index() -> &'static std::path::Path {
    static CELL: OnceLock<tempfile::TempDir> = OnceLock::new();
    fixture_index(&CELL, &default_config())
}

/// Runs nutgraf on the seed index with `--backend` the stub and `args`.
fn on_backend(server: &ServerGuard, args: &[&str]) -> std::process::Output {
    let url = url(server);
    let mut all = vec!["--backend", url.as_str()];
    all.extend_from_slice(args);
    nutgraf(&default_config(), index())
        .args(&all)
        .output()
        .unwrap()
}

fn url(server: &ServerGuard) -> String {
    format!("{}/nutgraf", server.url())
}

/// An index made by `export --to`: its mapping and count.
fn serve_index(server: &mut ServerGuard) -> Vec<mockito::Mock> {
    vec![
        server
            .mock("GET", "/nutgraf/_mapping")
            .with_header("content-type", "application/json")
            .with_body(
                json!({ "nutgraf": { "mappings": { "_meta": { "nutgraf_schema": nutgraf::index::schema::SCHEMA_VERSION } } } })
                    .to_string(),
            )
            .create(),
        server
            .mock("GET", "/nutgraf/_count")
            .with_body(r#"{"count": 134, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}"#)
            .create(),
    ]
}

fn source(id: &str, text: &str, outlet: &str) -> Value {
    let (doc, n) = id.rsplit_once('#').unwrap();
    json!({
        "id": id, "doc_id": doc, "paragraph": n.parse::<u32>().unwrap(), "paragraphs_in_doc": 25,
        "title": "A title", "authors": ["Rovshan Mammadli"], "outlet": outlet,
        "stance": "critical", "genre": "analysis", "kind": "body", "published": "2025-04",
        "published_from": "2025-04-01", "published_to": "2025-04-30", "date_precision": "month",
        "url": null, "text": text
    })
}

fn buckets(values: &[(&str, u64)]) -> Value {
    json!({ "doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
        "buckets": values.iter().map(|(k, n)| json!({ "key": k, "doc_count": n })).collect::<Vec<_>>() })
}

/// Aggregations shaped as the engines answer a `filter` aggregation with
/// `terms` and `cardinality` under it.
fn aggregations() -> Value {
    let facet = |values: &[(&str, u64)], distinct: u64| json!({ "doc_count": 12, "values": buckets(values), "distinct": { "value": distinct } });
    json!({
        "author": facet(&[("Rovshan Mammadli", 7), ("Alex Grinberg", 3)], 3),
        "outlet": facet(&[("The New Arab", 9), ("BESA Center", 3)], 2),
        "stance": facet(&[("critical", 9), ("supportive", 3)], 2),
        "genre": facet(&[("analysis", 12)], 1),
        "kind": facet(&[("body", 11), ("caption", 2), ("heading", 1)], 3),
    })
}

#[test]
fn a_search_pages_highlights_and_counts_from_the_cluster() {
    let mut server = Server::new();
    let _index = serve_index(&mut server);
    // The catalogue of values filters resolve against (`--outlet "new arab"`).
    let _catalog = server
        .mock("POST", "/nutgraf/_search")
        .match_body(Matcher::PartialJson(json!({ "size": 0, "query": { "match_all": {} } })))
        .with_body(json!({ "took": 1, "hits": { "total": { "value": 134, "relation": "eq" }, "hits": [] }, "aggregations": aggregations() }).to_string())
        .create();
    let text = "A key part of the answer lies in Section 907 of the US “Freedom Support Act.”";
    let marked = format!("A key part of the answer lies in {START}Section{END} {START}907{END} of the US “Freedom Support Act.”");
    let search = server
        .mock("POST", "/nutgraf/_search")
        .match_body(Matcher::PartialJson(json!({
            "from": 10, "size": 2, "track_total_hits": true,
            "post_filter": { "bool": { "filter": [
                { "terms": { "outlet": ["The New Arab"] } },
                { "terms": { "kind": ["body", "heading", "list-item", "byline", "bio"] } }
            ] } }
        })))
        .with_body(
            json!({
                "took": 4, "timed_out": false,
                "_shards": { "total": 1, "successful": 1, "skipped": 0, "failed": 0 },
                "hits": {
                    "total": { "value": 12, "relation": "eq" }, "max_score": 9.8,
                    "hits": [
                        { "_index": "nutgraf", "_id": "newarab-azerbaijan-abraham-accords#12", "_score": 9.8,
                          "_source": source("newarab-azerbaijan-abraham-accords#12", text, "The New Arab"),
                          "highlight": { "text": [marked] } },
                        { "_index": "nutgraf", "_id": "newarab-azerbaijan-abraham-accords#13", "_score": 4.5,
                          "_source": source("newarab-azerbaijan-abraham-accords#13", "No marks here.", "The New Arab") }
                    ]
                },
                "aggregations": aggregations()
            })
            .to_string(),
        )
        .expect(2)
        .create();
    let backend = url(&server);
    let run = |extra: &[&str]| {
        let mut c = nutgraf(&default_config(), index());
        c.args([
            "--backend",
            &backend,
            "search",
            "section 907",
            "--outlet",
            "THE NEW ARAB",
            "--limit",
            "2",
            "--offset",
            "10",
        ]);
        c.args(extra);
        c.output().unwrap()
    };
    let out = run(&["--json", "--facet-limit", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total_hits"], 12);
    assert_eq!(v["offset"], 10);
    let hit = &v["hits"][0];
    assert_eq!(hit["id"], "newarab-azerbaijan-abraham-accords#12");
    assert_eq!(hit["paragraph"], 12);
    let snippet = &hit["snippet"];
    let s = snippet["text"].as_str().unwrap();
    let marked: Vec<&str> = snippet["highlights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &s[r[0].as_u64().unwrap() as usize..r[1].as_u64().unwrap() as usize])
        .collect();
    assert_eq!(marked, ["Section", "907"]);
    assert!(snippet["html"]
        .as_str()
        .unwrap()
        .contains("<mark>Section</mark> <mark>907</mark>"));
    assert_eq!(v["hits"][1]["snippet"]["highlights"], json!([]));
    assert_eq!(
        v["facets"]["outlet"],
        json!({ "The New Arab": 9, "BESA Center": 3 })
    );
    // Three authors, two listed: one left out.
    assert_eq!(v["facets_left_out"]["author"], 1);
    // Captions matched but are not searched by default.
    assert_eq!(v["excluded_by_kind"], json!({ "caption": 2 }));
    let out = run(&[]);
    let text_out = String::from_utf8_lossy(&out.stdout);
    assert!(text_out.contains("Paragraphs 11–12 of 12"), "{text_out}");
    search.assert();
}

#[test]
fn show_reads_a_unit_and_its_neighbours_and_names_a_missing_paragraph() {
    let mut server = Server::new();
    let _index = serve_index(&mut server);
    let unit = |n: u32| {
        let id = format!("besa-engage-azerbaijan#{n}");
        json!({ "_index": "nutgraf", "_id": id, "_score": null, "_source": source(&id, &format!("Paragraph {n}."), "BESA Center"), "sort": [n] })
    };
    let _neighbours = server
        .mock("POST", "/nutgraf/_search")
        .match_body(Matcher::PartialJson(json!({ "sort": [{ "paragraph": "asc" }] })))
        .with_body(json!({ "hits": { "total": { "value": 3, "relation": "eq" }, "hits": [unit(3), unit(4), unit(5)] } }).to_string())
        .create();
    let _document = server
        .mock("POST", "/nutgraf/_search")
        .match_body(Matcher::PartialJson(json!({ "size": 1 })))
        .with_body(
            json!({ "hits": { "total": { "value": 25, "relation": "eq" }, "hits": [unit(1)] } })
                .to_string(),
        )
        .create();
    let out = on_backend(
        &server,
        &[
            "show",
            "besa-engage-azerbaijan#4",
            "--context",
            "1",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let focus: Vec<bool> = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["focus"].as_bool().unwrap())
        .collect();
    assert_eq!(focus, [false, true, false]);
    // Paragraph 40 of a document of 25: the document is there, the
    // paragraph is not.
    let out = on_backend(&server, &["show", "besa-engage-azerbaijan#40"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has 25 paragraphs"), "{err}");
}

#[test]
fn an_engine_error_is_quoted_with_its_reason() {
    let mut server = Server::new();
    let _index = serve_index(&mut server);
    let _refused = server
        .mock("POST", "/nutgraf/_search")
        .with_status(400)
        .with_body(r#"{"error":{"root_cause":[{"type":"query_shard_exception","reason":"failed to create query: field [text] has no positions","index":"nutgraf"}],"type":"search_phase_execution_exception","reason":"all shards failed","phase":"query","grouped":true},"status":400}"#)
        .create();
    let out = nutgraf(&default_config(), index())
        .args(["--backend", &url(&server), "search", "\"oil needs\""])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("answered 400"), "{err}");
    assert!(
        err.contains("search_phase_execution_exception: all shards failed"),
        "{err}"
    );
    assert!(
        err.contains("failed to create query: field [text] has no positions"),
        "{err}"
    );
}

#[test]
fn an_unreachable_cluster_says_where_what_and_how_to_fix() {
    // Port 1 on loopback: nothing listens there.
    let out = nutgraf(&default_config(), index())
        .args(["--backend", "http://127.0.0.1:1/nutgraf", "facets"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("http://127.0.0.1:1/nutgraf"), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    assert!(err.contains("Check that the cluster is running"), "{err}");
    // A command that works on the local index only says so.
    let out = nutgraf(&default_config(), index())
        .args(["--backend", "http://127.0.0.1:1/nutgraf", "trace", "x#1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--backend is for search"));
}

/// A `_bulk` answer accepting every unit of the request, as the engines
/// document it (one item per action, in order).
fn accept_all(body: &[u8]) -> Vec<u8> {
    let items: Vec<Value> = String::from_utf8_lossy(body)
        .lines()
        .step_by(2)
        .map(|action| {
            let a: Value = serde_json::from_str(action).unwrap();
            json!({ "index": { "_index": "nutgraf", "_id": a["index"]["_id"], "_version": 1, "result": "created", "status": 201 } })
        })
        .collect();
    json!({ "took": 7, "errors": false, "items": items })
        .to_string()
        .into_bytes()
}

fn ids_of(body: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(body)
        .lines()
        .step_by(2)
        .map(|action| {
            let a: Value = serde_json::from_str(action).unwrap();
            a["index"]["_id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// The index created, refreshed and counted, as an export asks.
fn accept_index(server: &mut ServerGuard) -> Vec<mockito::Mock> {
    vec![
        server
            .mock("PUT", "/nutgraf")
            .with_body(r#"{"acknowledged":true,"shards_acknowledged":true,"index":"nutgraf"}"#)
            .create(),
        server
            .mock("POST", "/nutgraf/_refresh")
            .with_body(r#"{"_shards":{"total":2,"successful":1,"failed":0}}"#)
            .create(),
        server
            .mock("GET", "/nutgraf/_count")
            .with_body(r#"{"count":134}"#)
            .create(),
    ]
}

fn export(index: &std::path::Path, server: &ServerGuard, extra: &[&str]) -> std::process::Output {
    nutgraf(&default_config(), index)
        .args(["export", "--to", &url(server)])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_refused_mapping_is_an_error_quoting_the_engine() {
    let mut server = Server::new();
    let _put = server
        .mock("PUT", "/nutgraf")
        .with_status(400)
        .with_body(r#"{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"failed to find filter under name [snowball]"}],"type":"illegal_argument_exception","reason":"failed to find filter under name [snowball]"},"status":400}"#)
        .create();
    let out = export(index(), &server, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refused nutgraf's index settings and mapping"),
        "{err}"
    );
    assert!(
        err.contains("failed to find filter under name [snowball]"),
        "{err}"
    );
}

#[test]
fn a_busy_cluster_and_a_dropped_connection_are_tried_again() {
    let mut server = Server::new();
    let _index = accept_index(&mut server);
    // First a 429, then a connection cut in the middle of the answer,
    // then answers.
    let busy = server
        .mock("POST", "/nutgraf/_bulk")
        .with_status(429)
        .with_body(r#"{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"},"status":429}"#)
        .expect(1)
        .create();
    let dropped = server
        .mock("POST", "/nutgraf/_bulk")
        .with_chunked_body(|w| {
            w.write_all(b"{\"took\":3,\"errors\":false,\"items\":[")?;
            Err(std::io::Error::other("connection cut"))
        })
        .expect(1)
        .create();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let seen = sent.clone();
    let ok = server
        .mock("POST", "/nutgraf/_bulk")
        .match_header("content-type", "application/x-ndjson")
        .with_body_from_request(move |r| {
            let body = r.body().unwrap();
            seen.lock().unwrap().extend(ids_of(body));
            accept_all(body)
        })
        .create();
    let out = export(index(), &server, &["--restart"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("Created the index and sent 134 units in 1 batches"),
        "{said}"
    );
    busy.assert();
    dropped.assert();
    ok.assert();
    let ids = sent.lock().unwrap().clone();
    assert_eq!(ids.len(), 134);
}

#[test]
fn units_the_cluster_refuses_are_named_with_the_reason() {
    let mut server = Server::new();
    let _index = accept_index(&mut server);
    let _bulk = server
        .mock("POST", "/nutgraf/_bulk")
        .with_body_from_request(|r| {
            let ids = ids_of(r.body().unwrap());
            let items: Vec<Value> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    if i == 2 {
                        json!({ "index": { "_index": "nutgraf", "_id": id, "status": 400,
                            "error": { "type": "document_parsing_exception", "reason": "[1:120] failed to parse field [published_from] of type [date]" } } })
                    } else {
                        json!({ "index": { "_index": "nutgraf", "_id": id, "status": 201, "result": "created" } })
                    }
                })
                .collect();
            json!({ "took": 3, "errors": true, "items": items }).to_string().into_bytes()
        })
        .create();
    let out = export(index(), &server, &["--restart"]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("The cluster refused 1 units"), "{said}");
    assert!(
        said.contains("document_parsing_exception: [1:120] failed to parse field [published_from]"),
        "{said}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused 1 of the units"), "{err}");
}

#[test]
fn a_killed_export_resumes_after_the_last_acknowledged_batch() {
    // An index of its own: the checkpoint is kept beside it.
    let own = tempfile::tempdir().unwrap();
    build_index(&default_config(), own.path());
    let mut server = Server::new();
    let _index = accept_index(&mut server);
    let requests = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
    let (r, rel, seen) = (requests.clone(), release.clone(), sent.clone());
    let _bulk = server
        .mock("POST", "/nutgraf/_bulk")
        .with_body_from_request(move |req| {
            let n = r.fetch_add(1, Ordering::SeqCst) + 1;
            if n == 4 {
                // The fourth batch never gets its answer: the exporter is
                // killed while it waits.
                while !rel.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return b"{}".to_vec();
            }
            let body = req.body().unwrap();
            seen.lock().unwrap().push(ids_of(body));
            accept_all(body)
        })
        .create();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("nutgraf"))
        .arg("--config")
        .arg(default_config())
        .arg("--index")
        .arg(own.path())
        .args(["export", "--to", &url(&server), "--batch-bytes", "20000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = || -> Option<Value> {
        std::fs::read_dir(own.path())
            .unwrap()
            .flatten()
            .find(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("cluster-export-")
                    && e.file_name().to_string_lossy().ends_with(".json")
            })
            .and_then(|e| std::fs::read_to_string(e.path()).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
    };
    let waited = Instant::now();
    while requests.load(Ordering::SeqCst) < 4 || checkpoint().is_none_or(|c| c["acknowledged"] != 3)
    {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the export did not reach its fourth batch"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    release.store(true, Ordering::SeqCst);
    let first: Vec<String> = sent.lock().unwrap().concat();
    assert_eq!(checkpoint().unwrap()["acknowledged"], 3);

    let out = export(own.path(), &server, &["--batch-bytes", "20000"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("were sent by an earlier run"), "{said}");
    let batches = sent.lock().unwrap().clone();
    let again: Vec<String> = batches[3..].concat();
    // Nothing acknowledged was sent again, and every unit was sent.
    assert!(again.iter().all(|id| !first.contains(id)));
    assert_eq!(first.len() + again.len(), 134, "{said}");
    assert!(
        said.contains(&format!("sent {} units", again.len())),
        "{said}"
    );
    // A changed index (another generation) starts over.
    let meta = own.path().join("meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, text.replace('}', " }")).unwrap();
    let out = export(own.path(), &server, &["--batch-bytes", "20000"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("sent 134 units"), "{said}");
    assert!(!said.contains("earlier run"), "{said}");
}

#[test]
fn credentials_come_from_the_environment_and_a_missing_index_says_how_to_make_it() {
    let mut server = Server::new();
    // `Authorization: ApiKey …` from NUTGRAF_BACKEND_API_KEY.
    let keyed = server
        .mock("GET", "/nutgraf/_mapping")
        .match_header("authorization", "ApiKey c2VjcmV0LWtleQ==")
        .with_status(404)
        .with_body(r#"{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [nutgraf]"}],"type":"index_not_found_exception","reason":"no such index [nutgraf]"},"status":404}"#)
        .create();
    let out = nutgraf(&default_config(), index())
        .env("NUTGRAF_BACKEND_API_KEY", "c2VjcmV0LWtleQ==")
        .args(["--backend", &url(&server), "facets"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such index [nutgraf]"), "{err}");
    assert!(err.contains("`nutgraf export --to"), "{err}");
    assert!(!err.contains("c2VjcmV0"), "the key is never shown: {err}");
    keyed.assert();
    // Basic authentication from a user and a password (RFC 7617).
    let basic = server
        .mock("GET", "/nutgraf/_mapping")
        .match_header("authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        .with_status(401)
        .with_body(r#"{"error":{"type":"security_exception","reason":"unable to authenticate user [Aladdin]"},"status":401}"#)
        .create();
    let out = nutgraf(&default_config(), index())
        .env("NUTGRAF_BACKEND_USER", "Aladdin")
        .env("NUTGRAF_BACKEND_PASSWORD", "open sesame")
        .args(["--backend", &url(&server), "facets"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unable to authenticate user"), "{err}");
    assert!(err.contains("NUTGRAF_BACKEND_API_KEY"), "{err}");
    basic.assert();
    // A user without a password is an error before any request.
    let out = nutgraf(&default_config(), index())
        .env("NUTGRAF_BACKEND_USER", "Aladdin")
        .env_remove("NUTGRAF_BACKEND_PASSWORD")
        .args(["--backend", &url(&server), "facets"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("NUTGRAF_BACKEND_PASSWORD is not"));
}

#[test]
fn search_all_reads_every_match_page_by_page() {
    let mut server = Server::new();
    let _index = serve_index(&mut server);
    let hit = |i: usize| {
        let id = format!("doc-{:04}#1", i);
        json!({ "_index": "nutgraf", "_id": id, "_score": 1.5,
                "_source": source(&id, "Gas for Europe.", "JNS"), "sort": [1.5, id] })
    };
    let body_of =
        |r: &mockito::Request| -> Value { serde_json::from_slice(r.body().unwrap()).unwrap() };
    // A full first page (as many as a page holds), then the rest after
    // the last unit's sort values.
    let first = server
        .mock("POST", "/nutgraf/_search")
        .match_request(move |r| {
            body_of(r).get("search_after").is_none() && body_of(r)["size"] == 1000
        })
        .with_body(
            json!({ "hits": { "hits": (0..1000).map(hit).collect::<Vec<_>>() } }).to_string(),
        )
        .expect(1)
        .create();
    let rest = server
        .mock("POST", "/nutgraf/_search")
        .match_request(move |r| body_of(r)["search_after"] == json!([1.5, "doc-0999#1"]))
        .with_body(
            json!({ "hits": { "hits": (1000..1003).map(hit).collect::<Vec<_>>() } }).to_string(),
        )
        .expect(1)
        .create();
    let out = on_backend(
        &server,
        &["search", "\"Section 907\"", "--all", "--format", "jsonl"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1003);
    assert_eq!(rows[1002]["id"], "doc-1002#1");
    first.assert();
    rest.assert();
}

/// `serve --backend`: a cluster that fails a search is the gateway's
/// fault (502, its reason quoted), and what a cluster cannot answer is
/// not implemented in this mode (501); neither is the server's own error.
#[test]
fn a_server_on_a_failing_cluster_answers_502_and_501() {
    let mut server = Server::new();
    let _index = serve_index(&mut server);
    let _failing = server
        .mock("POST", "/nutgraf/_search")
        .with_status(500)
        .with_body(r#"{"error":{"root_cause":[{"type":"node_not_connected_exception","reason":"node left the cluster"}],"type":"search_phase_execution_exception","reason":"all shards failed"},"status":500}"#)
        .create();
    let served = start_with(&default_config(), index(), &["--backend", &url(&server)]);
    let get = |path: &str| {
        let r = reqwest::blocking::Client::new()
            .get(format!("{}{path}", served.url))
            .send()
            .expect("the server answers");
        let status = r.status().as_u16();
        (status, r.json::<Value>().expect("a JSON body"))
    };
    let (status, body) = get("/api/search?q=oil");
    assert_eq!(status, 502, "{body}");
    let said = body["error"].as_str().unwrap();
    assert!(
        said.contains("answered 500") && said.contains("node left the cluster"),
        "{said}"
    );
    let (status, body) = get("/api/search?q=oil&explain=true");
    assert_eq!(status, 501, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("--explain"),
        "{body}"
    );
}
