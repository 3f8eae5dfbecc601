//! The price samples in Redis: the contract between the poller (the only writer) and api-a
//! (the reader). Nothing else knows the key or the format.
//!
//! One sorted set, [`SAMPLES_KEY`]:
//! - **score**: when the sample was fetched, in Unix milliseconds;
//! - **member**: the sample as compact JSON, for example
//!   `{"fetched_at_ms":1763730000000,"price_usd":97123.4567,"sources":["coinbase","kraken"]}`.
//!   The member holds its own timestamp, so two samples never collide.
//!
//! The poller adds a sample and trims what is older than its retention in one `MULTI`/`EXEC`,
//! so a reader never sees one without the other. A reader gets the newest sample and every
//! sample since a given time in one pipelined round trip ([`read_recent`]). Both go through a
//! [`Store`], which bounds every operation by a timeout.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bb8_redis::RedisConnectionManager;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Env};

/// The sorted set of samples; the version suffix changes if the member format ever does.
pub const SAMPLES_KEY: &str = "btc_usd:samples:v1";

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

/// Why a read or a write of the samples failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no connection to redis: {0}")]
    Connect(redis::RedisError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("a stored sample is not in the v1 format: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("redis did not answer within {0:?}")]
    TimedOut(Duration),
}

/// What a reader gets in one round trip.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recent {
    /// The newest sample, however old.
    pub latest: Option<Sample>,
    /// Every sample fetched at or after the requested time, oldest first.
    pub since: Vec<Sample>,
}

/// The Redis holding the samples, as both sides use it: every operation, taking a connection
/// included, either finishes within the store's timeout or fails with
/// [`StoreError::TimedOut`], so a dead or frozen Redis never holds up a caller.
#[derive(Clone)]
pub struct Store {
    pool: bb8::Pool<RedisConnectionManager>,
    timeout: Duration,
}

impl Store {
    /// A store that connects lazily (Redis may be down at start-up). When Redis is down, taking
    /// a connection fails within `timeout`, and the cause of each failed attempt (e.g.
    /// connection refused) is logged at debug by [`LogConnectErrors`]. A failed attempt is not
    /// retried in the background, so the next operation tries afresh. Each connection is
    /// checked with a `PING` when taken from the pool, so one broken by a Redis restart is
    /// replaced instead of failing again.
    pub fn new(redis_url: &str, timeout: Duration) -> Self {
        let manager = RedisConnectionManager::new(redis_url).expect("REDIS_URL was validated");
        let pool = bb8::Pool::builder()
            .max_size(4)
            .connection_timeout(timeout)
            .retry_connection(false)
            .error_sink(Box::new(LogConnectErrors))
            .build_unchecked(manager);
        Self { pool, timeout }
    }

    /// [`write`] over a pooled connection, within the timeout.
    pub async fn write(&self, sample: &Sample, retention: Duration) -> Result<(), StoreError> {
        self.with_connection(async |conn| write(conn, sample, retention).await)
            .await
    }

    /// [`read_recent`] over a pooled connection, within the timeout.
    pub async fn read_recent(&self, since_ms: i64) -> Result<Recent, StoreError> {
        self.with_connection(async |conn| read_recent(conn, since_ms).await)
            .await
    }

    async fn with_connection<T>(
        &self,
        operation: impl AsyncFnOnce(&mut MultiplexedConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let attempt = async {
            let mut connection = self.pool.get().await.map_err(|err| match err {
                bb8::RunError::User(err) => StoreError::Connect(err),
                bb8::RunError::TimedOut => StoreError::TimedOut(self.timeout),
            })?;
            operation(&mut connection).await
        };
        tokio::time::timeout(self.timeout, attempt)
            .await
            .unwrap_or(Err(StoreError::TimedOut(self.timeout)))
    }
}

/// Logs why the pool could not connect, which its callers only see as a timeout.
#[derive(Debug, Clone, Copy)]
struct LogConnectErrors;

impl bb8::ErrorSink<redis::RedisError> for LogConnectErrors {
    fn sink(&self, error: redis::RedisError) {
        log::debug!("redis connection attempt failed: {error}");
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<redis::RedisError>> {
        Box::new(*self)
    }
}

/// Stores `sample` and, atomically with it, drops samples fetched more than `retention`
/// before it.
pub async fn write(
    conn: &mut impl ConnectionLike,
    sample: &Sample,
    retention: Duration,
) -> Result<(), StoreError> {
    let member = serde_json::to_string(sample)?;
    let oldest_kept = sample.fetched_at_ms - duration_ms(retention);
    redis::pipe()
        .atomic()
        .zadd(SAMPLES_KEY, member, sample.fetched_at_ms)
        .ignore()
        .zrembyscore(SAMPLES_KEY, "-inf", format!("({oldest_kept}"))
        .ignore()
        .query_async::<()>(conn)
        .await?;
    Ok(())
}

/// The newest sample and every sample fetched at or after `since_ms`, in one round trip.
pub async fn read_recent(
    conn: &mut impl ConnectionLike,
    since_ms: i64,
) -> Result<Recent, StoreError> {
    let (latest, since): (Vec<String>, Vec<String>) = redis::pipe()
        .zrange(SAMPLES_KEY, -1, -1)
        .zrangebyscore(SAMPLES_KEY, since_ms, "+inf")
        .query_async(conn)
        .await?;
    Ok(Recent {
        latest: latest
            .first()
            .map(|m| serde_json::from_str(m))
            .transpose()?,
        since: since
            .iter()
            .map(|m| serde_json::from_str(m))
            .collect::<Result<_, _>>()?,
    })
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
