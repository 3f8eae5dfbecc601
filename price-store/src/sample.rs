//! One stored price and the evidence behind it, and the checks a reader applies before it
//! believes one: a sample that fails them is [`Rejected`], never served.
//!
//! The evidence is what a client needs to judge the price on its own: every agreeing source
//! with its own price (and the time the exchange stamped it, where it does), how many providers
//! are configured and how many gave a valid, current answer, the quorum, and whether a quorum
//! confirmed this price or it was let through because it stays close to a price a quorum
//! confirmed a short while before ([`Basis`]). The rules are [`super::rules`]: the poller
//! decides by them, and a reader checks each sample against them ([`Sample::check`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration_ms;
use super::rules::{
    AGREEMENT_TOLERANCE, CONFIRMATION_LASTS, LONGEST_FETCH, MAX_CLOCK_AHEAD, MAX_QUOTE_AGE,
    MAX_UNCONFIRMED_SPREAD, allowed_deviation, is_plausible, median, quorum_for,
};

/// What a reader allows for the poller measuring a confirmation's age on its own clock (a
/// monotonic one) rather than from the samples' times.
const CLOCK_SLACK: Duration = Duration::from_secs(1);

/// One poll's price: when it was fetched, the price, and what stands behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When the tick that made it fetched the answers, in Unix milliseconds (the score).
    pub fetched_at_ms: i64,
    /// The median of the agreeing sources' prices.
    pub price_usd: f64,
    /// The agreeing sources, each with its own price, in the order the providers are configured.
    pub quotes: Vec<SourceQuote>,
    /// How many providers the poller is configured to ask.
    pub providers: u32,
    /// How many of them gave a valid, current answer in that tick (agreeing or not).
    pub answered: u32,
    /// How many agreeing sources confirm a price on their own.
    pub quorum: u32,
    #[serde(flatten)]
    pub basis: Basis,
}

/// One agreeing source's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceQuote {
    /// The provider's name, e.g. `kraken`.
    pub source: String,
    pub price_usd: f64,
    /// When the exchange says its quote is from, in Unix milliseconds; absent for exchanges
    /// that do not stamp their answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_at_ms: Option<i64>,
}

/// Why the price was published.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Basis {
    /// At least a quorum of sources agreed on it.
    Quorum,
    /// Fewer than a quorum agreed; it was published because it is close to `confirmed_usd`,
    /// the price a quorum confirmed at `confirmed_at_ms` (Unix milliseconds).
    Continuity {
        confirmed_usd: f64,
        confirmed_at_ms: i64,
    },
}

impl Sample {
    /// The agreeing sources' names, in order.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.quotes.iter().map(|quote| quote.source.as_str())
    }

    /// The spread of the agreeing sources' prices, (highest − lowest) / price: 0 for one source.
    pub fn spread_ratio(&self) -> f64 {
        let prices = self.quotes.iter().map(|quote| quote.price_usd);
        let highest = prices.clone().fold(f64::NEG_INFINITY, f64::max);
        let lowest = prices.fold(f64::INFINITY, f64::min);
        if self.quotes.is_empty() {
            0.0
        } else {
            (highest - lowest) / self.price_usd
        }
    }

    /// Whether a reader may believe this sample, found in the store with the score `score_ms`:
    /// plausible prices; the sample's own time as its score; distinct sources, each stamp (where
    /// there is one) one its quote could have had; the price the median of its sources', which
    /// agree as the rules say; counts that fit together; and a basis its evidence allows, by the
    /// same rules the poller published it by.
    pub fn check(&self, score_ms: i64) -> Result<(), Rejection> {
        let quotes_plausible = self.quotes.iter().all(|q| is_plausible(q.price_usd));
        let confirmed_plausible = match self.basis {
            Basis::Quorum => true,
            Basis::Continuity { confirmed_usd, .. } => is_plausible(confirmed_usd),
        };
        if !(is_plausible(self.price_usd) && quotes_plausible && confirmed_plausible) {
            return Err(Rejection::Implausible);
        }
        let consistent = score_ms == self.fetched_at_ms
            && self.sources_are_distinct_names()
            && self.stamps_are_possible()
            && self.price_is_the_agreement()
            && self.counts_fit()
            && self.basis_holds();
        if consistent {
            Ok(())
        } else {
            Err(Rejection::Inconsistent)
        }
    }

    fn sources_are_distinct_names(&self) -> bool {
        let mut names: Vec<&str> = self.sources().collect();
        let well_formed = names
            .iter()
            .all(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase()));
        names.sort_unstable();
        names.dedup();
        well_formed && names.len() == self.quotes.len()
    }

    /// A quote is current when the exchange stamped it at most [`MAX_QUOTE_AGE`] before it
    /// arrived and at most [`MAX_CLOCK_AHEAD`] after; it arrived at most [`LONGEST_FETCH`] after
    /// the tick began.
    fn stamps_are_possible(&self) -> bool {
        let earliest = self.fetched_at_ms - duration_ms(MAX_QUOTE_AGE);
        let latest = self.fetched_at_ms + duration_ms(LONGEST_FETCH + MAX_CLOCK_AHEAD);
        self.quotes
            .iter()
            .filter_map(|quote| quote.quoted_at_ms)
            .all(|at| (earliest..=latest).contains(&at))
    }

    /// The price is the median of the sources' prices, which are at most twice the agreement
    /// tolerance apart.
    fn price_is_the_agreement(&self) -> bool {
        let prices: Vec<f64> = self.quotes.iter().map(|quote| quote.price_usd).collect();
        median(&prices) == Some(self.price_usd)
            && self.spread_ratio() <= 2.0 * AGREEMENT_TOLERANCE + 1e-9
    }

    fn counts_fit(&self) -> bool {
        let agreeing = self.quotes.len();
        agreeing * 2 > self.answered as usize
            && self.answered <= self.providers
            && self.quorum as usize == quorum_for(self.providers as usize)
    }

    fn basis_holds(&self) -> bool {
        let agreeing = self.quotes.len();
        match self.basis {
            Basis::Quorum => agreeing >= self.quorum as usize,
            Basis::Continuity {
                confirmed_usd,
                confirmed_at_ms,
            } => {
                let Ok(since) = u64::try_from(self.fetched_at_ms - confirmed_at_ms) else {
                    return false;
                };
                let since = Duration::from_millis(since);
                let deviation = (self.price_usd - confirmed_usd).abs() / confirmed_usd;
                agreeing < self.quorum as usize
                    && agreeing == self.answered as usize
                    && since <= CONFIRMATION_LASTS + CLOCK_SLACK
                    && self.spread_ratio() <= MAX_UNCONFIRMED_SPREAD + 1e-9
                    && deviation <= allowed_deviation(since + CLOCK_SLACK) + 1e-9
            }
        }
    }
}

/// Why a reader did not believe a stored sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("not a sample in the v2 format")]
    Unreadable,
    #[error("a price that is not finite or outside the plausible range")]
    Implausible,
    #[error("evidence that contradicts itself or the sample's score")]
    Inconsistent,
}

impl Rejection {
    /// A bounded label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            Rejection::Unreadable => "unreadable",
            Rejection::Implausible => "implausible",
            Rejection::Inconsistent => "inconsistent",
        }
    }
}

/// A member of the store as a reader finds it: a sample it may believe, or one it may not and
/// the time (the score) it occupies, which the reader still counts to know what changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Valid(Sample),
    Rejected { at_ms: i64, why: Rejection },
}

impl Stored {
    /// `member` as stored with the score `score_ms`.
    pub fn read(member: &str, score_ms: i64) -> Self {
        let checked = serde_json::from_str::<Sample>(member)
            .map_err(|_| Rejection::Unreadable)
            .and_then(|sample| sample.check(score_ms).map(|()| sample));
        match checked {
            Ok(sample) => Stored::Valid(sample),
            Err(why) => Stored::Rejected {
                at_ms: score_ms,
                why,
            },
        }
    }

    /// The time it occupies in the store.
    pub fn at_ms(&self) -> i64 {
        match self {
            Stored::Valid(sample) => sample.fetched_at_ms,
            Stored::Rejected { at_ms, .. } => *at_ms,
        }
    }

    pub fn valid(&self) -> Option<&Sample> {
        match self {
            Stored::Valid(sample) => Some(sample),
            Stored::Rejected { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(source: &str, price_usd: f64) -> SourceQuote {
        SourceQuote {
            source: source.into(),
            price_usd,
            quoted_at_ms: None,
        }
    }

    fn sample(basis: Basis, quotes: Vec<SourceQuote>) -> Sample {
        Sample {
            fetched_at_ms: 1_763_730_000_000,
            price_usd: 97_123.456_7,
            answered: quotes.len() as u32,
            quotes,
            providers: 6,
            quorum: 3,
            basis,
        }
    }

    fn three() -> Vec<SourceQuote> {
        vec![
            quote("coinbase", 97_120.0),
            quote("kraken", 97_123.456_7),
            quote("bitstamp", 97_130.0),
        ]
    }

    #[test]
    fn the_member_format_is_the_documented_json() {
        let mut quorum = sample(Basis::Quorum, three());
        quorum.quotes[0].quoted_at_ms = Some(1_763_729_999_500);
        let member = serde_json::to_string(&quorum).unwrap();
        assert_eq!(
            member,
            r#"{"fetched_at_ms":1763730000000,"price_usd":97123.4567,"quotes":[{"source":"coinbase","price_usd":97120.0,"quoted_at_ms":1763729999500},{"source":"kraken","price_usd":97123.4567},{"source":"bitstamp","price_usd":97130.0}],"providers":6,"answered":3,"quorum":3,"basis":"quorum"}"#
        );
        assert_eq!(serde_json::from_str::<Sample>(&member).unwrap(), quorum);

        let basis = Basis::Continuity {
            confirmed_usd: 97_000.0,
            confirmed_at_ms: 1_763_729_990_000,
        };
        let continuity = sample(basis, vec![quote("kraken", 97_123.456_7)]);
        let member = serde_json::to_string(&continuity).unwrap();
        assert!(
            member.ends_with(
                r#""basis":"continuity","confirmed_usd":97000.0,"confirmed_at_ms":1763729990000}"#
            ),
            "{member}"
        );
        assert_eq!(serde_json::from_str::<Sample>(&member).unwrap(), continuity);
    }

    #[test]
    fn a_reader_believes_only_plausible_self_consistent_samples() {
        let at = 1_763_730_000_000;
        let good = sample(Basis::Quorum, three());
        assert_eq!(good.check(at), Ok(()));
        for price in [f64::NAN, f64::INFINITY, 0.0, -97_000.0, 999.0, 2e7] {
            let mut bad = good.clone();
            bad.price_usd = price;
            assert_eq!(bad.check(at), Err(Rejection::Implausible), "{price}");
            let mut bad = good.clone();
            bad.quotes[1].price_usd = price;
            assert_eq!(bad.check(at), Err(Rejection::Implausible), "quote {price}");
        }
        assert_eq!(good.check(at + 1), Err(Rejection::Inconsistent), "score");
        let mut cents = good.clone();
        cents.price_usd *= 100.0;
        assert_eq!(
            cents.check(at),
            Err(Rejection::Inconsistent),
            "not its quotes'"
        );
        let mut too_few = good.clone();
        too_few.quotes.truncate(2);
        assert_eq!(too_few.check(at), Err(Rejection::Inconsistent), "quorum");
        let mut none = good.clone();
        none.quotes.clear();
        assert_eq!(none.check(at), Err(Rejection::Inconsistent));
        let mut answered = good.clone();
        answered.answered = 7;
        assert_eq!(answered.check(at), Err(Rejection::Inconsistent));
        let future = Basis::Continuity {
            confirmed_usd: 97_000.0,
            confirmed_at_ms: at + 1,
        };
        let lone = sample(future, vec![quote("kraken", 97_100.0)]);
        assert_eq!(lone.check(at), Err(Rejection::Inconsistent));
    }

    /// Samples an independent attack wrote straight into Redis, each contradicting its own
    /// evidence or the rules it claims to have been published by.
    #[test]
    fn a_sample_whose_evidence_contradicts_the_rules_is_not_believed() {
        let at = 1_763_730_000_000;
        let good = sample(Basis::Quorum, three());
        let mut cases: Vec<(&str, Sample)> = Vec::new();
        let mut lone_quorum = sample(Basis::Quorum, vec![quote("kraken", 97_123.456_7)]);
        lone_quorum.quorum = 1;
        cases.push(("a quorum of one among six providers", lone_quorum));
        let mut same_source = good.clone();
        for quote in &mut same_source.quotes {
            quote.source = "kraken".into();
        }
        cases.push(("one source three times", same_source));
        let mut strange = good.clone();
        strange.quotes[0].source = "Evil Exchange".into();
        cases.push(("a source no provider is named", strange));
        let mut not_median = good.clone();
        not_median.price_usd = 97_130.0;
        cases.push(("a price that is not the median", not_median));
        let mut apart = sample(
            Basis::Quorum,
            vec![
                quote("coinbase", 95_000.0),
                quote("kraken", 97_123.456_7),
                quote("bitstamp", 99_000.0),
            ],
        );
        apart.answered = 3;
        cases.push(("sources 4 % apart agreeing", apart));
        let mut minority = good.clone();
        minority.answered = 6;
        cases.push(("three of six answers, no majority", minority));
        let mut old_stamp = good.clone();
        old_stamp.quotes[0].quoted_at_ms = Some(at - 86_400_000);
        cases.push(("a quote stamped a day before", old_stamp));
        let mut future_stamp = good.clone();
        future_stamp.quotes[0].quoted_at_ms = Some(at + 86_400_000);
        cases.push(("a quote stamped a day ahead", future_stamp));
        let continuity = |confirmed_usd: f64, confirmed_at_ms: i64, quotes| {
            sample(
                Basis::Continuity {
                    confirmed_usd,
                    confirmed_at_ms,
                },
                quotes,
            )
        };
        let lone = || vec![quote("kraken", 97_123.456_7)];
        cases.push((
            "50 times the confirmed price",
            continuity(1_942.47, at - 10_000, lone()),
        ));
        cases.push((
            "a confirmation a day old",
            continuity(97_000.0, at - 86_400_000, lone()),
        ));
        let mut dissent = continuity(97_000.0, at - 10_000, lone());
        dissent.answered = 2;
        cases.push(("another answer disagreeing", dissent));
        let two_apart = vec![quote("kraken", 96_400.0), quote("gemini", 97_846.913_4)];
        let mut two = continuity(97_000.0, at - 10_000, two_apart);
        two.price_usd = 97_123.456_7;
        cases.push(("two sources over 1 % apart", two));
        for (what, case) in cases {
            assert_eq!(case.check(at), Err(Rejection::Inconsistent), "{what}");
        }
        assert_eq!(good.check(at), Ok(()));
        let fine = continuity(97_000.0, at - 10_000, lone());
        assert_eq!(fine.check(at), Ok(()));
    }

    #[test]
    fn a_member_that_is_not_a_v2_sample_is_rejected_at_its_score() {
        for member in [
            "not json",
            r#"{"fetched_at_ms":5,"price_usd":97000.0,"sources":["kraken"]}"#,
            r#"{"fetched_at_ms":5,"price_usd":1e999}"#,
        ] {
            assert_eq!(
                Stored::read(member, 5),
                Stored::Rejected {
                    at_ms: 5,
                    why: Rejection::Unreadable
                },
                "{member}"
            );
        }
    }

    #[test]
    fn the_spread_is_relative_to_the_price() {
        let good = sample(Basis::Quorum, three());
        assert_eq!(good.spread_ratio(), 10.0 / 97_123.456_7);
        let lone = sample(Basis::Quorum, vec![quote("kraken", 97_000.0)]);
        assert_eq!(lone.spread_ratio(), 0.0);
    }
}
