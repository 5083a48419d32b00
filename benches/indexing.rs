//! Indexing throughput with criterion: the five seed articles from
//! scratch into a fresh index (split, analyse, write, commit), measured in
//! bytes of article text per second, so the benchmark runs anywhere.
//! The AllSides figures come from `nutgraf index` itself (see README).
//!
//!     cargo bench --bench indexing

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nutgraf::index::{update, IndexOptions, Silent};
use nutgraf::Config;

fn indexing(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("index-config/nutgraf.toml")).unwrap();
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
}

criterion_group!(benches, indexing);
criterion_main!(benches);
