//! `nutgraf check`: every file of the index against its checksum, and the
//! files against each other.

use nutgraf::index::integrity::{self, CheckReport};
use nutgraf::render;

use super::{index_dir, print, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let dir = index_dir(cli)?;
    let report = integrity::check(&dir)?;
    if args.json {
        print(&render::json(&report))?;
    } else {
        print(&text(&report))?;
    }
    // Damage also goes to stderr, with exit code 2.
    match report.error(&dir) {
        Some(e) => Err(e),
        None => Ok(Outcome::Found),
    }
}

fn text(report: &CheckReport) -> String {
    let mut out = String::new();
    let size = if report.bytes >= 10 << 20 {
        format!("{} MB", report.bytes >> 20)
    } else {
        format!("{} KB", report.bytes.div_ceil(1024))
    };
    out.push_str(&format!(
        "{}: {} segment{}, {} files ({size}) checked in {} ms\n",
        report.index,
        report.segments,
        if report.segments == 1 { "" } else { "s" },
        report.files,
        report.took_ms
    ));
    if report.healthy {
        out.push_str(&format!(
            "intact: {} units\n",
            report.units.unwrap_or_default()
        ));
    } else {
        for p in &report.problems {
            out.push_str(&format!("  {}: {}\n", p.file, p.problem));
        }
    }
    out
}
