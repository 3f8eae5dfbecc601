use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Wake, Waker};

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

use super::*;

const DEADLINES: Deadlines = Deadlines {
    idle: Duration::from_secs(75),
    header: Duration::from_secs(10),
    write: Duration::from_secs(20),
};
/// What the client and the server may have in flight between them, each way.
const PIPE_BYTES: usize = 1024;

struct Connection {
    io: TimedIo<DuplexStream>,
    phase: Phase,
    client: DuplexStream,
    closings: Closings,
}

fn accept() -> Connection {
    let (server, client) = duplex(PIPE_BYTES);
    let closings = Closings::unregistered();
    let (io, phase) = TimedIo::new(server, Instant::now(), DEADLINES, closings.clone());
    Connection {
        io,
        phase,
        client,
        closings,
    }
}

/// Writes `bytes`, failing the test if that neither ends nor fails within twice the write
/// timeout (a write the deadline does not cut would wait for ever).
async fn write_or_give_up(io: &mut TimedIo<DuplexStream>, bytes: &[u8]) -> io::Result<()> {
    tokio::time::timeout(DEADLINES.write * 2, io.write_all(bytes))
        .await
        .expect("the write ends by the write timeout")
}

impl Connection {
    /// Reads once; `Err` with the error kind if the read failed.
    async fn read_once(&mut self) -> Result<usize, io::ErrorKind> {
        let mut buf = [0u8; 64];
        self.io.read(&mut buf).await.map_err(|e| e.kind())
    }

    /// The client sends `bytes`; what the server's next read makes of them.
    async fn receive(&mut self, bytes: &[u8]) -> Result<usize, io::ErrorKind> {
        self.client.write_all(bytes).await.unwrap();
        self.read_once().await
    }

    /// The client sends a request; the server reads its head and starts handling it.
    async fn start_request(&mut self) {
        self.receive(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        self.phase.request_started();
    }

    /// As hyper serves one request: its head read, the service called, the response written
    /// and flushed.
    async fn serve_one(&mut self) {
        self.start_request().await;
        self.phase.response_ready();
        self.io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        self.io.flush().await.unwrap();
        let mut answer = [0u8; 19];
        self.client.read_exact(&mut answer).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_sends_nothing_is_cut_at_the_header_timeout_of_its_accept() {
    let mut connection = accept();
    let accepted = Instant::now();
    assert_eq!(connection.read_once().await, Err(io::ErrorKind::TimedOut));
    assert_eq!(accepted.elapsed(), DEADLINES.header);
    assert_eq!(connection.closings.get(Closing::HeaderTimeout), 1);
}

#[tokio::test(start_paused = true)]
async fn the_first_head_must_be_whole_within_the_header_timeout_of_the_accept() {
    let mut connection = accept();
    let accepted = Instant::now();
    tokio::time::advance(Duration::from_secs(9)).await;
    assert_eq!(connection.receive(b"GET / HTTP/1.1\r\n").await, Ok(16));
    assert_eq!(connection.read_once().await, Err(io::ErrorKind::TimedOut));
    assert_eq!(
        accepted.elapsed(),
        DEADLINES.header,
        "not from its first byte"
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_cut_after_the_idle_timeout() {
    let mut connection = accept();
    connection.serve_one().await;
    let answered = Instant::now();
    assert_eq!(connection.read_once().await, Err(io::ErrorKind::TimedOut));
    assert_eq!(answered.elapsed(), DEADLINES.idle);
    assert_eq!(connection.closings.get(Closing::IdleTimeout), 1);
    assert_eq!(connection.closings.get(Closing::HeaderTimeout), 0);
}

#[tokio::test(start_paused = true)]
async fn a_head_must_complete_within_the_header_timeout_of_its_first_byte() {
    let mut connection = accept();
    connection.serve_one().await;
    tokio::time::advance(Duration::from_secs(60)).await;
    let first_byte = Instant::now();
    assert_eq!(connection.receive(b"GET / HTTP/1.1\r\n").await, Ok(16));
    // The client sends one more header line, then nothing.
    tokio::time::advance(Duration::from_secs(9)).await;
    assert_eq!(connection.receive(b"Host: x\r\n").await, Ok(9));
    assert_eq!(connection.read_once().await, Err(io::ErrorKind::TimedOut));
    assert_eq!(first_byte.elapsed(), DEADLINES.header);
}

#[tokio::test(start_paused = true)]
async fn no_deadline_applies_while_a_request_is_handled() {
    let mut connection = accept();
    connection.start_request().await;
    let read = tokio::time::timeout(Duration::from_secs(3600), connection.read_once()).await;
    assert!(read.is_err(), "still waiting after an hour: {read:?}");
}

/// A waker that remembers being woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn flushing_the_response_arms_the_idle_deadline_of_a_read_already_waiting() {
    let mut connection = accept();
    connection.start_request().await;
    // As hyper does: the read is polled and parked while the request is handled, the response
    // is written and flushed, and the read is polled again only once the task is woken.
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 64];
    let mut read = |io: &mut TimedIo<DuplexStream>, cx: &mut Context<'_>| {
        Pin::new(io).poll_read(cx, &mut ReadBuf::new(&mut buf))
    };
    let io = &mut connection.io;
    assert!(read(io, &mut cx).is_pending());
    connection.phase.response_ready();
    let response = Pin::new(&mut *io).poll_write(&mut cx, b"HTTP/1.1 200 OK\r\n\r\n");
    assert!(response.is_ready());
    assert!(Pin::new(&mut *io).poll_flush(&mut cx).is_ready());

    tokio::time::advance(DEADLINES.idle).await;
    assert!(
        flag.0.load(Ordering::SeqCst),
        "the idle deadline wakes the connection"
    );
    match read(io, &mut cx) {
        Poll::Ready(Err(err)) => assert_eq!(err.kind(), io::ErrorKind::TimedOut),
        other => panic!("the read must fail: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_response_the_client_does_not_read_fails_its_write_at_the_write_timeout() {
    let mut connection = accept();
    connection.start_request().await;
    connection.phase.response_ready();
    let first_write = Instant::now();
    let written = write_or_give_up(&mut connection.io, &[b'x'; 4 * PIPE_BYTES]).await;
    assert_eq!(written.unwrap_err().kind(), io::ErrorKind::TimedOut);
    assert_eq!(first_write.elapsed(), DEADLINES.write);
    assert_eq!(connection.closings.get(Closing::WriteTimeout), 1);
}

#[tokio::test(start_paused = true)]
async fn a_client_reading_a_trickle_does_not_extend_the_write_timeout() {
    let mut connection = accept();
    connection.phase.response_ready();
    let first_write = Instant::now();
    let reader = tokio::spawn(async move {
        let mut byte = [0u8; 1];
        // One byte a second: progress, but not enough to take the response in time.
        while connection.client.read(&mut byte).await.is_ok_and(|n| n > 0) {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let written = write_or_give_up(&mut connection.io, &[b'x'; 4 * PIPE_BYTES]).await;
    assert_eq!(written.unwrap_err().kind(), io::ErrorKind::TimedOut);
    assert_eq!(first_write.elapsed(), DEADLINES.write);
    drop(connection.io);
    reader.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_response_taken_whole_leaves_no_write_deadline_behind() {
    let mut connection = accept();
    connection.serve_one().await;
    tokio::time::advance(DEADLINES.write * 2).await;
    connection.serve_one().await;
    assert_eq!(connection.closings.get(Closing::WriteTimeout), 0);
}

#[tokio::test(start_paused = true)]
async fn a_head_read_while_the_previous_response_is_written_is_timed_from_the_flush() {
    let mut connection = accept();
    connection.start_request().await;
    connection.phase.response_ready();
    connection
        .io
        .write_all(b"HTTP/1.1 200 OK\r\n\r\n")
        .await
        .unwrap();
    // A pipelined head's first bytes arrive before the response is flushed.
    assert_eq!(connection.receive(b"GET / HT").await, Ok(8));
    tokio::time::advance(DEADLINES.header * 2).await;
    connection.io.flush().await.unwrap();
    let flushed = Instant::now();
    assert_eq!(connection.read_once().await, Err(io::ErrorKind::TimedOut));
    assert_eq!(
        flushed.elapsed(),
        DEADLINES.header,
        "a head, not an idle wait"
    );
}

#[tokio::test(start_paused = true)]
async fn a_closed_client_is_an_end_of_file_not_a_timeout() {
    let mut connection = accept();
    drop(connection.client);
    let mut buf = [0u8; 64];
    assert_eq!(connection.io.read(&mut buf).await.unwrap(), 0);
}

/// A socket whose peer the kernel gave up on.
struct GaveUp;

impl AsyncRead for GaveUp {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::from_raw_os_error(nix::libc::ETIMEDOUT)))
    }
}

#[tokio::test(start_paused = true)]
async fn a_peer_the_kernel_gave_up_on_is_counted_once() {
    let closings = Closings::unregistered();
    let (mut io, _phase) = TimedIo::new(GaveUp, Instant::now(), DEADLINES, closings.clone());
    let mut buf = [0u8; 8];
    assert!(io.read(&mut buf).await.is_err());
    assert!(io.read(&mut buf).await.is_err());
    assert_eq!(closings.get(Closing::TcpUserTimeout), 1);
}
