//! `search --all --format csv|jsonl`, `nutgraf batch` and `GET
//! /api/export`, through the real binary: on the seeds, and on a small
//! collection whose text holds what CSV and spreadsheets trip on
//! (quotes, commas, line breaks, formula-like starts, accents).

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use serde_json::{json, Value};

const BOM: &str = "\u{feff}";
const COLUMNS: [&str; 15] = [
    "id",
    "doc_id",
    "paragraph",
    "paragraphs_in_doc",
    "outlet",
    "authors",
    "stance",
    "genre",
    "kind",
    "published",
    "url",
    "title",
    "text",
    "citation",
    "cluster",
];

/// Paragraphs a spreadsheet or a CSV parser could misread. Every one
/// holds `ledger`; some hold `quorum` too.
const TRICKY: [&str; 8] = [
    "=HYPERLINK(\"http://evil.example\", \"ledger\") was pasted into the story",
    "+1 555 0100 is the number on the ledger, a reader said",
    "-30 degrees, the ledger says, and \"colder\" tomorrow; the quorum met",
    "@ledger wrote: \"a, b, c\" and then nothing",
    "The ledger line one\nand line two, after a bare line feed",
    "'Twas the ledger of the quorum, Erdoğan’s “curly” quotes, café and 😀",
    "\ttabbed ledger start",
    "A plain ledger paragraph about the quorum and nothing else",
];

/// The tricky collection: its config and index, built once.
fn tricky() -> (&'static Path, &'static Path) {
    static BUILT: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    let (_, config, index) = BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("tricky.jsonl");
        let mut f = std::fs::File::create(&data).unwrap();
        for d in 0..12 {
            // Each document takes the tricky paragraphs in another order.
            let mut paragraphs: Vec<&str> = TRICKY.to_vec();
            paragraphs.rotate_left(d % TRICKY.len());
            paragraphs.truncate(3 + d % 5);
            let authors = ["Jane Doe", "Zoë O’Neil, Sam Roe", "@Handle"][d % 3];
            let outlet = ["Daily Planet", "Metro, Inc.", "Coastal Times"][d % 3];
            let stance = ["left", "center", "right"][d % 3];
            let date = ["2019-03-04", "2018", "2020-11"][d % 3];
            let url = if d % 2 == 0 {
                format!("https://example.org/t{d}?a=1,b=2")
            } else {
                String::new()
            };
            let line = json!({
                "ID": format!("t{d}"),
                "title": format!("=Budget, \"ledger\" and more {d}"),
                "authors": authors,
                "source": outlet,
                "bias_text": stance,
                "date": date,
                "url": url,
                "content_original": paragraphs.join("\n\n"),
            });
            writeln!(f, "{line}").unwrap();
        }
        let config = dir.path().join("tricky.toml");
        let text = std::fs::read_to_string(root().join("tests/fixtures/collection/news.toml"))
            .unwrap()
            .replace("news.jsonl", data.to_str().unwrap());
        std::fs::write(&config, text).unwrap();
        let index = dir.path().join("idx");
        build_index(&config, &index);
        (dir, config, index)
    });
    (config, index)
}

/// Runs `nutgraf` and returns (exit code, stdout, stderr).
fn run_on(config: &Path, index: &Path, args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = nutgraf(config, index).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Parses an export's CSV with the csv crate: the header and each row as
/// column -> cell.
fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix(BOM).expect("a CSV starts with a BOM");
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            r.expect("a valid CSV record")
                .iter()
                .map(String::from)
                .collect()
        })
        .collect();
    (header, rows)
}

/// A CSV cell's exact text: a cell starting with `'` had one put in
/// front of it (the formula guard).
fn unguard(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// The search's JSON hit as the CSV writes it, cell by cell.
fn expected_cells(hit: &Value) -> Vec<String> {
    COLUMNS[..13]
        .iter()
        .map(|&c| match &hit[c] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Array(a) => a
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join("; "),
            other => panic!("{c}: {other}"),
        })
        .collect()
}

fn search_on(config: &Path, index: &Path, query: &str, extra: &[&str]) -> Value {
    let mut args = vec!["search", query, "--json", "--limit", "1000"];
    args.extend_from_slice(extra);
    json_on(config, index, &args)
}

/// The counted hits of a search (full matches, or all of a relaxed one).
fn counted(v: &Value) -> Vec<Value> {
    hits(v).into_iter().cloned().collect()
}

#[test]
fn csv_holds_every_counted_unit_in_rank_order_and_parses_back_to_the_search() {
    let (config, index) = tricky();
    for (query, extra) in [
        ("ledger", vec![]),
        // Fewer units hold both words than a page holds: the search's
        // page goes on with partial matches, which the export leaves out.
        ("ledger quorum", vec![]),
        (
            "ledger",
            vec!["--stance", "left", "--outlet", "Metro, Inc."],
        ),
        ("ledger", vec!["--outlet", "Metro, Inc."]),
    ] {
        let v = search_on(config, index, query, &extra);
        let total = v["total_hits"].as_u64().unwrap();
        let want = counted(&v);
        assert_eq!(
            want.len() as u64,
            total,
            "{query}: the page holds every match"
        );
        if query == "ledger quorum" {
            assert!(
                page(&v).len() > want.len(),
                "the page was filled with partial matches"
            );
        }
        let mut args = vec!["search", query, "--all", "--format", "csv"];
        args.extend_from_slice(&extra);
        let (code, out, err) = run_on(config, index, &args);
        assert_eq!(code, if total > 0 { 0 } else { 1 }, "{err}");
        let (header, rows) = parse_csv(&out);
        assert_eq!(header, COLUMNS);
        assert_eq!(
            rows.len() as u64,
            total,
            "{query} {extra:?}: a row per counted unit"
        );
        for (row, hit) in rows.iter().zip(&want) {
            let exact: Vec<&str> = row.iter().map(|c| unguard(c)).collect();
            assert_eq!(exact[..13], expected_cells(hit), "{query}: {}", hit["id"]);
            // Cells a spreadsheet would run are guarded, and only those.
            for cell in row {
                let first = unguard(cell).chars().next();
                let risky = matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\''));
                assert_eq!(cell.starts_with('\''), risky, "{cell:?}");
            }
            let citation = unguard(&row[13]);
            assert!(
                citation.contains(&format!("[nutgraf {}]", field(hit, "id"))),
                "{citation}"
            );
            assert!(citation.contains(field(hit, "outlet")), "{citation}");
        }
    }
}

#[test]
fn the_tricky_text_comes_back_exactly() {
    let (config, index) = tricky();
    let (_, out, _) = run_on(config, index, &["search", "ledger", "--all"]);
    let (_, rows) = parse_csv(&out);
    let texts: Vec<&str> = rows.iter().map(|r| unguard(&r[12])).collect();
    for paragraph in TRICKY {
        // The splitter trims a paragraph's edges and joins its lines
        // (a line feed inside a paragraph is a space in the index).
        let body = paragraph.trim().replace('\n', " ");
        assert!(
            texts.iter().any(|t| *t == body),
            "{paragraph:?} not exported as it is; got {texts:#?}"
        );
    }
    let raw = String::from_utf8(out).unwrap();
    assert!(raw.contains("'=HYPERLINK("), "the formula is guarded");
    assert!(raw.contains("\r\n"), "RFC 4180 line ends");
}

#[test]
fn jsonl_lines_parse_and_carry_the_search_s_fields() {
    let (config, index) = tricky();
    for query in ["ledger", "ledger quorum"] {
        let v = search_on(config, index, query, &[]);
        let want = counted(&v);
        let (code, out, err) = run_on(
            config,
            index,
            &["search", query, "--all", "--format", "jsonl"],
        );
        assert_eq!(code, 0, "{err}");
        let text = String::from_utf8(out).unwrap();
        assert!(!text.starts_with(BOM), "no BOM in JSON Lines");
        let lines = json_lines(text.as_bytes());
        assert_eq!(lines.len(), want.len());
        for (line, hit) in lines.iter().zip(&want) {
            let keys: Vec<&str> = line
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys.len(), COLUMNS.len());
            for c in &COLUMNS[..13] {
                assert_eq!(line[c], hit[c], "{c} of {}", hit["id"]);
            }
            assert!(line["citation"]
                .as_str()
                .unwrap()
                .ends_with(&format!("[nutgraf {}]", hit["id"].as_str().unwrap())));
        }
    }
}

#[test]
fn seeds_export_equals_total_hits_with_filters_and_relaxed() {
    for (query, extra) in [
        ("Azerbaijan", vec![]),
        ("Azerbaijan", vec!["--author", "grinberg"]),
        ("oil", vec!["--stance", "critical", "--since", "2025"]),
        // No unit holds the made-up word: the relaxed search counts, and
        // the export writes, the units holding the other one.
        ("Azerbaijan zzqqxx", vec![]),
        ("", vec!["--kind", "caption"]),
    ] {
        let v = search(query, &extra);
        let total = v["total_hits"].as_u64().unwrap();
        assert!(total > 0, "{query}");
        let mut args = vec!["search", query, "--all", "--format", "jsonl"];
        args.extend_from_slice(&extra);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ids = jsonl_ids(&out.stdout);
        assert_eq!(ids.len() as u64, total, "{query} {extra:?}");
        let want: Vec<&str> = hits(&v).iter().map(|h| field(h, "id")).collect();
        assert_eq!(ids, want, "{query}: rank order");
        if v["relaxed"] == true {
            assert!(String::from_utf8_lossy(&out.stderr).contains("hold most of them"));
        }
    }
}

#[test]
fn flags_that_do_not_fit_an_export_are_refused_and_a_bad_query_writes_nothing() {
    for args in [
        vec!["search", "oil", "--all", "--limit", "5"],
        vec!["search", "oil", "--all", "--offset", "5"],
        vec!["search", "oil", "--all", "--json"],
        vec!["search", "oil", "--format", "csv"],
        vec!["search", "oil", "--all", "--format", "xlsx"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--all") || err.contains("--format"),
            "{args:?}: {err}"
        );
    }
    let out = run(&["search", "Baku author:", "--all"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no header before the error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("column 13"));
    // Nothing matches: exit 1 and a header alone.
    let out = run(&["search", "oil", "--all", "--since", "2030"]);
    assert_eq!(out.status.code(), Some(1));
    let (header, rows) = parse_csv(&out.stdout);
    assert_eq!((header.len(), rows.len()), (COLUMNS.len(), 0));
}

/// The rows of a batch as JSON, and its exit code and stderr.
fn batch(file: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let mut args = vec!["batch", file.to_str().unwrap(), "--format", "jsonl"];
    args.extend_from_slice(extra);
    let out = run(&args);
    let rows = json_lines(&out.stdout);
    (
        out.status.code().unwrap(),
        rows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn batch_rows_count_what_the_searches_count() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queries.txt");
    std::fs::write(
        &file,
        "# seeds\nAzerbaijan\n\"Section 907\"\noil\tstance=critical\noil\toutlet=The New Arab\nAzerbaijan zzqqxx\nzzqqxx\n",
    )
    .unwrap();
    let (code, rows, err) = batch(&file, &["--top-outlets", "2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows.len(), 6);
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
    let stances: Vec<String> = json(&["facets", "stance", "--json"])["values"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for row in &rows {
        let query = row["query"].as_str().unwrap();
        let mut extra: Vec<String> = Vec::new();
        for pair in row["filters"]
            .as_str()
            .unwrap()
            .split("; ")
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap();
            extra.extend([format!("--{k}"), v.to_string()]);
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let v = search(query, &extra);
        let total = v["total_hits"].as_u64().unwrap();
        assert_eq!(row["total_hits"].as_u64(), Some(total), "{query}");
        assert_eq!(row["relaxed"], v["relaxed"], "{query}");
        let counted = hits(&v);
        assert_eq!(
            row["best_id"].as_str(),
            counted.first().map(|h| field(h, "id")),
            "{query}"
        );
        // Every stance of the index has its column; counts are of the
        // matches, so they add up to the total.
        let by_stance = row["stance"].as_object().unwrap();
        let mut keys: Vec<String> = by_stance.keys().cloned().collect();
        keys.sort();
        let mut want_keys = stances.clone();
        want_keys.sort();
        assert_eq!(keys, want_keys);
        assert_eq!(
            by_stance.values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
            total
        );
        for (stance, n) in by_stance {
            let among = counted
                .iter()
                .filter(|h| field(h, "stance") == stance)
                .count();
            assert_eq!(n.as_u64(), Some(among as u64), "{query}: {stance}");
            // Without a stance filter, the search's facet counts agree.
            if !extra.contains(&"--stance") {
                let facet = v["facets"]["stance"][stance].as_u64().unwrap_or(0);
                assert_eq!(n.as_u64(), Some(facet), "{query}: {stance}");
            }
        }
        let top = row["top_outlets"].as_object().unwrap();
        assert!(top.len() <= 2);
        for (outlet, n) in top {
            let among = counted
                .iter()
                .filter(|h| field(h, "outlet") == outlet)
                .count();
            assert_eq!(n.as_u64(), Some(among as u64), "{query}: {outlet}");
            if !extra.contains(&"--outlet") {
                assert_eq!(n, &v["facets"]["outlet"][outlet], "{query}: {outlet}");
            }
        }
        // First and last date: the earliest and latest among the matches.
        let mut dates: Vec<&str> = counted
            .iter()
            .map(|h| field(h, "published"))
            .filter(|d| !d.is_empty())
            .collect();
        dates.sort();
        assert_eq!(
            row["first_date"].as_str(),
            dates.first().copied(),
            "{query}"
        );
        assert_eq!(row["last_date"].as_str(), dates.last().copied(), "{query}");
        assert_eq!(row["error"], Value::Null);
    }
    let unmatched = rows.iter().find(|r| r["query"] == "zzqqxx").unwrap();
    assert_eq!(unmatched["total_hits"], 0);
    assert_eq!(unmatched["best_id"], Value::Null);
}

#[test]
fn a_bad_batch_line_is_reported_with_its_number_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queries.csv");
    std::fs::write(
        &file,
        "query,filter\nAzerbaijan\noil,colour=red\nBaku author:\n\"oil, gas\",stance=critical\nAzerbaijan,outlet=No Such Outlet\n",
    )
    .unwrap();
    let (code, rows, err) = batch(&file, &[]);
    assert_eq!(code, 2, "a failed line makes the exit status 2");
    assert_eq!(rows.len(), 5, "every line has its row");
    let errors: Vec<(u64, bool)> = rows
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["error"].is_string()))
        .collect();
    assert_eq!(
        errors,
        [(2, false), (3, true), (4, true), (5, false), (6, true)]
    );
    for line in [3, 4, 6] {
        assert!(err.contains(&format!("queries.csv:{line}")), "{err}");
    }
    assert!(
        err.contains("colour") && err.contains("column 13") && err.contains("No Such Outlet"),
        "{err}"
    );
    assert!(err.contains("3 of 5 queries failed"), "{err}");
    assert_eq!(rows[3]["query"], "oil, gas");
    assert_eq!(
        rows[0]["total_hits"],
        search("Azerbaijan", &[])["total_hits"]
    );
}

#[test]
fn batch_csv_has_a_column_per_stance_and_writes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.txt");
    std::fs::write(&file, "Azerbaijan\n=1+1\n").unwrap();
    let output = dir.path().join("rows.csv");
    let out = run(&[
        "batch",
        file.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let (header, rows) = parse_csv(&std::fs::read(&output).unwrap());
    assert_eq!(
        header[..5],
        ["line", "query", "filters", "total_hits", "relaxed"]
    );
    assert!(
        header.contains(&"stance:critical".to_string()),
        "{header:?}"
    );
    assert!(header.ends_with(
        &["top_outlets", "first_date", "last_date", "best_id", "error"].map(String::from)
    ));
    assert_eq!(rows.len(), 2);
    let total = header.iter().position(|h| h == "total_hits").unwrap();
    assert_eq!(
        rows[0][total],
        search("Azerbaijan", &[])["total_hits"].to_string()
    );
    assert_eq!(
        rows[1][1], "'=1+1",
        "a query that looks like a formula is guarded"
    );
}

#[test]
fn the_api_streams_the_same_rows_with_a_file_name() {
    let (config, index) = tricky();
    let server = start(config, index, Some("127.0.0.1:0"));
    let client = reqwest::blocking::Client::new();
    let (_, cli_csv, _) = run_on(
        config,
        index,
        &["search", "ledger", "--outlet", "Metro, Inc.", "--all"],
    );
    let r = client
        .get(format!(
            "{}/api/export?q=ledger&outlet=Metro%2C+Inc.&format=csv",
            server.url
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(cd, "attachment; filename=\"nutgraf-ledger.csv\"");
    let body = r.bytes().unwrap();
    assert_eq!(
        &body[..],
        &cli_csv[..],
        "the API writes what the command line writes"
    );
    let (_, rows) = parse_csv(&body);
    let v = search_on(config, index, "ledger", &["--outlet", "Metro, Inc."]);
    assert_eq!(rows.len() as u64, v["total_hits"].as_u64().unwrap());

    let r = client
        .get(format!(
            "{}/api/export?q=%22the+quorum%22&format=jsonl",
            server.url
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains("nutgraf-the-quorum.jsonl"), "{cd}");
    let text = r.text().unwrap();
    let v = search_on(config, index, "\"the quorum\"", &[]);
    assert_eq!(
        text.lines().count() as u64,
        v["total_hits"].as_u64().unwrap()
    );
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        assert!(
            row["text"].as_str().unwrap().contains("the quorum"),
            "{row}"
        );
    }

    for (path, needle) in [
        ("/api/export?q=Baku+author%3A", "column"),
        ("/api/export?q=x&limit=5", "does not apply"),
        ("/api/export?q=x&format=xlsx", "format=csv"),
        ("/api/export?q=x&outlet=Nowhere", "Nowhere"),
    ] {
        let r = client.get(format!("{}{path}", server.url)).send().unwrap();
        assert_eq!(r.status().as_u16(), 400, "{path}");
        let v: Value = r.json().unwrap();
        assert!(v["error"].as_str().unwrap().contains(needle), "{path}: {v}");
    }
}
