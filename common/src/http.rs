//! Routing helpers shared by every service: exact-path endpoints, JSON errors, one `recover`.
//!
//! Routes match the full request path exactly and check the method only after the path, so an
//! unknown path is always a 404 and a known path with the wrong method always a 405 that says
//! which methods it takes.

use std::convert::Infallible;
use std::sync::Arc;

use serde::Serialize;
use warp::filters::path::FullPath;
use warp::http::{HeaderValue, Method, StatusCode, header};
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

/// What a GET endpoint answers to; HEAD is GET without the body.
const GET_AND_HEAD: &str = "GET, HEAD";

/// The endpoints a service serves, recorded so that metrics can label requests by route
/// template rather than by raw path.
#[derive(Debug, Clone)]
pub struct Endpoints {
    base_path: String,
    templates: Vec<String>,
}

impl Endpoints {
    /// Endpoints served under `base_path` (empty, or `/prefix` without a trailing slash).
    pub fn new(base_path: &str) -> Self {
        Self {
            base_path: base_path.to_owned(),
            templates: Vec::new(),
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
        exact_path(template.into()).and(get_or_head()).untuple_one()
    }

    /// Adds `other`'s endpoints to these, for labelling.
    pub(crate) fn extend(&mut self, other: Endpoints) {
        self.templates.extend(other.templates);
    }

    /// Every route's template, e.g. `/service1/current`.
    pub fn templates(&self) -> impl Iterator<Item = &str> {
        self.templates.iter().map(String::as_str)
    }

    /// The template a request path was served by, if any.
    pub fn template_for(&self, path: &str) -> Option<&str> {
        self.templates
            .iter()
            .find(|template| path_matches(template, path))
            .map(String::as_str)
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

/// The body of every error: what went wrong, in a few words.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    #[schema(example = "not found")]
    error: &'a str,
}

/// `{"error": message}` with `status`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    warp::reply::with_status(warp::reply::json(&ErrorBody { error: message }), status)
        .into_response()
}

/// The one place where rejections become responses: every error is JSON.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let response = if let Some(not_allowed) = rejection.find::<MethodNotAllowed>() {
        let mut response = json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(not_allowed.allow));
        response
    } else if rejection.is_not_found() {
        json_error(StatusCode::NOT_FOUND, "not found")
    } else {
        log::error!("unhandled rejection: {rejection:?}");
        json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
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
}
