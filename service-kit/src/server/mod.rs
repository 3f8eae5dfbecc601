//! Serving a service's routes next to `/healthz`, `/readyz` and `/metrics`, with request metrics,
//! an access log at debug level carrying each request's id ([`request_id`]), direct answers for
//! the routes that take nothing from the request ([`exchange`]), connection limits
//! ([`connections`], [`timeouts`], [`socket`], counted in [`closings`]) and a graceful shutdown
//! with a bounded drain.

mod closings;
mod connections;
mod exchange;
mod request_id;
mod socket;
mod timeouts;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

pub use connections::MAX_HEAD_BYTES;
pub use socket::listen;

use crate::config::ServingConfig;
use crate::health::{Health, Readiness};
use crate::http::{Endpoints, recover};
use crate::metrics::Metrics;
use connections::Connections;
use exchange::RouteTable;

/// What every service serves besides its own routes, and how it serves and stops.
pub struct Ops {
    pub health: Health,
    pub metrics: Metrics,
    /// Connection limits and the shutdown delay.
    pub serving: ServingConfig,
}

/// Serves `api` (whose endpoints were created from `endpoints`) and the operational routes on
/// `listener` until `stop` is cancelled. Then: `/readyz` answers 503, after
/// `ops.serving.shutdown_delay` the listener closes, idle connections are closed, in-flight
/// requests have `ops.serving.drain_timeout` to finish, the connections left are closed, and
/// this returns.
pub async fn serve<F>(
    listener: TcpListener,
    ops: Ops,
    mut endpoints: Endpoints,
    api: F,
    stop: CancellationToken,
) where
    F: Filter<Error = Rejection> + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
    let Ops {
        health,
        metrics,
        serving,
    } = ops;
    let shutdown_delay = serving.shutdown_delay;
    let max_connections = crate::limits::connections_allowed(serving.max_connections);
    log::info!(
        "request heads within {:?} (a connection's first from its accept), idle connections \
         closed after {:?}, responses written within {:?}, data unacknowledged for {:?} given \
         up, a drain of at most {:?}",
        serving.header_timeout,
        serving.idle_timeout,
        serving.write_timeout,
        serving.tcp_user_timeout,
        serving.drain_timeout
    );
    let operational = operational_routes(&mut endpoints, health.clone(), metrics.clone());
    // Headers, metrics and the access log are added by `exchange`, on both ways to an answer.
    let app = api.or(operational).recover(recover);
    let table = RouteTable::new(endpoints, &metrics);

    if let Ok(addr) = listener.local_addr() {
        log::info!("listening on {addr}");
    }
    let connections_health = health.clone();
    let drain = async move {
        stop.cancelled().await;
        health.start_draining();
        log::info!(
            "shutting down: /readyz now answers 503, closing the listener in {shutdown_delay:?}"
        );
        tokio::time::sleep(shutdown_delay).await;
        log::info!("listener closed, finishing in-flight requests");
    };
    // Boxed, every connection's copy of the routes is one reference count, not a deep copy of
    // every string and closure in them (the OpenAPI document among them).
    Connections::new(
        warp::service(app.boxed()),
        table,
        serving,
        max_connections,
        connections_health,
        &metrics,
    )
    .run(listener, drain)
    .await;
    log::info!("server stopped");
}

/// Where the operational routes are: always at the root, whatever the base path.
pub const OPERATIONAL_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// `/healthz`, `/readyz` and `/metrics` ([`OPERATIONAL_PATHS`]).
fn operational_routes(
    endpoints: &mut Endpoints,
    health: Health,
    metrics: Metrics,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + use<> {
    let mut root = Endpoints::new("");
    let [healthz_path, readyz_path, metrics_path] = OPERATIONAL_PATHS;
    let healthz = root.get(healthz_path).map({
        let health = health.clone();
        move || healthz(&health)
    });
    let readyz = root.get(readyz_path).map(move || readyz(&health));
    let metrics = root.get(metrics_path).map(move || render_metrics(&metrics));
    endpoints.extend(root);
    healthz.or(readyz).unify().or(metrics).unify()
}

/// Whether the process is alive, as `{"status": ...}`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    description = "Liveness: 200 while the process is alive (api-a: while its Redis reader runs; \
        the poller: while its tick loop and Redis writer run). At the root of the port, whatever \
        BASE_PATH; not routed by the gateway or the ingress.",
    responses(
        (status = 200, description = "Alive.", body = HealthStatus,
            example = json!({"status": "ok"})),
        (status = 503, description = "Not alive: restart it.", body = HealthStatus,
            example = json!({"status": "unhealthy"})),
    )
)]
fn healthz(health: &Health) -> Response {
    match health.is_live() {
        true => status_reply(true, "ok"),
        false => status_reply(false, "unhealthy"),
    }
}

/// Whether the service takes traffic, as `{"status": ...}`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    description = "Readiness: 200 while serving; 503 from the moment shutdown starts, and for \
        api-a while Redis does not answer or holds no price yet. At the root of the port.",
    responses(
        (status = 200, description = "Ready.", body = HealthStatus,
            example = json!({"status": "ready"})),
        (status = 503, description = "Not ready, or shutting down.", body = HealthStatus,
            example = json!({"status": "shutting down"})),
    )
)]
fn readyz(health: &Health) -> Response {
    match health.readiness() {
        Readiness::Ready => status_reply(true, "ready"),
        Readiness::NotReady => status_reply(false, "not ready"),
        Readiness::ShuttingDown => status_reply(false, "shutting down"),
    }
}

/// The service's metrics in Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    description = "Prometheus text exposition format, version 0.0.4. At the root of the port.",
    responses(
        (status = 200, description = "The metrics.", body = String,
            content_type = "text/plain; version=0.0.4"),
    )
)]
fn render_metrics(metrics: &Metrics) -> Response {
    warp::reply::with_header(metrics.render(), "content-type", prometheus::TEXT_FORMAT)
        .into_response()
}

/// The body of `/healthz` and `/readyz`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HealthStatus {
    /// `ok` or `unhealthy` (`/healthz`); `ready`, `not ready` or `shutting down` (`/readyz`).
    #[schema(example = "ok")]
    status: String,
}

fn status_reply(healthy: bool, status: &str) -> Response {
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = HealthStatus {
        status: status.to_owned(),
    };
    warp::reply::with_status(warp::reply::json(&body), code).into_response()
}

/// The OpenAPI description of the operational routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(healthz, readyz, render_metrics),
    components(schemas(HealthStatus))
)]
pub struct OperationalRoutes;
