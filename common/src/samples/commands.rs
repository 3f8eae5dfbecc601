//! The Redis commands of the schema: one atomic write, and the two reads (everything recent, or
//! only what changed after what a reader holds).

use std::time::Duration;

use redis::aio::ConnectionLike;

use super::{SAMPLES_KEY, Sample, StoreError, WRITES_KEY, duration_ms};

/// What a reader gets in one round trip.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recent {
    /// The newest sample, however old.
    pub latest: Option<Sample>,
    /// Every sample fetched at or after the requested time, oldest first.
    pub since: Vec<Sample>,
}

/// What changed in the store after what a reader holds, read in one atomic round trip.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    /// [`WRITES_KEY`]: the writes ever made (0 for a store that lost or never had any).
    pub writes: u64,
    /// How many samples the store holds from `since_ms` up to, not including, `held_through_ms`:
    /// as many as the reader holds there if nothing in that range changed.
    pub before_held_end: u64,
    /// How many samples the store holds fetched at exactly `held_through_ms` (usually one).
    pub at_held_end: u64,
    /// The samples fetched after `held_through_ms` (or from `since_ms` for a reader that holds
    /// nothing), oldest first, at most `limit` of them.
    pub after: Vec<Sample>,
    /// The newest sample, however old.
    pub latest: Option<Sample>,
}

/// Stores `sample` and, atomically with it, drops samples fetched more than `retention`
/// before it and counts the write.
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
        .incr(WRITES_KEY, 1)
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

/// What changed for a reader that holds every sample from `since_ms` through
/// `held_through_ms` (`None`: it holds nothing), of which `held_at_end` were fetched at exactly
/// `held_through_ms`: the samples after those (in the set's order: by time, then by member), at
/// most `limit`, the newest sample, the write counter and how many samples the store has in the
/// held range, all from one `MULTI`.
pub async fn read_after(
    conn: &mut impl ConnectionLike,
    since_ms: i64,
    held_through_ms: Option<i64>,
    held_at_end: usize,
    limit: usize,
) -> Result<Changes, StoreError> {
    let (from, end, skip) = match held_through_ms {
        Some(held) => (held, held, held_at_end),
        None => (since_ms, since_ms - 1, 0),
    };
    let (writes, before_held_end, at_held_end, after, latest): (
        Option<u64>,
        u64,
        u64,
        Vec<String>,
        Vec<String>,
    ) = redis::pipe()
        .atomic()
        .get(WRITES_KEY)
        .zcount(SAMPLES_KEY, since_ms, format!("({end}"))
        .zcount(SAMPLES_KEY, end, end)
        .zrangebyscore_limit(SAMPLES_KEY, from, "+inf", skip as isize, limit as isize)
        .zrange(SAMPLES_KEY, -1, -1)
        .query_async(conn)
        .await?;
    Ok(Changes {
        writes: writes.unwrap_or(0),
        before_held_end,
        at_held_end,
        after: after
            .iter()
            .map(|m| serde_json::from_str(m))
            .collect::<Result<_, _>>()?,
        latest: latest
            .first()
            .map(|m| serde_json::from_str(m))
            .transpose()?,
    })
}
