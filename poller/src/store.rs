//! Writing samples to Redis, in its own task so that a slow or absent Redis never delays a tick.
//!
//! Samples that cannot be written wait in memory, oldest first, for as long as they are within
//! the retention; once Redis answers again they are all written, so the average over the window
//! stays true after an outage (or after Redis restarts empty). The key and the format are
//! `price_store`'s.
//!
//! The wall clock can step (a bad NTP source, a host resumed from suspend). Samples stamped while
//! it ran ahead are removed by the first write after it is back ([`price_store::write`]
//! drops every sample stamped after the one it writes), and the trimming of old samples never
//! moves on faster than the monotonic clock ([`TrimLine`]), so an hour's step ahead does not
//! trim the real history.

use std::collections::VecDeque;
use std::time::Duration;

use price_store::{Sample, Store, StoreError, WriterSettings, duration_ms};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::metrics::PollerMetrics;

/// The longest one write may take, connection included. The Redis is pod-local: anything
/// slower means it is down or frozen.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// The most samples kept waiting, whatever the retention: a day of 10 s ticks. Bounds the
/// memory of an unusual configuration (a tiny interval with a long window).
const MAX_PENDING: usize = 8_640;

pub struct SampleWriter {
    store: Store,
    /// Written with every sample; its retention bounds what is kept, here and in Redis.
    settings: WriterSettings,
    pending: VecDeque<Sample>,
    metrics: PollerMetrics,
    redis_down: bool,
    trim: TrimLine,
}

/// What the monotonic clock may lag the wall clock by between two writes before the trim line
/// stops following the wall clock.
const TRIM_SLACK: Duration = Duration::from_secs(1);

/// The time before which samples are trimmed: the retention before the sample being written,
/// but never moving on faster than time itself, as the monotonic clock measures it.
#[derive(Debug, Default)]
struct TrimLine {
    /// The last line, and when it was drawn.
    last: Option<(i64, Instant)>,
}

impl TrimLine {
    /// The line for a sample whose own line (its time minus the retention) is `natural_ms`, at
    /// `now`.
    fn oldest_kept(&mut self, natural_ms: i64, now: Instant) -> i64 {
        let line = match self.last {
            Some((last_ms, drawn)) => {
                let ceiling =
                    last_ms + duration_ms(now.saturating_duration_since(drawn) + TRIM_SLACK);
                natural_ms.min(ceiling)
            }
            None => natural_ms,
        };
        self.last = Some((line, now));
        line
    }
}

impl SampleWriter {
    /// Samples are kept `settings`' retention back from the newest, in Redis and while waiting
    /// for it.
    pub fn new(store: Store, settings: WriterSettings, metrics: PollerMetrics) -> Self {
        Self {
            store,
            settings,
            pending: VecDeque::new(),
            metrics,
            redis_down: false,
            trim: TrimLine::default(),
        }
    }

    /// Writes the samples received until `stop` is cancelled, then what was queued by then.
    /// Cancel it once nothing sends any more (the tick loop has ended), so no sample is left
    /// behind.
    pub async fn run(mut self, mut samples: mpsc::Receiver<Sample>, stop: CancellationToken) {
        loop {
            match stop.run_until_cancelled(samples.recv()).await {
                Some(Some(sample)) => {
                    self.pending.push_back(sample);
                    self.take_queued(&mut samples);
                    self.write_pending_in_retention().await;
                }
                // No sender left (the tick loop has ended): nothing more can come, but the stop
                // is still the token's to say.
                Some(None) => stop.cancelled().await,
                None => break,
            }
        }
        // What was queued when the stop came, taken whole now that nothing more can be sent.
        samples.close();
        self.take_queued(&mut samples);
        if !self.pending.is_empty() {
            self.write_pending_in_retention().await;
        }
        if !self.pending.is_empty() {
            log::warn!(
                "stopping with {} samples not written to Redis",
                self.pending.len()
            );
        }
    }

    /// Moves what is queued to the pending samples, without waiting for more.
    fn take_queued(&mut self, samples: &mut mpsc::Receiver<Sample>) {
        while let Ok(sample) = samples.try_recv() {
            self.pending.push_back(sample);
        }
    }

    /// Writes the pending samples that are still within the retention.
    async fn write_pending_in_retention(&mut self) {
        self.forget_expired();
        self.write_pending().await;
        self.metrics.set_pending(self.pending.len());
    }

    /// Forgets the samples older than the retention, then the oldest beyond [`MAX_PENDING`].
    fn forget_expired(&mut self) {
        let Some(newest) = self.pending.back() else {
            return;
        };
        let oldest_kept = newest.fetched_at_ms - self.settings.retention_ms;
        let before = self.pending.len();
        self.pending.retain(|s| s.fetched_at_ms >= oldest_kept);
        let excess = self.pending.len().saturating_sub(MAX_PENDING);
        self.pending.drain(..excess);
        let dropped = before - self.pending.len();
        if dropped > 0 {
            log::warn!("{dropped} samples dropped unwritten: too old or too many");
        }
    }

    async fn write_pending(&mut self) {
        let backlog = self.pending.len();
        while let Some(sample) = self.pending.front() {
            let natural = sample.fetched_at_ms - self.settings.retention_ms;
            let oldest_kept = self.trim.oldest_kept(natural, Instant::now());
            match self.store.write(sample, oldest_kept, &self.settings).await {
                Ok(()) => {
                    self.metrics
                        .sample_written(sample.price_usd, sample.fetched_at_ms);
                    self.pending.pop_front();
                }
                Err(err) => {
                    self.write_failed(&err);
                    return;
                }
            }
        }
        if self.redis_down {
            self.redis_down = false;
            log::info!("Redis is back: {backlog} samples written");
        }
    }

    fn write_failed(&mut self, err: &StoreError) {
        self.metrics.redis_write_failed();
        if self.redis_down {
            log::debug!(
                "Redis still unavailable ({err}); {} samples waiting",
                self.pending.len()
            );
        } else {
            self.redis_down = true;
            log::warn!("cannot write to Redis ({err}); keeping samples until it is back");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable_redis_writer(retention: Duration) -> SampleWriter {
        let store = Store::new("redis://127.0.0.1:1", Duration::from_millis(200));
        let metrics = PollerMetrics::register(&prometheus::Registry::new());
        let settings = WriterSettings::new(retention, retention, Duration::from_secs(10));
        SampleWriter::new(store, settings, metrics)
    }

    fn sample(fetched_at_ms: i64) -> Sample {
        test_support::samples::confirmed(fetched_at_ms, 78_754.0)
    }

    /// Found by an independent attack: with the wall clock stepped an hour ahead, a write
    /// trimmed every real sample as older than the retention.
    #[tokio::test(start_paused = true)]
    async fn the_trim_line_moves_on_no_faster_than_time_itself() {
        let mut line = TrimLine::default();
        assert_eq!(line.oldest_kept(1_000_000, Instant::now()), 1_000_000);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(line.oldest_kept(1_010_000, Instant::now()), 1_010_000);
        tokio::time::advance(Duration::from_secs(10)).await;
        let hour_ahead = 1_020_000 + 3_600_000;
        assert_eq!(
            line.oldest_kept(hour_ahead, Instant::now()),
            1_021_000,
            "10 s (and the slack) on, not an hour"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(
            line.oldest_kept(1_030_000, Instant::now()),
            1_030_000,
            "back with the clock"
        );
    }

    #[tokio::test]
    async fn what_is_queued_when_the_writer_is_stopped_is_written_before_it_ends() {
        let redis = test_support::RedisServer::start().await;
        let store = Store::new(&redis.url(), Duration::from_secs(1));
        let metrics = PollerMetrics::register(&prometheus::Registry::new());
        let hour = Duration::from_secs(3600);
        let settings = WriterSettings::new(hour, hour, Duration::from_secs(10));
        let writer = SampleWriter::new(store.clone(), settings, metrics);
        let (samples, queued) = mpsc::channel(8);
        let now = price_store::unix_ms(std::time::SystemTime::now());
        for age_ms in [2_000, 1_000, 0] {
            samples.try_send(sample(now - age_ms)).unwrap();
        }
        let stop = CancellationToken::new();
        stop.cancel();
        writer.run(queued, stop).await;
        let stored = store.read_recent(0).await.unwrap().since;
        assert_eq!(stored.len(), 3, "{stored:?}");
    }

    fn pending_times(writer: &SampleWriter) -> Vec<i64> {
        writer.pending.iter().map(|s| s.fetched_at_ms).collect()
    }

    #[tokio::test]
    async fn samples_wait_while_redis_is_unreachable() {
        let mut writer = unreachable_redis_writer(Duration::from_secs(60));
        writer.pending.extend([sample(1_000), sample(2_000)]);
        writer.write_pending().await;
        assert_eq!(pending_times(&writer), [1_000, 2_000]);
        assert!(writer.redis_down);
    }

    #[tokio::test]
    async fn samples_older_than_the_retention_are_forgotten() {
        let mut writer = unreachable_redis_writer(Duration::from_secs(60));
        writer
            .pending
            .extend([0, 9_999, 10_000, 50_000, 70_000].map(sample));
        writer.forget_expired();
        assert_eq!(pending_times(&writer), [10_000, 50_000, 70_000]);
    }

    #[tokio::test]
    async fn at_most_max_pending_samples_wait_the_newest() {
        let mut writer = unreachable_redis_writer(Duration::from_secs(24 * 3600));
        let count = MAX_PENDING as i64 + 10;
        writer.pending.extend((0..count).map(sample));
        writer.forget_expired();
        assert_eq!(writer.pending.len(), MAX_PENDING);
        assert_eq!(writer.pending.front().unwrap().fetched_at_ms, 10);
        assert_eq!(writer.pending.back().unwrap().fetched_at_ms, count - 1);
    }
}
