//! Routes answered directly (`Endpoints::get_direct`): a GET or HEAD never goes through warp's
//! filters, and the answer is the one warp would give, with everything every answer gets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use service_kit::config::ServingConfig;
use service_kit::headers::{Caching, cached};
use service_kit::health::Health;
use service_kit::http::Endpoints;
use service_kit::metrics::Metrics;
use service_kit::server::{Ops, serve};
use test_support::TestServer;
use warp::Filter;
use warp::reply::Response;

/// How many requests each way reached.
#[derive(Default)]
struct Counts {
    /// The answer was made.
    answered: AtomicUsize,
    /// Warp's filters passed the answer on.
    through_warp: AtomicUsize,
}

fn answer() -> Response {
    cached(
        warp::reply::json(&serde_json::json!({"price": 1})),
        Caching::Briefly,
    )
}

/// `/direct` answered directly, and `/filtered`, the same answer by a plain route; both count
/// what reaches them.
async fn start(counts: Arc<Counts>) -> TestServer {
    TestServer::start(|listener, shutdown| async move {
        let mut endpoints = Endpoints::new("");
        let made = counts.clone();
        let direct = endpoints.get_direct("/direct", move || {
            made.answered.fetch_add(1, Ordering::SeqCst);
            answer()
        });
        let filtered = endpoints.get("/filtered").map(answer);
        let through_warp = counts.clone();
        let routes = direct.or(filtered).unify().map(move |response: Response| {
            through_warp.through_warp.fetch_add(1, Ordering::SeqCst);
            response
        });
        let ops = Ops {
            health: Health::always(),
            metrics: Metrics::new(),
            serving: ServingConfig::default(),
        };
        serve(listener, ops, endpoints, routes, shutdown).await;
    })
    .await
}

/// The headers that must be the same whichever way answered (not the date, not the id).
fn comparable(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn a_get_or_head_of_a_direct_route_never_goes_through_warp() {
    let counts = Arc::new(Counts::default());
    let server = start(counts.clone()).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client.get(server.url("/direct")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let head = client.head(server.url("/direct")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(counts.answered.load(Ordering::SeqCst), 4);
    assert_eq!(counts.through_warp.load(Ordering::SeqCst), 0);

    let filtered = client.get(server.url("/filtered")).send().await.unwrap();
    assert_eq!(filtered.status(), StatusCode::OK);
    assert_eq!(
        counts.through_warp.load(Ordering::SeqCst),
        1,
        "a plain route goes through warp (the count works)"
    );
}

#[tokio::test]
async fn a_direct_answer_is_the_one_warp_gives_with_the_headers_every_answer_gets() {
    let server = start(Arc::default()).await;
    let client = reqwest::Client::new();
    let direct = client.get(server.url("/direct")).send().await.unwrap();
    let filtered = client.get(server.url("/filtered")).send().await.unwrap();
    let headers = direct.headers().clone();
    assert_eq!(comparable(&headers), comparable(filtered.headers()));
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        headers["cache-control"], "public, max-age=1",
        "the route's own"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers.contains_key("content-security-policy"));
    assert_eq!(
        headers["x-request-id"].len(),
        32,
        "one is made when none is sent"
    );
    assert_eq!(direct.text().await.unwrap(), filtered.text().await.unwrap());

    let head = client.head(server.url("/direct")).send().await.unwrap();
    assert_eq!(comparable(head.headers()), comparable(&headers));
    assert_eq!(head.bytes().await.unwrap().len(), 0, "HEAD has no body");

    let with_query = client.get(server.url("/direct?x=1")).send().await.unwrap();
    assert_eq!(
        with_query.status(),
        StatusCode::OK,
        "the query plays no part"
    );
    let sent = client
        .get(server.url("/direct"))
        .header("x-request-id", "from-the-proxy")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.headers()["x-request-id"], "from-the-proxy");
}

#[tokio::test]
async fn other_methods_and_other_paths_get_what_every_route_gives() {
    let counts = Arc::new(Counts::default());
    let server = start(counts.clone()).await;
    let client = reqwest::Client::new();
    let post = client.post(server.url("/direct")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    assert_eq!(post.headers()["content-type"], "application/problem+json");
    let below = client.get(server.url("/direct/")).send().await.unwrap();
    assert_eq!(below.status(), StatusCode::NOT_FOUND, "paths match exactly");
    assert_eq!(counts.answered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn direct_answers_are_counted_under_their_route() {
    let server = start(Arc::default()).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        client.get(server.url("/direct")).send().await.unwrap();
    }
    client.head(server.url("/direct")).send().await.unwrap();
    client.post(server.url("/direct")).send().await.unwrap();
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"http_requests_total{method="GET",route="/direct",status="200"} 3"#,
        r#"http_requests_total{method="HEAD",route="/direct",status="200"} 1"#,
        r#"http_requests_total{method="POST",route="/direct",status="405"} 1"#,
        r#"http_request_duration_seconds_count{method="GET",route="/direct",status="200"} 3"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn a_request_with_a_body_leaves_its_connection_open_for_the_next_one() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(Arc::default()).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let chunked = "GET /direct HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
        5\r\nhello\r\n0\r\n\r\n";
    let sized = format!(
        "GET /direct HTTP/1.1\r\nHost: x\r\nContent-Length: 9000\r\n\r\n{}",
        "b".repeat(9000)
    );
    let last = "GET /direct HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream
        .write_all(format!("{chunked}{sized}{last}").as_bytes())
        .await
        .unwrap();
    let mut answers = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answers),
    )
    .await
    .expect("the server closes after the last request")
    .unwrap();
    let answers = String::from_utf8_lossy(&answers);
    assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), 3, "{answers}");
    assert_eq!(
        answers.matches("connection: close").count(),
        1,
        "only the last one closes: {answers}"
    );
}
