//! The exchanges' own times on their quotes: read from every real body that carries one, exactly,
//! and what a stamped body with a broken time becomes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use poller::providers::{Provider, ProviderError};

use crate::fixtures::{OK_BODIES, OkBody, fixture};
use crate::{answer, parse_stamped};

fn unix(seconds: u64, nanos: u32) -> Option<SystemTime> {
    Some(UNIX_EPOCH + Duration::new(seconds, nanos))
}

#[test]
fn every_real_body_gives_the_time_its_exchange_put_on_it() {
    for (provider, file, stamp) in [
        // 2026-06-19T16:43:33.016274911Z: nine fractional digits.
        (
            Provider::Coinbase,
            "coinbase/ok.json",
            unix(1_781_887_413, 16_274_911),
        ),
        // 2025-08-07T13:48:09.467567Z: six.
        (
            Provider::Coinbase,
            "coinbase/ok-2025.json",
            unix(1_754_574_489, 467_567_000),
        ),
        (
            Provider::Bitstamp,
            "bitstamp/ok.json",
            unix(1_790_515_990, 0),
        ),
        (
            Provider::Bitstamp,
            "bitstamp/ok-integer-strings.json",
            unix(1_666_808_829, 0),
        ),
        (Provider::Gemini, "gemini/ok.json", unix(1_788_856_560, 0)),
        (
            Provider::Gemini,
            "gemini/ok-2018.json",
            unix(1_522_932_000, 0),
        ),
        (
            Provider::Coingecko,
            "coingecko/ok-last-updated.json",
            unix(1_711_356_300, 0),
        ),
        (
            Provider::Coingecko,
            "coingecko/ok-all-includes.json",
            unix(1_711_356_300, 0),
        ),
        (Provider::Kraken, "kraken/ok.json", None),
        (Provider::Bitfinex, "bitfinex/ok.json", None),
    ] {
        let price = parse_stamped(provider, 200, &fixture(file)).unwrap();
        assert_eq!(price.stamped_at, stamp, "{file}");
    }
}

#[test]
fn a_rewritten_body_carries_the_time_written_into_it() {
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for ok in &OK_BODIES {
        let price = parse_stamped(ok.provider, 200, &ok.stamped("78754", at)).unwrap();
        let expected = ok.stamp.as_ref().map(|_| at);
        assert_eq!(price.stamped_at, expected, "{}", ok.file);
    }
}

#[test]
fn a_missing_or_malformed_time_is_not_a_price() {
    let coinbase = OkBody::of(Provider::Coinbase).body();
    let bitstamp = OkBody::of(Provider::Bitstamp).body();
    let gemini = OkBody::of(Provider::Gemini).body();
    let coingecko = OkBody::of(Provider::Coingecko).body();
    let coinbase_time = r#""time":"2026-06-19T16:43:33.016274911Z""#;
    let bitstamp_time = r#""timestamp": "1790515990""#;
    let gemini_time = r#""timestamp":1788856560000"#;
    let coingecko_time = r#""last_updated_at":1711356300"#;
    for (provider, body) in [
        (
            Provider::Coinbase,
            coinbase.replace(coinbase_time, r#""time":"yesterday""#),
        ),
        (
            Provider::Coinbase,
            coinbase.replace(coinbase_time, r#""time":1781887413"#),
        ),
        (
            Provider::Coinbase,
            coinbase.replace(coinbase_time, r#""t":"2026-06-19T16:43:33Z""#),
        ),
        (
            Provider::Bitstamp,
            bitstamp.replace(bitstamp_time, r#""timestamp": "17905.5""#),
        ),
        (
            Provider::Bitstamp,
            bitstamp.replace(bitstamp_time, r#""timestamp": 1790515990"#),
        ),
        (
            Provider::Bitstamp,
            bitstamp.replace(bitstamp_time, r#""ts": "1790515990""#),
        ),
        (
            Provider::Gemini,
            gemini.replace(gemini_time, r#""timestamp":"1788856560000""#),
        ),
        (
            Provider::Gemini,
            gemini.replace(gemini_time, r#""timestamp":-1"#),
        ),
        (
            Provider::Gemini,
            gemini.replace(gemini_time, r#""ts":1788856560000"#),
        ),
        (
            Provider::Coingecko,
            coingecko.replace(coingecko_time, r#""last_updated_at":"1711356300""#),
        ),
        (
            Provider::Coingecko,
            coingecko.replace(coingecko_time, r#""last_updated_at":1.5"#),
        ),
        // Found by an independent attack: a CoinGecko answer without its time was taken as an
        // unstamped, current price.
        (
            Provider::Coingecko,
            coingecko.replace(&format!(",{coingecko_time}"), ""),
        ),
        (
            Provider::Coingecko,
            coingecko.replace(coingecko_time, r#""last_updated_at":null"#),
        ),
    ] {
        let outcome = parse_stamped(provider, 200, &body);
        assert!(
            matches!(outcome, Err(ProviderError::UnexpectedJson(_))),
            "{provider} {body}: {outcome:?}"
        );
    }
}

#[test]
fn only_a_quote_stamped_within_two_minutes_of_its_arrival_is_read_as_current() {
    let now = SystemTime::now();
    let two_hours_ago = now - Duration::from_secs(7_200);
    for ok in &OK_BODIES {
        let price = ok.original_price();
        let current = ok.provider.read(&answer(200, &ok.current(&price)), now);
        assert!(current.is_ok(), "{}: {current:?}", ok.file);
        let frozen = ok
            .provider
            .read(&answer(200, &ok.stamped(&price, two_hours_ago)), now);
        match ok.stamp {
            None => assert!(frozen.is_ok(), "{}: no time, nothing to judge", ok.file),
            Some(_) => assert!(
                matches!(frozen, Err(ProviderError::StaleQuote(age)) if age >= Duration::from_secs(7_200)),
                "{}: {frozen:?}",
                ok.file
            ),
        }
    }
}
