//! The server's connection hygiene against raw TCP clients: the request head's size cap, the
//! header, idle and write timeouts, and the connection limit.

use std::time::{Duration, Instant};

use service_kit::config::ServingConfig;
use service_kit::health::Health;
use service_kit::http::Endpoints;
use service_kit::metrics::Metrics;
use service_kit::server::{MAX_HEAD_BYTES, Ops, serve};
use test_support::{TestServer, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use warp::Filter;

const HEADER_TIMEOUT: Duration = Duration::from_millis(300);
const IDLE_TIMEOUT: Duration = Duration::from_millis(1500);
const WRITE_TIMEOUT: Duration = Duration::from_millis(600);
/// Closed later than this, a connection was closed by the idle timeout, not the one under test
/// (halfway between the two leaves room for a busy machine).
const CLOSED_BY_A_SHORTER_TIMEOUT: Duration = Duration::from_millis(900);
/// The body of `/big`: larger than what the kernel buffers for a client that reads nothing.
const BIG_BODY: usize = 256 * 1024;

/// A service with two routes, `/` and `/big`, served with short timeouts and `max_connections`.
async fn start(max_connections: usize) -> TestServer {
    TestServer::start(move |listener, shutdown| async move {
        let mut endpoints = Endpoints::new("");
        let root = endpoints.get("/").map(|| "hello");
        let big = endpoints.get("/big").map(|| "x".repeat(BIG_BODY));
        let ops = Ops {
            health: Health::always(),
            metrics: Metrics::new(),
            serving: ServingConfig {
                header_timeout: HEADER_TIMEOUT,
                idle_timeout: IDLE_TIMEOUT,
                write_timeout: WRITE_TIMEOUT,
                max_connections: Some(max_connections),
                ..ServingConfig::default()
            },
        };
        serve(listener, ops, endpoints, root.or(big), shutdown).await;
    })
    .await
}

/// A connection whose client asked the kernel for a small receive buffer, as a client that
/// wants to stall the server's writes does.
async fn connect_with_a_small_receive_buffer(server: &TestServer) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(server.addr).await.unwrap()
}

/// The value of the sample `series` (name and labels, as rendered) on the server's `/metrics`.
async fn metric(server: &TestServer, series: &str) -> Option<f64> {
    let text = reqwest::get(server.url("/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A GET of `/` with one `X-Filler` header making the head `head_bytes` long.
fn request_of_size(head_bytes: usize) -> Vec<u8> {
    let start = "GET / HTTP/1.1\r\nHost: t\r\nX-Filler: ";
    let end = "\r\n\r\n";
    let filler = "a".repeat(head_bytes - start.len() - end.len());
    format!("{start}{filler}{end}").into_bytes()
}

/// The status line of the next response on `connection`, or `None` if it closed first.
async fn status_line(connection: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !received.windows(2).any(|w| w == b"\r\n") {
        let n = connection.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        received.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&received);
    text.lines().next().map(str::to_owned)
}

/// Reads until the server closes `connection`; returns when that happened.
async fn closed_at(connection: &mut TcpStream) -> Instant {
    let mut buf = [0u8; 4096];
    loop {
        match connection.read(&mut buf).await {
            Ok(0) | Err(_) => return Instant::now(),
            Ok(_) => {}
        }
    }
}

#[tokio::test]
async fn a_head_up_to_16_kib_is_served_and_a_larger_one_is_a_431() {
    let server = start(64).await;
    let mut fits = TcpStream::connect(server.addr).await.unwrap();
    fits.write_all(&request_of_size(MAX_HEAD_BYTES - 100))
        .await
        .unwrap();
    assert_eq!(
        status_line(&mut fits).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );

    let mut too_large = TcpStream::connect(server.addr).await.unwrap();
    too_large
        .write_all(&request_of_size(64 * 1024))
        .await
        .unwrap();
    assert_eq!(
        status_line(&mut too_large).await.as_deref(),
        Some("HTTP/1.1 431 Request Header Fields Too Large")
    );
}

#[tokio::test]
async fn a_client_that_stops_mid_head_is_cut_off_after_the_header_timeout() {
    let server = start(64).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let first_byte = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), closed_at(&mut slow))
        .await
        .expect("the slow client is cut off");
    let after = closed - first_byte;
    assert!(after >= HEADER_TIMEOUT, "{after:?}");
    assert!(
        after < CLOSED_BY_A_SHORTER_TIMEOUT,
        "closed after {after:?}: by the idle timeout, not the header timeout"
    );
}

#[tokio::test]
async fn a_client_that_connects_and_sends_nothing_is_cut_off_at_the_header_timeout() {
    let server = start(64).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let connected = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), closed_at(&mut silent))
        .await
        .expect("the silent client is cut off");
    let after = closed - connected;
    assert!(
        after >= HEADER_TIMEOUT - Duration::from_millis(50),
        "{after:?}"
    );
    assert!(
        after < CLOSED_BY_A_SHORTER_TIMEOUT,
        "closed after {after:?}: by the idle timeout, not the header timeout"
    );
    let counted = metric(
        &server,
        "http_connections_closed_total{reason=\"header_timeout\"}",
    );
    assert_eq!(counted.await, Some(1.0));
}

#[tokio::test]
async fn a_client_that_pipelines_requests_and_reads_nothing_is_cut_off_at_the_write_timeout() {
    let server = start(64).await;
    let mut deaf = connect_with_a_small_receive_buffer(&server).await;
    let pipelined = b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n".repeat(64);
    deaf.write_all(&pipelined).await.unwrap();
    let sent = Instant::now();
    // The client reads nothing until the server gives up; then it finds the connection closed
    // after the answers the kernel had taken.
    let gave_up = eventually(
        "the server closes the connection",
        Duration::from_secs(10),
        async || {
            let closed = metric(
                &server,
                "http_connections_closed_total{reason=\"write_timeout\"}",
            );
            (closed.await? >= 1.0).then(Instant::now)
        },
    )
    .await;
    let after = gave_up - sent;
    assert!(after >= WRITE_TIMEOUT, "{after:?}");
    assert!(
        after < CLOSED_BY_A_SHORTER_TIMEOUT + Duration::from_millis(500),
        "{after:?}"
    );
    tokio::time::timeout(Duration::from_secs(5), closed_at(&mut deaf))
        .await
        .expect("the connection is closed");
    let open = metric(&server, "http_connections_open");
    assert_eq!(
        open.await,
        Some(1.0),
        "only the metrics request's connection"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_and_closes_after_the_idle_one() {
    let server = start(64).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        status_line(&mut idle).await.as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    let answered = Instant::now();
    // Well past the header timeout, the connection is still usable.
    tokio::time::sleep(HEADER_TIMEOUT * 2).await;
    idle.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut body_and_status = String::new();
    let mut buf = [0u8; 1024];
    while !body_and_status.ends_with("hello") {
        let n = idle.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the idle timeout: {body_and_status}");
        body_and_status.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        body_and_status.contains("HTTP/1.1 200 OK"),
        "{body_and_status}"
    );
    assert!(
        answered.elapsed() < IDLE_TIMEOUT,
        "the test itself was too slow"
    );

    let second_answer = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), closed_at(&mut idle))
        .await
        .expect("the idle connection is closed");
    assert!(closed - second_answer >= IDLE_TIMEOUT - Duration::from_millis(100));
}

#[tokio::test]
async fn at_the_connection_limit_a_new_client_waits_until_one_closes() {
    let server = start(2).await;
    let mut held: Vec<TcpStream> = Vec::new();
    for _ in 0..2 {
        let mut connection = TcpStream::connect(server.addr).await.unwrap();
        connection
            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        assert!(status_line(&mut connection).await.is_some());
        held.push(connection);
    }
    // The kernel completes the handshake, but the server does not take the connection yet.
    let mut waiting = TcpStream::connect(server.addr).await.unwrap();
    waiting
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let early = tokio::time::timeout(Duration::from_millis(500), status_line(&mut waiting)).await;
    assert!(early.is_err(), "answered beyond the limit: {early:?}");

    held.pop();
    let answered = tokio::time::timeout(Duration::from_secs(5), status_line(&mut waiting))
        .await
        .expect("answered once a slot is free");
    assert_eq!(answered.as_deref(), Some("HTTP/1.1 200 OK"));

    let metrics = eventually(
        "the limit shows in the metrics",
        Duration::from_secs(5),
        async || {
            let text = reqwest::get(format!("http://{}/metrics", server.addr))
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            let reached = text
                .lines()
                .find_map(|line| line.strip_prefix("http_connection_limit_reached_total "))?;
            (reached.parse::<f64>().ok()? >= 1.0).then_some(text)
        },
    );
    // The metrics request itself needs a slot: free one more.
    drop(held);
    let text = metrics.await;
    assert!(text.contains("http_connections_open"), "{text}");
}
