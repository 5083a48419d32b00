//! `nutgraf index`: build or update the index.

use nutgraf::index::{update, IndexOptions};

use super::{load_config, print, Bar, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Start over: re-index every document (one atomic commit; the old
    /// index stays searchable until it lands).
    #[arg(long)]
    pub rebuild: bool,
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
    };
    let report = update(&config, &dir, &opts, &Bar::new())?;
    if args.json {
        print(&nutgraf::render::json(&report));
    } else {
        let status = if report.committed {
            "committed"
        } else {
            "up to date, nothing written"
        };
        print(&format!(
            "{}: {} added, {} replaced, {} unchanged, {} deleted; {} units written ({status})\n",
            dir.display(),
            report.documents_added,
            report.documents_replaced,
            report.documents_unchanged,
            report.documents_deleted,
            report.units_added,
        ));
    }
    Ok(Outcome::Found)
}
