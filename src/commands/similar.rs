//! `nutgraf similar`: units in other documents that say much the same.

use nutgraf::render;
use nutgraf::similar::similar;

use super::{open_searcher, print, style, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The unit id, `<document id>#<paragraph>`.
    pub unit_id: String,
    /// How many units to show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub limit: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let searcher = open_searcher(cli)?;
    let response = similar(&searcher, &args.unit_id, args.limit.max(1))?;
    if args.json {
        print(&render::json(&response))?;
    } else {
        print(&render::similar_text(&response, style()))?;
    }
    Ok(if response.total_hits > 0 {
        Outcome::Found
    } else {
        Outcome::NothingFound
    })
}
