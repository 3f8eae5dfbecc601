//! `/current`'s answer, made once per sample: everything in it but the age and the staleness
//! depends on the newest sample alone, so that part is formatted when the sample changes and a
//! request only writes its own age and staleness between the two halves. The age counts whole
//! milliseconds, so every request within the same millisecond (about a hundred at full load)
//! shares the first one's body.

use std::sync::Mutex;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use price_store::Sample;

use crate::models::{Current, current};

/// What separates the two halves in a body made with [`PLACEHOLDER_AGE`] and not stale.
const SPLIT: &str = r#""age_seconds":0.0,"stale":false,"#;
const PLACEHOLDER_AGE: i64 = 0;

/// `/current`'s body for one sample, in two halves around its age and staleness.
#[derive(Debug)]
struct Halves {
    sample: Sample,
    /// Up to `"age_seconds":`.
    head: Bytes,
    /// From `,"sources":` to the end.
    tail: Bytes,
    /// The last body made, with the time and staleness bound it was made for.
    last: Option<(i64, Duration, Bytes)>,
}

impl Halves {
    fn of(sample: &Sample) -> Self {
        // At its own time and never stale, the sample's age and staleness are the placeholder's.
        let at_fetch = Current::new(
            sample,
            sample.fetched_at_ms + PLACEHOLDER_AGE,
            Duration::MAX,
        );
        let json = serde_json::to_string(&at_fetch).expect("a current price always serializes");
        let split = json
            .find(SPLIT)
            .expect("the age and staleness follow the price and its time");
        let head = split + r#""age_seconds":"#.len();
        let tail = split + SPLIT.len() - 1;
        Self {
            sample: sample.clone(),
            head: Bytes::copy_from_slice(&json.as_bytes()[..head]),
            tail: Bytes::copy_from_slice(&json.as_bytes()[tail..]),
            last: None,
        }
    }

    fn body(&mut self, now_ms: i64, stale_after: Duration) -> Bytes {
        match &self.last {
            Some((made_ms, bound, body)) if (*made_ms, *bound) == (now_ms, stale_after) => {
                body.clone()
            }
            _ => {
                let body = self.make(now_ms, stale_after);
                self.last = Some((now_ms, stale_after, body.clone()));
                body
            }
        }
    }

    fn make(&self, now_ms: i64, stale_after: Duration) -> Bytes {
        let (age_seconds, stale) = current::freshness(&self.sample, now_ms, stale_after);
        let mut body = BytesMut::with_capacity(self.head.len() + self.tail.len() + 32);
        body.put_slice(&self.head);
        serde_json::to_writer((&mut body).writer(), &age_seconds).expect("a number serializes");
        body.put_slice(if stale {
            b",\"stale\":true"
        } else {
            b",\"stale\":false"
        });
        body.put_slice(&self.tail);
        body.freeze()
    }
}

/// The halves of the latest sample's body.
#[derive(Debug, Default)]
pub struct CurrentBody {
    kept: Mutex<Option<Halves>>,
}

impl CurrentBody {
    /// `latest`'s `/current` body at `now_ms`: the JSON of [`Current::new`], byte for byte.
    pub fn body(&self, latest: &Sample, now_ms: i64, stale_after: Duration) -> Bytes {
        // A panic while the lock was held leaves halves that are still whole: go on with them.
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match kept.as_mut() {
            Some(halves) if halves.sample == *latest => halves.body(now_ms, stale_after),
            _ => kept.insert(Halves::of(latest)).body(now_ms, stale_after),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_763_730_000_000;

    #[test]
    fn the_body_is_the_current_price_s_json_byte_for_byte_at_any_age() {
        let stale_after = Duration::from_secs(30);
        let bodies = CurrentBody::default();
        let mut continuity = test_support::samples::confirmed(NOW_MS - 61_000, 91_000.0);
        continuity.quotes.truncate(1);
        continuity.answered = 1;
        continuity.basis = price_store::Basis::Continuity {
            confirmed_usd: 90_000.0,
            confirmed_at_ms: NOW_MS - 120_000,
        };
        let mut stamped = test_support::samples::confirmed(NOW_MS - 3_249, 97_123.456_7);
        stamped.quotes[0].quoted_at_ms = Some(NOW_MS - 3_500);
        for sample in [stamped, continuity] {
            for age_ms in [
                -3_600_000, -1_001, -1, 0, 49, 50, 3_249, 30_000, 30_001, 86_400_000,
            ] {
                let now_ms = sample.fetched_at_ms + age_ms;
                let expected =
                    serde_json::to_vec(&Current::new(&sample, now_ms, stale_after)).unwrap();
                let body = bodies.body(&sample, now_ms, stale_after);
                assert_eq!(
                    std::str::from_utf8(&body).unwrap(),
                    std::str::from_utf8(&expected).unwrap(),
                    "age {age_ms} ms"
                );
            }
        }
    }

    #[test]
    fn requests_within_one_millisecond_share_one_body() {
        let stale_after = Duration::from_secs(30);
        let bodies = CurrentBody::default();
        let sample = test_support::samples::confirmed(NOW_MS - 1_000, 97_000.0);
        let first = bodies.body(&sample, NOW_MS, stale_after);
        let again = bodies.body(&sample, NOW_MS, stale_after);
        assert_eq!(first.as_ptr(), again.as_ptr(), "the same bytes, not a copy");
        let later = bodies.body(&sample, NOW_MS + 1, stale_after);
        assert_ne!(first.as_ptr(), later.as_ptr());
        let expected = serde_json::to_vec(&Current::new(&sample, NOW_MS + 1, stale_after)).unwrap();
        assert_eq!(later, expected, "a millisecond later, its own age");
    }

    #[test]
    fn a_new_sample_gets_a_new_body() {
        let stale_after = Duration::from_secs(30);
        let bodies = CurrentBody::default();
        let first = test_support::samples::confirmed(NOW_MS - 1_000, 97_000.0);
        let mut second = first.clone();
        second.quotes[1].price_usd = 97_001.0;
        let before = bodies.body(&first, NOW_MS, stale_after);
        let after = bodies.body(&second, NOW_MS, stale_after);
        assert_ne!(before, after, "the same time, another quote");
        let expected = serde_json::to_vec(&Current::new(&second, NOW_MS, stale_after)).unwrap();
        assert_eq!(after, expected);
    }
}
