use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use service_kit::config::{ConfigError, Env, ServerConfig, average_window, base_path};

const DEFAULT_LISTEN_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080);
const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(30);
/// Ages from which a price can sensibly be called stale: longer than zero, at most a day.
const STALE_AFTERS: RangeInclusive<Duration> =
    Duration::from_millis(1)..=Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub server: ServerConfig,
    /// `BASE_PATH`: prefix of the API's routes, e.g. `/service1`.
    pub base_path: String,
    /// `REDIS_URL`: the Redis the poller writes samples into.
    pub redis_url: String,
    /// `AVERAGE_WINDOW`: how far back `/average` looks; a whole number of seconds.
    pub average_window: Duration,
    /// `STALE_AFTER`: age from which `/current` flags the latest price as stale.
    pub stale_after: Duration,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, DEFAULT_LISTEN_ADDR)?,
            base_path: base_path(env)?,
            redis_url: price_store::redis_url(env)?,
            average_window: average_window(env)?,
            stale_after: env.duration_in("STALE_AFTER", DEFAULT_STALE_AFTER, STALE_AFTERS)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_apply_when_unset() {
        let config = config(&[]).unwrap();
        assert_eq!(config.server.listen_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(config.base_path, "");
        assert_eq!(config.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(config.average_window, Duration::from_secs(600));
        assert_eq!(config.stale_after, Duration::from_secs(30));
    }

    #[test]
    fn values_are_parsed() {
        let config = config(&[
            ("BASE_PATH", "/service1/"),
            ("REDIS_URL", "redis://10.0.0.5:6380/1"),
            ("AVERAGE_WINDOW", "1h 30s"),
            ("STALE_AFTER", "1500ms"),
        ])
        .unwrap();
        assert_eq!(config.base_path, "/service1");
        assert_eq!(config.redis_url, "redis://10.0.0.5:6380/1");
        assert_eq!(config.average_window, Duration::from_secs(3630));
        assert_eq!(config.stale_after, Duration::from_millis(1500));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("REDIS_URL", "localhost:6379"),
            ("AVERAGE_WINDOW", "ten minutes"),
            ("AVERAGE_WINDOW", "0s"),
            ("AVERAGE_WINDOW", "1500ms"),
            ("AVERAGE_WINDOW", "25h"),
            ("AVERAGE_WINDOW", "18446744073709551615s"),
            ("STALE_AFTER", "soon"),
            ("STALE_AFTER", "0s"),
            ("BASE_PATH", "service1"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!((err.var, err.value.as_str()), (var, value));
        }
    }
}
