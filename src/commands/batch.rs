//! `nutgraf batch FILE`: one row per query of a file, with its count,
//! counts per stance, top outlets, first and last date and best match.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, RangedU64ValueParser};
use nutgraf::render;
use nutgraf::table::batch::{read_batch, Batch};
use nutgraf::table::{TableFormat, TableWriter};
use nutgraf::Error;

use super::{open_service, output_error, CommandResult, Outcome};
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The queries: one a line as `bench --queries` reads them (filters
    /// after tabs: `healthcare<TAB>stance=left`; blank lines and `#`
    /// comments skipped), or, for a name ending in .csv, CSV records of
    /// the same fields (`healthcare,stance=left`; a first record `query`
    /// is a header).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// csv (UTF-8 with a byte-order mark, a column per stance of the
    /// index, formula-like cells prefixed with ') or jsonl.
    #[arg(long, value_name = "FORMAT", default_value = "csv",
          value_parser = PossibleValuesParser::new(TableFormat::NAMES))]
    pub format: String,
    /// Write the rows to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Outlets listed per query, most matches first (1 to 100).
    #[arg(long, default_value_t = 5, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=100))]
    pub top_outlets: usize,
}

/// Runs every line; a line that cannot be read or searched is reported
/// on stderr with its line number, gets a row with its error, and the
/// batch goes on; the command then ends with exit status 2.
pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let format = TableFormat::parse(&args.format).unwrap_or(TableFormat::Csv);
    let lines = read_batch(&args.file)?;
    if lines.is_empty() {
        return Err(Error::Input(format!(
            "{}: no queries (one a line; # starts a comment)",
            args.file.display()
        )));
    }
    let service = open_service(cli, false)?;
    let batch = Batch::new(service.as_ref(), args.top_outlets)?;
    let header = batch.header();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path).map_err(|e| Error::Io {
            context: format!("{}: cannot create the output file", path.display()),
            source: e,
        })?),
        None => Box::new(std::io::stdout().lock()),
    };
    let on_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let mut table = TableWriter::new(format, out, &header).map_err(output_error)?;
    if on_terminal {
        table = table.showing(|cell| render::visible(cell).into_owned());
    }
    let (mut failed, mut found) = (0usize, false);
    for line in &lines {
        let row = batch.row(service.as_ref(), line);
        if let Some(e) = &row.error {
            failed += 1;
            eprintln!("nutgraf: {}", render::visible_lines(e));
        }
        found |= row.total_hits > 0;
        table.write(&row).map_err(output_error)?;
    }
    table
        .finish()
        .and_then(|mut out| out.flush())
        .map_err(output_error)?;
    if failed > 0 {
        return Err(Error::Input(format!(
            "{failed} of {} queries failed (above, and in their rows' error column); the other rows are complete",
            lines.len()
        )));
    }
    Ok(if found {
        Outcome::Found
    } else {
        Outcome::NothingFound
    })
}
