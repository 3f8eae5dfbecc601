//! The service kit every binary of the project is built on (`api-a`, `api-b`, `poller`): typed
//! configuration read once, the tokio runtime sized to the CPUs, logging, health, metrics, the
//! HTTP server (connection limits, request ids, security headers, graceful shutdown), routing
//! helpers and problem details, the OpenAPI assembly, `--health-check`, and memory given back
//! after a burst. Each service is a library plus a `main` that calls [`service::main`].

pub mod clock;
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
pub mod runtime;
pub mod server;
pub mod service;
pub mod shutdown;
