//! Why a price cannot be served, and the one place that turns it into an HTTP answer: problem
//! details (`service_kit::http::ProblemType`) whose `type` each client, the page's script included,
//! keys on.

use service_kit::http::ProblemType;
use warp::http::StatusCode;
use warp::http::header::{HeaderValue, RETRY_AFTER};
use warp::reply::{Reply, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Redis answers but holds no sample: the poller has not stored one yet.
    #[error("no price yet")]
    NoPriceYet,
    /// Samples exist, but none was fetched within the averaging window.
    #[error("no price within the averaging window")]
    NoPriceInWindow,
    /// The latest read of Redis failed or is too old to trust.
    #[error("price store unavailable")]
    StoreUnavailable,
    /// `/history`'s `max_points` is not a whole number in range.
    #[error("max_points must be a whole number from 2 to 5000")]
    InvalidMaxPoints,
}

/// Redis holds no price (yet): the poller has not stored one since Redis started.
pub const NO_PRICE_YET: ProblemType = ProblemType {
    code: "no-price-yet",
    title: "No price yet",
    status: StatusCode::SERVICE_UNAVAILABLE,
};
/// No sample was fetched within the averaging window.
pub const NO_PRICE_IN_WINDOW: ProblemType = ProblemType {
    code: "no-price-in-window",
    title: "No price within the averaging window",
    status: StatusCode::SERVICE_UNAVAILABLE,
};
/// The price store (Redis) does not answer.
pub const STORE_UNAVAILABLE: ProblemType = ProblemType {
    code: "store-unavailable",
    title: "Price store unavailable",
    status: StatusCode::SERVICE_UNAVAILABLE,
};
/// `max_points` out of range.
pub const INVALID_MAX_POINTS: ProblemType = ProblemType {
    code: "invalid-max-points",
    title: "Invalid max_points",
    status: StatusCode::BAD_REQUEST,
};

impl ApiError {
    pub fn problem(self) -> ProblemType {
        match self {
            Self::NoPriceYet => NO_PRICE_YET,
            Self::NoPriceInWindow => NO_PRICE_IN_WINDOW,
            Self::StoreUnavailable => STORE_UNAVAILABLE,
            Self::InvalidMaxPoints => INVALID_MAX_POINTS,
        }
    }

    /// Seconds a client should wait before asking again, for an answer that may change by
    /// itself: a new sample needs a poll (10 s by default), a Redis outage is noticed and
    /// recovered from within about a second. A bad request never will.
    pub fn retry_after_seconds(self) -> Option<u32> {
        match self {
            Self::NoPriceYet | Self::NoPriceInWindow => Some(10),
            Self::StoreUnavailable => Some(1),
            Self::InvalidMaxPoints => None,
        }
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.problem().answer(&self.to_string());
        if let Some(seconds) = self.retry_after_seconds() {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// How `/average` and `/history` document their 503 in the OpenAPI document: both read the
/// window, so both can lack a price for the same three reasons. Never built: its field only
/// names the body's schema.
#[derive(utoipa::ToResponse)]
#[response(
    description = "Nothing honest to say: no price stored yet, none within the window, or the \
        price store (Redis) unavailable.",
    content_type = "application/problem+json",
    headers(("Retry-After" = u32, description = "Seconds before asking again: 10 before a new \
        sample, 1 while the store is unavailable.")),
    examples(
        ("no price yet" = (value = json!({"type": "tag:btc-price-services,2026:no-price-yet",
            "title": "No price yet", "status": 503, "detail": "no price yet"}))),
        ("none in the window" = (value = json!({
            "type": "tag:btc-price-services,2026:no-price-in-window",
            "title": "No price within the averaging window", "status": 503,
            "detail": "no price within the averaging window"}))),
        ("store unavailable" = (value = json!({
            "type": "tag:btc-price-services,2026:store-unavailable",
            "title": "Price store unavailable", "status": 503,
            "detail": "price store unavailable"}))),
    )
)]
pub struct WindowUnavailable(#[allow(dead_code)] service_kit::http::Problem<'static>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_own_problem_type() {
        let errors = [
            ApiError::NoPriceYet,
            ApiError::NoPriceInWindow,
            ApiError::StoreUnavailable,
            ApiError::InvalidMaxPoints,
        ];
        let codes: Vec<&str> = errors.iter().map(|e| e.problem().code).collect();
        assert_eq!(
            codes,
            [
                "no-price-yet",
                "no-price-in-window",
                "store-unavailable",
                "invalid-max-points"
            ]
        );
    }

    #[test]
    fn the_page_s_script_keys_on_problem_types_never_on_their_words() {
        let script = include_str!("../assets/page.js");
        for error in [
            ApiError::NoPriceYet,
            ApiError::NoPriceInWindow,
            ApiError::StoreUnavailable,
        ] {
            let words = error.to_string();
            assert!(!script.contains(&words), "page.js says {words:?}");
            assert!(
                !script.contains(error.problem().title),
                "page.js says its title"
            );
            assert!(
                script.contains(&format!("\"{}\"", error.problem().code)),
                "page.js tells {} by its code",
                error.problem().code
            );
        }
    }
}
