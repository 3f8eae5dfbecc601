//! What a service binary does from `main`: read its configuration once, then either serve until
//! SIGTERM/SIGINT or, with `--health-check`, probe its own running instance.
//!
//! Exit status: 0 after a clean shutdown or a passing health check, 1 when the service cannot
//! start or the health check fails, 2 for bad configuration or arguments.

use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{ConfigError, Env, ServerConfig};
use crate::runtime::Workers;

const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

enum Mode {
    Serve,
    HealthCheck,
}

/// The whole of a service's `main`: `name` for messages, how its configuration is read and
/// where its server settings are in it, and `run`, which serves on the listener until the token
/// is cancelled (by SIGTERM or SIGINT) and the server has drained.
pub fn main<C, Fut>(
    name: &'static str,
    load_config: fn(&Env) -> Result<C, ConfigError>,
    server_config: fn(&C) -> &ServerConfig,
    run: impl FnOnce(C, TcpListener, CancellationToken) -> Fut,
) -> ExitCode
where
    Fut: Future<Output = ()>,
{
    let mode = match std::env::args().nth(1).as_deref() {
        None => Mode::Serve,
        Some("--health-check") => Mode::HealthCheck,
        Some("-h" | "--help") => {
            println!("{}", usage(name));
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("unknown argument {other:?}\n{}", usage(name));
            return ExitCode::from(2);
        }
    };
    let config = match load_config(&Env::from_process()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{name}: {err}");
            return ExitCode::from(2);
        }
    };
    let server = server_config(&config).clone();
    crate::memory::use_one_heap();
    // A health check is one request: one thread does.
    let workers = match mode {
        Mode::HealthCheck => Workers::choose(Some(1)),
        Mode::Serve => Workers::choose(server.worker_threads),
    };
    let runtime = match workers.runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{name}: cannot start the {workers}: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match mode {
            Mode::HealthCheck => health_check(name, &server).await,
            Mode::Serve => {
                serve(name, &server, workers, |listener, shutdown| {
                    run(config, listener, shutdown)
                })
                .await
            }
        }
    })
}

async fn health_check(name: &str, server: &ServerConfig) -> ExitCode {
    match crate::healthcheck::check(server.listen_addr, HEALTH_CHECK_TIMEOUT).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: health check failed: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve<Fut: Future<Output = ()>>(
    name: &str,
    server: &ServerConfig,
    workers: Workers,
    run: impl FnOnce(TcpListener, CancellationToken) -> Fut,
) -> ExitCode {
    crate::logging::init(server.log).expect("no logger is installed before main");
    if let Err(err) = crate::limits::raise_open_files_limit() {
        log::warn!("cannot raise the open-files limit: {err}");
    }
    let stop = CancellationToken::new();
    let on_signal = crate::shutdown::cancel_on_signal(stop.clone());
    let listener = match crate::server::listen(server.listen_addr) {
        Ok(listener) => listener,
        Err(err) => {
            log::error!("cannot listen on {}: {err}", server.listen_addr);
            return ExitCode::FAILURE;
        }
    };
    // The process's own tasks: the signal's watch and the memory's release.
    let tasks = TaskTracker::new();
    tasks.spawn(on_signal);
    tasks.spawn(crate::memory::release_until(stop.child_token()));
    log::info!("{name} starting on a {workers}");
    run(listener, stop.clone()).await;
    // Already cancelled by the signal; cancelled here too, should `run` have returned on its
    // own, so that the process's tasks end all the same.
    stop.cancel();
    tasks.close();
    tasks.wait().await;
    ExitCode::SUCCESS
}

fn usage(name: &str) -> String {
    format!(
        "usage: {name} [--health-check]\n\n\
         Without arguments, serves until SIGTERM or SIGINT.\n\
         --health-check  asks the running instance's /healthz and exits 0 if it answers 200.\n\
         Configuration comes from environment variables (see docs/configuration.md)."
    )
}
