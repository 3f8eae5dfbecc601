//! The settings every binary shares: where it listens, how it logs, how it treats connections
//! (limits and shutdown) and how many threads run it.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::{ConfigError, Env};
use crate::logging::{LogConfig, LogFormat};

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
/// `WRITE_TIMEOUT`'s default: a response of a few hundred kilobytes at most reaches any client
/// that reads in far less; one that does not read is dropped after this.
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUTS: RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(300);
/// `DRAIN_TIMEOUT`'s default: every answer is ready within milliseconds and a response is
/// written within `WRITE_TIMEOUT`, so this only bounds what a stuck client would hold; with
/// `SHUTDOWN_DELAY` it must stay within the pod's termination grace period.
const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
const DRAIN_TIMEOUTS: RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(600);
/// `TCP_USER_TIMEOUT`'s default: the same as `WRITE_TIMEOUT`, so that a response the client does
/// not take is given up in about that time, whether it waits in our buffers or the kernel's;
/// far beyond any retransmission a live peer needs, far before the kernel's own 15 minutes.
const DEFAULT_TCP_USER_TIMEOUT: Duration = DEFAULT_WRITE_TIMEOUT;
const TCP_USER_TIMEOUTS: RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(600);
const MAX_CONNECTIONS: RangeInclusive<usize> = 1..=1_000_000;
/// `TOKIO_WORKER_THREADS`s that make sense: one, up to far more cores than a replica gets.
const WORKER_THREADS: RangeInclusive<usize> = 1..=1024;

/// The settings every binary shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `LISTEN_ADDR`: where the HTTP server (API or health/metrics) listens.
    pub listen_addr: SocketAddr,
    /// `LOG_LEVEL` and `LOG_FORMAT`.
    pub log: LogConfig,
    /// How connections are served and drained.
    pub serving: ServingConfig,
    /// `TOKIO_WORKER_THREADS`: the threads that run the service's tasks; `None`: one per CPU the
    /// process may use (see [`crate::runtime`]).
    pub worker_threads: Option<usize>,
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
    /// `WRITE_TIMEOUT`: a response not handed over to the kernel within this of its first write
    /// (the client does not read it) closes the connection.
    pub write_timeout: Duration,
    /// `DRAIN_TIMEOUT`: after `SHUTDOWN_DELAY`, how long in-flight requests have to finish before
    /// the connections left are closed.
    pub drain_timeout: Duration,
    /// `TCP_USER_TIMEOUT`: a connection whose sent data stays unacknowledged (a peer that
    /// vanished), or unread behind a closed window, for this long is dropped by the kernel.
    pub tcp_user_timeout: Duration,
    /// `MAX_CONNECTIONS`: at most this many connections are open at once; at the limit the
    /// listener stops accepting and new connections wait in the kernel's backlog. `None`: what
    /// the memory limit allows (see [`crate::limits`]).
    pub max_connections: Option<usize>,
}

impl Default for ServingConfig {
    fn default() -> Self {
        Self {
            shutdown_delay: Duration::ZERO,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            tcp_user_timeout: DEFAULT_TCP_USER_TIMEOUT,
            max_connections: None,
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
                write_timeout: env.duration_in(
                    "WRITE_TIMEOUT",
                    DEFAULT_WRITE_TIMEOUT,
                    WRITE_TIMEOUTS,
                )?,
                drain_timeout: env.duration_in(
                    "DRAIN_TIMEOUT",
                    DEFAULT_DRAIN_TIMEOUT,
                    DRAIN_TIMEOUTS,
                )?,
                tcp_user_timeout: env.duration_in(
                    "TCP_USER_TIMEOUT",
                    DEFAULT_TCP_USER_TIMEOUT,
                    TCP_USER_TIMEOUTS,
                )?,
                max_connections: env.parse_with("MAX_CONNECTIONS", None, |raw| {
                    parse_count_in(raw, &MAX_CONNECTIONS).map(Some)
                })?,
            },
            worker_threads: env.parse_with("TOKIO_WORKER_THREADS", None, |raw| {
                parse_count_in(raw, &WORKER_THREADS).map(Some)
            })?,
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
                write_timeout: Duration::from_secs(10),
                drain_timeout: Duration::from_secs(10),
                tcp_user_timeout: Duration::from_secs(10),
                max_connections: None,
            },
            worker_threads: None,
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
            ("WRITE_TIMEOUT", "3s"),
            ("DRAIN_TIMEOUT", "0s"),
            ("TCP_USER_TIMEOUT", "5s"),
            ("MAX_CONNECTIONS", "100"),
            ("TOKIO_WORKER_THREADS", "1"),
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
                write_timeout: Duration::from_secs(3),
                drain_timeout: Duration::ZERO,
                tcp_user_timeout: Duration::from_secs(5),
                max_connections: Some(100),
            }
        );
        assert_eq!(config.worker_threads, Some(1));
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
            ("WRITE_TIMEOUT", "50ms"),
            ("DRAIN_TIMEOUT", "11m"),
            ("TCP_USER_TIMEOUT", "500ms"),
            ("MAX_CONNECTIONS", "0"),
            ("MAX_CONNECTIONS", "-5"),
            ("MAX_CONNECTIONS", "many"),
            ("TOKIO_WORKER_THREADS", "0"),
            ("TOKIO_WORKER_THREADS", "1025"),
            ("TOKIO_WORKER_THREADS", "two"),
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
}
