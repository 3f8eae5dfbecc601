//! The Redis commands of the schema: one atomic write, and the two reads (everything recent, or
//! only what changed after what a reader holds).

use redis::aio::ConnectionLike;

use super::{SAMPLES_KEY, SETTINGS_KEY, Sample, StoreError, Stored, WRITES_KEY, WriterSettings};

/// What a reader gets in one round trip.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recent {
    /// The newest sample, however old.
    pub latest: Option<Stored>,
    /// Every sample fetched at or after the requested time, oldest first.
    pub since: Vec<Stored>,
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
    pub after: Vec<Stored>,
    /// The newest sample, however old.
    pub latest: Option<Stored>,
    /// What the writer keeps, as it last said; `None` before its first write.
    pub settings: Option<WriterSettings>,
}

/// [`write_keeping`] with the samples fetched more than `settings`' retention before `sample`
/// trimmed.
pub async fn write(
    conn: &mut impl ConnectionLike,
    sample: &Sample,
    settings: &WriterSettings,
) -> Result<(), StoreError> {
    let oldest_kept_ms = sample.fetched_at_ms - settings.retention_ms;
    write_keeping(conn, sample, oldest_kept_ms, settings).await
}

/// Stores `sample` and, atomically with it, drops the samples fetched before `oldest_kept_ms`
/// and those stamped after `sample` (the one writer writes in the order of time, so a later
/// stamp is one its clock gave while it ran ahead: a clock stepped back since), counts the write
/// and records `settings`.
pub async fn write_keeping(
    conn: &mut impl ConnectionLike,
    sample: &Sample,
    oldest_kept_ms: i64,
    settings: &WriterSettings,
) -> Result<(), StoreError> {
    let member = serde_json::to_string(sample)?;
    redis::pipe()
        .atomic()
        .zrembyscore(SAMPLES_KEY, format!("({}", sample.fetched_at_ms), "+inf")
        .ignore()
        .zadd(SAMPLES_KEY, member, sample.fetched_at_ms)
        .ignore()
        .zrembyscore(SAMPLES_KEY, "-inf", format!("({oldest_kept_ms}"))
        .ignore()
        .incr(WRITES_KEY, 1)
        .ignore()
        .set(SETTINGS_KEY, serde_json::to_string(settings)?)
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
    let (latest, since): (Vec<Member>, Vec<Member>) = redis::pipe()
        .zrange_withscores(SAMPLES_KEY, -1, -1)
        .zrangebyscore_withscores(SAMPLES_KEY, since_ms, "+inf")
        .query_async(conn)
        .await?;
    Ok(Recent {
        latest: latest.first().map(stored),
        since: since.iter().map(stored).collect(),
    })
}

/// What changed for a reader that holds every sample from `since_ms` through
/// `held_through_ms` (`None`: it holds nothing), of which `held_at_end` were fetched at exactly
/// `held_through_ms`: the samples after those (in the set's order: by time, then by member), at
/// most `limit`, the newest sample, the write counter, the writer's settings and how many
/// samples the store has in the held range, all from one `MULTI`.
pub async fn read_after(
    conn: &mut impl ConnectionLike,
    since_ms: i64,
    held_through_ms: Option<i64>,
    held_at_end: usize,
    limit: usize,
) -> Result<Changes, StoreError> {
    // A reader that holds nothing holds no range: both counts are of a range that is empty by
    // construction (from `since_ms` up to, not including, itself), so a sample fetched at any
    // time, `since_ms - 1` included, cannot look like one held.
    let (held_range, held_end, from, skip) = match held_through_ms {
        Some(held) => (
            (since_ms.to_string(), format!("({held}")),
            (held.to_string(), held.to_string()),
            held,
            held_at_end,
        ),
        None => {
            let nothing = (since_ms.to_string(), format!("({since_ms}"));
            (nothing.clone(), nothing, since_ms, 0)
        }
    };
    type Reply = (
        Option<u64>,
        u64,
        u64,
        Vec<Member>,
        Vec<Member>,
        Option<String>,
    );
    let (writes, before_held_end, at_held_end, after, latest, settings): Reply = redis::pipe()
        .atomic()
        .get(WRITES_KEY)
        .zcount(SAMPLES_KEY, held_range.0, held_range.1)
        .zcount(SAMPLES_KEY, held_end.0, held_end.1)
        .zrangebyscore_limit_withscores(SAMPLES_KEY, from, "+inf", skip as isize, limit as isize)
        .zrange_withscores(SAMPLES_KEY, -1, -1)
        .get(SETTINGS_KEY)
        .query_async(conn)
        .await?;
    Ok(Changes {
        writes: writes.unwrap_or(0),
        before_held_end,
        at_held_end,
        after: after.iter().map(stored).collect(),
        latest: latest.first().map(stored),
        settings: settings.and_then(|json| serde_json::from_str(&json).ok()),
    })
}

/// A member of the sorted set and its score, as Redis returns them.
type Member = (String, f64);

/// A member and its score as a reader finds them.
fn stored((member, score): &Member) -> Stored {
    Stored::read(member, *score as i64)
}
