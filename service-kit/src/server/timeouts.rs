//! The two deadlines of a connection between requests, as Go's `net/http` has them: a
//! keep-alive connection may wait `idle_timeout` for the first byte of its next request, and
//! from that byte the whole request head must arrive within `header_timeout`. While a request
//! is being handled, no deadline applies (graceful shutdown waits for it).
//!
//! hyper has one header-read timer that starts when it begins waiting, so it cannot tell a slow
//! client from an idle one. [`TimedIo`] wraps the socket and sees the bytes; [`Phase`], shared
//! with the connection's service, learns when a request head was parsed (the service is called)
//! and when its response is ready. An expired deadline fails the read, and hyper closes the
//! connection.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the first byte of a request, since the instant given.
    Idle(Instant),
    /// The first byte of a head arrived at the instant given; the rest has not been parsed.
    ReadingHead(Instant),
    /// A request is being handled.
    Busy,
}

/// One connection's state, shared by its socket wrapper and its service.
#[derive(Debug, Clone)]
pub struct Phase(Arc<Mutex<State>>);

impl Phase {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(State::Idle(Instant::now()))))
    }

    /// The head of a request has been parsed: it is being handled.
    pub fn request_started(&self) {
        *self.0.lock().expect("never poisoned") = State::Busy;
    }

    /// The response is ready: from now the connection waits for its next request.
    pub fn response_ready(&self) {
        *self.0.lock().expect("never poisoned") = State::Idle(Instant::now());
    }

    fn bytes_read(&self) {
        let mut state = self.0.lock().expect("never poisoned");
        if let State::Idle(_) = *state {
            *state = State::ReadingHead(Instant::now());
        }
    }

    fn get(&self) -> State {
        *self.0.lock().expect("never poisoned")
    }
}

/// The deadlines of [`TimedIo`].
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub idle: Duration,
    pub header: Duration,
}

impl Deadlines {
    /// When the connection in `state` must have made progress, if ever.
    fn for_state(self, state: State) -> Option<Instant> {
        match state {
            State::Idle(since) => Some(since + self.idle),
            State::ReadingHead(since) => Some(since + self.header),
            State::Busy => None,
        }
    }
}

/// A socket whose reads fail with [`io::ErrorKind::TimedOut`] once the deadline of its
/// connection's [`Phase`] has passed.
pub struct TimedIo<T> {
    inner: T,
    phase: Phase,
    deadlines: Deadlines,
    timer: Pin<Box<Sleep>>,
}

impl<T> TimedIo<T> {
    /// Wraps `inner`, a connection just accepted; returns it and the phase its service must
    /// keep up to date.
    pub fn new(inner: T, deadlines: Deadlines) -> (Self, Phase) {
        let phase = Phase::new();
        let io = Self {
            inner,
            phase: phase.clone(),
            deadlines,
            timer: Box::pin(tokio::time::sleep(deadlines.idle)),
        };
        (io, phase)
    }

    /// Whether the deadline has passed; if not, the timer wakes the task when it does.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.deadlines.for_state(self.phase.get()) else {
            return false;
        };
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        self.timer.as_mut().poll(cx).is_ready()
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
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no complete request in time",
            ))),
            other => other,
        }
    }
}

// Writing a response is where a connection turns idle, and hyper does not poll a read again
// until the socket has something to read, so writes arm the timer too; when it fires, the task
// is woken and the read fails.
impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.expired(cx);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.expired(cx);
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Wake, Waker};

    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    use super::*;

    const DEADLINES: Deadlines = Deadlines {
        idle: Duration::from_secs(75),
        header: Duration::from_secs(10),
    };

    fn connection() -> (TimedIo<DuplexStream>, Phase, DuplexStream) {
        let (server, client) = duplex(1024);
        let (io, phase) = TimedIo::new(server, DEADLINES);
        (io, phase, client)
    }

    /// Reads once; `Err` with the error kind if the read failed.
    async fn read_once(io: &mut TimedIo<DuplexStream>) -> Result<usize, io::ErrorKind> {
        let mut buf = [0u8; 64];
        io.read(&mut buf).await.map_err(|e| e.kind())
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_cut_after_the_idle_timeout() {
        let (mut io, _phase, _client) = connection();
        let started = Instant::now();
        assert_eq!(read_once(&mut io).await, Err(io::ErrorKind::TimedOut));
        assert_eq!(started.elapsed(), DEADLINES.idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_must_complete_within_the_header_timeout_of_its_first_byte() {
        let (mut io, _phase, mut client) = connection();
        tokio::time::advance(Duration::from_secs(60)).await;
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let first_byte = Instant::now();
        assert_eq!(read_once(&mut io).await, Ok(16));
        // The client sends one more header line, then nothing.
        tokio::time::advance(Duration::from_secs(9)).await;
        client.write_all(b"Host: x\r\n").await.unwrap();
        assert_eq!(read_once(&mut io).await, Ok(9));
        assert_eq!(read_once(&mut io).await, Err(io::ErrorKind::TimedOut));
        assert_eq!(first_byte.elapsed(), DEADLINES.header);
    }

    #[tokio::test(start_paused = true)]
    async fn no_deadline_applies_while_a_request_is_handled() {
        let (mut io, phase, mut client) = connection();
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        read_once(&mut io).await.unwrap();
        phase.request_started();
        let read = tokio::time::timeout(Duration::from_secs(3600), read_once(&mut io)).await;
        assert!(read.is_err(), "still waiting after an hour: {read:?}");

        phase.response_ready();
        let ready = Instant::now();
        assert_eq!(read_once(&mut io).await, Err(io::ErrorKind::TimedOut));
        assert_eq!(
            ready.elapsed(),
            DEADLINES.idle,
            "idle again from the response"
        );
    }

    /// A waker that remembers being woken.
    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn writing_the_response_arms_the_idle_deadline_of_a_read_already_waiting() {
        let (mut io, phase, mut client) = connection();
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        read_once(&mut io).await.unwrap();
        phase.request_started();
        // As hyper does: the read is polled and parked while the request is handled, the
        // response is written, and the read is polled again only once the task is woken.
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 64];
        let mut read = |io: &mut TimedIo<DuplexStream>, cx: &mut Context<'_>| {
            Pin::new(io).poll_read(cx, &mut ReadBuf::new(&mut buf))
        };
        assert!(read(&mut io, &mut cx).is_pending());
        phase.response_ready();
        let response = Pin::new(&mut io).poll_write(&mut cx, b"HTTP/1.1 200 OK\r\n\r\n");
        assert!(response.is_ready());

        tokio::time::advance(DEADLINES.idle).await;
        assert!(
            flag.0.load(Ordering::SeqCst),
            "the idle deadline wakes the connection"
        );
        match read(&mut io, &mut cx) {
            Poll::Ready(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::TimedOut),
            other => panic!("the read must fail: {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_client_is_an_end_of_file_not_a_timeout() {
        let (mut io, _phase, client) = connection();
        drop(client);
        assert_eq!(read_once(&mut io).await, Ok(0));
    }
}
