//! `nutgraf serve`: the HTTP API and the web page.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

#[cfg(feature = "server")]
use nutgraf::server::{self, HostPolicy, ServeOptions};
use nutgraf::Error;

#[cfg(feature = "server")]
use super::open_service;
use super::CommandResult;
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to listen. Loopback by default; another address exposes the
    /// index to the network. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7700", value_name = "HOST:PORT")]
    pub addr: SocketAddr,
    /// Searches (and other index reads) run at once [default: the number
    /// of cores]. More wait in a short queue for up to 2 s, then get 503
    /// with Retry-After; expensive-looking searches get one slot fewer, so
    /// ordinary ones always find a free slot.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_searches: Option<u32>,
    /// Open connections at most; more are answered 503 and closed.
    #[arg(long, default_value_t = 256, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections: u32,
    /// Seconds a client has to send a request's headers; also how long a
    /// kept-alive connection may wait for its next request.
    #[arg(long, default_value_t = 10, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a connection may move no byte while the server waits on it
    /// (a client that stops reading an answer). Longer than the 10-second
    /// request timeout.
    #[arg(long, default_value_t = 30, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(11..=3600))]
    pub idle_timeout: u64,
    /// Seconds Ctrl-C (or SIGTERM) waits for requests in flight before
    /// stopping; a second Ctrl-C stops at once.
    #[arg(long, default_value_t = 10, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_timeout: u64,
    /// Also answer requests whose Host header names NAME (at any port),
    /// e.g. a name this machine has on the network or behind a proxy.
    /// Repeatable. Without it only localhost and IP addresses with the
    /// bound port are answered (against DNS rebinding); others get 421.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Answer whatever the Host header says (behind a proxy that checks it).
    #[arg(long, conflicts_with = "allow_host")]
    pub any_host: bool,
}

#[cfg(feature = "server")]
impl Args {
    fn options(&self) -> ServeOptions {
        let defaults = ServeOptions::default();
        ServeOptions {
            max_searches: self
                .max_searches
                .map_or(defaults.max_searches, |n| n as usize),
            max_connections: self.max_connections as usize,
            header_timeout: Duration::from_secs(self.header_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout),
            hosts: if self.any_host {
                HostPolicy::Any
            } else {
                HostPolicy::Bound(self.allow_host.clone())
            },
        }
    }
}

#[cfg(feature = "server")]
/// A line on stderr; a closed terminal (after SIGHUP) is not an error.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "nutgraf: {message}");
}

#[cfg(feature = "server")]
/// Why the address cannot be listened on, and what to do.
fn cannot_listen(addr: SocketAddr, e: std::io::Error) -> Error {
    let why = match e.kind() {
        std::io::ErrorKind::AddrInUse => "the port is taken (another nutgraf serve?)",
        std::io::ErrorKind::AddrNotAvailable => "this machine has no such address",
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)"
        }
        _ => {
            return Error::Io {
                context: format!("cannot listen on {addr}"),
                source: e,
            }
        }
    };
    Error::Input(format!(
        "cannot listen on {addr}: {why}; choose another with --addr"
    ))
}

#[cfg(not(feature = "server"))]
pub fn run(_: &Cli, _: &Args) -> CommandResult {
    Err(super::not_in_this_build("serve", "server"))
}

#[cfg(feature = "server")]
pub fn run(cli: &Cli, args: &Args) -> CommandResult {
    let options = args.options();
    let service = open_service(cli, true)?;
    // Every byte once at start: a server answers for a long time.
    service.verify()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "starting the server".into(),
            source: e,
        })?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .map_err(|e| cannot_listen(args.addr, e))?;
        let bound = listener.local_addr().map_err(|e| cannot_listen(args.addr, e))?;
        if !bound.ip().is_loopback() {
            say(&format!(
                "warning: listening on {bound}, reachable from other machines \
                 (requests must name this machine by IP address, or by a name given with --allow-host)"
            ));
        }
        server::serve(listener, service, options, say)
            .await
            .map_err(|e| Error::Io {
                context: format!("serving on {bound}"),
                source: e,
            })
    });
    // Searches still running past the shutdown timeout are abandoned, not
    // waited for.
    runtime.shutdown_timeout(Duration::from_millis(200));
    served?;
    Ok(super::Outcome::Found)
}
