//! The listening socket and the options of each accepted one: a backlog for bursts, answers
//! sent at once, and a peer that vanished (a node gone, a cable pulled: no reset ever comes)
//! noticed by the kernel instead of being retransmitted to for a quarter of an hour.

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// How many connections the kernel may hold completed but not yet accepted (capped by
/// `net.core.somaxconn`, 4096 on current kernels). A burst larger than this backlog drops the
/// handshakes that overflow it, and those clients wait a whole second for their SYN to be sent
/// again: tokio's default of 1024 made a normal client wait 1 s during a flood of 2000
/// connections.
const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `addr` with room for a burst of [`LISTEN_BACKLOG`] connections.
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As tokio's `TcpListener::bind` does: a restarted server can bind while old connections
    // linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Sets the options of an accepted connection. `dead_peer_after` becomes `TCP_USER_TIMEOUT`
/// (sent data unacknowledged for that long drops the connection) and paces TCP keepalive, whose
/// probes then start after a third of it without traffic, every third of it: with
/// `TCP_USER_TIMEOUT` set, Linux drops a connection whose probes went unanswered for that long
/// (tcp(7)), so a silent dead peer is noticed too. Failures are ignored: the connection is
/// served all the same.
pub fn tune(stream: &TcpStream, dead_peer_after: Duration) {
    // Answers are small and whole: send them without waiting for more to coalesce.
    let _ = stream.set_nodelay(true);
    let socket = SockRef::from(stream);
    let _ = socket.set_tcp_user_timeout(Some(dead_peer_after));
    let probe_every = (dead_peer_after / 3).max(Duration::from_secs(1));
    let keepalive = TcpKeepalive::new()
        .with_time(probe_every)
        .with_interval(probe_every);
    let _ = socket.set_tcp_keepalive(&keepalive);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_accepted_connection_gives_up_on_a_dead_peer_and_probes_an_idle_one() {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (accepted, _client) = tokio::join!(listener.accept(), client);
        let (stream, _) = accepted.unwrap();
        tune(&stream, Duration::from_secs(30));

        let socket = SockRef::from(&stream);
        assert_eq!(
            socket.tcp_user_timeout().unwrap(),
            Some(Duration::from_secs(30))
        );
        assert!(socket.keepalive().unwrap());
        assert_eq!(
            socket.tcp_keepalive_time().unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(10)
        );
        assert!(stream.nodelay().unwrap());
    }
}
