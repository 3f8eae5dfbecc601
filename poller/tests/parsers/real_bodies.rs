//! The real bodies, as captured or documented: every file in `tests/fixtures/providers/`,
//! served with the status and headers its manifest entry gives, parses to what it says.

use std::collections::{BTreeMap, BTreeSet};

use poller::backoff::RetryAfter;
use poller::providers::{Answer, Provider, ProviderError};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use crate::fixtures::{OK_BODIES, OkBody, fixture, fixtures_dir};
use crate::parse;

#[derive(Deserialize)]
struct ManifestEntry {
    file: String,
    provider: String,
    status: u16,
    headers: BTreeMap<String, String>,
}

fn manifest() -> Vec<ManifestEntry> {
    serde_json::from_str(&fixture("manifest.json")).unwrap()
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

        // Asked without include_last_updated_at: no time, no price.
        "coingecko/ok.json" => Expected::ErrorText("unexpected JSON: no last_updated_at"),
        "coingecko/ok-integer.json" => Expected::ErrorText("unexpected JSON: no last_updated_at"),
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
            body: Ok(std::fs::read(fixtures_dir().join(&entry.file)).unwrap()),
        };
        let price = provider.parse(&answer).map(|price| price.usd);
        check(&entry.file, price, expected(&entry.file));
    }
}

#[test]
fn every_fixture_file_is_in_the_manifest() {
    let listed: BTreeSet<String> = manifest().into_iter().map(|e| e.file).collect();
    let mut on_disk = BTreeSet::new();
    for provider in Provider::ALL {
        for file in std::fs::read_dir(fixtures_dir().join(provider.name())).unwrap() {
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
        parse(Provider::Kraken, 503, &fixture("kraken/unavailable.json")),
        http(503, "EService:Unavailable"),
    );
    check(
        "bitstamp/error-rate-limit.json with 400",
        parse(
            Provider::Bitstamp,
            400,
            &fixture("bitstamp/error-rate-limit.json"),
        ),
        rate_limited(400, None),
    );
}

#[test]
fn every_provider_has_an_ok_body_to_rewrite() {
    for provider in Provider::ALL {
        let ok = OkBody::of(provider);
        assert!(ok.file.starts_with(&format!("{provider}/")), "{}", ok.file);
        assert!(parse(provider, 200, &ok.body()).is_ok(), "{}", ok.file);
    }
    assert_eq!(OK_BODIES.len(), Provider::ALL.len(), "one row per provider");
}
