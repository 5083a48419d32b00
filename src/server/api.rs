//! The routes: the page's three files and the JSON API (search, units,
//! similar, facets, health), each answered through the search service on
//! a blocking thread once the gate admits it.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::search::histogram::DEFAULT_SPLIT_TOP;
use crate::search::{
    Filters, HistogramRequest, IntervalChoice, SearchRequest, SearchService, DEFAULT_FACET_LIMIT,
};

use super::errors::{json_errors, ApiError};
use super::gate::{is_heavy, Gate};
use super::host::{check_host, HostCheck};
use super::{
    ServeOptions, APP_CSS, APP_JS, CONTENT_SECURITY_POLICY, INDEX_HTML, MAX_BODY_BYTES,
    MAX_CONTEXT, MAX_FACET_LIMIT, MAX_LIMIT, MAX_OFFSET, MAX_QUERY_CHARS, REQUEST_TIMEOUT,
};

/// What the handlers share: the open index and the gate before it.
pub(super) struct App {
    /// Swapped whole when SIGHUP reopens the index; requests in flight
    /// keep the one they started with.
    pub(super) service: RwLock<Arc<dyn SearchService>>,
    pub(super) gate: Gate,
}

impl App {
    pub(super) fn service(&self) -> Arc<dyn SearchService> {
        self.service
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

pub(super) type Shared = Arc<App>;

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

pub(super) fn routes(app: Shared, hosts: HostCheck) -> Router {
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
        .route("/api/export", get(super::export::export))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no such page: the API is under /api/ (search, export, units/{id}, similar/{id}, facets)",
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
    let mut explain = false;
    let mut histogram: Option<HistogramRequest> = None;
    for (k, v) in &pairs {
        match k.as_str() {
            "q" => query = v.clone(),
            // An empty date field of the page's form means no date.
            "since" | "until" if v.is_empty() => {}
            "limit" | "offset" | "facet_limit" => {}
            "explain" => explain = switch(k, v)?,
            "histogram" if v.is_empty() => {}
            "histogram" => {
                histogram
                    .get_or_insert_with(HistogramRequest::default)
                    .interval =
                    IntervalChoice::parse(v).map_err(|e| ApiError::bad_request(e.to_string()))?
            }
            "normalize" => {
                if switch(k, v)? {
                    histogram
                        .get_or_insert_with(HistogramRequest::default)
                        .normalize = true;
                }
            }
            "split" => {
                histogram
                    .get_or_insert_with(HistogramRequest::default)
                    .split = HistogramRequest::split_field(v)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?
            }
            "split_top" => {}
            key => {
                if !filters.set(key, v.clone()) {
                    return Err(ApiError::bad_request(format!(
                        "unknown parameter {key:?}: use q, {}, limit, offset, facet_limit, explain, histogram, normalize, split, split_top",
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
        explain,
        histogram: match histogram {
            Some(h) => Some(HistogramRequest {
                split_top: number(&pairs, "split_top", DEFAULT_SPLIT_TOP, MAX_FACET_LIMIT)?,
                ..h
            }),
            None => None,
        },
    })
}

/// A yes-or-no parameter: `true`/`1` or `false`/`0`/empty.
fn switch(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{key}={value:?}: use {key}=true or {key}=false"
        ))),
    }
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
