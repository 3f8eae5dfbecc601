//! Coinbase Exchange ticker: `{"ask":"..","bid":"..","price":"63212.97","time":"..",...}`.
//! `time` is the last trade's, RFC 3339 in UTC with up to nine fractional digits: the price's
//! time. Errors are `{"message":".."}`. The answer does not name its product, so a wrong market
//! can only be caught by the plausibility rule and by comparing providers.

use serde::Deserialize;
use serde_json::Value;

use super::{Price, Spec};
use super::answer::{Answer, Failure, checked_json};
use super::error::{ProviderError, short, text_of};
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
    time: String,
}

fn parse(answer: &Answer) -> Result<Price, ProviderError> {
    let ticker: Ticker = decode(checked_json(answer, recognise_error)?)?;
    let time = humantime::parse_rfc3339(&ticker.time).map_err(|_| {
        ProviderError::UnexpectedJson(format!("time {:?} is not RFC 3339", short(&ticker.time)))
    })?;
    Ok(Price::stamped(ticker.price.0, time))
}

fn recognise_error(json: &Value) -> Option<Failure> {
    let message = text_of(json.get("message")?);
    if message.to_ascii_lowercase().contains("rate limit") {
        Some(Failure::RateLimited)
    } else {
        Some(Failure::Error(message))
    }
}
