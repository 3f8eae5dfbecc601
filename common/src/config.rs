//! Configuration read from environment variables once at start-up.
//!
//! Every service builds its typed configuration through [`Env`], so every binary reports a bad
//! value the same way: one line naming the variable and the value, and exit status 2.
//! An empty variable counts as unset, so `docker compose` files can pass `${VAR:-}` through.

use std::collections::HashMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use crate::logging::{LogConfig, LogFormat};

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
    vars: HashMap<String, String>,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// The raw value of `var`, `None` when unset or empty.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.vars
            .get(var)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `var` converted by `parse`, or `default` when unset.
    pub fn parse_with<T, E: Display>(
        &self,
        var: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
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
fn parse_duration_in(raw: &str, range: &RangeInclusive<Duration>) -> Result<Duration, String> {
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

/// `SHUTDOWN_DELAY`s that make sense: none, up to what a load balancer could need to notice.
const SHUTDOWN_DELAYS: RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(600);
/// `HEADER_TIMEOUT`'s default: a request head is a few hundred bytes, sent at once by any real
/// client; ten seconds allows for a very slow network while cutting off slow-header attacks.
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_TIMEOUTS: RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(300);
/// `IDLE_TIMEOUT`'s default: longer than the 60 s that nginx (the gateway, the ingress
/// controllers) keeps an idle upstream connection, so the proxy, not the service, closes it and
/// never sends a request on a connection the service is closing.
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
const IDLE_TIMEOUTS: RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(3600);
/// `MAX_CONNECTIONS`' default: far above what a replica behind a proxy with keep-alive needs,
/// low enough for the file-descriptor limit of a container (further capped by it at start-up).
const DEFAULT_MAX_CONNECTIONS: usize = 16_384;
const MAX_CONNECTIONS: RangeInclusive<usize> = 1..=1_000_000;

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

/// The settings every binary shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `LISTEN_ADDR`: where the HTTP server (API or health/metrics) listens.
    pub listen_addr: SocketAddr,
    /// `LOG_LEVEL` and `LOG_FORMAT`.
    pub log: LogConfig,
    /// How connections are served and drained.
    pub serving: ServingConfig,
}

/// How the server treats connections: the limits that keep slow or idle clients from holding
/// it, and how it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingConfig {
    /// `SHUTDOWN_DELAY`: how long `/readyz` answers 503 before the listener closes, so load
    /// balancers stop sending traffic before connections are refused.
    pub shutdown_delay: Duration,
    /// `HEADER_TIMEOUT`: once the first byte of a request arrives, its whole head must arrive
    /// within this, or the connection is closed.
    pub header_timeout: Duration,
    /// `IDLE_TIMEOUT`: a keep-alive connection waiting for its next request is closed after this.
    pub idle_timeout: Duration,
    /// `MAX_CONNECTIONS`: at most this many connections are open at once; at the limit the
    /// listener stops accepting and new connections wait in the kernel's backlog.
    pub max_connections: usize,
}

impl Default for ServingConfig {
    fn default() -> Self {
        Self {
            shutdown_delay: Duration::ZERO,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ServerConfig {
    pub fn from_env(env: &Env, default_listen_addr: SocketAddr) -> Result<Self, ConfigError> {
        Ok(Self {
            listen_addr: env.parse_or("LISTEN_ADDR", default_listen_addr)?,
            log: LogConfig {
                level: env.parse_with("LOG_LEVEL", log::LevelFilter::Info, parse_level)?,
                format: env.parse_or("LOG_FORMAT", LogFormat::Json)?,
            },
            serving: ServingConfig {
                shutdown_delay: env.duration_in(
                    "SHUTDOWN_DELAY",
                    ServingConfig::default().shutdown_delay,
                    SHUTDOWN_DELAYS,
                )?,
                header_timeout: env.duration_in(
                    "HEADER_TIMEOUT",
                    DEFAULT_HEADER_TIMEOUT,
                    HEADER_TIMEOUTS,
                )?,
                idle_timeout: env.duration_in(
                    "IDLE_TIMEOUT",
                    DEFAULT_IDLE_TIMEOUT,
                    IDLE_TIMEOUTS,
                )?,
                max_connections: env.parse_with(
                    "MAX_CONNECTIONS",
                    DEFAULT_MAX_CONNECTIONS,
                    |raw| parse_count_in(raw, &MAX_CONNECTIONS),
                )?,
            },
        })
    }
}

fn parse_count_in(raw: &str, range: &RangeInclusive<usize>) -> Result<usize, String> {
    match raw.parse() {
        Ok(count) if range.contains(&count) => Ok(count),
        _ => Err(format!(
            "must be a whole number from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

fn parse_level(raw: &str) -> Result<log::LevelFilter, &'static str> {
    match raw.to_ascii_lowercase().as_str() {
        "error" => Ok(log::LevelFilter::Error),
        "warn" => Ok(log::LevelFilter::Warn),
        "info" => Ok(log::LevelFilter::Info),
        "debug" => Ok(log::LevelFilter::Debug),
        "trace" => Ok(log::LevelFilter::Trace),
        _ => Err("expected one of error, warn, info, debug, trace"),
    }
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

    const DEFAULT_ADDR: &str = "0.0.0.0:8080";

    fn server(pairs: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
        ServerConfig::from_env(
            &Env::from_pairs(pairs.iter().copied()),
            DEFAULT_ADDR.parse().unwrap(),
        )
    }

    #[test]
    fn defaults_apply_when_unset_or_empty() {
        let expected = ServerConfig {
            listen_addr: DEFAULT_ADDR.parse().unwrap(),
            log: LogConfig {
                level: log::LevelFilter::Info,
                format: LogFormat::Json,
            },
            serving: ServingConfig {
                shutdown_delay: Duration::ZERO,
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(75),
                max_connections: 16_384,
            },
        };
        assert_eq!(server(&[]).unwrap(), expected);
        assert_eq!(
            server(&[("LISTEN_ADDR", ""), ("LOG_LEVEL", ""), ("LOG_FORMAT", "")]).unwrap(),
            expected
        );
    }

    #[test]
    fn values_are_parsed() {
        let config = server(&[
            ("LISTEN_ADDR", "127.0.0.1:9000"),
            ("LOG_LEVEL", "DEBUG"),
            ("LOG_FORMAT", "text"),
            ("SHUTDOWN_DELAY", "1500ms"),
            ("HEADER_TIMEOUT", "2s"),
            ("IDLE_TIMEOUT", "30s"),
            ("MAX_CONNECTIONS", "100"),
        ])
        .unwrap();
        assert_eq!(config.listen_addr, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(config.log.level, log::LevelFilter::Debug);
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(
            config.serving,
            ServingConfig {
                shutdown_delay: Duration::from_millis(1500),
                header_timeout: Duration::from_secs(2),
                idle_timeout: Duration::from_secs(30),
                max_connections: 100,
            }
        );
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        for (var, value) in [
            ("LISTEN_ADDR", "localhost"),
            ("LOG_LEVEL", "verbose"),
            ("LOG_FORMAT", "xml"),
            ("SHUTDOWN_DELAY", "soon"),
            ("SHUTDOWN_DELAY", "11m"),
            ("HEADER_TIMEOUT", "0s"),
            ("IDLE_TIMEOUT", "2h"),
            ("MAX_CONNECTIONS", "0"),
            ("MAX_CONNECTIONS", "-5"),
            ("MAX_CONNECTIONS", "many"),
        ] {
            let err = server(&[(var, value)]).unwrap_err();
            assert_eq!((err.var, err.value.as_str()), (var, value));
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid {var}=\"{value}\": ")),
                "{err}"
            );
        }
    }

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
