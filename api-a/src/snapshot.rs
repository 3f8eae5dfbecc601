//! What requests are answered from: the latest sample and the window's samples as of the last
//! successful read of Redis, and when that read was.

use std::time::{Duration, Instant};

use common::samples::{Sample, WriterSettings};

use crate::window::Window;

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

impl Snapshot {
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
