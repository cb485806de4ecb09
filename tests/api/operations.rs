//! The operator surface: health, readiness, metrics, request ids, the OpenAPI document.

use e2e::{both_backends, Backend, TestApp};
use reqwest::Method;

async fn health_and_readiness(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let health = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, 200);
    let ready = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(ready.json["database"], expected);
}

async fn requests_carry_an_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let generated = app.request(Method::GET, "/healthz", None, None).await;
    let id = generated.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let echoed = app
        .send(
            app.client()
                .get(app.url("/healthz"))
                .header("x-request-id", "trace-abc_123"),
        )
        .await;
    assert_eq!(echoed.headers["x-request-id"], "trace-abc_123");
    let hostile = app
        .send(
            app.client()
                .get(app.url("/healthz"))
                .header("x-request-id", "a b\"<script>"),
        )
        .await;
    assert_ne!(hostile.headers["x-request-id"], "a b\"<script>");
    let problem = app.request(Method::GET, "/api/v1/nope", None, None).await;
    assert!(problem.headers.contains_key("x-request-id"), "errors carry the id too");
}

async fn metrics_count_requests_by_route_template(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.signup("Chain").await;
    let store = app.create_store(&owner, "A").await;
    app.get(&format!("/api/v1/stores/{store}"), &owner.token).await;
    app.get("/api/v1/stores/01900000-0000-7000-8000-000000000000", &owner.token)
        .await;
    let metrics = app.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.content_type().starts_with("text/plain"));
    let text = &metrics.text;
    assert!(
        text.contains(r#"salon_http_requests_total{method="GET",route="/api/v1/stores/{id}",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"salon_http_requests_total{method="GET",route="/api/v1/stores/{id}",status="404"} 1"#),
        "{text}"
    );
    assert!(!text.contains(&store), "ids never become label values");
    assert!(text.contains("salon_http_request_duration_seconds_bucket"));
    assert!(text.contains(r#"salon_db_pool_connections{state="max"} 4"#), "{text}");
    assert!(text.contains("salon_build_info{"));

    match (std::env::var("PROMTOOL"), std::env::var("PROMTOOL_SKIP_REASON")) {
        (Ok(promtool), _) => {
            let mut child = std::process::Command::new(promtool)
                .args(["check", "metrics"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run promtool");
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
                "promtool check metrics complained:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        (Err(_), Ok(reason)) => eprintln!("SKIPPED promtool check metrics: {reason}"),
        (Err(_), Err(_)) => panic!("set PROMTOOL (scripts/test does) or PROMTOOL_SKIP_REASON"),
    }
}

async fn openapi_documents_every_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let document = app.request(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(document.status, 200);
    assert!(document.json["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document.json["paths"].as_object().unwrap();
    let mut operations: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    operations.sort();
    for expected in [
        "POST /api/v1/signup",
        "POST /api/v1/sessions",
        "DELETE /api/v1/sessions/current",
        "GET /api/v1/me",
        "GET /api/v1/stores",
        "POST /api/v1/stores",
        "GET /api/v1/stores/{id}",
        "PATCH /api/v1/stores/{id}",
        "DELETE /api/v1/stores/{id}",
        "GET /api/v1/staff",
        "POST /api/v1/staff",
        "GET /api/v1/staff/{id}",
        "PATCH /api/v1/staff/{id}",
        "DELETE /api/v1/staff/{id}",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /api/openapi.json",
    ] {
        assert!(
            operations.contains(&expected.to_owned()),
            "{expected} missing from {operations:#?}"
        );
    }
    assert!(document.json["components"]["securitySchemes"]["bearer"].is_object());
    let docs = app.request(Method::GET, "/api/docs", None, None).await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("/api/openapi.json"));
}

/// The document says where each parameter goes and what each operation can answer: query
/// parameters are in the query (utoipa puts a struct's parameters in the path unless told),
/// operation ids are unique, and the problems an operation can meet are listed.
async fn openapi_parameters_and_problems_are_truthful(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let document = app.request(Method::GET, "/api/openapi.json", None, None).await.json;
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "{name}: operationId {id} is not unique");
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let parameter_name = parameter["name"].as_str().unwrap();
                let in_template = path.contains(&format!("{{{parameter_name}}}"));
                assert_eq!(
                    parameter["in"] == "path",
                    in_template,
                    "{name}: parameter {parameter_name} is declared in {}",
                    parameter["in"]
                );
            }
            let responses = operation["responses"].as_object().unwrap();
            let mut expected = vec![];
            if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                expected.push("401");
            }
            if path.contains('{') {
                expected.push("404");
            }
            if operation.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            for status in expected {
                assert!(responses.contains_key(status), "{name} does not document {status}");
            }
        }
    }
    let unauthenticated = &document["components"]["responses"]["Unauthenticated"];
    assert_eq!(
        unauthenticated["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    // A query parameter the document names is read from the query.
    let owner = app.signup("Chain").await;
    let response = app.get("/api/v1/stores?limit=0", &owner.token).await;
    assert_eq!(response.invalid_fields(), ["limit"]);
}

both_backends!(
    health_and_readiness,
    requests_carry_an_id,
    metrics_count_requests_by_route_template,
    openapi_documents_every_route,
    openapi_parameters_and_problems_are_truthful,
);
