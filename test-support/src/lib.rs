//! What the services' tests share (a dev-dependency only): run a service in-process on
//! `127.0.0.1:0` ([`TestServer`]), or its real binary ([`binary`]), against a real `redis-server`
//! ([`RedisServer`]) holding [`samples`] as the poller writes them; wait for conditions with
//! [`eventually`] rather than fixed sleeps.

mod binary;
mod redis;
pub mod samples;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

pub use binary::{
    RunningBinary, assert_each_bad_value_exits_2, assert_health_check_follows_the_instance,
    assert_unknown_argument_exits_2, config_error_line, run_to_exit,
};
pub use redis::RedisServer;

/// A service running in this process, stopped by [`TestServer::shutdown`] like SIGTERM would.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: CancellationToken,
    /// A test that ends without stopping the service stops it too.
    _stop_when_dropped: DropGuard,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Calls `run(listener, stop)` on a fresh `127.0.0.1:0` listener in a background task; `stop`
    /// is the token SIGTERM would cancel.
    pub async fn start<F, Fut>(run: F) -> Self
    where
        F: FnOnce(TcpListener, CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(listener, stop.clone()));
        Self {
            addr,
            _stop_when_dropped: stop.clone().drop_guard(),
            stop,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Starts the shutdown, as a SIGTERM would.
    pub fn shutdown(&mut self) {
        self.stop.cancel();
    }

    /// Whether the service's `run` has returned.
    pub fn is_stopped(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the service to return, at most `timeout`; panics if it does not.
    pub async fn stopped(self, timeout: Duration) {
        tokio::time::timeout(timeout, self.task)
            .await
            .expect("the service stops in time")
            .expect("the service task does not panic");
    }
}

/// Retries `attempt` every 20 ms until it yields a value; panics with `what` after `within`.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    mut attempt: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks that `served` (an OpenAPI document a service answered) is the committed copy at
/// `committed` (a path relative to the workspace root); with `UPDATE_OPENAPI=1`, rewrites the copy
/// instead, for a change the reviewer should see.
pub fn assert_committed_document(served: &str, committed: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(committed);
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, served).expect("write the committed OpenAPI document");
        return;
    }
    let copy = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{committed}: {e} (UPDATE_OPENAPI=1 cargo test writes it)"));
    assert!(
        copy == served,
        "{committed} differs from the document the service serves; if the change is intended, \
         rewrite it with UPDATE_OPENAPI=1 cargo test and review the diff"
    );
}
