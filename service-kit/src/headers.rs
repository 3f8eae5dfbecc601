//! The headers every response of every service carries, and the caching rules a route may pick.
//!
//! A handler sets `Content-Security-Policy` and `Cache-Control` only when its answer needs other
//! values than the defaults (the web page, its assets, a cacheable price); everything else (JSON,
//! errors, the operational routes) gets the strictest ones: no content may load, nothing is
//! stored.

use warp::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use warp::reply::{Reply, Response};

/// For answers that are not documents: nothing may load, frame or submit them.
pub const NOTHING_MAY_LOAD: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// How long an answer may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Never stored: errors, health, metrics (the default).
    Never,
    /// Stored, but asked again before every use: a document that changes at any moment.
    Revalidate,
    /// Reused for a second: a price that changes at most every poll interval, asked for by
    /// many clients at once.
    Briefly,
    /// Reused for a year: content behind a URL that changes with it.
    Forever,
}

impl Caching {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Caching::Never => "no-store",
            Caching::Revalidate => "no-cache",
            Caching::Briefly => "public, max-age=1",
            Caching::Forever => "public, max-age=31536000, immutable",
        })
    }
}

/// `reply` with `caching`'s `Cache-Control`.
pub fn cached(reply: impl Reply, caching: Caching) -> Response {
    let mut response = reply.into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, caching.header());
    response
}

/// `response` with the headers every answer carries: `nosniff`, no referrer, and the strict
/// `Content-Security-Policy` and `Cache-Control` unless the handler chose others.
pub fn with_defaults(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers
        .entry(CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(NOTHING_MAY_LOAD));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(Caching::Never.header());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_what_a_handler_did_not_choose() {
        let plain = with_defaults(warp::reply().into_response());
        let headers = plain.headers();
        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[REFERRER_POLICY], "no-referrer");
        assert_eq!(headers[CONTENT_SECURITY_POLICY], NOTHING_MAY_LOAD);
        assert_eq!(headers[CACHE_CONTROL], "no-store");

        let page =
            warp::reply::with_header(warp::reply(), CONTENT_SECURITY_POLICY, "default-src 'self'");
        let page = with_defaults(cached(page, Caching::Revalidate));
        assert_eq!(
            page.headers()[CONTENT_SECURITY_POLICY],
            "default-src 'self'"
        );
        assert_eq!(page.headers()[CACHE_CONTROL], "no-cache");
    }
}
