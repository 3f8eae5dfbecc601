//! Why a provider gave no usable price, kept short: a status, a classification and at most a
//! line of the provider's own words, never a body.

use std::time::Duration;

use serde_json::Value;

use super::answer::BodyProblem;
use crate::backoff::RetryAfter;

/// How much of a provider's text (an error message, a field name) goes into an error.
const MAX_REASON_CHARS: usize = 120;

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

    #[test]
    fn short_cuts_long_text_and_keeps_it_on_one_line() {
        assert_eq!(short("a\nb"), "a b");
        let long = "x".repeat(500);
        assert_eq!(short(&long).chars().count(), MAX_REASON_CHARS + 1);
    }
}
