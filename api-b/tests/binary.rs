//! The real `api-b` binary: configuration errors, signals, graceful shutdown, JSON logs,
//! `--health-check`.

use std::time::Duration;

use nix::sys::signal::Signal;
use reqwest::StatusCode;
use test_support::{
    RunningBinary, assert_each_bad_value_exits_2, assert_health_check_follows_the_instance,
    assert_unknown_argument_exits_2, eventually,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BINARY: &str = env!("CARGO_BIN_EXE_api-b");

#[test]
fn a_bad_value_exits_2_with_one_line_naming_variable_and_value() {
    assert_each_bad_value_exits_2(
        BINARY,
        "api-b",
        &[
            ("LISTEN_ADDR", "localhost:http"),
            ("LOG_LEVEL", "loud"),
            ("LOG_FORMAT", "xml"),
            ("BASE_PATH", "service2"),
            ("SHUTDOWN_DELAY", "a while"),
            ("TOKIO_WORKER_THREADS", "0"),
        ],
    );
}

#[test]
fn a_value_that_is_not_utf8_exits_2_naming_the_variable_and_others_are_ignored() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let run = |name: &str| {
        std::process::Command::new(BINARY)
            .env(name, OsString::from_vec(b"/service\xff2".to_vec()))
            .env("LISTEN_ADDR", "127.0.0.1:1")
            .arg("--health-check")
            .output()
            .unwrap()
    };
    let ours = run("BASE_PATH");
    assert_eq!(ours.status.code(), Some(2), "{ours:?}");
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        "api-b: invalid BASE_PATH=\"/service\u{fffd}2\": not valid UTF-8\n"
    );
    // A variable no service reads is none of its business: the health check runs (and fails,
    // nothing listens there).
    let other = run("SOMETHING_ELSE");
    assert_eq!(other.status.code(), Some(1), "{other:?}");
}

#[test]
fn an_unknown_argument_exits_2_with_usage() {
    assert_unknown_argument_exits_2(BINARY, "api-b");
}

#[tokio::test]
async fn sigterm_when_idle_exits_0_quickly_and_logs_are_json() {
    let service = RunningBinary::start(BINARY, &[]).await;
    let response = reqwest::get(service.url("/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    service.signal(Signal::SIGTERM);
    // Idle, it stops at once; the bound only allows for a busy test machine.
    let (status, logs) = service.exited(Duration::from_secs(2)).await;
    assert!(status.success(), "{status}");

    assert!(logs.len() >= 3, "{logs:?}");
    for line in &logs {
        let record: serde_json::Value =
            serde_json::from_str(line).expect("one JSON object per line");
        for field in ["timestamp", "level", "target", "message"] {
            assert!(record[field].is_string(), "{field} in {line}");
        }
    }
    assert!(logs.iter().any(|line| line.contains("SIGTERM received")));
}

#[tokio::test]
async fn sigint_also_shuts_down_cleanly() {
    let service = RunningBinary::start(BINARY, &[]).await;
    service.signal(Signal::SIGINT);
    let (status, _) = service.exited(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}");
}

/// Opens a connection to `service` and sends the start of a request, not yet the blank line that
/// ends its headers: a request in flight.
async fn begin_request(service: &RunningBinary) -> tokio::net::TcpStream {
    let mut connection = tokio::net::TcpStream::connect(service.addr).await.unwrap();
    connection
        .write_all(b"GET /service2/ HTTP/1.1\r\nHost: api-b\r\n")
        .await
        .unwrap();
    connection
}

/// Ends the request begun by [`begin_request`] and checks that it is answered in full.
async fn finish_request_answered(mut connection: tokio::net::TcpStream) {
    connection
        .write_all(b"Connection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    connection.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.ends_with(r#"{"status":"ok","service":"api-b"}"#),
        "{response}"
    );
}

/// SIGTERM arrives while a request is in flight: during the shutdown delay readiness is already
/// 503, the request is answered, then the listener closes and the process exits 0.
#[tokio::test]
async fn sigterm_during_a_request_turns_readiness_503_lets_it_complete_and_exits_0() {
    let service = RunningBinary::start(
        BINARY,
        &[("BASE_PATH", "/service2"), ("SHUTDOWN_DELAY", "2s")],
    )
    .await;
    let connection = begin_request(&service).await;

    service.signal(Signal::SIGTERM);
    eventually("/readyz turns 503", Duration::from_secs(2), async || {
        let readyz = reqwest::get(service.url("/readyz")).await.unwrap();
        (readyz.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(())
    })
    .await;

    finish_request_answered(connection).await;
    let (status, _) = service.exited(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}");
}

/// Without a shutdown delay the listener closes at once; the request in flight is still
/// answered after it, and only then does the process exit 0.
#[tokio::test]
async fn sigterm_without_delay_still_answers_the_request_in_flight() {
    let service = RunningBinary::start(BINARY, &[("BASE_PATH", "/service2")]).await;
    let connection = begin_request(&service).await;

    service.signal(Signal::SIGTERM);
    eventually("the listener closes", Duration::from_secs(2), async || {
        tokio::net::TcpStream::connect(service.addr)
            .await
            .is_err()
            .then_some(())
    })
    .await;

    finish_request_answered(connection).await;
    let (status, _) = service.exited(Duration::from_secs(5)).await;
    assert!(status.success(), "{status}");
}

/// The threads of the running process `service`.
fn threads(service: &RunningBinary) -> usize {
    std::fs::read_dir(format!("/proc/{}/task", service.pid()))
        .unwrap()
        .count()
}

/// One worker (a replica limited to one core) is a current-thread runtime: the main thread
/// serves and no other thread is started; more workers are that many threads beside it.
#[tokio::test]
async fn one_worker_serves_on_the_main_thread_alone_and_more_are_threads_of_their_own() {
    for (workers, expected_threads, runtime) in [
        ("1", 1, "current-thread runtime: one worker"),
        ("3", 4, "multi-thread runtime: 3 workers"),
    ] {
        let service = RunningBinary::start(BINARY, &[("TOKIO_WORKER_THREADS", workers)]).await;
        let response = reqwest::get(service.url("/")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(threads(&service), expected_threads, "{workers} worker(s)");
        let logs = service.logs();
        assert!(
            logs.iter().any(|line| line.contains(runtime)),
            "{runtime} not in {logs:?}"
        );
        service.signal(Signal::SIGTERM);
        service.exited(Duration::from_secs(5)).await;
    }
}

#[tokio::test]
async fn health_check_mode_follows_the_running_instance() {
    assert_health_check_follows_the_instance(BINARY, &[]).await;
}

/// The access log line (at debug) of the request with `id`, parsed.
fn access_line(logs: &[String], id: &str) -> Option<serde_json::Value> {
    logs.iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|record| record["request_id"] == id)
}

#[tokio::test]
async fn each_access_log_line_carries_the_request_id_returned_to_the_client() {
    let service = RunningBinary::start(
        BINARY,
        &[("BASE_PATH", "/service2"), ("LOG_LEVEL", "debug")],
    )
    .await;
    let client = reqwest::Client::new();
    let sent = client
        .get(service.url("/service2/"))
        .header("x-request-id", "ingress-3f2a9c1e")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.headers()["x-request-id"], "ingress-3f2a9c1e");
    let made = client.get(service.url("/nope")).send().await.unwrap();
    let made_id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made_id.len(), 32, "{made_id}");

    let logged = eventually("both access lines", Duration::from_secs(5), async || {
        let logs = service.logs();
        Some((
            access_line(&logs, "ingress-3f2a9c1e")?,
            access_line(&logs, &made_id)?,
        ))
    })
    .await;
    assert_eq!(
        logged.0["message"].as_str().unwrap().split(" in ").next(),
        Some("GET /service2/ -> 200")
    );
    assert_eq!(
        logged.1["message"].as_str().unwrap().split(" in ").next(),
        Some("GET /nope -> 404")
    );
    for line in [&logged.0, &logged.1] {
        assert_eq!(
            line["target"], "service_kit::server",
            "what log pipelines filter on"
        );
    }
    service.signal(Signal::SIGTERM);
    service.exited(Duration::from_secs(5)).await;
}
