//! What the handlers share: the open index behind the gate, and running
//! index work on a blocking thread once the gate admits it.

use std::sync::{Arc, RwLock};

use axum::http::StatusCode;

use crate::search::SearchService;

use super::errors::ApiError;
use super::gate::Gate;

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

/// Runs index work on a blocking thread once the gate admits it. The slot
/// goes with the work: a request that times out frees its slot only when
/// its work really ends, so no more than `max_searches` ever run.
pub(super) async fn blocking<T: Send + 'static>(
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
