//! Answers that are not prices: HTML pages, empty and garbage bodies, error statuses, error
//! bodies sent with 200, rate limits, wrong markets, wrong shapes; and reasons stay short.

use poller::providers::{BodyProblem, Provider, ProviderError};

use crate::fixtures::{OK_BODIES, fixture};
use crate::parse;

#[test]
fn html_empty_and_garbage_bodies_are_rejected_with_their_kind() {
    let html = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\
                <body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>";
    for provider in Provider::ALL {
        assert_eq!(
            parse(provider, 200, html),
            Err(ProviderError::InvalidBody(BodyProblem::Html))
        );
        assert_eq!(
            parse(provider, 502, html),
            Err(ProviderError::HttpStatus {
                status: 502,
                reason: "HTML page instead of JSON".into(),
                retry_after: None
            })
        );
        for empty in ["", "\n"] {
            assert_eq!(
                parse(provider, 200, empty),
                Err(ProviderError::InvalidBody(BodyProblem::Empty))
            );
        }
        for garbage in ["OK", "price: 78754", "\u{feff}{}"] {
            assert_eq!(
                parse(provider, 200, garbage),
                Err(ProviderError::InvalidBody(BodyProblem::NotJson)),
                "{provider} {garbage:?}"
            );
        }
    }
}

#[test]
fn a_valid_looking_body_with_an_error_status_is_not_a_price() {
    for ok in &OK_BODIES {
        let (provider, file) = (ok.provider, ok.file);
        for status in [201, 204] {
            assert!(
                parse(provider, status, &fixture(file)).is_ok(),
                "2xx is success"
            );
        }
        for status in [301, 400, 404, 500, 503] {
            assert_eq!(
                parse(provider, status, &fixture(file)),
                Err(ProviderError::HttpStatus {
                    status,
                    reason: "unrecognised body".into(),
                    retry_after: None
                }),
                "{file} {status}"
            );
        }
    }
}

#[test]
fn error_bodies_sent_with_200_are_errors() {
    for (provider, file, message) in [
        (
            Provider::Coinbase,
            "coinbase/error-404-notfound.json",
            "NotFound",
        ),
        (
            Provider::Bitstamp,
            "bitstamp/maintenance.json",
            "Bitstamp.net is under scheduled maintenance. We'll be back soon.",
        ),
        (
            Provider::Gemini,
            "gemini/error-400-invalid-symbol.json",
            "InvalidSymbol: Received unsupported symbol 'btcusdx'",
        ),
        (
            Provider::Bitfinex,
            "bitfinex/error-maintenance.json",
            "20060 maintenance",
        ),
        (
            Provider::Coingecko,
            "coingecko/error-400-missing-param.json",
            "Missing parameter vs_currencies",
        ),
    ] {
        assert_eq!(
            parse(provider, 200, &fixture(file)),
            Err(ProviderError::ErrorWithOk(message.into())),
            "{file}"
        );
    }
    // Rate-limit bodies are rate limits whatever the status.
    for (provider, file) in [
        (Provider::Coinbase, "coinbase/error-429.json"),
        (Provider::Bitstamp, "bitstamp/error-rate-limit.json"),
        (Provider::Gemini, "gemini/error-429.json"),
        (Provider::Bitfinex, "bitfinex/error-429-ratelimit.json"),
        (
            Provider::Bitfinex,
            "bitfinex/error-rate-limit-documented.json",
        ),
        (Provider::Coingecko, "coingecko/error-429.json"),
    ] {
        assert_eq!(
            parse(provider, 200, &fixture(file)),
            Err(ProviderError::RateLimited {
                status: 200,
                retry_after: None
            }),
            "{file}"
        );
    }
}

#[test]
fn wrong_markets_are_rejected() {
    let swap = |file: &str, from: &str, to: &str| {
        let ok = fixture(file);
        assert!(ok.contains(from), "{file} contains {from}");
        ok.replacen(from, to, 1)
    };
    for (provider, body, reason) in [
        (
            Provider::Kraken,
            swap("kraken/ok.json", "XXBTZUSD", "XETHZUSD"),
            "pair XETHZUSD",
        ),
        (
            Provider::Kraken,
            swap("kraken/ok.json", "XXBTZUSD", "XXBTZEUR"),
            "pair XXBTZEUR",
        ),
        (
            Provider::Kraken,
            r#"{"error":[],"result":{}}"#.to_owned(),
            "no pair in the result",
        ),
        (
            Provider::Gemini,
            swap("gemini/ok.json", r#""BTC""#, r#""ETH""#),
            "the volume is not in BTC and USD",
        ),
        (
            Provider::Gemini,
            swap("gemini/ok.json", r#""USD""#, r#""EUR""#),
            "the volume is not in BTC and USD",
        ),
        (
            Provider::Bitstamp,
            swap("bitstamp/ok.json", r#""SPOT""#, r#""PERPETUAL""#),
            "market_type PERPETUAL",
        ),
        (
            Provider::Bitstamp,
            swap(
                "bitstamp/ok.json",
                r#""market_type""#,
                r#""pair": "ETH/USD", "x""#,
            ),
            "pair ETH/USD",
        ),
        (
            Provider::Coingecko,
            swap("coingecko/ok.json", "bitcoin", "ethereum"),
            "no bitcoin entry",
        ),
        (
            Provider::Coingecko,
            swap("coingecko/ok.json", "usd", "eur"),
            "no usd price for bitcoin",
        ),
    ] {
        assert_eq!(
            parse(provider, 200, &body),
            Err(ProviderError::WrongMarket(reason.into())),
            "{body}"
        );
    }
    let two_pairs = r#"{"error":[],"result":{"XXBTZUSD":{"c":["78754.0","1"]},"XETHZUSD":{"c":["3000.0","1"]}}}"#;
    assert!(matches!(
        parse(Provider::Kraken, 200, two_pairs),
        Err(ProviderError::WrongMarket(_))
    ));
}

#[test]
fn missing_fields_and_wrong_shapes_are_rejected() {
    for (provider, body) in [
        (Provider::Coinbase, r#"{"bid":"63212.97","ask":"63212.98"}"#),
        (Provider::Coinbase, "[]"),
        (Provider::Kraken, r#"{"error":[]}"#),
        (
            Provider::Kraken,
            r#"{"error":[],"result":{"XXBTZUSD":{"a":["1","1","1"]}}}"#,
        ),
        (
            Provider::Kraken,
            r#"{"error":[],"result":{"XXBTZUSD":{"c":[]}}}"#,
        ),
        (
            Provider::Bitstamp,
            r#"{"timestamp": "1790515990", "bid": "85052.33"}"#,
        ),
        (Provider::Gemini, r#"{"last":"78531.37000"}"#),
        (
            Provider::Gemini,
            r#"{"bid":"1","volume":{"BTC":"1","USD":"1"}}"#,
        ),
        (
            Provider::Bitfinex,
            "[78995,3.49,79026,3.11,-764,-0.0095,79026,1114.89,80010]",
        ),
        (
            Provider::Bitfinex,
            "[78995,3.49,79026,3.11,-764,-0.0095,79026,null,80010,78845]",
        ),
        (Provider::Bitfinex, r#"{"price":79026}"#),
        (Provider::Coingecko, r#"{"bitcoin":79026}"#),
        (Provider::Coingecko, "[]"),
    ] {
        assert!(
            matches!(
                parse(provider, 200, body),
                Err(ProviderError::UnexpectedJson(_))
            ),
            "{provider}: {body}: {:?}",
            parse(provider, 200, body)
        );
    }
    let missing = parse(Provider::Coinbase, 200, r#"{"bid":"1"}"#).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "unexpected JSON: missing field `price`"
    );
}

#[test]
fn unknown_fields_and_field_order_do_not_matter() {
    let reordered =
        r#"{"volume":{"USD":"1","timestamp":1,"BTC":"1"},"new_field":[1,{}],"last":"78531.37"}"#;
    assert_eq!(parse(Provider::Gemini, 200, reordered), Ok(78_531.37));
    let extra = r#"{"bitcoin":{"usd":78754,"usd_24h_vol":1.5,"last_updated_at":1,"future":"x"},"note":"hi"}"#;
    assert_eq!(parse(Provider::Coingecko, 200, extra), Ok(78_754.0));
}

#[test]
fn error_reasons_are_short_whatever_the_provider_sends() {
    let long = format!(r#"{{"message":"{}"}}"#, "very long message ".repeat(1000));
    let err = parse(Provider::Coinbase, 500, &long)
        .unwrap_err()
        .to_string();
    assert!(err.chars().count() < 160, "{err}");
    let long_kraken = format!(r#"{{"error":["{}"]}}"#, "E\n".repeat(5000));
    let err = parse(Provider::Kraken, 200, &long_kraken)
        .unwrap_err()
        .to_string();
    assert!(err.chars().count() < 160 && !err.contains('\n'), "{err}");
}
