//! Why the server closed a connection on its own, counted in
//! `http_connections_closed_total{reason}`: one series per reason, all created at start-up.

use std::sync::Arc;

use prometheus::{IntCounter, IntCounterVec, Opts};

use crate::metrics::{Metrics, register};

/// Why a connection was closed by the server rather than by its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// A request head, or the first one since the accept, did not arrive whole in time.
    HeaderTimeout,
    /// A keep-alive connection sent nothing for `IDLE_TIMEOUT`.
    IdleTimeout,
    /// A response was not taken by the client within `WRITE_TIMEOUT`.
    WriteTimeout,
    /// The kernel gave up on the peer: data sent stayed unacknowledged, or unread behind a closed
    /// window, for `TCP_USER_TIMEOUT`.
    TcpUserTimeout,
    /// Still open when the drain after SIGTERM ran out (`DRAIN_TIMEOUT`).
    Shutdown,
}

impl Closing {
    const ALL: [Closing; 5] = [
        Closing::HeaderTimeout,
        Closing::IdleTimeout,
        Closing::WriteTimeout,
        Closing::TcpUserTimeout,
        Closing::Shutdown,
    ];

    fn label(self) -> &'static str {
        match self {
            Closing::HeaderTimeout => "header_timeout",
            Closing::IdleTimeout => "idle_timeout",
            Closing::WriteTimeout => "write_timeout",
            Closing::TcpUserTimeout => "tcp_user_timeout",
            Closing::Shutdown => "shutdown",
        }
    }
}

/// The counters of [`Closing`], shared by every connection of a server.
#[derive(Clone)]
pub struct Closings(Arc<[IntCounter; 5]>);

impl Closings {
    /// Registers `http_connections_closed_total` with every reason at 0.
    pub fn register(metrics: &Metrics) -> Self {
        let counters = register(
            metrics.registry(),
            IntCounterVec::new(
                Opts::new(
                    "http_connections_closed_total",
                    "Connections the server closed on its own, by reason.",
                ),
                &["reason"],
            ),
        );
        Self(Arc::new(
            Closing::ALL.map(|reason| counters.with_label_values(&[reason.label()])),
        ))
    }

    /// Counters registered nowhere, for tests of a single connection.
    #[cfg(test)]
    pub fn unregistered() -> Self {
        Self::register(&Metrics::new())
    }

    pub fn count(&self, reason: Closing) {
        self.0[reason as usize].inc();
    }

    #[cfg(test)]
    pub fn get(&self, reason: Closing) -> u64 {
        self.0[reason as usize].get()
    }
}
