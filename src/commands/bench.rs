//! `nutgraf bench`: query latency, and optionally SQLite FTS5 beside it.

use std::path::PathBuf;

use nutgraf::render;
use nutgraf::search::query_file::{read_queries, QueryLine};
use nutgraf::search::{HistogramRequest, IntervalChoice};
use nutgraf::tools::bench::{self, BenchOptions};

use super::{open_searcher, print, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Query files: one query per line, filters after a tab
    /// (`outlet=Fox News`). Several files run as one list.
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub queries: Vec<PathBuf>,
    /// Timed runs of every query.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub runs: usize,
    /// Untimed runs of every query first.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub warmup: usize,
    /// Threads issuing queries at once.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
    /// Also copy the units into SQLite FTS5 and time the same queries
    /// there (the copy is built first, in a scratch file).
    #[arg(long)]
    pub sqlite: bool,
    /// Load-test a running `nutgraf serve` at this address instead
    /// (e.g. http://127.0.0.1:7700): clients send the queries for
    /// --duration seconds.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Concurrent clients of the load test.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub clients: usize,
    /// Length of the load test in seconds.
    #[arg(long, default_value_t = 30, value_name = "S")]
    pub duration: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// A yardstick's JSON report on the same query files (`peer-tantivy
    /// query IDX FILE > FILE.json`, see ../shared/peers): print both
    /// sides' percentiles and nutgraf's as a multiple of the yardstick's.
    #[arg(long, value_name = "FILE.json")]
    pub compare: Option<PathBuf>,
    /// Ask every query for a date histogram too (as `search
    /// --histogram`), to measure what it costs.
    #[arg(long, value_name = "INTERVAL", num_args = 0..=1, require_equals = true,
          default_missing_value = "auto", value_parser = IntervalChoice::NAMES)]
    pub histogram: Option<String>,
    /// Ask every query with copies folded (as `search --collapse`), to
    /// measure what folding and the source counts cost.
    #[arg(long)]
    pub collapse: bool,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let mut queries: Vec<QueryLine> = Vec::new();
    for f in &args.queries {
        queries.extend(read_queries(f)?);
    }
    if let Some(interval) = &args.histogram {
        let asked = HistogramRequest {
            interval: IntervalChoice::parse(interval)?,
            ..HistogramRequest::default()
        };
        for q in &mut queries {
            q.request.histogram = Some(asked.clone());
        }
    }
    for q in &mut queries {
        q.request.collapse |= args.collapse;
    }
    if queries.is_empty() {
        return Err(nutgraf::Error::Input(
            "the query files hold no queries (one per line; # starts a comment)".into(),
        ));
    }
    if let Some(url) = &args.url {
        return load_test(url, &queries, args);
    }
    let opts = BenchOptions {
        runs: args.runs.max(1),
        warmup: args.warmup,
        threads: args.threads.max(1),
    };
    if cli.backend.is_some() {
        if args.sqlite || args.compare.is_some() {
            return Err(nutgraf::Error::Input(
                "--sqlite and --compare time the local index; run them without --backend".into(),
            ));
        }
        let service = super::open_service(cli, false)?;
        let report = bench::run(&bench::Service(service.as_ref()), &queries, opts)?;
        print(&if args.json {
            render::json(&report)
        } else {
            bench::report_text(&report)
        })?;
        return Ok(Outcome::Found);
    }
    let searcher = open_searcher(cli)?;
    let ours = bench::run(&searcher, &queries, opts)?;
    if let Some(path) = &args.compare {
        let peer = bench::PeerReport::read(path)?;
        let comparison = bench::PeerComparison::new(ours, &peer)?;
        if args.json {
            print(&render::json(&comparison))?;
        } else {
            print(&comparison.text())?;
        }
        return Ok(Outcome::Found);
    }
    if !args.sqlite {
        if args.json {
            print(&render::json(&ours))?;
        } else {
            print(&bench::report_text(&ours))?;
        }
        return Ok(Outcome::Found);
    }
    sqlite_beside(&searcher, &queries, opts, &ours, args.json)
}

/// `bench --url`: a bounded HTTP load test of a running server.
#[cfg(feature = "yardsticks")]
fn load_test(url: &str, queries: &[QueryLine], args: &Args) -> CommandResult {
    let report = nutgraf::tools::load::run(
        url,
        queries,
        args.clients,
        std::time::Duration::from_secs(args.duration),
    )?;
    if args.json {
        print(&render::json(&report))?;
    } else {
        print(&nutgraf::tools::load::report_text(&report))?;
    }
    Ok(if report.errors == 0 {
        Outcome::Found
    } else {
        Outcome::NothingFound
    })
}

#[cfg(not(feature = "yardsticks"))]
fn load_test(_: &str, _: &[QueryLine], _: &Args) -> CommandResult {
    Err(super::not_in_this_build(
        "bench --url (the HTTP load test)",
        "yardsticks",
    ))
}

/// `bench --sqlite --json`: both reports and their ratio.
#[cfg(feature = "yardsticks")]
#[derive(serde::Serialize)]
struct Comparison<'a> {
    #[serde(flatten)]
    nutgraf: &'a bench::BenchReport,
    sqlite: &'a bench::BenchReport,
    sqlite_units: usize,
    /// SQLite's p50 over nutgraf's.
    speedup_p50: f64,
    speedup_p99: f64,
}

/// `bench --sqlite`: the same queries on SQLite FTS5 holding the same units.
#[cfg(feature = "yardsticks")]
fn sqlite_beside(
    searcher: &nutgraf::Searcher,
    queries: &[QueryLine],
    opts: BenchOptions,
    ours: &bench::BenchReport,
    json: bool,
) -> CommandResult {
    let ratio = |a: u64, b: u64| a as f64 / b.max(1) as f64;
    let scratch = tempfile::tempdir().map_err(|e| nutgraf::Error::Io {
        context: "making a scratch folder for SQLite".into(),
        source: e,
    })?;
    eprintln!("nutgraf: copying the units into SQLite FTS5…");
    let (fts5, units) =
        nutgraf::tools::fts5::Fts5::build(searcher, &scratch.path().join("units.sqlite"))?;
    let theirs = bench::run(&fts5, queries, opts)?;
    let comparison = Comparison {
        nutgraf: ours,
        sqlite: &theirs,
        sqlite_units: units,
        speedup_p50: ratio(theirs.p50_us, ours.p50_us),
        speedup_p99: ratio(theirs.p99_us, ours.p99_us),
    };
    if json {
        print(&render::json(&comparison))?;
    } else {
        print(&bench::report_text(ours))?;
        print("\n")?;
        print(&bench::report_text(&theirs))?;
        print(&format!(
            "\nnutgraf is {:.1}× faster than SQLite FTS5 at p50 and {:.1}× at p99 ({} units).\n",
            comparison.speedup_p50, comparison.speedup_p99, units
        ))?;
    }
    Ok(Outcome::Found)
}

#[cfg(not(feature = "yardsticks"))]
fn sqlite_beside(
    _: &nutgraf::Searcher,
    _: &[QueryLine],
    _: BenchOptions,
    _: &bench::BenchReport,
    _: bool,
) -> CommandResult {
    Err(super::not_in_this_build(
        "bench --sqlite (the SQLite FTS5 yardstick)",
        "yardsticks",
    ))
}
