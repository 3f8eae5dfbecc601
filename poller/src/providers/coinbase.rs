//! Coinbase Exchange ticker: `{"ask":"..","bid":"..","price":"63212.97","time":"..",...}`.
//! Errors are `{"message":".."}`. The answer does not name its product, so a wrong market can
//! only be caught by the plausibility rule and by comparing providers.

use serde::Deserialize;
use serde_json::Value;

use super::{Answer, DecimalString, Failure, ProviderError, checked_json, decode, text_of};

pub const DEFAULT_URL: &str = "https://api.exchange.coinbase.com/products/BTC-USD/ticker";

#[derive(Deserialize)]
struct Ticker {
    price: DecimalString,
}

pub fn parse(answer: &Answer) -> Result<f64, ProviderError> {
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
