//! The JSON bodies of `/current`, `/average` and `/history`, and how money, ratios and times are
//! shown in them. `/current` carries the evidence behind its price (each agreeing source's own
//! price, their spread, how many providers answered, the quorum and what confirmed the price),
//! `/average` how much of its window the samples cover.

use std::time::{Duration, UNIX_EPOCH};

use price_store::WriterSettings;
use serde::Serialize;

use crate::window::{PricePoint, WindowStats};

pub mod current;

pub use current::Current;

/// The currency of every price: the US dollar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum Currency {
    #[serde(rename = "USD")]
    Usd,
}

pub(crate) const CURRENCY: Currency = Currency::Usd;

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
    /// How much of the window the samples cover, from 0 to 1 to the thousandth: samples × the
    /// poller's interval / the window, at most 1. Less than 1 while the poller has run for less
    /// than the window, or when polls stored no price (exchanges failing or disagreeing).
    /// Absent when the poller's interval is not known.
    #[schema(example = 1.0, minimum = 0, maximum = 1)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
}

impl Average {
    /// The average of `stats` over `window`, its coverage by a poller writing as `settings`
    /// say.
    pub fn new(stats: &WindowStats, window: Duration, settings: Option<&WriterSettings>) -> Self {
        Self {
            currency: CURRENCY,
            average: round_to_cent(stats.mean_price),
            window_seconds: window.as_secs(),
            samples: stats.count,
            from: rfc3339(stats.oldest_ms),
            to: rfc3339(stats.newest_ms),
            coverage: settings.map(|settings| coverage(stats.count, settings, window)),
        }
    }
}

/// The share of `window` that `samples` samples cover, one a `settings.poll_interval`, at
/// most 1, to the thousandth.
pub fn coverage(samples: usize, settings: &WriterSettings, window: Duration) -> f64 {
    let covered = samples as f64 * settings.poll_interval().as_secs_f64();
    let share = (covered / window.as_secs_f64()).min(1.0);
    (share * 1000.0).round() / 1000.0
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

pub(crate) fn round_to_tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// A ratio in percent, to the hundredth.
pub(crate) fn percent(ratio: f64) -> f64 {
    (ratio * 10_000.0).round() / 100.0
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds, e.g. `2025-11-21T13:00:00.000Z`.
pub fn rfc3339(unix_ms: i64) -> String {
    let since_epoch = Duration::from_millis(u64::try_from(unix_ms).unwrap_or(0));
    humantime::format_rfc3339_millis(UNIX_EPOCH + since_epoch).to_string()
}

/// Now in Unix milliseconds, the unit of sample timestamps, by the clock the poller stamps them
/// with (`service_kit::clock`: a system clock that steps does not move it).
pub fn now_ms() -> i64 {
    price_store::unix_ms(service_kit::clock::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_763_730_000_000;

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
        let settings = test_support::samples::settings();
        let average = Average::new(&stats, Duration::from_secs(600), Some(&settings));
        assert_eq!(
            serde_json::to_string(&average).unwrap(),
            r#"{"currency":"USD","average":97000.11,"window_seconds":600,"samples":4,"from":"2025-11-21T12:50:10.000Z","to":"2025-11-21T13:00:00.000Z","coverage":0.067}"#
        );
        let unknown = Average::new(&stats, Duration::from_secs(600), None);
        assert_eq!(unknown.coverage, None);
    }

    #[test]
    fn coverage_is_the_share_of_the_window_the_samples_stand_for() {
        let every_10_s = test_support::samples::settings();
        let window = Duration::from_secs(600);
        assert_eq!(coverage(60, &every_10_s, window), 1.0);
        assert_eq!(coverage(30, &every_10_s, window), 0.5);
        assert_eq!(coverage(61, &every_10_s, window), 1.0, "at most 1");
        assert_eq!(coverage(1, &every_10_s, window), 0.017);
    }
}
