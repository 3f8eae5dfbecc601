//! The price providers: which ones exist, where each is asked by default, and how an HTTP
//! answer becomes a validated BTC price in USD or a typed [`ProviderError`].
//!
//! The providers are one table (`providers!` below): a seventh exchange is one line there plus
//! its own module, which declares its [`Spec`] (name, URL variable, default URL, parser).
//! Everything else (`Provider::ALL`, the default `PROVIDERS`, the `<NAME>_URL` variables, the
//! parser dispatch, the names in errors) is derived from it.
//!
//! Each provider module is a pure function of the answer (status, headers, body), so every real
//! body in `tests/fixtures/providers/` runs through it without a network. Parsing is strict:
//! a price must have the JSON type the API sends (a decimal string or a number), the market must
//! be BTC/USD wherever the answer says which market it is, the exchange's own time on the quote
//! is read where it puts one, and every price passes [`check_plausible`]. What all providers
//! share (rate limits, HTTP errors, HTML pages, empty, truncated or oversized bodies, error
//! bodies sent with 200) is decided once, in `answer`. Whether a stamped price is current is
//! decided when it arrives ([`Provider::read`], see [`price`]).

mod answer;
mod body;
mod error;
pub mod price;
mod values;

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

pub use answer::Answer;
pub use body::{BodyProblem, MAX_BODY_BYTES};
pub use error::ProviderError;
pub(crate) use error::short;
pub use price::Price;
pub use values::check_plausible;

/// What the poller knows about one provider, declared by the provider's own module as `SPEC`.
struct Spec {
    /// The name used in `PROVIDERS`, samples, logs, metrics and the fixtures' folders.
    name: &'static str,
    /// The variable that overrides the request URL: the name in capitals, then `_URL`.
    url_var: &'static str,
    /// The real request URL.
    default_url: &'static str,
    /// The price an answer reports and its time, before the shared plausibility rule.
    parse: fn(&Answer) -> Result<Price, ProviderError>,
}

/// Declares the providers from one table of `Variant => module` lines: the modules, the
/// [`Provider`] enum, [`Provider::ALL`] in table order and the dispatch to each module's `SPEC`.
macro_rules! providers {
    ($($(#[$doc:meta])* $variant:ident => $module:ident,)+) => {
        $(mod $module;)+

        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Provider {
            $($(#[$doc])* $variant,)+
        }

        impl Provider {
            /// Every provider, in table order: the default `PROVIDERS`.
            pub const ALL: [Provider; [$(stringify!($variant),)+].len()] =
                [$(Provider::$variant,)+];

            fn spec(self) -> &'static Spec {
                match self {
                    $(Provider::$variant => &$module::SPEC,)+
                }
            }
        }
    };
}

providers! {
    /// Coinbase Exchange ticker: `price` (a decimal string), stamped `time` (its last trade).
    Coinbase => coinbase,
    /// Kraken ticker: `result.XXBTZUSD.c[0]` (a decimal string); every error is HTTP 200; no
    /// time.
    Kraken => kraken,
    /// Bitstamp ticker: `last` (a decimal string), stamped `timestamp`.
    Bitstamp => bitstamp,
    /// Gemini public ticker: `last` (a decimal string), stamped `volume.timestamp`.
    Gemini => gemini,
    /// Bitfinex ticker: element 6 of an array of numbers; no time.
    Bitfinex => bitfinex,
    /// CoinGecko simple price: `bitcoin.usd` (a number), stamped `last_updated_at` (required).
    Coingecko => coingecko,
}

impl Provider {
    /// The name used in `PROVIDERS`, samples, logs and metrics.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The variable that overrides the request URL.
    pub fn url_var(self) -> &'static str {
        self.spec().url_var
    }

    /// The real request URL.
    pub fn default_url(self) -> &'static str {
        self.spec().default_url
    }

    /// The BTC price in USD that `answer` reports, with the exchange's time on it where it puts
    /// one, or why it reports none. Whatever the time.
    pub fn parse(self, answer: &Answer) -> Result<Price, ProviderError> {
        let price = (self.spec().parse)(answer)?;
        check_plausible(price.usd)?;
        Ok(price)
    }

    /// [`Provider::parse`], and only a current price for an answer that arrived at
    /// `received_at` ([`Price::current_at`]).
    pub fn read(self, answer: &Answer, received_at: SystemTime) -> Result<Price, ProviderError> {
        self.parse(answer)?.current_at(received_at)
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for provider in Provider::ALL {
            assert_eq!(provider.name().parse(), Ok(provider));
            assert!(provider.default_url().starts_with("https://"));
        }
        assert!("Coinbase".parse::<Provider>().is_err());
        assert!("binance".parse::<Provider>().is_err());
    }

    #[test]
    fn each_table_entry_is_named_consistently_and_once() {
        let mut names = HashSet::new();
        for provider in Provider::ALL {
            let name = provider.name();
            assert!(names.insert(name), "{name} twice");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase()),
                "{name}: lower-case letters only"
            );
            assert_eq!(provider.url_var(), format!("{}_URL", name.to_uppercase()));
            assert_eq!(provider.to_string(), name);
        }
        let err = "binance".parse::<Provider>().unwrap_err().to_string();
        let known = Provider::ALL.map(Provider::name).join(", ");
        assert_eq!(
            err,
            format!("unknown provider \"binance\" (known: {known})")
        );
    }
}
