//! How a service stops, the one way every task in it stops.
//!
//! The process's signal (SIGTERM from Kubernetes or Docker, SIGINT from Ctrl-C) cancels one
//! [`CancellationToken`], handed down as a parameter: a service's `run`, its server and each of
//! its parts get it, a part that stops on its own a child of it (`child_token`), and a part that
//! must outlive the server's drain (api-a's refresher) a token of its own that its owner cancels
//! once the server has stopped. Every long-lived task is spawned on a [`TaskTracker`] that its
//! owner closes and waits for after telling the task to stop, so a function that starts tasks
//! returns only once they have ended: no task is detached (a bare `tokio::spawn`) or aborted.
//!
//! [`CancellationToken`]: tokio_util::sync::CancellationToken
//! [`TaskTracker`]: tokio_util::task::TaskTracker

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Cancels `stop` on the first SIGTERM or SIGINT; ends without waiting for one once `stop` is
/// cancelled otherwise.
///
/// The handlers are installed when this is called, not when the future is first polled, so a
/// signal that arrives during start-up is not lost (nor does it kill the process outright).
pub fn cancel_on_signal(stop: CancellationToken) -> impl Future<Output = ()> + Send + 'static {
    let mut terminate = signal(SignalKind::terminate()).expect("install the SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("install the SIGINT handler");
    async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
            () = stop.cancelled() => return,
        };
        log::info!("{name} received");
        stop.cancel();
    }
}
