//! `--health-check`: the binary asks its own running instance for `/healthz`.
//!
//! Runtime images have no shell and no curl, so container healthchecks run the service binary
//! itself in this mode. A plain-HTTP client on hyper (already in every binary through warp)
//! rather than reqwest, which would add a TLS stack to api-a and api-b for a loopback call.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use http_body_util::Empty;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum HealthCheckError {
    #[error("no answer from {0} within {1:?}")]
    Timeout(SocketAddr, Duration),
    #[error("cannot connect to {0}: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("HTTP exchange with {0} failed: {1}")]
    Http(SocketAddr, hyper::Error),
    #[error("{0}/healthz answered {1}")]
    Unhealthy(SocketAddr, hyper::StatusCode),
}

/// Succeeds if `GET /healthz` on the instance listening on `listen_addr` answers 200 in time.
pub async fn check(listen_addr: SocketAddr, timeout: Duration) -> Result<(), HealthCheckError> {
    let target = reachable_addr(listen_addr);
    tokio::time::timeout(timeout, get_healthz(target))
        .await
        .map_err(|_| HealthCheckError::Timeout(target, timeout))?
}

async fn get_healthz(target: SocketAddr) -> Result<(), HealthCheckError> {
    let stream = TcpStream::connect(target)
        .await
        .map_err(|e| HealthCheckError::Connect(target, e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| HealthCheckError::Http(target, e))?;
    let request = Request::get("/healthz")
        .header(hyper::header::HOST, target.to_string())
        .body(Empty::<&[u8]>::new())
        .expect("a static request is valid");
    // The connection is driven here, beside its request, not in a task of its own: it ends with
    // the check, whatever the outcome. One that ends cleanly before the answer leaves the request
    // to fail, saying why.
    let mut connection = std::pin::pin!(connection);
    let response = tokio::select! {
        response = sender.send_request(request) => response,
        Err(err) = &mut connection => Err(err),
    }
    .map_err(|e| HealthCheckError::Http(target, e))?;
    match response.status() {
        hyper::StatusCode::OK => Ok(()),
        status => Err(HealthCheckError::Unhealthy(target, status)),
    }
}

/// A wildcard listen address is reached through loopback.
fn reachable_addr(listen_addr: SocketAddr) -> SocketAddr {
    let ip = match listen_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen_addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_are_reached_over_loopback() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(reachable_addr(addr("0.0.0.0:8080")), addr("127.0.0.1:8080"));
        assert_eq!(reachable_addr(addr("[::]:9090")), addr("[::1]:9090"));
        assert_eq!(reachable_addr(addr("10.0.0.7:8080")), addr("10.0.0.7:8080"));
    }

    #[tokio::test]
    async fn a_closed_port_fails_the_check() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = check(addr, Duration::from_secs(2)).await.unwrap_err();
        assert!(matches!(err, HealthCheckError::Connect(..)), "{err}");
    }
}
