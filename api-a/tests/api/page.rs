//! The web page as the server renders it (what a browser without JavaScript shows), its assets,
//! and the message of each state. `tests/browser/` checks it in a real browser.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use test_support::RedisServer;

use crate::support::*;

/// The page at `path`, checked to be an HTML answer.
async fn page(server: &test_support::TestServer, path: &str) -> String {
    let answer = get(&server.url(path)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers[CONTENT_TYPE], "text/html; charset=utf-8");
    answer.body
}

/// The text of the element with `id` (its first text node), or `None`.
fn text_of<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(html[open_end..close].trim())
}

#[tokio::test]
async fn the_page_shows_the_price_the_average_and_one_dot_per_sample() {
    let redis = RedisServer::start().await;
    let samples: Vec<_> = [
        (40, 97_000.0),
        (30, 97_100.0),
        (20, 97_200.0),
        (10, 97_300.0),
    ]
    .into_iter()
    .map(|(age, price)| sample_aged(Duration::from_secs(age), price, &["coinbase", "kraken"]))
    .chain([sample_aged(
        Duration::ZERO,
        97_123.456_7,
        &["kraken", "gemini"],
    )])
    .collect();
    seed(&redis, &samples).await;
    let server = start(&redis, &[]).await;

    let html = page(&server, "/service1/").await;
    assert!(
        html.contains(r#"<data id="price" value="97123.46">$97,123.46</data>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<data id="average" value="97144.69">$97,144.69</data>"#),
        "{html}"
    );
    assert_eq!(text_of(&html, "samples"), Some("5"));
    assert_eq!(text_of(&html, "sources"), Some("kraken, gemini"));
    assert_eq!(
        text_of(&html, "agreement"),
        Some("2 of 2 exchanges agree within 0 %")
    );
    assert!(
        html.contains(r#"<span id="continuity" hidden></span>"#),
        "{html}"
    );
    // 5 samples of a poller writing every 10 s: 50 s of the 10 minutes.
    assert_eq!(
        text_of(&html, "coverage"),
        Some("They cover 8.3 % of the window.")
    );
    assert_eq!(html.matches("<circle").count(), 5, "one dot per sample");
    assert!(
        html.contains(r#"<line id="average-line" x1="#),
        "the average is drawn"
    );
    assert!(
        text_of(&html, "chart-summary")
            .unwrap()
            .contains("5 samples between $97,000.00 and $97,300.00")
    );
    assert!(
        html.contains(r#"id="notice" class="notice " role="status" hidden"#),
        "no notice: {html}"
    );
    assert!(
        html.contains(r#"data-refresh-ms="10000""#),
        "the samples' spacing: {html}"
    );
}

#[tokio::test]
async fn the_page_reaches_its_assets_and_routes_relative_to_its_own_url() {
    let redis = RedisServer::start().await;
    seed_fresh_sample(&redis).await;
    let server = start(&redis, &[]).await;

    let with_slash = page(&server, "/service1/").await;
    assert!(with_slash.contains(r#"data-api="""#));
    assert!(with_slash.contains(r#"<link rel="stylesheet" href="assets/page.css?v="#));
    let without = page(&server, "/service1").await;
    assert!(without.contains(r#"data-api="service1/""#));
    assert!(without.contains(r#"<script src="service1/assets/page.js?v="#));

    for (path, content_type) in [
        ("/service1/assets/page.css", "text/css; charset=utf-8"),
        ("/service1/assets/page.js", "text/javascript; charset=utf-8"),
        ("/service1/assets/icon.svg", "image/svg+xml"),
    ] {
        let href = with_slash
            .split('"')
            .find(|s| s.starts_with(&path["/service1/".len()..]))
            .unwrap_or_else(|| panic!("{path} is linked"));
        let asset = get(&server.url(&format!("/service1/{href}"))).await;
        assert_eq!(asset.status, StatusCode::OK, "{href}");
        assert_eq!(asset.headers[CONTENT_TYPE], content_type);
        assert_eq!(
            asset.headers[CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(!asset.body.is_empty());
    }
}

#[tokio::test]
async fn each_state_has_its_own_message() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[("STALE_AFTER", "20s"), ("AVERAGE_WINDOW", "60s")]).await;
    let notice = |html: &str| text_of(html, "notice").unwrap_or_default().to_owned();

    let empty = page(&server, "/service1/").await;
    assert!(notice(&empty).starts_with("No price yet"), "{empty}");
    assert!(empty.contains(r#"<data id="price" value="">—</data>"#));

    let old = sample_aged(Duration::from_secs(40), 97_000.0, &["kraken"]);
    seed(&redis, std::slice::from_ref(&old)).await;
    answers_200("a price", PATIENCE, server.url("/service1/current")).await;
    let stale = page(&server, "/service1/").await;
    let expected = format!(
        "Stale: no new price since {} UTC.",
        &rfc3339(old.fetched_at_ms)[11..19]
    );
    assert_eq!(notice(&stale), expected);
    assert!(stale.contains(r#"class="badge">stale"#), "{stale}");

    let server = start(&redis, &[("STALE_AFTER", "5m"), ("AVERAGE_WINDOW", "5s")]).await;
    let outside = page(&server, "/service1/").await;
    assert_eq!(notice(&outside), "No price within the last 5 seconds.");
    assert!(
        outside.contains(r#"<line id="average-line" hidden/>"#),
        "{outside}"
    );

    let mut redis = redis;
    redis.kill();
    let unavailable = eventually_page(&server, "The price store is unavailable").await;
    assert!(unavailable.contains(r#"class="notice error""#));
}

/// Waits for the page to show a notice starting with `start`.
async fn eventually_page(server: &test_support::TestServer, start: &str) -> String {
    test_support::eventually(&format!("the notice {start}"), PATIENCE, async || {
        let html = page(server, "/service1/").await;
        text_of(&html, "notice")
            .is_some_and(|text| text.starts_with(start))
            .then_some(html)
    })
    .await
}

#[tokio::test]
async fn the_page_allows_only_its_own_script_style_and_routes() {
    let redis = RedisServer::start().await;
    let server = start(&redis, &[]).await;
    let answer = get(&server.url("/service1/")).await;
    let policy = answer.headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert_eq!(
        policy,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    assert_eq!(answer.headers[CACHE_CONTROL], "no-cache");
    assert!(!answer.body.contains("style="), "no inline style");
    assert!(!answer.body.contains("<script>"), "no inline script");
}
