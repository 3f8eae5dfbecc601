//! An HTTP answer as a parser sees it, and the checks every provider shares: rate limits, error
//! statuses, HTML pages, empty, truncated or oversized bodies, error bodies sent with 200.
//! Decided once here, in [`checked_json`], for the fetcher and the parsers alike.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::body::BodyProblem;
use super::error::{ProviderError, short};
use crate::backoff::RetryAfter;

/// An HTTP answer as a parser sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The whole body, or why it is not there: the fetcher stops reading at
    /// [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES) and says [`BodyProblem::TooLarge`].
    pub body: Result<Vec<u8>, BodyProblem>,
}

impl Answer {
    /// An answer whose body was read whole.
    pub fn new(status: StatusCode, headers: HeaderMap, body: Vec<u8>) -> Self {
        Self {
            status,
            headers,
            body: Ok(body),
        }
    }
}

/// What a provider's error body says, as its module recognises it.
pub(crate) enum Failure {
    RateLimited,
    Error(String),
}

/// The JSON of a successful answer, after the checks every provider shares.
///
/// `recognise_error` knows the provider's error shapes; it is asked about every JSON body,
/// whatever the status, because some providers send errors with HTTP 200 (Kraken, CoinGecko)
/// or signal rate limits without a 429 (Kraken, Bitstamp's 400).
pub(crate) fn checked_json(
    answer: &Answer,
    recognise_error: impl Fn(&Value) -> Option<Failure>,
) -> Result<Value, ProviderError> {
    let status = answer.status;
    let json = json_document(answer);
    let failure = json.as_ref().ok().and_then(recognise_error);
    if status == StatusCode::TOO_MANY_REQUESTS || matches!(failure, Some(Failure::RateLimited)) {
        return Err(ProviderError::RateLimited {
            status: status.as_u16(),
            retry_after: RetryAfter::from_headers(&answer.headers),
        });
    }
    let success = status.is_success();
    match (json, failure) {
        (Ok(json), None) if success => Ok(json),
        (Ok(_), Some(Failure::Error(message))) if success => {
            Err(ProviderError::ErrorWithOk(short(&message)))
        }
        (Err(problem), _) if success => Err(ProviderError::InvalidBody(problem)),
        (Err(problem), _) => Err(http_status(answer, problem.to_string())),
        (Ok(_), Some(Failure::Error(message))) => Err(http_status(answer, short(&message))),
        (Ok(_), _) => Err(http_status(answer, "unrecognised body".to_owned())),
    }
}

/// An error status, with the `Retry-After` it may carry.
fn http_status(answer: &Answer, reason: String) -> ProviderError {
    ProviderError::HttpStatus {
        status: answer.status.as_u16(),
        reason,
        retry_after: RetryAfter::from_headers(&answer.headers),
    }
}

fn json_document(answer: &Answer) -> Result<Value, BodyProblem> {
    let body = answer.body.as_deref().map_err(|problem| *problem)?;
    match body.trim_ascii_start().first() {
        None => return Err(BodyProblem::Empty),
        Some(b'<') => return Err(BodyProblem::Html),
        Some(_) => {}
    }
    serde_json::from_slice(body).map_err(|err| {
        if err.is_eof() {
            BodyProblem::Truncated
        } else {
            BodyProblem::NotJson
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer::new(
            StatusCode::from_u16(status).unwrap(),
            HeaderMap::new(),
            body.as_bytes().to_vec(),
        )
    }

    fn too_large(status: u16, retry_after: Option<&str>) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert("retry-after", value.parse().unwrap());
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Err(BodyProblem::TooLarge),
        }
    }

    fn nothing_recognised(_: &Value) -> Option<Failure> {
        None
    }

    #[test]
    fn bodies_that_are_not_json_are_classified() {
        for (body, problem) in [
            ("", BodyProblem::Empty),
            (" \r\n", BodyProblem::Empty),
            (
                "<!DOCTYPE html><html>502 Bad Gateway</html>",
                BodyProblem::Html,
            ),
            ("  <html>", BodyProblem::Html),
            (r#"{"price":"63212.9"#, BodyProblem::Truncated),
            ("[1,2", BodyProblem::Truncated),
            ("price=1", BodyProblem::NotJson),
            ("NaN", BodyProblem::NotJson),
            (r#"{"a":1} trailing"#, BodyProblem::NotJson),
        ] {
            assert_eq!(
                checked_json(&answer(200, body), nothing_recognised),
                Err(ProviderError::InvalidBody(problem)),
                "{body:?}"
            );
        }
    }

    #[test]
    fn an_oversized_body_is_classified_like_any_other_unusable_body() {
        assert_eq!(
            checked_json(&too_large(200, None), nothing_recognised),
            Err(ProviderError::InvalidBody(BodyProblem::TooLarge))
        );
        assert_eq!(
            checked_json(&too_large(503, Some("600")), nothing_recognised),
            Err(ProviderError::HttpStatus {
                status: 503,
                reason: "body larger than 64 KiB".into(),
                retry_after: Some(RetryAfter::Seconds(600))
            })
        );
        assert_eq!(
            checked_json(&too_large(429, Some("7")), nothing_recognised),
            Err(ProviderError::RateLimited {
                status: 429,
                retry_after: Some(RetryAfter::Seconds(7))
            })
        );
    }

    #[test]
    fn an_error_status_reports_the_status_and_a_short_reason() {
        let err = checked_json(&answer(503, "<html>down</html>"), nothing_recognised);
        assert_eq!(
            err,
            Err(ProviderError::HttpStatus {
                status: 503,
                reason: "HTML page instead of JSON".into(),
                retry_after: None
            })
        );
        let err = checked_json(&answer(500, r#"{"x":1}"#), nothing_recognised);
        assert_eq!(err.unwrap_err().to_string(), "HTTP 500: unrecognised body");
    }

    #[test]
    fn a_recognised_error_with_200_is_not_a_price() {
        let recognise = |_: &Value| Some(Failure::Error("EService:Busy".into()));
        assert_eq!(
            checked_json(&answer(200, "{}"), recognise),
            Err(ProviderError::ErrorWithOk("EService:Busy".into()))
        );
        assert_eq!(
            checked_json(&answer(503, "{}"), recognise),
            Err(ProviderError::HttpStatus {
                status: 503,
                reason: "EService:Busy".into(),
                retry_after: None
            })
        );
    }

    #[test]
    fn rate_limits_are_recognised_by_status_or_by_body() {
        let mut limited = answer(429, "<html>slow down</html>");
        limited.headers.insert("retry-after", "30".parse().unwrap());
        assert_eq!(
            checked_json(&limited, nothing_recognised),
            Err(ProviderError::RateLimited {
                status: 429,
                retry_after: Some(RetryAfter::Seconds(30))
            })
        );
        let mut maintenance = answer(503, "<html>back soon</html>");
        maintenance
            .headers
            .insert("retry-after", "3600".parse().unwrap());
        let err = checked_json(&maintenance, nothing_recognised).unwrap_err();
        assert_eq!(err.retry_after(), Some(RetryAfter::Seconds(3600)));
        assert_eq!(
            err.to_string(),
            "HTTP 503: HTML page instead of JSON, Retry-After 3600s"
        );
        let by_body = checked_json(&answer(200, "{}"), |_| Some(Failure::RateLimited));
        assert_eq!(
            by_body,
            Err(ProviderError::RateLimited {
                status: 200,
                retry_after: None
            })
        );
    }
}
