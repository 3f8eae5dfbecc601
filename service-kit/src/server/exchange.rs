//! One request's way through a connection. Its route is found once, by path. A GET or HEAD of a
//! route with a direct answer ([`Endpoints::get_direct`]) is answered at once, without an
//! allocation for its future; every other request goes through warp's filters. Either way the
//! answer then gets, in this one place, what every answer gets: the headers every response
//! carries ([`with_defaults`]), the request id, `Connection: close` while draining, the route's
//! metric and a debug access-log line.
//!
//! Why two ways: warp's filter chain, its boxed future and the request id copied into the request
//! for its log cost a third of a hot route's user-space instructions (callgrind), more than all
//! of the route's own work.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::{Body, Incoming};
use tokio_util::either::Either;
use warp::http::header::CONNECTION;
use warp::http::{HeaderValue, Method};
use warp::reply::Response;

use super::request_id::{REQUEST_ID, request_id};
use super::timeouts::Phase;
use crate::headers::with_defaults;
use crate::health::Health;
use crate::http::Endpoints;
use crate::metrics::{Metrics, RouteSeries, UNMATCHED_ROUTE};

/// The access log's target, as it was when warp's log filter wrote it: what a log pipeline
/// may filter on.
const ACCESS_LOG: &str = "service_kit::server";

/// Every route a server answers, with each one's request series, resolved once when it starts.
pub struct RouteTable {
    endpoints: Endpoints,
    /// By position among the endpoints' templates.
    series: Box<[RouteSeries]>,
    unmatched: RouteSeries,
}

impl RouteTable {
    pub fn new(endpoints: Endpoints, metrics: &Metrics) -> Self {
        let series = endpoints
            .templates()
            .map(|route| metrics.route(route))
            .collect();
        Self {
            endpoints,
            series,
            unmatched: metrics.route(UNMATCHED_ROUTE),
        }
    }

    fn series(&self, route: Option<usize>) -> &RouteSeries {
        route.map_or(&self.unmatched, |position| &self.series[position])
    }
}

/// The routes of one connection: warp's, and the direct answers ahead of them.
pub struct ConnectionService<S> {
    routes: S,
    finishing: Finishing,
}

impl<S> ConnectionService<S> {
    pub fn new(routes: S, table: Arc<RouteTable>, phase: Phase, health: Health) -> Self {
        Self {
            routes,
            finishing: Finishing {
                table,
                phase,
                health,
            },
        }
    }
}

/// What is known of a request when it arrives, for finishing its answer.
struct Arrival {
    at: Instant,
    id: HeaderValue,
    method: Method,
    /// The position of its route among the templates, if it has one.
    route: Option<usize>,
    /// Its path, kept only when the access log is written.
    logged_path: Option<String>,
}

/// What finishes every answer, shared by a connection's requests.
#[derive(Clone)]
struct Finishing {
    table: Arc<RouteTable>,
    phase: Phase,
    /// Once shutdown starts, answers say `Connection: close`: proxies stop reusing the
    /// connection during `SHUTDOWN_DELAY` instead of racing its closing afterwards.
    health: Health,
}

impl Finishing {
    fn finish(&self, arrival: Arrival, response: Response) -> Response {
        let mut response = with_defaults(response);
        self.phase.response_ready();
        let status = response.status().as_u16();
        let elapsed = arrival.at.elapsed();
        self.table
            .series(arrival.route)
            .observe(arrival.method.as_str(), status, elapsed);
        if let Some(path) = arrival.logged_path {
            let request_id = arrival.id.to_str().unwrap_or_default();
            log::debug!(
                target: ACCESS_LOG,
                request_id;
                "{} {path} -> {status} in {elapsed:?}",
                arrival.method
            );
        }
        let headers = response.headers_mut();
        headers.insert(REQUEST_ID.clone(), arrival.id);
        if self.health.is_draining() {
            headers.insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

type RoutedFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S: Routes> hyper::service::Service<hyper::Request<Incoming>> for ConnectionService<S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, RoutedFuture>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let finishing = &self.finishing;
        finishing.phase.request_started();
        let path = request.uri().path();
        let endpoints = &finishing.table.endpoints;
        let route = endpoints.position_for(path);
        let arrival = Arrival {
            at: Instant::now(),
            id: request_id(request.headers().get(&REQUEST_ID)),
            method: request.method().clone(),
            route,
            logged_path: log::log_enabled!(log::Level::Debug).then(|| path.to_owned()),
        };
        // A request that declares a body goes through warp, which holds it until the answer is
        // written: dropped unread with the request here, it would make hyper close the
        // connection instead of reading past the body to the next request.
        let direct = route
            .and_then(|position| endpoints.direct_answer(position))
            .filter(|_| matches!(arrival.method, Method::GET | Method::HEAD))
            .filter(|_| request.body().is_end_stream());
        if let Some(answer) = direct {
            return Either::Left(ready(Ok(finishing.finish(arrival, answer()))));
        }
        let response = self.routes.clone().call(request);
        let finishing = finishing.clone();
        Either::Right(Box::pin(async move {
            let Ok(response) = response.await;
            Ok(finishing.finish(arrival, response))
        }))
    }
}

/// A server's routes as a service, as `warp::service` makes them.
pub trait Routes:
    tower_service::Service<
        hyper::Request<Incoming>,
        Response = Response,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S> Routes for S where
    S: tower_service::Service<
            hyper::Request<Incoming>,
            Response = Response,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}
