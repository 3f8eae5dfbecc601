//! [`Store`]: the Redis holding the samples behind a small pool, with every operation bounded
//! by a timeout so that a dead or frozen Redis never holds up a caller.

use std::time::Duration;

use bb8_redis::RedisConnectionManager;
use redis::aio::MultiplexedConnection;

use super::{Changes, Recent, Sample, WriterSettings, commands};

/// Why a read or a write of the samples failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no connection to redis: {0}")]
    Connect(redis::RedisError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("a sample could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("redis did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("the samples kept changing while being read ({0} attempts)")]
    Unsettled(usize),
}

/// The Redis holding the samples, as both sides use it: every operation, taking a connection
/// included, either finishes within the store's timeout or fails with
/// [`StoreError::TimedOut`].
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

    /// [`commands::write_keeping`] over a pooled connection, within the timeout.
    pub async fn write(
        &self,
        sample: &Sample,
        oldest_kept_ms: i64,
        settings: &WriterSettings,
    ) -> Result<(), StoreError> {
        self.with_connection(async |conn| {
            commands::write_keeping(conn, sample, oldest_kept_ms, settings).await
        })
        .await
    }

    /// [`commands::read_recent`] over a pooled connection, within the timeout.
    pub async fn read_recent(&self, since_ms: i64) -> Result<Recent, StoreError> {
        self.with_connection(async |conn| commands::read_recent(conn, since_ms).await)
            .await
    }

    /// [`commands::read_after`] over a pooled connection, within the timeout.
    pub async fn read_after(
        &self,
        since_ms: i64,
        held_through_ms: Option<i64>,
        held_at_end: usize,
        limit: usize,
    ) -> Result<Changes, StoreError> {
        self.with_connection(async |conn| {
            commands::read_after(conn, since_ms, held_through_ms, held_at_end, limit).await
        })
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
