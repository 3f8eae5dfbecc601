use std::net::{Ipv4Addr, SocketAddr};

use service_kit::config::{ConfigError, Env, ServerConfig, base_path};

const DEFAULT_LISTEN_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub server: ServerConfig,
    /// `BASE_PATH`: prefix of the API's route, e.g. `/service2`.
    pub base_path: String,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            server: ServerConfig::from_env(env, DEFAULT_LISTEN_ADDR)?,
            base_path: base_path(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_unset() {
        let config = Config::from_env(&Env::from_pairs([])).unwrap();
        assert_eq!(config.server.listen_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(config.base_path, "");
    }
}
