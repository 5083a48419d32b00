//! Errors as the API answers them: a status chosen by what went wrong
//! (the client's request, an overloaded or damaged server) and a JSON body,
//! also for the framework's own errors (405, 413, 408...).

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::error::Error;

use super::{MAX_BODY_BYTES, REQUEST_TIMEOUT, RETRY_AFTER_SECS};

/// A failed request: a status and a message, sent as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
    /// Seconds, sent as `Retry-After` (with 503).
    pub(super) retry_after: Option<u32>,
}

#[derive(Serialize)]
pub(super) struct ErrorBody<'a> {
    pub(super) error: &'a str,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(super) fn busy(message: impl Into<String>) -> ApiError {
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
            // The cluster the server answers from failed it.
            Error::Cluster(_) => StatusCode::BAD_GATEWAY,
            Error::Unavailable(_) => StatusCode::NOT_IMPLEMENTED,
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

/// Turns the framework's plain-text or empty error answers (405, 408,
/// 413, a malformed path...) into `{"error": "..."}` JSON.
pub(super) async fn json_errors(response: Response) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    use crate::error::Error;

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
        assert_eq!(status(Error::Cluster("x".into())), StatusCode::BAD_GATEWAY);
        assert_eq!(
            status(Error::Unavailable("x".into())),
            StatusCode::NOT_IMPLEMENTED
        );
        assert_eq!(status(Error::Query("x".into())), StatusCode::BAD_REQUEST);
        assert_eq!(status(Error::Filter("x".into())), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(Error::UnitNotFound("x#1".into())),
            StatusCode::NOT_FOUND
        );
    }
}
