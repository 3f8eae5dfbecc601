//! Accepting and serving HTTP/1.1 connections with the limits that keep hostile or broken
//! clients from holding a replica: a cap on open connections, on the request head, and on how
//! long a connection may stay silent, sit idle, dribble a head or leave its response unread (see
//! [`super::timeouts`]); and a shutdown that lets in-flight requests finish within a bound, then
//! closes what is left.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use prometheus::{IntCounter, IntGauge};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::closings::{Closing, Closings};
use super::exchange::{ConnectionService, RouteTable, Routes};
use super::socket;
use super::timeouts::{Deadlines, TimedIo};
use crate::config::ServingConfig;
use crate::health::Health;
use crate::metrics::{Metrics, register};

/// The largest request head (request line and headers) accepted: twice nginx's default for one
/// header line. Longer ones are answered 431 and the connection is closed.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How much hyper may buffer per connection: a head, or a slice of a body, never more.
const MAX_BUFFER_BYTES: usize = 64 * 1024;

/// After an accept error other than a client's own (e.g. out of file descriptors), a pause
/// before the next attempt, so the loop does not spin while nothing can be accepted.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// What the connections of one server share; `S` is the server's routes as a service (from
/// `warp::service`).
pub struct Connections<S> {
    http: Http<S>,
    permits: Arc<Semaphore>,
    drain_timeout: Duration,
    unacknowledged_for: Duration,
    open: IntGauge,
    limit_reached: IntCounter,
}

/// How one connection is served over HTTP/1.1.
#[derive(Clone)]
struct Http<S> {
    routes: S,
    table: Arc<RouteTable>,
    deadlines: Deadlines,
    health: Health,
    closings: Closings,
}

impl<S> Connections<S>
where
    S: Routes,
{
    /// Serves `routes` (and the direct answers of `table`) on every connection, under
    /// `settings`' limits; `max_connections` is the limit actually applied (see
    /// [`crate::limits`]).
    pub fn new(
        routes: S,
        table: RouteTable,
        settings: ServingConfig,
        max_connections: usize,
        health: Health,
        metrics: &Metrics,
    ) -> Self {
        let open = register(
            metrics.registry(),
            IntGauge::new("http_connections_open", "Client connections open."),
        );
        let limit_reached = register(
            metrics.registry(),
            IntCounter::new(
                "http_connection_limit_reached_total",
                "Times the connection limit was reached and accepting paused.",
            ),
        );
        Self {
            http: Http {
                routes,
                table: Arc::new(table),
                deadlines: Deadlines {
                    idle: settings.idle_timeout,
                    header: settings.header_timeout,
                    write: settings.write_timeout,
                },
                health,
                closings: Closings::register(metrics),
            },
            permits: Arc::new(Semaphore::new(max_connections)),
            drain_timeout: settings.drain_timeout,
            unacknowledged_for: settings.tcp_user_timeout,
            open,
            limit_reached,
        }
    }

    /// Accepts connections on `listener` until `stop` completes, then closes the listener and
    /// returns once every connection has finished its request in flight (idle ones are closed),
    /// or once the drain timeout ran out and the connections left were closed.
    pub async fn run(self, listener: TcpListener, stop: impl Future<Output = ()>) {
        // Every connection is a task of its own, told how far the shutdown is by two tokens:
        // `draining` once the listener is closed (finish the request in flight), `closing` once
        // the drain ran out (close now). `draining` is `closing`'s child: closing drains too.
        let connections = TaskTracker::new();
        let closing = CancellationToken::new();
        let draining = closing.child_token();
        tokio::pin!(stop);
        loop {
            let accepted = tokio::select! {
                () = &mut stop => break,
                accepted = self.accept(&listener) => accepted,
            };
            let Some((stream, permit)) = accepted else {
                continue;
            };
            let accepted_at = Instant::now();
            let http = self.http.clone();
            let draining = draining.clone();
            let closing = closing.clone();
            let open = self.open.clone();
            let closings = self.http.closings.clone();
            open.inc();
            connections.spawn(async move {
                let served = async move {
                    // Until its first request arrives a connection costs only its socket and this
                    // task: hyper's buffers are allocated once it has something to read. (A peek,
                    // not `readable()`: tokio reports a new socket readable before anything came.)
                    // It has the header timeout from its accept to send that request.
                    let head_due = accepted_at + http.deadlines.header;
                    let mut first_byte = [0u8; 1];
                    tokio::select! {
                        peeked = tokio::time::timeout_at(head_due, stream.peek(&mut first_byte)) => {
                            match peeked {
                                Ok(Ok(read)) if read > 0 => {}
                                Ok(_) => return, // closed, or failed, before asking anything
                                Err(_) => {
                                    http.closings.count(Closing::HeaderTimeout);
                                    return;
                                }
                            }
                        }
                        () = draining.cancelled() => return,
                    }
                    // Boxed, the connection's state is allocated once it has a request to read,
                    // not by every silent connection's task.
                    let mut connection = Box::pin(http.serve(stream, accepted_at));
                    // Once draining, an idle connection is closed at once, a busy one after the
                    // response in flight.
                    let ended = tokio::select! {
                        ended = connection.as_mut() => ended,
                        () = draining.cancelled() => {
                            connection.as_mut().graceful_shutdown();
                            connection.await
                        }
                    };
                    if let Err(err) = ended {
                        log::debug!("connection ended with an error: {err}");
                    }
                };
                tokio::select! {
                    () = served => {}
                    () = closing.cancelled() => {
                        closings.count(Closing::Shutdown);
                    }
                }
                open.dec();
                drop(permit);
            });
        }
        drop(listener);
        draining.cancel();
        connections.close();
        if tokio::time::timeout(self.drain_timeout, connections.wait())
            .await
            .is_err()
        {
            log::warn!(
                "{} connections still open after the drain timeout ({:?}): closing them",
                self.open.get(),
                self.drain_timeout
            );
            closing.cancel();
            connections.wait().await;
        }
    }

    /// The next connection, once a slot is free; `None` after an accept error.
    async fn accept(&self, listener: &TcpListener) -> Option<(TcpStream, OwnedSemaphorePermit)> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                self.limit_reached.inc();
                log::warn!(
                    "connection limit reached ({} open): not accepting until one closes",
                    self.open.get()
                );
                let permit = self.permits.clone().acquire_owned().await;
                log::info!("accepting connections again");
                permit.expect("the semaphore is never closed")
            }
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                socket::tune(&stream, self.unacknowledged_for);
                Some((stream, permit))
            }
            Err(err) if is_client_error(&err) => None,
            Err(err) => {
                log::error!("cannot accept a connection: {err}");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                None
            }
        }
    }
}

impl<S: Routes> Http<S> {
    /// The HTTP/1.1 connection serving `stream`, accepted at `accepted_at`.
    fn serve(
        &self,
        stream: TcpStream,
        accepted_at: Instant,
    ) -> http1::Connection<TokioIo<TimedIo<TcpStream>>, ConnectionService<S>> {
        let (io, phase) = TimedIo::new(stream, accepted_at, self.deadlines, self.closings.clone());
        let service = ConnectionService::new(
            self.routes.clone(),
            self.table.clone(),
            phase,
            self.health.clone(),
        );
        http1::Builder::new()
            // The deadlines are TimedIo's; hyper's own timer cannot tell idle from slow.
            .header_read_timeout(None)
            .max_header_size(MAX_HEAD_BYTES)
            .max_buf_size(MAX_BUFFER_BYTES)
            .serve_connection(TokioIo::new(io), service)
    }
}

/// A client that went away while being accepted; nothing is wrong with the server.
fn is_client_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
    )
}
