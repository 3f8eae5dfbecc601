//! Bitfinex ticker: an array of numbers,
//! `[BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW]`,
//! sometimes with extra trailing elements (tolerated). Errors are arrays too,
//! `["error", 10020, "symbol: invalid"]`, or the documented object `{"error": "ERR_RATE_LIMIT"}`.
//! No time in the answer.

use serde_json::Value;

use super::{Price, Spec};
use super::answer::{Answer, Failure, checked_json};
use super::error::{ProviderError, text_of};
use super::values::decode;

pub(super) const SPEC: Spec = Spec {
    name: "bitfinex",
    url_var: "BITFINEX_URL",
    default_url: "https://api-pub.bitfinex.com/v2/ticker/tBTCUSD",
    parse,
};

const DOCUMENTED_FIELDS: usize = 10;
const LAST_PRICE: usize = 6;
const RATE_LIMIT_CODE: u64 = 11010;

fn parse(answer: &Answer) -> Result<Price, ProviderError> {
    let fields: Vec<Value> = decode(checked_json(answer, recognise_error)?)?;
    if fields.len() < DOCUMENTED_FIELDS {
        return Err(ProviderError::UnexpectedJson(format!(
            "{} elements instead of at least {DOCUMENTED_FIELDS}",
            fields.len()
        )));
    }
    let numbers: Option<Vec<f64>> = fields[..DOCUMENTED_FIELDS]
        .iter()
        .map(Value::as_f64)
        .collect();
    match numbers {
        Some(numbers) => Ok(Price::unstamped(numbers[LAST_PRICE])),
        None => Err(ProviderError::UnexpectedJson(
            "a ticker element is not a number".to_owned(),
        )),
    }
}

fn recognise_error(json: &Value) -> Option<Failure> {
    if let Some(message) = json.get("error") {
        return Some(match message.as_str() {
            Some("ERR_RATE_LIMIT") => Failure::RateLimited,
            _ => Failure::Error(text_of(message)),
        });
    }
    let [tag, code, message, ..] = json.as_array()?.as_slice() else {
        return None;
    };
    if tag.as_str()? != "error" {
        return None;
    }
    if code.as_u64() == Some(RATE_LIMIT_CODE) {
        Some(Failure::RateLimited)
    } else {
        Some(Failure::Error(format!(
            "{} {}",
            text_of(code),
            text_of(message)
        )))
    }
}
