//! The rules a published price obeys, in one place: the poller decides by them
//! (`poller/src/decision/`, `poller/src/providers/price.rs`), and api-a checks every stored
//! sample against them before it serves it ([`super::Sample::check`]). What they guarantee is
//! written down in `docs/price-integrity.md`.

use std::ops::RangeInclusive;
use std::time::Duration;

/// The prices a provider may report and a sample may hold, in USD. BTC has traded between about
/// 3 000 and 130 000 USD since 2018; the bounds leave room for years of moves either way while
/// rejecting the classic failures: a zero or placeholder, a price in satoshis, another market's
/// price. A smaller factor (a price in cents while BTC is under 100 000 USD) is caught by
/// comparing sources and by the continuity band, not here.
pub const PLAUSIBLE_USD: RangeInclusive<f64> = 1_000.0..=10_000_000.0;

/// Whether `price` is finite and within [`PLAUSIBLE_USD`].
pub fn is_plausible(price: f64) -> bool {
    price.is_finite() && PLAUSIBLE_USD.contains(&price)
}

/// The oldest an exchange's stamp on a quote may be when the quote arrives, for the quote to be
/// current. The coarsest stamps are about a minute behind the market: CoinGecko refreshes its
/// simple price every 60 s, and Gemini's stamp (its volume's) is aligned to the minute. Two
/// minutes leaves room for both, and for clocks a few seconds apart.
pub const MAX_QUOTE_AGE: Duration = Duration::from_secs(120);

/// How far ahead of our clock a stamp may be: clocks differ by a few seconds at most on
/// synchronised hosts; 30 s is generous, and a stamp further ahead is no time at all.
pub const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(30);

/// The longest `FETCH_TIMEOUT`: a quote arrives at most this long after the tick that asked for
/// it began.
pub const LONGEST_FETCH: Duration = Duration::from_secs(60);

/// How far from the median of the valid answers an answer may be and still agree: 1 %, so the
/// answers that agree are at most 2 % apart. Exchanges quote BTC/USD within a few tenths of a
/// percent of each other; CoinGecko's one-minute cache may lag by more in a violent minute (it
/// is then outvoted, which costs nothing while the others agree). Two camps further apart than
/// that (a liar's camp as large as the honest one) have no median inside either, so neither
/// agrees: there is no majority, and no price.
pub const AGREEMENT_TOLERANCE: f64 = 0.01;

/// Whether answers from `lowest` to `highest` can all be within [`AGREEMENT_TOLERANCE`] of one
/// median: the poller's is that of every valid answer, outliers included, which a reader of the
/// sample does not know. It can lie anywhere from `highest` less the tolerance to `lowest` plus
/// it, so the agreeing answers may be 2 % of that median apart, a little more than 2 % of their
/// own median (the price) when an outlier on one side pulled the first one away from it.
pub fn can_agree(lowest: f64, highest: f64) -> bool {
    highest / (1.0 + AGREEMENT_TOLERANCE) <= lowest / (1.0 - AGREEMENT_TOLERANCE) * (1.0 + 1e-12)
}

/// The quorum when at least that many providers are configured: the fewest agreeing sources
/// among which one liar is always outvoted.
pub const QUORUM: usize = 3;

/// The quorum for `providers` configured providers: [`QUORUM`], or all of them when there are
/// fewer (then one provider's error can go unnoticed, which the poller warns about at start-up).
pub fn quorum_for(providers: usize) -> usize {
    QUORUM.min(providers).max(1)
}

/// How far a price backed by fewer than a quorum may be from the confirmed one, just after the
/// confirmation: 2 %, about the most BTC moves within a minute outside a crash.
pub const BAND_AT_CONFIRMATION: f64 = 0.02;

/// How much the band widens per minute since the confirmation: 0.5 %, so 7 % when the
/// confirmation expires.
pub const BAND_WIDENING_PER_MINUTE: f64 = 0.005;

/// How long a confirmation lets fewer than a quorum publish: 10 minutes, the averaging window.
pub const CONFIRMATION_LASTS: Duration = Duration::from_secs(600);

/// How far apart the sources of a price backed by fewer than a quorum may be: 1 %, several
/// times what exchanges differ by.
pub const MAX_UNCONFIRMED_SPREAD: f64 = 0.01;

/// How far, as a ratio, a price backed by fewer than a quorum may be from the price a quorum
/// confirmed `since` ago.
pub fn allowed_deviation(since: Duration) -> f64 {
    BAND_AT_CONFIRMATION + BAND_WIDENING_PER_MINUTE * since.as_secs_f64() / 60.0
}

/// The middle value, or the mean of the two middle ones; `None` for no values. The price of a
/// set of answers, computed the same way by the poller and by api-a's check.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quorum_is_three_or_every_provider_when_fewer_are_configured() {
        assert_eq!(quorum_for(6), 3);
        assert_eq!(quorum_for(3), 3);
        assert_eq!(quorum_for(2), 2);
        assert_eq!(quorum_for(1), 1);
    }

    #[test]
    fn the_band_widens_by_half_a_percent_a_minute() {
        assert_eq!(allowed_deviation(Duration::ZERO), 0.02);
        assert!((allowed_deviation(Duration::from_secs(600)) - 0.07).abs() < 1e-12);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn plausibility_rejects_non_finite_non_positive_and_absurd_prices() {
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -80_000.0,
            0.8,
            999.99,
            80_000_000.0,
            8e15,
        ] {
            assert!(!is_plausible(bad), "{bad}");
        }
        for good in [1_000.0, 3_200.0, 78_754.0, 10_000_000.0] {
            assert!(is_plausible(good));
        }
    }
}
