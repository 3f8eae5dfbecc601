//! api-a's routes, in one table: each is registered in `Endpoints` (for metrics and route
//! templates) and answered by one handler.

use std::sync::Arc;

use common::http::{Endpoints, raw_query};
use warp::filters::BoxedFilter;
use warp::reply::{Reply, Response};
use warp::{Filter, path};

use crate::handlers::{self, State, with_state};
use crate::page::{self, ASSETS};

/// Every route of the API and the page, under `endpoints`' base path.
pub fn routes(endpoints: &mut Endpoints, state: Arc<State>) -> BoxedFilter<(Response,)> {
    let page = endpoints
        .get("/")
        .and(with_state(state.clone()))
        .and(path::full())
        .map(page::page);
    let current = endpoints
        .get("/current")
        .and(with_state(state.clone()))
        .map(|state| handlers::current(state).into_response());
    let average = endpoints
        .get("/average")
        .and(with_state(state.clone()))
        .map(|state| handlers::average(state).into_response());
    let history = endpoints
        .get("/history")
        .and(with_state(state))
        .and(raw_query())
        .map(|state, query| handlers::history(state, query).into_response());
    let mut all = page
        .or(current)
        .unify()
        .or(average)
        .unify()
        .or(history)
        .unify()
        .boxed();
    for asset in ASSETS {
        let route = endpoints.get(&asset.path()).map(move || page::asset(asset));
        all = all.or(route).unify().boxed();
    }
    all
}
