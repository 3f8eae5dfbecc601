//! The price samples in Redis: the contract between the poller (the only writer) and api-a
//! (the reader). Nothing else knows the keys or the format.
//!
//! One sorted set, [`SAMPLES_KEY`]:
//! - **score**: when the sample was fetched, in Unix milliseconds;
//! - **member**: the sample as compact JSON, for example
//!   `{"fetched_at_ms":1763730000000,"price_usd":97123.4567,"sources":["coinbase","kraken"]}`.
//!   The member holds its own timestamp, so two samples never collide.
//!
//! Scores order the samples; two samples fetched in the same millisecond (which one poller never
//! writes) are ordered by member, as Redis does.
//!
//! And one counter, [`WRITES_KEY`]: how many samples were ever written. The poller adds a sample,
//! trims what is older than its retention and counts the write in one `MULTI`/`EXEC`, so a reader
//! never sees one without the others. A reader that already holds the samples up to some time
//! asks only for what came after, and the counter and a count of what it holds tell it whether
//! anything else changed ([`commands::read_after`]); a fresh reader gets the newest sample and
//! every sample since a time ([`commands::read_recent`]). Both sides go through a [`Store`],
//! which bounds every operation by a timeout.

mod commands;
mod store;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Env};

pub use commands::{Changes, Recent, read_after, read_recent, write};
pub use store::{Store, StoreError};

/// The sorted set of samples; the version suffix changes if the member format ever does.
pub const SAMPLES_KEY: &str = "btc_usd:samples:v1";
/// The number of writes ever made to [`SAMPLES_KEY`], bumped with each.
pub const WRITES_KEY: &str = "btc_usd:samples:v1:writes";

/// `REDIS_URL`'s default: the pod-local Redis.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// `REDIS_URL`, checked at start-up so a typo is a configuration error, not a runtime one.
pub fn redis_url(env: &Env) -> Result<String, ConfigError> {
    env.parse_with("REDIS_URL", DEFAULT_REDIS_URL.to_owned(), |raw| {
        redis::Client::open(raw).map(|_| raw.to_owned())
    })
}

/// One poll's outcome: the BTC price in USD, when it was fetched and which providers agreed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub fetched_at_ms: i64,
    pub price_usd: f64,
    pub sources: Vec<String>,
}

/// `time` in Unix milliseconds, the unit of scores and `fetched_at_ms`.
pub fn unix_ms(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since_epoch) => duration_ms(since_epoch),
        Err(before_epoch) => -duration_ms(before_epoch.duration()),
    }
}

/// `duration` in milliseconds, saturating.
pub fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_member_format_is_the_documented_json() {
        let sample = Sample {
            fetched_at_ms: 1_763_730_000_000,
            price_usd: 97_123.456_7,
            sources: vec!["coinbase".into(), "kraken".into()],
        };
        let member = serde_json::to_string(&sample).unwrap();
        assert_eq!(
            member,
            r#"{"fetched_at_ms":1763730000000,"price_usd":97123.4567,"sources":["coinbase","kraken"]}"#
        );
        assert_eq!(serde_json::from_str::<Sample>(&member).unwrap(), sample);
    }

    #[test]
    fn redis_url_defaults_to_the_pod_local_redis_and_is_validated() {
        assert_eq!(redis_url(&Env::from_pairs([])).unwrap(), DEFAULT_REDIS_URL);
        let custom = Env::from_pairs([("REDIS_URL", "redis://10.0.0.5:6380/2")]);
        assert_eq!(redis_url(&custom).unwrap(), "redis://10.0.0.5:6380/2");
        let bad = Env::from_pairs([("REDIS_URL", "http://nope")]);
        assert_eq!(redis_url(&bad).unwrap_err().var, "REDIS_URL");
    }

    #[test]
    fn unix_ms_counts_from_the_epoch() {
        assert_eq!(unix_ms(UNIX_EPOCH + Duration::from_millis(1500)), 1500);
        assert_eq!(unix_ms(UNIX_EPOCH - Duration::from_millis(20)), -20);
    }
}
