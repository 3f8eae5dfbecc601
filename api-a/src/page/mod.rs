//! Service A's web page, `GET {BASE_PATH}/`: the current price, the average and a chart of the
//! window, rendered on the server (complete without JavaScript) from the same snapshot as the JSON
//! routes, then kept up to date by `assets/page.js` from `/current`, `/average` and `/history`.
//!
//! The HTML is an askama template (`templates/page.html`); the stylesheet, the script and the
//! icon are files in `assets/`, compiled in and served under `{BASE_PATH}/assets/` with a version
//! in their URL, so they can be cached for good. Every URL in the page is relative, so the page
//! works under any prefix.

mod assets;
mod chart;
mod format;
mod messages;

use std::sync::Arc;
use std::time::{Duration, Instant};

use askama::Template;
use price_store::Sample;
use service_kit::headers::{Caching, cached};
use warp::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use warp::reply::Response;

pub use assets::{ASSETS, Asset};

use crate::errors::{NO_PRICE_IN_WINDOW, NO_PRICE_YET, STORE_UNAVAILABLE};
use crate::handlers::State;
use crate::models::{Current, now_ms, rfc3339, round_to_cent};
use crate::snapshot::{Reading, Snapshot};
use chart::Chart;
use messages::message;

/// The page loads its own stylesheet, script and icon, and the script reads the JSON routes of
/// the same origin; nothing else, nothing inline.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The points the chart draws: about one per pixel of a phone's width.
const CHART_POINTS: usize = 240;

/// How often the page refreshes when the samples do not tell (fewer than two), and the bounds of
/// what they may tell.
const DEFAULT_REFRESH: Duration = Duration::from_secs(10);
const REFRESH_BOUNDS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// A state the page reports above the figures.
struct Notice {
    /// `info`, `warning` or `error`: how it looks.
    kind: &'static str,
    text: String,
}

struct CurrentView {
    price: f64,
    price_text: String,
    as_of: String,
    as_of_clock: String,
    age: String,
    stale: bool,
    sources: String,
    agreement: String,
    /// Why a price fewer than the quorum back is shown; `None` for a quorum's price.
    continuity: Option<String>,
}

struct AverageView {
    average: f64,
    average_text: String,
    samples: usize,
    from: String,
    from_clock: String,
    to: String,
    to_clock: String,
    coverage: Option<String>,
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page<'a> {
    /// The routes' URL relative to the page's: `` when the page's URL ends with `/`.
    api: &'a str,
    messages: &'static [(&'static str, &'static str)],
    /// The problem types the script tells the states by, by code.
    problems: [(&'static str, String); 3],
    refresh_ms: u128,
    chart_points: usize,
    window: String,
    notice: Option<Notice>,
    current: Option<CurrentView>,
    average: Option<AverageView>,
    chart: Chart,
    summary: String,
    geometry: chart::Geometry,
    max_dots: usize,
}

impl Page<'_> {
    /// The URL of the asset named `name`, relative to the page.
    fn asset(&self, name: &str) -> String {
        let asset = ASSETS
            .iter()
            .find(|asset| asset.name == name)
            .expect("the template names assets that exist");
        format!("{}{}", self.api, asset.url())
    }
}

/// `GET {BASE_PATH}/` (and without the slash), at `path`.
#[utoipa::path(
    get,
    path = "/",
    tag = "page",
    description = "The web page: price, average and a chart of the window, complete without \
        JavaScript; a script refreshes it from `/current`, `/average` and `/history`. Always 200: \
        a state without a price (none yet, stale, store unavailable, none in the window) is a \
        message on the page. Also answers without the trailing slash.",
    responses((status = 200, description = "The page.", body = String,
        content_type = "text/html; charset=utf-8"))
)]
pub fn page(state: Arc<State>, path: warp::filters::path::FullPath) -> Response {
    let api = relative_root(path.as_str());
    let html = render(
        &state.snapshot.borrow(),
        &api,
        state.average_window,
        state.stale_after,
    );
    let mut response = cached(warp::reply::html(html), Caching::Revalidate);
    response.headers_mut().insert(
        CONTENT_SECURITY_POLICY,
        warp::http::HeaderValue::from_static(PAGE_POLICY),
    );
    response
}

/// `GET {BASE_PATH}/assets/<name>`: one of [`ASSETS`].
pub fn asset(asset: &'static Asset) -> Response {
    let mut response = cached(asset.body, Caching::Forever);
    response.headers_mut().insert(
        CONTENT_TYPE,
        warp::http::HeaderValue::from_static(asset.content_type),
    );
    response
}

/// The prefix that turns a route's name into a URL relative to the page at `path`: nothing when
/// `path` ends with `/` (`/service1/`), its last segment and a slash when it does not
/// (`/service1` → `service1/`).
fn relative_root(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((_, "")) | None => String::new(),
        Some((_, last)) => format!("{last}/"),
    }
}

/// The page as `snapshot` shows it now.
fn render(snapshot: &Snapshot, api: &str, window: Duration, stale_after: Duration) -> String {
    let (now, now_ms) = (Instant::now(), now_ms());
    let reading = snapshot.reading(now);
    let latest = reading.latest().ok();
    let stats = snapshot.window_at(now, now_ms, window).ok();
    let points = match &stats {
        Some(_) => snapshot.window.points(now_ms, window, CHART_POINTS),
        None => Vec::new(),
    };
    let average = stats.as_ref().map(|s| round_to_cent(s.mean_price));
    let current = latest.map(|sample| current_view(sample, now_ms, stale_after));
    let window_text = format::span(window);
    let notice = notice(&reading, current.as_ref(), stats.is_some(), &window_text);
    let refresh = snapshot
        .window
        .recent_spacing_ms()
        .map(|ms| Duration::from_millis(ms.max(0) as u64))
        .unwrap_or(DEFAULT_REFRESH)
        .clamp(REFRESH_BOUNDS.0, REFRESH_BOUNDS.1);
    let page = Page {
        api,
        messages: &messages::MESSAGES,
        problems: [NO_PRICE_YET, NO_PRICE_IN_WINDOW, STORE_UNAVAILABLE]
            .map(|problem| (problem.code, problem.uri())),
        refresh_ms: refresh.as_millis(),
        chart_points: CHART_POINTS,
        summary: summary(
            &points,
            stats.as_ref().map(|s| s.count),
            average,
            &window_text,
        ),
        chart: chart::chart(&points, average),
        average: stats.map(|stats| AverageView {
            average: round_to_cent(stats.mean_price),
            average_text: format::usd(stats.mean_price),
            samples: stats.count,
            from: rfc3339(stats.oldest_ms),
            from_clock: format::clock(stats.oldest_ms),
            to: rfc3339(stats.newest_ms),
            to_clock: format::clock(stats.newest_ms),
            coverage: snapshot
                .settings
                .as_ref()
                .map(|settings| messages::coverage(&stats, settings, window)),
        }),
        current,
        notice,
        window: window_text,
        geometry: chart::GEOMETRY,
        max_dots: chart::MAX_DOTS,
    };
    page.render().expect("rendering into a String cannot fail")
}

fn current_view(latest: &Sample, now_ms: i64, stale_after: Duration) -> CurrentView {
    let age = Duration::from_millis(now_ms.saturating_sub(latest.fetched_at_ms).max(0) as u64);
    let current = Current::new(latest, now_ms, stale_after);
    CurrentView {
        agreement: messages::agreement(&current),
        continuity: messages::continuity(latest, &current),
        price: current.price,
        price_text: format::usd(latest.price_usd),
        as_of_clock: format::clock(latest.fetched_at_ms),
        age: format::ago(age),
        stale: current.stale,
        sources: current.sources.join(", "),
        as_of: current.as_of,
    }
}

/// The state worth saying first, if any.
fn notice(
    reading: &Reading,
    current: Option<&CurrentView>,
    has_average: bool,
    window: &str,
) -> Option<Notice> {
    let (kind, text) = match (reading, current) {
        (Reading::StoreUnavailable, _) => ("error", message("unavailable").to_owned()),
        (Reading::NoPriceYet, _) => ("info", message("no-price").to_owned()),
        (Reading::Latest(_), Some(current)) if current.stale => (
            "warning",
            message("stale").replace("{time}", &current.as_of_clock),
        ),
        _ if !has_average => (
            "warning",
            message("empty-window").replace("{window}", window),
        ),
        _ => return None,
    };
    Some(Notice { kind, text })
}

/// The chart in one sentence, for those who cannot see it.
fn summary(
    points: &[crate::window::PricePoint],
    samples: Option<usize>,
    average: Option<f64>,
    window: &str,
) -> String {
    let (Some(samples), Some(average)) = (samples, average) else {
        return format!("No price to chart within the last {window}.");
    };
    let prices = points.iter().map(|p| p.price_usd);
    let low = prices.clone().fold(f64::INFINITY, f64::min);
    let high = prices.fold(f64::NEG_INFINITY, f64::max);
    format!(
        "Over the last {window}, {samples} {} between {} and {}; the dashed line is the \
         average, {}.",
        if samples == 1 { "sample" } else { "samples" },
        format::usd(low),
        format::usd(high),
        format::usd(average)
    )
}

/// The OpenAPI operation of each asset's route.
pub fn asset_operations() -> impl Iterator<Item = (String, utoipa::openapi::path::Operation)> {
    use utoipa::openapi::path::OperationBuilder;
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, ResponseBuilder, Type};
    ASSETS.iter().map(|asset| {
        let content = ContentBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        let ok = ResponseBuilder::new()
            .description(format!(
                "The page's `{}`, cached for a year: the page links it with a version.",
                asset.name
            ))
            .content(asset.content_type, content)
            .build();
        let operation = OperationBuilder::new()
            .tags(Some(["page"]))
            .operation_id(Some(format!("asset_{}", asset.name.replace('.', "_"))))
            .description(Some(
                "A static file of the page; any query string is ignored.",
            ))
            .response("200", ok)
            .build();
        (asset.path(), operation)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_reached_relative_to_the_page_whatever_the_prefix() {
        assert_eq!(relative_root("/service1/"), "");
        assert_eq!(relative_root("/service1"), "service1/");
        assert_eq!(relative_root("/a/b"), "b/");
        assert_eq!(relative_root("/"), "");
    }
}
