//! The in-memory copy of the samples that requests are answered from, and the pure logic over
//! it. Time is always a parameter, so tests use explicit timestamps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::samples::{Recent, Sample, duration_ms};

/// How long a successful read may serve requests. Past this, Redis counts as unreachable:
/// reads normally succeed every 250 ms, so an older one means Redis is down or hanging.
pub const MAX_SNAPSHOT_AGE: Duration = Duration::from_secs(1);

/// What the latest read of Redis left for the handlers.
#[derive(Debug)]
pub enum Snapshot {
    /// No read has succeeded since start-up, or the latest one failed.
    Unavailable,
    /// What Redis held when a read started at `read_at`.
    Read {
        read_at: Instant,
        samples: Arc<Samples>,
    },
}

impl Snapshot {
    /// The samples, if Redis answered at most [`MAX_SNAPSHOT_AGE`] before `now`.
    pub fn samples_at(&self, now: Instant) -> Option<&Arc<Samples>> {
        match self {
            Self::Read { read_at, samples }
                if now.saturating_duration_since(*read_at) <= MAX_SNAPSHOT_AGE =>
            {
                Some(samples)
            }
            _ => None,
        }
    }
}

/// The latest sample and the recent ones, oldest first, with running sums of their prices so
/// that the mean over any window is one binary search and a subtraction.
#[derive(Debug, Default)]
pub struct Samples {
    latest: Option<Sample>,
    recent: Vec<Sample>,
    /// `price_sums[i]` is the sum of the prices of `recent[..i]`.
    price_sums: Vec<f64>,
}

/// The samples inside an averaging window.
#[derive(Debug, PartialEq)]
pub struct WindowStats {
    pub mean_price: f64,
    pub count: usize,
    pub oldest_ms: i64,
    pub newest_ms: i64,
}

impl Samples {
    pub fn new(recent: Recent) -> Self {
        let mut samples = recent.since;
        // Redis returns them by score already; sorting keeps this type correct on its own.
        samples.sort_by_key(|sample| sample.fetched_at_ms);
        let mut price_sums = Vec::with_capacity(samples.len() + 1);
        let mut sum = 0.0;
        price_sums.push(sum);
        for sample in &samples {
            sum += sample.price_usd;
            price_sums.push(sum);
        }
        Self {
            latest: recent.latest,
            recent: samples,
            price_sums,
        }
    }

    /// The newest sample, however old.
    pub fn latest(&self) -> Option<&Sample> {
        self.latest.as_ref()
    }

    pub fn len(&self) -> usize {
        self.recent.len()
    }

    /// Mean, count and time span of the samples fetched within `window` before `now_ms`: a
    /// sample exactly `window` old still counts, an older one never does. `None` when the
    /// window holds no sample.
    pub fn window(&self, now_ms: i64, window: Duration) -> Option<WindowStats> {
        let window_ms = duration_ms(window);
        let start_ms = now_ms.saturating_sub(window_ms);
        let first = self
            .recent
            .partition_point(|sample| sample.fetched_at_ms < start_ms);
        let inside = &self.recent[first..];
        let (oldest, newest) = (inside.first()?, inside.last()?);
        let sum = self.price_sums[self.recent.len()] - self.price_sums[first];
        Some(WindowStats {
            mean_price: sum / inside.len() as f64,
            count: inside.len(),
            oldest_ms: oldest.fetched_at_ms,
            newest_ms: newest.fetched_at_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_763_730_000_000;
    const WINDOW: Duration = Duration::from_secs(600);

    fn sample(fetched_at_ms: i64, price_usd: f64) -> Sample {
        Sample {
            fetched_at_ms,
            price_usd,
            sources: vec!["coinbase".into()],
        }
    }

    fn samples(list: &[(i64, f64)]) -> Samples {
        let since: Vec<Sample> = list.iter().map(|&(at, price)| sample(at, price)).collect();
        Samples::new(Recent {
            latest: since.iter().max_by_key(|s| s.fetched_at_ms).cloned(),
            since,
        })
    }

    #[test]
    fn the_window_includes_a_sample_exactly_window_old_and_excludes_an_older_one() {
        let start = NOW_MS - 600_000;
        let stored = samples(&[(start - 1, 1000.0), (start, 10.0), (NOW_MS - 1, 20.0)]);
        assert_eq!(
            stored.window(NOW_MS, WINDOW),
            Some(WindowStats {
                mean_price: 15.0,
                count: 2,
                oldest_ms: start,
                newest_ms: NOW_MS - 1,
            })
        );
    }

    #[test]
    fn the_window_slides_with_now_over_the_same_samples() {
        let stored = samples(&[
            (NOW_MS - 590_000, 100.0),
            (NOW_MS - 300_000, 200.0),
            (NOW_MS, 600.0),
        ]);
        let mean_at = |now_ms| {
            stored
                .window(now_ms, WINDOW)
                .map(|w| (w.count, w.mean_price))
        };
        assert_eq!(mean_at(NOW_MS), Some((3, 300.0)));
        // The oldest sample is exactly 600 s old 10 s later, and gone 1 ms after that.
        assert_eq!(mean_at(NOW_MS + 10_000), Some((3, 300.0)));
        assert_eq!(mean_at(NOW_MS + 10_001), Some((2, 400.0)));
        assert_eq!(mean_at(NOW_MS + 300_001), Some((1, 600.0)));
        assert_eq!(mean_at(NOW_MS + 600_001), None);
    }

    #[test]
    fn samples_arrive_sorted_by_fetch_time_whatever_the_input_order() {
        let stored = samples(&[
            (NOW_MS, 3.0),
            (NOW_MS - 20_000, 1.0),
            (NOW_MS - 10_000, 2.0),
        ]);
        let window = stored.window(NOW_MS, Duration::from_secs(15)).unwrap();
        assert_eq!((window.count, window.mean_price), (2, 2.5));
        assert_eq!(
            (window.oldest_ms, window.newest_ms),
            (NOW_MS - 10_000, NOW_MS)
        );
    }

    #[test]
    fn no_samples_means_no_window_and_no_latest() {
        let stored = Samples::new(Recent::default());
        assert!(stored.latest().is_none());
        assert_eq!(stored.len(), 0);
        assert_eq!(stored.window(NOW_MS, WINDOW), None);
    }

    #[test]
    fn a_snapshot_serves_for_max_snapshot_age_after_its_read_then_stops() {
        let read_at = Instant::now();
        let snapshot = Snapshot::Read {
            read_at,
            samples: Arc::new(Samples::default()),
        };
        assert!(snapshot.samples_at(read_at).is_some());
        assert!(snapshot.samples_at(read_at + MAX_SNAPSHOT_AGE).is_some());
        assert!(
            snapshot
                .samples_at(read_at + MAX_SNAPSHOT_AGE + Duration::from_millis(1))
                .is_none()
        );
        assert!(Snapshot::Unavailable.samples_at(read_at).is_none());
    }
}
