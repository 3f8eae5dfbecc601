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
mod tests;
