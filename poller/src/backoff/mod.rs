//! When a provider that failed may be asked again, and who is asked at each tick.
//!
//! The back-off fits the failure ([`Retry`], decided by `ProviderError::retry`):
//! - an overload signal (429 or a rate-limit body, 408, 5xx, a timeout, a connection error):
//!   after its `n`-th such failure in a row the provider sits out until `interval × 2^n` after
//!   the tick that failed (2, 4, 8 … intervals), at most [`MAX_FAILURE_BACKOFF`];
//! - a `Retry-After` (seconds or an HTTP date) on any error status or rate limit is honoured
//!   instead, clamped to at least one interval and at most [`MAX_RETRY_AFTER`], counted from
//!   when the answer arrived, so the next request never comes earlier than the provider asked;
//! - any other failure (an unusable body answered at once: HTML, empty, truncated, an error
//!   sent with 200, unexpected JSON, the wrong market, an implausible price, another 4xx) is
//!   no reason to wait: asking again costs the provider nothing, so it is asked at the next tick;
//! - one success clears it all.
//!
//! Waits are counted from the tick's scheduled instant, so a back-off of `k` intervals skips
//! exactly `k - 1` ticks. Who is asked at a tick is [`pacing`]'s: every provider that is due,
//! and one backed-off provider as a probe when the last tick had no quorum. A provider is
//! asked at most once per tick, so never more than once per interval.

mod pacing;
mod retry_after;

use std::time::Duration;

use tokio::time::Instant;

pub use pacing::{Pacing, Turn};
pub use retry_after::RetryAfter;

/// The longest a failing provider sits out. Short enough that prices come back within a
/// minute of an outage on our side (DNS, network) that made every provider fail at once; long
/// enough that a provider that is down gets one request a minute.
pub const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(60);

/// The longest `Retry-After` honoured: a rate limit asking for hours is still probed every
/// five minutes, which no public API minds.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// What a failure says about asking the provider again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// It answered at once with something unusable: ask at the next tick as usual.
    NextTick,
    /// It is overloaded or out of reach: back off exponentially.
    BackOff,
    /// It said how long to wait (`Retry-After`, as a delay from when the answer arrived).
    After(Duration),
}

/// Why a provider sits out ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Overload signals: the exponential back-off. Such a provider may be probed early.
    Overload,
    /// Its own `Retry-After`: never asked before it has passed.
    RetryAfter,
}

impl Hold {
    /// The `reason` label of the back-off gauge.
    pub fn label(self) -> &'static str {
        match self {
            Hold::Overload => "overload",
            Hold::RetryAfter => "retry_after",
        }
    }
}

/// One provider's back-off state.
#[derive(Debug)]
pub struct Backoff {
    interval: Duration,
    /// Failures in a row, of any kind.
    failures: u32,
    /// Overload signals in a row: the exponent of the back-off.
    overloads: u32,
    /// Why and until when the provider sits out, if it does.
    hold: Option<(Hold, Instant)>,
}

impl Backoff {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            failures: 0,
            overloads: 0,
            hold: None,
        }
    }

    /// Whether the provider is asked at the tick scheduled for `scheduled`.
    pub fn is_due(&self, scheduled: Instant) -> bool {
        self.hold.is_none_or(|(_, until)| scheduled >= until)
    }

    /// Why the provider was last held back, and until when; `None` once it is due again after
    /// an answer that set no hold.
    pub fn hold(&self) -> Option<(Hold, Instant)> {
        self.hold
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a success; returns the number of failures in a row it ends.
    pub fn succeeded(&mut self) -> u32 {
        self.hold = None;
        self.overloads = 0;
        std::mem::take(&mut self.failures)
    }

    /// Records a failure of the attempt made at the tick `scheduled` and answered at
    /// `answered`. Returns until when the provider sits out, if it does.
    pub fn failed(
        &mut self,
        scheduled: Instant,
        answered: Instant,
        retry: Retry,
    ) -> Option<Instant> {
        self.failures = self.failures.saturating_add(1);
        // Whatever the caps, a held provider waits at least one interval.
        self.hold = match retry {
            Retry::NextTick => {
                self.overloads = 0;
                None
            }
            Retry::BackOff => {
                self.overloads = self.overloads.saturating_add(1);
                let cap = MAX_FAILURE_BACKOFF.max(self.interval);
                let factor = 2u32.saturating_pow(self.overloads);
                let wait = self.interval.saturating_mul(factor).min(cap);
                Some((Hold::Overload, scheduled + wait))
            }
            Retry::After(delay) => {
                self.overloads = self.overloads.saturating_add(1);
                let cap = MAX_RETRY_AFTER.max(self.interval);
                let until =
                    (answered + delay.min(cap)).clamp(scheduled + self.interval, scheduled + cap);
                Some((Hold::RetryAfter, until))
            }
        };
        self.hold.map(|(_, until)| until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(10);

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn after(n: u64) -> Retry {
        Retry::After(secs(n))
    }

    /// The ticks at which the provider is asked, out of the first `ticks` after `start`.
    fn due_ticks(backoff: &Backoff, start: Instant, ticks: u32) -> Vec<u32> {
        (1..=ticks)
            .filter(|k| backoff.is_due(start + INTERVAL * *k))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_exponentially_in_whole_intervals() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        assert!(backoff.is_due(start));
        let answered = start + Duration::from_millis(300);
        let first = backoff.failed(start, answered, Retry::BackOff);
        assert_eq!(first, Some(start + secs(20)));
        assert_eq!(due_ticks(&backoff, start, 3), [2, 3], "one tick skipped");

        let second = start + secs(20);
        let next = backoff.failed(second, second, Retry::BackOff);
        assert_eq!(next, Some(second + secs(40)));
        let third = second + secs(40);
        let next = backoff.failed(third, third, Retry::BackOff);
        assert_eq!(next, Some(third + secs(60)), "80 s, capped");
        assert_eq!(backoff.failures(), 3);
        assert_eq!(backoff.hold().map(|(hold, _)| hold), Some(Hold::Overload));
    }

    #[tokio::test(start_paused = true)]
    async fn the_exponential_back_off_stops_at_the_cap() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        for _ in 0..100 {
            backoff.failed(start, start, Retry::BackOff);
        }
        let next = backoff.failed(start, start, Retry::BackOff);
        assert_eq!(next, Some(start + MAX_FAILURE_BACKOFF));
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_clears_the_back_off() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        backoff.failed(start, start, Retry::BackOff);
        backoff.failed(start, start, Retry::BackOff);
        assert!(!backoff.is_due(start + INTERVAL));
        assert_eq!(backoff.succeeded(), 2);
        assert!(backoff.is_due(start + INTERVAL));
        assert_eq!(backoff.hold(), None);
        let next = backoff.failed(start, start, Retry::BackOff);
        assert_eq!(next, Some(start + secs(20)));
        assert_eq!(backoff.succeeded(), 1);
        assert_eq!(backoff.succeeded(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unusable_answer_is_asked_again_at_the_next_tick() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        for k in 0..5 {
            let scheduled = start + INTERVAL * k;
            assert!(backoff.is_due(scheduled), "tick {k}");
            assert_eq!(backoff.failed(scheduled, scheduled, Retry::NextTick), None);
        }
        assert_eq!(due_ticks(&backoff, start + INTERVAL * 4, 3), [1, 2, 3]);
        assert_eq!(backoff.failures(), 5, "still counted as failures");
        assert_eq!(backoff.hold(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unusable_answer_restarts_the_exponential_back_off() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        backoff.failed(start, start, Retry::BackOff);
        backoff.failed(start, start, Retry::BackOff);
        // It answered at once, so it is not overloaded: the next overload starts again at 2.
        backoff.failed(start, start, Retry::NextTick);
        let next = backoff.failed(start, start, Retry::BackOff);
        assert_eq!(next, Some(start + secs(20)));
        assert_eq!(backoff.failures(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_from_when_the_answer_arrived() {
        let start = Instant::now();
        let answered = start + Duration::from_millis(400);
        let mut backoff = Backoff::new(INTERVAL);
        let next = backoff.failed(start, answered, after(30));
        assert_eq!(next, Some(answered + secs(30)));
        assert_eq!(backoff.hold().map(|(hold, _)| hold), Some(Hold::RetryAfter));
        // The tick at +30 s comes 0.4 s too early for the provider: it waits for +40 s.
        assert_eq!(due_ticks(&backoff, start, 5), [4, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_clamped_to_one_interval_and_the_cap() {
        let start = Instant::now();
        let mut backoff = Backoff::new(INTERVAL);
        let mut next = |retry| backoff.failed(start, start, retry).unwrap();
        assert_eq!(next(Retry::After(Duration::ZERO)), start + INTERVAL);
        assert_eq!(next(after(1)), start + INTERVAL);
        assert_eq!(next(after(3 * 24 * 3600)), start + MAX_RETRY_AFTER);
        assert_eq!(next(Retry::After(Duration::MAX)), start + MAX_RETRY_AFTER);
        // A provider's explicit request may exceed the cap of the exponential back-off.
        assert_eq!(next(after(119)), start + secs(119));
    }

    #[tokio::test(start_paused = true)]
    async fn an_interval_longer_than_the_caps_still_waits_one_interval() {
        let interval = secs(600);
        let start = Instant::now();
        let mut backoff = Backoff::new(interval);
        let next = backoff.failed(start, start, Retry::BackOff);
        assert_eq!(next, Some(start + interval));
        assert_eq!(
            backoff.failed(start, start, after(1)),
            Some(start + interval)
        );
    }
}
