//! `GET {BASE_PATH}/current`: the newest price and the evidence behind it, each agreeing
//! exchange's own price, their spread, how many exchanges are configured, answered and agree,
//! the quorum, and what confirmed the price.

use std::time::Duration;

use price_store::{Basis, Sample, duration_ms};
use serde::Serialize;

use super::{CURRENCY, Currency, percent, rfc3339, round_to_cent, round_to_tenth};

/// How far ahead of api-a's clock a sample may be stamped and still be taken at its word: the
/// poller and api-a share their pod's clock, and a sample is stamped before it is written, so
/// anything ahead is a clock that stepped.
const CLOCKS_APART: Duration = Duration::from_secs(1);

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
    /// Whether it is older than `STALE_AFTER` (30 s by default), or stamped ahead of the service's
    /// clock (a clock that stepped: its age is not known).
    #[schema(example = false)]
    pub stale: bool,
    /// The exchanges whose answers agreed on the price.
    #[schema(example = json!(["coinbase", "kraken", "bitstamp"]))]
    pub sources: Vec<String>,
    /// Each agreeing exchange with its own price: the price is their median.
    pub quotes: Vec<SourceQuote>,
    /// How far apart the agreeing prices are: (highest − lowest) / price, in percent, to the
    /// hundredth; 0 for a single source.
    #[schema(example = 0.04, minimum = 0)]
    pub spread_percent: f64,
    /// How many exchanges are asked, answered and agree, and how many make a quorum.
    pub providers: Providers,
    /// `quorum`: at least the quorum of exchanges agreed on this price. `continuity`: fewer
    /// agreed, and the price was published because it is close to one a quorum confirmed a
    /// short while before (`confirmed`).
    pub basis: BasisName,
    /// The last price a quorum confirmed, and how far this one is from it.
    pub confirmed: Confirmation,
}

/// One agreeing exchange's answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SourceQuote {
    /// The exchange.
    #[schema(example = "kraken")]
    pub source: String,
    /// Its price in US dollars, rounded to the cent.
    #[schema(example = 97123.4)]
    pub price: f64,
    /// When the exchange says its quote is from (RFC 3339, UTC); absent for exchanges that do
    /// not stamp their answers.
    #[schema(format = DateTime, example = "2026-11-21T13:30:22.918Z")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quoted_at: Option<String>,
}

/// How many exchanges stand behind the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Providers {
    /// The exchanges the poller asks.
    #[schema(example = 6, minimum = 1)]
    pub configured: u32,
    /// How many of them gave a valid, current price in that poll, agreeing or not.
    #[schema(example = 4, minimum = 1)]
    pub answered: u32,
    /// How many of those agreed on the price (the `sources`).
    #[schema(example = 3, minimum = 1)]
    pub agreeing: u32,
    /// How many agreeing exchanges confirm a price on their own.
    #[schema(example = 3, minimum = 1)]
    pub quorum: u32,
}

/// What the price stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BasisName {
    Quorum,
    Continuity,
}

/// The last price a quorum confirmed: this one when `basis` is `quorum`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Confirmation {
    /// In US dollars, rounded to the cent.
    #[schema(example = 97123.46)]
    pub price: f64,
    /// When it was fetched (RFC 3339, UTC).
    #[schema(format = DateTime, example = "2026-11-21T13:30:23.237Z")]
    pub at: String,
    /// The price's change from it, in percent, to the hundredth (0 for `quorum`).
    #[schema(example = 0.0)]
    pub change_percent: f64,
}

impl Current {
    /// `latest` as seen at `now_ms`: stale once it is older than `stale_after`, or when it is
    /// stamped ahead of `now_ms` (the poller's clock ran ahead when it was fetched: its age is
    /// not known, so it is no fresh price).
    pub fn new(latest: &Sample, now_ms: i64, stale_after: Duration) -> Self {
        let (age_seconds, stale) = freshness(latest, now_ms, stale_after);
        let (basis, confirmed_usd, confirmed_at_ms) = match latest.basis {
            Basis::Quorum => (BasisName::Quorum, latest.price_usd, latest.fetched_at_ms),
            Basis::Continuity {
                confirmed_usd,
                confirmed_at_ms,
            } => (BasisName::Continuity, confirmed_usd, confirmed_at_ms),
        };
        let change = (latest.price_usd - confirmed_usd) / confirmed_usd;
        Self {
            currency: CURRENCY,
            price: round_to_cent(latest.price_usd),
            as_of: rfc3339(latest.fetched_at_ms),
            age_seconds,
            stale,
            sources: latest.sources().map(str::to_owned).collect(),
            quotes: latest
                .quotes
                .iter()
                .map(|quote| SourceQuote {
                    source: quote.source.clone(),
                    price: round_to_cent(quote.price_usd),
                    quoted_at: quote.quoted_at_ms.map(rfc3339),
                })
                .collect(),
            spread_percent: percent(latest.spread_ratio()),
            providers: Providers {
                configured: latest.providers,
                answered: latest.answered,
                agreeing: u32::try_from(latest.quotes.len()).unwrap_or(u32::MAX),
                quorum: latest.quorum,
            },
            basis,
            confirmed: Confirmation {
                price: round_to_cent(confirmed_usd),
                at: rfc3339(confirmed_at_ms),
                change_percent: percent(change),
            },
        }
    }
}

/// `latest`'s age at `now_ms` in seconds to the tenth, and whether it is stale then (see
/// [`Current::new`]): the part of `/current` that changes from one request to the next.
pub fn freshness(latest: &Sample, now_ms: i64, stale_after: Duration) -> (f64, bool) {
    let age_ms = now_ms.saturating_sub(latest.fetched_at_ms).max(0);
    let stale = age_ms > duration_ms(stale_after)
        || latest.fetched_at_ms > now_ms + duration_ms(CLOCKS_APART);
    (round_to_tenth(age_ms as f64 / 1000.0), stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_763_730_000_000;

    fn sample(age_ms: i64, price_usd: f64) -> Sample {
        test_support::samples::confirmed(NOW_MS - age_ms, price_usd)
    }

    #[test]
    fn current_reports_the_rounded_price_its_age_and_the_evidence_behind_it() {
        let mut latest = sample(3_249, 97_123.456_7);
        latest.quotes[0].price_usd = 97_113.456_7;
        latest.quotes[0].quoted_at_ms = Some(NOW_MS - 3_500);
        latest.quotes[2].price_usd = 97_133.456_7;
        latest.answered = 4;
        let current = Current::new(&latest, NOW_MS, Duration::from_secs(30));
        assert_eq!(
            serde_json::to_string(&current).unwrap(),
            concat!(
                r#"{"currency":"USD","price":97123.46,"as_of":"2025-11-21T12:59:56.751Z","#,
                r#""age_seconds":3.2,"stale":false,"sources":["coinbase","kraken","bitstamp"],"#,
                r#""quotes":[{"source":"coinbase","price":97113.46,"#,
                r#""quoted_at":"2025-11-21T12:59:56.500Z"},"#,
                r#"{"source":"kraken","price":97123.46},{"source":"bitstamp","price":97133.46}],"#,
                r#""spread_percent":0.02,"#,
                r#""providers":{"configured":6,"answered":4,"agreeing":3,"quorum":3},"#,
                r#""basis":"quorum","#,
                r#""confirmed":{"price":97123.46,"at":"2025-11-21T12:59:56.751Z","change_percent":0.0}}"#
            )
        );
    }

    #[test]
    fn a_price_fewer_than_the_quorum_back_says_which_confirmed_price_it_stays_near() {
        let mut lone = sample(1_000, 91_000.0);
        lone.quotes.truncate(1);
        lone.answered = 1;
        lone.basis = Basis::Continuity {
            confirmed_usd: 90_000.0,
            confirmed_at_ms: NOW_MS - 61_000,
        };
        let current = Current::new(&lone, NOW_MS, Duration::from_secs(30));
        assert_eq!(current.basis, BasisName::Continuity);
        assert_eq!(
            current.providers,
            Providers {
                configured: 6,
                answered: 1,
                agreeing: 1,
                quorum: 3
            }
        );
        assert_eq!(current.spread_percent, 0.0);
        assert_eq!(
            current.confirmed,
            Confirmation {
                price: 90_000.0,
                at: "2025-11-21T12:58:59.000Z".into(),
                change_percent: 1.11
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

    /// Found by an independent attack: a sample stamped an hour ahead (the poller's clock
    /// stepped) was served as just fetched for that hour.
    #[test]
    fn a_sample_stamped_ahead_of_the_clock_is_not_a_fresh_price() {
        let stale_after = Duration::from_secs(30);
        let ahead = |ms: i64| Current::new(&sample(-ms, 1.0), NOW_MS, stale_after).stale;
        assert!(!ahead(1_000));
        assert!(ahead(1_001));
        assert!(ahead(3_600_000));
    }
}
