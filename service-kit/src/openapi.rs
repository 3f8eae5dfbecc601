//! The OpenAPI 3.1 document of a service, generated from the code with utoipa: its own routes
//! (each handler carries its `#[utoipa::path]`), nested under its base path, plus the operational
//! routes, what every answer may carry and, on the routes the gateway passes on, the problems it
//! answers instead of the service. Served at `{BASE_PATH}/openapi.json`.
//!
//! Paths are the full paths the service answers (`/service1/current`, `/healthz`) and the one
//! server is `/`, relative to wherever the document was fetched from: the same document is right
//! directly, through the gateway and through the ingress, none of which rewrites paths.

use std::collections::BTreeSet;

use utoipa::OpenApi as _;
use utoipa::openapi::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response as DocumentedResponse, ResponseBuilder};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::{Info, ObjectBuilder, OpenApi, Ref, RefOr, Type};
use utoipa::{PartialSchema as _, ToSchema as _};
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::headers::{Caching, cached};
use crate::http::{Endpoints, PROBLEM_JSON, Problem, ProblemType, TOO_MANY_REQUESTS};
use crate::server::{OPERATIONAL_PATHS, OperationalRoutes};

/// `GET {BASE_PATH}/openapi.json`: `json`, the document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    description = "This document: OpenAPI 3.1, generated from the code.",
    responses((status = 200, description = "The OpenAPI document.", body = Object,
        content_type = "application/json"))
)]
fn openapi_json(json: &str) -> Response {
    let reply = warp::reply::with_header(json.to_owned(), "content-type", "application/json");
    cached(reply, Caching::Revalidate)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(openapi_json))]
struct DocumentRoute;

/// The whole document of a service whose own routes `api` describes (paths relative to its base
/// path), served under `base_path`.
pub fn document(info: Info, api: OpenApi, base_path: &str) -> OpenApi {
    let mut routes = api;
    routes.merge(DocumentRoute::openapi());
    let mut document = OpenApi::new(info, utoipa::openapi::Paths::new()).nest(base_path, routes);
    document.merge(OperationalRoutes::openapi());
    document.servers = Some(vec![
        ServerBuilder::new()
            .url("/")
            .description(Some(
                "The origin the document was fetched from: the service's port, the gateway or \
                 the ingress (which route only the paths under the base path).",
            ))
            .build(),
    ]);
    describe_common_answers(&mut document);
    describe_gateway_answers(&mut document, base_path);
    document
}

/// The headers every answer carries, described once under `components/headers`.
const COMMON_HEADERS: [(&str, &str, &str); 5] = [
    (
        "X-Request-ID",
        "The request's id: the one the client (the ingress controller, the gateway) sent, or \
         128 random bits in hex; the service's access log line carries it too.",
        "3f2a9c1e5b7d4a608c1e2f3a4b5c6d7e",
    ),
    (
        "Cache-Control",
        "How long the answer may be reused: `public, max-age=1` for prices, `no-cache` for the \
         page, a year for its versioned assets, `no-store` for errors and operational routes.",
        "no-store",
    ),
    (
        "Content-Security-Policy",
        "`default-src 'none'` for everything but the page, which may load only its own script, \
         stylesheet, icon and routes.",
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    ("X-Content-Type-Options", "Always `nosniff`.", "nosniff"),
    ("Referrer-Policy", "Always `no-referrer`.", "no-referrer"),
];

/// Adds the headers every answer carries to every response of every operation, and the 431 of a
/// request head over 16 KiB or with more than hyper's 100 header fields (answered by the HTTP
/// layer, without a body or those headers).
fn describe_common_answers(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    for (name, description, example) in COMMON_HEADERS {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .examples([example]);
        let header = HeaderBuilder::new()
            .schema(Some(schema))
            .description(Some(description))
            .build();
        components.headers.insert(name.to_owned(), RefOr::T(header));
    }
    let operations = document
        .paths
        .paths
        .values_mut()
        .filter_map(|item| item.get.as_mut());
    for operation in operations {
        for response in operation.responses.responses.values_mut() {
            if let RefOr::T(response) = response {
                for (name, _, _) in COMMON_HEADERS {
                    let reference = Ref::new(format!("#/components/headers/{name}"));
                    response
                        .headers
                        .insert(name.to_owned(), RefOr::Ref(reference));
                }
            }
        }
        let too_large = ResponseBuilder::new().description(
            "The request head (request line and headers) is larger than 16 KiB or has more than \
             100 header fields, answered by the HTTP layer without a body; the connection is then \
             closed. Through the gateway, a `request-head-too-large` problem.",
        );
        operation
            .responses
            .responses
            .insert("431".to_owned(), RefOr::T(too_large.build()));
    }
}

/// The problems the gateway answers itself on the routes it passes on, each with the `detail`
/// gateway/nginx.conf writes (a test holds the two together). The ingress controllers answer
/// their own pages instead.
const GATEWAY_ANSWERS: [(ProblemType, &str, &str); 5] = [
    (
        MALFORMED_REQUEST,
        "the request line or a header is not valid HTTP",
        "Answered by the gateway: the request head is not valid HTTP (nginx could not read it, \
         or the service's HTTP layer refused it).",
    ),
    (
        REQUEST_BODY_TOO_LARGE,
        "the routes take no request body",
        "Answered by the gateway: the request declares a body (a Content-Length other than 0, \
         or a Transfer-Encoding), which no route takes; the connection is then closed.",
    ),
    (
        TOO_MANY_REQUESTS,
        "this client asked more than its share of requests; ask again after Retry-After seconds",
        "Answered by the gateway or the ingress controller, never by the service: the client \
         (its address) asked more than its share (docs/configuration.md, What one client may \
         ask). The gateway answers this problem; an ingress controller may answer its own page \
         (manifests/README.md).",
    ),
    (
        REQUEST_HEAD_TOO_LARGE,
        "the request line and headers may take 16 KiB and 100 header fields",
        "The request head (request line and headers) is larger than 16 KiB or has more than \
         100 header fields. Through the gateway this problem; from the service itself the HTTP \
         layer's answer without a body, and the connection is then closed.",
    ),
    (
        SERVICE_UNREACHABLE,
        "the service behind this route does not answer",
        "Answered by the gateway: the service behind the route does not answer.",
    ),
];

const MALFORMED_REQUEST: ProblemType = ProblemType {
    code: "malformed-request",
    title: "Malformed request",
    status: StatusCode::BAD_REQUEST,
};
const REQUEST_BODY_TOO_LARGE: ProblemType = ProblemType {
    code: "request-body-too-large",
    title: "Request body too large",
    status: StatusCode::PAYLOAD_TOO_LARGE,
};
const REQUEST_HEAD_TOO_LARGE: ProblemType = ProblemType {
    code: "request-head-too-large",
    title: "Request head too large",
    status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
};
const SERVICE_UNREACHABLE: ProblemType = ProblemType {
    code: "service-unreachable",
    title: "Service unreachable",
    status: StatusCode::BAD_GATEWAY,
};

/// Adds what the gateway answers instead of the service ([`GATEWAY_ANSWERS`]) to every operation
/// it routes (those under the base path), as a problem. A status the operation documents already
/// (api-a's own 400) is kept, the gateway's answer named in its description.
fn describe_gateway_answers(document: &mut OpenApi, base_path: &str) {
    let components = document.components.get_or_insert_with(Default::default);
    components
        .schemas
        .entry(Problem::name().into_owned())
        .or_insert_with(Problem::schema);
    let routed = document
        .paths
        .paths
        .iter_mut()
        .filter(|(path, _)| !OPERATIONAL_PATHS.contains(&path.as_str()))
        .filter(|(path, _)| base_path.is_empty() || path.starts_with(base_path))
        .filter_map(|(_, item)| item.get.as_mut());
    for operation in routed {
        for (kind, detail, description) in GATEWAY_ANSWERS {
            let status = kind.status.as_str().to_owned();
            let own = match operation.responses.responses.get_mut(&status) {
                // The HTTP layer's bare 431 (see describe_common_answers) gives way to this one.
                Some(RefOr::T(own)) if kind != REQUEST_HEAD_TOO_LARGE => own,
                _ => {
                    let answer = gateway_answer(kind, detail, description);
                    operation
                        .responses
                        .responses
                        .insert(status, RefOr::T(answer));
                    continue;
                }
            };
            own.description = format!(
                "{} Through the gateway, also the `{}` problem ({detail}).",
                own.description, kind.code
            );
        }
    }
}

/// The documented answer of the gateway's problem `kind`.
fn gateway_answer(kind: ProblemType, detail: &str, description: &str) -> DocumentedResponse {
    let example = serde_json::json!({
        "type": kind.uri(),
        "title": kind.title,
        "status": kind.status.as_u16(),
        "detail": detail,
    });
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(Problem::name())))
        .example(Some(example))
        .build();
    let answer = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, content);
    if kind != TOO_MANY_REQUESTS {
        return answer.build();
    }
    let retry_after = HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .examples([1]),
        ))
        .description(Some(
            "Seconds to wait before asking again (the gateway sends it; not every ingress \
             controller does, see manifests/README.md).",
        ))
        .build();
    answer.header("Retry-After", retry_after).build()
}

/// `GET {BASE_PATH}/openapi.json`, registered in `endpoints`, answering `document`.
pub fn route(
    endpoints: &mut Endpoints,
    document: &OpenApi,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone + Send + Sync + use<> {
    // Shared, not copied: warp clones a route's filter for every request it tries.
    let json: std::sync::Arc<str> = to_json(document).into();
    endpoints
        .get("/openapi.json")
        .map(move || openapi_json(&json))
}

/// `document` as served: pretty JSON, with every header a response describes marked `required`
/// (each is always sent: the services' own headers on every answer, `Retry-After` on every 503
/// that has it), which utoipa's Header type cannot say.
pub fn to_json(document: &OpenApi) -> String {
    let mut value = serde_json::to_value(document).expect("a generated document always serializes");
    if let Some(headers) = value
        .pointer_mut("/components/headers")
        .and_then(|h| h.as_object_mut())
    {
        for header in headers.values_mut() {
            header["required"] = serde_json::Value::Bool(true);
        }
    }
    if let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) {
        let responses = paths
            .values_mut()
            .filter_map(|item| item.pointer_mut("/get/responses"))
            .filter_map(|responses| responses.as_object_mut())
            .flat_map(|responses| responses.values_mut());
        for response in responses {
            if let Some(headers) = response.get_mut("headers").and_then(|h| h.as_object_mut()) {
                for header in headers.values_mut().filter(|h| h.get("$ref").is_none()) {
                    header["required"] = serde_json::Value::Bool(true);
                }
            }
        }
    }
    serde_json::to_string_pretty(&value).expect("a JSON value always serializes")
}

/// The paths `document` describes and the routes `endpoints` (the service's own, and then the
/// operational ones) answer, when they differ: `(only documented, only answered)`.
pub fn undocumented_routes(
    document: &OpenApi,
    endpoints: &Endpoints,
) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    let documented: BTreeSet<String> = document.paths.paths.keys().cloned().collect();
    let answered: BTreeSet<String> = endpoints
        .templates()
        .chain(OPERATIONAL_PATHS)
        .map(str::to_owned)
        .collect();
    (documented != answered).then(|| {
        (
            documented.difference(&answered).cloned().collect(),
            answered.difference(&documented).cloned().collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_gateway_answer_documented_is_the_problem_gateway_nginx_conf_writes() {
        let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/nginx.conf");
        let config = std::fs::read_to_string(config).expect("gateway/nginx.conf");
        for (kind, detail, _) in GATEWAY_ANSWERS {
            let written = format!(
                r#"return {status} '{{"type":"{}","title":"{}","status":{status},"detail":"{detail}"}}\n';"#,
                kind.uri(),
                kind.title,
                status = kind.status.as_u16(),
            );
            assert!(config.contains(&written), "not in the gateway: {written}");
        }
    }
}
