//! `nutgraf similar`: units in other documents that say much the same.

use clap::builder::RangedU64ValueParser;
use nutgraf::render;
use nutgraf::search::MAX_SEARCH_LIMIT;

use super::{open_service, print, style, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The unit id, `<document id>#<paragraph>`.
    pub unit_id: String,
    /// How many units to show (at most 100000); 0 shows only the counts.
    #[arg(long, default_value_t = 10, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(0..=MAX_SEARCH_LIMIT as u64))]
    pub limit: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let service = open_service(cli, false)?;
    let response = service.similar(&args.unit_id, args.limit, None)?;
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
