//! Seeds a Redis with price samples in the poller's format, for the benchmark (`bench/run`)
//! or for trying the API by hand:
//!
//! `cargo run -p api-a --example seed -- redis://127.0.0.1:6379 [COUNT] [INTERVAL]`
//!
//! writes COUNT samples (default 60), one every INTERVAL (default 10s), the newest fetched now,
//! each confirmed by three sources, as a poller with a window of COUNT × INTERVAL would.
//! Each goes through `price_store::write`, as the poller writes, so the write counter
//! counts it, one at a time in the order of time.

use std::time::{Duration, SystemTime};

use price_store::{WriterSettings, unix_ms, write};
use test_support::samples::confirmed;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: seed REDIS_URL [COUNT] [INTERVAL]")?;
    let count: u32 = args.next().map_or(Ok(60), |raw| raw.parse())?;
    let interval = args.next().map_or(Ok(Duration::from_secs(10)), |raw| {
        humantime::parse_duration(&raw)
    })?;

    let conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let now_ms = unix_ms(SystemTime::now());
    // Longer than the whole series, so that no write trims a sample written before it.
    let window = interval * count;
    let settings = WriterSettings::new(window, window + Duration::from_secs(3600), interval);
    // One write at a time, in the order of time, as the poller writes: a write drops the
    // samples stamped after its own, so a later sample's write must never overtake an earlier
    // one (pipelined writes on a multiplexed connection could).
    let mut conn = conn;
    for age in (0..count).rev() {
        let sample = confirmed(
            now_ms - i64::from(age) * interval.as_millis() as i64,
            97_123.456_7 - f64::from(age % 17) * 13.37,
        );
        write(&mut conn, &sample, &settings).await?;
    }
    println!("seeded {count} samples, one every {interval:?}");
    Ok(())
}
