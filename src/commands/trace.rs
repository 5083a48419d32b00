//! `nutgraf trace`: every unit carrying a paragraph or a quote, in order
//! of publication, the first known appearance marked.

use nutgraf::render;
use nutgraf::search::TraceRequest;

use super::{open_service, print, style, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The unit id, `<document id>#<paragraph>`, whose paragraph to trace.
    #[arg(required_unless_present = "text", conflicts_with = "text")]
    pub unit_id: Option<String>,
    /// Trace a quote instead (at least six words; a paragraph holding it
    /// inside longer text carries it too).
    #[arg(long, value_name = "QUOTE")]
    pub text: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let request = match (&args.unit_id, &args.text) {
        (_, Some(text)) => TraceRequest::Text(text.clone()),
        (Some(id), None) => TraceRequest::Unit(id.clone()),
        (None, None) => {
            return Err(nutgraf::Error::Input(
                "trace what? give a unit id (trace DOC#3) or a quote (trace --text \"…\")".into(),
            ))
        }
    };
    let service = open_service(cli, false)?;
    let response = service.trace(&request, None)?;
    if args.json {
        print(&render::json(&response))?;
    } else {
        print(&render::trace_text(&response, style()))?;
    }
    Ok(if response.copies.is_empty() {
        Outcome::NothingFound
    } else {
        Outcome::Found
    })
}
