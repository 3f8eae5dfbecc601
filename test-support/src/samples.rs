//! Samples as the tests need them: a price its sources confirmed (three of six, or the sources a
//! test names), written as the poller writes it.

use std::time::Duration;

use price_store::{Basis, Sample, SourceQuote, WriterSettings};

/// The sources of [`confirmed`] samples.
pub const SOURCES: [&str; 3] = ["coinbase", "kraken", "bitstamp"];

/// The settings of a poller keeping a 10-minute window, ticking every 10 s.
pub fn settings() -> WriterSettings {
    settings_for(Duration::from_secs(600))
}

/// The settings of a poller keeping `window` (plus a minute), ticking every 10 s.
pub fn settings_for(window: Duration) -> WriterSettings {
    WriterSettings::new(
        window,
        window + Duration::from_secs(60),
        Duration::from_secs(10),
    )
}

/// `price_usd` at `fetched_at_ms`, as three of six providers confirmed it, each quoting exactly
/// that price.
pub fn confirmed(fetched_at_ms: i64, price_usd: f64) -> Sample {
    Sample {
        providers: 6,
        ..confirmed_by(&SOURCES, fetched_at_ms, price_usd)
    }
}

/// `price_usd` at `fetched_at_ms`, each of `sources` quoting exactly that price, by a poller that
/// asks those sources only (so they are its quorum, or three of them are).
pub fn confirmed_by(sources: &[&str], fetched_at_ms: i64, price_usd: f64) -> Sample {
    let count = sources.len() as u32;
    Sample {
        fetched_at_ms,
        price_usd,
        quotes: sources
            .iter()
            .map(|source| SourceQuote {
                source: (*source).to_owned(),
                price_usd,
                quoted_at_ms: None,
            })
            .collect(),
        providers: count,
        answered: count,
        quorum: count.min(3),
        basis: Basis::Quorum,
    }
}
