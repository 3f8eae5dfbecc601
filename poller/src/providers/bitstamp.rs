//! Bitstamp ticker: `{"timestamp": "1790515990", "last": "85052.34", ..., "market_type": "SPOT"}`,
//! every number a string; `timestamp` (Unix seconds) is the ticker's time. Errors: `{"status": "error", "reason": .., "code": ..}` (rate limits
//! with code `400.002`, sent with 429 or 400) and `{"error": ".."}` (maintenance).

use serde::Deserialize;
use serde_json::Value;

use super::price::unix_seconds;
use super::{Price, Spec};
use super::answer::{Answer, Failure, checked_json};
use super::error::{ProviderError, short, text_of};
use super::values::{DecimalString, IntegerString, decode};

pub(super) const SPEC: Spec = Spec {
    name: "bitstamp",
    url_var: "BITSTAMP_URL",
    default_url: "https://www.bitstamp.net/api/v2/ticker/btcusd/",
    parse,
};

const RATE_LIMIT_CODE: &str = "400.002";

#[derive(Deserialize)]
struct Ticker {
    last: DecimalString,
    timestamp: IntegerString,
    /// Absent in older answers; `SPOT` in current ones.
    market_type: Option<String>,
    /// Sent by the all-pairs ticker, not by this one; checked if it ever appears.
    pair: Option<String>,
}

fn parse(answer: &Answer) -> Result<Price, ProviderError> {
    let ticker: Ticker = decode(checked_json(answer, recognise_error)?)?;
    if let Some(market_type) = ticker.market_type.filter(|m| m != "SPOT") {
        return Err(ProviderError::WrongMarket(format!(
            "market_type {}",
            short(&market_type)
        )));
    }
    if let Some(pair) = ticker.pair.filter(|p| p != "BTC/USD") {
        return Err(ProviderError::WrongMarket(format!("pair {}", short(&pair))));
    }
    let time = unix_seconds(ticker.timestamp.0)
        .ok_or_else(|| ProviderError::UnexpectedJson("timestamp out of range".to_owned()))?;
    Ok(Price::stamped(ticker.last.0, time))
}

fn recognise_error(json: &Value) -> Option<Failure> {
    if let Some(message) = json.get("error") {
        return Some(Failure::Error(text_of(message)));
    }
    if json.get("status")?.as_str()? != "error" {
        return None;
    }
    let reason = json.get("reason").map(text_of).unwrap_or_default();
    let code = json.get("code").and_then(Value::as_str);
    if code == Some(RATE_LIMIT_CODE) || reason.contains("rate limit") {
        Some(Failure::RateLimited)
    } else {
        Some(Failure::Error(reason))
    }
}
