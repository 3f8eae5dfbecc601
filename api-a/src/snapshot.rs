//! What requests are answered from: the latest sample and the window's samples as of the last
//! successful read of Redis, and when that read was; and the one reading of it that the JSON
//! routes, the page and readiness share ([`Reading`]).

use std::time::{Duration, Instant};

use price_store::{Sample, WriterSettings};

use crate::errors::ApiError;
use crate::window::{Window, WindowStats};

/// How long a successful read may serve requests. Past this, Redis counts as unreachable:
/// reads normally succeed every 250 ms, so an older one means Redis is down or hanging.
pub const MAX_SNAPSHOT_AGE: Duration = Duration::from_secs(1);

/// The samples as the refresher last read them.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// When the last successful read started; `None` before the first one.
    pub read_at: Option<Instant>,
    /// The newest sample, however old (it may be older than the window); when the newest stored
    /// sample is one a reader rejects, the newest valid one of the window.
    pub latest: Option<Sample>,
    /// The samples that averages are computed from.
    pub window: Window,
    /// What the poller says it keeps, as of the last read.
    pub settings: Option<WriterSettings>,
}

/// What can honestly be said about the price at a moment.
#[derive(Debug, PartialEq)]
pub enum Reading<'a> {
    /// The last read of Redis failed or is too old to trust: nothing.
    StoreUnavailable,
    /// Redis answers, but holds no sample api-a believes.
    NoPriceYet,
    /// The newest sample, however old.
    Latest(&'a Sample),
}

impl<'a> Reading<'a> {
    /// The newest sample, or why there is none.
    pub fn latest(&self) -> Result<&'a Sample, ApiError> {
        match self {
            Reading::StoreUnavailable => Err(ApiError::StoreUnavailable),
            Reading::NoPriceYet => Err(ApiError::NoPriceYet),
            Reading::Latest(sample) => Ok(sample),
        }
    }
}

impl Snapshot {
    /// The snapshot as it may be served at `now`.
    pub fn reading(&self, now: Instant) -> Reading<'_> {
        match (self.is_fresh(now), &self.latest) {
            (false, _) => Reading::StoreUnavailable,
            (true, None) => Reading::NoPriceYet,
            (true, Some(latest)) => Reading::Latest(latest),
        }
    }

    /// The samples within `window` before `now_ms`, or why there are none: the reading's own
    /// reason first (no store, no price at all), then an empty window.
    pub fn window_at(
        &self,
        now: Instant,
        now_ms: i64,
        window: Duration,
    ) -> Result<WindowStats, ApiError> {
        self.reading(now).latest()?;
        self.window
            .stats(now_ms, window)
            .ok_or(ApiError::NoPriceInWindow)
    }

    /// Whether Redis answered at most [`MAX_SNAPSHOT_AGE`] before `now`, so that what this holds
    /// may be served.
    pub fn is_fresh(&self, now: Instant) -> bool {
        self.read_at
            .is_some_and(|read_at| now.saturating_duration_since(read_at) <= MAX_SNAPSHOT_AGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_says_unavailable_before_no_price_and_a_price_only_when_fresh() {
        let read_at = Instant::now();
        let later = read_at + MAX_SNAPSHOT_AGE + Duration::from_millis(1);
        let sample = test_support::samples::confirmed(1_000, 97_000.0);
        let mut snapshot = Snapshot::default();
        assert_eq!(snapshot.reading(read_at), Reading::StoreUnavailable);
        snapshot.read_at = Some(read_at);
        assert_eq!(snapshot.reading(read_at), Reading::NoPriceYet);
        assert_eq!(
            snapshot.window_at(read_at, 1_000, Duration::from_secs(60)),
            Err(ApiError::NoPriceYet)
        );
        snapshot.latest = Some(sample.clone());
        assert_eq!(snapshot.reading(read_at), Reading::Latest(&sample));
        assert_eq!(
            snapshot.window_at(read_at, 1_000, Duration::from_secs(60)),
            Err(ApiError::NoPriceInWindow),
            "the newest sample is not in the window it was read into"
        );
        assert_eq!(snapshot.reading(later), Reading::StoreUnavailable);
    }

    #[test]
    fn a_snapshot_serves_for_max_snapshot_age_after_its_read_then_stops() {
        let read_at = Instant::now();
        let snapshot = Snapshot {
            read_at: Some(read_at),
            ..Snapshot::default()
        };
        assert!(snapshot.is_fresh(read_at));
        assert!(snapshot.is_fresh(read_at + MAX_SNAPSHOT_AGE));
        assert!(!snapshot.is_fresh(read_at + MAX_SNAPSHOT_AGE + Duration::from_millis(1)));
        assert!(!Snapshot::default().is_fresh(read_at));
    }
}
