//! The real provider bodies of `tests/fixtures/providers/`, and for each provider an `ok` body
//! whose price can be rewritten. Shared by the parser tests and the whole-poller tests (each
//! includes this file), so a new provider's test data is one row of [`OK_BODIES`].

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use poller::providers::Provider;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers")
}

/// The body in `file`, a path below `tests/fixtures/providers/`.
pub fn fixture(file: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(file)).unwrap()
}

/// An `ok` body of a provider, the exact text of its price in it, and that text with `{}`
/// for the price; for a provider that stamps its answers, the same for the time.
pub struct OkBody {
    pub provider: Provider,
    pub file: &'static str,
    pub price_text: &'static str,
    pub template: &'static str,
    pub stamp: Option<Stamp>,
}

/// Where an `ok` body holds its time, and how the provider writes one.
pub struct Stamp {
    pub text: &'static str,
    pub write: fn(SystemTime) -> String,
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

pub const OK_BODIES: [OkBody; 6] = [
    OkBody {
        provider: Provider::Coinbase,
        file: "coinbase/ok.json",
        price_text: r#""price":"63212.97""#,
        template: r#""price":"{}""#,
        stamp: Some(Stamp {
            text: r#""time":"2026-06-19T16:43:33.016274911Z""#,
            write: |at| format!(r#""time":"{}""#, humantime::format_rfc3339_nanos(at)),
        }),
    },
    OkBody {
        provider: Provider::Kraken,
        file: "kraken/ok.json",
        price_text: r#""c":["82998.90000""#,
        template: r#""c":["{}""#,
        stamp: None,
    },
    OkBody {
        provider: Provider::Bitstamp,
        file: "bitstamp/ok.json",
        price_text: r#""last": "85052.34""#,
        template: r#""last": "{}""#,
        stamp: Some(Stamp {
            text: r#""timestamp": "1790515990""#,
            write: |at| format!(r#""timestamp": "{}""#, unix_seconds(at)),
        }),
    },
    OkBody {
        provider: Provider::Gemini,
        file: "gemini/ok.json",
        price_text: r#""last":"78531.37000""#,
        template: r#""last":"{}""#,
        // Aligned to the minute, as Gemini's are.
        stamp: Some(Stamp {
            text: r#""timestamp":1788856560000"#,
            write: |at| format!(r#""timestamp":{}"#, unix_seconds(at) / 60 * 60_000),
        }),
    },
    OkBody {
        provider: Provider::Bitfinex,
        file: "bitfinex/ok.json",
        price_text: "-0.00957513,79026,",
        template: "-0.00957513,{},",
        stamp: None,
    },
    OkBody {
        provider: Provider::Coingecko,
        file: "coingecko/ok-last-updated.json",
        price_text: r#""usd":67187.3358936566"#,
        template: r#""usd":{}"#,
        stamp: Some(Stamp {
            text: r#""last_updated_at":1711356300"#,
            write: |at| format!(r#""last_updated_at":{}"#, unix_seconds(at)),
        }),
    },
];

impl OkBody {
    /// `provider`'s row.
    pub fn of(provider: Provider) -> &'static OkBody {
        OK_BODIES
            .iter()
            .find(|ok| ok.provider == provider)
            .unwrap_or_else(|| panic!("{provider} has no row in OK_BODIES: add one"))
    }

    /// The body as it is.
    pub fn body(&self) -> String {
        fixture(self.file)
    }

    /// The body with `price` written in place of its price, exactly as given (so it can be
    /// any text: `1e5`, `NaN`, `"78754"`).
    pub fn with_price(&self, price: &str) -> String {
        let body = self.body();
        assert_eq!(
            body.matches(self.price_text).count(),
            1,
            "{}: {}",
            self.file,
            self.price_text
        );
        body.replace(self.price_text, &self.template.replace("{}", price))
    }

    /// The body with `price`, stamped `at` where the provider stamps its answers.
    pub fn stamped(&self, price: &str, at: SystemTime) -> String {
        let body = self.with_price(price);
        match &self.stamp {
            None => body,
            Some(stamp) => {
                assert_eq!(body.matches(stamp.text).count(), 1, "{}", self.file);
                body.replace(stamp.text, &(stamp.write)(at))
            }
        }
    }

    /// The body with `price`, as the exchange would answer it now.
    pub fn current(&self, price: &str) -> String {
        self.stamped(price, SystemTime::now())
    }

    /// The price in the body as it is, as the provider writes it.
    pub fn original_price(&self) -> String {
        let (before, after) = self.template.split_once("{}").unwrap();
        let start = self.price_text.strip_prefix(before).unwrap();
        start.strip_suffix(after).unwrap().to_owned()
    }
}
