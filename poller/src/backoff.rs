//! When a failing or rate-limited provider may be asked again.
//!
//! The rule, per provider:
//! - a provider is asked at most once per tick, so never more than once per interval;
//! - after its `n`-th failure in a row it sits out until `interval × 2^n` after the tick that
//!   failed (2, 4, 8 … intervals), at most [`MAX_FAILURE_BACKOFF`];
//! - a `Retry-After` (seconds or an HTTP date) on a rate limit or an error status, such as a
//!   503 for maintenance, is honoured instead, clamped to at least one interval and at most
//!   [`MAX_RETRY_AFTER`];
//! - one success clears it all.
//!
//! Waits are counted from the tick's scheduled instant, so a back-off of `k` intervals skips
//! exactly `k - 1` ticks. A `Retry-After` is counted from when the answer arrived, so the next
//! request never comes earlier than the provider asked.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

/// The longest a failing provider sits out. Short enough that prices come back within a
/// minute of an outage on our side (DNS, network) that made every provider fail at once; long
/// enough that a provider that is down gets one request a minute.
pub const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(60);

/// The longest `Retry-After` honoured: a rate limit asking for hours is still probed every
/// five minutes, which no public API minds.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// A `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Seconds(u64),
    At(SystemTime),
}

impl RetryAfter {
    /// The header's value; `None` when absent or in neither of its two forms.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
        match value.parse() {
            Ok(seconds) => Some(RetryAfter::Seconds(seconds)),
            Err(_) => httpdate::parse_http_date(value).ok().map(RetryAfter::At),
        }
    }

    /// How long to wait from `now`; a date in the past means no wait.
    pub fn delay(self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Seconds(seconds) => Duration::from_secs(seconds),
            RetryAfter::At(time) => time.duration_since(now).unwrap_or_default(),
        }
    }
}

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryAfter::Seconds(seconds) => write!(f, "{seconds}s"),
            RetryAfter::At(time) => f.write_str(&httpdate::fmt_http_date(*time)),
        }
    }
}

/// One provider's back-off state.
#[derive(Debug)]
pub struct Backoff {
    interval: Duration,
    failures: u32,
    next_attempt: Option<Instant>,
}

impl Backoff {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            failures: 0,
            next_attempt: None,
        }
    }

    /// Whether the provider is asked at the tick scheduled for `scheduled`.
    pub fn is_due(&self, scheduled: Instant) -> bool {
        self.next_attempt.is_none_or(|next| scheduled >= next)
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a success; returns the number of failures in a row it ends.
    pub fn succeeded(&mut self) -> u32 {
        self.next_attempt = None;
        std::mem::take(&mut self.failures)
    }

    /// Records a failure of the attempt made at the tick `scheduled` and answered at
    /// `answered`, with the provider's `Retry-After` delay if it sent one. Returns when the
    /// provider may be asked again.
    pub fn failed(
        &mut self,
        scheduled: Instant,
        answered: Instant,
        retry_after: Option<Duration>,
    ) -> Instant {
        self.failures = self.failures.saturating_add(1);
        // Whatever the caps, a provider waits at least one interval.
        let next = match retry_after {
            Some(delay) => {
                let cap = MAX_RETRY_AFTER.max(self.interval);
                (answered + delay.min(cap)).clamp(scheduled + self.interval, scheduled + cap)
            }
            None => {
                let cap = MAX_FAILURE_BACKOFF.max(self.interval);
                let factor = 2u32.saturating_pow(self.failures);
                scheduled + self.interval.saturating_mul(factor).min(cap)
            }
        };
        self.next_attempt = Some(next);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(10);

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// The ticks at which the provider is asked, out of the first `ticks` after `start`.
    fn due_ticks(backoff: &Backoff, start: Instant, ticks: u32) -> Vec<u32> {
        (1..=ticks)
            .filter(|k| backoff.is_due(start + INTERVAL * *k))
            .collect()
    }

    #[test]
    fn failures_back_off_exponentially_in_whole_intervals() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        assert!(backoff.is_due(start));
        let answered = start + Duration::from_millis(300);
        assert_eq!(backoff.failed(start, answered, None), start + secs(20));
        assert_eq!(due_ticks(&backoff, start, 3), [2, 3], "one tick skipped");

        let second = start + secs(20);
        assert_eq!(backoff.failed(second, second, None), second + secs(40));
        let third = second + secs(40);
        assert_eq!(
            backoff.failed(third, third, None),
            third + secs(60),
            "80 s, capped"
        );
        assert_eq!(backoff.failures(), 3);
    }

    #[test]
    fn the_exponential_back_off_stops_at_the_cap() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        for _ in 0..100 {
            backoff.failed(start, start, None);
        }
        assert_eq!(
            backoff.failed(start, start, None),
            start + MAX_FAILURE_BACKOFF
        );
    }

    #[test]
    fn a_success_clears_the_back_off() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        backoff.failed(start, start, None);
        backoff.failed(start, start, None);
        assert!(!backoff.is_due(start + INTERVAL));
        assert_eq!(backoff.succeeded(), 2);
        assert!(backoff.is_due(start + INTERVAL));
        assert_eq!(backoff.failed(start, start, None), start + secs(20));
        assert_eq!(backoff.succeeded(), 1);
        assert_eq!(backoff.succeeded(), 0);
    }

    #[test]
    fn retry_after_is_honoured_from_when_the_answer_arrived() {
        let start = Instant::now();
        let answered = start + Duration::from_millis(400);
        let mut backoff = Backoff::new(INTERVAL);
        let next = backoff.failed(start, answered, Some(secs(30)));
        assert_eq!(next, answered + secs(30));
        // The tick at +30 s comes 0.4 s too early for the provider: it waits for +40 s.
        assert_eq!(due_ticks(&backoff, start, 5), [4, 5]);
    }

    #[test]
    fn retry_after_is_clamped_to_one_interval_and_the_cap() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        assert_eq!(
            backoff.failed(start, start, Some(Duration::ZERO)),
            start + INTERVAL
        );
        assert_eq!(
            backoff.failed(start, start, Some(secs(1))),
            start + INTERVAL
        );
        assert_eq!(
            backoff.failed(start, start, Some(secs(3 * 24 * 3600))),
            start + MAX_RETRY_AFTER
        );
        assert_eq!(
            backoff.failed(start, start, Some(Duration::MAX)),
            start + MAX_RETRY_AFTER
        );
        // A provider's explicit request may exceed the cap of the exponential back-off.
        assert_eq!(
            backoff.failed(start, start, Some(secs(119))),
            start + secs(119)
        );
    }

    #[test]
    fn an_interval_longer_than_the_caps_still_waits_one_interval() {
        let interval = secs(600);
        let start = Instant::now();
        let mut backoff = Backoff::new(interval);
        assert_eq!(backoff.failed(start, start, None), start + interval);
        assert_eq!(
            backoff.failed(start, start, Some(secs(1))),
            start + interval
        );
    }

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, retry_after.parse().unwrap());
        headers
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        assert_eq!(
            RetryAfter::from_headers(&headers("119")),
            Some(RetryAfter::Seconds(119))
        );
        let date = "Wed, 21 Oct 2026 07:28:00 GMT";
        let parsed = RetryAfter::from_headers(&headers(date)).unwrap();
        assert_eq!(
            parsed,
            RetryAfter::At(httpdate::parse_http_date(date).unwrap())
        );
        assert_eq!(parsed.to_string(), date);
        assert_eq!(RetryAfter::from_headers(&HeaderMap::new()), None);
        for bad in ["-5", "1.5", "soon", "Wed, 21 Oct 2026"] {
            assert_eq!(RetryAfter::from_headers(&headers(bad)), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_delays_count_from_now() {
        let now = SystemTime::UNIX_EPOCH + secs(1_800_000_000);
        assert_eq!(RetryAfter::Seconds(119).delay(now), secs(119));
        assert_eq!(RetryAfter::At(now + secs(45)).delay(now), secs(45));
        assert_eq!(RetryAfter::At(now - secs(45)).delay(now), Duration::ZERO);
    }
}
