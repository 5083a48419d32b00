//! Query-latency benchmarks (`nutgraf bench`): each query of a file run
//! exactly as `search` runs it (top 10 with snippets, every facet count),
//! timed one by one, summarised as percentiles and queries per second.
//!
//! A query file has one query per line in the search syntax, optionally
//! followed by tab-separated filters (`outlet=Fox News`, `stance=left`,
//! `author=…`, `genre=…`, `kind=…`, `since=2016`, `until=2018`). Blank lines
//! and lines starting with `#` are skipped.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::render::visible;
use crate::search::{Filters, SearchRequest, Searcher};

/// One query of a benchmark file.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchQuery {
    pub request: SearchRequest,
    /// Where it came from (`file:line`), for error messages.
    pub source: String,
}

/// Reads a query file.
pub fn read_queries(path: &Path) -> Result<Vec<BenchQuery>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        context: format!("{}: cannot read the query file", path.display()),
        source: e,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let source = format!("{}:{}", path.display(), i + 1);
        out.extend(parse_query_line(line, source)?);
    }
    Ok(out)
}

/// One line of a query file: None for a blank line or a `#` comment. The
/// query, then tab-separated filters. `source` (`file:line`) names the
/// line in errors and in the query.
pub fn parse_query_line(line: &str, source: String) -> Result<Option<BenchQuery>> {
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return Ok(None);
    }
    query_from_fields(line.split('\t'), source).map(Some)
}

/// A query from its fields: the query itself, then filters written
/// `key=value` (blank fields are skipped). The fields of a line of a
/// query file, split at tabs, or of a CSV record.
pub fn query_from_fields<'a>(
    fields: impl IntoIterator<Item = &'a str>,
    source: String,
) -> Result<BenchQuery> {
    let mut parts = fields.into_iter();
    let mut request = SearchRequest::new(parts.next().unwrap_or_default().trim());
    for filter in parts.filter(|p| !p.trim().is_empty()) {
        let (key, value) = filter.split_once('=').ok_or_else(|| {
            Error::Input(format!(
                "{source}: filter {filter:?} should look like key=value (outlet=Fox News)"
            ))
        })?;
        if !request.filters.set(key.trim(), value.trim().to_string()) {
            return Err(Error::Input(format!(
                "{source}: unknown filter {:?}; use {}",
                key.trim(),
                Filters::KEYS.join(", ")
            )));
        }
    }
    Ok(BenchQuery { request, source })
}

/// How a benchmark runs.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Timed runs of every query.
    pub runs: usize,
    /// Untimed runs first (warm caches, as a long-running server has).
    pub warmup: usize,
    /// Threads issuing queries at once.
    pub threads: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            runs: 10,
            warmup: 2,
            threads: 1,
        }
    }
}

/// One query's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryFigures {
    pub query: String,
    #[serde(skip_serializing_if = "Filters::is_empty")]
    pub filters: Filters,
    pub median_us: u64,
    pub total_hits: u64,
}

/// `bench --json` prints this.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    pub engine: String,
    pub queries: usize,
    pub runs: usize,
    pub threads: usize,
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    pub qps: f64,
    pub per_query: Vec<QueryFigures>,
}

/// A search engine a benchmark can time: it answers one query and says
/// how many units matched.
pub trait Engine: Sync {
    fn name(&self) -> String;
    fn answer(&self, query: &BenchQuery) -> Result<u64>;
}

impl Engine for Searcher {
    fn name(&self) -> String {
        "nutgraf".into()
    }

    fn answer(&self, query: &BenchQuery) -> Result<u64> {
        let response = self
            .search(&query.request)
            .map_err(|e| Error::Input(format!("{}: {e}", query.source)))?;
        Ok(response.total_hits)
    }
}

/// The value at a percentile of sorted samples (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// Times every query `runs` times after `warmup` untimed runs.
pub fn run(engine: &dyn Engine, queries: &[BenchQuery], opts: BenchOptions) -> Result<BenchReport> {
    let mut hits = vec![0u64; queries.len()];
    for _ in 0..opts.warmup {
        for (i, q) in queries.iter().enumerate() {
            hits[i] = engine.answer(q)?;
        }
    }
    // Work items: (query, run); threads take the next one until done.
    let total = queries.len() * opts.runs;
    let next = AtomicUsize::new(0);
    let samples: Mutex<Vec<Vec<Duration>>> = Mutex::new(vec![Vec::new(); queries.len()]);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..opts.threads.max(1) {
            scope.spawn(|| {
                let mut mine: Vec<(usize, Duration)> = Vec::new();
                loop {
                    let item = next.fetch_add(1, Ordering::Relaxed);
                    if item >= total {
                        break;
                    }
                    let qi = item % queries.len();
                    let t = Instant::now();
                    match engine.answer(&queries[qi]) {
                        Ok(_) => mine.push((qi, t.elapsed())),
                        Err(e) => {
                            *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            next.store(total, Ordering::Relaxed);
                            break;
                        }
                    }
                }
                let mut all = samples.lock().unwrap_or_else(|p| p.into_inner());
                for (qi, d) in mine {
                    all[qi].push(d);
                }
            });
        }
    });
    let wall = started.elapsed();
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let samples = samples.into_inner().unwrap_or_else(|p| p.into_inner());
    if opts.warmup == 0 {
        for (i, q) in queries.iter().enumerate() {
            hits[i] = engine.answer(q)?;
        }
    }
    let mut all: Vec<Duration> = samples.iter().flatten().copied().collect();
    all.sort_unstable();
    let per_query = queries
        .iter()
        .zip(&samples)
        .zip(&hits)
        .map(|((q, s), &total_hits)| {
            let mut s = s.clone();
            s.sort_unstable();
            QueryFigures {
                query: q.request.query.clone(),
                filters: q.request.filters.clone(),
                median_us: micros(percentile(&s, 50.0)),
                total_hits,
            }
        })
        .collect();
    Ok(BenchReport {
        engine: engine.name(),
        queries: queries.len(),
        runs: opts.runs,
        threads: opts.threads.max(1),
        p50_us: micros(percentile(&all, 50.0)),
        p95_us: micros(percentile(&all, 95.0)),
        p99_us: micros(percentile(&all, 99.0)),
        max_us: micros(all.last().copied().unwrap_or_default()),
        qps: if wall.is_zero() {
            0.0
        } else {
            all.len() as f64 / wall.as_secs_f64()
        },
        per_query,
    })
}

/// A benchmark report as terminal text: the summary, then the slowest
/// queries.
pub fn report_text(r: &BenchReport) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} queries × {} runs on {} thread(s)",
        r.engine, r.queries, r.runs, r.threads
    );
    let _ = writeln!(
        out,
        "  p50 {:.3} ms   p95 {:.3} ms   p99 {:.3} ms   max {:.3} ms   {:.0} queries/s",
        ms(r.p50_us),
        ms(r.p95_us),
        ms(r.p99_us),
        ms(r.max_us),
        r.qps
    );
    let mut slowest: Vec<_> = r.per_query.iter().collect();
    slowest.sort_by_key(|q| std::cmp::Reverse(q.median_us));
    let _ = writeln!(out, "  slowest (median):");
    for q in slowest.iter().take(5) {
        let _ = writeln!(
            out,
            "    {:>9.3} ms  {:>8} hits  {}",
            ms(q.median_us),
            q.total_hits,
            visible(&q.query)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&s, 50.0), Duration::from_micros(50));
        assert_eq!(percentile(&s, 99.0), Duration::from_micros(99));
        assert_eq!(percentile(&s, 100.0), Duration::from_micros(100));
        assert_eq!(percentile(&s[..1], 99.0), Duration::from_micros(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn query_files_take_filters_after_tabs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.txt");
        std::fs::write(
            &path,
            "# comment\n\nSection 907\n\"oil needs\"\toutlet=Fox News\tstance=left\n",
        )
        .unwrap();
        let q = read_queries(&path).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[1].request.query, "\"oil needs\"");
        assert_eq!(q[1].request.filters.outlet, ["Fox News"]);
        assert_eq!(q[1].request.filters.stance, ["left"]);
        assert!(q[1].source.ends_with(":4"));
        std::fs::write(&path, "x\tcolour=red\n").unwrap();
        let e = read_queries(&path).unwrap_err().to_string();
        assert!(e.contains(":1") && e.contains("colour"), "{e}");
    }
}
