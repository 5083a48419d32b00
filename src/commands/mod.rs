//! One file per command; this file holds what they share: finding the
//! config and the index, terminal detection, the progress bar, output and
//! exit codes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use nutgraf::index::{IndexOptions, Progress};
use nutgraf::render::{self, Style};
use nutgraf::{Config, Error, SearchService, Searcher};

use crate::Cli;

pub mod batch;
pub mod bench;
pub mod check;
pub mod completions;
pub mod eval;
pub mod export;
pub mod facets;
pub mod index;
pub mod man;
pub mod search;
pub mod search_all;
pub mod serve;
pub mod show;
pub mod similar;
pub mod trace;

/// How a command ended, for the exit code: 0 found something, 1 found
/// nothing (like grep), 2 error.
pub enum Outcome {
    Found,
    NothingFound,
}

pub type CommandResult = Result<Outcome, Error>;

/// The context of the error [`print`] returns when stdout fails.
const WRITING_OUTPUT: &str = "cannot write the output";

/// Prints an error to stderr and maps the outcome to an exit code. A
/// reader that went away (`| head`) ends the command quietly with 0. The
/// message is made [`render::visible_lines`]: errors quote queries, ids
/// and names from the index.
pub fn finish(result: CommandResult) -> ExitCode {
    match result {
        Ok(Outcome::Found) => ExitCode::SUCCESS,
        Ok(Outcome::NothingFound) => ExitCode::from(1),
        Err(Error::Io { context, source })
            if context == WRITING_OUTPUT && source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "nutgraf: {}",
                render::visible_lines(&e.to_string())
            );
            ExitCode::from(2)
        }
    }
}

/// Set while a guarded command runs: its panics are reported as errors,
/// not printed.
static QUIET_PANICS: AtomicBool = AtomicBool::new(false);

/// Runs a read command's work so that a damaged index is reported as
/// damage (exit 2, "run `nutgraf index --rebuild`"), never as a panic:
/// panics are caught, their messages kept from stderr, and a full check
/// of the index decides between damage and a bug.
pub fn guarded(cli: &Cli, work: impl FnOnce() -> CommandResult) -> CommandResult {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.load(Ordering::Relaxed) {
                default(info);
            }
        }));
    });
    QUIET_PANICS.store(true, Ordering::Relaxed);
    let result = nutgraf::index::integrity::guard(|| index_dir(cli).ok(), work);
    QUIET_PANICS.store(false, Ordering::Relaxed);
    result
}

/// Writes to stdout. A failure (a closed pipe included) is returned, so
/// the command unwinds normally and [`finish`] decides what to say.
pub fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|source| Error::Io {
            context: WRITING_OUTPUT.into(),
            source,
        })
}

/// A failure to write rows to stdout, as [`print`] reports it (so a
/// closed pipe ends the command quietly).
pub fn output_error(source: std::io::Error) -> Error {
    Error::Io {
        context: WRITING_OUTPUT.into(),
        source,
    }
}

/// Terminal style: colour only on a terminal and never with NO_COLOR.
pub fn style() -> Style {
    let tty = std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&w: &usize| w >= 40)
        .unwrap_or(80);
    Style {
        color: tty && !no_color,
        width,
    }
}

/// The error of a command or flag whose cargo feature this binary was
/// built without: it still parses, and says how to get it.
#[allow(dead_code)] // used only by builds without some feature
pub fn not_in_this_build(what: &str, feature: &str) -> Error {
    Error::Input(format!(
        "{what} is not in this build of nutgraf; build it with `cargo install --path . --features {feature}` (or `cargo run --release --features {feature} -- …`)"
    ))
}

pub fn load_config(cli: &Cli) -> Result<Config, Error> {
    Ok(Config::load(&cli.config)?)
}

/// The index folder: `--index`, else the config's `[index] dir`.
pub fn index_dir(cli: &Cli) -> Result<PathBuf, Error> {
    match &cli.index {
        Some(dir) => Ok(dir.clone()),
        None => Ok(load_config(cli)?.index.dir),
    }
}

/// Opens the searcher; with no index yet, first builds one from the config
/// (so a fresh clone can search straight away).
pub fn open_searcher(cli: &Cli) -> Result<Searcher, Error> {
    open_searcher_with(cli, false)
}

/// The search service the commands ask: the cluster index of
/// `--backend`, else the local index (built first if there is none yet).
/// `follow_commits` is for a long-running process that should see each
/// new commit of `nutgraf index`.
pub fn open_service(cli: &Cli, follow_commits: bool) -> Result<Box<dyn SearchService>, Error> {
    if let Some(url) = &cli.backend {
        return open_backend(url);
    }
    Ok(Box::new(open_searcher_with(cli, follow_commits)?))
}

#[cfg(feature = "cluster")]
fn open_backend(url: &str) -> Result<Box<dyn SearchService>, Error> {
    Ok(Box::new(nutgraf::cluster::service::ClusterService::open(
        url,
    )?))
}

#[cfg(not(feature = "cluster"))]
fn open_backend(_: &str) -> Result<Box<dyn SearchService>, Error> {
    Err(not_in_this_build("--backend", "cluster"))
}

/// The commands `--backend` serves.
pub fn takes_backend(command: &crate::Command) -> bool {
    use crate::Command as C;
    matches!(
        command,
        C::Search(_)
            | C::Batch(_)
            | C::Show(_)
            | C::Similar(_)
            | C::Facets(_)
            | C::Bench(_)
            | C::Serve(_)
    )
}

fn open_searcher_with(cli: &Cli, follow_commits: bool) -> Result<Searcher, Error> {
    let dir = index_dir(cli)?;
    // Segment files without `meta.json` are a damaged index: opening it
    // says so, rather than building a new one over it.
    if !nutgraf::index::exists(&dir) && !nutgraf::index::holds_index_files(&dir) {
        let config = load_config(cli)?;
        eprintln!(
            "nutgraf: no index at {} yet; building it from {}",
            dir.display(),
            cli.config.display()
        );
        let bar = Bar::new();
        nutgraf::index::update(&config, &dir, &IndexOptions::default(), &bar)?;
    }
    Searcher::open(&dir, follow_commits)
}

/// An indicatif progress bar on stderr; indicatif draws nothing when
/// stderr is not a terminal, so a pipe stays quiet.
pub struct Bar(
    ProgressBar,
    std::sync::Mutex<Option<(std::time::Instant, String)>>,
);

impl Bar {
    pub fn new() -> Bar {
        let bar = ProgressBar::hidden();
        if std::io::stderr().is_terminal() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        Bar(bar, std::sync::Mutex::new(None))
    }
}

impl Progress for Bar {
    fn start(&self, total: u64, message: &str) {
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_style(
            ProgressStyle::with_template("{msg:20} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        self.0.set_message(message.to_string());
    }
    fn advance(&self, steps: u64) {
        self.0.inc(steps);
    }
    fn start_bytes(&self, total: u64, message: &str) {
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        self.0.set_message(message.to_string());
        self.1
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace((std::time::Instant::now(), message.to_string()));
    }
    fn set_bytes(&self, read: u64, documents: u64) {
        // Redrawing is rate-limited by indicatif; the message is cheap.
        if documents.is_multiple_of(256) {
            let started = self.1.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some((at, name)) = started {
                let rate = documents as f64 / at.elapsed().as_secs_f64().max(1e-3);
                self.0
                    .set_message(format!("{name}: {documents} docs, {rate:.0} docs/s"));
            }
        }
        self.0.set_position(read);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_an_outcome_that_unwinds_to_a_quiet_success() {
        let closed = Error::Io {
            context: WRITING_OUTPUT.into(),
            source: std::io::ErrorKind::BrokenPipe.into(),
        };
        assert_eq!(finish(Err(closed)), ExitCode::SUCCESS);
        // Any other failure to write is still an error.
        let full = Error::Io {
            context: WRITING_OUTPUT.into(),
            source: std::io::Error::other("no space left on device"),
        };
        assert_eq!(finish(Err(full)), ExitCode::from(2));
    }
}
