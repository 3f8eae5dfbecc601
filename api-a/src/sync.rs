//! Keeping the [`Snapshot`] equal to what Redis holds while reading only what changed.
//!
//! Each refresh drops what left the window, then asks Redis, in one atomic round trip, for the
//! samples after the newest one held, the newest sample overall, the write counter, and how
//! many samples Redis has in the range already held. If the range held is unchanged (same count)
//! and every write since the last refresh was one of the samples just read (the counter moved by
//! exactly that many), the new samples are appended: the snapshot is what a full read would give.
//! Anything else (Redis restarted empty, `FLUSHALL`, a held-back sample inserted with an older
//! score, a sample deleted) makes the refresh read everything again. Reads go in chunks, so a
//! day of samples never sits in memory twice as JSON. A stored sample that a reader rejects
//! (`Sample::check`) is held by its time only: counted, never served.

use std::time::{Duration, Instant};

use price_store::{Changes, Sample, Store, StoreError, Stored, WriterSettings, duration_ms};
use tokio::sync::watch;

use crate::snapshot::Snapshot;
use crate::window::Window;

/// The most samples read in one round trip: about 300 KB of JSON.
pub const CHUNK: usize = 4096;

/// Full reads attempted in one refresh before giving up: each restarts only if Redis changed in
/// the part already read, which the one writer never does twice in a row.
const RELOAD_ATTEMPTS: usize = 3;

/// Samples slightly older than the window are held too, so a small step back of the wall clock
/// between a refresh and a request cannot drop a sample that is still inside the window.
const READ_MARGIN: Duration = Duration::from_secs(1);

/// How a successful refresh went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// Only what changed was read.
    Incrementally,
    /// Everything in the window was read again.
    Fully,
}

/// What the refresher knows about Redis between refreshes.
pub struct Replica {
    store: Store,
    lookback_ms: i64,
    /// The most samples read in one round trip ([`CHUNK`]; smaller in tests).
    chunk: usize,
    /// The write counter when the snapshot last matched Redis; `None` until it first did.
    writes_seen: Option<u64>,
}

impl Replica {
    /// A replica of the samples `store` holds for `average_window`.
    pub fn new(store: Store, average_window: Duration) -> Self {
        Self {
            store,
            lookback_ms: duration_ms(average_window + READ_MARGIN),
            chunk: CHUNK,
            writes_seen: None,
        }
    }

    /// Brings `snapshot` up to date with Redis as of `now_ms`, marking it read at `read_at`.
    /// On an error the snapshot is left as it was (its `read_at` ages, so it stops being served)
    /// and the next refresh checks again whether it can continue from it.
    pub async fn refresh(
        &mut self,
        snapshot: &watch::Sender<Snapshot>,
        now_ms: i64,
        read_at: Instant,
    ) -> Result<Refreshed, StoreError> {
        let since_ms = now_ms.saturating_sub(self.lookback_ms);
        snapshot.send_modify(|snapshot| snapshot.window.drop_before(since_ms));
        let caught_up = match self.writes_seen {
            Some(writes_seen) => self.catch_up(snapshot, since_ms, writes_seen).await?,
            None => false,
        };
        let refreshed = if caught_up {
            Refreshed::Incrementally
        } else {
            self.reload(snapshot, since_ms).await?;
            Refreshed::Fully
        };
        snapshot.send_modify(|snapshot| snapshot.read_at = Some(read_at));
        Ok(refreshed)
    }

    /// Appends what came after the snapshot's newest sample; `false` (leaving the snapshot for a
    /// reload) if anything else changed since the counter read `writes_seen`.
    async fn catch_up(
        &mut self,
        snapshot: &watch::Sender<Snapshot>,
        since_ms: i64,
        writes_seen: u64,
    ) -> Result<bool, StoreError> {
        let mut appended = 0u64;
        loop {
            let (held_through, held_at_end, held) = {
                let current = snapshot.borrow();
                let window = &current.window;
                (window.newest_ms(), window.held_at_newest(), window.len())
            };
            let changes = self
                .store
                .read_after(since_ms, held_through, held_at_end, self.chunk)
                .await?;
            // Samples fetched at the newest held time may still be unread only if the previous
            // chunk of this refresh stopped at its limit.
            if !holds_the_same(&changes, held, held_at_end, appended > 0) {
                return Ok(false);
            }
            appended += changes.after.len() as u64;
            let complete = changes.after.len() < self.chunk;
            let only_appends = changes.writes.checked_sub(writes_seen) == Some(appended);
            if complete && !only_appends {
                return Ok(false);
            }
            snapshot.send_modify(|current| {
                apply(&mut current.window, &mut current.latest, &changes);
                current.settings = changes.settings;
            });
            if complete {
                self.writes_seen = Some(changes.writes);
                return Ok(true);
            }
        }
    }

    /// Reads the whole window into a new snapshot, then replaces the old one with it.
    async fn reload(
        &mut self,
        snapshot: &watch::Sender<Snapshot>,
        since_ms: i64,
    ) -> Result<(), StoreError> {
        for _ in 0..RELOAD_ATTEMPTS {
            if let Some(read) = self.read_all(since_ms).await? {
                self.writes_seen = Some(read.writes);
                snapshot.send_modify(|current| {
                    current.window = read.window;
                    current.latest = read.latest;
                    current.settings = read.settings;
                });
                return Ok(());
            }
        }
        Err(StoreError::Unsettled(RELOAD_ATTEMPTS))
    }

    /// Every sample since `since_ms`, the newest sample, the write counter and the writer's
    /// settings, as of one moment; `None` if what was already read changed before the last
    /// chunk came.
    async fn read_all(&self, since_ms: i64) -> Result<Option<FullRead>, StoreError> {
        let mut window = Window::default();
        let mut latest = None;
        loop {
            let changes = self
                .store
                .read_after(
                    since_ms,
                    window.newest_ms(),
                    window.held_at_newest(),
                    self.chunk,
                )
                .await?;
            let complete = changes.after.len() < self.chunk;
            let (held, held_at_end) = (window.len(), window.held_at_newest());
            if !holds_the_same(&changes, held, held_at_end, held > 0) {
                return Ok(None);
            }
            apply(&mut window, &mut latest, &changes);
            if complete {
                return Ok(Some(FullRead {
                    window,
                    latest,
                    writes: changes.writes,
                    settings: changes.settings,
                }));
            }
        }
    }
}

/// Whether Redis still holds what the replica holds: as many samples before the newest held
/// time, and as many at it (or more, when `mid_read`: a chunk may have ended among samples
/// fetched in the same millisecond).
fn holds_the_same(changes: &Changes, held: usize, held_at_end: usize, mid_read: bool) -> bool {
    let (held, held_at_end) = (held as u64, held_at_end as u64);
    let at_end_matches = if mid_read {
        changes.at_held_end >= held_at_end
    } else {
        changes.at_held_end == held_at_end
    };
    changes.before_held_end == held - held_at_end && at_end_matches
}

/// One full read of the window.
struct FullRead {
    window: Window,
    latest: Option<Sample>,
    writes: u64,
    settings: Option<WriterSettings>,
}

/// Appends `changes` to `window` (they come in the set's order, after what it holds), rejected
/// samples by their time only, and sets `latest`: the newest stored sample, or when a reader
/// rejects that one, the newest valid sample of the window.
fn apply(window: &mut Window, latest: &mut Option<Sample>, changes: &Changes) {
    for stored in &changes.after {
        match stored {
            Stored::Valid(sample) => window.push(sample),
            Stored::Rejected { at_ms, why } => window.push_rejected(*at_ms, *why),
        }
    }
    if let Some(newest) = changes.after.iter().rev().find_map(Stored::valid) {
        window.set_newest_valid(newest);
    }
    *latest = match &changes.latest {
        Some(Stored::Valid(sample)) => Some(sample.clone()),
        Some(Stored::Rejected { .. }) => window.newest_valid().cloned(),
        None => None,
    };
}

#[cfg(test)]
mod tests;
