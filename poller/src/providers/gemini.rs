//! Gemini public ticker:
//! `{"bid":"..","ask":"..","last":"78531.37000","volume":{"BTC":"..","USD":"..","timestamp":..}}`.
//! The `volume` object is keyed by the pair's two currencies, which is how a wrong market shows;
//! its `timestamp` (Unix milliseconds, aligned to the minute) is the only time in the answer.
//! Errors: `{"result":"error","reason":"..","message":".."}`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::price::unix_millis;
use super::{Price, Spec};
use super::answer::{Answer, Failure, checked_json};
use super::error::{ProviderError, text_of};
use super::values::{DecimalString, decode};

pub(super) const SPEC: Spec = Spec {
    name: "gemini",
    url_var: "GEMINI_URL",
    default_url: "https://api.gemini.com/v1/pubticker/btcusd",
    parse,
};

const RATE_LIMIT_REASONS: [&str; 3] = ["RateLimit", "RateLimited", "Too Many Requests"];

#[derive(Deserialize)]
struct Ticker {
    last: DecimalString,
    volume: Map<String, Value>,
}

fn parse(answer: &Answer) -> Result<Price, ProviderError> {
    let ticker: Ticker = decode(checked_json(answer, recognise_error)?)?;
    if !(ticker.volume.contains_key("BTC") && ticker.volume.contains_key("USD")) {
        return Err(ProviderError::WrongMarket(
            "the volume is not in BTC and USD".to_owned(),
        ));
    }
    let time = ticker
        .volume
        .get("timestamp")
        .and_then(Value::as_u64)
        .and_then(unix_millis)
        .ok_or_else(|| {
            ProviderError::UnexpectedJson("no volume.timestamp in milliseconds".to_owned())
        })?;
    Ok(Price::stamped(ticker.last.0, time))
}

fn recognise_error(json: &Value) -> Option<Failure> {
    if json.get("result")?.as_str()? != "error" {
        return None;
    }
    let reason = json.get("reason").map(text_of).unwrap_or_default();
    if RATE_LIMIT_REASONS.contains(&reason.as_str()) {
        return Some(Failure::RateLimited);
    }
    let message = json.get("message").map(text_of).unwrap_or_default();
    Some(Failure::Error(format!("{reason}: {message}")))
}
