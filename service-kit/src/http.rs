//! Routing helpers shared by every service: exact-path endpoints, errors as problem details, one
//! `recover`.
//!
//! Routes match the full request path exactly and check the method only after the path, so an
//! unknown path is always a 404 and a known path with the wrong method always a 405 that says
//! which methods it takes. A route whose answer takes nothing from the request
//! ([`Endpoints::get_direct`]) is also answered directly by the server, ahead of warp's filters,
//! which cost a hot route more than its own work. Every error is RFC 9457 problem details
//! (`application/problem+json`) whose `type` names the kind of problem for good
//! ([`ProblemType`]): clients key on it, never on the words of `title` or `detail`.

use std::convert::Infallible;
use std::sync::Arc;

use serde::Serialize;
use warp::filters::path::FullPath;
use warp::http::{HeaderValue, Method, StatusCode, header};
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

/// What a GET endpoint answers to; HEAD is GET without the body.
const GET_AND_HEAD: &str = "GET, HEAD";

/// The answer of a route that takes nothing from the request ([`Endpoints::get_direct`]).
pub type DirectAnswer = Arc<dyn Fn() -> Response + Send + Sync>;

/// The endpoints a service serves, recorded so that metrics can label requests by route
/// template rather than by raw path, with the answers of those the server answers directly.
#[derive(Clone)]
pub struct Endpoints {
    base_path: String,
    templates: Vec<String>,
    /// By position in `templates`: the direct answer, if the route has one.
    direct: Vec<Option<DirectAnswer>>,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("base_path", &self.base_path)
            .field("templates", &self.templates)
            .finish_non_exhaustive()
    }
}

impl Endpoints {
    /// Endpoints served under `base_path` (empty, or `/prefix` without a trailing slash).
    pub fn new(base_path: &str) -> Self {
        Self {
            base_path: base_path.to_owned(),
            templates: Vec::new(),
            direct: Vec::new(),
        }
    }

    /// A GET (and HEAD) endpoint at `base_path + path`. A `path` ending in `/` also answers
    /// without it, so `/service2` and `/service2/` are the same root.
    pub fn get(
        &mut self,
        path: &str,
    ) -> impl Filter<Extract = (), Error = Rejection> + Clone + Send + Sync + use<> {
        let template = format!("{}{}", self.base_path, path);
        self.templates.push(template.clone());
        self.direct.push(None);
        exact_path(template.into()).and(get_or_head()).untuple_one()
    }

    /// A GET (and HEAD) endpoint like [`Endpoints::get`] whose answer takes nothing from the
    /// request (no query, no header): a GET or HEAD at its path is answered with `answer` by the
    /// server itself, without going through warp's filters. The filter returned answers the same
    /// when warp is asked (and refuses other methods with 405, as every route does).
    pub fn get_direct<A>(
        &mut self,
        path: &str,
        answer: A,
    ) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + use<A>
    where
        A: Fn() -> Response + Send + Sync + 'static,
    {
        let answer: DirectAnswer = Arc::new(answer);
        let route = self.get(path);
        *self.direct.last_mut().expect("get added the route") = Some(answer.clone());
        route.map(move || answer())
    }

    /// Adds `other`'s endpoints to these.
    pub(crate) fn extend(&mut self, other: Endpoints) {
        self.templates.extend(other.templates);
        self.direct.extend(other.direct);
    }

    /// The direct answer of the route at `position` among [`Endpoints::templates`], if it has
    /// one.
    pub(crate) fn direct_answer(&self, position: usize) -> Option<&DirectAnswer> {
        self.direct.get(position)?.as_ref()
    }

    /// Every route's template, e.g. `/service1/current`.
    pub fn templates(&self) -> impl Iterator<Item = &str> {
        self.templates.iter().map(String::as_str)
    }

    /// The template a request path was served by, if any.
    pub fn template_for(&self, path: &str) -> Option<&str> {
        self.position_for(path)
            .map(|index| self.templates[index].as_str())
    }

    /// The position among [`Endpoints::templates`] of the template a request path was served
    /// by, if any.
    pub fn position_for(&self, path: &str) -> Option<usize> {
        self.templates
            .iter()
            .position(|template| path_matches(template, path))
    }
}

fn path_matches(template: &str, path: &str) -> bool {
    path == template || (template.len() > 1 && template.strip_suffix('/') == Some(path))
}

/// Filters are cloned per request (warp's `or` keeps a copy of its second filter), so what they
/// hold is shared, not copied: the template is an `Arc<str>`.
fn exact_path(template: Arc<str>) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::path::full()
        .and_then(move |full: FullPath| {
            let matched = path_matches(&template, full.as_str());
            async move {
                if matched {
                    Ok(())
                } else {
                    Err(warp::reject::not_found())
                }
            }
        })
        .untuple_one()
}

fn get_or_head() -> impl Filter<Extract = ((),), Error = Rejection> + Clone {
    warp::method().and_then(|method: Method| async move {
        if method == Method::GET || method == Method::HEAD {
            Ok(())
        } else {
            Err(warp::reject::custom(MethodNotAllowed {
                allow: GET_AND_HEAD,
            }))
        }
    })
}

/// A known path asked with a method it does not take.
#[derive(Debug)]
struct MethodNotAllowed {
    allow: &'static str,
}

impl warp::reject::Reject for MethodNotAllowed {}

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What every problem type starts with: a tag URI (RFC 4151), an identifier that stays the same
/// whatever the deployment's address.
pub const PROBLEM_TYPE_PREFIX: &str = "tag:btc-price-services,2026:";

/// A kind of problem: its `type` (the prefix, then `code`), a `title` that does not change from
/// one occurrence to the next, and its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub code: &'static str,
    pub title: &'static str,
    pub status: StatusCode,
}

impl ProblemType {
    /// The `type` member: a URI naming the problem.
    pub fn uri(&self) -> String {
        format!("{PROBLEM_TYPE_PREFIX}{}", self.code)
    }

    /// This problem as an answer, `detail` saying what happened this time.
    pub fn answer(&self, detail: &str) -> Response {
        let body = Problem {
            kind: self.uri(),
            title: self.title,
            status: self.status.as_u16(),
            detail,
        };
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// No route at this path.
pub const NOT_FOUND: ProblemType = ProblemType {
    code: "not-found",
    title: "Not found",
    status: StatusCode::NOT_FOUND,
};
/// A known path asked with a method it does not take.
pub const METHOD_NOT_ALLOWED: ProblemType = ProblemType {
    code: "method-not-allowed",
    title: "Method not allowed",
    status: StatusCode::METHOD_NOT_ALLOWED,
};
/// A fault of the service itself.
pub const INTERNAL_ERROR: ProblemType = ProblemType {
    code: "internal-error",
    title: "Internal error",
    status: StatusCode::INTERNAL_SERVER_ERROR,
};

/// A client over its request rate: answered by the gateway (gateway/nginx.conf writes this type),
/// never by a service, and described in each service's OpenAPI document.
pub const TOO_MANY_REQUESTS: ProblemType = ProblemType {
    code: "too-many-requests",
    title: "Too many requests",
    status: StatusCode::TOO_MANY_REQUESTS,
};

/// The body of every error answer: RFC 9457 problem details.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(title = "Problem")]
pub struct Problem<'a> {
    /// What kind of problem this is, for good: `tag:btc-price-services,2026:` and a code
    /// (see the API documentation's list).
    #[serde(rename = "type")]
    #[schema(example = "tag:btc-price-services,2026:not-found")]
    kind: String,
    /// The kind of problem in words; the same for every occurrence.
    #[schema(example = "Not found")]
    title: &'a str,
    /// The HTTP status.
    #[schema(example = 404, minimum = 400, maximum = 599)]
    status: u16,
    /// What happened this time.
    #[schema(example = "no route at /service1/nope")]
    detail: &'a str,
}

/// The one place where rejections become responses: every error is a problem.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let response = if let Some(not_allowed) = rejection.find::<MethodNotAllowed>() {
        let detail = format!("this path takes {}", not_allowed.allow);
        let mut response = METHOD_NOT_ALLOWED.answer(&detail);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(not_allowed.allow));
        response
    } else if rejection.is_not_found() {
        NOT_FOUND.answer("no route at this path")
    } else {
        log::error!("unhandled rejection: {rejection:?}");
        INTERNAL_ERROR.answer("the service failed to answer; its log says why")
    };
    Ok(response)
}

/// The request's query string as sent (not decoded), empty when there is none.
pub fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone + Send + Sync {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// A service with no API of its own (the poller) serves only the operational routes.
pub fn no_routes()
-> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    warp::any().and_then(|| async { Err::<Response, _>(warp::reject::not_found()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_exactly_and_directories_without_their_slash() {
        let mut endpoints = Endpoints::new("/service2");
        let _ = endpoints.get("/");
        let _ = endpoints.get("/current");
        assert_eq!(endpoints.template_for("/service2/"), Some("/service2/"));
        assert_eq!(endpoints.template_for("/service2"), Some("/service2/"));
        assert_eq!(
            endpoints.template_for("/service2/current"),
            Some("/service2/current")
        );
        assert_eq!(endpoints.template_for("/service2/current/"), None);
        assert_eq!(endpoints.template_for("/service2x"), None);
        assert_eq!(endpoints.template_for("/"), None);
    }

    #[test]
    fn the_bare_root_has_no_slashless_alias() {
        let mut endpoints = Endpoints::new("");
        let _ = endpoints.get("/");
        assert_eq!(endpoints.template_for("/"), Some("/"));
        assert_eq!(endpoints.template_for(""), None);
    }

    #[tokio::test]
    async fn a_problem_is_problem_json_with_its_type_title_status_and_detail() {
        let response = METHOD_NOT_ALLOWED.answer("this path takes GET, HEAD");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"type":"tag:btc-price-services,2026:method-not-allowed","title":"Method not allowed","status":405,"detail":"this path takes GET, HEAD"}"#
        );
    }
}
