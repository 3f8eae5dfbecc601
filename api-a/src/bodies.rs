//! Answers kept: `/history`'s body depends only on which samples of the window it covers and how
//! thinly ([`Selection`] and `max_points`), `/average`'s on those samples and the poller's
//! settings, so the requests that come between two changes of the window share one body instead
//! of each formatting it again (up to 5 000 points for `/history`: a day's window costs a request
//! what ten minutes' do).

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;

use price_store::WriterSettings;

use crate::window::Selection;

/// Bodies kept per route: for `/history` the page's chart and the default (`max_points` 240 and
/// 500) and a few others, each for the window's current contents.
const KEPT: usize = 4;

/// `/history`'s key: which samples, how thinly.
pub type HistoryKey = (Selection, usize);
/// `/average`'s key: which samples, and the settings its coverage is computed from.
pub type AverageKey = (Selection, Option<WriterSettings>);

/// A route's latest bodies, newest last, by what they were made from.
#[derive(Debug)]
pub struct Bodies<K> {
    kept: Mutex<VecDeque<(K, Bytes)>>,
}

impl<K> Default for Bodies<K> {
    fn default() -> Self {
        Self {
            kept: Mutex::default(),
        }
    }
}

impl<K: PartialEq> Bodies<K> {
    /// The body made from `key`: the one kept, or `make`'s, kept then.
    pub fn get_or_make(&self, key: K, make: impl FnOnce() -> Bytes) -> Bytes {
        if let Some((_, body)) = self.lock().iter().find(|(kept, _)| *kept == key) {
            return body.clone();
        }
        let body = make();
        let mut kept = self.lock();
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back((key, body.clone()));
        body
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(K, Bytes)>> {
        // A panic while the lock was held leaves bodies that are still whole: go on with them.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn selection(generation: u64, first: usize) -> Selection {
        Selection {
            generation,
            first,
            count: 10,
        }
    }

    #[test]
    fn a_body_is_made_once_per_selection_and_thinness() {
        let bodies = Bodies::<HistoryKey>::default();
        let made = Cell::new(0);
        let make = |text: &'static str| {
            || {
                made.set(made.get() + 1);
                Bytes::from_static(text.as_bytes())
            }
        };
        assert_eq!(bodies.get_or_make((selection(1, 0), 500), make("a")), "a");
        assert_eq!(bodies.get_or_make((selection(1, 0), 500), make("b")), "a");
        assert_eq!(made.get(), 1);
        assert_eq!(bodies.get_or_make((selection(1, 0), 240), make("c")), "c");
        assert_eq!(
            bodies.get_or_make((selection(2, 0), 500), make("d")),
            "d",
            "a new generation"
        );
        assert_eq!(
            bodies.get_or_make((selection(2, 1), 500), make("e")),
            "e",
            "the window slid"
        );
        assert_eq!(made.get(), 4);
    }

    #[test]
    fn only_the_latest_few_bodies_are_kept() {
        let bodies = Bodies::<HistoryKey>::default();
        for generation in 0..10 {
            bodies.get_or_make((selection(generation, 0), 500), || Bytes::from_static(b"x"));
        }
        assert_eq!(bodies.lock().len(), KEPT);
    }
}
