//! Service B in-process on 127.0.0.1:0: every route, status and error shape.

use std::time::Duration;

use api_b::Config;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use service_kit::config::Env;
use test_support::{TestServer, eventually};

async fn start(env: &[(&str, &str)]) -> TestServer {
    let config = Config::from_env(&Env::from_pairs(env.iter().copied())).unwrap();
    TestServer::start(|listener, shutdown| api_b::run(config, listener, shutdown)).await
}

async fn request(method: Method, url: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, url)
        .send()
        .await
        .unwrap()
}

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/json",
        "{response:?}"
    );
    response.json().await.unwrap()
}

/// The problem details of an error answer, checked to be `application/problem+json`.
async fn problem_of(response: reqwest::Response) -> Value {
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json",
        "{response:?}"
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn root_under_the_base_path_answers_ok() {
    let server = start(&[("BASE_PATH", "/service2")]).await;
    for path in ["/service2/", "/service2"] {
        let response = request(Method::GET, &server.url(path)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(json_of(response).await["status"], "ok", "{path}");
    }
}

#[tokio::test]
async fn root_without_a_base_path_is_slash() {
    let server = start(&[]).await;
    let response = request(Method::GET, &server.url("/")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await["status"], "ok");
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let server = start(&[("BASE_PATH", "/service2")]).await;
    let get = request(Method::GET, &server.url("/service2/")).await;
    let head = request(Method::HEAD, &server.url("/service2/")).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()[header::CONTENT_TYPE],
        get.headers()[header::CONTENT_TYPE]
    );
    assert_eq!(
        head.headers()[header::CONTENT_LENGTH],
        get.headers()[header::CONTENT_LENGTH]
    );
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_paths_are_problem_404s_whatever_the_method() {
    let server = start(&[("BASE_PATH", "/service2")]).await;
    for path in [
        "/",
        "/service2/x",
        "/service2x",
        "/service1/",
        "/healthz/",
        "/favicon.ico",
    ] {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let response = request(method.clone(), &server.url(path)).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(
                problem_of(response).await,
                json!({
                    "type": "tag:btc-price-services,2026:not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "no route at this path"
                })
            );
        }
    }
}

#[tokio::test]
async fn known_paths_with_the_wrong_method_are_problem_405s_with_allow() {
    let server = start(&[("BASE_PATH", "/service2")]).await;
    for path in ["/service2/", "/healthz", "/readyz", "/metrics"] {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let response = request(method.clone(), &server.url(path)).await;
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
            assert_eq!(
                problem_of(response).await,
                json!({
                    "type": "tag:btc-price-services,2026:method-not-allowed",
                    "title": "Method not allowed",
                    "status": 405,
                    "detail": "this path takes GET, HEAD"
                })
            );
        }
    }
}

#[tokio::test]
async fn health_and_readiness_are_at_the_root() {
    let server = start(&[("BASE_PATH", "/service2")]).await;
    let healthz = request(Method::GET, &server.url("/healthz")).await;
    assert_eq!(healthz.status(), StatusCode::OK);
    assert_eq!(json_of(healthz).await, json!({"status": "ok"}));
    let readyz = request(Method::GET, &server.url("/readyz")).await;
    assert_eq!(readyz.status(), StatusCode::OK);
    assert_eq!(json_of(readyz).await, json!({"status": "ready"}));
    let under_base = request(Method::GET, &server.url("/service2/healthz")).await;
    assert_eq!(under_base.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_method_and_status() {
    let server = start(&[("BASE_PATH", "/service2")]).await;
    request(Method::GET, &server.url("/service2/")).await;
    request(Method::GET, &server.url("/service2")).await;
    request(Method::POST, &server.url("/service2/")).await;
    request(Method::GET, &server.url("/no/such/path/1")).await;
    request(Method::GET, &server.url("/no/such/path/2")).await;

    let response = request(Method::GET, &server.url("/metrics")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"http_requests_total{method="GET",route="/service2/",status="200"} 2"#,
        r#"http_requests_total{method="POST",route="/service2/",status="405"} 1"#,
        r#"http_requests_total{method="GET",route="unmatched",status="404"} 2"#,
        r#"http_request_duration_seconds_count{method="GET",route="/service2/",status="200"} 2"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(
        !text.contains("/no/such/path"),
        "raw paths must not become labels"
    );
}

#[tokio::test]
async fn readiness_turns_503_when_shutdown_starts_then_the_listener_closes() {
    let mut server = start(&[("SHUTDOWN_DELAY", "1s")]).await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    server.shutdown();
    let readyz = eventually("/readyz turns 503", Duration::from_secs(1), async || {
        let readyz = client.get(server.url("/readyz")).send().await.unwrap();
        (readyz.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(readyz)
    })
    .await;
    assert_eq!(json_of(readyz).await, json!({"status": "shutting down"}));
    // Still serving during the delay: liveness and the API are unaffected.
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client.get(server.url("/")).send().await.unwrap().status(),
        StatusCode::OK
    );

    let addr = server.addr;
    server.stopped(Duration::from_secs(5)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed once the service has stopped"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_is_never_cached() {
    let server = start(&[("BASE_PATH", "/service2")]).await;
    for path in ["/service2/", "/nope", "/metrics"] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            "{path}"
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{path}");
    }
}

#[tokio::test]
async fn the_openapi_document_is_served_and_is_the_committed_copy() {
    let server = start(&[("BASE_PATH", "/service2")]).await;
    let response = reqwest::get(server.url("/service2/openapi.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    let document: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    test_support::assert_committed_document(&body, "docs/openapi/api-b.json");
}
