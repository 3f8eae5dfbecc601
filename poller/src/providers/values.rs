//! The values inside an answer: decoding it into a provider's own type, the strict decimal
//! strings most exchanges send, and the plausibility rule every price passes.

use price_store::rules::is_plausible;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::{ProviderError, short};

/// `json` as the provider's answer type; a missing field or a wrong type is an error.
pub(crate) fn decode<T: DeserializeOwned>(json: Value) -> Result<T, ProviderError> {
    serde_json::from_value(json)
        .map_err(|err| ProviderError::UnexpectedJson(short(&err.to_string())))
}

/// The shared plausibility rule: finite, positive and within
/// [`price_store::rules::PLAUSIBLE_USD`], the range a stored sample's reader checks too.
pub fn check_plausible(price: f64) -> Result<f64, ProviderError> {
    if is_plausible(price) {
        Ok(price)
    } else {
        Err(ProviderError::Implausible(price))
    }
}

/// A number the API sends as a JSON string of a plain decimal: `"63212.97"`, `"20800"`,
/// `"-1.5"`. No exponent, no `NaN` or `inf`, no spaces, no `+`: those are not what these APIs
/// send, so they mean something is wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DecimalString(pub f64);

impl<'de> Deserialize<'de> for DecimalString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let unsigned = text.strip_prefix('-').unwrap_or(&text);
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if digits(whole) && digits(fraction) {
            text.parse()
                .map(DecimalString)
                .map_err(|_| D::Error::custom("unparsable decimal"))
        } else {
            Err(D::Error::custom(format!(
                "expected a decimal string, got {:?}",
                short(&text)
            )))
        }
    }
}

/// A whole number the API sends as a JSON string of digits: `"1790515990"`. Nothing else: no
/// sign, no fraction, no spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IntegerString(pub u64);

impl<'de> Deserialize<'de> for IntegerString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse()
                .map(IntegerString)
                .map_err(|_| D::Error::custom("integer out of range"))
        } else {
            Err(D::Error::custom(format!(
                "expected a string of digits, got {:?}",
                short(&text)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_are_plain_decimals_only() {
        let parse = |json: &str| serde_json::from_str::<DecimalString>(json).map(|d| d.0);
        assert_eq!(parse(r#""63212.97""#).unwrap(), 63212.97);
        assert_eq!(parse(r#""20800""#).unwrap(), 20800.0);
        assert_eq!(parse(r#""82998.90000""#).unwrap(), 82998.9);
        assert_eq!(parse(r#""-1.5""#).unwrap(), -1.5);
        for bad in [
            r#""""#,
            r#""NaN""#,
            r#""inf""#,
            r#""1e5""#,
            r#""+1""#,
            r#"" 1""#,
            r#""1.""#,
            r#"".5""#,
            r#""1.2.3""#,
            r#""1,5""#,
            r#""--1""#,
            "63212.97",
            "null",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integer_strings_are_digits_only() {
        let parse = |json: &str| serde_json::from_str::<IntegerString>(json).map(|d| d.0);
        assert_eq!(parse(r#""1790515990""#).unwrap(), 1_790_515_990);
        for bad in [
            r#""""#,
            r#""-1""#,
            r#""1.5""#,
            r#"" 1""#,
            r#""1e9""#,
            r#""99999999999999999999999""#,
            "1790515990",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
