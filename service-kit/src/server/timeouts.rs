//! The deadlines of a connection, as Go's `net/http` has them, so that no client can hold a
//! connection by being slow, silent or deaf:
//! - a request head must arrive whole within `header_timeout` of its first byte, and a
//!   connection's first head within `header_timeout` of the accept (a client that connects and
//!   sends nothing has asked nothing: it is not an idle keep-alive connection);
//! - a keep-alive connection may wait `idle_timeout` for the first byte of its next request;
//! - a response must be handed to the kernel within `write_timeout` of its first write (a client
//!   that does not read leaves it in our buffers, and hyper reads nothing more meanwhile);
//! - while a request is being handled, no deadline applies (graceful shutdown waits for it).
//!
//! hyper has one header-read timer that starts when it begins waiting, so it cannot tell a slow
//! client from an idle one, and it has no write timer. [`TimedIo`] wraps the socket and sees the
//! bytes and the flushes; [`Phase`], shared with the connection's service, learns when a request
//! head was parsed (the service is called) and when its response is ready. An expired deadline
//! fails the read or the write, and hyper closes the connection; the reason is counted
//! ([`Closings`]), and so is a peer the kernel gave up on (`ETIMEDOUT`: see [`super::socket`]).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::closings::{Closing, Closings};

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the first byte of a request, since the instant given.
    Idle(Instant),
    /// The head of a request must be complete within the header timeout of the instant given:
    /// its first byte, or the accept for a connection's first request.
    ReadingHead(Instant),
    /// A request is being handled.
    Busy,
    /// Its response is being written; `true` once bytes of a next request were read meanwhile.
    Writing(bool),
}

/// One connection's state, shared by its socket wrapper and its service.
#[derive(Debug, Clone)]
pub struct Phase(Arc<Mutex<State>>);

impl Phase {
    fn accepted_at(accepted: Instant) -> Self {
        Self(Arc::new(Mutex::new(State::ReadingHead(accepted))))
    }

    /// The head of a request has been parsed: it is being handled.
    pub fn request_started(&self) {
        *self.lock() = State::Busy;
    }

    /// The response is ready: it is being written.
    pub fn response_ready(&self) {
        *self.lock() = State::Writing(false);
    }

    fn bytes_read(&self) {
        let mut state = self.lock();
        match *state {
            State::Idle(_) => *state = State::ReadingHead(Instant::now()),
            State::Writing(_) => *state = State::Writing(true),
            State::ReadingHead(_) | State::Busy => {}
        }
    }

    /// Everything written was handed to the kernel: a response written whole leaves the
    /// connection idle, or reading the head that arrived meanwhile.
    fn flushed(&self) {
        let mut state = self.lock();
        match *state {
            State::Writing(false) => *state = State::Idle(Instant::now()),
            State::Writing(true) => *state = State::ReadingHead(Instant::now()),
            State::Idle(_) | State::ReadingHead(_) | State::Busy => {}
        }
    }

    fn get(&self) -> State {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().expect("never poisoned")
    }
}

/// The deadlines of [`TimedIo`].
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub idle: Duration,
    pub header: Duration,
    pub write: Duration,
}

impl Deadlines {
    /// When a read of the connection in `state` must have made progress, if ever, and why it
    /// would be closed then.
    fn for_reading(self, state: State) -> Option<(Instant, Closing)> {
        match state {
            State::Idle(since) => Some((since + self.idle, Closing::IdleTimeout)),
            State::ReadingHead(since) => Some((since + self.header, Closing::HeaderTimeout)),
            State::Busy | State::Writing(_) => None,
        }
    }
}

/// A socket whose reads fail with [`io::ErrorKind::TimedOut`] once the read deadline of its
/// connection's [`Phase`] has passed, and whose writes fail the same way once what it was given
/// to write has waited `write_timeout` for the client.
pub struct TimedIo<T> {
    inner: T,
    phase: Phase,
    deadlines: Deadlines,
    read_timer: Pin<Box<Sleep>>,
    /// Since when bytes are waiting to be handed to the kernel (the first write after a flush).
    unflushed_since: Option<Instant>,
    /// Armed once a write could not go through, which few connections ever see.
    write_timer: Option<Pin<Box<Sleep>>>,
    closings: Closings,
    counted: bool,
}

impl<T> TimedIo<T> {
    /// Wraps `inner`, a connection accepted at `accepted`; returns it and the phase its service
    /// must keep up to date.
    pub fn new(
        inner: T,
        accepted: Instant,
        deadlines: Deadlines,
        closings: Closings,
    ) -> (Self, Phase) {
        let phase = Phase::accepted_at(accepted);
        let io = Self {
            inner,
            phase: phase.clone(),
            deadlines,
            read_timer: Box::pin(tokio::time::sleep_until(accepted + deadlines.header)),
            unflushed_since: None,
            write_timer: None,
            closings,
            counted: false,
        };
        (io, phase)
    }

    /// Why a read must fail now, if its deadline has passed; if not, the timer wakes the task
    /// when it does.
    fn read_expired(&mut self, cx: &mut Context<'_>) -> Option<Closing> {
        let (deadline, reason) = self.deadlines.for_reading(self.phase.get())?;
        if self.read_timer.deadline() != deadline {
            self.read_timer.as_mut().reset(deadline);
        }
        self.read_timer
            .as_mut()
            .poll(cx)
            .is_ready()
            .then_some(reason)
    }

    /// Whether the bytes waiting to be written have waited too long; if not, the timer wakes
    /// the task when they have.
    fn write_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(since) = self.unflushed_since else {
            return false;
        };
        let deadline = since + self.deadlines.write;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx).is_ready()
    }

    /// The error that closes the connection for `reason`, counted once.
    fn close(&mut self, reason: Closing) -> io::Error {
        self.count(reason);
        io::Error::new(io::ErrorKind::TimedOut, "connection deadline passed")
    }

    /// Counts a socket error that says the kernel gave up on the peer (`TCP_USER_TIMEOUT`).
    fn note<R>(&mut self, result: io::Result<R>) -> io::Result<R> {
        if let Err(err) = &result
            && err.raw_os_error() == Some(nix::libc::ETIMEDOUT)
        {
            self.count(Closing::TcpUserTimeout);
        }
        result
    }

    fn count(&mut self, reason: Closing) {
        if !self.counted {
            self.counted = true;
            self.closings.count(reason);
        }
    }

    /// Before a write: the bytes now wait for the client.
    fn writing(&mut self) {
        self.unflushed_since.get_or_insert_with(Instant::now);
    }

    /// After a write: if it could not go through, the write deadline applies.
    fn written<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Pending if self.write_expired(cx) => {
                Poll::Ready(Err(self.close(Closing::WriteTimeout)))
            }
            Poll::Ready(result) => Poll::Ready(self.note(result)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let filled = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > filled {
                    self.phase.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(self.note(Err(err))),
            Poll::Pending => match self.read_expired(cx) {
                Some(reason) => Poll::Ready(Err(self.close(reason))),
                None => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writing();
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.written(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.writing();
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.written(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    // hyper flushes the socket once its own buffer is empty: everything written so far is the
    // kernel's. The connection turns idle here, and hyper does not poll a read again until the
    // socket has something to read, so the flush arms the read deadline; when it fires, the task
    // is woken and the read fails.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = polled {
            self.unflushed_since = None;
            self.phase.flushed();
            self.read_expired(cx);
        }
        self.written(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
