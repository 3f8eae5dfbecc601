//! Every provider's parser on every real body in `tests/fixtures/providers/` (with the status
//! and headers the manifest gives), then on broken variants of them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use poller::backoff::RetryAfter;
use poller::providers::{Answer, BodyProblem, Provider, ProviderError};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers")
}

#[derive(Deserialize)]
struct ManifestEntry {
    file: String,
    provider: String,
    status: u16,
    headers: std::collections::BTreeMap<String, String>,
}

fn manifest() -> Vec<ManifestEntry> {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn body(file: &str) -> String {
    std::fs::read_to_string(fixtures().join(file)).unwrap()
}

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status: StatusCode::from_u16(status).unwrap(),
        headers: HeaderMap::new(),
        body: body.as_bytes().to_vec(),
    }
}

fn parse(provider: Provider, status: u16, body: &str) -> Result<f64, ProviderError> {
    provider.parse(&answer(status, body))
}

enum Expected {
    Price(f64),
    Error(ProviderError),
    /// For long provider messages: the error's text starts with this.
    ErrorText(&'static str),
}

fn http(status: u16, reason: &str) -> Expected {
    Expected::Error(ProviderError::HttpStatus {
        status,
        reason: reason.to_owned(),
        retry_after: None,
    })
}

fn rate_limited(status: u16, retry_after: Option<RetryAfter>) -> Expected {
    Expected::Error(ProviderError::RateLimited {
        status,
        retry_after,
    })
}

fn error_with_ok(message: &str) -> Expected {
    Expected::Error(ProviderError::ErrorWithOk(message.to_owned()))
}

fn wrong_market(reason: &str) -> Expected {
    Expected::Error(ProviderError::WrongMarket(reason.to_owned()))
}

/// What each fixture must parse to, served as the manifest says.
fn expected(file: &str) -> Expected {
    use Expected::Price;
    match file {
        "coinbase/ok.json" => Price(63_212.97),
        "coinbase/ok-2025.json" => Price(116_475.07),
        "coinbase/error-404-notfound.json" => http(404, "NotFound"),
        "coinbase/error-429.json" => rate_limited(429, None),

        "kraken/ok.json" => Price(82_998.9),
        "kraken/ok-2026-09-trimmed.json" => Price(78_754.0),
        "kraken/unknown-pair-200.json" => error_with_ok("EQuery:Unknown asset pair"),
        "kraken/unknown-pair-empty-result-200.json" => error_with_ok("EQuery:Unknown asset pair"),
        "kraken/rate-limit-200.json" => rate_limited(200, None),
        "kraken/unavailable.json" => error_with_ok("EService:Unavailable"),
        "kraken/busy.json" => error_with_ok("EService:Busy"),
        "kraken/invalid-arguments-200.json" => error_with_ok("EGeneral:Invalid arguments"),

        "bitstamp/ok.json" => Price(85_052.34),
        "bitstamp/ok-integer-strings.json" => Price(20_800.0),
        "bitstamp/error-rate-limit.json" => rate_limited(429, None),
        "bitstamp/maintenance.json" => http(
            503,
            "Bitstamp.net is under scheduled maintenance. We'll be back soon.",
        ),

        "gemini/ok.json" => Price(78_531.37),
        "gemini/ok-2018.json" => Price(6_692.62),
        "gemini/error-400-invalid-symbol.json" => {
            http(400, "InvalidSymbol: Received unsupported symbol 'btcusdx'")
        }
        "gemini/error-429.json" => rate_limited(429, None),

        "bitfinex/ok.json" => Price(79_026.0),
        "bitfinex/ok-extra-trailing-element.json" => Price(79_026.0),
        "bitfinex/error-500-symbol-invalid.json" => http(500, "10020 symbol: invalid"),
        "bitfinex/error-429-ratelimit.json" => rate_limited(429, None),
        "bitfinex/error-rate-limit-documented.json" => rate_limited(429, None),
        "bitfinex/error-maintenance.json" => http(500, "20060 maintenance"),

        "coingecko/ok.json" => Price(67_187.335_893_656_6),
        "coingecko/ok-integer.json" => Price(111_813.0),
        "coingecko/ok-last-updated.json" => Price(67_187.335_893_656_6),
        "coingecko/ok-all-includes.json" => Price(67_187.335_893_656_6),
        "coingecko/unknown-id-200.json" => wrong_market("no bitcoin entry"),
        "coingecko/unknown-vs-currency-200.json" => wrong_market("no usd price for bitcoin"),
        "coingecko/error-429.json" => rate_limited(429, Some(RetryAfter::Seconds(119))),
        "coingecko/error-401-missing-key.json" => {
            Expected::ErrorText("HTTP 401: 10002 API Key Missing. Please make sure")
        }
        "coingecko/error-400-missing-param.json" => http(400, "Missing parameter vs_currencies"),

        other => panic!("{other} has no expected outcome: add one"),
    }
}

fn check(file: &str, outcome: Result<f64, ProviderError>, expected: Expected) {
    match expected {
        Expected::Price(price) => assert_eq!(outcome, Ok(price), "{file}"),
        Expected::Error(err) => assert_eq!(outcome, Err(err), "{file}"),
        Expected::ErrorText(prefix) => {
            let text = outcome.expect_err(file).to_string();
            assert!(text.starts_with(prefix), "{file}: {text}");
            assert!(
                text.chars().count() < 160,
                "{file}: reasons are short: {text}"
            );
        }
    }
}

#[test]
fn every_fixture_parses_to_its_expected_outcome() {
    let entries = manifest();
    assert_eq!(entries.len(), 35);
    for entry in &entries {
        let provider: Provider = entry.provider.parse().unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in &entry.headers {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let answer = Answer {
            status: StatusCode::from_u16(entry.status).unwrap(),
            headers,
            body: std::fs::read(fixtures().join(&entry.file)).unwrap(),
        };
        check(&entry.file, provider.parse(&answer), expected(&entry.file));
    }
}

#[test]
fn every_fixture_file_is_in_the_manifest() {
    let listed: BTreeSet<String> = manifest().into_iter().map(|e| e.file).collect();
    let mut on_disk = BTreeSet::new();
    for provider in Provider::ALL {
        for file in std::fs::read_dir(fixtures().join(provider.name())).unwrap() {
            let name = file.unwrap().file_name().into_string().unwrap();
            on_disk.insert(format!("{}/{name}", provider.name()));
        }
    }
    assert_eq!(listed, on_disk);
}

/// Fixtures the notes say are also served with another status.
#[test]
fn documented_alternative_statuses() {
    check(
        "kraken/unavailable.json with 503",
        parse(Provider::Kraken, 503, &body("kraken/unavailable.json")),
        http(503, "EService:Unavailable"),
    );
    check(
        "bitstamp/error-rate-limit.json with 400",
        parse(
            Provider::Bitstamp,
            400,
            &body("bitstamp/error-rate-limit.json"),
        ),
        rate_limited(400, None),
    );
}

/// An `ok` body of each provider, the exact text of its price in it, and that text with `{}`
/// for the price.
const OK_BODIES: [(Provider, &str, &str, &str); 6] = [
    (
        Provider::Coinbase,
        "coinbase/ok.json",
        r#""price":"63212.97""#,
        r#""price":"{}""#,
    ),
    (
        Provider::Kraken,
        "kraken/ok.json",
        r#""c":["82998.90000""#,
        r#""c":["{}""#,
    ),
    (
        Provider::Bitstamp,
        "bitstamp/ok.json",
        r#""last": "85052.34""#,
        r#""last": "{}""#,
    ),
    (
        Provider::Gemini,
        "gemini/ok.json",
        r#""last":"78531.37000""#,
        r#""last":"{}""#,
    ),
    (
        Provider::Bitfinex,
        "bitfinex/ok.json",
        "-0.00957513,79026,",
        "-0.00957513,{},",
    ),
    (
        Provider::Coingecko,
        "coingecko/ok.json",
        r#""usd":67187.3358936566"#,
        r#""usd":{}"#,
    ),
];

/// The `ok` body with `price` written in place of its price.
fn with_price(file: &str, price_text: &str, template: &str, price: &str) -> String {
    let ok = body(file);
    assert_eq!(ok.matches(price_text).count(), 1, "{file}: {price_text}");
    ok.replace(price_text, &template.replace("{}", price))
}

fn sends_strings(template: &str) -> bool {
    template.contains(r#""{}""#)
}

#[test]
fn the_price_substitution_reproduces_the_original() {
    for (provider, file, price_text, template) in OK_BODIES {
        let original = parse(provider, 200, &body(file)).unwrap();
        let rebuilt = with_price(file, price_text, template, &original.to_string());
        assert_eq!(parse(provider, 200, &rebuilt), Ok(original), "{file}");
    }
}

#[test]
fn zero_negative_and_absurd_prices_are_implausible() {
    for (provider, file, price_text, template) in OK_BODIES {
        for (price, value) in [
            ("0", 0.0),
            ("0.00", 0.0),
            ("-78754.5", -78_754.5),
            ("78.7545", 78.7545),
            ("78754500000", 78_754_500_000.0),
            ("999.99", 999.99),
        ] {
            assert_eq!(
                parse(
                    provider,
                    200,
                    &with_price(file, price_text, template, price)
                ),
                Err(ProviderError::Implausible(value)),
                "{provider} {price}"
            );
        }
    }
}

#[test]
fn prices_that_are_not_numbers_of_the_expected_type_are_rejected() {
    for (provider, file, price_text, template) in OK_BODIES {
        let bad_prices: &[&str] = if sends_strings(template) {
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
            let outcome = parse(
                provider,
                200,
                &with_price(file, price_text, template, price),
            );
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
    for (provider, file, _, _) in OK_BODIES {
        let ok = body(file);
        for end in 0..ok.len() {
            let outcome = parse(provider, 200, &ok[..end]);
            assert!(outcome.is_err(), "{file} cut at {end}: {outcome:?}");
        }
        let half = &ok[..ok.len() / 2];
        assert_eq!(
            parse(provider, 200, half),
            Err(ProviderError::InvalidBody(BodyProblem::Truncated))
        );
    }
}

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
    for (provider, file, _, _) in OK_BODIES {
        for status in [201, 204] {
            assert!(
                parse(provider, status, &body(file)).is_ok(),
                "2xx is success"
            );
        }
        for status in [301, 400, 404, 500, 503] {
            assert_eq!(
                parse(provider, status, &body(file)),
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
            parse(provider, 200, &body(file)),
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
            parse(provider, 200, &body(file)),
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
        let ok = body(file);
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
    let extra = r#"{"bitcoin":{"usd":78754,"usd_24h_vol":1.5,"future":"x"},"note":"hi"}"#;
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
