//! What a valid answer reports: a price, and when the exchange stamped it where it does; and the
//! freshness rule a stamped price passes before it counts as a current one.
//!
//! A frozen feed, a stale cache in front of an exchange or a CDN replaying an old body still
//! answers with a plausible price, and without looking at the exchange's own time it would be
//! stored as if just fetched. So a price stamped more than [`MAX_QUOTE_AGE`] before it arrived is
//! not current ([`ProviderError::StaleQuote`]); one stamped more than [`MAX_CLOCK_AHEAD`] after it
//! arrived says its time is wrong (a clock far off, a field in another unit) and is not trusted
//! either ([`ProviderError::QuoteFromTheFuture`]). Which exchanges stamp their answers, and with
//! what, is in each provider's module; Kraken and Bitfinex do not stamp theirs.

use std::time::{Duration, SystemTime};

pub use price_store::rules::{MAX_CLOCK_AHEAD, MAX_QUOTE_AGE};

use super::error::ProviderError;

/// A valid answer's price, in USD, and the time the exchange put on it, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub usd: f64,
    pub stamped_at: Option<SystemTime>,
}

impl Price {
    /// A price from an answer that carries no time.
    pub fn unstamped(usd: f64) -> Self {
        Self {
            usd,
            stamped_at: None,
        }
    }

    pub fn stamped(usd: f64, at: SystemTime) -> Self {
        Self {
            usd,
            stamped_at: Some(at),
        }
    }

    /// This price, if it is current for an answer that arrived at `received_at`.
    pub fn current_at(self, received_at: SystemTime) -> Result<Self, ProviderError> {
        let Some(stamped_at) = self.stamped_at else {
            return Ok(self);
        };
        match received_at.duration_since(stamped_at) {
            Ok(age) if age > MAX_QUOTE_AGE => Err(ProviderError::StaleQuote(age)),
            Ok(_) => Ok(self),
            Err(ahead) if ahead.duration() > MAX_CLOCK_AHEAD => {
                Err(ProviderError::QuoteFromTheFuture(ahead.duration()))
            }
            Err(_) => Ok(self),
        }
    }
}

/// Unix seconds as a time; `None` when out of range.
pub(crate) fn unix_seconds(seconds: u64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Unix milliseconds as a time; `None` when out of range.
pub(crate) fn unix_millis(millis: u64) -> Option<SystemTime> {
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_800_000_000);

    fn at(offset_secs: i64) -> SystemTime {
        let now = SystemTime::UNIX_EPOCH + NOW;
        if offset_secs >= 0 {
            now + Duration::from_secs(offset_secs as u64)
        } else {
            now - Duration::from_secs(offset_secs.unsigned_abs())
        }
    }

    #[test]
    fn a_price_stamped_two_hours_ago_is_not_current() {
        let frozen = Price::stamped(90_000.0, at(-7_200));
        assert_eq!(
            frozen.current_at(at(0)),
            Err(ProviderError::StaleQuote(Duration::from_secs(7_200)))
        );
    }

    #[test]
    fn a_price_is_current_up_to_the_age_limit_and_a_little_ahead_of_our_clock() {
        for offset in [0, -1, -60, -120, 1, 30] {
            let price = Price::stamped(90_000.0, at(offset));
            assert_eq!(
                price.current_at(at(0)),
                Ok(price),
                "stamped {offset} s from now"
            );
        }
        assert_eq!(
            Price::stamped(90_000.0, at(-121)).current_at(at(0)),
            Err(ProviderError::StaleQuote(Duration::from_secs(121)))
        );
        assert_eq!(
            Price::stamped(90_000.0, at(31)).current_at(at(0)),
            Err(ProviderError::QuoteFromTheFuture(Duration::from_secs(31)))
        );
    }

    #[test]
    fn an_unstamped_price_is_taken_as_current() {
        let price = Price::unstamped(90_000.0);
        assert_eq!(price.current_at(at(0)), Ok(price));
    }
}
