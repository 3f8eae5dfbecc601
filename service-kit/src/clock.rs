//! The wall time the services stamp prices with and age them by, kept by the monotonic clock: a
//! system clock that steps (a bad NTP source, a host resumed from suspend, a `date -s`) and steps
//! back does not move it, so no price is stamped ahead of its time or behind it.
//!
//! Both clocks move together except when the system clock steps (NTP slews both alike), so the
//! time is the system time at start-up plus the monotonic time since. When the system clock
//! disagrees with it by more than [`STEP`], the step is logged and ignored; a disagreement that
//! lasts [`FOLLOW_AFTER`] is the system clock set right (it was wrong at start-up, say), and the
//! clock follows it from then on. So a short step leaves no trace, and a correction takes effect
//! after five minutes.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// How far the system clock may be from the kept time before it counts as having stepped.
pub const STEP: Duration = Duration::from_secs(1);

/// How long the system clock must stay apart before the kept time follows it.
pub const FOLLOW_AFTER: Duration = Duration::from_secs(300);

/// The kept wall time, read through [`Clock::now`].
pub struct Clock {
    system: Box<dyn Fn() -> SystemTime + Send + Sync>,
    monotonic: Box<dyn Fn() -> Instant + Send + Sync>,
    state: Mutex<State>,
}

struct State {
    /// The wall time at `anchor`.
    wall: SystemTime,
    anchor: Instant,
    /// Since when the system clock has been apart, if it is.
    apart_since: Option<Instant>,
}

impl Clock {
    /// A clock kept from `system` (the wall clock) and `monotonic`.
    pub fn new(
        system: impl Fn() -> SystemTime + Send + Sync + 'static,
        monotonic: impl Fn() -> Instant + Send + Sync + 'static,
    ) -> Self {
        let state = State {
            wall: system(),
            anchor: monotonic(),
            apart_since: None,
        };
        Self {
            system: Box::new(system),
            monotonic: Box::new(monotonic),
            state: Mutex::new(state),
        }
    }

    /// The kept wall time now.
    pub fn now(&self) -> SystemTime {
        let (system, monotonic) = ((self.system)(), (self.monotonic)());
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept = state.wall + monotonic.saturating_duration_since(state.anchor);
        let apart = match system.duration_since(kept) {
            Ok(ahead) => (ahead, "ahead"),
            Err(behind) => (behind.duration(), "behind"),
        };
        if apart.0 <= STEP {
            if state.apart_since.take().is_some() {
                log::info!("the system clock agrees with the kept time again");
            }
            return kept;
        }
        let since = *state.apart_since.get_or_insert_with(|| {
            log::warn!(
                "the system clock stepped {} {}: keeping time by the monotonic clock (followed if \
                 it stays so for {})",
                humantime::format_duration(whole_millis(apart.0)),
                apart.1,
                humantime::format_duration(FOLLOW_AFTER)
            );
            monotonic
        });
        if monotonic.saturating_duration_since(since) < FOLLOW_AFTER {
            return kept;
        }
        log::warn!(
            "the system clock has stayed {} {} for {}: following it",
            humantime::format_duration(whole_millis(apart.0)),
            apart.1,
            humantime::format_duration(FOLLOW_AFTER)
        );
        *state = State {
            wall: system,
            anchor: monotonic,
            apart_since: None,
        };
        system
    }
}

fn whole_millis(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// The process's kept wall time: [`Clock::now`] of a clock kept from the system's clocks since
/// the first call.
pub fn now() -> SystemTime {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK
        .get_or_init(|| Clock::new(SystemTime::now, Instant::now))
        .now()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A system clock and a monotonic clock the test moves by hand.
    struct Hands {
        system_ms: Arc<AtomicU64>,
        monotonic_ms: Arc<AtomicU64>,
    }

    const T0: u64 = 1_800_000_000_000;

    fn clock() -> (Clock, Hands) {
        let start = Instant::now();
        let system_ms = Arc::new(AtomicU64::new(T0));
        let monotonic_ms = Arc::new(AtomicU64::new(0));
        let (s, m) = (system_ms.clone(), monotonic_ms.clone());
        let clock = Clock::new(
            move || SystemTime::UNIX_EPOCH + Duration::from_millis(s.load(Ordering::SeqCst)),
            move || start + Duration::from_millis(m.load(Ordering::SeqCst)),
        );
        (
            clock,
            Hands {
                system_ms,
                monotonic_ms,
            },
        )
    }

    impl Hands {
        /// Both clocks move on by `ms`, the system one also stepping by `step_ms`.
        fn pass(&self, ms: u64, step_ms: i64) {
            self.monotonic_ms.fetch_add(ms, Ordering::SeqCst);
            let system = self.system_ms.load(Ordering::SeqCst) as i64 + ms as i64 + step_ms;
            self.system_ms.store(system as u64, Ordering::SeqCst);
        }
    }

    fn ms(time: SystemTime) -> u64 {
        time.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    #[test]
    fn the_kept_time_is_the_system_time_while_the_system_clock_does_not_step() {
        let (clock, hands) = clock();
        assert_eq!(ms(clock.now()), T0);
        hands.pass(10_000, 0);
        assert_eq!(ms(clock.now()), T0 + 10_000);
        hands.pass(10_000, 500);
        assert_eq!(
            ms(clock.now()),
            T0 + 20_000,
            "half a second apart is no step"
        );
    }

    /// Found by an independent attack: the poller's clock an hour (or a minute) ahead for three
    /// seconds stamped samples that, once real time caught up with them, looked just fetched.
    #[test]
    fn a_short_step_ahead_or_back_leaves_the_kept_time_alone() {
        let (clock, hands) = clock();
        hands.pass(1_000, 3_600_000);
        assert_eq!(ms(clock.now()), T0 + 1_000, "an hour ahead");
        hands.pass(3_000, -3_600_000);
        assert_eq!(ms(clock.now()), T0 + 4_000, "back");
        hands.pass(1_000, -300_000);
        assert_eq!(ms(clock.now()), T0 + 5_000, "five minutes behind");
        hands.pass(6_000, 300_000);
        assert_eq!(ms(clock.now()), T0 + 11_000);
    }

    #[test]
    fn a_system_clock_set_right_for_good_is_followed_after_five_minutes() {
        let (clock, hands) = clock();
        hands.pass(1_000, 90_000);
        assert_eq!(ms(clock.now()), T0 + 1_000);
        hands.pass(FOLLOW_AFTER.as_millis() as u64 - 1, 0);
        assert_eq!(ms(clock.now()), T0 + 300_999, "not yet");
        hands.pass(1, 0);
        assert_eq!(ms(clock.now()), T0 + 301_000 + 90_000, "followed");
        hands.pass(1_000, 0);
        assert_eq!(ms(clock.now()), T0 + 302_000 + 90_000);
    }
}
