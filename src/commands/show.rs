//! `nutgraf show`: one unit with its neighbours.

use nutgraf::render;

use super::{open_service, print, style, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The unit id, `<document id>#<paragraph>`.
    pub unit_id: String,
    /// How many units to show on each side.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub context: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let shown = open_service(cli, false)?.show(&args.unit_id, args.context)?;
    if args.json {
        print(&render::json(&shown))?;
    } else {
        print(&render::show_text(&shown, style()))?;
    }
    Ok(Outcome::Found)
}
