//! What a service binary does from `main`: read its configuration once, then either serve until
//! SIGTERM/SIGINT or, with `--health-check`, probe its own running instance.
//!
//! Exit status: 0 after a clean shutdown or a passing health check, 1 when the service cannot
//! start or the health check fails, 2 for bad configuration or arguments.

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::{ConfigError, Env, ServerConfig};

const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A service binary: its configuration and how it runs.
pub trait Service {
    /// The binary's name, for usage text.
    const NAME: &'static str;

    type Config;

    fn load_config(env: &Env) -> Result<Self::Config, ConfigError>;

    fn server_config(config: &Self::Config) -> &ServerConfig;

    /// Serves on `listener` until `shutdown` completes and the server has drained.
    fn run(
        config: Self::Config,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send;
}

enum Mode {
    Serve,
    HealthCheck,
}

/// The whole of a service's `main`.
pub fn main<S: Service>() -> ExitCode {
    let mode = match std::env::args().nth(1).as_deref() {
        None => Mode::Serve,
        Some("--health-check") => Mode::HealthCheck,
        Some("-h" | "--help") => {
            println!("{}", usage::<S>());
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("unknown argument {other:?}\n{}", usage::<S>());
            return ExitCode::from(2);
        }
    };
    let config = match S::load_config(&Env::from_process()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{}: {err}", S::NAME);
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("build the tokio runtime");
    match mode {
        Mode::HealthCheck => runtime.block_on(health_check::<S>(&config)),
        Mode::Serve => runtime.block_on(serve::<S>(config)),
    }
}

async fn health_check<S: Service>(config: &S::Config) -> ExitCode {
    let listen_addr = S::server_config(config).listen_addr;
    match crate::healthcheck::check(listen_addr, HEALTH_CHECK_TIMEOUT).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}: health check failed: {err}", S::NAME);
            ExitCode::FAILURE
        }
    }
}

async fn serve<S: Service>(config: S::Config) -> ExitCode {
    let server = S::server_config(&config);
    crate::logging::init(server.log).expect("no logger is installed before main");
    let shutdown = crate::shutdown::signal_received();
    let listener = match crate::server::bind(server.listen_addr).await {
        Ok(listener) => listener,
        Err(err) => {
            log::error!("cannot listen on {}: {err}", server.listen_addr);
            return ExitCode::FAILURE;
        }
    };
    log::info!("{} starting", S::NAME);
    S::run(config, listener, shutdown).await;
    ExitCode::SUCCESS
}

fn usage<S: Service>() -> String {
    format!(
        "usage: {name} [--health-check]\n\n\
         Without arguments, serves until SIGTERM or SIGINT.\n\
         --health-check  asks the running instance's /healthz and exits 0 if it answers 200.\n\
         Configuration comes from environment variables (see the README).",
        name = S::NAME
    )
}
