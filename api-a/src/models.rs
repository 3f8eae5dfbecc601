//! The JSON bodies of `/current`, `/average` and `/history`, and how money and times are shown
//! in them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::samples::{Sample, duration_ms};
use serde::Serialize;

use crate::window::{PricePoint, WindowStats};

/// The currency of every price: the US dollar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum Currency {
    #[serde(rename = "USD")]
    Usd,
}

const CURRENCY: Currency = Currency::Usd;

/// `GET {BASE_PATH}/current`: the newest sample.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Current {
    /// Always `USD`.
    pub currency: Currency,
    /// The BTC price in US dollars, rounded to the cent.
    #[schema(example = 97123.46)]
    pub price: f64,
    /// When the price was fetched (RFC 3339, UTC, milliseconds).
    #[schema(format = DateTime, example = "2026-11-21T13:30:23.237Z")]
    pub as_of: String,
    /// Seconds since it was fetched, to the tenth.
    #[schema(example = 2.7, minimum = 0)]
    pub age_seconds: f64,
    /// Whether it is older than `STALE_AFTER` (30 s by default).
    #[schema(example = false)]
    pub stale: bool,
    /// The exchanges whose answers agreed on the price.
    #[schema(example = json!(["coinbase", "kraken", "bitstamp"]))]
    pub sources: Vec<String>,
}

impl Current {
    /// `latest` as seen at `now_ms`: stale once it is older than `stale_after`.
    pub fn new(latest: &Sample, now_ms: i64, stale_after: Duration) -> Self {
        let age_ms = now_ms.saturating_sub(latest.fetched_at_ms).max(0);
        let stale_after_ms = duration_ms(stale_after);
        Self {
            currency: CURRENCY,
            price: round_to_cent(latest.price_usd),
            as_of: rfc3339(latest.fetched_at_ms),
            age_seconds: round_to_tenth(age_ms as f64 / 1000.0),
            stale: age_ms > stale_after_ms,
            sources: latest.sources.clone(),
        }
    }
}

/// `GET {BASE_PATH}/average`: the mean over the sliding window ending now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Average {
    /// Always `USD`.
    pub currency: Currency,
    /// The arithmetic mean of the samples in the window, in US dollars, rounded to the cent.
    #[schema(example = 97024.52)]
    pub average: f64,
    /// The window's length in seconds (`AVERAGE_WINDOW`).
    #[schema(example = 600, minimum = 1)]
    pub window_seconds: u64,
    /// How many samples the mean is of.
    #[schema(example = 60, minimum = 1)]
    pub samples: usize,
    /// When the oldest sample counted was fetched (RFC 3339, UTC).
    #[schema(format = DateTime, example = "2026-11-21T13:20:33.237Z")]
    pub from: String,
    /// When the newest sample counted was fetched (RFC 3339, UTC).
    #[schema(format = DateTime, example = "2026-11-21T13:30:23.237Z")]
    pub to: String,
}

impl Average {
    pub fn new(stats: &WindowStats, window: Duration) -> Self {
        Self {
            currency: CURRENCY,
            average: round_to_cent(stats.mean_price),
            window_seconds: window.as_secs(),
            samples: stats.count,
            from: rfc3339(stats.oldest_ms),
            to: rfc3339(stats.newest_ms),
        }
    }
}

/// `GET {BASE_PATH}/history`: the samples of the sliding window ending now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct History {
    /// Always `USD`.
    pub currency: Currency,
    /// The window's length in seconds (`AVERAGE_WINDOW`).
    #[schema(example = 600, minimum = 1)]
    pub window_seconds: u64,
    /// How many samples the window holds; `points` has them all, or evenly spaced ones by rank
    /// (the oldest and the newest always) when they are more than `max_points`.
    #[schema(example = 60, minimum = 1)]
    pub samples: usize,
    /// The samples, oldest first.
    pub points: Vec<HistoryPoint>,
}

/// One sample of `/history`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HistoryPoint {
    /// When it was fetched (RFC 3339, UTC).
    #[schema(format = DateTime, example = "2026-11-21T13:30:23.237Z")]
    pub t: String,
    /// The price in US dollars, rounded to the cent.
    #[schema(example = 97123.46)]
    pub price: f64,
}

impl History {
    pub fn new(samples: usize, points: &[PricePoint], window: Duration) -> Self {
        Self {
            currency: CURRENCY,
            window_seconds: window.as_secs(),
            samples,
            points: points
                .iter()
                .map(|point| HistoryPoint {
                    t: rfc3339(point.at_ms),
                    price: round_to_cent(point.price_usd),
                })
                .collect(),
        }
    }
}

/// The nearest whole cent, halves away from zero. Dividing a whole number of cents by 100
/// gives the double closest to that decimal, which JSON prints without float noise.
pub fn round_to_cent(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
}

fn round_to_tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds, e.g. `2025-11-21T13:00:00.000Z`.
pub fn rfc3339(unix_ms: i64) -> String {
    let since_epoch = Duration::from_millis(u64::try_from(unix_ms).unwrap_or(0));
    humantime::format_rfc3339_millis(UNIX_EPOCH + since_epoch).to_string()
}

/// Now in Unix milliseconds, the unit of sample timestamps.
pub fn now_ms() -> i64 {
    common::samples::unix_ms(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_763_730_000_000;

    fn sample(age_ms: i64, price_usd: f64) -> Sample {
        Sample {
            fetched_at_ms: NOW_MS - age_ms,
            price_usd,
            sources: vec!["coinbase".into(), "kraken".into()],
        }
    }

    #[test]
    fn money_is_rounded_to_the_cent_without_float_noise() {
        for (amount, cents, json) in [
            (97_123.456_7, 97_123.46, "97123.46"),
            (97_123.454_9, 97_123.45, "97123.45"),
            (97_123.455, 97_123.46, "97123.46"),
            (97_123.0, 97_123.0, "97123.0"),
            (97_123.4, 97_123.4, "97123.4"),
            (0.1 + 0.2, 0.3, "0.3"),
            (
                (64_000.1 + 64_000.2 + 64_000.4) / 3.0,
                64_000.23,
                "64000.23",
            ),
            (0.004_9, 0.0, "0.0"),
        ] {
            let rounded = round_to_cent(amount);
            assert_eq!(rounded, cents, "{amount}");
            assert_eq!(serde_json::to_string(&rounded).unwrap(), json, "{amount}");
        }
    }

    #[test]
    fn current_reports_age_staleness_and_the_rounded_price() {
        let current = Current::new(
            &sample(3_249, 97_123.456_7),
            NOW_MS,
            Duration::from_secs(30),
        );
        assert_eq!(
            current,
            Current {
                currency: Currency::Usd,
                price: 97_123.46,
                as_of: "2025-11-21T12:59:56.751Z".into(),
                age_seconds: 3.2,
                stale: false,
                sources: vec!["coinbase".into(), "kraken".into()],
            }
        );
    }

    #[test]
    fn a_sample_is_stale_only_once_older_than_stale_after() {
        let stale_after = Duration::from_secs(30);
        let at_age = |age_ms| Current::new(&sample(age_ms, 1.0), NOW_MS, stale_after).stale;
        assert!(!at_age(30_000));
        assert!(at_age(30_001));
    }

    #[test]
    fn a_sample_from_the_future_has_age_zero() {
        let current = Current::new(&sample(-500, 1.0), NOW_MS, Duration::from_secs(30));
        assert_eq!((current.age_seconds, current.stale), (0.0, false));
    }

    #[test]
    fn history_points_are_times_and_prices_to_the_cent() {
        let points = [
            PricePoint {
                at_ms: NOW_MS - 10_000,
                price_usd: 97_000.004,
            },
            PricePoint {
                at_ms: NOW_MS,
                price_usd: 97_123.456_7,
            },
        ];
        let body = serde_json::to_string(&History::new(60, &points, Duration::from_secs(600)));
        assert_eq!(
            body.unwrap(),
            r#"{"currency":"USD","window_seconds":600,"samples":60,"points":[{"t":"2025-11-21T12:59:50.000Z","price":97000.0},{"t":"2025-11-21T13:00:00.000Z","price":97123.46}]}"#
        );
    }

    #[test]
    fn average_shows_the_window_in_seconds_and_its_time_span() {
        let stats = WindowStats {
            mean_price: 97_000.105_000_1,
            count: 4,
            oldest_ms: NOW_MS - 590_000,
            newest_ms: NOW_MS,
        };
        let body = serde_json::to_string(&Average::new(&stats, Duration::from_secs(600))).unwrap();
        assert_eq!(
            body,
            r#"{"currency":"USD","average":97000.11,"window_seconds":600,"samples":4,"from":"2025-11-21T12:50:10.000Z","to":"2025-11-21T13:00:00.000Z"}"#
        );
    }
}
