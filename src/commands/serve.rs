//! `nutgraf serve`: the HTTP API and the web page.

use std::net::SocketAddr;

#[cfg(feature = "server")]
use nutgraf::server;

#[cfg(feature = "server")]
use super::open_searcher_following;
use super::CommandResult;
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to listen. Loopback by default; another address exposes the
    /// index to the network. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7700", value_name = "HOST:PORT")]
    pub addr: SocketAddr,
}

#[cfg(not(feature = "server"))]
pub fn run(_: &Cli, _: &Args) -> CommandResult {
    Err(super::not_in_this_build("serve", "server"))
}

#[cfg(feature = "server")]
pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let searcher = open_searcher_following(cli)?;
    let dir = searcher.index.dir.clone();
    // Every byte once at start: a server answers for a long time.
    nutgraf::integrity::ensure_intact(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| nutgraf::Error::Io {
            context: "starting the server".into(),
            source: e,
        })?;
    runtime
        .block_on(server::serve(searcher, args.addr, |bound| {
            if !bound.ip().is_loopback() {
                eprintln!("nutgraf: warning: listening on {bound}, reachable from other machines");
            }
            // Tests and scripts read this line for the address.
            eprintln!(
                "nutgraf: serving {} on http://{bound}/ (Ctrl-C stops)",
                dir.display()
            );
        }))
        .map_err(|e| nutgraf::Error::Io {
            context: format!("serving on {}", args.addr),
            source: e,
        })?;
    Ok(super::Outcome::Found)
}
