//! The incremental refresh against a full read of a real redis-server, over randomized
//! sequences of writes (new, held back with an older score, in bursts, members a reader
//! rejects), trims, deletions, `FLUSHALL` and restarts: after every step the snapshot must be
//! exactly what a full read gives, and a step that only appended must be refreshed
//! incrementally.

use std::time::{Duration, Instant};

use price_store::{
    SAMPLES_KEY, Sample, Store, Stored, WRITES_KEY, WriterSettings, read_recent, write,
};
use test_support::RedisServer;
use tokio::sync::watch;

use super::{READ_MARGIN, Refreshed, Replica};
use crate::snapshot::Snapshot;
use crate::window::Window;

const WINDOW: Duration = Duration::from_secs(20);
/// The poller's retention: the window plus a minute.
const RETENTION: Duration = Duration::from_secs(80);
const START_MS: i64 = 1_763_730_000_000;

/// A small deterministic random generator (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one step did to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// New samples, each newer than every stored one (possibly none): a refresh may append.
    Appended,
    /// Anything else.
    Rewrote,
}

struct Scenario {
    rng: Rng,
    redis: RedisServer,
    conn: redis::aio::MultiplexedConnection,
    now_ms: i64,
    newest_ms: i64,
}

impl Scenario {
    fn sample(&mut self, at_ms: i64) -> Sample {
        let cents = 9_700_000 + self.rng.below(100_000) as i64;
        // Prices with sub-cent digits, as the median of exchanges' prices has.
        let price_usd = cents as f64 / 100.0 + self.rng.below(100) as f64 / 10_000.0;
        let mut sample = test_support::samples::confirmed(at_ms, price_usd);
        sample.answered += self.rng.below(4) as u32;
        sample
    }

    async fn write_at(&mut self, at_ms: i64) {
        let sample = self.sample(at_ms);
        let settings = WriterSettings::new(WINDOW, RETENTION, Duration::from_secs(1));
        write(&mut self.conn, &sample, &settings).await.unwrap();
        self.newest_ms = self.newest_ms.max(at_ms);
    }

    /// A member a reader rejects, counted as a write (a writer with a bug): a price in cents
    /// among its sources' dollars, or no sample at all.
    async fn write_rejected_at(&mut self, at_ms: i64) {
        let member = match self.rng.below(2) {
            0 => {
                let mut cents = self.sample(at_ms);
                cents.price_usd *= 100.0;
                serde_json::to_string(&cents).unwrap()
            }
            _ => format!("garbage {at_ms}"),
        };
        let _: () = redis::pipe()
            .atomic()
            .zadd(SAMPLES_KEY, member, at_ms)
            .ignore()
            .incr(WRITES_KEY, 1)
            .ignore()
            .query_async(&mut self.conn)
            .await
            .unwrap();
        self.newest_ms = self.newest_ms.max(at_ms);
    }

    /// One random change to Redis and the clock.
    async fn step(&mut self) -> Step {
        self.now_ms += self.rng.below(3_000) as i64;
        match self.rng.below(100) {
            0..=49 => {
                self.now_ms += 1;
                self.write_at(self.now_ms).await;
                Step::Appended
            }
            50..=59 => {
                for _ in 0..1 + self.rng.below(12) {
                    self.now_ms += 1 + self.rng.below(500) as i64;
                    self.write_at(self.now_ms).await;
                }
                Step::Appended
            }
            60..=69 => Step::Appended, // nothing written; time passes
            70..=79 => {
                // A held-back sample, written late with its older fetch time (sometimes the very
                // time of a stored one).
                let at = match self.rng.below(4) {
                    0 => self.newest_ms,
                    _ => self.now_ms - 1 - self.rng.below(30_000) as i64,
                };
                let appends = at > self.newest_ms && at >= self.since_ms();
                self.write_at(at).await;
                if appends {
                    Step::Appended
                } else {
                    Step::Rewrote
                }
            }
            80..=83 => {
                if self.delete_one().await {
                    Step::Rewrote
                } else {
                    Step::Appended
                }
            }
            84..=86 => {
                // One sample replaced by another within the held range: the count is unchanged.
                let deleted = self.delete_one().await;
                let at = self.now_ms - 1 - self.rng.below(15_000) as i64;
                self.write_at(at).await;
                let _ = deleted;
                Step::Rewrote
            }
            87..=89 => {
                self.now_ms += WINDOW.as_millis() as i64 + self.rng.below(90_000) as i64;
                Step::Appended
            }
            90..=92 => {
                // A member a reader rejects, new or among the stored ones.
                let at = match self.rng.below(3) {
                    0 => self.now_ms - 1 - self.rng.below(15_000) as i64,
                    _ => {
                        self.now_ms += 1;
                        self.now_ms
                    }
                };
                let appends = at > self.newest_ms && at >= self.since_ms();
                self.write_rejected_at(at).await;
                if appends {
                    Step::Appended
                } else {
                    Step::Rewrote
                }
            }
            93..=97 => {
                let _: () = redis::cmd("FLUSHALL")
                    .query_async(&mut self.conn)
                    .await
                    .unwrap();
                self.newest_ms = 0;
                Step::Rewrote
            }
            _ => {
                self.redis.restart().await;
                self.conn = self.redis.connection().await;
                self.newest_ms = 0;
                Step::Rewrote
            }
        }
    }

    /// Deletes a random stored sample, as an operator might; `false` if there was none.
    async fn delete_one(&mut self) -> bool {
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(SAMPLES_KEY)
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn)
            .await
            .unwrap();
        if members.is_empty() {
            return false;
        }
        let victim = &members[self.rng.below(members.len() as u64) as usize];
        let _: () = redis::cmd("ZREM")
            .arg(SAMPLES_KEY)
            .arg(victim)
            .query_async(&mut self.conn)
            .await
            .unwrap();
        true
    }

    /// The oldest fetch time the replica holds at `now_ms`.
    fn since_ms(&self) -> i64 {
        self.now_ms - (WINDOW + READ_MARGIN).as_millis() as i64
    }

    /// What a full read gives at `now_ms`: the window of every stored sample since the held
    /// range's start, rejected ones by their time, and the newest stored sample, or the newest
    /// valid one of the window when a reader rejects that one.
    async fn full_read(&mut self) -> (Option<Sample>, Window) {
        let since_ms = self.since_ms();
        let recent = read_recent(&mut self.conn, since_ms).await.unwrap();
        let mut window = Window::default();
        let mut newest_valid = None;
        for stored in &recent.since {
            match stored {
                Stored::Valid(sample) => {
                    window.push(sample);
                    newest_valid = Some(sample.clone());
                }
                Stored::Rejected { at_ms, why } => window.push_rejected(*at_ms, *why),
            }
        }
        let latest = match recent.latest {
            Some(Stored::Valid(sample)) => Some(sample),
            Some(Stored::Rejected { .. }) => newest_valid,
            None => None,
        };
        (latest, window)
    }
}

async fn run(seed: u64, steps: usize, chunk: usize) {
    let redis = RedisServer::start().await;
    let conn = redis.connection().await;
    let mut replica = Replica::new(Store::new(&redis.url(), Duration::from_secs(2)), WINDOW);
    replica.chunk = chunk;
    let (snapshot, _receiver) = watch::channel(Snapshot::default());
    let mut scenario = Scenario {
        rng: Rng(seed),
        redis,
        conn,
        now_ms: START_MS,
        newest_ms: 0,
    };
    let mut incremental = 0;
    for step_number in 0..steps {
        let step = scenario.step().await;
        let refreshed = replica
            .refresh(&snapshot, scenario.now_ms, Instant::now())
            .await
            .unwrap_or_else(|e| panic!("seed {seed} step {step_number}: {e}"));
        let (latest, expected) = scenario.full_read().await;
        let held = snapshot.borrow();
        let context = format!("seed {seed} step {step_number} ({step:?}, {refreshed:?})");
        assert_eq!(held.latest, latest, "{context}");
        assert_eq!(held.window.len(), expected.len(), "{context}");
        assert!(
            held.window.rejected().eq(expected.rejected()),
            "{context}: rejected samples"
        );
        for window in [WINDOW, WINDOW / 2, Duration::from_secs(1)] {
            assert_eq!(
                held.window.stats(scenario.now_ms, window),
                expected.stats(scenario.now_ms, window),
                "{context}, window {window:?}"
            );
        }
        if step == Step::Appended && step_number > 0 && replica.writes_seen.is_some() {
            assert_eq!(refreshed, Refreshed::Incrementally, "{context}");
            incremental += 1;
        }
    }
    assert!(
        incremental > steps / 3,
        "seed {seed}: only {incremental} incremental refreshes"
    );
}

#[tokio::test]
async fn incremental_refreshes_equal_full_reads_over_random_histories() {
    for seed in 1..=12u64 {
        run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 60, super::CHUNK).await;
    }
}

#[tokio::test]
async fn chunked_reads_equal_full_reads_over_random_histories() {
    for seed in 100..=108u64 {
        run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 60, 3).await;
    }
}

#[tokio::test]
async fn a_replica_that_holds_nothing_is_not_thrown_by_a_sample_just_before_its_range() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let now_ms = START_MS;
    let since_ms = now_ms - (WINDOW + READ_MARGIN).as_millis() as i64;
    let settings = WriterSettings::new(WINDOW, RETENTION, Duration::from_secs(1));
    for at_ms in [since_ms - 1, now_ms - 1_000] {
        let sample = test_support::samples::confirmed(at_ms, 97_000.0);
        write(&mut conn, &sample, &settings).await.unwrap();
    }
    let mut replica = Replica::new(Store::new(&redis.url(), Duration::from_secs(2)), WINDOW);
    let (snapshot, _receiver) = watch::channel(Snapshot::default());
    let refreshed = replica.refresh(&snapshot, now_ms, Instant::now()).await;
    assert_eq!(
        refreshed.unwrap(),
        Refreshed::Fully,
        "the first refresh settles"
    );
    assert_eq!(snapshot.borrow().window.len(), 1);
}
