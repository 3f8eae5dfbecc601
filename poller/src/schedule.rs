//! The tick schedule and the heartbeat that shows the tick loop is alive.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{Instant, Interval, MissedTickBehavior};

/// Ticks every `period` on a fixed grid: the first at once, then at `start + k × period`
/// whatever each tick took, so there is no drift. A tick that comes more than half a period
/// late (the process was starved or a tick overran) is dropped rather than caught up: the
/// schedule resumes at the next grid point, with no burst of ticks.
pub struct Schedule {
    interval: Interval,
    period: Duration,
}

impl Schedule {
    pub fn new(period: Duration) -> Self {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
        Self { interval, period }
    }

    /// Waits for the next tick; returns the instant it was scheduled for.
    pub async fn next(&mut self) -> Instant {
        loop {
            let scheduled = self.interval.tick().await;
            let late = scheduled.elapsed();
            if late <= self.period / 2 {
                return scheduled;
            }
            log::warn!("skipping a tick that is {late:?} late");
        }
    }
}

/// When the tick loop last showed signs of life; `/healthz` fails once it has been silent for
/// too long.
#[derive(Clone)]
pub struct Heartbeat {
    last: Arc<Mutex<Instant>>,
    max_silence: Duration,
}

impl Heartbeat {
    pub fn new(max_silence: Duration) -> Self {
        Self {
            last: Arc::new(Mutex::new(Instant::now())),
            max_silence,
        }
    }

    pub fn beat(&self) {
        *self.last.lock().expect("never poisoned") = Instant::now();
    }

    pub fn is_alive(&self) -> bool {
        self.last.lock().expect("never poisoned").elapsed() <= self.max_silence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn ticks_stay_on_the_grid_however_long_each_takes() {
        let start = Instant::now();
        let mut schedule = Schedule::new(PERIOD);
        for k in 0..100u32 {
            let scheduled = schedule.next().await;
            assert_eq!(scheduled, start + PERIOD * k);
            assert_eq!(Instant::now(), scheduled, "tick {k} fires on time");
            // Work that takes a varying part of the period must not shift the grid.
            tokio::time::sleep(Duration::from_millis(u64::from(k % 7) * 1_000)).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_tick_causes_no_burst_and_the_grid_resumes() {
        let start = Instant::now();
        let mut schedule = Schedule::new(PERIOD);
        assert_eq!(schedule.next().await, start);
        assert_eq!(schedule.next().await, start + PERIOD);
        // This tick overruns by two and a half periods.
        tokio::time::sleep(PERIOD * 5 / 2).await;
        let after_slow = schedule.next().await;
        assert_eq!(
            after_slow,
            start + PERIOD * 4,
            "the missed ticks are skipped"
        );
        assert_eq!(Instant::now(), start + PERIOD * 4, "and not run late");
        assert_eq!(schedule.next().await, start + PERIOD * 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slightly_late_tick_still_runs_and_the_next_is_on_the_grid() {
        let start = Instant::now();
        let mut schedule = Schedule::new(PERIOD);
        schedule.next().await;
        tokio::time::advance(PERIOD + Duration::from_secs(2)).await;
        assert_eq!(schedule.next().await, start + PERIOD);
        assert_eq!(schedule.next().await, start + PERIOD * 2);
        assert_eq!(Instant::now(), start + PERIOD * 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_heartbeat_goes_stale_after_its_allowed_silence() {
        let heartbeat = Heartbeat::new(Duration::from_secs(30));
        assert!(heartbeat.is_alive());
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(heartbeat.is_alive());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(!heartbeat.is_alive());
        heartbeat.beat();
        assert!(heartbeat.is_alive());
    }
}
