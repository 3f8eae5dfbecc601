//! The listening socket and the options of each accepted one: a backlog for bursts, kernel
//! buffers of the size the connection cap counts (see [`crate::limits`]), answers sent at once,
//! and data the client does not acknowledge given up by the kernel after a set time: a peer that
//! vanished (a node gone, a cable pulled: no reset ever comes) instead of being retransmitted to
//! for a quarter of an hour, or a client that stopped reading once the response left our buffers
//! for the kernel's (its window stays closed; since Linux 5.11 the zero-window probes are bounded
//! by the same timeout).

use std::net::SocketAddr;
use std::time::Duration;

use socket2::SockRef;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::limits::{RECEIVE_BUFFER_BYTES, SEND_BUFFER_BYTES};

/// How many connections the kernel may hold completed but not yet accepted (capped by
/// `net.core.somaxconn`, 4096 on current kernels). A burst larger than this backlog drops the
/// handshakes that overflow it, and those clients wait a whole second for their SYN to be sent
/// again: tokio's default of 1024 made a normal client wait 1 s during a flood of 2000
/// connections.
const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with room for a burst of [`LISTEN_BACKLOG`] connections, whose accepted
/// sockets have the kernel buffers the connection cap counts.
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As tokio's `TcpListener::bind` does: a restarted server can bind while old connections
    // linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    // Set on the listener, not on each accepted socket: accepted sockets inherit both sizes (and
    // with them the end of autotuning), connections waiting to be accepted are bounded too, and
    // the receive window offered in the handshake is already the bounded buffer's (tcp(7): the
    // size must be set before `listen`).
    socket.set_send_buffer_size(SEND_BUFFER_BYTES as u32)?;
    socket.set_recv_buffer_size(RECEIVE_BUFFER_BYTES as u32)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Sets the options of an accepted connection: no Nagle delay, and `TCP_USER_TIMEOUT`
/// (`unacknowledged_for`): sent data that stays unacknowledged that long drops the connection,
/// and the socket's next read or write fails with `ETIMEDOUT`. No keepalive: every other state
/// of a connection has a deadline of its own (see `timeouts`). Failures are ignored: the
/// connection is served all the same.
pub fn tune(stream: &TcpStream, unacknowledged_for: Duration) {
    // Answers are small and whole: send them without waiting for more to coalesce.
    let _ = stream.set_nodelay(true);
    let _ = SockRef::from(stream).set_tcp_user_timeout(Some(unacknowledged_for));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's side of a connection accepted on a listener made by [`listen`], and the
    /// client's side, kept open with it.
    async fn accepted() -> (TcpStream, TcpStream) {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (accepted, client) = tokio::join!(listener.accept(), client);
        (accepted.unwrap().0, client.unwrap())
    }

    #[tokio::test]
    async fn an_accepted_connection_gives_up_on_data_left_unacknowledged() {
        let (stream, _client) = accepted().await;
        tune(&stream, Duration::from_secs(30));

        let socket = SockRef::from(&stream);
        assert_eq!(
            socket.tcp_user_timeout().unwrap(),
            Some(Duration::from_secs(30))
        );
        assert!(stream.nodelay().unwrap());
    }

    #[tokio::test]
    async fn an_accepted_connection_inherits_the_listeners_bounded_buffers() {
        let (stream, _client) = accepted().await;

        // Linux reports twice the size asked for: its bookkeeping is counted in the buffer.
        let socket = SockRef::from(&stream);
        assert_eq!(socket.send_buffer_size().unwrap(), 2 * SEND_BUFFER_BYTES);
        assert_eq!(socket.recv_buffer_size().unwrap(), 2 * RECEIVE_BUFFER_BYTES);
    }
}
