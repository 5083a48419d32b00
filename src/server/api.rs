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

use crate::search::{SearchService, TraceRequest};

use super::app::{blocking, App, Shared};
use super::errors::{json_errors, ApiError};
use super::gate::{is_heavy, Gate};
use super::host::{check_host, HostCheck};
use super::params::{number, pairs, search_request};
use super::{
    ServeOptions, APP_CSS, APP_JS, CONTENT_SECURITY_POLICY, INDEX_HTML, MAX_BODY_BYTES,
    MAX_CONTEXT, MAX_LIMIT, MAX_QUERY_CHARS, REQUEST_TIMEOUT,
};

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
        .route("/api/trace", get(trace_text))
        .route("/api/trace/{id}", get(trace_unit))
        .route("/api/facets", get(facets))
        .route("/api/export", get(super::export::export))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no such page: the API is under /api/ (search, export, units/{id}, similar/{id}, trace/{id}, trace?text=, facets)",
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

/// `/api/trace/{id}`: `trace UNIT_ID --json`.
async fn trace_unit(State(s): State<Shared>, Path(id): Path<String>) -> Result<Response, ApiError> {
    traced(s, TraceRequest::Unit(id)).await
}

/// `/api/trace?text=…`: `trace --text … --json`.
async fn trace_text(
    State(s): State<Shared>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut text = None;
    for (k, v) in pairs(raw) {
        match k.as_str() {
            "text" => text = Some(v),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}: /api/trace takes text (or a unit id: /api/trace/{{id}})"
                )))
            }
        }
    }
    let text = text.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        ApiError::bad_request(
            "text= is missing: the quote to trace (or /api/trace/{id} for a unit)",
        )
    })?;
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(format!(
            "the quote is {} characters long: at most {MAX_QUERY_CHARS}",
            text.chars().count()
        )));
    }
    traced(s, TraceRequest::Text(text)).await
}

async fn traced(s: Shared, request: TraceRequest) -> Result<Response, ApiError> {
    let deadline = Some(std::time::Instant::now() + REQUEST_TIMEOUT);
    let found = blocking(&s, false, move |s| {
        s.trace(&request, deadline).map_err(ApiError::from)
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
