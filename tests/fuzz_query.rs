//! Fuzzing the query language: random queries from a grammar of words,
//! quotes, parentheses, operators, field scopes, patterns, Unicode and
//! very long inputs, run through the library against the seed index.
//! Every case must answer or fail with a clear error, never panic, and
//! finish well within a generous time bound.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::seed_index;
use nutgraf::search::{Filters, SearchRequest, Searcher};
use nutgraf::Error;
use proptest::prelude::*;

/// Far above what any case needs (milliseconds), so only a runaway
/// query (the kind that took seconds or minutes) fails it.
const BOUND: Duration = Duration::from_secs(5);

fn searcher() -> &'static Searcher {
    static S: OnceLock<Searcher> = OnceLock::new();
    S.get_or_init(|| Searcher::open(seed_index(), false).unwrap())
}

/// Runs one search; an answer or a clear error, within the bound.
fn check(request: SearchRequest) -> Result<(), TestCaseError> {
    let mut request = request;
    request.deadline = Some(Instant::now() + BOUND);
    let started = Instant::now();
    let result = searcher().search(&request);
    let took = started.elapsed();
    let q = &request.query;
    prop_assert!(took < BOUND, "{q:?} took {took:?}");
    match result {
        Ok(r) => {
            prop_assert!(r.hits.len() <= request.limit);
            // Full matches come first and are counted; partial matches
            // (marked) only fill the rest of a page.
            let full = r.hits.iter().filter(|h| h.matched_words.is_none()).count();
            prop_assert!(r.total_hits >= full as u64);
            prop_assert!(r.hits[full..].iter().all(|h| h.matched_words.is_some()));
            for h in &r.hits[full..] {
                let (held, of) = (h.matched_words.unwrap(), h.query_words.unwrap_or(0));
                prop_assert!(held <= of, "{q:?}: {held} of {of} words");
            }
            for h in &r.hits {
                for [a, b] in &h.snippet.highlights {
                    prop_assert!(a <= b && *b <= h.snippet.text.len());
                    prop_assert!(h.snippet.text.is_char_boundary(*a));
                    prop_assert!(h.snippet.text.is_char_boundary(*b));
                }
            }
        }
        Err(Error::Query(m)) | Err(Error::Filter(m)) => prop_assert!(!m.trim().is_empty()),
        Err(e) => prop_assert!(false, "{q:?}: unexpected error {e}"),
    }
    Ok(())
}

/// Words: from the seeds, made up, and Unicode of every kind.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            "Baku", "Azerbaijan", "Israel", "oil", "Khanin", "Grinberg", "Erdoğan", "ze’ev",
            "Ze'ev", "60%", "907", "Section", "Witkoff", "normalization", "the", "a", "of",
            "SOCAR", "U.S.", "Nagorno-Karabakh", "Tel-Aviv’s", "critical", "caption",
        ])
        .prop_map(str::to_string),
        2 => "[a-z]{1,12}",
        1 => proptest::sample::select(vec![
            "Ελλάδα", "日本語", "שלום", "مرحبا", "😀", "e\u{301}", "\u{200b}", "\u{feff}",
            "\u{1}", "\u{7f}", "\u{1b}[2J", "ß", "İ", "ﬁ", "\u{fffd}", "Ǆ", "𝔘𝔫𝔦",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{1,8}",
    ]
}

/// A term: a word, maybe with a pattern suffix, a scope or a sign.
fn term() -> impl Strategy<Value = String> {
    let suffix = proptest::sample::select(vec![
        "",
        "",
        "",
        "*",
        "**",
        "~",
        "~0",
        "~1",
        "~2",
        "~3",
        "~99999999999",
        "*~1",
    ]);
    let scope = proptest::sample::select(vec![
        "", "", "", "", "author:", "outlet:", "stance:", "genre:", "kind:", "title:", "text:",
        "TITLE:", "nope:", ":",
    ]);
    let sign = proptest::sample::select(vec!["", "", "", "-", "+", "NOT ", "- ", "--"]);
    (sign, scope, word(), suffix)
        .prop_map(|(sign, scope, w, suffix)| format!("{sign}{scope}{w}{suffix}"))
}

/// A phrase, quoted straight or curly, maybe unclosed, maybe with slop.
fn phrase() -> impl Strategy<Value = String> {
    let open = proptest::sample::select(vec!["\"", "“", "„"]);
    let close = proptest::sample::select(vec!["\"", "”", ""]);
    let slop = proptest::sample::select(vec!["", "", "~1", "~5", "~100", "~1000000", "~"]);
    (open, proptest::collection::vec(word(), 0..6), close, slop)
        .prop_map(|(o, ws, c, s)| format!("{o}{}{c}{s}", ws.join(" ")))
}

/// A whole query from the grammar, nested up to a few levels.
fn query() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![3 => term(), 1 => phrase()];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let joiner = proptest::sample::select(vec![
            " ", " ", " OR ", " AND ", " || ", " && ", " NOT ", "", " OR OR ", "\t",
        ]);
        prop_oneof![
            (proptest::collection::vec(inner.clone(), 1..6), joiner)
                .prop_map(|(parts, j)| parts.join(j)),
            inner.clone().prop_map(|q| format!("({q})")),
            inner.clone().prop_map(|q| format!("(({q}")),
            inner.clone().prop_map(|q| format!("{q}))")),
            inner.prop_map(|q| format!("-({q})")),
        ]
    })
}

/// Random filters now and then (most searches have none).
fn filters() -> impl Strategy<Value = Filters> {
    let some = |v: Vec<&'static str>| {
        proptest::collection::vec(proptest::sample::select(v).prop_map(str::to_string), 0..2)
    };
    (
        some(vec!["Khanin", "grinberg", "nobody at all", "Ze’ev"]),
        some(vec!["JNS", "The New Arab", "nowhere"]),
        some(vec!["critical", "supportive", "sideways"]),
        some(vec!["caption", "body", "poem"]),
        proptest::option::of(proptest::sample::select(vec![
            "2025", "2025-03", "tomorrow",
        ])),
    )
        .prop_map(|(author, outlet, stance, kind, since)| Filters {
            author,
            outlet,
            stance,
            kind,
            since: since.map(str::to_string),
            ..Filters::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn grammar_queries_answer_or_explain(
        q in query(),
        filters in prop_oneof![4 => Just(Filters::default()), 1 => filters()],
        limit in prop_oneof![4 => Just(10usize), 1 => 0usize..200],
        offset in prop_oneof![4 => Just(0usize), 1 => 0usize..50],
    ) {
        let mut r = SearchRequest::new(q);
        r.filters = filters;
        r.limit = limit;
        r.offset = offset;
        check(r)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn any_text_answers_or_explains(q in "\\PC{0,200}") {
        check(SearchRequest::new(q))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    /// Very long inputs: one piece repeated, or many different pieces
    /// (up to tens of thousands of characters; the command line takes
    /// any length).
    #[test]
    fn very_long_queries_stay_bounded(
        piece in query(),
        copies in 1usize..3_000,
        distinct in proptest::collection::vec(term(), 0..1_500),
        joiner in proptest::sample::select(vec![" ", " OR ", " AND ", ""]),
    ) {
        let repeated = vec![piece.as_str(); copies].join(joiner);
        check(SearchRequest::new(repeated))?;
        check(SearchRequest::new(distinct.join(joiner)))?;
        // Deep nesting and long runs of one character.
        let deep = format!("{}{piece}{}", "(".repeat(copies), ")".repeat(copies / 2));
        check(SearchRequest::new(deep))?;
        check(SearchRequest::new("\"".repeat(copies)))?;
        check(SearchRequest::new(format!("a{}", "~".repeat(copies))))?;
    }
}
