//! What a hit is and how hits rank, on the seeds: a word must be in the
//! paragraph (not only in its article's title), pages that full matches do
//! not fill go on with marked partial matches, matches in kinds not
//! searched by default are counted and offered, and `--explain` takes a
//! score apart.

mod common;

use common::*;
use serde_json::Value;

/// `search QUERY --json --limit N` plus flags.
fn found(query: &str, limit: usize, extra: &[&str]) -> Value {
    let limit = limit.to_string();
    let mut args = vec!["search", query, "--json", "--limit", &limit];
    args.extend_from_slice(extra);
    json(&args)
}

#[test]
fn a_title_alone_does_not_make_a_hit() {
    // Five articles about Azerbaijan: their titles name it, most of their
    // paragraphs do not.
    let v = found("Azerbaijan", 1000, &[]);
    let all = page(&v);
    assert!(!all.is_empty());
    for h in all {
        let text = field(h, "text").to_lowercase();
        assert!(text.contains("azerbaijan"), "a hit without the word: {h}");
    }
    assert_eq!(v["total_hits"].as_u64(), Some(all.len() as u64));
    let every = json(&["search", "", "--json", "--limit", "0"])["total_hits"]
        .as_u64()
        .unwrap();
    assert!((all.len() as u64) < every, "every paragraph is a hit");
    // The byline under a critical article is not an Azerbaijan hit.
    let critical = found("Azerbaijan", 100, &["--stance", "critical"]);
    for h in page(&critical) {
        assert!(!field(h, "text").contains("Follow him on X"), "{h}");
    }
    // A title word still completes a match of several words and scopes
    // still search titles.
    let titled = found("title:Azerbaijan", 0, &[]);
    assert!(titled["total_hits"].as_u64().unwrap() > all.len() as u64);
}

#[test]
fn a_page_goes_on_with_partial_matches_after_the_full_ones() {
    let v = found("normalizing relations Saudi", 10, &[]);
    assert_eq!(v["relaxed"], false);
    assert_eq!(v["full_matches"], v["total_hits"]);
    let full = v["full_matches"].as_u64().unwrap() as usize;
    assert!(full >= 1);
    let all = page(&v);
    assert_eq!(all.len(), 10, "the page is filled");
    for (i, h) in all.iter().enumerate() {
        if i < full {
            assert!(h.get("matched_words").is_none(), "{h}");
        } else {
            let held = h["matched_words"].as_u64().unwrap();
            assert_eq!(h["query_words"], 3);
            assert!((1..3).contains(&held), "{h}");
        }
    }
    // More words held first.
    let held: Vec<u64> = all[full..]
        .iter()
        .map(|h| h["matched_words"].as_u64().unwrap())
        .collect();
    assert!(held.windows(2).all(|w| w[0] >= w[1]), "{held:?}");
    // The JNS paragraph on Saudi Arabia "moving toward normalization" is on
    // the page though it lacks "relations".
    assert!(
        all.iter()
            .any(|h| field(h, "id") == "jns-azerbaijan-kazakhstan-normalization#7"),
        "{:?}",
        all.iter().map(|h| field(h, "id")).collect::<Vec<_>>()
    );
    // Facets count the full matches only.
    let outlets: u64 = v["facets"]["outlet"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(outlets, full as u64);
    let text = String::from_utf8_lossy(&run(&["search", "normalizing relations Saudi"]).stdout)
        .to_string();
    assert!(text.contains("these hold most of them"), "{text}");
    assert!(text.contains("2 of 3 words"), "{text}");
    // A required word stays required in partial matches.
    let required = found("normalizing relations +Saudi", 10, &[]);
    for h in page(&required) {
        assert!(field(h, "text").to_lowercase().contains("saudi"), "{h}");
    }
}

#[test]
fn matches_in_kinds_not_searched_are_counted_and_offered() {
    let v = search("Wikimedia", &[]);
    assert_eq!(v["total_hits"], 0);
    assert_eq!(v["excluded_by_kind"]["caption"], 1);
    let text = String::from_utf8_lossy(&run(&["search", "Wikimedia"]).stdout).to_string();
    assert!(
        text.contains("1 more in captions, not searched by default: --kind caption"),
        "{text}"
    );
    let asked = search("Wikimedia", &["--kind", "caption"]);
    assert_eq!(asked["total_hits"], 1);
    assert!(asked.get("excluded_by_kind").is_none(), "{asked}");
    // A prose paragraph that says "Big picture:" is not a caption: no
    // kind hides ordinary prose (the rules' own tests cover more).
    let none = search("Section 907", &[]);
    assert!(none.get("excluded_by_kind").is_none(), "{none}");
}

#[test]
fn explain_takes_each_score_apart() {
    let v = found("Section 907", 3, &["--explain"]);
    let hits = page(&v);
    assert!(!hits.is_empty());
    for h in hits {
        let e = &h["explain"];
        let score = h["score"].as_f64().unwrap();
        let words = e["words"].as_array().unwrap();
        assert_eq!(words.len(), 2, "{e}");
        assert_eq!(words[0]["word"], "Section");
        assert_eq!(words[1]["word"], "907");
        let parts: f64 = words
            .iter()
            .map(|w| w["text"].as_f64().unwrap() + w["title"].as_f64().unwrap())
            .sum::<f64>()
            + e["closeness"].as_f64().unwrap();
        assert!(
            (parts - score).abs() < 0.01 * score.max(1.0),
            "parts {parts} against score {score}: {e}"
        );
        assert!(words.iter().all(|w| w["matched"] == true), "{e}");
    }
    // "Section 907" stands as one run in the first hit: closeness counts.
    assert!(hits[0]["explain"]["closeness"].as_f64().unwrap() > 0.0);
    let text =
        String::from_utf8_lossy(&run(&["search", "Section 907", "--explain"]).stdout).to_string();
    assert!(text.contains("closeness"), "{text}");
    assert!(text.contains("paragraph"), "{text}");
    // Without the flag, no explanation.
    assert!(page(&search("Section 907", &[]))[0]
        .get("explain")
        .is_none());
}

#[test]
fn a_short_page_ranks_as_the_top_of_a_long_one() {
    // Closeness is checked only at units that could reach the page: the
    // first hits of a page of 3 (closeness skipped at most units) must be
    // those of a page of 200 (skipped at few), with the same scores.
    for query in [
        "Saudi Arabia normalization with Israel",
        "oil and gas from Azerbaijan to Israel",
        "the Abraham Accords",
        "Israel Azerbaijan relations",
    ] {
        let short = found(query, 3, &[]);
        let long = found(query, 200, &[]);
        let ids = |v: &Value, n: usize| -> Vec<(String, String)> {
            page(v)
                .iter()
                .take(n)
                .map(|h| (field(h, "id").to_string(), h["score"].to_string()))
                .collect()
        };
        assert_eq!(page(&short).len(), 3, "{query}");
        assert_eq!(ids(&short, 3), ids(&long, 3), "{query}");
        // The next page starts where the short one ends.
        let next = found(query, 3, &["--offset", "3"]);
        assert_eq!(ids(&next, 3), ids(&long, 6)[3..].to_vec(), "{query}");
    }
}
