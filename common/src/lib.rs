//! Plumbing shared by `api-a`, `api-b` and `poller`: configuration, logging, health, metrics,
//! serving and shutdown, and (feature `store`) the Redis schema of the price samples. Each
//! service is a library plus a `main` that calls [`service::main`].

pub mod config;
pub mod headers;
pub mod health;
pub mod healthcheck;
pub mod http;
pub mod limits;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod openapi;
#[cfg(feature = "store")]
pub mod samples;
pub mod server;
pub mod service;
pub mod shutdown;
#[cfg(feature = "testing")]
pub mod testing;
