//! `nutgraf index`: build or update the index.

use std::fmt::Write as _;
use std::path::PathBuf;

use nutgraf::index::{update, IndexOptions};
use nutgraf::model::IndexReport;

use super::{load_config, print, Bar, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Start over: re-index every document (one atomic commit; the old
    /// index stays searchable until it lands).
    #[arg(long)]
    pub rebuild: bool,
    /// The file of the config's collection (JSONL or CSV, plain or .gz),
    /// instead of the path the config gives.
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Stop at the first bad record instead of skipping and counting it.
    #[arg(long)]
    pub strict: bool,
    /// Documents between commits of a long import (progress survives a
    /// crash up to the last commit).
    #[arg(long, value_name = "N")]
    pub commit_every: Option<usize>,
    /// Let the run delete more than a few documents (more than 10 that
    /// are also more than 10% of the index, or all of them); without it
    /// such a run deletes nothing and says how many it would delete.
    #[arg(long)]
    pub allow_deletions: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let config = load_config(cli)?;
    let dir = cli
        .index
        .clone()
        .unwrap_or_else(|| config.index.dir.clone());
    let opts = IndexOptions {
        rebuild: args.rebuild,
        input: args.input.clone(),
        strict: args.strict,
        commit_every: args.commit_every,
        allow_deletions: args.allow_deletions,
    };
    let started = std::time::Instant::now();
    let report = match update(&config, &dir, &opts, &Bar::new()) {
        Ok(report) => report,
        Err(e) => {
            // A run that stopped without deleting still says what it did.
            if let (true, Some(report)) = (args.json, e.index_report()) {
                // The run's own error is the one to report.
                let _ = print(&nutgraf::render::json(report));
            }
            return Err(e);
        }
    };
    if args.json {
        print(&nutgraf::render::json(&report))?;
    } else {
        print(&summary(&report, &dir, started.elapsed()))?;
    }
    Ok(Outcome::Found)
}

fn summary(r: &IndexReport, dir: &std::path::Path, took: std::time::Duration) -> String {
    let status = if r.committed {
        "committed"
    } else {
        "up to date, nothing written"
    };
    let mut out = format!(
        "{}: {} added, {} replaced, {} unchanged, {} deleted; {} units written ({status}, {:.1} s)\n",
        dir.display(),
        r.documents_added,
        r.documents_replaced,
        r.documents_unchanged,
        r.documents_deleted,
        r.units_added,
        took.as_secs_f64(),
    );
    let copies = &r.copies;
    if copies.joined + copies.joined_earlier > 0 {
        let _ = writeln!(
            out,
            "  {} units carry a paragraph another unit carries (copy clusters: {} joined in this run, {} joined earlier units)",
            copies.joined + copies.joined_earlier,
            copies.joined,
            copies.joined_earlier
        );
    }
    if r.deletions_refused > 0 {
        let _ = writeln!(
            out,
            "  {} deletions refused (nothing deleted)",
            r.deletions_refused
        );
    }
    if r.duplicates > 0 {
        let _ = writeln!(
            out,
            "  {} duplicate ids (the last record of each kept)",
            r.duplicates
        );
    }
    for (why, n) in &r.skipped {
        let _ = writeln!(
            out,
            "  {n} records skipped: {}",
            nutgraf::render::visible(why)
        );
    }
    let fixes = &r.repairs;
    for (n, what) in [
        (fixes.dates_dropped, "junk or partial dates dropped"),
        (
            fixes.authors_cleaned,
            "author names cleaned of stray quotes or spaces",
        ),
        (fixes.untitled, "untitled records titled from their text"),
        (fixes.urls_dropped, "addresses that are not http(s) dropped"),
    ] {
        if n > 0 {
            let _ = writeln!(out, "  {n} {what}");
        }
    }
    if !r.problems.is_empty() {
        let _ = writeln!(out, "  first bad records:");
        for p in &r.problems {
            let _ = writeln!(out, "    {}", nutgraf::render::visible(p));
        }
    }
    out
}
