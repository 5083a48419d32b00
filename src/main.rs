//! The `nutgraf` command line: argument definitions and dispatch only.
//! Each command lives in its own file under `commands/`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

/// Paragraph-level search for news and opinion.
///
/// nutgraf splits articles into paragraphs, tags each with its outlet,
/// authors, date and stance, and answers keyword queries with ranked,
/// highlighted paragraphs that can be filtered and counted.
#[derive(Parser, Debug)]
#[command(name = "nutgraf", about, max_term_width = 100)]
pub struct Cli {
    /// The index configuration (TOML).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = "index-config/nutgraf.toml"
    )]
    pub config: PathBuf,

    /// The index folder (default: `[index] dir` of the config).
    #[arg(long, global = true, value_name = "DIR")]
    pub index: Option<PathBuf>,

    /// Answer from an index in an OpenSearch or Elasticsearch cluster
    /// instead of the local one (search, batch, show, similar, facets,
    /// bench, serve), e.g. http://127.0.0.1:9200/nutgraf, as `export --to` made
    /// it. Credentials come from NUTGRAF_BACKEND_API_KEY, or
    /// NUTGRAF_BACKEND_USER and NUTGRAF_BACKEND_PASSWORD.
    #[arg(long, global = true, value_name = "URL")]
    pub backend: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build or update the index from the documents the config describes.
    ///
    /// Incremental: unchanged documents are skipped, changed ones replaced,
    /// removed ones deleted.
    Index(commands::index::Args),
    /// Search paragraphs: ranked, highlighted, filtered and counted.
    Search(commands::search::Args),
    /// Run a file of queries: one row per query (count, counts per
    /// stance, top outlets, first and last date, best match) as CSV or
    /// JSON Lines.
    ///
    /// A line that cannot be read or searched is reported on stderr with
    /// its line number and gets a row with its error; the batch goes on,
    /// then exits 2.
    Batch(commands::batch::Args),
    /// Show one unit with the units around it.
    Show(commands::show::Args),
    /// Units in other documents that say most nearly what one unit says:
    /// which outlets repeat a claim.
    Similar(commands::similar::Args),
    /// Who said it first, and who copied it: every unit carrying a
    /// paragraph (or --text, a quote), verbatim or nearly, in order of
    /// publication, with what each near copy changed.
    Trace(commands::trace::Args),
    /// Copy the index to an OpenSearch or Elasticsearch cluster (--to
    /// URL), or write its settings, mapping and every unit as `_bulk`
    /// NDJSON files that curl can send (--to-dir).
    Export(commands::export::Args),
    /// Time queries as `search` runs them: percentiles and queries/s
    /// (with --sqlite, SQLite FTS5 on the same units beside it).
    Bench(commands::bench::Args),
    /// Serve the HTTP JSON API and the web page (loopback by default).
    Serve(commands::serve::Args),
    /// Ranking quality on a BEIR-format test collection (nDCG@10,
    /// Recall@100, MRR@10).
    Eval(commands::eval::Args),
    /// Values and counts of a facet (author, outlet, stance, genre, kind)
    /// over the whole index.
    Facets(commands::facets::Args),
    /// Check every file of the index against its checksum, and the files
    /// against each other: exit 0 when intact, 2 when damaged.
    Check(commands::check::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish,
    /// powershell).
    Completions(commands::completions::Args),
    /// Print the manual page (roff), made from these definitions.
    Man(commands::man::Args),
}

/// The version line: the crate's version and the index schema it reads
/// (an index of another schema needs `nutgraf index --rebuild`).
pub fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        format!(
            "{} (index schema v{})",
            env!("CARGO_PKG_VERSION"),
            nutgraf::index::schema::SCHEMA_VERSION
        )
    })
}

/// The clap definitions with the version line: what parses the arguments,
/// and what completions and the man page are made from.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command().version(version())
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match &cli.command {
        _ if cli.backend.is_some() && !commands::takes_backend(&cli.command) => {
            Err(nutgraf::Error::Input(
                "--backend is for search, batch, show, similar, facets, bench and serve; this command works on the local index".into(),
            ))
        }
        Command::Index(args) => commands::index::run(&cli, args),
        Command::Serve(args) => commands::serve::run(&cli, args),
        Command::Completions(args) => commands::completions::run(args),
        Command::Man(args) => commands::man::run(args),
        // Reads: a damaged index is reported as such, never a panic.
        read => commands::guarded(&cli, || match read {
            Command::Search(args) if args.all => commands::search_all::run(&cli, args),
            Command::Search(args) => commands::search::run(&cli, args),
            Command::Trace(args) => commands::trace::run(&cli, args),
            Command::Export(args) => commands::export::run(&cli, args),
            Command::Batch(args) => commands::batch::run(&cli, args),
            Command::Show(args) => commands::show::run(&cli, args),
            Command::Similar(args) => commands::similar::run(&cli, args),
            Command::Facets(args) => commands::facets::run(&cli, args),
            Command::Eval(args) => commands::eval::run(&cli, args),
            Command::Bench(args) => commands::bench::run(&cli, args),
            Command::Check(args) => commands::check::run(&cli, args),
            Command::Index(_) | Command::Serve(_) | Command::Completions(_) | Command::Man(_) => {
                unreachable!("matched above")
            }
        }),
    };
    commands::finish(result)
}
