//! The price providers: which ones exist, where each is asked by default, and how an HTTP
//! answer becomes a validated BTC price in USD or a typed [`ProviderError`].
//!
//! Each provider module is a pure function of the answer (status, headers, body), so every real
//! body in `tests/fixtures/providers/` runs through it without a network. Parsing is strict:
//! a price must have the JSON type the API sends (a decimal string or a number), the market must
//! be BTC/USD wherever the answer says which market it is, and every price passes
//! [`check_plausible`]. What all providers share (rate limits, HTTP errors, HTML pages, empty or
//! truncated bodies, error bodies sent with 200) is decided in [`checked_json`].

mod bitfinex;
mod bitstamp;
mod coinbase;
mod coingecko;
mod gemini;
mod kraken;

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::backoff::RetryAfter;

/// The prices a provider may report, in USD. BTC has traded between about 3 000 and 130 000 USD
/// since 2018; the bounds leave room for years of moves either way while rejecting the classic
/// failures: a zero or placeholder, a price in cents or satoshis, another market's price.
/// Being off by a smaller factor is caught by comparing providers (see `combine`).
pub const PLAUSIBLE_USD: RangeInclusive<f64> = 1_000.0..=10_000_000.0;

/// How much of a provider's text (an error message, a field name) goes into an error.
const MAX_REASON_CHARS: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Coinbase Exchange ticker: `price` (a decimal string).
    Coinbase,
    /// Kraken ticker: `result.XXBTZUSD.c[0]` (a decimal string); every error is HTTP 200.
    Kraken,
    /// Bitstamp ticker: `last` (a decimal string).
    Bitstamp,
    /// Gemini public ticker: `last` (a decimal string).
    Gemini,
    /// Bitfinex ticker: element 6 of an array of numbers.
    Bitfinex,
    /// CoinGecko simple price: `bitcoin.usd` (a number).
    Coingecko,
}

impl Provider {
    /// Every provider, in the default order of `PROVIDERS`.
    pub const ALL: [Provider; 6] = [
        Provider::Coinbase,
        Provider::Kraken,
        Provider::Bitstamp,
        Provider::Gemini,
        Provider::Bitfinex,
        Provider::Coingecko,
    ];

    /// The name used in `PROVIDERS`, samples, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Coinbase => "coinbase",
            Provider::Kraken => "kraken",
            Provider::Bitstamp => "bitstamp",
            Provider::Gemini => "gemini",
            Provider::Bitfinex => "bitfinex",
            Provider::Coingecko => "coingecko",
        }
    }

    /// The variable that overrides the request URL.
    pub fn url_var(self) -> &'static str {
        match self {
            Provider::Coinbase => "COINBASE_URL",
            Provider::Kraken => "KRAKEN_URL",
            Provider::Bitstamp => "BITSTAMP_URL",
            Provider::Gemini => "GEMINI_URL",
            Provider::Bitfinex => "BITFINEX_URL",
            Provider::Coingecko => "COINGECKO_URL",
        }
    }

    /// The real request URL.
    pub fn default_url(self) -> &'static str {
        match self {
            Provider::Coinbase => coinbase::DEFAULT_URL,
            Provider::Kraken => kraken::DEFAULT_URL,
            Provider::Bitstamp => bitstamp::DEFAULT_URL,
            Provider::Gemini => gemini::DEFAULT_URL,
            Provider::Bitfinex => bitfinex::DEFAULT_URL,
            Provider::Coingecko => coingecko::DEFAULT_URL,
        }
    }

    /// The BTC price in USD that `answer` reports, or why it reports none.
    pub fn parse(self, answer: &Answer) -> Result<f64, ProviderError> {
        let price = match self {
            Provider::Coinbase => coinbase::parse(answer),
            Provider::Kraken => kraken::parse(answer),
            Provider::Bitstamp => bitstamp::parse(answer),
            Provider::Gemini => gemini::parse(answer),
            Provider::Bitfinex => bitfinex::parse(answer),
            Provider::Coingecko => coingecko::parse(answer),
        }?;
        check_plausible(price)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?} (known: {known})", known = known_names())]
pub struct UnknownProvider(pub String);

fn known_names() -> String {
    Provider::ALL.map(Provider::name).join(", ")
}

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|provider| provider.name() == name)
            .ok_or_else(|| UnknownProvider(short(name)))
    }
}

/// An HTTP answer as a parser sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Why a provider gave no usable price. Messages are short by construction: a status, a
/// classification and at most [`MAX_REASON_CHARS`] of the provider's own words, never a body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("rate limited (HTTP {status}{})", retry_after_text(retry_after))]
    RateLimited {
        status: u16,
        retry_after: Option<RetryAfter>,
    },
    /// Any other error status. A `Retry-After` on it (e.g. a 503 for maintenance) is honoured
    /// like a rate limit's.
    #[error("HTTP {status}: {reason}{}", retry_after_text(retry_after))]
    HttpStatus {
        status: u16,
        reason: String,
        retry_after: Option<RetryAfter>,
    },
    #[error("error sent with HTTP 200: {0}")]
    ErrorWithOk(String),
    #[error("{0}")]
    InvalidBody(BodyProblem),
    #[error("unexpected JSON: {0}")]
    UnexpectedJson(String),
    #[error("wrong market: {0}")]
    WrongMarket(String),
    #[error("implausible price {0}")]
    Implausible(f64),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("request failed: {0}")]
    Transport(String),
}

fn retry_after_text(retry_after: &Option<RetryAfter>) -> String {
    match retry_after {
        Some(retry_after) => format!(", Retry-After {retry_after}"),
        None => String::new(),
    }
}

impl ProviderError {
    /// The `outcome` label of the fetch counter.
    pub fn outcome(&self) -> &'static str {
        match self {
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::HttpStatus { .. } => "http_error",
            ProviderError::ErrorWithOk(_) => "error_body",
            ProviderError::InvalidBody(_) => "invalid_body",
            ProviderError::UnexpectedJson(_) => "unexpected_json",
            ProviderError::WrongMarket(_) => "wrong_market",
            ProviderError::Implausible(_) => "implausible",
            ProviderError::Timeout(_) => "timeout",
            ProviderError::Transport(_) => "transport",
        }
    }

    /// How long the provider asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            ProviderError::RateLimited { retry_after, .. }
            | ProviderError::HttpStatus { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A body that is not a JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyProblem {
    #[error("empty body")]
    Empty,
    #[error("HTML page instead of JSON")]
    Html,
    #[error("truncated JSON")]
    Truncated,
    #[error("not JSON")]
    NotJson,
    #[error("body larger than {} KiB", crate::fetch::MAX_BODY_BYTES / 1024)]
    TooLarge,
}

/// What a provider's error body says, as its module recognises it.
pub(crate) enum Failure {
    RateLimited,
    Error(String),
}

/// The JSON of a successful answer, after the checks every provider shares.
///
/// `recognise_error` knows the provider's error shapes; it is asked about every JSON body,
/// whatever the status, because some providers send errors with HTTP 200 (Kraken, CoinGecko)
/// or signal rate limits without a 429 (Kraken, Bitstamp's 400).
pub(crate) fn checked_json(
    answer: &Answer,
    recognise_error: impl Fn(&Value) -> Option<Failure>,
) -> Result<Value, ProviderError> {
    let status = answer.status;
    let json = json_document(&answer.body);
    let failure = json.as_ref().ok().and_then(recognise_error);
    if status == StatusCode::TOO_MANY_REQUESTS || matches!(failure, Some(Failure::RateLimited)) {
        return Err(ProviderError::RateLimited {
            status: status.as_u16(),
            retry_after: RetryAfter::from_headers(&answer.headers),
        });
    }
    let success = status.is_success();
    match (json, failure) {
        (Ok(json), None) if success => Ok(json),
        (Ok(_), Some(Failure::Error(message))) if success => {
            Err(ProviderError::ErrorWithOk(short(&message)))
        }
        (Err(problem), _) if success => Err(ProviderError::InvalidBody(problem)),
        (Err(problem), _) => Err(http_status(answer, problem.to_string())),
        (Ok(_), Some(Failure::Error(message))) => Err(http_status(answer, short(&message))),
        (Ok(_), _) => Err(http_status(answer, "unrecognised body".to_owned())),
    }
}

/// An error status, with the `Retry-After` it may carry.
pub(crate) fn http_status(answer: &Answer, reason: String) -> ProviderError {
    ProviderError::HttpStatus {
        status: answer.status.as_u16(),
        reason,
        retry_after: RetryAfter::from_headers(&answer.headers),
    }
}

fn json_document(body: &[u8]) -> Result<Value, BodyProblem> {
    match body.trim_ascii_start().first() {
        None => return Err(BodyProblem::Empty),
        Some(b'<') => return Err(BodyProblem::Html),
        Some(_) => {}
    }
    serde_json::from_slice(body).map_err(|err| {
        if err.is_eof() {
            BodyProblem::Truncated
        } else {
            BodyProblem::NotJson
        }
    })
}

/// `json` as the provider's answer type; a missing field or a wrong type is an error.
pub(crate) fn decode<T: DeserializeOwned>(json: Value) -> Result<T, ProviderError> {
    serde_json::from_value(json)
        .map_err(|err| ProviderError::UnexpectedJson(short(&err.to_string())))
}

/// The shared plausibility rule: finite, positive and within [`PLAUSIBLE_USD`].
pub fn check_plausible(price: f64) -> Result<f64, ProviderError> {
    if price.is_finite() && PLAUSIBLE_USD.contains(&price) {
        Ok(price)
    } else {
        Err(ProviderError::Implausible(price))
    }
}

/// A number the API sends as a JSON string of a plain decimal: `"63212.97"`, `"20800"`,
/// `"-1.5"`. No exponent, no `NaN` or `inf`, no spaces, no `+`: those are not what these APIs
/// send, so they mean something is wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DecimalString(pub f64);

impl<'de> Deserialize<'de> for DecimalString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let unsigned = text.strip_prefix('-').unwrap_or(&text);
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if digits(whole) && digits(fraction) {
            text.parse()
                .map(DecimalString)
                .map_err(|_| D::Error::custom("unparsable decimal"))
        } else {
            Err(D::Error::custom(format!(
                "expected a decimal string, got {:?}",
                short(&text)
            )))
        }
    }
}

/// The first words of a provider's text, on one line.
pub(crate) fn short(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(MAX_REASON_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_REASON_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// A JSON value as short text for an error message: strings without their quotes.
pub(crate) fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => short(text),
        other => short(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn nothing_recognised(_: &Value) -> Option<Failure> {
        None
    }

    #[test]
    fn bodies_that_are_not_json_are_classified() {
        for (body, problem) in [
            ("", BodyProblem::Empty),
            (" \r\n", BodyProblem::Empty),
            (
                "<!DOCTYPE html><html>502 Bad Gateway</html>",
                BodyProblem::Html,
            ),
            ("  <html>", BodyProblem::Html),
            (r#"{"price":"63212.9"#, BodyProblem::Truncated),
            ("[1,2", BodyProblem::Truncated),
            ("price=1", BodyProblem::NotJson),
            ("NaN", BodyProblem::NotJson),
            (r#"{"a":1} trailing"#, BodyProblem::NotJson),
        ] {
            assert_eq!(
                checked_json(&answer(200, body), nothing_recognised),
                Err(ProviderError::InvalidBody(problem)),
                "{body:?}"
            );
        }
    }

    #[test]
    fn an_error_status_reports_the_status_and_a_short_reason() {
        let err = checked_json(&answer(503, "<html>down</html>"), nothing_recognised);
        assert_eq!(
            err,
            Err(ProviderError::HttpStatus {
                status: 503,
                reason: "HTML page instead of JSON".into(),
                retry_after: None
            })
        );
        let err = checked_json(&answer(500, r#"{"x":1}"#), nothing_recognised);
        assert_eq!(err.unwrap_err().to_string(), "HTTP 500: unrecognised body");
    }

    #[test]
    fn a_recognised_error_with_200_is_not_a_price() {
        let recognise = |_: &Value| Some(Failure::Error("EService:Busy".into()));
        assert_eq!(
            checked_json(&answer(200, "{}"), recognise),
            Err(ProviderError::ErrorWithOk("EService:Busy".into()))
        );
        assert_eq!(
            checked_json(&answer(503, "{}"), recognise),
            Err(ProviderError::HttpStatus {
                status: 503,
                reason: "EService:Busy".into(),
                retry_after: None
            })
        );
    }

    #[test]
    fn rate_limits_are_recognised_by_status_or_by_body() {
        let mut limited = answer(429, "<html>slow down</html>");
        limited.headers.insert("retry-after", "30".parse().unwrap());
        assert_eq!(
            checked_json(&limited, nothing_recognised),
            Err(ProviderError::RateLimited {
                status: 429,
                retry_after: Some(RetryAfter::Seconds(30))
            })
        );
        let mut maintenance = answer(503, "<html>back soon</html>");
        maintenance
            .headers
            .insert("retry-after", "3600".parse().unwrap());
        let err = checked_json(&maintenance, nothing_recognised).unwrap_err();
        assert_eq!(err.retry_after(), Some(RetryAfter::Seconds(3600)));
        assert_eq!(
            err.to_string(),
            "HTTP 503: HTML page instead of JSON, Retry-After 3600s"
        );
        let by_body = checked_json(&answer(200, "{}"), |_| Some(Failure::RateLimited));
        assert_eq!(
            by_body,
            Err(ProviderError::RateLimited {
                status: 200,
                retry_after: None
            })
        );
    }

    #[test]
    fn decimal_strings_are_plain_decimals_only() {
        let parse = |json: &str| serde_json::from_str::<DecimalString>(json).map(|d| d.0);
        assert_eq!(parse(r#""63212.97""#).unwrap(), 63212.97);
        assert_eq!(parse(r#""20800""#).unwrap(), 20800.0);
        assert_eq!(parse(r#""82998.90000""#).unwrap(), 82998.9);
        assert_eq!(parse(r#""-1.5""#).unwrap(), -1.5);
        for bad in [
            r#""""#,
            r#""NaN""#,
            r#""inf""#,
            r#""1e5""#,
            r#""+1""#,
            r#"" 1""#,
            r#""1.""#,
            r#"".5""#,
            r#""1.2.3""#,
            r#""1,5""#,
            r#""--1""#,
            "63212.97",
            "null",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
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
            assert!(check_plausible(bad).is_err(), "{bad}");
        }
        for good in [1_000.0, 3_200.0, 78_754.0, 10_000_000.0] {
            assert_eq!(check_plausible(good), Ok(good));
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for provider in Provider::ALL {
            assert_eq!(provider.name().parse(), Ok(provider));
            assert!(provider.url_var().ends_with("_URL"));
            assert!(provider.default_url().starts_with("https://"));
        }
        assert!("Coinbase".parse::<Provider>().is_err());
        assert!("binance".parse::<Provider>().is_err());
    }

    #[test]
    fn short_cuts_long_text_and_keeps_it_on_one_line() {
        assert_eq!(short("a\nb"), "a b");
        let long = "x".repeat(500);
        assert_eq!(short(&long).chars().count(), MAX_REASON_CHARS + 1);
    }
}
