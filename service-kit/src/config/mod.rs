//! Configuration read from environment variables once at start-up: the settings more than one
//! binary reads (`AVERAGE_WINDOW`, `BASE_PATH`), and in [`server`] those every binary shares.
//!
//! Every service builds its typed configuration through [`Env`] (re-exported from env-config),
//! so every binary reports a bad value the same way: one line naming the variable and the value,
//! and exit status 2.

mod server;

pub use server::{ServerConfig, ServingConfig};

use std::ops::RangeInclusive;
use std::time::Duration;

// Where values come from and how a refused one is reported live in a crate of their own, which
// price-store reads `REDIS_URL` with too, so the storage crate needs nothing of the server's.
use env_config::parse_duration_in;
pub use env_config::{ConfigError, Env};

/// `AVERAGE_WINDOW`'s default: api-a averages over it, the poller keeps that much history.
pub const DEFAULT_AVERAGE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// The `AVERAGE_WINDOW`s either side accepts: from a second to a day.
pub const AVERAGE_WINDOWS: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(24 * 3600);

/// `AVERAGE_WINDOW`, read the same way by api-a and the poller (pod A's two containers must
/// agree on it): a whole number of seconds, since `/average` reports it as `window_seconds`.
pub fn average_window(env: &Env) -> Result<Duration, ConfigError> {
    env.parse_with("AVERAGE_WINDOW", DEFAULT_AVERAGE_WINDOW, |raw| {
        let window = parse_duration_in(raw, &AVERAGE_WINDOWS)?;
        if window.subsec_nanos() != 0 {
            return Err("must be a whole number of seconds (e.g. 10m)".to_owned());
        }
        Ok(window)
    })
}

/// `BASE_PATH`: the prefix an API's routes are served under, e.g. `/service2`; empty by default.
/// A trailing slash is dropped, so `/` means no prefix.
pub fn base_path(env: &Env) -> Result<String, ConfigError> {
    env.parse_with("BASE_PATH", String::new(), |raw| {
        let trimmed = raw.trim_end_matches('/');
        if !raw.starts_with('/') {
            Err("must start with '/', e.g. /service1")
        } else if trimmed.contains("//") {
            Err("must not contain empty segments ('//')")
        } else if !trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b))
        {
            Err("may only contain letters, digits, '/', '-', '.', '_' and '~'")
        } else {
            Ok(trimmed.to_owned())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_window_is_whole_seconds_from_one_second_to_a_day() {
        let parse = |raw: &str| average_window(&Env::from_pairs([("AVERAGE_WINDOW", raw)]));
        assert_eq!(
            average_window(&Env::from_pairs([])),
            Ok(DEFAULT_AVERAGE_WINDOW)
        );
        assert_eq!(parse("1h 30s"), Ok(Duration::from_secs(3630)));
        assert_eq!(parse("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse("24h"), Ok(Duration::from_secs(24 * 3600)));
        for bad in [
            "10500ms",
            "1500ms",
            "0s",
            "999ms",
            "25h",
            "ten minutes",
            "18446744073709551615s",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!((err.var, err.value.as_str()), ("AVERAGE_WINDOW", bad));
        }
    }

    #[test]
    fn base_path_is_validated_and_normalised() {
        let parse = |raw: &str| base_path(&Env::from_pairs([("BASE_PATH", raw)]));
        assert_eq!(base_path(&Env::from_pairs([])).unwrap(), "");
        assert_eq!(parse("/service2").unwrap(), "/service2");
        assert_eq!(parse("/service2/").unwrap(), "/service2");
        assert_eq!(parse("/a/b-c").unwrap(), "/a/b-c");
        assert_eq!(parse("/").unwrap(), "");
        for bad in ["service2", "/a//b", "/a b", "/a?b"] {
            assert_eq!(parse(bad).unwrap_err().var, "BASE_PATH", "{bad}");
        }
    }
}
