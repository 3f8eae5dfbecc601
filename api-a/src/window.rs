//! The samples of the averaging window as api-a holds them: compact, oldest first, with running
//! sums, so that a window's mean is two binary searches and a subtraction, appending a sample or
//! dropping the oldest is O(1), and the cost never depends on how long the window is.
//!
//! Sums are exact: each price is counted in whole nano-dollars (an `i128` never overflows), so a
//! window grown one sample at a time gives exactly the mean a window read at once would.
//!
//! A stored sample the reader rejected ([`Rejection`]) takes no part in any answer, but its time
//! is held apart, so that the window still counts what Redis holds (how `sync` tells what
//! changed) without one bad member forcing a full read every time.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use price_store::{Rejection, Sample, duration_ms};
use service_kit::clock;

/// Nano-dollars per dollar: the unit of the running sums.
const NANOS_PER_USD: f64 = 1e9;

/// One sample as the window needs it, in 16 bytes: no route answers with the sources of a
/// sample other than the newest, which the snapshot holds whole.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    at_ms: i64,
    price_usd: f64,
}

/// The samples inside an averaging window.
#[derive(Debug, PartialEq)]
pub struct WindowStats {
    pub mean_price: f64,
    pub count: usize,
    pub oldest_ms: i64,
    pub newest_ms: i64,
}

/// A sample as `/history` and the chart show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PricePoint {
    pub at_ms: i64,
    pub price_usd: f64,
}

/// A number no window has had: each change of any window takes the next one, so a window's
/// generation names its contents for good (a window read afresh included).
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// Which samples of a window a `/history` answer is made of: its contents as of `generation`,
/// from rank `first`, `count` of them. Two requests with the same selection get the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub generation: u64,
    pub first: usize,
    pub count: usize,
}

/// Samples in order of fetch time, with the running sum of their prices.
#[derive(Debug, Default, Clone)]
pub struct Window {
    /// Changes with every change of the samples held (see [`GENERATIONS`]); 0 for a window
    /// never changed.
    generation: u64,
    points: VecDeque<Point>,
    /// `sums_before[i]`: the nano-dollars of every sample ever pushed before `points[i]`.
    sums_before: VecDeque<i128>,
    /// The nano-dollars of every sample ever pushed.
    total: i128,
    /// The times of the stored samples that were rejected, and why, oldest first.
    rejected: VecDeque<(i64, Rejection)>,
    /// The newest valid sample held, whole: what `/current` shows when the newest stored sample
    /// is one a reader rejects.
    newest_valid: Option<Sample>,
}

impl Window {
    /// How many stored samples are held, rejected ones included: as many as Redis holds in the
    /// same range.
    pub fn len(&self) -> usize {
        self.points.len() + self.rejected.len()
    }

    /// When the newest stored sample held was fetched, rejected or not.
    pub fn newest_ms(&self) -> Option<i64> {
        let valid = self.points.back().map(|point| point.at_ms);
        let rejected = self.rejected.back().map(|(at_ms, _)| *at_ms);
        valid.max(rejected)
    }

    /// How many stored samples held were fetched at the newest time (one, unless several share
    /// a millisecond).
    pub fn held_at_newest(&self) -> usize {
        let Some(newest) = self.newest_ms() else {
            return 0;
        };
        let valid = self.points.iter().rev().map(|point| point.at_ms);
        let rejected = self.rejected.iter().rev().map(|(at_ms, _)| *at_ms);
        valid.take_while(|&at| at == newest).count()
            + rejected.take_while(|&at| at == newest).count()
    }

    /// The newest valid sample held.
    pub fn newest_valid(&self) -> Option<&Sample> {
        self.newest_valid.as_ref()
    }

    /// Remembers `sample`, the newest valid one pushed, whole.
    pub fn set_newest_valid(&mut self, sample: &Sample) {
        debug_assert_eq!(
            self.points.back().map(|p| p.at_ms),
            Some(sample.fetched_at_ms)
        );
        self.newest_valid = Some(sample.clone());
    }

    /// The rejected samples held, by reason.
    pub fn rejected(&self) -> impl Iterator<Item = Rejection> + '_ {
        self.rejected.iter().map(|(_, why)| *why)
    }

    /// Holds the time of a stored sample rejected for `why`, which must not be older than any
    /// sample held.
    pub fn push_rejected(&mut self, at_ms: i64, why: Rejection) {
        debug_assert!(self.newest_ms().is_none_or(|newest| at_ms >= newest));
        self.rejected.push_back((at_ms, why));
    }

    fn changed(&mut self) {
        self.generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
    }

    /// The samples fetched within `window` before `now_ms`, as [`Window::stats`] counts them.
    pub fn select(&self, now_ms: i64, window: Duration) -> Selection {
        let held = self.within(now_ms, window);
        Selection {
            generation: self.generation,
            first: held.start,
            count: held.len(),
        }
    }

    /// Appends `sample`, which must not be older than any sample held.
    pub fn push(&mut self, sample: &Sample) {
        debug_assert!(
            self.newest_ms()
                .is_none_or(|newest| sample.fetched_at_ms >= newest)
        );
        self.points.push_back(Point {
            at_ms: sample.fetched_at_ms,
            price_usd: sample.price_usd,
        });
        self.sums_before.push_back(self.total);
        self.total += nanos(sample.price_usd);
        self.changed();
    }

    /// Drops the samples fetched before `since_ms`, rejected ones included.
    pub fn drop_before(&mut self, since_ms: i64) {
        let held = self.points.len();
        while self.rejected.front().is_some_and(|(at, _)| *at < since_ms) {
            self.rejected.pop_front();
        }
        if self
            .newest_valid
            .as_ref()
            .is_some_and(|newest| newest.fetched_at_ms < since_ms)
        {
            self.newest_valid = None;
        }
        while self
            .points
            .front()
            .is_some_and(|point| point.at_ms < since_ms)
        {
            self.points.pop_front();
            self.sums_before.pop_front();
        }
        if self.points.len() != held {
            self.changed();
        }
    }

    /// Mean, count and time span of the samples fetched within `window` before `now_ms`: a
    /// sample exactly `window` old still counts, an older one never does, and one stamped more
    /// than [`clock::STEP`] after `now_ms` (by a clock that stepped ahead) does not count until
    /// its time comes. `None` when the window holds no such sample.
    pub fn stats(&self, now_ms: i64, window: Duration) -> Option<WindowStats> {
        let held = self.within(now_ms, window);
        if held.is_empty() {
            return None;
        }
        let (oldest, newest) = (self.points[held.start], self.points[held.end - 1]);
        let sum_to = |end: usize| self.sums_before.get(end).copied().unwrap_or(self.total);
        let sum = sum_to(held.end) - sum_to(held.start);
        Some(WindowStats {
            mean_price: sum as f64 / held.len() as f64 / NANOS_PER_USD,
            count: held.len(),
            oldest_ms: oldest.at_ms,
            newest_ms: newest.at_ms,
        })
    }

    /// The positions of the samples [`Window::stats`] counts.
    fn within(&self, now_ms: i64, window: Duration) -> Range<usize> {
        let start_ms = now_ms.saturating_sub(duration_ms(window));
        let end_ms = now_ms.saturating_add(duration_ms(clock::STEP));
        let first = self.points.partition_point(|point| point.at_ms < start_ms);
        let end = self.points.partition_point(|point| point.at_ms <= end_ms);
        first..end.max(first)
    }
}

impl Window {
    /// The samples fetched within `window` before `now_ms` (as [`Window::stats`] counts them),
    /// oldest first, at most `max_points` of them (at least 2): when there are more, evenly
    /// spaced ones by rank, always the oldest and the newest. Costs `max_points`, not the
    /// window's length.
    pub fn points(&self, now_ms: i64, window: Duration, max_points: usize) -> Vec<PricePoint> {
        self.points_of(self.select(now_ms, window), max_points)
    }

    /// The samples of `selection` (of this window's current generation), evenly thinned to at
    /// most `max_points` as [`Window::points`] says.
    pub fn points_of(&self, selection: Selection, max_points: usize) -> Vec<PricePoint> {
        debug_assert_eq!(selection.generation, self.generation);
        let Selection { first, count, .. } = selection;
        let picked = count.min(max_points.max(2));
        (0..picked)
            .map(|k| {
                // The k-th of `picked` ranks spread evenly from 0 to count - 1.
                let rank = if picked == 1 {
                    0
                } else {
                    k * (count - 1) / (picked - 1)
                };
                let point = self.points[first + rank];
                PricePoint {
                    at_ms: point.at_ms,
                    price_usd: point.price_usd,
                }
            })
            .collect()
    }

    /// The usual time between the latest samples (over the last few), which is the poller's
    /// interval while it stores a price every tick; `None` with fewer than two samples.
    pub fn recent_spacing_ms(&self) -> Option<i64> {
        const LAST: usize = 5;
        let held = self.points.len();
        if held < 2 {
            return None;
        }
        let span = held.min(LAST);
        let oldest = self.points[held - span].at_ms;
        let newest = self.points[held - 1].at_ms;
        Some((newest - oldest) / (span as i64 - 1))
    }
}

/// `usd` in whole nano-dollars.
fn nanos(usd: f64) -> i128 {
    (usd * NANOS_PER_USD).round() as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_763_730_000_000;
    const WINDOW: Duration = Duration::from_secs(600);

    fn sample(fetched_at_ms: i64, price_usd: f64) -> Sample {
        test_support::samples::confirmed(fetched_at_ms, price_usd)
    }

    fn window_of(list: &[(i64, f64)]) -> Window {
        let mut window = Window::default();
        for &(at, price) in list {
            window.push(&sample(at, price));
        }
        window
    }

    #[test]
    fn the_window_includes_a_sample_exactly_window_old_and_excludes_an_older_one() {
        let start = NOW_MS - 600_000;
        let held = window_of(&[(start - 1, 1000.0), (start, 10.0), (NOW_MS - 1, 20.0)]);
        assert_eq!(
            held.stats(NOW_MS, WINDOW),
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
        let held = window_of(&[
            (NOW_MS - 590_000, 100.0),
            (NOW_MS - 300_000, 200.0),
            (NOW_MS, 600.0),
        ]);
        let mean_at = |now_ms| held.stats(now_ms, WINDOW).map(|w| (w.count, w.mean_price));
        assert_eq!(mean_at(NOW_MS), Some((3, 300.0)));
        // The oldest sample is exactly 600 s old 10 s later, and gone 1 ms after that.
        assert_eq!(mean_at(NOW_MS + 10_000), Some((3, 300.0)));
        assert_eq!(mean_at(NOW_MS + 10_001), Some((2, 400.0)));
        assert_eq!(mean_at(NOW_MS + 300_001), Some((1, 600.0)));
        assert_eq!(mean_at(NOW_MS + 600_001), None);
    }

    /// Found by an independent attack: a sample the poller stamped while its clock stood 100 s
    /// ahead was averaged and drawn at once, and the average's `to` lay in the future.
    #[test]
    fn a_sample_stamped_ahead_counts_only_once_its_time_comes() {
        let held = window_of(&[
            (NOW_MS - 10_000, 100.0),
            (NOW_MS, 200.0),
            (NOW_MS + 1_000, 300.0),
            (NOW_MS + 100_000, 900.0),
        ]);
        let stats = held.stats(NOW_MS, WINDOW).unwrap();
        assert_eq!((stats.count, stats.mean_price), (3, 200.0));
        assert_eq!(stats.newest_ms, NOW_MS + 1_000, "a second ahead is no step");
        let drawn: Vec<_> = held
            .points(NOW_MS, WINDOW, 10)
            .iter()
            .map(|p| p.at_ms)
            .collect();
        assert_eq!(drawn, [NOW_MS - 10_000, NOW_MS, NOW_MS + 1_000]);
        assert_eq!(held.stats(NOW_MS + 100_000, WINDOW).unwrap().count, 4);
        let only_ahead = window_of(&[(NOW_MS + 100_000, 900.0)]);
        assert_eq!(only_ahead.stats(NOW_MS, WINDOW), None);
        assert!(only_ahead.points(NOW_MS, WINDOW, 10).is_empty());
    }

    #[test]
    fn dropping_the_oldest_keeps_the_sums_of_the_rest_exact() {
        let mut held = window_of(&[(1, 0.1), (2, 0.2), (3, 97_123.456_7), (4, 0.3)]);
        held.drop_before(3);
        assert_eq!(held.len(), 2);
        let stats = held.stats(4, Duration::from_secs(1)).unwrap();
        assert_eq!(stats.count, 2);
        assert_eq!(stats.mean_price, (97_123.456_7 + 0.3) / 2.0);
        held.drop_before(5);
        assert_eq!((held.len(), held.newest_ms()), (0, None));
        held.push(&sample(6, 5.0));
        assert_eq!(held.stats(6, WINDOW).unwrap().mean_price, 5.0);
    }

    #[test]
    fn samples_fetched_in_the_same_millisecond_are_all_held() {
        let held = window_of(&[(1, 10.0), (2, 20.0), (2, 40.0)]);
        assert_eq!((held.len(), held.held_at_newest()), (3, 2));
        let stats = held.stats(2, Duration::from_millis(0)).unwrap();
        assert_eq!((stats.count, stats.mean_price), (2, 30.0));
    }

    #[test]
    fn points_are_the_window_s_samples_evenly_thinned_keeping_both_ends() {
        let held = window_of(&(0..10).map(|k| (k * 1_000, k as f64)).collect::<Vec<_>>());
        let at = |points: Vec<PricePoint>| points.iter().map(|p| p.at_ms).collect::<Vec<_>>();
        let window = Duration::from_secs(9);
        assert_eq!(
            at(held.points(9_000, window, 100)),
            (0..10).map(|k| k * 1_000).collect::<Vec<_>>()
        );
        assert_eq!(at(held.points(9_000, window, 4)), [0, 3_000, 6_000, 9_000]);
        assert_eq!(at(held.points(9_000, window, 2)), [0, 9_000]);
        assert_eq!(
            at(held.points(9_000, window, 0)),
            [0, 9_000],
            "never fewer than 2"
        );
        assert_eq!(
            at(held.points(9_000, Duration::from_secs(2), 100)),
            [7_000, 8_000, 9_000]
        );
        assert_eq!(held.points(20_000, window, 100), []);
        let one = held.points(9_000, Duration::ZERO, 100);
        assert_eq!(
            one,
            [PricePoint {
                at_ms: 9_000,
                price_usd: 9.0
            }]
        );
    }

    #[test]
    fn the_recent_spacing_is_the_mean_gap_of_the_last_samples() {
        let mut held = window_of(&[(0, 1.0)]);
        assert_eq!(held.recent_spacing_ms(), None);
        held.push(&sample(60_000, 1.0));
        assert_eq!(held.recent_spacing_ms(), Some(60_000));
        for k in 1..=4 {
            held.push(&sample(60_000 + k * 10_000, 1.0));
        }
        assert_eq!(
            held.recent_spacing_ms(),
            Some(10_000),
            "the old gap is forgotten"
        );
    }

    #[test]
    fn a_rejected_sample_is_counted_where_it_stands_but_never_averaged_or_drawn() {
        let mut held = window_of(&[(1_000, 10.0)]);
        held.push_rejected(2_000, Rejection::Implausible);
        held.push(&sample(3_000, 30.0));
        held.push_rejected(3_000, Rejection::Unreadable);
        assert_eq!(held.len(), 4);
        assert_eq!((held.newest_ms(), held.held_at_newest()), (Some(3_000), 2));
        let stats = held.stats(3_000, Duration::from_secs(10)).unwrap();
        assert_eq!((stats.count, stats.mean_price), (2, 20.0));
        let drawn: Vec<i64> = held
            .points(3_000, Duration::from_secs(10), 100)
            .iter()
            .map(|p| p.at_ms)
            .collect();
        assert_eq!(drawn, [1_000, 3_000]);
        held.drop_before(2_001);
        assert_eq!(held.len(), 2);
        assert_eq!(held.rejected().collect::<Vec<_>>(), [Rejection::Unreadable]);
    }

    #[test]
    fn an_empty_window_has_no_stats() {
        assert_eq!(Window::default().stats(NOW_MS, WINDOW), None);
    }
}
