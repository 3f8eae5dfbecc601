//! The poller's configuration: the common server settings plus what to ask, how often and
//! where to write. Read once at start-up; a bad value is exit status 2 naming the variable.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use price_store::rules::LONGEST_FETCH;
use reqwest::Url;
use service_kit::config::{ConfigError, Env, ServerConfig, average_window};

use crate::providers::Provider;

const DEFAULT_LISTEN_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9090);
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// Sane `POLL_INTERVAL`s: from what tests use to an hourly price.
const POLL_INTERVALS: RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(3600);
/// Sane `FETCH_TIMEOUT`s, up to the longest a stored sample's stamps allow for; it must also be
/// shorter than `POLL_INTERVAL`.
const FETCH_TIMEOUTS: RangeInclusive<Duration> = Duration::from_millis(10)..=LONGEST_FETCH;

/// Samples are kept this much longer than the window, so a reader averaging over the window
/// at the edge of a tick still finds every sample of it.
const RETENTION_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub provider: Provider,
    /// `<PROVIDER>_URL`: the full request URL.
    pub url: Url,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub server: ServerConfig,
    /// `REDIS_URL`: the Redis the samples go to.
    pub redis_url: String,
    /// `POLL_INTERVAL`: time between ticks.
    pub poll_interval: Duration,
    /// `FETCH_TIMEOUT`: the deadline of a tick's requests; shorter than the interval.
    pub fetch_timeout: Duration,
    /// `AVERAGE_WINDOW`: the history api-a averages over; samples are kept that long plus a
    /// margin.
    pub average_window: Duration,
    /// `PROVIDERS` with their URLs, in order.
    pub providers: Vec<ProviderConfig>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let average_window = average_window(env)?;
        let poll_interval =
            env.duration_in("POLL_INTERVAL", DEFAULT_POLL_INTERVAL, POLL_INTERVALS)?;
        // At least one tick per window, or the average would often have no sample.
        if poll_interval > average_window {
            let rule = "must not be longer than AVERAGE_WINDOW";
            return Err(broken_rule(
                env,
                ("POLL_INTERVAL", poll_interval),
                rule,
                average_window,
            ));
        }
        let fetch_timeout =
            env.duration_in("FETCH_TIMEOUT", DEFAULT_FETCH_TIMEOUT, FETCH_TIMEOUTS)?;
        if fetch_timeout >= poll_interval {
            let rule = "must be shorter than POLL_INTERVAL";
            return Err(broken_rule(
                env,
                ("FETCH_TIMEOUT", fetch_timeout),
                rule,
                poll_interval,
            ));
        }
        let mut urls = provider_urls(env)?;
        let providers = provider_list(env)?
            .into_iter()
            .map(|provider| ProviderConfig {
                provider,
                url: urls.remove(&provider).expect("listed once, with a URL"),
            })
            .collect();
        Ok(Self {
            server: ServerConfig::from_env(env, DEFAULT_LISTEN_ADDR)?,
            redis_url: price_store::redis_url(env)?,
            poll_interval,
            fetch_timeout,
            average_window,
            providers,
        })
    }

    /// How long samples are kept, in Redis and while Redis is down.
    pub fn retention(&self) -> Duration {
        self.average_window + RETENTION_MARGIN
    }
}

/// `var`, worth `value`, breaks `rule`, which relates it to another setting worth `limit`. The
/// error shows `var` as the user wrote it, or the default it stands for.
fn broken_rule(
    env: &Env,
    (var, value): (&'static str, Duration),
    rule: &str,
    limit: Duration,
) -> ConfigError {
    // The variable was read already: a value it had that was not UTF-8 stopped the reading.
    let shown = match env.get(var) {
        Ok(Some(raw)) => raw.to_owned(),
        _ => humantime::format_duration(value).to_string(),
    };
    let limit = humantime::format_duration(limit);
    ConfigError::new(var, &shown, format!("{rule} ({limit})"))
}

fn provider_list(env: &Env) -> Result<Vec<Provider>, ConfigError> {
    let Some(raw) = env.get("PROVIDERS")? else {
        return Ok(Provider::ALL.to_vec());
    };
    let error = |reason: String| ConfigError::new("PROVIDERS", raw, reason);
    let mut seen = HashSet::new();
    let mut providers = Vec::new();
    for name in raw.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(error("empty provider name".to_owned()));
        }
        let provider: Provider = name.parse().map_err(|e| error(format!("{e}")))?;
        if !seen.insert(provider) {
            return Err(error(format!("{name:?} is listed twice")));
        }
        providers.push(provider);
    }
    Ok(providers)
}

/// Every provider's URL. Each one set is validated even when its provider is not used, so a
/// typo never waits for the day it is switched on.
fn provider_urls(env: &Env) -> Result<HashMap<Provider, Url>, ConfigError> {
    Provider::ALL
        .into_iter()
        .map(|provider| {
            let default = Url::parse(provider.default_url()).expect("default URLs are valid");
            let url = env.parse_with(provider.url_var(), default, parse_url)?;
            Ok((provider, url))
        })
        .collect()
}

fn parse_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_owned());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    fn rejected(pairs: &[(&str, &str)]) -> ConfigError {
        config(pairs).expect_err("rejected")
    }

    #[test]
    fn defaults() {
        let config = config(&[]).unwrap();
        assert_eq!(config.server.listen_addr.to_string(), "0.0.0.0:9090");
        assert_eq!(config.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(config.poll_interval, Duration::from_secs(10));
        assert_eq!(config.fetch_timeout, Duration::from_secs(3));
        assert_eq!(config.average_window, Duration::from_secs(600));
        assert_eq!(config.retention(), Duration::from_secs(660));
        let providers: Vec<Provider> = config.providers.iter().map(|p| p.provider).collect();
        assert_eq!(providers, Provider::ALL, "every provider, in table order");
        assert_eq!(
            config.providers[0].url.as_str(),
            "https://api.exchange.coinbase.com/products/BTC-USD/ticker"
        );
        assert_eq!(
            config.providers[1].url.as_str(),
            "https://api.kraken.com/0/public/Ticker?pair=XBTUSD"
        );
    }

    #[test]
    fn values_are_parsed() {
        let config = config(&[
            ("POLL_INTERVAL", "500ms"),
            ("FETCH_TIMEOUT", "300ms"),
            ("AVERAGE_WINDOW", "2m"),
            ("PROVIDERS", " gemini , coinbase"),
            (
                "COINBASE_URL",
                "http://127.0.0.1:8081/products/BTC-USD/ticker",
            ),
            ("REDIS_URL", "redis://127.0.0.1:6380"),
        ])
        .unwrap();
        assert_eq!(config.poll_interval, Duration::from_millis(500));
        assert_eq!(config.fetch_timeout, Duration::from_millis(300));
        assert_eq!(config.average_window, Duration::from_secs(120));
        assert_eq!(config.redis_url, "redis://127.0.0.1:6380");
        assert_eq!(
            config.providers,
            [
                ProviderConfig {
                    provider: Provider::Gemini,
                    url: Url::parse(Provider::Gemini.default_url()).unwrap(),
                },
                ProviderConfig {
                    provider: Provider::Coinbase,
                    url: Url::parse("http://127.0.0.1:8081/products/BTC-USD/ticker").unwrap(),
                },
            ]
        );
    }

    #[test]
    fn the_fetch_timeout_must_be_shorter_than_the_interval() {
        let err = rejected(&[("POLL_INTERVAL", "2s")]);
        assert_eq!(err.var, "FETCH_TIMEOUT");
        assert_eq!(err.value, "3s");
        assert!(err.reason.contains("POLL_INTERVAL (2s)"), "{err}");
        let err = rejected(&[("POLL_INTERVAL", "1s"), ("FETCH_TIMEOUT", "1s")]);
        assert_eq!((err.var, err.value.as_str()), ("FETCH_TIMEOUT", "1s"));
        assert!(config(&[("POLL_INTERVAL", "1s"), ("FETCH_TIMEOUT", "999ms")]).is_ok());
    }

    #[test]
    fn zero_and_absurd_durations_are_rejected() {
        for (var, value) in [
            ("POLL_INTERVAL", "0s"),
            ("POLL_INTERVAL", "10ms"),
            ("POLL_INTERVAL", "2h"),
            ("POLL_INTERVAL", "ten seconds"),
            ("FETCH_TIMEOUT", "0s"),
            ("FETCH_TIMEOUT", "1ms"),
            ("AVERAGE_WINDOW", "0s"),
            ("AVERAGE_WINDOW", "10500ms"),
            ("AVERAGE_WINDOW", "30d"),
        ] {
            let err = rejected(&[(var, value)]);
            assert_eq!((err.var, err.value.as_str()), (var, value));
        }
    }

    #[test]
    fn the_interval_must_fit_in_the_average_window() {
        let err = rejected(&[("AVERAGE_WINDOW", "5s")]);
        assert_eq!((err.var, err.value.as_str()), ("POLL_INTERVAL", "10s"));
        assert!(err.reason.contains("AVERAGE_WINDOW (5s)"), "{err}");
        assert!(config(&[("AVERAGE_WINDOW", "10s")]).is_ok());
    }

    #[test]
    fn the_provider_list_is_validated() {
        for (value, reason) in [
            ("coinbase,binance", "unknown provider \"binance\""),
            ("Kraken", "unknown provider \"Kraken\""),
            ("kraken,gemini,kraken", "\"kraken\" is listed twice"),
            (",", "empty provider name"),
            ("kraken,,gemini", "empty provider name"),
        ] {
            let err = rejected(&[("PROVIDERS", value)]);
            assert_eq!((err.var, err.value.as_str()), ("PROVIDERS", value));
            assert!(err.reason.contains(reason), "{value}: {err}");
        }
    }

    #[test]
    fn provider_urls_are_validated_even_when_unused() {
        for value in [
            "not a url",
            "ftp://example.com/x",
            "/relative/path",
            "http://",
        ] {
            let err = rejected(&[("PROVIDERS", "kraken"), ("GEMINI_URL", value)]);
            assert_eq!((err.var, err.value.as_str()), ("GEMINI_URL", value));
        }
    }

    #[test]
    fn the_common_settings_apply() {
        let err = rejected(&[("REDIS_URL", "http://localhost")]);
        assert_eq!(err.var, "REDIS_URL");
        let config = config(&[("LISTEN_ADDR", "127.0.0.1:9191")]).unwrap();
        assert_eq!(config.server.listen_addr, "127.0.0.1:9191".parse().unwrap());
    }
}
