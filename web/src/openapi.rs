//! The OpenAPI 3.1 document, generated from the handlers' annotations as they are registered
//! (so a new route cannot be left out), and a browsable page for it.

use actix_web::{get, web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

/// The OpenAPI document.
#[utoipa::path(tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
#[get("/api/openapi.json")]
pub async fn document(state: web::Data<crate::state::AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.as_str().to_owned())
}

/// A browsable rendering of the OpenAPI document (Scalar, loaded from its CDN by the browser).
#[utoipa::path(tag = "operations", responses((status = 200, description = "HTML page", content_type = "text/html")))]
#[get("/api/docs")]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(DOCS_PAGE)
}

const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>salon-crm API</title>
</head>
<body>
  <script id="api-reference" data-url="/api/openapi.json"></script>
  <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
  <noscript>This page needs JavaScript; the raw document is at <a href="/api/openapi.json">/api/openapi.json</a>.</noscript>
</body>
</html>
"#;
