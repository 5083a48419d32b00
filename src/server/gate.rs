//! The gate before the index: at most `max_searches` index reads at once,
//! a short queue, then 503 with `Retry-After`; expensive searches leave a
//! slot for ordinary ones.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::search::SearchRequest;

use super::errors::ApiError;
use super::QUEUE_WAIT;

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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;

    #[test]
    fn a_full_gate_answers_503_with_retry_after() {
        super::super::test_runtime().block_on(async {
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
        super::super::test_runtime().block_on(async {
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
}
