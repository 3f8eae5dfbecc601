//! CoinGecko simple price: `{"bitcoin":{"usd":67187.3358936566,"last_updated_at":1711356300}}`,
//! the price a JSON number (sometimes an integer), `last_updated_at` (Unix seconds) there when
//! the URL asks for it. The poller requires it (the default URL asks): without a time, a frozen
//! CoinGecko cache could not be told from a live one, so an answer without it is no price. An unknown coin or currency is HTTP 200 with
//! `{}` or `{"bitcoin":{}}`. Errors: `{"error":".."}` and
//! `{"status":{"error_code":429,"error_message":".."}}`.

use serde::Deserialize;
use serde_json::Value;

use super::price::unix_seconds;
use super::{Price, Spec};
use super::answer::{Answer, Failure, checked_json};
use super::error::{ProviderError, text_of};
use super::values::decode;

pub(super) const SPEC: Spec = Spec {
    name: "coingecko",
    url_var: "COINGECKO_URL",
    default_url: "https://api.coingecko.com/api/v3/simple/price?ids=bitcoin&vs_currencies=usd&include_last_updated_at=true",
    parse,
};

#[derive(Deserialize)]
struct Prices {
    bitcoin: Option<Coin>,
}

#[derive(Deserialize)]
struct Coin {
    usd: Option<f64>,
    last_updated_at: Option<u64>,
}

/// Why an answer without `last_updated_at` is refused.
const NO_TIME: &str = "no last_updated_at (the URL must ask for include_last_updated_at=true)";

fn parse(answer: &Answer) -> Result<Price, ProviderError> {
    let prices: Prices = decode(checked_json(answer, recognise_error)?)?;
    let coin = prices
        .bitcoin
        .ok_or_else(|| ProviderError::WrongMarket("no bitcoin entry".to_owned()))?;
    let usd = coin
        .usd
        .ok_or_else(|| ProviderError::WrongMarket("no usd price for bitcoin".to_owned()))?;
    let seconds = coin
        .last_updated_at
        .ok_or_else(|| ProviderError::UnexpectedJson(NO_TIME.to_owned()))?;
    unix_seconds(seconds)
        .map(|time| Price::stamped(usd, time))
        .ok_or_else(|| ProviderError::UnexpectedJson("last_updated_at out of range".into()))
}

fn recognise_error(json: &Value) -> Option<Failure> {
    if let Some(message) = json.get("error") {
        return Some(Failure::Error(text_of(message)));
    }
    let status = json.get("status")?;
    let code = status.get("error_code")?;
    if code.as_u64() == Some(429) {
        return Some(Failure::RateLimited);
    }
    let message = status.get("error_message").map(text_of).unwrap_or_default();
    Some(Failure::Error(format!("{} {message}", text_of(code))))
}
