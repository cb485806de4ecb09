//! The OpenAPI 3.1 document, generated from the handlers' annotations as they are registered
//! (so a new route cannot be left out), and a browsable page for it.

use actix_web::dev::ResourceDef;
use actix_web::{get, web, HttpResponse};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "salon-crm",
        description = "Client care for beauty-salon chains: the client archive, visits, satisfaction surveys, \
                       complaints and the care automations. Tenant data is reached with a bearer token from \
                       `POST /api/v1/signup` or `POST /api/v1/sessions`; errors are application/problem+json."
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::problem::Problem))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The problems every operation of a kind can answer, documented once as shared responses
/// (`#/components/responses/…`) and added to each operation that can meet them, so that no
/// route has to list them by hand (and none can forget one):
///
/// - any operation with a bearer token: 401 (missing, invalid or expired token; also answered
///   by the session lookup for a bad token), and 403 (the role may not) unless it only needs a
///   session ([`SESSION_ONLY`]);
/// - any operation with an id in its path: 404 (absent, malformed or another tenant's);
/// - any operation with a request body: 400 (not JSON), 413 (too large), 415 (wrong content
///   type), 422 (a field is wrong);
/// - any operation with query parameters: 422 (a parameter is wrong or unknown);
/// - any operation with an `If-Match` header: 412 (stale ETag);
/// - every operation under `/api/v1`: 503 (the database is not reachable; `Retry-After`).
///
/// An operation's own declaration of the same status (with its own description) is kept.
/// Also gives each operation a unique `operationId` (utoipa takes the handler's name, and
/// `create`, `list`, `get` … recur across resources).
pub fn complete(doc: &mut utoipa::openapi::OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, response) in shared_responses() {
        components.responses.insert(name.to_owned(), RefOr::T(response));
    }
    let mut seen_ids: BTreeMap<String, usize> = BTreeMap::new();
    for item in doc.paths.paths.values() {
        for (_, operation) in operations(item) {
            if let Some(id) = &operation.operation_id {
                *seen_ids.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        for operation in operations_mut(item) {
            add_problem_responses(path, operation);
            bound_page_limits(operation);
            let tag = operation.tags.as_ref().and_then(|tags| tags.first()).cloned();
            if let (Some(id), Some(tag)) = (&operation.operation_id, tag) {
                if seen_ids.get(id).copied().unwrap_or_default() > 1 {
                    operation.operation_id = Some(format!("{tag}_{id}"));
                }
            }
        }
    }
}

/// Every list reads `?limit=` through one parser (`PageRequest::parse`): 1 to
/// [`MAX_LIMIT`](shared::pagination::MAX_LIMIT), else 422. The document says so once, here.
fn bound_page_limits(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        if parameter.parameter_in != ParameterIn::Query || parameter.name != "limit" {
            continue;
        }
        if let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() {
            schema.minimum.get_or_insert(utoipa::Number::Int(1));
            schema
                .maximum
                .get_or_insert(utoipa::Number::Int(shared::pagination::MAX_LIMIT as isize));
        }
    }
}

/// Operations that need a session but no particular role, so cannot answer 403.
const SESSION_ONLY: [&str; 2] = ["/api/v1/me", "/api/v1/sessions/current"];

fn add_problem_responses(path: &str, operation: &mut Operation) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let has_query = parameters.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let has_if_match = parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case("if-match"));
    let has_body = operation.request_body.is_some();
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    if secured {
        wanted.push(("401", "Unauthenticated"));
        if !SESSION_ONLY.contains(&path) {
            wanted.push(("403", "Forbidden"));
        }
    }
    if path.contains('{') {
        wanted.push(("404", "NotFound"));
    }
    if has_body {
        wanted.extend([
            ("400", "MalformedBody"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
        ]);
    }
    if has_body || has_query {
        wanted.push(("422", "ValidationFailed"));
    }
    if has_if_match {
        wanted.push(("412", "PreconditionFailed"));
    }
    if path.starts_with("/api/v1/") {
        wanted.push(("503", "Unavailable"));
    }
    for (status, name) in wanted {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

fn problem_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    )
}

fn string_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(description))
        .build()
}

fn shared_responses() -> [(&'static str, Response); 9] {
    [
        (
            "MalformedBody",
            problem_response("The body is not valid JSON (`malformed_json`) or could not be read (`bad_request`).")
                .build(),
        ),
        (
            "Unauthenticated",
            problem_response("Missing, invalid or expired bearer token (`unauthenticated`).")
                .header("WWW-Authenticate", string_header("`Bearer`"))
                .build(),
        ),
        (
            "Forbidden",
            problem_response("The staff member's role or store does not allow this (`forbidden`).").build(),
        ),
        (
            "NotFound",
            problem_response("No such record in this tenant (`not_found`); a malformed id is not found either.")
                .build(),
        ),
        (
            "PreconditionFailed",
            problem_response("`If-Match` names an older version (`precondition_failed`); read it again.").build(),
        ),
        (
            "PayloadTooLarge",
            problem_response("The body is larger than this endpoint accepts (`payload_too_large`).").build(),
        ),
        (
            "UnsupportedMediaType",
            problem_response(
                "The body was not sent with the content type this endpoint reads (`unsupported_media_type`).",
            )
            .build(),
        ),
        (
            "ValidationFailed",
            problem_response(
                "A field or parameter is missing, unknown or invalid (`validation_failed`); `errors` names each.",
            )
            .build(),
        ),
        (
            "Unavailable",
            problem_response(
                "The database is not reachable right now (`unavailable`); retry after `Retry-After` seconds.",
            )
            .header("Retry-After", string_header("Seconds to wait"))
            .build(),
        ),
    ]
}

fn operations(item: &PathItem) -> impl Iterator<Item = (&'static str, &Operation)> {
    [
        ("GET", &item.get),
        ("PUT", &item.put),
        ("POST", &item.post),
        ("DELETE", &item.delete),
        ("OPTIONS", &item.options),
        ("HEAD", &item.head),
        ("PATCH", &item.patch),
        ("TRACE", &item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_ref().map(|operation| (method, operation)))
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// Every documented path template with the methods it answers, for 405 responses.
fn route_table() -> &'static [(ResourceDef, Vec<&'static str>)] {
    static TABLE: OnceLock<Vec<(ResourceDef, Vec<&'static str>)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        crate::startup::openapi()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = operations(item).map(|(method, _)| method).collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect()
    })
}

/// The methods a documented path answers, when `path` is one (and so a request with another
/// method is 405, not 404).
pub fn allowed_methods(path: &str) -> Option<&'static [&'static str]> {
    route_table()
        .iter()
        .find(|(resource, _)| resource.is_match(path))
        .map(|(_, methods)| methods.as_slice())
}

/// The OpenAPI document.
#[utoipa::path(tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
#[get("/api/openapi.json")]
pub async fn document(state: web::Data<crate::state::AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.as_str().to_owned())
}

/// The API reference: the OpenAPI document, browsable.
// RapiDoc (a web component) at a pinned version, served by this binary (`web/assets/vendor`),
// configured by attributes (no inline script) and loading nothing from elsewhere
// (`load-fonts="false"`). The CSP allows scripts from this origin only; RapiDoc sets inline
// styles, hence `style-src 'unsafe-inline'` on this page.
#[utoipa::path(tag = "operations", responses((status = 200, description = "HTML page", content_type = "text/html")))]
#[get("/api/docs")]
pub async fn docs_page() -> HttpResponse {
    let page = format!(
        r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>salon-crm API</title>
  <script type="module" src="{reference}"></script>
</head>
<body>
  <rapi-doc spec-url="/api/openapi.json" render-style="read" theme="light" primary-color="#8c1d40"
    show-header="false" allow-spec-url-load="false" allow-spec-file-load="false" load-fonts="false"
    regular-font="system-ui, -apple-system, sans-serif" mono-font="ui-monospace, monospace"></rapi-doc>
  <noscript>This page needs JavaScript; the raw document is at <a href="/api/openapi.json">/api/openapi.json</a>.</noscript>
</body>
</html>
"##,
        reference = crate::assets::url("api-reference.js"),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .body(page)
}
