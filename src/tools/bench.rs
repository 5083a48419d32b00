//! Query-latency benchmarks (`nutgraf bench`): each query of a file run
//! exactly as `search` runs it (top 10 with snippets, every facet count),
//! timed one by one, summarised as percentiles and queries per second.
//! The queries come from query files ([`crate::search::query_file`]).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::render::visible;
use crate::search::query_file::QueryLine;
use crate::search::{Filters, Searcher};

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
    fn answer(&self, query: &QueryLine) -> Result<u64>;
}

impl Engine for Searcher {
    fn name(&self) -> String {
        "nutgraf".into()
    }

    fn answer(&self, query: &QueryLine) -> Result<u64> {
        let response = self
            .search(&query.request)
            .map_err(|e| Error::Input(format!("{}: {e}", query.source)))?;
        Ok(response.total_hits)
    }
}

/// Any search service (a cluster's too) as a benchmark engine: queries
/// timed as the front ends ask them.
pub struct Service<'a>(pub &'a dyn crate::search::SearchService);

impl Engine for Service<'_> {
    fn name(&self) -> String {
        format!("nutgraf ({})", self.0.place())
    }

    fn answer(&self, query: &QueryLine) -> Result<u64> {
        let response = self
            .0
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
pub fn run(engine: &dyn Engine, queries: &[QueryLine], opts: BenchOptions) -> Result<BenchReport> {
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

/// The JSON report of a yardstick program of `../shared/peers` (`peer-…
/// query IDX FILE`): what `bench --compare` reads to put the same
/// percentiles side by side.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PeerReport {
    pub engine: String,
    #[serde(default)]
    pub version: String,
    pub queries: usize,
    #[serde(default)]
    pub runs: usize,
    pub latency_us: PeerLatency,
    pub qps: f64,
    #[serde(default)]
    pub index_bytes: u64,
    #[serde(default)]
    pub per_query: Vec<PeerQuery>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PeerLatency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PeerQuery {
    pub query: String,
    #[serde(default)]
    pub filter: Option<String>,
    pub median_us: f64,
    pub hits: u64,
}

impl PeerReport {
    pub fn read(path: &Path) -> Result<PeerReport> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            context: format!("reading the yardstick's report {}", path.display()),
            source: e,
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Input(format!(
                "{}: not a yardstick report ({e}); give the JSON that `peer-tantivy query IDX QUERIES` prints (../shared/peers/README.md)",
                path.display()
            ))
        })
    }
}

/// nutgraf beside a yardstick on the same queries: both sides' figures
/// and nutgraf's time as a multiple of the yardstick's (below 1: faster).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeerComparison {
    pub nutgraf: BenchReport,
    pub peer_engine: String,
    pub peer_version: String,
    pub peer_p50_us: u64,
    pub peer_p95_us: u64,
    pub peer_p99_us: u64,
    pub peer_qps: f64,
    pub ratio_p50: f64,
    pub ratio_p95: f64,
    pub ratio_p99: f64,
    /// Queries both ran (by text and filter) whose hit counts agree:
    /// analysis differs between engines, so some do not.
    pub same_hits: usize,
    pub both_ran: usize,
}

impl PeerComparison {
    pub fn new(ours: BenchReport, peer: &PeerReport) -> Result<PeerComparison> {
        if ours.queries != peer.queries {
            return Err(Error::Input(format!(
                "the yardstick ran {} queries and nutgraf {}: give both the same query files",
                peer.queries, ours.queries
            )));
        }
        let ratio = |a: u64, b: f64| a as f64 / b.max(1.0);
        let key = |q: &str, f: &str| format!("{}\t{}", q.trim(), f.trim());
        let theirs: std::collections::HashMap<String, u64> = peer
            .per_query
            .iter()
            .map(|q| (key(&q.query, q.filter.as_deref().unwrap_or("")), q.hits))
            .collect();
        let mut both_ran = 0;
        let mut same_hits = 0;
        for q in &ours.per_query {
            let filters: Vec<String> = q
                .filters
                .pairs()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if let Some(&hits) = theirs.get(&key(&q.query, &filters.join("\t"))) {
                both_ran += 1;
                same_hits += usize::from(hits == q.total_hits);
            }
        }
        Ok(PeerComparison {
            peer_engine: peer.engine.clone(),
            peer_version: peer.version.clone(),
            peer_p50_us: peer.latency_us.p50.round() as u64,
            peer_p95_us: peer.latency_us.p95.round() as u64,
            peer_p99_us: peer.latency_us.p99.round() as u64,
            peer_qps: peer.qps,
            ratio_p50: ratio(ours.p50_us, peer.latency_us.p50),
            ratio_p95: ratio(ours.p95_us, peer.latency_us.p95),
            ratio_p99: ratio(ours.p99_us, peer.latency_us.p99),
            same_hits,
            both_ran,
            nutgraf: ours,
        })
    }

    /// One table: each side's percentiles and nutgraf's as a multiple.
    pub fn text(&self) -> String {
        let ms = |us: u64| format!("{:.3} ms", us as f64 / 1000.0);
        let r = &self.nutgraf;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} queries × {} runs, one thread; the yardstick: {} {}",
            r.queries, r.runs, self.peer_engine, self.peer_version
        );
        let _ = writeln!(
            out,
            "{:<10} {:>12} {:>12} {:>12}",
            "", "nutgraf", &self.peer_engine, "nutgraf ÷"
        );
        for (name, a, b, x) in [
            ("p50", r.p50_us, self.peer_p50_us, self.ratio_p50),
            ("p95", r.p95_us, self.peer_p95_us, self.ratio_p95),
            ("p99", r.p99_us, self.peer_p99_us, self.ratio_p99),
        ] {
            let _ = writeln!(out, "{name:<10} {:>12} {:>12} {:>11.2}×", ms(a), ms(b), x);
        }
        let _ = writeln!(
            out,
            "{:<10} {:>12.0} {:>12.0} {:>11.2}×",
            "queries/s",
            r.qps,
            self.peer_qps,
            r.qps / self.peer_qps.max(1e-9)
        );
        let _ = writeln!(
            out,
            "hit counts agree on {} of {} queries (analysis and what makes a hit differ: README, Performance)",
            self.same_hits, self.both_ran
        );
        out
    }
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
    fn a_yardstick_report_is_read_and_set_beside_ours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peer.json");
        std::fs::write(
            &path,
            r#"{"engine": "tantivy", "version": "tantivy v0.27.0", "queries": 2, "runs": 3,
                "latency_us": {"p50": 500.0, "p95": 900.0, "p99": 1000.0, "mean": 600.0, "min": 30.0, "max": 1200.0},
                "qps": 1000.0,
                "per_query": [{"query": "oil", "filter": null, "median_us": 400.0, "hits": 7},
                              {"query": "oil", "filter": "stance=left", "median_us": 300.0, "hits": 3}]}"#,
        )
        .unwrap();
        let peer = PeerReport::read(&path).unwrap();
        let mut left = Filters::default();
        left.set("stance", "left".into());
        let figures = |filters: Filters, total_hits| QueryFigures {
            query: "oil".into(),
            filters,
            median_us: 100,
            total_hits,
        };
        let ours = BenchReport {
            engine: "nutgraf".into(),
            queries: 2,
            runs: 3,
            threads: 1,
            p50_us: 400,
            p95_us: 900,
            p99_us: 1500,
            max_us: 2000,
            qps: 800.0,
            per_query: vec![figures(Filters::default(), 7), figures(left, 4)],
        };
        let c = PeerComparison::new(ours.clone(), &peer).unwrap();
        assert!((c.ratio_p50 - 0.8).abs() < 1e-9);
        assert!((c.ratio_p99 - 1.5).abs() < 1e-9);
        assert_eq!((c.same_hits, c.both_ran), (1, 2));
        assert!(c.text().contains("0.80×"), "{}", c.text());
        let other = BenchReport { queries: 3, ..ours };
        assert!(PeerComparison::new(other, &peer).is_err());
        std::fs::write(&path, "{}").unwrap();
        let e = PeerReport::read(&path).unwrap_err().to_string();
        assert!(e.contains("not a yardstick report"), "{e}");
    }
}
