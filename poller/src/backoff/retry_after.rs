//! The `Retry-After` header, in both of its forms: a number of seconds or an HTTP date.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// A `Retry-After` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Seconds(u64),
    At(SystemTime),
}

impl RetryAfter {
    /// The header's value; `None` when absent or in neither of its two forms.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
        match value.parse() {
            Ok(seconds) => Some(RetryAfter::Seconds(seconds)),
            Err(_) => httpdate::parse_http_date(value).ok().map(RetryAfter::At),
        }
    }

    /// How long to wait from `now`; a date in the past means no wait.
    pub fn delay(self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Seconds(seconds) => Duration::from_secs(seconds),
            RetryAfter::At(time) => time.duration_since(now).unwrap_or_default(),
        }
    }
}

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryAfter::Seconds(seconds) => write!(f, "{seconds}s"),
            RetryAfter::At(time) => f.write_str(&httpdate::fmt_http_date(*time)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, retry_after.parse().unwrap());
        headers
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        assert_eq!(
            RetryAfter::from_headers(&headers("119")),
            Some(RetryAfter::Seconds(119))
        );
        let date = "Wed, 21 Oct 2026 07:28:00 GMT";
        let parsed = RetryAfter::from_headers(&headers(date)).unwrap();
        assert_eq!(
            parsed,
            RetryAfter::At(httpdate::parse_http_date(date).unwrap())
        );
        assert_eq!(parsed.to_string(), date);
        assert_eq!(RetryAfter::from_headers(&HeaderMap::new()), None);
        for bad in ["-5", "1.5", "soon", "Wed, 21 Oct 2026"] {
            assert_eq!(RetryAfter::from_headers(&headers(bad)), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_delays_count_from_now() {
        let now = SystemTime::UNIX_EPOCH + secs(1_800_000_000);
        assert_eq!(RetryAfter::Seconds(119).delay(now), secs(119));
        assert_eq!(RetryAfter::At(now + secs(45)).delay(now), secs(45));
        assert_eq!(RetryAfter::At(now - secs(45)).delay(now), Duration::ZERO);
    }
}
