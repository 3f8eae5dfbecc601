//! The JSON API's handlers. They read the in-memory snapshot only: no request waits on Redis.

use std::convert::Infallible;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use service_kit::headers::{Caching, cached};
use service_kit::http::Problem;
use tokio::sync::watch;
use warp::Filter;
use warp::http::header::CONTENT_TYPE;
use warp::reply::Response;

use crate::bodies::{AverageKey, Bodies, HistoryKey};
use crate::current_body::CurrentBody;
use crate::errors::{ApiError, WindowUnavailable};
use crate::models::{Average, Current, History, now_ms};
use crate::snapshot::Snapshot;

/// What the handlers need, shared by every request.
pub struct State {
    pub snapshot: watch::Receiver<Snapshot>,
    pub average_window: Duration,
    pub stale_after: Duration,
    /// `/current`'s body for the latest sample.
    pub current: CurrentBody,
    /// `/average`'s latest bodies.
    pub average: Bodies<AverageKey>,
    /// `/history`'s latest bodies.
    pub history: Bodies<HistoryKey>,
}

impl State {
    /// `answer` computed from the snapshot of the latest read. The snapshot is borrowed for the
    /// computation only (microseconds): the refresher updates it in place rather than copying a
    /// day of samples.
    fn answer<T>(
        &self,
        answer: impl FnOnce(&Snapshot) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        answer(&self.snapshot.borrow())
    }
}

/// Hands `state` to a handler.
pub fn with_state(
    state: Arc<State>,
) -> impl Filter<Extract = (Arc<State>,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// `GET {BASE_PATH}/current`: the latest sample.
#[utoipa::path(
    get,
    path = "/current",
    tag = "api",
    description = "The newest sample the poller stored, however old (`stale` tells). Answered \
        from memory, at most about 0.25 s behind Redis.",
    responses(
        (status = 200, description = "The latest price.", body = Current),
        (status = 503, description = "Nothing honest to say: no price stored yet, or the price \
            store (Redis) unavailable.", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds before asking again: 10 \
                before a first price, 1 while the store is unavailable.")),
            examples(
                ("no price yet" = (value = json!({
                    "type": "tag:btc-price-services,2026:no-price-yet",
                    "title": "No price yet", "status": 503, "detail": "no price yet"}))),
                ("store unavailable" = (value = json!({
                    "type": "tag:btc-price-services,2026:store-unavailable",
                    "title": "Price store unavailable", "status": 503,
                    "detail": "price store unavailable"}))),
            )),
    )
)]
pub fn current(state: &State) -> Result<Response, ApiError> {
    state.answer(|snapshot| {
        let latest = snapshot.reading(Instant::now()).latest()?;
        let body = state.current.body(latest, now_ms(), state.stale_after);
        Ok(price_response(body))
    })
}

/// `GET {BASE_PATH}/average`: the mean over the window ending now.
#[utoipa::path(
    get,
    path = "/average",
    tag = "api",
    description = "The arithmetic mean of every sample fetched within the last `AVERAGE_WINDOW` \
        (10 minutes by default) before the request: a sliding window by time.",
    responses(
        (status = 200, description = "The average.", body = Average),
        (status = 503, response = inline(WindowUnavailable)),
    )
)]
pub fn average(state: &State) -> Result<Response, ApiError> {
    state.answer(|snapshot| {
        let now_ms = now_ms();
        let stats = snapshot.window_at(Instant::now(), now_ms, state.average_window)?;
        let selection = snapshot.window.select(now_ms, state.average_window);
        let body = state
            .average
            .get_or_make((selection, snapshot.settings), || {
                let average =
                    Average::new(&stats, state.average_window, snapshot.settings.as_ref());
                serde_json::to_vec(&average)
                    .expect("an average always serializes")
                    .into()
            });
        Ok(price_response(body))
    })
}

/// `/history`'s points when `max_points` is not given: more than a chart is wide.
pub const DEFAULT_MAX_POINTS: usize = 500;
/// The `max_points` a client may ask for: an answer of at most about 250 KB.
pub const MAX_POINTS: RangeInclusive<usize> = 2..=5000;

/// `GET {BASE_PATH}/history[?max_points=N]`: the samples of the window ending now, oldest first,
/// evenly thinned to at most `max_points`.
#[utoipa::path(
    get,
    path = "/history",
    tag = "api",
    description = "The samples of the same window as `/average`, oldest first. With more than \
        `max_points`, evenly spaced ones by rank, always the oldest and the newest.",
    params(
        ("max_points" = Option<u32>, Query, minimum = 2, maximum = 5000,
            description = "The most points to return (default 500)."),
    ),
    responses(
        (status = 200, description = "The window's samples.", body = History),
        (status = 400, description = "`max_points` is not a whole number from 2 to 5000.",
            body = Problem, content_type = "application/problem+json",
            example = json!({"type": "tag:btc-price-services,2026:invalid-max-points",
                "title": "Invalid max_points", "status": 400,
                "detail": "max_points must be a whole number from 2 to 5000"})),
        (status = 503, response = inline(WindowUnavailable)),
    )
)]
pub fn history(state: Arc<State>, query: String) -> Result<Response, ApiError> {
    let max_points = max_points(&query)?;
    state.answer(|snapshot| {
        let now_ms = now_ms();
        snapshot.window_at(Instant::now(), now_ms, state.average_window)?;
        let window = &snapshot.window;
        let selection = window.select(now_ms, state.average_window);
        let body = state.history.get_or_make((selection, max_points), || {
            let points = window.points_of(selection, max_points);
            let history = History::new(selection.count, &points, state.average_window);
            serde_json::to_vec(&history)
                .expect("a history always serializes")
                .into()
        });
        Ok(price_response(body))
    })
}

/// A price answer, its JSON made beforehand: the same for every client, new at most every poll
/// interval.
fn price_response(body: Bytes) -> Response {
    let mut response = Response::new(body.into());
    response.headers_mut().insert(
        CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/json"),
    );
    cached(response, Caching::Briefly)
}

/// The `max_points` of a query string (other parameters are ignored), or the default. The query
/// is form-decoded first, names and values, as clients encode it (`%32` is `2`); the value must
/// then be ASCII digits alone, so neither a sign nor a space (`+`) slips through `parse`.
fn max_points(query: &str) -> Result<usize, ApiError> {
    let values: Vec<_> = form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "max_points")
        .map(|(_, value)| value)
        .collect();
    match values.as_slice() {
        [] => Ok(DEFAULT_MAX_POINTS),
        [value] if value.bytes().all(|b| b.is_ascii_digit()) => value
            .parse()
            .ok()
            .filter(|n| MAX_POINTS.contains(n))
            .ok_or(ApiError::InvalidMaxPoints),
        _ => Err(ApiError::InvalidMaxPoints),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_points_is_a_whole_number_in_range_given_once() {
        assert_eq!(max_points(""), Ok(DEFAULT_MAX_POINTS));
        assert_eq!(max_points("other=1"), Ok(DEFAULT_MAX_POINTS));
        assert_eq!(max_points("max_points=2"), Ok(2));
        assert_eq!(max_points("a=b&max_points=5000"), Ok(5000));
        for bad in [
            "max_points=1",
            "max_points=5001",
            "max_points=-3",
            "max_points=ten",
            "max_points=",
            "max_points=1e3",
            "max_points=10&max_points=20",
        ] {
            assert_eq!(max_points(bad), Err(ApiError::InvalidMaxPoints), "{bad}");
        }
    }

    #[test]
    fn max_points_is_read_percent_decoded_and_still_refused_outside_whole_numbers_2_to_5000() {
        assert_eq!(max_points("max_points=%32"), Ok(2));
        assert_eq!(max_points("max%5Fpoints=%35%30%30%30"), Ok(5000));
        assert_eq!(max_points("max_points=1%30"), Ok(10));
        for bad in [
            "max_points=%31",
            "max_points=5%30%30%31",
            "max_points=%2B2",
            "max_points=+2",
            "max_points=%202",
            "max_points=2%00",
            "max_points=%FF",
            "max_points=%2",
            "max_points=1%2E5",
            "max_points=2&max%5Fpoints=3",
        ] {
            assert_eq!(max_points(bad), Err(ApiError::InvalidMaxPoints), "{bad}");
        }
    }
}
