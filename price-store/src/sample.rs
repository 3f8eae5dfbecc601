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
    CONFIRMATION_LASTS, LONGEST_FETCH, MAX_CLOCK_AHEAD, MAX_QUOTE_AGE, MAX_UNCONFIRMED_SPREAD,
    allowed_deviation, can_agree, is_plausible, median, quorum_for,
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

    /// The price is the median of the sources' prices, which can all agree with one median of
    /// every valid answer ([`can_agree`]).
    fn price_is_the_agreement(&self) -> bool {
        let prices: Vec<f64> = self.quotes.iter().map(|quote| quote.price_usd).collect();
        let highest = prices.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lowest = prices.iter().copied().fold(f64::INFINITY, f64::min);
        median(&prices) == Some(self.price_usd) && can_agree(lowest, highest)
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
mod tests;
