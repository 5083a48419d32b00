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

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::Error;
use crate::search::{Filters, SearchRequest, SearchService, DEFAULT_FACET_LIMIT};

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

/// The host policy applied to the address actually bound.
#[derive(Debug, Clone)]
struct HostCheck {
    policy: HostPolicy,
    bound: SocketAddr,
}

impl HostCheck {
    fn allows(&self, host: &str) -> bool {
        let extra = match &self.policy {
            HostPolicy::Any => return true,
            HostPolicy::Bound(extra) => extra,
        };
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        if extra
            .iter()
            .any(|e| e.trim_end_matches('.').eq_ignore_ascii_case(&name))
        {
            return true;
        }
        // A browser leaves the port out only for the scheme's default.
        let port_ok = port.unwrap_or(80) == self.bound.port();
        let name_ok = name == "localhost"
            || name.parse::<IpAddr>().is_ok_and(|ip| {
                // An IP address cannot be rebound; on a loopback bind only
                // loopback ones can reach the server at all.
                !self.bound.ip().is_loopback() || ip.is_loopback()
            });
        port_ok && name_ok
    }

    fn refusal(&self, host: &str) -> ApiError {
        let port = self.bound.port();
        let expected = if self.bound.ip().is_loopback() {
            format!("localhost:{port}, 127.0.0.1:{port} or [::1]:{port}")
        } else {
            format!("localhost:{port} or an IP address of this machine with port {port}")
        };
        ApiError {
            status: StatusCode::MISDIRECTED_REQUEST,
            message: format!(
                "this server answers requests for {expected}, not for Host {host:?} \
                 (a page on another site may be reaching it through its own domain name); \
                 to serve under that name, start it with `nutgraf serve --allow-host NAME`"
            ),
            retry_after: None,
        }
    }
}

/// `name[:port]` or `[v6]:port`, the name lowercased without a trailing dot.
fn split_host(host: &str) -> Option<(String, Option<u16>)> {
    let host = host.trim();
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        (inside, port)
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) => (n, Some(p.parse().ok()?)),
            None => (host, None),
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (!name.is_empty()).then_some((name, port))
}

/// A failed request: a status and a message, sent as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Seconds, sent as `Retry-After` (with 503).
    retry_after: Option<u32>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    fn busy(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            retry_after: Some(RETRY_AFTER_SECS),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        // Exhaustive on purpose: a new kind of error must be placed here
        // as the client's fault (4xx) or the server's (5xx).
        let status = match &e {
            Error::Query(_) | Error::Filter(_) | Error::Limit(_) => StatusCode::BAD_REQUEST,
            Error::UnitNotFound(_) | Error::NoParagraph { .. } => StatusCode::NOT_FOUND,
            // The search stopped itself at its deadline: the server is
            // busy or the query too costly, not the request malformed.
            Error::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            // `Input` is a bad file or a damaged index here, never a bad
            // request: the server's fault.
            Error::Input(_)
            | Error::Config(_)
            | Error::NoIndex(_)
            | Error::IndexVersion { .. }
            | Error::Damaged { .. }
            | Error::Locked(_)
            | Error::Storage { .. }
            | Error::Tantivy { .. }
            | Error::IncompleteRead { .. }
            | Error::DeletionsRefused { .. }
            | Error::Io { .. }
            | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: &self.message,
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Admission of index work. `slots` bounds what runs at once; requests
/// that look expensive must also hold one of `heavy`'s permits, one fewer
/// than the slots, so that expensive requests can never take every slot
/// and ordinary searches keep answering during a flood of them. Waiters
/// queue in arrival order, a few per slot, for at most [`QUEUE_WAIT`].
pub struct Gate {
    slots: Arc<Semaphore>,
    heavy: Arc<Semaphore>,
    size: usize,
    waiting: AtomicUsize,
    waiting_heavy: AtomicUsize,
    max_waiting: usize,
    max_waiting_heavy: usize,
    wait: Duration,
}

/// A slot held for one piece of index work; released when dropped (when
/// the work ends, not when its request gives up).
pub struct Admitted {
    _slot: OwnedSemaphorePermit,
    _heavy: Option<OwnedSemaphorePermit>,
}

/// Counts one waiter while it waits.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(counter: &'a AtomicUsize, cap: usize) -> Option<Queued<'a>> {
        if counter.fetch_add(1, Ordering::SeqCst) >= cap {
            counter.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Queued(counter))
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Gate {
    /// `size` slots (at least 1); expensive requests get `size - 1` of
    /// them (at least 1).
    pub fn new(size: usize) -> Gate {
        let size = size.max(1);
        let heavy = size.saturating_sub(1).max(1);
        Gate {
            slots: Arc::new(Semaphore::new(size)),
            heavy: Arc::new(Semaphore::new(heavy)),
            size,
            waiting: AtomicUsize::new(0),
            waiting_heavy: AtomicUsize::new(0),
            max_waiting: 4 * size,
            max_waiting_heavy: heavy,
            wait: QUEUE_WAIT,
        }
    }

    /// Waits for a slot, or says the server is busy (503).
    pub async fn enter(&self, heavy: bool) -> Result<Admitted, ApiError> {
        let heavy_permit = if heavy {
            let permit = match self.heavy.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    let _queued = Queued::join(&self.waiting_heavy, self.max_waiting_heavy)
                        .ok_or_else(|| self.heavy_busy())?;
                    tokio::time::timeout(self.wait, self.heavy.clone().acquire_owned())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .ok_or_else(|| self.heavy_busy())?
                }
            };
            Some(permit)
        } else {
            None
        };
        let slot = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let _queued =
                    Queued::join(&self.waiting, self.max_waiting).ok_or_else(|| self.busy())?;
                tokio::time::timeout(self.wait, self.slots.clone().acquire_owned())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .ok_or_else(|| self.busy())?
            }
        };
        Ok(Admitted {
            _slot: slot,
            _heavy: heavy_permit,
        })
    }

    fn busy(&self) -> ApiError {
        ApiError::busy(format!(
            "the server is busy: {} searches are running and the queue is full; try again in a second",
            self.size
        ))
    }

    fn heavy_busy(&self) -> ApiError {
        ApiError::busy(
            "too many expensive searches at once (long queries, many prefix or fuzzy words, \
             deep pages or every facet value); try again in a second, or narrow the search",
        )
    }
}

/// Whether a search looks expensive enough to queue apart from ordinary
/// ones: an ordinary search is a few words, a first few pages, the
/// usual facet counts.
pub fn is_heavy(request: &SearchRequest) -> bool {
    let q = &request.query;
    q.chars().count() > 200
        || q.split_whitespace().count() > 32
        || q.chars().filter(|&c| c == '*' || c == '~').count() > 4
        || request.offset > 1000
        || request.facet_limit == 0
        || request.facet_limit > 1000
}

/// What the handlers share: the open index and the gate before it.
struct App {
    /// Swapped whole when SIGHUP reopens the index; requests in flight
    /// keep the one they started with.
    service: RwLock<Arc<dyn SearchService>>,
    gate: Gate,
}

impl App {
    fn service(&self) -> Arc<dyn SearchService> {
        self.service
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

type Shared = Arc<App>;

/// The application: routes, limits and headers over an open index.
/// `bound` is the address the server listens on (for the `Host` check).
pub fn router(
    service: Box<dyn SearchService>,
    options: &ServeOptions,
    bound: SocketAddr,
) -> Router {
    routes(
        Arc::new(App {
            service: RwLock::new(Arc::from(service)),
            gate: Gate::new(options.max_searches),
        }),
        HostCheck {
            policy: options.hosts.clone(),
            bound,
        },
    )
}

fn routes(app: Shared, hosts: HostCheck) -> Router {
    let header = |name, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    Router::new()
        .route(
            "/",
            get(|| async { page(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { page(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/app.css",
            get(|| async { page(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route("/healthz", get(healthz))
        .route("/api/search", get(search))
        .route("/api/units/{id}", get(unit))
        .route("/api/similar/{id}", get(similar_units))
        .route("/api/facets", get(facets))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no such page: the API is under /api/ (search, units/{id}, similar/{id}, facets)",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: every route answers GET (and HEAD) only",
            )
        })
        .with_state(app)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn_with_state(Arc::new(hosts), check_host))
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(CompressionLayer::new())
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Refuses a request whose `Host` names another server (421).
async fn check_host(State(hosts): State<Arc<HostCheck>>, request: Request, next: Next) -> Response {
    let verdict = {
        let mut given = request.headers().get_all(header::HOST).iter();
        match (given.next(), given.next()) {
            // No Host (HTTP/1.0): no browser sends that, so nothing to rebind.
            (None, _) => Ok(()),
            (Some(host), None) => match host.to_str() {
                Ok(h) if hosts.allows(h) => Ok(()),
                _ => Err(hosts.refusal(&String::from_utf8_lossy(host.as_bytes()))),
            },
            (Some(_), Some(_)) => Err(ApiError::bad_request("more than one Host header")),
        }
    };
    match verdict {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// Turns the framework's plain-text or empty error answers (405, 408,
/// 413, a malformed path...) into `{"error": "..."}` JSON.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let said = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "the request body is too large: at most {} KiB",
            MAX_BODY_BYTES / 1024
        ),
        StatusCode::REQUEST_TIMEOUT => format!(
            "the request took longer than {} s; narrow the search",
            REQUEST_TIMEOUT.as_secs()
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            "method not allowed: every route answers GET (and HEAD) only".to_string()
        }
        _ if !said.is_empty() => said,
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    };
    let body = serde_json::to_vec(&ErrorBody { error: &message }).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

/// Runs index work on a blocking thread once the gate admits it. The slot
/// goes with the work: a request that times out frees its slot only when
/// its work really ends, so no more than `max_searches` ever run.
async fn blocking<T: Send + 'static>(
    app: &Shared,
    heavy: bool,
    work: impl FnOnce(&dyn SearchService) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let admitted = app.gate.enter(heavy).await?;
    let service = app.service();
    tokio::task::spawn_blocking(move || {
        let _admitted = admitted;
        work(service.as_ref())
    })
    .await
    .unwrap_or_else(|e| {
        Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request failed: {e}"),
        ))
    })
}

/// Query-string pairs, decoded; keys may repeat (`outlet=A&outlet=B`).
fn pairs(raw: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn number(
    pairs: &[(String, String)],
    key: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some((_, v)) = pairs.iter().rev().find(|(k, _)| k == key) else {
        return Ok(default);
    };
    let n: usize = v
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{key}={v:?} is not a whole number")))?;
    if n > max {
        return Err(ApiError::bad_request(format!(
            "{key}={n} is too large: at most {max}"
        )));
    }
    Ok(n)
}

/// Parses `/api/search`'s parameters into a request.
pub fn search_request(raw: Option<String>) -> Result<SearchRequest, ApiError> {
    let pairs = pairs(raw);
    let mut filters = Filters::default();
    let mut query = String::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "q" => query = v.clone(),
            // An empty date field of the page's form means no date.
            "since" | "until" if v.is_empty() => {}
            "limit" | "offset" | "facet_limit" => {}
            key => {
                if !filters.set(key, v.clone()) {
                    return Err(ApiError::bad_request(format!(
                        "unknown parameter {key:?}: use q, {}, limit, offset, facet_limit",
                        Filters::KEYS.join(", ")
                    )));
                }
            }
        }
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(format!(
            "the query is {} characters long: at most {MAX_QUERY_CHARS}",
            query.chars().count()
        )));
    }
    let limit = number(&pairs, "limit", 10, MAX_LIMIT)?;
    if limit == 0 {
        return Err(ApiError::bad_request("limit=0: ask for at least 1 hit"));
    }
    Ok(SearchRequest {
        query,
        filters,
        limit,
        offset: number(&pairs, "offset", 0, MAX_OFFSET)?,
        facet_limit: number(&pairs, "facet_limit", DEFAULT_FACET_LIMIT, MAX_FACET_LIMIT)?,
        deadline: None,
    })
}

async fn search(State(s): State<Shared>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let mut request = search_request(raw)?;
    // The search's own work ends at the request's timeout.
    request.deadline = Some(std::time::Instant::now() + REQUEST_TIMEOUT);
    let heavy = is_heavy(&request);
    let response = blocking(&s, heavy, move |s| {
        s.search(&request).map_err(ApiError::from)
    })
    .await?;
    Ok(Json(response).into_response())
}

async fn unit(
    State(s): State<Shared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let context = number(&pairs(raw), "context", 2, MAX_CONTEXT)?;
    let shown = blocking(&s, false, move |s| {
        s.show(&id, context).map_err(ApiError::from)
    })
    .await?;
    Ok(Json(shown).into_response())
}

async fn similar_units(
    State(s): State<Shared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let limit = number(&pairs(raw), "limit", 10, MAX_LIMIT)?.max(1);
    let deadline = Some(std::time::Instant::now() + REQUEST_TIMEOUT);
    let found = blocking(&s, false, move |s| {
        s.similar(&id, limit, deadline).map_err(ApiError::from)
    })
    .await?;
    Ok(Json(found).into_response())
}

async fn facets(State(s): State<Shared>) -> Result<Response, ApiError> {
    let all = blocking(&s, false, move |s| s.facets().map_err(ApiError::from)).await?;
    Ok(Json(all).into_response())
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    units: u64,
}

async fn healthz(State(s): State<Shared>) -> Json<Health> {
    Json(Health {
        status: "ok",
        units: s.service().units(),
    })
}

// ------------------------------------------------------------ serving

/// The signals `serve` acts on.
enum Signal {
    /// Ctrl-C or SIGTERM: stop.
    Stop,
    /// SIGHUP: reopen the index.
    Reopen,
}

struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> io::Result<Signals> {
        Ok(Signals {})
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Stop,
            _ = self.terminate.recv() => Signal::Stop,
            _ = self.hangup.recv() => Signal::Reopen,
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Signal {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop
    }

    /// The next stop signal (a second Ctrl-C while stopping).
    async fn next_stop(&mut self) {
        while let Signal::Reopen = self.next().await {}
    }
}

/// Serves on `listener` until Ctrl-C or SIGTERM, then stops accepting,
/// lets requests in flight finish for up to `shutdown_timeout` (a second
/// Ctrl-C stops at once) and returns. SIGHUP reopens the index. `notify`
/// is told what happens, one line at a time.
pub async fn serve(
    listener: TcpListener,
    service: Box<dyn SearchService>,
    options: ServeOptions,
    notify: impl Fn(&str),
) -> io::Result<()> {
    let bound = listener.local_addr()?;
    let app = Arc::new(App {
        service: RwLock::new(Arc::from(service)),
        gate: Gate::new(options.max_searches),
    });
    let router = routes(
        app.clone(),
        HostCheck {
            policy: options.hosts.clone(),
            bound,
        },
    );
    let options = Arc::new(options);
    let max_connections = options.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let connections = Arc::new(Semaphore::new(max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (stop, stopped) = watch::channel(false);
    let mut signals = Signals::new()?;
    let mut last_accept_error: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match connections.clone().try_acquire_owned() {
                    Ok(permit) => {
                        tokio::spawn(connection(
                            stream,
                            router.clone(),
                            options.clone(),
                            stopped.clone(),
                            permit,
                        ));
                    }
                    Err(_) => {
                        if let Ok(permit) = refusing.clone().try_acquire_owned() {
                            tokio::spawn(refuse(stream, max_connections, permit));
                        }
                    }
                },
                Err(e) => {
                    // Out of file descriptors and the like: say so (at most
                    // once a minute) and pause rather than spin.
                    let now = tokio::time::Instant::now();
                    if last_accept_error.is_none_or(|t| now - t > Duration::from_secs(60)) {
                        notify(&format!("cannot accept a connection: {e}"));
                        last_accept_error = Some(now);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            signal = signals.next() => match signal {
                Signal::Stop => break,
                Signal::Reopen => reopen(&app, &notify).await,
            },
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let open = max_connections - connections.available_permits();
    notify(&format!(
        "stopping: {open} connection(s) open; waiting up to {} s for requests in flight (Ctrl-C again stops at once)",
        options.shutdown_timeout.as_secs()
    ));
    tokio::select! {
        _ = connections.acquire_many(max_connections as u32) => notify("stopped"),
        _ = tokio::time::sleep(options.shutdown_timeout) => notify(&format!(
            "stopped after {} s with {} connection(s) still open",
            options.shutdown_timeout.as_secs(),
            max_connections - connections.available_permits()
        )),
        _ = signals.next_stop() => notify("stopped at once"),
    }
    Ok(())
}

/// SIGHUP: opens the index afresh (after a rebuild that replaced its
/// folder, say) and swaps it in; on failure keeps serving the open one.
async fn reopen(app: &Shared, notify: &impl Fn(&str)) {
    let open = app.service();
    let opened = tokio::task::spawn_blocking(move || open.reopen()).await;
    match opened {
        Ok(Ok(service)) => {
            let (units, place) = (service.units(), service.place());
            *app.service.write().unwrap_or_else(|p| p.into_inner()) = Arc::from(service);
            notify(&format!("SIGHUP: reopened {place} ({units} units)"));
        }
        Ok(Err(e)) => notify(&format!(
            "SIGHUP: cannot reopen the index, still serving the one open: {e}"
        )),
        Err(e) => notify(&format!(
            "SIGHUP: cannot reopen the index, still serving the one open: {e}"
        )),
    }
}

/// One HTTP/1.1 connection, with the header and idle timeouts; on stop,
/// a request in flight may finish, anything else is closed.
async fn connection(
    stream: TcpStream,
    router: Router,
    options: Arc<ServeOptions>,
    mut stopped: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let service = {
        let in_flight = in_flight.clone();
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let router = router.clone();
            let busy = InFlight::enter(&in_flight);
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                drop(busy);
                response
            }
        })
    };
    let io = TokioIo::new(Stalling::new(stream, options.idle_timeout));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let conn = http.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stopped.wait_for(|&s| s) => {}
    }
    conn.as_mut().graceful_shutdown();
    let allowed = if in_flight.load(Ordering::SeqCst) > 0 {
        options.shutdown_timeout
    } else {
        CLOSE_IDLE
    };
    let _ = tokio::time::timeout(allowed, conn).await;
}

/// Counts a request in flight on its connection while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> InFlight {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers a connection over the cap with 503 and closes it.
async fn refuse(mut stream: TcpStream, cap: usize, _permit: OwnedSemaphorePermit) {
    let body = serde_json::to_string(&ErrorBody {
        error: &format!("the server has {cap} connections open, its limit; try again in a second"),
    })
    .unwrap_or_default();
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {RETRY_AFTER_SECS}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        write_all(&mut stream, answer.as_bytes()).await?;
        std::future::poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx)).await?;
        // Read what the client sent, so that closing does not reset the
        // connection before it has read the answer.
        let mut sink = [0u8; 4096];
        loop {
            let mut buf = ReadBuf::new(&mut sink);
            std::future::poll_fn(|cx| Pin::new(&mut stream).poll_read(cx, &mut buf)).await?;
            if buf.filled().is_empty() {
                return io::Result::Ok(());
            }
        }
    })
    .await;
}

async fn write_all<T: AsyncWrite + Unpin>(io: &mut T, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = std::future::poll_fn(|cx| Pin::new(&mut *io).poll_write(cx, bytes)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
    }
    Ok(())
}

/// A socket that fails with `TimedOut` when it has moved no byte for
/// `limit` while the server waits on it: a client that stops reading an
/// answer, or stops sending, cannot hold its connection forever.
struct Stalling<T> {
    inner: T,
    limit: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    armed: bool,
}

impl<T> Stalling<T> {
    fn new(inner: T, limit: Duration) -> Stalling<T> {
        Stalling {
            inner,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
            armed: false,
        }
    }

    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Ready(r) => {
                self.armed = false;
                Poll::Ready(r)
            }
            Poll::Pending => {
                if !self.armed {
                    let at = tokio::time::Instant::now() + self.limit;
                    self.timer.as_mut().reset(at);
                    self.armed = true;
                }
                match self.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the connection moved no data for too long",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stalling<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.watch(cx, polled)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stalling<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> Result<SearchRequest, ApiError> {
        search_request(Some(q.to_string()))
    }

    #[test]
    fn repeated_filters_and_paging() {
        let r = req("q=Section+907&outlet=JNS&outlet=The%20New%20Arab&limit=5&offset=10").unwrap();
        assert_eq!(r.query, "Section 907");
        assert_eq!(r.filters.outlet, ["JNS", "The New Arab"]);
        assert_eq!((r.limit, r.offset), (5, 10));
    }

    #[test]
    fn bad_parameters_are_rejected_with_a_reason() {
        for (q, needle) in [
            ("q=x&limit=101", "at most 100"),
            ("q=x&limit=ten", "not a whole number"),
            ("q=x&limit=0", "at least 1"),
            ("q=x&facet_limit=10001", "at most 10000"),
            ("q=x&facet_limit=-1", "not a whole number"),
            ("q=x&colour=red", "unknown parameter"),
        ] {
            let e = req(q).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.message.contains(needle), "{q}: {}", e.message);
        }
        let long = format!("q={}", "a".repeat(MAX_QUERY_CHARS + 1));
        assert!(req(&long).unwrap_err().message.contains("at most 1000"));
    }

    #[test]
    fn server_side_failures_are_500_and_bad_queries_400() {
        let status = |e: Error| ApiError::from(e).status;
        assert_eq!(
            status(Error::Input(
                "the index has units but not the record".into()
            )),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status(Error::Io {
                context: "reading".into(),
                source: io::Error::other("disk")
            }),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(status(Error::Query("x".into())), StatusCode::BAD_REQUEST);
        assert_eq!(status(Error::Filter("x".into())), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(Error::UnitNotFound("x#1".into())),
            StatusCode::NOT_FOUND
        );
    }

    fn check(policy: HostPolicy, bound: &str) -> HostCheck {
        HostCheck {
            policy,
            bound: bound.parse().unwrap(),
        }
    }

    #[test]
    fn a_loopback_server_answers_only_to_loopback_names_on_its_port() {
        let c = check(HostPolicy::default(), "127.0.0.1:7700");
        for ok in [
            "localhost:7700",
            "LOCALHOST:7700",
            "127.0.0.1:7700",
            "[::1]:7700",
            "localhost.:7700",
        ] {
            assert!(c.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:7700",
            "localhost:7701",
            "localhost",
            "127.0.0.1",
            "192.168.1.5:7700",
            "localhost.evil.example:7700",
            "",
            "[::1",
            "localhost:port",
        ] {
            assert!(!c.allows(bad), "{bad}");
        }
        let c = check(HostPolicy::default(), "127.0.0.1:80");
        assert!(c.allows("localhost"));
        let c = check(
            HostPolicy::Bound(vec!["News.Example".into()]),
            "127.0.0.1:7700",
        );
        assert!(c.allows("news.example") && c.allows("news.example:443"));
        assert!(!c.allows("other.example:7700"));
        assert!(check(HostPolicy::Any, "127.0.0.1:7700").allows("evil.example"));
        // A server bound to every address answers to any IP address, but
        // still to no unknown name.
        let c = check(HostPolicy::default(), "0.0.0.0:7700");
        assert!(c.allows("192.168.1.5:7700") && c.allows("[fe80::1]:7700"));
        assert!(!c.allows("evil.example:7700"));
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_full_gate_answers_503_with_retry_after() {
        runtime().block_on(async {
            let mut gate = Gate::new(1);
            gate.wait = Duration::from_millis(20);
            let held = gate.enter(false).await.unwrap();
            // Waiters past the queue are refused at once; those in the
            // queue after the wait.
            let e = match gate.enter(false).await {
                Err(e) => e,
                Ok(_) => panic!("a second search entered a gate of one"),
            };
            assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
            let response = e.into_response();
            assert_eq!(response.headers()[header::RETRY_AFTER], "1");
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            drop(held);
            assert!(gate.enter(false).await.is_ok(), "the slot is free again");
        });
    }

    #[test]
    fn expensive_searches_leave_a_slot_for_ordinary_ones() {
        runtime().block_on(async {
            let mut gate = Gate::new(2);
            gate.wait = Duration::from_millis(20);
            let heavy = gate.enter(true).await.unwrap();
            assert!(
                gate.enter(true).await.is_err(),
                "a second expensive search took the last slot"
            );
            let ordinary = gate.enter(false).await;
            assert!(ordinary.is_ok(), "an ordinary search found no slot");
            drop((heavy, ordinary));
        });
        let mut r = SearchRequest::new("Section 907");
        assert!(!is_heavy(&r));
        r.query = "th* ".repeat(250);
        assert!(is_heavy(&r));
        let mut r = SearchRequest::new("oil");
        r.facet_limit = 0;
        assert!(is_heavy(&r));
        r.facet_limit = 100;
        r.offset = 9_990;
        assert!(is_heavy(&r));
    }

    #[test]
    fn a_stalled_connection_fails_instead_of_waiting_forever() {
        runtime().block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            // The client never reads: writing stalls once the socket
            // buffers are full.
            let (ours, _) = listener.accept().await.unwrap();
            let mut s = Stalling::new(ours, Duration::from_millis(100));
            let flood = vec![0u8; 64 << 20];
            let outcome =
                tokio::time::timeout(Duration::from_secs(20), write_all(&mut s, &flood)).await;
            let e = outcome.expect("the stalled write ended").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            drop(client);
        });
    }
}
