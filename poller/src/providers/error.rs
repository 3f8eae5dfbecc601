//! Why a provider gave no usable price, kept short: a status, a classification and at most a
//! line of the provider's own words, never a body.

use std::ops::RangeInclusive;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::body::BodyProblem;
use crate::backoff::{Retry, RetryAfter};

/// How much of a provider's text (an error message, a field name) goes into an error.
const MAX_REASON_CHARS: usize = 120;

/// 408: the server gave up waiting for the request, a sign of its load or of the network.
const REQUEST_TIMEOUT: u16 = 408;
const SERVER_ERRORS: RangeInclusive<u16> = 500..=599;

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
    #[error("a quote stamped {} ago: not a current price", humantime::format_duration(*.0))]
    StaleQuote(Duration),
    #[error("a quote stamped {} ahead of our clock", humantime::format_duration(*.0))]
    QuoteFromTheFuture(Duration),
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
            ProviderError::StaleQuote(_) => "stale_quote",
            ProviderError::QuoteFromTheFuture(_) => "future_quote",
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

    /// When to ask again, by what the failure says (see `backoff`): a `Retry-After` counted
    /// from `now` when there is one, a back-off for overload signals, the next tick otherwise.
    pub fn retry(&self, now: SystemTime) -> Retry {
        if let Some(retry_after) = self.retry_after() {
            Retry::After(retry_after.delay(now))
        } else if self.is_overload() {
            Retry::BackOff
        } else {
            Retry::NextTick
        }
    }

    /// Whether the provider is overloaded or out of reach, rather than answering at once with
    /// something unusable.
    fn is_overload(&self) -> bool {
        match self {
            ProviderError::RateLimited { .. }
            | ProviderError::Timeout(_)
            | ProviderError::Transport(_) => true,
            ProviderError::HttpStatus { status, .. } => {
                *status == REQUEST_TIMEOUT || SERVER_ERRORS.contains(status)
            }
            ProviderError::ErrorWithOk(_)
            | ProviderError::InvalidBody(_)
            | ProviderError::UnexpectedJson(_)
            | ProviderError::WrongMarket(_)
            | ProviderError::Implausible(_)
            | ProviderError::StaleQuote(_)
            | ProviderError::QuoteFromTheFuture(_) => false,
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

    fn http(status: u16, retry_after: Option<RetryAfter>) -> ProviderError {
        ProviderError::HttpStatus {
            status,
            reason: "HTML page instead of JSON".to_owned(),
            retry_after,
        }
    }

    #[test]
    fn only_overload_signals_back_off_and_a_retry_after_always_wins() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let limited = |status| ProviderError::RateLimited {
            status,
            retry_after: None,
        };
        for overload in [
            limited(429),
            limited(200),
            http(408, None),
            http(500, None),
            http(502, None),
            http(503, None),
            http(599, None),
            ProviderError::Timeout(Duration::from_secs(3)),
            ProviderError::Transport("Connection refused".into()),
        ] {
            assert_eq!(overload.retry(now), Retry::BackOff, "{overload}");
        }
        for unusable in [
            http(301, None),
            http(400, None),
            http(401, None),
            http(404, None),
            ProviderError::ErrorWithOk("EService:Unavailable".into()),
            ProviderError::InvalidBody(BodyProblem::Html),
            ProviderError::InvalidBody(BodyProblem::Empty),
            ProviderError::InvalidBody(BodyProblem::Truncated),
            ProviderError::InvalidBody(BodyProblem::TooLarge),
            ProviderError::UnexpectedJson("missing field `price`".into()),
            ProviderError::WrongMarket("more than one pair in the result".into()),
            ProviderError::Implausible(0.0),
            ProviderError::StaleQuote(Duration::from_secs(7_200)),
            ProviderError::QuoteFromTheFuture(Duration::from_secs(3_600)),
        ] {
            assert_eq!(unusable.retry(now), Retry::NextTick, "{unusable}");
        }
        let in_a_minute = now + Duration::from_secs(60);
        for (err, wait) in [
            (http(503, Some(RetryAfter::Seconds(600))), 600),
            (http(400, Some(RetryAfter::Seconds(30))), 30),
            (http(404, Some(RetryAfter::At(in_a_minute))), 60),
            (
                ProviderError::RateLimited {
                    status: 429,
                    retry_after: Some(RetryAfter::Seconds(7)),
                },
                7,
            ),
        ] {
            assert_eq!(
                err.retry(now),
                Retry::After(Duration::from_secs(wait)),
                "{err}"
            );
        }
    }

    #[test]
    fn short_cuts_long_text_and_keeps_it_on_one_line() {
        assert_eq!(short("a\nb"), "a b");
        let long = "x".repeat(500);
        assert_eq!(short(&long).chars().count(), MAX_REASON_CHARS + 1);
    }
}
