//! The query language, names, suggestions and `similar`, on the real seeds
//! through the real binary (and, for the no-panic property, the library).

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

fn ids(v: &Value) -> BTreeSet<String> {
    hits(v).iter().map(|h| field(h, "id").to_string()).collect()
}

fn outlets(v: &Value) -> BTreeSet<String> {
    hits(v)
        .iter()
        .map(|h| field(h, "outlet").to_string())
        .collect()
}

/// The marked words of every hit's snippet, lower-cased.
fn marked(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for h in hits(v) {
        let text = h["snippet"]["text"].as_str().unwrap();
        for r in h["snippet"]["highlights"].as_array().unwrap() {
            let (a, b) = (
                r[0].as_u64().unwrap() as usize,
                r[1].as_u64().unwrap() as usize,
            );
            out.push(text[a..b].to_lowercase());
        }
    }
    out
}

fn texts(v: &Value) -> Vec<String> {
    hits(v)
        .iter()
        .map(|h| field(h, "text").to_lowercase())
        .collect()
}

#[test]
fn phrases_need_their_words_in_order_unless_slop_allows() {
    let v = search("\"Aviv's oil needs\"", &[]);
    assert_eq!(ids(&v).len(), 1);
    assert!(texts(&v)[0].contains("60% of tel aviv’s oil needs"));
    // CBN: "supplies about 60% of oil" (three words between);
    // The New Arab: "supplies over 60% of Tel Aviv’s oil" (five).
    assert_eq!(hits(&search("\"supplies oil\"", &[])).len(), 0);
    assert_eq!(hits(&search("\"supplies oil\"~2", &[])).len(), 0);
    let three = search("\"supplies oil\"~3", &[]);
    assert!(outlets(&three).contains("CBN News"), "{three}");
    assert!(!outlets(&three).contains("The New Arab"), "{three}");
    let five = search("\"supplies oil\"~5", &[]);
    assert!(outlets(&five).contains("The New Arab"), "{five}");
}

#[test]
fn or_is_the_union_of_its_sides() {
    let a = ids(&search("Witkoff", &[]));
    let b = ids(&search("Erdogan", &[]));
    let both = ids(&search("Witkoff OR Erdogan", &[]));
    assert!(!a.is_empty() && !b.is_empty());
    assert_eq!(both, a.union(&b).cloned().collect());
}

#[test]
fn exclusion_of_words_and_phrases() {
    let with = search("Azerbaijan", &[]);
    let without = search("Azerbaijan -Iran", &[]);
    assert!(without["total_hits"].as_u64() < with["total_hits"].as_u64());
    assert!(!hits(&without).is_empty());
    for t in texts(&without) {
        assert!(
            !t.split(|c: char| !c.is_alphanumeric()).any(|w| w == "iran"),
            "{t}"
        );
    }
    let no_phrase = search("Azerbaijan -\"Abraham Accords\"", &[]);
    for h in hits(&no_phrase) {
        let t = field(h, "text").to_lowercase();
        assert!(!t.contains("abraham accords"), "{t}");
        assert!(!field(h, "title").contains("Abraham Accords"));
    }
    // NOT is the same as -.
    assert_eq!(ids(&without), ids(&search("Azerbaijan NOT Iran", &[])));
    // Only exclusions: every unit but those.
    let all = search("", &[])["total_hits"].as_u64().unwrap();
    let not_iran = search("-Iran", &[])["total_hits"].as_u64().unwrap();
    assert!(not_iran > 0 && not_iran < all);
}

#[test]
fn parentheses_group() {
    let v = search("(Witkoff OR SOCAR) Baku", &[]);
    assert!(!hits(&v).is_empty());
    for t in texts(&v) {
        assert!(t.contains("witkoff") || t.contains("socar"), "{t}");
    }
    assert!(ids(&v).len() <= ids(&search("Witkoff OR SOCAR", &[])).len());
}

#[test]
fn field_scopes() {
    let v = search("author:grinberg Iran", &[]);
    assert!(!hits(&v).is_empty());
    for h in hits(&v) {
        assert!(h["authors"].to_string().contains("Alex Grinberg"), "{h}");
    }
    let v = search("outlet:\"The New Arab\" Baku", &[]);
    assert_eq!(outlets(&v), BTreeSet::from(["The New Arab".to_string()]));
    // A word of the outlet's name is enough, as with --outlet.
    assert_eq!(outlets(&search("outlet:arab Baku", &[])), outlets(&v));
    let v = search("stance:critical", &[]);
    assert_eq!(outlets(&v), BTreeSet::from(["The New Arab".to_string()]));
    let v = search("title:normalization", &[]);
    assert_eq!(outlets(&v), BTreeSet::from(["JNS".to_string()]));
    // kind: reaches kinds a search leaves out by default.
    let v = search("kind:caption", &[]);
    assert!(!hits(&v).is_empty());
    assert!(hits(&v).iter().all(|h| field(h, "kind") == "caption"));
    let out = run(&["search", "author:nobodyknown Baku"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("column 8") && err.contains("closest"), "{err}");
}

#[test]
fn prefix_expands_and_marks_every_form() {
    let v = search("normali*", &[]);
    let words: BTreeSet<String> = marked(&v).into_iter().collect();
    assert!(words.contains("normalization"), "{words:?}");
    assert!(words.contains("normalize"), "{words:?}");
    assert!(words.iter().all(|w| w.starts_with("normal")), "{words:?}");
    // Without the star the word is only itself.
    let plain = search("normali", &[]);
    assert_eq!(hits(&plain).len(), 0);
    let out = run(&["search", "n*"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("column 1"));
}

/// A prefix holds the word itself, even where its stem does not start
/// with it ("policy" is indexed as "polici").
#[test]
fn a_prefix_holds_the_whole_word() {
    for word in ["policy", "country", "security"] {
        let whole = ids(&search(word, &[]));
        let prefixed = ids(&search(&format!("{word}*"), &[]));
        assert!(!whole.is_empty(), "{word}");
        assert!(
            whole.is_subset(&prefixed),
            "{word}*: {prefixed:?} lacks some of {whole:?}"
        );
    }
}

#[test]
fn fuzzy_is_opt_in() {
    assert_eq!(hits(&search("Khanim", &[])).len(), 0);
    let v = search("Khanim~1", &[]);
    assert!(!hits(&v).is_empty());
    assert!(marked(&v).iter().all(|w| w == "khanin"), "{:?}", marked(&v));
    assert_eq!(ids(&v), ids(&search("Khanin", &[])));
    let out = run(&["search", "Khanin~7"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("column 7") && err.contains("^"), "{err}");
}

#[test]
fn did_you_mean_offers_indexed_words() {
    let v = search("Azerbajan", &[]);
    assert_eq!(v["total_hits"], 0);
    let s: Vec<String> = serde_json::from_value(v["suggestions"].clone()).unwrap();
    assert_eq!(s.first().map(String::as_str), Some("Azerbaijan"), "{s:?}");
    // Lower case stays lower case; the rest of the query is kept.
    let v = search("socar gas exploraton", &[]);
    let s: Vec<String> = serde_json::from_value(v["suggestions"].clone()).unwrap();
    assert_eq!(
        s.first().map(String::as_str),
        Some("socar gas exploration"),
        "{s:?}"
    );
    // Running a suggestion finds something.
    assert!(search(&s[0], &[])["total_hits"].as_u64().unwrap() > 0);
    // Known words get no suggestion.
    assert!(search("Azerbaijan", &[])["suggestions"]
        .as_array()
        .unwrap()
        .is_empty());
    let out = run(&["search", "Azerbajan"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Did you mean: Azerbaijan"), "{text}");
    // The first letter is held fixed (only that letter's words are
    // scanned): a typo there is not corrected.
    let v = search("Ezerbaijan", &[]);
    assert_eq!(v["total_hits"], 0);
    let s: Vec<String> = serde_json::from_value(v["suggestions"].clone()).unwrap();
    assert!(s.iter().all(|w| w.starts_with(['E', 'e'])), "{s:?}");
}

#[test]
fn names_match_across_spellings() {
    for (typed, written) in [("Zeev", "ze’ev"), ("Saar", "sa’ar"), ("Sa'ar", "sa’ar")] {
        let v = search(typed, &[]);
        assert!(
            texts(&v).iter().any(|t| t.contains(written)),
            "{typed} should find {written}"
        );
    }
    // Erdoğan with its breve finds the text's Erdogan.
    assert_eq!(ids(&search("Erdoğan", &[])), ids(&search("Erdogan", &[])));
    assert!(!hits(&search("Erdoğan", &[])).is_empty());
}

#[test]
fn author_aliases_resolve_to_one_canonical_name() {
    let canonical = ids(&search("Azerbaijan", &["--author", "Alex Grinberg"]));
    assert!(!canonical.is_empty());
    for alias in [
        "Alexander Grinberg",
        "Capt. (res.) Alexander Grinberg",
        "alexander GRINBERG",
    ] {
        assert_eq!(
            ids(&search("Azerbaijan", &["--author", alias])),
            canonical,
            "{alias}"
        );
    }
    let khanin = ids(&search(
        "Azerbaijan",
        &["--author", "Zeev (Vladimir) Khanin"],
    ));
    assert!(!khanin.is_empty());
    for alias in ["Ze’ev Khanin", "Zeev Khanin", "ze'ev khanin", "ZEEV KHANIN"] {
        assert_eq!(
            ids(&search("Azerbaijan", &["--author", alias])),
            khanin,
            "{alias}"
        );
    }
}

#[test]
fn aliases_in_the_config_become_the_canonical_name_in_facets() {
    let project = project_copy();
    let seeds = project.path().join("index-config/seeds.toml");
    let text = std::fs::read_to_string(&seeds).unwrap();
    let text = text.replace(
        "authors = [\"Alex Grinberg\", \"Joseph Epstein\"]",
        "authors = [\"Capt. (res.) Alexander Grinberg\", \"Joseph Epstein\"]",
    );
    std::fs::write(&seeds, text).unwrap();
    let config = project.path().join("index-config/nutgraf.toml");
    let index = project.path().join("idx");
    let out = nutgraf(&config, &index)
        .args(["facets", "author", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let authors = v["values"].as_object().unwrap();
    assert!(authors.contains_key("Alex Grinberg"), "{authors:?}");
    assert!(
        !authors.keys().any(|k| k.contains("Alexander")),
        "{authors:?}"
    );
}

#[test]
fn title_matches_weigh_more_with_a_higher_boost() {
    let project = project_copy();
    let config = project.path().join("index-config/nutgraf.toml");
    let score = |boost: &str| {
        let text = std::fs::read_to_string(root().join("index-config/nutgraf.toml")).unwrap();
        std::fs::write(&config, text.replace("title_boost = 2.0", boost)).unwrap();
        let index = project.path().join(format!("idx-{}", boost.len()));
        let out = nutgraf(&config, &index)
            .args(["search", "Kazakhstan", "--json", "--limit", "100"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let hit = hits(&v)
            .iter()
            .find(|h| field(h, "outlet") == "JNS" && field(h, "text").contains("Kazakhstan"))
            .cloned()
            .expect("a JNS unit with Kazakhstan in title and text");
        hit["score"].as_f64().unwrap()
    };
    let low = score("title_boost = 1.0");
    let high = score("title_boost = 10.0");
    assert!(
        high > low * 1.5,
        "boost 10 gives {high}, boost 1 gives {low}"
    );
}

#[test]
fn similar_traces_the_oil_claim_and_the_witkoff_visit() {
    let oil = search("\"60%\" oil", &["--outlet", "The New Arab"]);
    let oil_id = field(hits(&oil)[0], "id").to_string();
    let v = json(&["similar", &oil_id, "--json", "--limit", "3"]);
    let first = hits(&v)[0];
    assert_eq!(field(first, "outlet"), "CBN News", "{v}");
    assert!(field(first, "text").contains("about 60% of oil resources"));
    // No unit of the same document.
    assert!(hits(&v)
        .iter()
        .all(|h| field(h, "doc_id") != oil_id.split('#').next().unwrap()));
    // The shared words are marked.
    let m = marked(&serde_json::json!({ "hits": [first] }));
    assert!(
        m.contains(&"60".to_string()) && m.contains(&"oil".to_string()),
        "{m:?}"
    );

    for (from, to) in [("The New Arab", "Newsweek"), ("Newsweek", "The New Arab")] {
        let w = search("Witkoff Baku", &["--outlet", from]);
        let id = field(hits(&w)[0], "id").to_string();
        let v = json(&["similar", &id, "--json", "--limit", "3"]);
        let first = hits(&v)[0];
        assert_eq!(field(first, "outlet"), to, "{v}");
        assert!(field(first, "text").contains("Witkoff"));
        assert!(v["words"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "witkoff"));
    }
    let out = run(&["similar", "no-such-doc#1"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `similar` looks for the claim's words (names, numbers, rare words;
/// never function words), asks for a share of them that grows with the
/// paragraph, and says how many each hit shares.
#[test]
fn similar_keeps_to_the_claim_and_says_how_much_each_hit_shares() {
    let v = json(&["similar", "newarab-azerbaijan-abraham-accords#1", "--json"]);
    let words: Vec<&str> = v["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    for function_word in ["no", "well", "since", "their", "has", "is", "a"] {
        assert!(!words.contains(&function_word), "{words:?}");
    }
    // "1990s" is the words 1990 and s; a lone letter is no claim word.
    assert!(
        words.contains(&"1990") && words.contains(&"arms") && !words.contains(&"s"),
        "{words:?}"
    );
    let shown = v["hits"].as_array().unwrap();
    assert!(!shown.is_empty());
    for h in shown {
        let shared = h["shared_words"].as_u64().unwrap();
        assert!(shared >= 3 && shared as usize <= words.len(), "{h}");
    }
    // The oil claim: only the paragraph that repeats it, not a page
    // filled with paragraphs that share a date or a place.
    let v = json(&["similar", "newarab-azerbaijan-abraham-accords#2", "--json"]);
    assert_eq!(v["total_hits"], 1, "{v}");
    assert!(v["hits"][0]["text"]
        .as_str()
        .unwrap()
        .contains("about 60% of oil resources"));
    assert!(v["hits"][0]["shared_words"].as_u64().unwrap() >= 4);
    let out = run(&["similar", "newarab-azerbaijan-abraham-accords#2"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("shares 4 of its words"));
}

mod no_panics {
    use super::common::{default_config, seed_index};
    use nutgraf::search::{SearchRequest, Searcher};
    use nutgraf::Error;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn searcher() -> &'static Searcher {
        static S: OnceLock<Searcher> = OnceLock::new();
        let _ = default_config();
        S.get_or_init(|| Searcher::open(seed_index(), false).unwrap())
    }

    fn check(q: &str) -> Result<(), TestCaseError> {
        match searcher().search(&SearchRequest::new(q)) {
            Ok(r) => prop_assert!(r.hits.len() <= 10),
            Err(Error::Query(m)) | Err(Error::Filter(m)) => prop_assert!(!m.is_empty()),
            Err(e) => prop_assert!(false, "{q:?}: unexpected error {e}"),
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_text_gets_an_answer(q in "\\PC{0,60}") {
            check(&q)?;
        }

        #[test]
        fn adversarial_syntax_gets_an_answer(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "(", ")", "\"", "“", "-", "+", "*", "~", "~1", "~9", ":", " OR ", " AND ",
                    " NOT ", "author:", "outlet:", "stance:", "kind:", "title:", "text:", "Baku",
                    "Khanin", "normali*", "ze’ev", "Erdoğan", " ", "-\"", "\\", "'", "’", "60%",
                ]),
                0..30,
            )
        ) {
            check(&parts.concat())?;
        }
    }
}

#[test]
fn eval_scores_a_tiny_beir_collection_as_computed_by_hand() {
    let beir = root().join("tests/fixtures/beir-tiny");
    let v = json(&["eval", "--beir", beir.to_str().unwrap(), "--json"]);
    // q1 "oil supplies": only d1 matches; d1 and d3 are relevant.
    //   nDCG@10 = 1 / (1 + 1/log2 3) = 0.613147, Recall = 1/2, RR = 1.
    // q2 "drones": d3, relevant: nDCG 1, Recall 1, RR 1.
    // q3 "tea": d4, but d2 is the relevant one: all 0.
    // q4 has only a 0 grade: not judged.
    assert_eq!(v["queries"], 3);
    let close = |k: &str, want: f64| {
        let got = v[k].as_f64().unwrap();
        assert!((got - want).abs() < 1e-4, "{k}: {got} != {want}");
    };
    close("ndcg@10", (0.613_147 + 1.0 + 0.0) / 3.0);
    close("recall@100", (0.5 + 1.0 + 0.0) / 3.0);
    close("mrr@10", 2.0 / 3.0);
    let per: Vec<&str> = v["per_query"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["query_id"].as_str().unwrap())
        .collect();
    assert_eq!(per, ["q1", "q2", "q3"]);
    let out = run(&["eval", "--beir", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("corpus.jsonl"));
}

/// The published baseline is nDCG@10 = 0.679 (flat BM25); nutgraf must
/// reach it, and the 0.700 the ranking is held to.
#[test]
#[ignore = "needs ../shared/data/beir/scifact (README: data sets): run by .ci/run"]
fn eval_on_scifact_reaches_the_bm25_baseline_and_0_700() {
    let scifact = root().join("../shared/data/beir/scifact");
    assert!(
        scifact.join("corpus.jsonl").is_file(),
        "{} is absent: README's \"Data sets\" says where to get it",
        scifact.display()
    );
    let v = json(&["eval", "--beir", scifact.to_str().unwrap(), "--json"]);
    assert_eq!(v["queries"], 300);
    let ndcg = v["ndcg@10"].as_f64().unwrap();
    assert!(ndcg >= 0.679, "nDCG@10 {ndcg} is below the BM25 baseline");
    // README's figure with the train-tuned weights and letters and digits
    // apart (0.708): a change of analysis or ranking that loses it shows
    // here.
    assert!(ndcg >= 0.700, "nDCG@10 {ndcg} is below the 0.700 bar");
    assert!(ndcg >= 0.707, "nDCG@10 {ndcg} is below README's 0.708");
}
