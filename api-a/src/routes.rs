//! api-a's routes, in one table: each is registered in `Endpoints` (for metrics and route
//! templates), answered by one handler, and described in the OpenAPI document by that handler's
//! `#[utoipa::path]`, listed in [`Routes`]. A test checks that the two agree.

use std::sync::Arc;

use service_kit::http::{Endpoints, raw_query};
use warp::filters::BoxedFilter;
use warp::reply::{Reply, Response};
use warp::{Filter, path};

use crate::handlers::{self, State, with_state};
use crate::page::{self, ASSETS};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "api-a",
        description = "Service A: the Bitcoin price in US dollars, refreshed every poll interval \
            (10 s by default), its average over a sliding window (10 minutes by default), the \
            window's samples, and a web page showing them."
    ),
    paths(page::page, handlers::current, handlers::average, handlers::history)
)]
struct Routes;

/// api-a's OpenAPI document, for routes under `base_path`.
pub fn openapi(base_path: &str) -> utoipa::openapi::OpenApi {
    let mut routes = <Routes as utoipa::OpenApi>::openapi();
    for (path, operation) in page::asset_operations() {
        routes
            .paths
            .add_path_operation(path, vec![utoipa::openapi::HttpMethod::Get], operation);
    }
    let mut info = routes.info.clone();
    info.version = env!("CARGO_PKG_VERSION").to_owned();
    service_kit::openapi::document(info, routes, base_path)
}

/// Every route of the API and the page, under `endpoints`' base path, and `document` at
/// `openapi.json`.
pub fn routes(
    endpoints: &mut Endpoints,
    state: Arc<State>,
    document: &utoipa::openapi::OpenApi,
) -> BoxedFilter<(Response,)> {
    let page = endpoints
        .get("/")
        .and(with_state(state.clone()))
        .and(path::full())
        .map(page::page);
    // Neither takes anything from the request: the server answers them directly.
    let current = endpoints.get_direct("/current", {
        let state = state.clone();
        move || handlers::current(&state).into_response()
    });
    let average = endpoints.get_direct("/average", {
        let state = state.clone();
        move || handlers::average(&state).into_response()
    });
    let history = endpoints
        .get("/history")
        .and(with_state(state))
        .and(raw_query())
        .map(|state, query| handlers::history(state, query).into_response());
    let openapi = service_kit::openapi::route(endpoints, document);
    // Tried in order: the routes asked most often first.
    let mut all = current
        .or(average)
        .unify()
        .or(history)
        .unify()
        .or(page)
        .unify()
        .or(openapi)
        .unify()
        .boxed();
    for asset in ASSETS {
        let route = endpoints.get(&asset.path()).map(move || page::asset(asset));
        all = all.or(route).unify().boxed();
    }
    all
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::watch;

    use super::*;
    use crate::snapshot::Snapshot;

    #[test]
    fn every_route_answered_is_documented_and_every_documented_one_answered() {
        for base_path in ["", "/service1"] {
            let (_sender, snapshot) = watch::channel(Snapshot::default());
            let state = Arc::new(State {
                snapshot,
                average_window: Duration::from_secs(600),
                stale_after: Duration::from_secs(30),
                current: Default::default(),
                average: Default::default(),
                history: Default::default(),
            });
            let document = openapi(base_path);
            let mut endpoints = Endpoints::new(base_path);
            let _ = routes(&mut endpoints, state, &document);
            assert_eq!(
                service_kit::openapi::undocumented_routes(&document, &endpoints),
                None,
                "(documented only, answered only) under {base_path:?}"
            );
        }
    }
}
