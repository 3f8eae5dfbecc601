//! Prices: each provider's `ok` body with its price rewritten must still parse exactly, and a
//! price of the wrong value, JSON type or form is never accepted.

use poller::providers::{BodyProblem, Provider, ProviderError};

use crate::fixtures::{OK_BODIES, OkBody};
use crate::parse;

fn sends_strings(ok: &OkBody) -> bool {
    ok.template.contains(r#""{}""#)
}

#[test]
fn the_price_substitution_reproduces_the_original() {
    for ok in &OK_BODIES {
        let (provider, file) = (ok.provider, ok.file);
        let original = parse(provider, 200, &ok.body()).unwrap();
        let rebuilt = ok.with_price(&original.to_string());
        assert_eq!(parse(provider, 200, &rebuilt), Ok(original), "{file}");
    }
}

#[test]
fn zero_negative_and_absurd_prices_are_implausible() {
    for ok in &OK_BODIES {
        let provider = ok.provider;
        for (price, value) in [
            ("0", 0.0),
            ("0.00", 0.0),
            ("-78754.5", -78_754.5),
            ("78.7545", 78.7545),
            ("78754500000", 78_754_500_000.0),
            ("999.99", 999.99),
        ] {
            assert_eq!(
                parse(provider, 200, &ok.with_price(price)),
                Err(ProviderError::Implausible(value)),
                "{provider} {price}"
            );
        }
    }
}

#[test]
fn prices_that_are_not_numbers_of_the_expected_type_are_rejected() {
    for ok in &OK_BODIES {
        let provider = ok.provider;
        let bad_prices: &[&str] = if sends_strings(ok) {
            &[
                "NaN", "inf", "-inf", "1e5", "7.8e4", "", "null", "78,754", "0x1F", " 78754",
                "78754 ", "+78754", "78754.", ".5",
            ]
        } else {
            &[
                "NaN",
                "Infinity",
                "-Infinity",
                "",
                "0x1F",
                "1e999",
                r#""78754""#,
                "[78754]",
            ]
        };
        for price in bad_prices {
            let outcome = parse(provider, 200, &ok.with_price(price));
            assert!(outcome.is_err(), "{provider} {price:?}: {outcome:?}");
        }
    }
    // The right value with the wrong JSON type: a string API sending a number and back.
    let wrong_type = [
        (Provider::Coinbase, r#"{"price":63212.97}"#),
        (
            Provider::Gemini,
            r#"{"last":78531.37,"volume":{"BTC":"1","USD":"1"}}"#,
        ),
        (Provider::Bitstamp, r#"{"last":85052.34}"#),
        (
            Provider::Kraken,
            r#"{"error":[],"result":{"XXBTZUSD":{"c":[82998.9,"1"]}}}"#,
        ),
        (Provider::Coingecko, r#"{"bitcoin":{"usd":"67187.33"}}"#),
        (Provider::Bitfinex, r#"[1,1,1,1,1,1,"79026",1,1,1]"#),
    ];
    for (provider, body) in wrong_type {
        assert!(
            matches!(
                parse(provider, 200, body),
                Err(ProviderError::UnexpectedJson(_))
            ),
            "{provider}: {body}"
        );
    }
}

#[test]
fn every_truncation_of_a_valid_body_is_rejected() {
    for ok in &OK_BODIES {
        let (provider, file) = (ok.provider, ok.file);
        let body = ok.body();
        for end in 0..body.len() {
            let outcome = parse(provider, 200, &body[..end]);
            assert!(outcome.is_err(), "{file} cut at {end}: {outcome:?}");
        }
        let half = &body[..body.len() / 2];
        assert_eq!(
            parse(provider, 200, half),
            Err(ProviderError::InvalidBody(BodyProblem::Truncated))
        );
    }
}
