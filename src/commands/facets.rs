//! `nutgraf facets`: values and counts over the whole index.

use nutgraf::index::schema::FacetField;
use nutgraf::render;
use nutgraf::Error;

use super::{open_service, print, style, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// One facet: author, outlet, stance, genre or kind (default: all).
    pub field: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let field = match &args.field {
        None => None,
        Some(f) => Some(FacetField::parse(f).ok_or_else(|| {
            Error::Input(format!(
                "no facet \"{f}\"; facets are: author, outlet, stance, genre, kind"
            ))
        })?),
    };
    let counts = open_service(cli, false)?.facets()?;
    if args.json {
        match field {
            Some(f) => print(&render::json(&serde_json::json!({
                "total_units": counts.total_units,
                "field": f.as_str(),
                "values": counts.facets.get(f),
            })))?,
            None => print(&render::json(&counts))?,
        }
    } else {
        print(&render::facets_listing(&counts, field, style()))?;
    }
    Ok(Outcome::Found)
}
