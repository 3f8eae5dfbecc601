//! Configuration read from environment variables once at start-up: where the values come from
//! ([`Env`]: the process environment, or pairs in tests) and how a refused one is reported
//! ([`ConfigError`]: one line naming the variable and the value, which every binary turns into
//! exit status 2). An empty variable counts as unset, so `docker compose` files can pass
//! `${VAR:-}` through. It knows no setting: each crate that owns one (service-kit for the
//! server's, price-store for `REDIS_URL`) reads it through [`Env`], so none of them depends on
//! another for this.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

/// A variable that is set but cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(var: &'static str, value: &str, reason: impl Display) -> Self {
        Self {
            var,
            value: value.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// Where configuration values come from: the process environment, or a map in tests.
pub struct Env {
    /// Each variable's value, or for a value that is not UTF-8 the value with its invalid bytes
    /// replaced, to show in the error.
    vars: HashMap<String, Result<String, String>>,
}

impl Env {
    /// The process environment. A variable whose name is not UTF-8 is none of ours and is
    /// skipped; one whose value is not UTF-8 is an error when it is read.
    pub fn from_process() -> Self {
        Self::from_os(std::env::vars_os())
    }

    fn from_os(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let vars = vars
            .into_iter()
            .filter_map(|(name, value)| {
                let name = name.into_string().ok()?;
                let value = value
                    .into_string()
                    .map_err(|raw| raw.to_string_lossy().into_owned());
                Some((name, value))
            })
            .collect();
        Self { vars }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Ok(v.to_owned())))
                .collect(),
        }
    }

    /// The raw value of `var`, `None` when unset or empty; an error when it is not UTF-8.
    pub fn get(&self, var: &'static str) -> Result<Option<&str>, ConfigError> {
        match self.vars.get(var) {
            None => Ok(None),
            Some(Ok(value)) => Ok(Some(value.as_str()).filter(|v| !v.is_empty())),
            Some(Err(lossy)) => Err(ConfigError::new(var, lossy, "not valid UTF-8")),
        }
    }

    /// `var` converted by `parse`, or `default` when unset.
    pub fn parse_with<T, E: Display>(
        &self,
        var: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, ConfigError> {
        match self.get(var)? {
            None => Ok(default),
            Some(raw) => parse(raw).map_err(|e| ConfigError::new(var, raw, e)),
        }
    }

    /// `var` parsed with its type's `FromStr`, or `default` when unset.
    pub fn parse_or<T>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.parse_with(var, default, str::parse)
    }

    /// A human-readable duration such as `500ms`, `10s` or `10m` within `range`, or `default`
    /// when unset.
    pub fn duration_in(
        &self,
        var: &'static str,
        default: Duration,
        range: RangeInclusive<Duration>,
    ) -> Result<Duration, ConfigError> {
        self.parse_with(var, default, |raw| parse_duration_in(raw, &range))
    }
}

/// `raw` as a duration within `range`, or why it is not one.
pub fn parse_duration_in(raw: &str, range: &RangeInclusive<Duration>) -> Result<Duration, String> {
    let value = humantime::parse_duration(raw).map_err(|e| e.to_string())?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "must be between {} and {}",
            humantime::format_duration(*range.start()),
            humantime::format_duration(*range.end())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_outside_their_range_are_refused_with_the_range() {
        let env = Env::from_pairs([("D", "2s")]);
        let range = Duration::from_millis(100)..=Duration::from_secs(1);
        let err = env
            .duration_in("D", Duration::ZERO, range.clone())
            .unwrap_err();
        assert_eq!(err.reason, "must be between 100ms and 1s");
        let env = Env::from_pairs([("D", "1s")]);
        assert_eq!(
            env.duration_in("D", Duration::ZERO, range.clone()),
            Ok(Duration::from_secs(1))
        );
        let unset = Env::from_pairs([]);
        assert_eq!(
            unset.duration_in("D", Duration::from_millis(300), range),
            Ok(Duration::from_millis(300))
        );
    }

    #[test]
    fn a_value_that_is_not_utf8_is_an_error_naming_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let env = Env::from_os([
            (
                "BASE_PATH".into(),
                OsString::from_vec(b"/service\xff".to_vec()),
            ),
            (OsString::from_vec(b"\xffNAME".to_vec()), "skipped".into()),
            ("PATH".into(), "/bin".into()),
        ]);
        let err = env.get("BASE_PATH").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid BASE_PATH=\"/service\u{fffd}\": not valid UTF-8"
        );
        assert_eq!(env.get("PATH"), Ok(Some("/bin")));
    }
}
