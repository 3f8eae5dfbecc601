//! From one tick's valid, current answers to the price it publishes, or the reason it publishes
//! none: first what the answers agree on ([`combine`]), then whether that agreement may be
//! published ([`continuity`]). The rules, and what they guarantee against lying, broken or
//! absent providers, are written down in `docs/price-integrity.md`.

pub mod combine;
pub mod continuity;

use price_store::{Sample, SourceQuote, unix_ms};
use tokio::time::Instant;

use self::combine::{Agreement, Quote, combine};
use self::continuity::{Basis, Confirmations};

/// Why a tick publishes no price.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NoPrice {
    #[error("no valid answer")]
    NoValidAnswer,
    #[error("no majority: only {agreeing} of {valid} valid answers agree")]
    NoMajority { valid: usize, agreeing: usize },
    #[error(
        "{agreeing} agreeing sources, fewer than the quorum of {quorum}, and no recent price a \
         quorum confirmed to check them against"
    )]
    Unconfirmed { agreeing: usize, quorum: usize },
    #[error(
        "fewer than a quorum agree on a price {:.2} % from the last confirmed one (at most \
         {:.2} % now)", deviation * 100.0, allowed * 100.0
    )]
    OutsideBand { deviation: f64, allowed: f64 },
    #[error(
        "fewer than a quorum agree, and they are {:.2} % apart (at most {:.0} %)",
        spread * 100.0, continuity::MAX_UNCONFIRMED_SPREAD * 100.0
    )]
    SourcesApart { spread: f64 },
    #[error(
        "{agreeing} agreeing sources, fewer than the quorum, and {disagreeing} other valid \
         answers (of this tick, or a provider's last within two minutes) against them"
    )]
    Disputed { agreeing: usize, disagreeing: usize },
}

impl NoPrice {
    /// Every `result` label of the tick counter for a tick without a price.
    pub const LABELS: [&str; 6] = [
        "no_valid_answer",
        "no_majority",
        "unconfirmed",
        "outside_band",
        "sources_apart",
        "disputed",
    ];

    /// The `result` label of the tick counter, one of [`NoPrice::LABELS`].
    pub fn label(&self) -> &'static str {
        match self {
            NoPrice::NoValidAnswer => "no_valid_answer",
            NoPrice::NoMajority { .. } => "no_majority",
            NoPrice::Unconfirmed { .. } => "unconfirmed",
            NoPrice::OutsideBand { .. } => "outside_band",
            NoPrice::SourcesApart { .. } => "sources_apart",
            NoPrice::Disputed { .. } => "disputed",
        }
    }
}

/// What one tick decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// What the valid answers agreed on, if a majority of them did.
    pub agreement: Option<Agreement>,
    /// Whether that is published and why, or why nothing is.
    pub published: Result<Basis, NoPrice>,
}

impl Verdict {
    /// The agreement and its basis when the tick publishes a price.
    pub fn price(&self) -> Option<(&Agreement, Basis)> {
        match (&self.agreement, &self.published) {
            (Some(agreement), Ok(basis)) => Some((agreement, *basis)),
            _ => None,
        }
    }

    /// The valid answers outvoted by the others.
    pub fn outliers(&self) -> &[crate::providers::Provider] {
        self.agreement
            .as_ref()
            .map(|agreement| agreement.outliers.as_slice())
            .unwrap_or_default()
    }
}

/// The verdict on `quotes`, reached at `now` (`now_ms` in Unix milliseconds).
pub fn decide(
    quotes: &[Quote],
    confirmations: &mut Confirmations,
    now: Instant,
    now_ms: i64,
) -> Verdict {
    confirmations.hear(quotes, now);
    match combine(quotes) {
        Ok(agreement) => Verdict {
            published: confirmations.judge(&agreement, now, now_ms),
            agreement: Some(agreement),
        },
        Err(no_price) => Verdict {
            agreement: None,
            published: Err(no_price),
        },
    }
}

/// The sample a tick stores for `agreement`, published on `basis` by a poller asking `providers`
/// with a quorum of `quorum`: the price with its evidence, which a reader checks by the same
/// rules (`price_store::Sample::check`) before believing it.
pub fn sample(
    agreement: &Agreement,
    basis: Basis,
    providers: usize,
    quorum: usize,
    fetched_at_ms: i64,
) -> Sample {
    Sample {
        fetched_at_ms,
        price_usd: agreement.price_usd,
        quotes: agreement
            .agreeing
            .iter()
            .map(|quote| SourceQuote {
                source: quote.provider.name().to_owned(),
                price_usd: quote.price_usd,
                quoted_at_ms: quote.quoted_at.map(unix_ms),
            })
            .collect(),
        providers: count(providers),
        answered: count(agreement.valid),
        quorum: count(quorum),
        basis: match basis {
            Basis::Quorum => price_store::Basis::Quorum,
            Basis::Continuity(confirmed) => price_store::Basis::Continuity {
                confirmed_usd: confirmed.price_usd,
                confirmed_at_ms: confirmed.at_ms,
            },
        },
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_label() {
        let reasons = [
            NoPrice::NoValidAnswer,
            NoPrice::NoMajority {
                valid: 2,
                agreeing: 0,
            },
            NoPrice::Unconfirmed {
                agreeing: 1,
                quorum: 3,
            },
            NoPrice::OutsideBand {
                deviation: 99.0,
                allowed: 0.02,
            },
            NoPrice::SourcesApart { spread: 0.03 },
            NoPrice::Disputed {
                agreeing: 2,
                disagreeing: 1,
            },
        ];
        let labels: Vec<&str> = reasons.iter().map(NoPrice::label).collect();
        assert_eq!(labels, NoPrice::LABELS);
    }

    /// An independent attack's case: a high outlier among six answers puts the median of every
    /// answer above the agreeing ones' own, so they are over 2 % of the price apart, and the
    /// reader must still believe the sample the rules publish.
    #[test]
    fn a_price_agreed_around_a_median_pulled_by_an_outlier_is_one_a_reader_believes() {
        use crate::providers::Provider::*;
        let answers = [
            (Coinbase, 91_809.0),
            (Kraken, 90_000.0),
            (Bitstamp, 90_000.0),
            (Gemini, 90_000.0),
            (Bitfinex, 91_809.0),
            (Coingecko, 94_500.0),
        ];
        let quotes: Vec<Quote> = answers.map(|(p, usd)| Quote::new(p, usd)).to_vec();
        let mut confirmations = Confirmations::new(3);
        let at_ms = 1_763_730_000_000;
        let verdict = decide(&quotes, &mut confirmations, Instant::now(), at_ms);
        let (agreement, basis) = verdict.price().expect("five of six agree");
        assert_eq!((agreement.price_usd, basis), (90_000.0, Basis::Quorum));
        let stored = sample(agreement, basis, 6, 3, at_ms);
        assert_eq!(stored.check(at_ms), Ok(()));
    }
}
