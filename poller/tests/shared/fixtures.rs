//! The real provider bodies of `tests/fixtures/providers/`, and for each provider an `ok` body
//! whose price can be rewritten. Shared by the parser tests and the whole-poller tests (each
//! includes this file), so a new provider's test data is one row of [`OK_BODIES`].

use std::path::{Path, PathBuf};

use poller::providers::Provider;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers")
}

/// The body in `file`, a path below `tests/fixtures/providers/`.
pub fn fixture(file: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(file)).unwrap()
}

/// An `ok` body of a provider, the exact text of its price in it, and that text with `{}`
/// for the price.
pub struct OkBody {
    pub provider: Provider,
    pub file: &'static str,
    pub price_text: &'static str,
    pub template: &'static str,
}

pub const OK_BODIES: [OkBody; 6] = [
    OkBody {
        provider: Provider::Coinbase,
        file: "coinbase/ok.json",
        price_text: r#""price":"63212.97""#,
        template: r#""price":"{}""#,
    },
    OkBody {
        provider: Provider::Kraken,
        file: "kraken/ok.json",
        price_text: r#""c":["82998.90000""#,
        template: r#""c":["{}""#,
    },
    OkBody {
        provider: Provider::Bitstamp,
        file: "bitstamp/ok.json",
        price_text: r#""last": "85052.34""#,
        template: r#""last": "{}""#,
    },
    OkBody {
        provider: Provider::Gemini,
        file: "gemini/ok.json",
        price_text: r#""last":"78531.37000""#,
        template: r#""last":"{}""#,
    },
    OkBody {
        provider: Provider::Bitfinex,
        file: "bitfinex/ok.json",
        price_text: "-0.00957513,79026,",
        template: "-0.00957513,{},",
    },
    OkBody {
        provider: Provider::Coingecko,
        file: "coingecko/ok.json",
        price_text: r#""usd":67187.3358936566"#,
        template: r#""usd":{}"#,
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
}
