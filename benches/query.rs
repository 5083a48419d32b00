//! Query latency with criterion: each query of the shipped query files run
//! exactly as `nutgraf search` runs it (top 10 with snippets, every facet
//! count); and the two parts of it after the collector, for the same
//! queries: reading a page of ten hits (store reads, document records,
//! snippets; `page/`) and marking their snippets alone (`snippets/`).
//!
//! By default on the five seed articles, indexed into a scratch folder,
//! so the benchmark runs anywhere. With `NUTGRAF_BENCH_INDEX=DIR` pointing
//! at a built index (e.g. of the AllSides corpus, see README), it runs the
//! news query files (term, multi-term, phrase, filtered, broad) there.
//!
//!     cargo bench --bench query
//!     NUTGRAF_BENCH_INDEX=/tmp/allsides cargo bench --bench query

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use nutgraf::index::{update, IndexOptions, Silent};
use nutgraf::search::query_file::{read_queries, QueryLine};
use nutgraf::text::snippet::Highlighter;
use nutgraf::{Config, Searcher};
use tantivy::collector::TopDocs;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(names: &[&str]) -> Vec<(String, Vec<QueryLine>)> {
    names
        .iter()
        .map(|n| {
            let path = root().join("benches/queries").join(format!("{n}.txt"));
            (n.to_string(), read_queries(&path).expect("query file"))
        })
        .collect()
}

fn queries(c: &mut Criterion) {
    let scratch = tempfile::tempdir().unwrap();
    let (dir, sets) = match std::env::var_os("NUTGRAF_BENCH_INDEX") {
        Some(dir) => (
            PathBuf::from(dir),
            files(&["term", "multi_term", "phrase", "filtered", "broad"]),
        ),
        None => {
            let config = Config::load(&root().join("index-config/nutgraf.toml")).unwrap();
            update(&config, scratch.path(), &IndexOptions::default(), &Silent).unwrap();
            (scratch.path().to_path_buf(), files(&["seeds"]))
        }
    };
    let searcher = open(&dir);
    for (name, list) in &sets {
        let mut group = c.benchmark_group(format!("search/{name}"));
        for q in list {
            let label = format!("{}{}", q.request.query, filters_label(q));
            group.bench_function(label, |b| {
                b.iter(|| searcher.search(&q.request).unwrap().total_hits)
            });
        }
        group.finish();
    }
    let tantivy = searcher.tantivy_searcher();
    for (name, list) in &sets {
        let mut reads = c.benchmark_group(format!("page/{name}"));
        let mut pages = Vec::new();
        for q in list {
            let text = &q.request.query;
            let node = Searcher::parse(text).unwrap();
            let compiled = searcher
                .compile(&tantivy, text, node.as_ref(), true)
                .unwrap();
            let top = tantivy
                .search(&*compiled.query, &TopDocs::with_limit(10).order_by_score())
                .unwrap();
            let highlighter = Highlighter::new(compiled.highlight);
            let label = format!("{text}{}", filters_label(q));
            reads.bench_function(&label, |b| {
                b.iter(|| searcher.hits(&tantivy, &top, &highlighter).unwrap().len())
            });
            let texts: Vec<String> = searcher
                .hits(&tantivy, &top, &highlighter)
                .unwrap()
                .into_iter()
                .map(|h| h.unit.text)
                .collect();
            pages.push((label, highlighter, texts));
        }
        reads.finish();
        let mut marks = c.benchmark_group(format!("snippets/{name}"));
        for (label, highlighter, texts) in &pages {
            marks.bench_function(label, |b| {
                b.iter(|| {
                    texts
                        .iter()
                        .map(|t| highlighter.snippet(t).text.len())
                        .sum::<usize>()
                })
            });
        }
        marks.finish();
    }
}

fn open(dir: &Path) -> Searcher {
    Searcher::open(dir, false).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn filters_label(q: &QueryLine) -> String {
    let f = &q.request.filters;
    let mut parts = Vec::new();
    for (k, v) in [
        ("author", &f.author),
        ("outlet", &f.outlet),
        ("stance", &f.stance),
    ] {
        for x in v {
            parts.push(format!("{k}={x}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" [{}]", parts.join(" "))
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = queries
}
criterion_main!(benches);
