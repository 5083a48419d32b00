//! Indexing throughput with criterion: the five seed articles from
//! scratch into a fresh index (split, analyse, write, commit), measured in
//! bytes of article text per second, so the benchmark runs anywhere; with
//! `NUTGRAF_ALLSIDES=PATH` (the AllSides `articles.jsonl.gz`), also its
//! first 2,000 articles through `index-config/allsides.toml`. The whole
//! corpus is timed by `nutgraf index` itself (see README). The `analysis`
//! group times the running-text analyzer alone on the seeds' text, and
//! word boundaries by the fast path against Unicode's tables.
//!
//!     cargo bench --bench indexing
//!     NUTGRAF_ALLSIDES=../shared/data/allsides/articles.jsonl.gz cargo bench --bench indexing

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nutgraf::index::{update, IndexOptions, Silent};
use nutgraf::text::analysis;
use nutgraf::text::words::{words, words_by_tables};
use nutgraf::Config;

/// The running-text analyzer (words, folding, stems) and word boundaries
/// alone, on the seeds' paragraphs: what an import does to every unit.
/// The project's folder and the seeds' configuration.
fn seeds() -> (PathBuf, Config) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("index-config/nutgraf.toml")).unwrap();
    (root, config)
}

fn analysing(c: &mut Criterion) {
    let (_, config) = seeds();
    let text: String = config
        .documents
        .iter()
        .filter_map(|d| std::fs::read_to_string(&d.file).ok())
        .collect::<Vec<_>>()
        .join("\n");
    // Paragraphs (lines) as units hold them: 128 of 142 (88 % of the
    // bytes) are ASCII with curly quotes and dashes, the fast path's.
    let paragraphs: Vec<&str> = text.lines().filter(|p| !p.trim().is_empty()).collect();
    let mut group = c.benchmark_group("analysis");
    group.throughput(Throughput::Bytes(text.len() as u64));
    let mut analyzer = analysis::text_analyzer();
    group.bench_function("seeds: words, folding, stems", |b| {
        b.iter(|| {
            paragraphs
                .iter()
                .map(|p| analysis::terms(&mut analyzer, p).len())
                .sum::<usize>()
        })
    });
    group.bench_function("seeds: word boundaries", |b| {
        b.iter(|| paragraphs.iter().map(|p| words(p).count()).sum::<usize>())
    });
    group.bench_function("seeds: word boundaries by Unicode's tables", |b| {
        b.iter(|| {
            paragraphs
                .iter()
                .map(|p| words_by_tables(p).count())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn indexing(c: &mut Criterion) {
    let (root, config) = seeds();
    let bytes: u64 = config
        .documents
        .iter()
        .map(|d| std::fs::metadata(&d.file).map_or(0, |m| m.len()))
        .sum();
    let mut group = c.benchmark_group("index");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(20);
    group.bench_function("seeds from scratch", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let report =
                    update(&config, dir.path(), &IndexOptions::default(), &Silent).unwrap();
                assert!(report.units_added > 100);
                dir
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();

    if let Some(data) = std::env::var_os("NUTGRAF_ALLSIDES") {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("allsides.toml");
        let text = std::fs::read_to_string(root.join("index-config/allsides.toml"))
            .unwrap()
            .replace(
                "authors_separator = \",\"",
                "authors_separator = \",\"\nlimit = 2000",
            );
        std::fs::write(&config_path, text).unwrap();
        let config = Config::load(&config_path).unwrap();
        let opts = IndexOptions {
            input: Some(PathBuf::from(data)),
            ..IndexOptions::default()
        };
        let mut group = c.benchmark_group("index");
        group.throughput(Throughput::Elements(2000));
        group.sample_size(10);
        group.bench_function("allsides 2,000 articles", |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |idx| {
                    let report = update(&config, idx.path(), &opts, &Silent).unwrap();
                    assert!(report.documents_added > 1900);
                    idx
                },
                criterion::BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, indexing, analysing);
criterion_main!(benches);
