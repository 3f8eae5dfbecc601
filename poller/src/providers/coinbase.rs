//! Coinbase Exchange ticker: `{"ask":"..","bid":"..","price":"63212.97","time":"..",...}`.
//! Errors are `{"message":".."}`. The answer does not name its product, so a wrong market can
//! only be caught by the plausibility rule and by comparing providers.

use serde::Deserialize;
use serde_json::Value;

use super::Spec;
use super::answer::{Answer, Failure, checked_json};
use super::error::{ProviderError, text_of};
use super::values::{DecimalString, decode};

pub(super) const SPEC: Spec = Spec {
    name: "coinbase",
    url_var: "COINBASE_URL",
    default_url: "https://api.exchange.coinbase.com/products/BTC-USD/ticker",
    parse,
};

#[derive(Deserialize)]
struct Ticker {
    price: DecimalString,
}

fn parse(answer: &Answer) -> Result<f64, ProviderError> {
    let ticker: Ticker = decode(checked_json(answer, recognise_error)?)?;
    Ok(ticker.price.0)
}

fn recognise_error(json: &Value) -> Option<Failure> {
    let message = text_of(json.get("message")?);
    if message.to_ascii_lowercase().contains("rate limit") {
        Some(Failure::RateLimited)
    } else {
        Some(Failure::Error(message))
    }
}
