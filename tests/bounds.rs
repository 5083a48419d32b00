//! Bounded work: limits in range, counts-only searches, repeated and
//! over-broad query parts, too many words, deadlines, long author lists
//! and the facet values shown in text.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use nutgraf::search::similar::similar_until;
use nutgraf::search::{SearchRequest, Searcher, MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET};
use nutgraf::Error;

fn seeds() -> &'static Searcher {
    static S: OnceLock<Searcher> = OnceLock::new();
    S.get_or_init(|| Searcher::open(seed_index(), false).unwrap())
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A unit id of the seeds, for `similar`.
fn some_unit() -> String {
    let v = search("Witkoff", &[]);
    field(hits(&v)[0], "id").to_string()
}

#[test]
fn huge_limits_are_refused_naming_the_flag_and_its_range() {
    for limit in ["10000000000", "1000000000000000000", "100001"] {
        let out = run(&["search", "Azerbaijan", "--limit", limit]);
        assert_eq!(out.status.code(), Some(2), "{limit}: {}", stderr(&out));
        let e = stderr(&out);
        assert!(e.contains("--limit") && e.contains("0..=100000"), "{e}");
        let out = run(&["similar", &some_unit(), "--limit", limit]);
        assert_eq!(out.status.code(), Some(2), "{limit}: {}", stderr(&out));
        assert!(stderr(&out).contains("--limit"), "{}", stderr(&out));
    }
    let out = run(&["search", "Azerbaijan", "--offset", "1000000000000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--offset"), "{}", stderr(&out));
    // The largest allowed answer at once, without reserving room for it.
    let out = run(&["search", "Azerbaijan", "--limit", "100000", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn the_library_checks_limits_and_offsets_too() {
    for (limit, offset) in [
        (usize::MAX, 0),
        (MAX_SEARCH_LIMIT + 1, 0),
        (1, usize::MAX),
        (usize::MAX, usize::MAX),
    ] {
        let mut r = SearchRequest::new("Azerbaijan");
        r.limit = limit;
        r.offset = offset;
        match seeds().search(&r) {
            Err(Error::Limit(m)) => assert!(m.contains("out of range"), "{m}"),
            other => panic!("{limit} {offset}: {:?}", other.map(|r| r.total_hits)),
        }
    }
    let mut r = SearchRequest::new("Azerbaijan");
    r.limit = MAX_SEARCH_LIMIT;
    r.offset = MAX_SEARCH_OFFSET;
    let answer = seeds().search(&r).unwrap();
    assert!(answer.total_hits > 0 && answer.hits.is_empty());
    let unit = some_unit();
    assert!(matches!(
        similar_until(seeds(), &unit, usize::MAX, None),
        Err(Error::Limit(_))
    ));
}

#[test]
fn limit_zero_counts_without_listing() {
    let v = json(&["search", "Azerbaijan", "--json", "--limit", "0"]);
    let total = v["total_hits"].as_u64().unwrap();
    assert!(total > 1);
    assert!(hits(&v).is_empty());
    assert!(!v["facets"]["outlet"].as_object().unwrap().is_empty());
    let out = run(&["search", "Azerbaijan", "--limit", "0", "--offset", "5"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{total} paragraphs match (counts only")),
        "{text}"
    );
    assert!(!text.contains("No paragraphs past"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("outlet:")), "{text}");
    // `similar` counts who repeats a claim without listing the units.
    let unit = some_unit();
    let all = json(&["similar", &unit, "--json"]);
    let counted = json(&["similar", &unit, "--json", "--limit", "0"]);
    assert_eq!(counted["total_hits"], all["total_hits"]);
    assert!(counted["hits"].as_array().unwrap().is_empty());
    assert_eq!(counted["facets"], all["facets"]);
}

/// The terms a query compiles to, counted.
fn compiled_terms(q: &str) -> usize {
    let s = seeds();
    let searcher = s.tantivy_searcher();
    let node = Searcher::parse(q).unwrap();
    let compiled = s.compile(&searcher, q, node.as_ref(), true).unwrap();
    let mut n = 0;
    compiled.query.query_terms(&mut |_, _| n += 1);
    n
}

#[test]
fn repeated_words_and_clauses_count_once() {
    let one = compiled_terms("th*");
    assert!(one > 2, "th* expands to several words");
    // The server accepts 1,000 characters: 250 copies of `th*`.
    let q = vec!["th*"; 250].join(" ");
    assert_eq!(compiled_terms(&q), one);
    let q = vec!["(Baku OR th*)"; 100].join(" ");
    assert_eq!(compiled_terms(&q), compiled_terms("(Baku OR th*)"));
    let started = Instant::now();
    let r = seeds().search(&SearchRequest::new(vec!["th*"; 250].join(" ")));
    assert_eq!(
        r.unwrap().total_hits,
        seeds()
            .search(&SearchRequest::new("th*"))
            .unwrap()
            .total_hits
    );
    // Generous: the query takes milliseconds.
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn thousands_of_or_words_are_refused_quickly() {
    let words: Vec<String> = (0..5_000).map(|i| format!("word{i}")).collect();
    let started = Instant::now();
    match seeds().search(&SearchRequest::new(words.join(" OR "))) {
        Err(Error::Query(m)) => assert!(m.contains("more than 1024"), "{m}"),
        other => panic!("{:?}", other.map(|r| r.total_hits)),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // Through the command line too, with the column of the first word past
    // the limit.
    let out = run(&["search", &words.join(" OR ")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("column"), "{}", stderr(&out));
}

#[test]
fn a_deadline_in_the_past_stops_the_search() {
    let past = Instant::now() - Duration::from_millis(1);
    for q in ["Azerbaijan", "", "th*", "Khanin~1", "\"oil needs\""] {
        let mut r = SearchRequest::new(q);
        r.deadline = Some(past);
        match seeds().search(&r) {
            Err(e @ Error::Timeout { .. }) => {
                assert!(e.to_string().starts_with("the search was stopped after"))
            }
            other => panic!("{q:?}: {:?}", other.map(|r| r.total_hits)),
        }
        // A deadline far away changes nothing.
        r.deadline = Some(Instant::now() + Duration::from_secs(600));
        let mut plain = seeds().search(&SearchRequest::new(q)).unwrap();
        let mut timed = seeds().search(&r).unwrap();
        plain.took_us = 0;
        timed.took_us = 0;
        assert_eq!(plain, timed);
    }
    let unit = some_unit();
    assert!(matches!(
        similar_until(seeds(), &unit, 10, Some(past)),
        Err(Error::Timeout { .. })
    ));
    assert!(similar_until(seeds(), &unit, 10, None).is_ok());
}

/// A project of the seeds plus a document with 10,000 authors and one of
/// 5,000 made-up words `zqaaaa` … `zqejjj` (50 paragraphs of 100).
fn crowded() -> &'static (tempfile::TempDir, PathBuf) {
    static P: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    P.get_or_init(|| {
        let project = project_copy();
        let authors: Vec<String> = (0..10_000)
            .map(|i| format!("\"Signer-{i:05}\""))
            .collect();
        add_document(
            project.path(),
            "many-authors.txt",
            "A zzpetition signed by ten thousand people about Baku.\n\nIts second paragraph, about Baku again.\n",
            &format!(
                "id = \"many-authors\"\nfile = \"../seeds/many-authors.txt\"\ntitle = \"Signed\"\nauthors = [{}]\noutlet = \"Petition\"\nstance = \"neutral\"\ngenre = \"opinion\"\n",
                authors.join(", ")
            ),
        );
        let paragraphs: Vec<String> = (0..50)
            .map(|p| {
                (0..100)
                    .map(|w| format!("zq{}", spelled(p * 100 + w, 4)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        add_document(
            project.path(),
            "made-up-words.txt",
            &paragraphs.join("\n\n"),
            "id = \"made-up-words\"\nfile = \"../seeds/made-up-words.txt\"\ntitle = \"Words\"\noutlet = \"Lexicon\"\nstance = \"neutral\"\ngenre = \"opinion\"\n",
        );
        let index = project.path().join("index");
        build_index(&config_of(project.path()), &index);
        (project, index)
    })
}

fn config_of(project: &Path) -> PathBuf {
    project.join("index-config/nutgraf.toml")
}

fn crowded_run(args: &[&str]) -> std::process::Output {
    let (project, index) = crowded();
    nutgraf(&config_of(project.path()), index)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_author_of_a_long_list_is_counted() {
    let (project, index) = crowded();
    let v = json_on(&config_of(project.path()), index, &["facets", "--json"]);
    let authors = v["facets"]["author"].as_object().unwrap();
    let listed = authors.keys().filter(|k| k.starts_with("Signer-")).count();
    assert_eq!(listed, 10_000);
    assert_eq!(authors["Signer-09999"], 2, "both paragraphs count");
    assert_eq!(authors["Signer-00000"], 2);
    // The last author filters as well as the first.
    let last = json_on(
        &config_of(project.path()),
        index,
        &["search", "Baku", "--author", "Signer-09999", "--json"],
    );
    assert_eq!(last["total_hits"], 2, "{last}");
}

#[test]
fn text_shows_as_many_facet_values_as_asked() {
    let out = crowded_run(&["search", "zzpetition", "--facet-limit", "20"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let authors = author_facet(&text);
    assert_eq!(authors.matches("Signer-").count(), 20, "{authors}");
    assert!(authors.contains("+9980 more"), "{authors}");
    // Without the flag text shows a few, and 0 shows them all.
    let few = stdout(&crowded_run(&["search", "zzpetition"]));
    assert_eq!(author_facet(&few).matches("Signer-").count(), 6, "{few}");
    let all = stdout(&crowded_run(&[
        "search",
        "zzpetition",
        "--facet-limit",
        "0",
    ]));
    let all = author_facet(&all);
    assert_eq!(all.matches("Signer-").count(), 10_000);
    assert!(!all.contains("more"));
}

/// A number's digits as letters (0 is `a`, 9 is `j`), zero-padded to
/// `width`: made-up words of letters only, since a word splits where a
/// letter meets a digit.
fn spelled(n: usize, width: usize) -> String {
    format!("{n:0width$}")
        .chars()
        .map(|c| char::from(b'a' + c.to_digit(10).expect("a digit") as u8))
        .collect()
}

/// The author lines of the facet counts under a search's text output.
fn author_facet(text: &str) -> &str {
    let start = text.find("\nauthor:").expect("an author line");
    let end = text[start..]
        .find("\noutlet:")
        .map_or(text.len(), |e| start + e);
    &text[start..end]
}

#[test]
fn too_broad_patterns_are_refused_saying_which() {
    let out = crowded_run(&["search", "Baku zq*"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("`zq*` is too broad"), "{e}");
    assert!(e.contains("add letters before the `*`"), "{e}");
    assert!(e.contains("column 6"), "{e}");
    // A narrower one answers (100 words, all kept up to the expansion cap).
    let out = crowded_run(&["search", "zqaa*", "--json", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Fifty narrower ones together look up too many words.
    let many: Vec<String> = (0..50).map(|i| format!("zq{}*", spelled(i, 2))).collect();
    let out = crowded_run(&["search", &many.join(" OR ")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("more than 4096"), "{}", stderr(&out));
}
