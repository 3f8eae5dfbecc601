//! Kraken ticker: `{"error":[],"result":{"XXBTZUSD":{"c":["82998.90000","0.00603612"],...}}}`.
//! Every error, rate limits included, comes as HTTP 200 with a non-empty `error` array, so the
//! array is checked before anything else. No time anywhere in the answer.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Price, Spec};
use super::answer::{Answer, Failure, checked_json};
use super::error::{ProviderError, short, text_of};
use super::values::{DecimalString, decode};

pub(super) const SPEC: Spec = Spec {
    name: "kraken",
    url_var: "KRAKEN_URL",
    default_url: "https://api.kraken.com/0/public/Ticker?pair=XBTUSD",
    parse,
};

/// The result keys Kraken uses for BTC/USD (it answers `XXBTZUSD` when asked for `XBTUSD`).
const BTC_USD_PAIRS: [&str; 2] = ["XXBTZUSD", "XBTUSD"];

#[derive(Deserialize)]
struct Ticker {
    result: BTreeMap<String, Pair>,
}

#[derive(Deserialize)]
struct Pair {
    /// Last trade: `[price, lot volume]`.
    c: (DecimalString, DecimalString),
}

fn parse(answer: &Answer) -> Result<Price, ProviderError> {
    let ticker: Ticker = decode(checked_json(answer, recognise_error)?)?;
    let mut pairs = ticker.result.into_iter();
    match (pairs.next(), pairs.next()) {
        (Some((name, pair)), None) if BTC_USD_PAIRS.contains(&name.as_str()) => {
            Ok(Price::unstamped(pair.c.0.0))
        }
        (Some((name, _)), None) => {
            Err(ProviderError::WrongMarket(format!("pair {}", short(&name))))
        }
        (None, _) => Err(ProviderError::WrongMarket(
            "no pair in the result".to_owned(),
        )),
        (Some(_), Some(_)) => Err(ProviderError::WrongMarket(
            "more than one pair in the result".to_owned(),
        )),
    }
}

fn recognise_error(json: &Value) -> Option<Failure> {
    let errors = json.get("error")?.as_array()?;
    if errors.is_empty() {
        return None;
    }
    let messages: Vec<String> = errors.iter().map(text_of).collect();
    let rate_limited = messages
        .iter()
        .any(|m| m.contains("Too many requests") || m.contains("Rate limit"));
    if rate_limited {
        Some(Failure::RateLimited)
    } else {
        Some(Failure::Error(messages.join("; ")))
    }
}
