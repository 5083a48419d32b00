//! The HTTP API and the web page (`nutgraf serve`).
//!
//! One process holds the index open; every request shares one reader,
//! which follows the indexer's commits. The API answers with exactly the
//! JSON the command line prints with `--json` (the same types, the same
//! serializer); the page is three static files compiled into the binary
//! and renders that JSON in the browser with DOM text nodes only.
//!
//! Work per request is bounded: query length, `limit`, `offset`, `facet_limit`,
//! `context`, body size and a request timeout; a bad parameter is a 400
//! with a message, never a panic. Work across requests is bounded too:
//! index reads run on blocking threads, at most `max_searches` at once
//! (a short queue, then 503 with `Retry-After`); connections are capped
//! and must send their headers in time and keep moving bytes; a request
//! must name this server in its `Host` header (against DNS rebinding).
//! Every error, including the framework's own (405, 413, 408...), is
//! `{"error": "..."}` JSON.
//!
//! [`api`]: the routes; [`app`]: what the handlers share and how index
//! work is run; [`params`]: a query string read into a request;
//! [`export`]: every match streamed as CSV or JSON Lines; [`errors`]: statuses and JSON
//! bodies; [`gate`]: the bound on index reads; [`host`]: the `Host` check;
//! [`listen`]: connections, signals and shutdown.

use std::time::Duration;

mod api;
mod app;
mod errors;
mod export;
mod gate;
mod host;
mod listen;
mod params;

pub use api::router;
pub use errors::ApiError;
pub use export::export_request;
pub use gate::{is_heavy, Gate};
pub use listen::serve;
pub use params::search_request;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Most hits per page.
pub const MAX_LIMIT: usize = 100;
/// Deepest page start (the web page's pager stops here too).
pub const MAX_OFFSET: usize = 10_000;
/// Largest `facet_limit` (0, all values, is allowed too).
pub const MAX_FACET_LIMIT: usize = 10_000;
/// Most neighbours on each side in `/api/units/{id}`.
pub const MAX_CONTEXT: usize = 50;
/// Longest a request may run.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request body.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest request line and headers together; a longer URL is refused by
/// the HTTP layer before any handler runs.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Longest a request waits in the queue for a search slot before 503.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// What a 503 asks the client to wait, in seconds.
const RETRY_AFTER_SECS: u32 = 1;
/// How long a connection with no request in flight may take to close once
/// the server stops (time to flush an answer already written).
const CLOSE_IDLE: Duration = Duration::from_secs(1);
/// At most this many refused connections are answered at once; past
/// that a refused connection is simply closed.
const MAX_REFUSING: usize = 64;

/// The page forbids inline script and style and anything from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const APP_CSS: &str = include_str!("../../web/app.css");

/// How `serve` bounds its work; see `nutgraf serve --help`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Index reads (searches, units, similar, facets) running at once;
    /// more wait in a short queue, then get 503.
    pub max_searches: usize,
    /// Open connections at most; more are answered 503 and closed.
    pub max_connections: usize,
    /// Time a client has to send a request's headers; also how long a
    /// kept-alive connection may wait for its next request.
    pub header_timeout: Duration,
    /// Time a connection may move no byte while the server waits on it
    /// (a client that stops reading an answer or sending a body).
    pub idle_timeout: Duration,
    /// Time a stop (Ctrl-C, SIGTERM) waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Which `Host` headers are answered.
    pub hosts: HostPolicy,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_searches: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
            hosts: HostPolicy::default(),
        }
    }
}

/// Which `Host` headers the server answers. A web page on another site
/// can point its own domain name at 127.0.0.1 (DNS rebinding) and read a
/// loopback server; the `Host` header still carries that name, so the
/// server refuses names it was not told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPolicy {
    /// The bound address's own names with its port (`localhost` and
    /// loopback addresses for a loopback bind; `localhost` and any IP
    /// address otherwise), plus these names at any port.
    Bound(Vec<String>),
    /// Any `Host` (behind a proxy that checks it).
    Any,
}

impl Default for HostPolicy {
    fn default() -> Self {
        HostPolicy::Bound(Vec::new())
    }
}

/// A single-threaded runtime for the tests of this module's parts.
#[cfg(test)]
fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
