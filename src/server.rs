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
//! with a message, never a panic.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::Error;
use crate::search::{Filters, SearchRequest, Searcher, DEFAULT_FACET_LIMIT};
use crate::similar::similar_until;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Most hits per page.
pub const MAX_LIMIT: usize = 100;
/// Deepest page start.
pub const MAX_OFFSET: usize = 10_000;
/// Largest `facet_limit` (0, all values, is allowed too).
pub const MAX_FACET_LIMIT: usize = 10_000;
/// Most neighbours on each side in `/api/units/{id}`.
pub const MAX_CONTEXT: usize = 50;
/// Longest a request may run.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The page forbids inline script and style and anything from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/app.js");
const APP_CSS: &str = include_str!("../web/app.css");

type Shared = Arc<Searcher>;

/// A failed request: a status and a message, sent as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let status = match e {
            Error::Query(_) | Error::Filter(_) | Error::Input(_) | Error::Limit(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::UnitNotFound(_) => StatusCode::NOT_FOUND,
            // The search stopped itself at its deadline: the server is
            // busy or the query too costly, not the request malformed.
            Error::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: &self.message,
            }),
        )
            .into_response()
    }
}

/// The application: routes, limits and headers over an open index.
pub fn router(searcher: Arc<Searcher>) -> Router {
    let header = |name, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    Router::new()
        .route("/", get(|| async { page(INDEX_HTML, "text/html; charset=utf-8") }))
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
            ApiError {
                status: StatusCode::NOT_FOUND,
                message: "no such page: the API is under /api/ (search, units/{id}, similar/{id}, facets)".into(),
            }
        })
        .with_state(searcher)
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(CompressionLayer::new())
        .layer(RequestBodyLimitLayer::new(16 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Serves until Ctrl-C. `ready` is told the bound address (port 0 picks a
/// free one) before the first request is accepted.
pub async fn serve(
    searcher: Searcher,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    ready(listener.local_addr()?);
    axum::serve(listener, router(Arc::new(searcher)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// Runs blocking index work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the request failed: {e}"),
        })
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
            "author" => filters.author.push(v.clone()),
            "outlet" => filters.outlet.push(v.clone()),
            "stance" => filters.stance.push(v.clone()),
            "genre" => filters.genre.push(v.clone()),
            "kind" => filters.kind.push(v.clone()),
            "since" if !v.is_empty() => filters.since = Some(v.clone()),
            "until" if !v.is_empty() => filters.until = Some(v.clone()),
            "since" | "until" | "limit" | "offset" | "facet_limit" => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}: use q, author, outlet, stance, genre, kind, since, until, limit, offset, facet_limit"
                )))
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
    let response = blocking(move || s.search(&request).map_err(ApiError::from)).await?;
    Ok(Json(response).into_response())
}

async fn unit(
    State(s): State<Shared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let context = number(&pairs(raw), "context", 2, MAX_CONTEXT)?;
    let shown = blocking(move || s.show(&id, context).map_err(ApiError::from)).await?;
    Ok(Json(shown).into_response())
}

async fn similar_units(
    State(s): State<Shared>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let limit = number(&pairs(raw), "limit", 10, MAX_LIMIT)?.max(1);
    let deadline = Some(std::time::Instant::now() + REQUEST_TIMEOUT);
    let found =
        blocking(move || similar_until(&s, &id, limit, deadline).map_err(ApiError::from)).await?;
    Ok(Json(found).into_response())
}

async fn facets(State(s): State<Shared>) -> Result<Response, ApiError> {
    let all = blocking(move || s.facets().map_err(ApiError::from)).await?;
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
        units: s.tantivy_searcher().num_docs(),
    })
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
}
