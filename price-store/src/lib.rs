//! The price samples in the pod-local Redis: the contract between the poller (the only writer)
//! and api-a (the reader). Nothing else knows the keys, the format or the rules a published price
//! obeys ([`rules`]).
//!
//! One sorted set, [`SAMPLES_KEY`]:
//! - **score**: when the sample was fetched, in Unix milliseconds;
//! - **member**: the [`Sample`] as compact JSON: the price and the evidence behind it, e.g.
//!   `{"fetched_at_ms":1763730000000,"price_usd":97123.4567,"quotes":[{"source":"kraken",
//!   "price_usd":97123.4567},...],"providers":6,"answered":3,"quorum":3,"basis":"quorum"}`.
//!   The member holds its own timestamp, so two samples never collide.
//!
//! Scores order the samples; two samples fetched in the same millisecond (which one poller never
//! writes) are ordered by member, as Redis does.
//!
//! And one counter, [`WRITES_KEY`]: how many samples were ever written; and the writer's
//! settings, [`SETTINGS_KEY`] ([`WriterSettings`]). The poller adds a sample, trims what is older
//! than its retention, counts the write and records its settings in one `MULTI`/`EXEC`, so a
//! reader never sees one without the others. A reader that already holds the samples up to some
//! time asks only for what came after, and the counter and a count of what it holds tell it
//! whether anything else changed ([`commands::read_after`]). A reader believes only what passes
//! [`Sample::check`]: anything else is [`Stored::Rejected`], counted where it stands but never
//! served. Both sides go through a [`Store`], which bounds every operation by a timeout.

mod commands;
pub mod rules;
mod sample;
mod settings;
mod store;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use env_config::{ConfigError, Env};

pub use commands::{Changes, Recent, read_after, read_recent, write, write_keeping};
pub use sample::{Basis, Rejection, Sample, SourceQuote, Stored};
pub use settings::WriterSettings;
pub use store::{Store, StoreError};

/// The sorted set of samples; the version suffix changes with the member format (v2: the
/// evidence behind each price), so a reader never mistakes one format for the other.
pub const SAMPLES_KEY: &str = "btc_usd:samples:v2";
/// The number of writes ever made to [`SAMPLES_KEY`], bumped with each.
pub const WRITES_KEY: &str = "btc_usd:samples:v2:writes";
/// The writer's [`WriterSettings`], as JSON, set with each write.
pub const SETTINGS_KEY: &str = "btc_usd:samples:v2:writer";

/// `REDIS_URL`'s default: the pod-local Redis.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// `REDIS_URL`, checked at start-up so a typo is a configuration error, not a runtime one. A
/// refused value is shown with its user and password masked: configuration errors end up in
/// logs.
pub fn redis_url(env: &Env) -> Result<String, ConfigError> {
    let Some(raw) = env.get("REDIS_URL")? else {
        return Ok(DEFAULT_REDIS_URL.to_owned());
    };
    match redis::Client::open(raw) {
        Ok(_) => Ok(raw.to_owned()),
        Err(err) => Err(ConfigError::new(
            "REDIS_URL",
            &mask_credentials(raw),
            mask_credentials(&err.to_string()).replace(raw, "the URL"),
        )),
    }
}

/// `url` with everything between its scheme and its last `@` (a user and a password, in a URL
/// well formed or not) replaced by `***`. May mask more than the credentials, never less.
fn mask_credentials(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}***@{host}"),
        None => url.to_owned(),
    }
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
    fn redis_url_defaults_to_the_pod_local_redis_and_is_validated() {
        assert_eq!(redis_url(&Env::from_pairs([])).unwrap(), DEFAULT_REDIS_URL);
        let custom = Env::from_pairs([("REDIS_URL", "redis://10.0.0.5:6380/2")]);
        assert_eq!(redis_url(&custom).unwrap(), "redis://10.0.0.5:6380/2");
        let bad = Env::from_pairs([("REDIS_URL", "http://nope")]);
        assert_eq!(redis_url(&bad).unwrap_err().var, "REDIS_URL");
    }

    #[test]
    fn a_refused_redis_url_never_shows_its_password() {
        for (raw, shown) in [
            ("http://user:s3cret@host:6379/0", "http://***@host:6379/0"),
            ("redis//:s3cret@host", "***@host"),
            ("redis://:s3cret@ho st:6379", "redis://***@ho st:6379"),
            ("redis://u:s3cret@@host:x", "redis://***@host:x"),
            ("rediss://:s3cret@host:99999", "rediss://***@host:99999"),
        ] {
            let env = Env::from_pairs([("REDIS_URL", raw)]);
            match redis_url(&env) {
                Ok(_) => assert_eq!(shown, raw, "{raw} was accepted"),
                Err(err) => {
                    let text = err.to_string();
                    assert!(!text.contains("s3cret"), "{text}");
                    assert_eq!(err.value, shown);
                }
            }
        }
    }

    #[test]
    fn unix_ms_counts_from_the_epoch() {
        assert_eq!(unix_ms(UNIX_EPOCH + Duration::from_millis(1500)), 1500);
        assert_eq!(unix_ms(UNIX_EPOCH - Duration::from_millis(20)), -20);
    }
}
