//! A bounded HTTP load test against a running `nutgraf serve`
//! (`nutgraf bench --url`): several clients send the queries of a
//! benchmark file to `/api/search` for a fixed time; requests per second,
//! latency percentiles and every error are reported.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::search::query_file::QueryLine;
use crate::tools::bench::percentile;
use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::render::visible;

/// `bench --url --json` prints this.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    pub url: String,
    pub clients: usize,
    pub seconds: f64,
    pub requests: usize,
    pub errors: usize,
    /// The first few errors, for the reader.
    pub error_samples: Vec<String>,
    pub rps: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// The `/api/search` address of a query.
pub fn search_url(base: &str, q: &QueryLine) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("q", &q.request.query);
    for (key, value) in q.request.filters.pairs() {
        s.append_pair(key, value);
    }
    format!("{}/api/search?{}", base.trim_end_matches('/'), s.finish())
}

/// Runs `clients` clients for `duration`, cycling through the queries.
pub fn run(
    base: &str,
    queries: &[QueryLine],
    clients: usize,
    duration: Duration,
) -> Result<LoadReport> {
    if queries.is_empty() {
        return Err(Error::Input("no queries to send".into()));
    }
    let urls: Vec<String> = queries.iter().map(|q| search_url(base, q)).collect();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let latencies: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients.max(1) {
            scope.spawn(|| {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("an HTTP client");
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < duration {
                    let url = &urls[next.fetch_add(1, Ordering::Relaxed) % urls.len()];
                    let t = Instant::now();
                    let outcome = client.get(url).send().and_then(|r| {
                        let status = r.status();
                        r.bytes().map(|_| status)
                    });
                    match outcome {
                        Ok(status) if status.is_success() => mine.push(t.elapsed()),
                        Ok(status) => errors
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(format!("{status} for {url}")),
                        Err(e) => errors
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(format!("{e} for {url}")),
                    }
                }
                latencies
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(mine);
            });
        }
    });
    let _ = stop;
    let seconds = started.elapsed().as_secs_f64();
    let mut all = latencies.into_inner().unwrap_or_else(|p| p.into_inner());
    all.sort_unstable();
    let errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    let us = |d: Duration| d.as_micros() as u64;
    Ok(LoadReport {
        url: base.to_string(),
        clients: clients.max(1),
        seconds,
        requests: all.len() + errors.len(),
        errors: errors.len(),
        error_samples: errors.into_iter().take(5).collect(),
        rps: all.len() as f64 / seconds.max(1e-9),
        p50_us: us(percentile(&all, 50.0)),
        p99_us: us(percentile(&all, 99.0)),
        max_us: us(all.last().copied().unwrap_or_default()),
    })
}

/// A load test as terminal text.
pub fn report_text(r: &LoadReport) -> String {
    let ms = |us: u64| us as f64 / 1000.0;
    let mut out = format!(
        "{} clients for {:.1} s against {}: {} requests, {} errors\n  {:.0} requests/s   p50 {:.3} ms   p99 {:.3} ms   max {:.3} ms\n",
        r.clients, r.seconds, visible(&r.url), r.requests, r.errors, r.rps, ms(r.p50_us), ms(r.p99_us), ms(r.max_us)
    );
    for e in &r.error_samples {
        let _ = writeln!(out, "  error: {}", visible(e));
    }
    out
}
