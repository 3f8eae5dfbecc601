//! The process's shutdown signal: SIGTERM (Kubernetes, Docker) or SIGINT (Ctrl-C).

use std::future::Future;
use std::pin::Pin;

use tokio::signal::unix::{SignalKind, signal};

/// What a service's `run` is given to know when to stop.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Completes on the first SIGTERM or SIGINT.
///
/// The handlers are installed when this is called, not when the future is first polled, so a
/// signal that arrives during start-up is not lost (nor does it kill the process outright).
pub fn signal_received() -> Shutdown {
    let mut terminate = signal(SignalKind::terminate()).expect("install the SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("install the SIGINT handler");
    Box::pin(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        log::info!("{name} received");
    })
}
