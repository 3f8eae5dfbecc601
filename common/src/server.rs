//! Serving a service's routes next to `/healthz`, `/readyz` and `/metrics`, with request metrics,
//! an access log at debug level, and a graceful shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

use crate::health::{Health, Readiness};
use crate::http::{Endpoints, recover};
use crate::metrics::{Metrics, UNMATCHED_ROUTE};

/// What every service serves besides its own routes, and how it stops.
pub struct Ops {
    pub health: Health,
    pub metrics: Metrics,
    /// Time between `/readyz` turning 503 and the listener closing.
    pub shutdown_delay: Duration,
}

/// Serves `api` (whose endpoints were created from `endpoints`) and the operational routes on
/// `listener` until `shutdown` completes. Then: `/readyz` answers 503, after
/// `ops.shutdown_delay` the listener closes, in-flight requests finish, and this returns.
pub async fn serve<F>(
    listener: TcpListener,
    ops: Ops,
    mut endpoints: Endpoints,
    api: F,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    F: Filter<Error = Rejection> + Clone + Send + Sync + 'static,
    F::Extract: Reply,
{
    let Ops {
        health,
        metrics,
        shutdown_delay,
    } = ops;
    let operational = operational_routes(&mut endpoints, health.clone(), metrics.clone());
    let app = api
        .or(operational)
        .recover(recover)
        .with(warp::log::custom(move |info| {
            let route = endpoints
                .template_for(info.path())
                .unwrap_or(UNMATCHED_ROUTE);
            let status = info.status().as_u16();
            metrics.observe_request(route, info.method().as_str(), status, info.elapsed());
            log::debug!(
                "{} {} -> {} in {:?}",
                info.method(),
                info.path(),
                status,
                info.elapsed()
            );
        }));

    if let Ok(addr) = listener.local_addr() {
        log::info!("listening on {addr}");
    }
    let drain = async move {
        shutdown.await;
        health.start_draining();
        log::info!(
            "shutting down: /readyz now answers 503, closing the listener in {shutdown_delay:?}"
        );
        tokio::time::sleep(shutdown_delay).await;
        log::info!("listener closed, finishing in-flight requests");
    };
    warp::serve(app)
        .incoming(listener)
        .graceful(drain)
        .run()
        .await;
    log::info!("server stopped");
}

/// `/healthz`, `/readyz` and `/metrics`, always at the root whatever the base path.
fn operational_routes(
    endpoints: &mut Endpoints,
    health: Health,
    metrics: Metrics,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + use<> {
    let mut root = Endpoints::new("");
    let healthz = root.get("/healthz").map({
        let health = health.clone();
        move || match health.is_live() {
            true => status_reply(true, "ok"),
            false => status_reply(false, "unhealthy"),
        }
    });
    let readyz = root.get("/readyz").map(move || match health.readiness() {
        Readiness::Ready => status_reply(true, "ready"),
        Readiness::NotReady => status_reply(false, "not ready"),
        Readiness::ShuttingDown => status_reply(false, "shutting down"),
    });
    let metrics = root.get("/metrics").map(move || {
        warp::reply::with_header(metrics.render(), "content-type", prometheus::TEXT_FORMAT)
            .into_response()
    });
    endpoints.extend(root);
    healthz.or(readyz).unify().or(metrics).unify()
}

fn status_reply(healthy: bool, status: &str) -> Response {
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    warp::reply::with_status(
        warp::reply::json(&serde_json::json!({ "status": status })),
        code,
    )
    .into_response()
}
