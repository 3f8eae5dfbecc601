//! What a connection may hold in the kernel's socket buffers, read from the kernel's own
//! accounting (`ss -tmi`, the `skmem` of each of the server's sockets), on the server's own
//! listener: a client that pipelines requests and never reads holds no more than the bound the
//! connection cap counts, while the largest answer still fits the server's send buffer whole and
//! the window offered in the handshake takes the largest head.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use service_kit::config::ServingConfig;
use service_kit::health::Health;
use service_kit::http::Endpoints;
use service_kit::limits::KERNEL_BYTES_PER_CONNECTION;
use service_kit::metrics::Metrics;
use service_kit::server::{MAX_HEAD_BYTES, Ops, listen, serve};
use test_support::eventually;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use warp::Filter;

/// The largest answer the services give: api-a's `/history` of 5 000 samples, about 245 KB.
const LARGE_ANSWER: usize = 250 * 1000;
/// Clients that pipeline requests for the large answer and never read.
const DEAF_CLIENTS: usize = 20;

/// A server on its own listener (`listen`, as every service's), with `/` and `/large`, deadlines
/// long enough that no connection is closed while it is measured. Stops when `stop` is.
async fn start(stop: CancellationToken) -> SocketAddr {
    let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut endpoints = Endpoints::new("");
    let root = endpoints.get("/").map(|| "hello");
    let large = endpoints.get("/large").map(|| "x".repeat(LARGE_ANSWER));
    let ops = Ops {
        health: Health::always(),
        metrics: Metrics::new(),
        serving: ServingConfig {
            write_timeout: Duration::from_secs(60),
            tcp_user_timeout: Duration::from_secs(60),
            max_connections: Some(64),
            ..ServingConfig::default()
        },
    };
    tokio::spawn(serve(listener, ops, endpoints, root.or(large), stop));
    addr
}

/// What the kernel holds for one socket, from `ss`'s `skmem`.
#[derive(Debug, Clone, Copy)]
struct SocketMemory {
    /// `r`: received and not read.
    received: u64,
    /// `rb`: the receive buffer's size.
    receive_buffer: u64,
    /// `w`: queued to send, sent and not acknowledged.
    queued: u64,
    /// `tb`: the send buffer's size.
    send_buffer: u64,
    /// `f`: charged ahead of use.
    forward: u64,
}

impl SocketMemory {
    fn held(&self) -> u64 {
        self.received + self.queued + self.forward
    }
}

/// The kernel's accounting of each established socket whose local port is `port`: the server's
/// side of every connection (the clients' sides have it as their remote port).
fn server_sockets(port: u16) -> Vec<SocketMemory> {
    sockets("sport", port)
}

/// The kernel's accounting of each established socket whose remote port is `port`: the clients'
/// side of every connection to the server.
fn client_sockets(port: u16) -> Vec<SocketMemory> {
    sockets("dport", port)
}

/// `ss`'s `skmem` of each established TCP socket whose `which` port (`sport`, `dport`) is `port`.
fn sockets(which: &str, port: u16) -> Vec<SocketMemory> {
    ss("-tmHn", which, port)
        .split("skmem:(")
        .skip(1)
        .map(|fields| {
            let fields = &fields[..fields.find(')').unwrap()];
            let field = |name: &str| {
                fields
                    .split(',')
                    .find_map(|f| f.strip_prefix(name)?.parse().ok())
                    .unwrap_or_else(|| panic!("skmem field {name} in {fields}"))
            };
            SocketMemory {
                received: field("r"),
                receive_buffer: field("rb"),
                queued: field("w"),
                send_buffer: field("tb"),
                forward: field("f"),
            }
        })
        .collect()
}

/// What the clients of the server on `port` may send before it acknowledges: each client
/// socket's `snd_wnd` (`ss -i`), the window the server's side last offered.
fn client_send_windows(port: u16) -> Vec<u64> {
    ss("-tiHn", "dport", port)
        .split_whitespace()
        .filter_map(|field| field.strip_prefix("snd_wnd:")?.parse().ok())
        .collect()
}

/// `ss options` on the established TCP sockets whose `which` port is `port`.
fn ss(options: &str, which: &str, port: u16) -> String {
    let output = Command::new("ss")
        .args([
            options,
            "state",
            "established",
            which,
            "=",
            &format!(":{port}"),
        ])
        .output()
        .expect("ss (iproute2) runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn a_client_that_pipelines_and_never_reads_holds_at_most_the_counted_kernel_buffers() {
    let stop = CancellationToken::new();
    let _stop_when_done = stop.clone().drop_guard();
    let addr = start(stop).await;
    let mut deaf = Vec::new();
    for _ in 0..DEAF_CLIENTS {
        let mut client = TcpStream::connect(addr).await.unwrap();
        // As much as the kernel takes: the write stays pending once both ends' buffers are full.
        deaf.push(tokio::spawn(async move {
            let requests = b"GET /large HTTP/1.1\r\nHost: t\r\n\r\n".repeat(100_000);
            let _ = client.write_all(&requests).await;
            client
        }));
    }

    // Measured until every server socket is full: it stopped taking the client's requests (the
    // server stopped reading while it cannot send) and has answers queued that the client does
    // not take. The worst seen on the way counts too: a buffer may overshoot while it fills.
    let mut worst = 0;
    let full = eventually(
        "each server socket's buffers are full",
        Duration::from_secs(20),
        async || {
            let sockets = server_sockets(addr.port());
            worst = sockets.iter().map(SocketMemory::held).fold(worst, u64::max);
            let full = sockets.len() == DEAF_CLIENTS
                && sockets
                    .iter()
                    .all(|s| s.queued >= s.send_buffer / 2 && s.received >= s.receive_buffer / 4);
            full.then_some(sockets)
        },
    )
    .await;
    let total: u64 = full.iter().map(SocketMemory::held).sum();
    println!(
        "{DEAF_CLIENTS} pipelining clients: the server's sockets hold {} KiB in all, at most \
         {} KiB each ({} KiB counted); the first: {:?}",
        total >> 10,
        worst >> 10,
        KERNEL_BYTES_PER_CONNECTION >> 10,
        full[0]
    );
    assert!(
        worst <= KERNEL_BYTES_PER_CONNECTION,
        "{worst} bytes: {full:?}"
    );
    for client in deaf {
        client.abort();
    }
}

#[tokio::test]
async fn the_largest_answer_fits_the_send_buffer_whole_and_arrives_whole() {
    let stop = CancellationToken::new();
    let _stop_when_done = stop.clone().drop_guard();
    let addr = start(stop).await;
    // A client that takes almost nothing into its own buffer: the answer has to wait in the
    // server's, all of it, for the server never to wait on the client's round trips.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut client = socket.connect(addr).await.unwrap();
    client
        .write_all(b"GET /large HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    eventually(
        "the whole answer is in the kernel's buffers",
        Duration::from_secs(5),
        async || {
            let mut sockets = server_sockets(addr.port());
            sockets.extend(client_sockets(addr.port()));
            let held: u64 = sockets.iter().map(|s| s.received + s.queued).sum();
            (held >= LARGE_ANSWER as u64).then_some(())
        },
    )
    .await;

    let mut received = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let whole = async {
        loop {
            let head_end = received.windows(4).position(|w| w == b"\r\n\r\n");
            if head_end.is_some_and(|end| received.len() >= end + 4 + LARGE_ANSWER) {
                break;
            }
            let read = client.read(&mut buf).await.unwrap();
            assert!(read > 0, "closed after {} bytes", received.len());
            received.extend_from_slice(&buf[..read]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), whole)
        .await
        .expect("the whole answer within 5 s");
    assert!(received.starts_with(b"HTTP/1.1 200 OK"));
}

#[tokio::test]
async fn the_window_offered_in_the_handshake_takes_a_head_of_the_largest_accepted_size() {
    let stop = CancellationToken::new();
    let _stop_when_done = stop.clone().drop_guard();
    let addr = start(stop).await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let windows = client_send_windows(addr.port());
    assert!(
        windows.len() == 1 && windows[0] >= MAX_HEAD_BYTES as u64,
        "{windows:?}"
    );

    let start = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Filler: ";
    let end = "\r\n\r\n";
    let filler = "a".repeat(MAX_HEAD_BYTES - start.len() - end.len());
    client
        .write_all(format!("{start}{filler}{end}").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_string(&mut answer))
        .await
        .expect("answered within 5 s")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}
