//! Service B: `GET {BASE_PATH}/` answers `{"status":"ok","service":"api-b"}`; nothing else is
//! served besides the OpenAPI document (`{BASE_PATH}/openapi.json`) and the operational routes
//! every service has (`/healthz`, `/readyz`, `/metrics`).

mod config;

use bytes::Bytes;
use serde::Serialize;
use service_kit::health::Health;
use service_kit::http::Endpoints;
use service_kit::metrics::Metrics;
use service_kit::server::{Ops, serve};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use warp::Filter;
use warp::http::HeaderValue;
use warp::http::header::CONTENT_TYPE;
use warp::reply::Response;

pub use config::Config;

/// The body of `GET {BASE_PATH}/`.
#[derive(Serialize, utoipa::ToSchema)]
struct Status {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
    /// Always `api-b`.
    #[schema(example = "api-b")]
    service: &'static str,
}

/// `GET {BASE_PATH}/` (also without the trailing slash).
#[utoipa::path(
    get,
    path = "/",
    tag = "api",
    description = "Service B's one route: 200 while it runs. Also answers without the trailing \
        slash, and to HEAD without a body; other methods get 405 with `Allow: GET, HEAD`.",
    responses((status = 200, description = "Service B answers.", body = Status,
        example = json!({"status": "ok", "service": "api-b"})))
)]
fn root(body: Bytes) -> Response {
    let mut response = Response::new(body.into());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// [`root`]'s body, the same for every request: serialized once.
fn root_body() -> Bytes {
    serde_json::to_vec(&Status {
        status: "ok",
        service: "api-b",
    })
    .expect("the status serializes")
    .into()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "api-b",
        description = "Service B: a REST API whose one route answers 200."
    ),
    paths(root)
)]
struct Routes;

/// Service B's OpenAPI document, for routes under `base_path`.
pub fn openapi(base_path: &str) -> utoipa::openapi::OpenApi {
    let mut info = Routes::openapi().info;
    info.version = env!("CARGO_PKG_VERSION").to_owned();
    service_kit::openapi::document(info, Routes::openapi(), base_path)
}

/// Service B's routes under `endpoints`' base path, and `document` at `openapi.json`.
fn routes(
    endpoints: &mut Endpoints,
    document: &utoipa::openapi::OpenApi,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + Send + Sync + use<> {
    let body = root_body();
    let root = endpoints.get_direct("/", move || root(body.clone()));
    root.or(service_kit::openapi::route(endpoints, document))
        .unify()
}

/// Serves Service B on `listener` until `stop` is cancelled and in-flight requests are done.
pub async fn run(config: Config, listener: TcpListener, stop: CancellationToken) {
    let mut endpoints = Endpoints::new(&config.base_path);
    let document = openapi(&config.base_path);
    let api = routes(&mut endpoints, &document);
    debug_assert_eq!(
        service_kit::openapi::undocumented_routes(&document, &endpoints),
        None,
        "the OpenAPI document and the routes disagree"
    );
    let ops = Ops {
        health: Health::always(),
        metrics: Metrics::new(),
        serving: config.server.serving.clone(),
    };
    serve(listener, ops, endpoints, api, stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_answered_is_documented_and_every_documented_one_answered() {
        for base_path in ["", "/service2"] {
            let document = openapi(base_path);
            let mut endpoints = Endpoints::new(base_path);
            let _ = routes(&mut endpoints, &document);
            assert_eq!(
                service_kit::openapi::undocumented_routes(&document, &endpoints),
                None,
                "(documented only, answered only) under {base_path:?}"
            );
        }
    }
}
