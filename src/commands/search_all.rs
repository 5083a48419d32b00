//! `nutgraf search --all`: every match of a search, best first, written
//! to stdout row by row as CSV or JSON Lines.

use std::io::{IsTerminal, Write};

use nutgraf::render;
use nutgraf::table::citation::{CitationRow, COLUMNS};
use nutgraf::table::{TableFormat, TableWriter};

use super::{open_service, output_error, search, CommandResult, Outcome};
use crate::Cli;

pub fn run(cli: &Cli, args: &search::Args) -> CommandResult {
    let format = args
        .format
        .as_deref()
        .and_then(TableFormat::parse)
        .unwrap_or(TableFormat::Csv);
    let service = open_service(cli, false)?;
    let stdout = std::io::stdout();
    // On a terminal a cell's control characters are shown, not obeyed,
    // as in every other output (JSON Lines escapes them itself).
    let on_terminal = stdout.is_terminal();
    let start = || -> Result<_, nutgraf::Error> {
        let table = TableWriter::new(format, stdout.lock(), &COLUMNS).map_err(output_error)?;
        Ok(if on_terminal {
            table.showing(|cell| render::visible(cell).into_owned())
        } else {
            table
        })
    };
    // The table starts with the first row, so that a query that fails
    // writes nothing to stdout.
    let mut table = None;
    let summary = service.export(&args.request()?, &mut |unit| {
        let table = match &mut table {
            Some(t) => t,
            None => table.insert(start()?),
        };
        table.write(&CitationRow::new(&unit)).map_err(output_error)
    })?;
    let table = match table {
        Some(t) => t,
        None => start()?,
    };
    table
        .finish()
        .and_then(|mut out| out.flush())
        .map_err(output_error)?;
    if summary.relaxed {
        eprintln!(
            "nutgraf: no paragraph holds every word; wrote the {} that hold most of them",
            summary.rows
        );
    }
    Ok(if summary.rows > 0 {
        Outcome::Found
    } else {
        Outcome::NothingFound
    })
}
