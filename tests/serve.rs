//! `nutgraf serve`: the HTTP API and page, through the real binary on an
//! ephemeral loopback port, on the real seeds.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::blocking::Client;
use serde_json::Value;

fn seeds_server() -> Server {
    start(&default_config(), seed_index(), Some("127.0.0.1:0"))
}

fn get(s: &Server, path: &str) -> (u16, Value) {
    let r = Client::new()
        .get(format!("{}{path}", s.url))
        .send()
        .expect("the server answers");
    let status = r.status().as_u16();
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{path}: {ct}");
    (status, r.json().expect("JSON body"))
}

fn outlets(v: &Value) -> Vec<String> {
    let mut o: Vec<String> = hits(v)
        .iter()
        .map(|h| field(h, "outlet").to_string())
        .collect();
    o.sort();
    o.dedup();
    o
}

#[test]
fn binds_to_loopback_by_default_and_says_where() {
    // The default address is loopback (read from the flag's definition,
    // so no test binds the fixed port 7700).
    let help = run(&["serve", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("[default: 127.0.0.1:7700]"), "{help}");
    let server = start(&default_config(), seed_index(), Some("127.0.0.1:0"));
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let (status, v) = get(&server, "/healthz");
    assert_eq!(status, 200);
    assert_eq!(v["status"], "ok");
}

#[test]
fn search_answers_exactly_what_the_cli_prints() {
    let s = seeds_server();
    let (status, api) = get(&s, "/api/search?q=Section%20907&limit=20");
    assert_eq!(status, 200);
    assert_eq!(outlets(&api), ["BESA Center", "The New Arab"]);
    let cli = json(&["search", "Section 907", "--json", "--limit", "20"]);
    for key in [
        "query",
        "total_hits",
        "relaxed",
        "suggestions",
        "hits",
        "facets",
        "limit",
    ] {
        assert_eq!(api[key], cli[key], "{key} differs between API and CLI");
    }
    for h in hits(&api) {
        assert!(h["snippet"]["html"].as_str().unwrap().contains("<mark>"));
    }
    // Repeated filters: OR within a field; disjunctive facet counts.
    let (_, v) = get(
        &s,
        "/api/search?q=Azerbaijan&outlet=JNS&outlet=Newsweek&limit=100",
    );
    assert_eq!(outlets(&v), ["JNS", "Newsweek"]);
    assert!(v["facets"]["outlet"].as_object().unwrap().len() == 5);
    let (_, v) = get(&s, "/api/search?q=Azerbaijan&stance=critical");
    assert_eq!(outlets(&v), ["The New Arab"]);
    // A facet limit lists the most frequent values and those a filter
    // selects, and says how many it left out; the CLI does the same.
    let (_, all) = get(&s, "/api/search?q=Azerbaijan&facet_limit=0");
    let all_outlets = all["facets"]["outlet"].as_object().unwrap();
    assert_eq!(all_outlets.len(), 5);
    assert!(all.get("facets_left_out").is_none());
    let (rarest, _) = all_outlets
        .iter()
        .min_by_key(|(name, n)| (n.as_u64().unwrap(), name.to_string()))
        .unwrap();
    let (_, top) = get(
        &s,
        &format!(
            "/api/search?q=Azerbaijan&facet_limit=1&outlet={}",
            rarest.replace(' ', "%20")
        ),
    );
    let listed = top["facets"]["outlet"].as_object().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[rarest.as_str()], all_outlets[rarest.as_str()]);
    assert_eq!(top["facets_left_out"]["outlet"], 4);
    let cli = json(&[
        "search",
        "Azerbaijan",
        "--json",
        "--facet-limit",
        "1",
        "--outlet",
        rarest,
    ]);
    assert_eq!(cli["facets"], top["facets"]);
    assert_eq!(cli["facets_left_out"], top["facets_left_out"]);
    let (_, plain) = get(&s, "/api/search?q=Azerbaijan&facet_limit=2");
    let two = plain["facets"]["outlet"].as_object().unwrap();
    assert_eq!(two.len(), 2);
    let least_listed = two.values().map(|n| n.as_u64().unwrap()).min().unwrap();
    assert!(all_outlets
        .iter()
        .filter(|(name, _)| !two.contains_key(name.as_str()))
        .all(|(_, n)| n.as_u64().unwrap() <= least_listed));
    // Paging.
    let (_, p1) = get(&s, "/api/search?q=Azerbaijan&limit=5");
    let (_, p2) = get(&s, "/api/search?q=Azerbaijan&limit=5&offset=5");
    assert_eq!(p2["offset"], 5);
    assert_ne!(hits(&p1)[0]["id"], hits(&p2)[0]["id"]);
}

#[test]
fn units_similar_and_facets() {
    let s = seeds_server();
    let (status, v) = get(&s, "/api/units/besa-engage-azerbaijan%235?context=1");
    assert_eq!(status, 200);
    let units = v["units"].as_array().unwrap();
    assert_eq!(units.len(), 3);
    assert_eq!(units.iter().filter(|u| u["focus"] == true).count(), 1);
    assert_eq!(units[1]["id"], "besa-engage-azerbaijan#5");

    let (_, oil) = get(
        &s,
        "/api/search?q=%2260%25%22%20oil&outlet=The%20New%20Arab",
    );
    let id = field(hits(&oil)[0], "id").replace('#', "%23");
    let (status, v) = get(&s, &format!("/api/similar/{id}?limit=3"));
    assert_eq!(status, 200);
    assert_eq!(field(hits(&v)[0], "outlet"), "CBN News");

    let (status, v) = get(&s, "/api/facets");
    assert_eq!(status, 200);
    let cli = json(&["facets", "--json"]);
    assert_eq!(v, cli);
}

#[test]
fn explain_true_takes_scores_apart_as_the_cli_does() {
    let s = seeds_server();
    let (status, v) = get(&s, "/api/search?q=Section%20907&explain=true&limit=3");
    assert_eq!(status, 200);
    let cli = json(&[
        "search",
        "Section 907",
        "--json",
        "--explain",
        "--limit",
        "3",
    ]);
    let explained =
        |v: &Value| -> Vec<Value> { page(v).iter().map(|h| h["explain"].clone()).collect() };
    assert_eq!(explained(&v), explained(&cli));
    assert!(explained(&v).iter().all(|e| e["words"].is_array()), "{v}");
    let (_, plain) = get(&s, "/api/search?q=Section%20907");
    assert!(page(&plain)[0].get("explain").is_none());
}

#[test]
fn errors_are_json_with_the_right_status() {
    let s = seeds_server();
    for (path, status, needle) in [
        ("/api/search?q=x&limit=101", 400, "at most 100"),
        ("/api/search?q=x&limit=lots", 400, "not a whole number"),
        ("/api/search?q=Baku%20author%3A", 400, "column 13"),
        ("/api/search?q=x&author=nobodyatall", 400, "closest"),
        ("/api/search?q=x&kind=poem", 400, "kinds are"),
        ("/api/search?q=x&since=yesterday", 400, "not a date"),
        ("/api/search?q=x&colour=red", 400, "unknown parameter"),
        ("/api/search?q=x&explain=maybe", 400, "explain=true"),
        ("/api/units/no-such-doc%231", 404, "no unit"),
        ("/api/similar/no-such-doc%231", 404, "no unit"),
        (
            "/api/units/besa-engage-azerbaijan%235?context=1000",
            400,
            "at most",
        ),
        ("/no/such/page", 404, "no such page"),
    ] {
        let (got, v) = get(&s, path);
        assert_eq!(got, status, "{path}: {v}");
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{path}: {msg}");
    }
    let long = "a".repeat(1001);
    let (got, v) = get(&s, &format!("/api/search?q={long}"));
    assert_eq!(got, 400, "{v}");
}

#[test]
fn the_page_is_served_with_a_policy_against_inline_script() {
    let s = seeds_server();
    let r = Client::new().get(format!("{}/", s.url)).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().unwrap();
    assert!(
        html.contains("src=\"/app.js\""),
        "the page loads its script from a file"
    );
    // No inline script or handler attribute.
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script>"), "inline script in the page");
    assert!(!lower.contains(" onclick=") && !lower.contains(" onload="));
    for (path, ct) in [("/app.js", "text/javascript"), ("/app.css", "text/css")] {
        let r = Client::new()
            .get(format!("{}{path}", s.url))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(ct));
    }
    let js = Client::new()
        .get(format!("{}/app.js", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
    ] {
        assert!(!js.contains(sink), "app.js uses {sink}");
    }
}

/// A document whose every field carries markup.
const HOSTILE: &str = r#"<script>alert(1)</script> "><img src=x onerror=alert(1)> SOCAR"#;

#[test]
fn article_text_and_query_echo_stay_inert() {
    let project = project_copy();
    let root = project.path();
    add_document(
        root,
        "hostile.txt",
        &format!("{HOSTILE}\n\nA second paragraph about SOCAR <b>bold</b> & more.\n"),
        r#"
id = "hostile"
file = "../seeds/hostile.txt"
title = "<script>alert('title')</script>"
authors = ["\"><img src=x onerror=alert(1)>"]
outlet = "<img src=x onerror=alert(2)>"
stance = "neutral"
genre = "opinion"
url = "https://example.org/?q=%22%3E%3Cscript%3Ealert(4)%3C/script%3E"
"#,
    );
    let config = root.join("index-config/nutgraf.toml");
    let index = root.join("idx");
    build_index(&config, &index);
    let s = start(&config, &index, Some("127.0.0.1:0"));
    let (status, v) = get(
        &s,
        "/api/search?q=SOCAR&outlet=%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E",
    );
    assert_eq!(status, 200, "{v}");
    assert!(!hits(&v).is_empty());
    for h in hits(&v) {
        let html = h["snippet"]["html"].as_str().unwrap();
        assert!(
            !html.contains("<script") && !html.contains("<img") && !html.contains("<b>"),
            "{html}"
        );
        assert!(html.contains("&lt;") || html.contains("&amp;"), "{html}");
        // The fields are data: JSON strings, shown by the page as text.
        assert!(field(h, "title").contains("<script>"));
    }
    // The query is echoed as data in JSON, not as markup in a page.
    let (_, v) = get(&s, "/api/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(v["query"], "<script>alert(1)</script>");
    // The page is the same static file whatever the address asks: the
    // query reaches it only as JSON, put in the page as text by the script
    // (checked in a browser by tests/e2e).
    let page = |path: &str| {
        let r = Client::new()
            .get(format!("{}{path}", s.url))
            .send()
            .unwrap();
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        (csp, r.text().unwrap())
    };
    let (csp, plain) = page("/");
    let (_, asked) = page("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_eq!(plain, asked, "the page must not change with the query");
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

#[test]
fn a_running_server_sees_new_commits() {
    let project = project_copy();
    let root = project.path();
    let config = root.join("index-config/nutgraf.toml");
    let index = root.join("idx");
    build_index(&config, &index);
    let s = start(&config, &index, Some("127.0.0.1:0"));
    let (_, v) = get(&s, "/api/search?q=Zanzibar");
    assert_eq!(v["total_hits"], 0);

    add_document(
        root,
        "new.txt",
        "Zanzibar signs a trade deal with Baku.\n",
        "id = \"new-zanzibar\"\nfile = \"../seeds/new.txt\"\ntitle = \"Zanzibar\"\noutlet = \"Newsweek\"\nstance = \"neutral\"\ngenre = \"news report\"\n",
    );
    build_index(&config, &index);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = get(&s, "/api/search?q=Zanzibar");
        if v["total_hits"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the server never saw the commit");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[cfg_attr(
    not(feature = "yardsticks"),
    ignore = "the load test is in the `yardsticks` feature: cargo test --release --features yardsticks"
)]
fn a_short_load_test_reports_rate_and_latency_without_errors() {
    let s = seeds_server();
    let queries = root().join("benches/queries/seeds.txt");
    let out = nutgraf(&default_config(), seed_index())
        .args(["bench", "--queries"])
        .arg(&queries)
        .args([
            "--url",
            &s.url,
            "--clients",
            "3",
            "--duration",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"], 0, "{v}");
    assert!(v["requests"].as_u64().unwrap() > 10, "{v}");
    assert!(v["p50_us"].as_u64().unwrap() <= v["p99_us"].as_u64().unwrap());
    assert!(v["rps"].as_f64().unwrap() > 0.0);
}
