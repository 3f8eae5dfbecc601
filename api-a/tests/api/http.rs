//! The HTTP surface: HEAD, JSON 404/405, the base path, request metrics, readiness at shutdown.

use api_a::Config;
use reqwest::header;
use reqwest::{Method, StatusCode};
use serde_json::json;
use service_kit::config::Env;
use test_support::{RedisServer, TestServer, eventually};

use crate::support::*;

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let server = start(&redis, &[]).await;
    let get = get(&server.url("/service1/average")).await;
    let head = request(Method::HEAD, &server.url("/service1/average")).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        head.headers[header::CONTENT_LENGTH],
        get.body.len().to_string()
    );
    assert!(head.body.is_empty());
    let head = request(Method::HEAD, &server.url("/service1/current")).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn unknown_paths_are_problem_404s_and_wrong_methods_problem_405s() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[]).await;
    for path in [
        "/current",
        "/average",
        "/service1//",
        "/service1/current/",
        "/service1/assets/",
        "/service1/assets/other.js",
        "/service1/x",
        "/service2/",
    ] {
        for method in [Method::GET, Method::POST] {
            let answer = request(method.clone(), &server.url(path)).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(answer.problem_code(), "not-found");
        }
    }
    for path in [
        "/service1/",
        "/service1",
        "/service1/current",
        "/service1/average",
        "/service1/history",
        "/service1/assets/page.js",
    ] {
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let answer = request(method.clone(), &server.url(path)).await;
            assert_eq!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(answer.headers[header::ALLOW], "GET, HEAD");
            assert_eq!(
                answer.problem(),
                (
                    "method-not-allowed".to_owned(),
                    "this path takes GET, HEAD".to_owned()
                )
            );
        }
    }
}

#[tokio::test]
async fn without_a_base_path_the_routes_are_at_the_root() {
    let redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let url = redis.url();
    let config = Config::from_env(&Env::from_pairs([("REDIS_URL", url.as_str())])).unwrap();
    let server =
        TestServer::start(|listener, shutdown| api_a::run(config, listener, shutdown)).await;
    answers_200("/current answers 200", PATIENCE, server.url("/current")).await;
    assert_eq!(get(&server.url("/average")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[]).await;
    get(&server.url("/service1/current")).await;
    get(&server.url("/service1/average")).await;
    let text = get(&server.url("/metrics")).await.body;
    for expected in [
        r#"http_requests_total{method="GET",route="/service1/current",status="503"} 1"#,
        r#"http_requests_total{method="GET",route="/service1/average",status="503"} 1"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
}

#[tokio::test]
async fn shutdown_turns_readiness_503_then_stops() {
    let redis = RedisServer::start().await;
    let mut server = start(&redis, &[("SHUTDOWN_DELAY", "500ms")]).await;
    server.shutdown();
    eventually("/readyz turns 503", PATIENCE, async || {
        let answer = get(&server.url("/readyz")).await;
        (answer.json() == json!({"status": "shutting down"})).then_some(())
    })
    .await;
    server.stopped(PATIENCE).await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_a_caching_rule_that_fits() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[]).await;
    let no_price = get(&server.url("/service1/current")).await;
    seed_fresh_sample(&redis).await;
    answers_200("a price", PATIENCE, server.url("/service1/current")).await;
    let strict = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    let cases = [
        (
            get(&server.url("/service1/current")).await,
            strict,
            "public, max-age=1",
        ),
        (
            get(&server.url("/service1/history")).await,
            strict,
            "public, max-age=1",
        ),
        (no_price, strict, "no-store"),
        (get(&server.url("/service1/nope")).await, strict, "no-store"),
        (get(&server.url("/metrics")).await, strict, "no-store"),
        (get(&server.url("/readyz")).await, strict, "no-store"),
    ];
    for (answer, policy, caching) in cases {
        let headers = &answer.headers;
        let context = format!(
            "{} {}",
            answer.status,
            answer.body.lines().next().unwrap_or("")
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{context}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{context}");
        assert_eq!(headers["content-security-policy"], policy, "{context}");
        assert_eq!(headers[header::CACHE_CONTROL], caching, "{context}");
    }
}

#[tokio::test]
async fn the_openapi_document_is_served_and_is_the_committed_copy() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[]).await;
    let answer = get(&server.url("/service1/openapi.json")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    let document = answer.json();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], "/");
    test_support::assert_committed_document(&answer.body, "docs/openapi/api-a.json");
}
