//! The API's handlers. They read the in-memory snapshot only: no request waits on Redis.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use warp::Filter;
use warp::reply::Json;

use crate::errors::ApiError;
use crate::models::{Average, Current, now_ms};
use crate::snapshot::Snapshot;

/// What the handlers need, shared by every request.
pub struct State {
    pub snapshot: watch::Receiver<Snapshot>,
    pub average_window: Duration,
    pub stale_after: Duration,
}

impl State {
    /// `answer` computed from the snapshot of the latest read, unless Redis is unreachable. The
    /// snapshot is borrowed for the computation only (microseconds): the refresher updates it
    /// in place rather than copying a day of samples.
    fn answer<T>(
        &self,
        answer: impl FnOnce(&Snapshot) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let snapshot = self.snapshot.borrow();
        if !snapshot.is_fresh(Instant::now()) {
            return Err(ApiError::StoreUnavailable);
        }
        answer(&snapshot)
    }
}

/// Hands `state` to a handler.
pub fn with_state(
    state: Arc<State>,
) -> impl Filter<Extract = (Arc<State>,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// `GET {BASE_PATH}/current`: the latest sample.
pub fn current(state: Arc<State>) -> Result<Json, ApiError> {
    state.answer(|snapshot| {
        let latest = snapshot.latest.as_ref().ok_or(ApiError::NoPriceYet)?;
        let current = Current::new(latest, now_ms(), state.stale_after);
        Ok(warp::reply::json(&current))
    })
}

/// `GET {BASE_PATH}/average`: the mean over the window ending now.
pub fn average(state: Arc<State>) -> Result<Json, ApiError> {
    state.answer(|snapshot| {
        if snapshot.latest.is_none() {
            return Err(ApiError::NoPriceYet);
        }
        let stats = snapshot
            .window
            .stats(now_ms(), state.average_window)
            .ok_or(ApiError::NoPriceInWindow)?;
        Ok(warp::reply::json(&Average::new(
            &stats,
            state.average_window,
        )))
    })
}
