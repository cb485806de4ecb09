//! `/api/v1/clients`: the client archive and the front desk's lookup.

use super::support::{idempotent_create, if_match, with_etag};
use super::{path_id, Page};
use crate::extract::{can, ApiJson, ApiQuery, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use shared::clients::{
    self, Client, ClientExport, ClientInput, ClientPatchInput, ClientSort, ListFilter, TimelineEntry,
};
use shared::domain::{ClientId, StoreId};
use shared::pagination::PageRequest;
use shared::FieldErrors;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClientsQuery {
    /// Front-desk lookup: name (any part, Chinese or Latin), pinyin or its initials (zsf), phone
    /// prefix or last digits. Ranked, exact phone first; no cursor.
    pub q: Option<String>,
    /// Items per page (lookup: 1–50, default 20; list: 1–200, default 50).
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// created (default) or name.
    pub sort: Option<String>,
    /// Clients of this store (home store or visited).
    pub store_id: Option<String>,
    pub tag: Option<String>,
    pub marketing_consent: Option<bool>,
}

/// List clients, or look one up with `q`.
#[utoipa::path(
    tag = "clients",
    params(ClientsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Client>), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/clients")]
pub async fn list(
    auth: Authorized<can::ViewClients>,
    state: web::Data<AppState>,
    query: ApiQuery<ClientsQuery>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let query = query.0;
    let mut errors = FieldErrors::default();
    if let Some(q) = query.q {
        let limit = errors.check(
            "limit",
            match query.limit {
                None => Ok(20),
                Some(n) if (1..=50).contains(&n) => Ok(n as usize),
                Some(_) => Err(shared::FieldError::new(
                    "out_of_range",
                    "limit must be between 1 and 50 for a lookup",
                )),
            },
        );
        let Some(limit) = limit else {
            return Err(errors.into());
        };
        let found = state
            .db
            .read(move |conn| clients::lookup(conn, &auth, &q, limit))
            .await?;
        return Ok(HttpResponse::Ok().json(Page {
            items: found,
            next_cursor: None,
        }));
    }
    let sort = errors.check(
        "sort",
        match query.sort.as_deref() {
            None | Some("created") => Ok(ClientSort::Created),
            Some("name") => Ok(ClientSort::Name),
            Some(_) => Err(shared::FieldError::new(
                "invalid_choice",
                "must be one of: created, name",
            )),
        },
    );
    let store_id = errors.check("store_id", query.store_id.as_deref().map(StoreId::parse).transpose());
    let page = match PageRequest::parse(query.limit, query.cursor) {
        Ok(page) => Some(page),
        Err(shared::Error::Validation(more)) => {
            errors.0.extend(more.0);
            None
        }
        Err(other) => return Err(other.into()),
    };
    let (Some(sort), Some(store_id), Some(page)) = (sort, store_id, page) else {
        return Err(errors.into());
    };
    let filter = ListFilter {
        store_id,
        tag: query.tag,
        marketing_consent: query.marketing_consent,
    };
    let clients = state
        .db
        .read(move |conn| clients::list(conn, &auth, &filter, sort, &page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from(clients)))
}

/// Add a client. Send an `Idempotency-Key` header to make retries safe.
#[utoipa::path(
    tag = "clients",
    request_body = ClientInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request return the first answer")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = Client),
        (status = 409, description = "The phone number belongs to another client (named in existing_id)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/clients")]
pub async fn create(
    auth: Authorized<can::ManageClients>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<ClientInput>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let input = body.0;
    let keys = state.keys.clone();
    let now = state.now();
    idempotent_create(&state, &req, auth.tenant, body.1, move |conn| {
        let client = clients::create(conn, &auth, input.clone(), &keys, now)?;
        Ok((
            format!("/api/v1/clients/{}", client.id),
            client.version,
            serde_json::to_value(&client).unwrap_or_default(),
        ))
    })
    .await
}

/// One client. Sensitive fields are included for the roles that treat the client, and each
/// such read is written to the audit log.
#[utoipa::path(
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    security(("bearer" = [])),
    responses((status = 200, body = Client, headers(("ETag" = String))), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/clients/{id}")]
pub async fn get(
    auth: Authorized<can::ViewClients>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ClientId::parse)?;
    let keys = state.keys.clone();
    let now = state.now();
    let client = state
        .db
        .write(move |conn| clients::get(conn, &auth, id, &keys, now))
        .await?;
    Ok(with_etag(StatusCode::OK, client.version, &client))
}

/// Change a client; absent fields stay, `null` clears. Send `If-Match` with the ETag you read
/// to refuse (412) a change made meanwhile by someone else.
#[utoipa::path(
    tag = "clients",
    params(("id" = String, Path, description = "Client id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = ClientPatchInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Client, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/clients/{id}")]
pub async fn update(
    auth: Authorized<can::ManageClients>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<ClientPatchInput>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ClientId::parse)?;
    let expected = if_match(&req);
    let keys = state.keys.clone();
    let now = state.now();
    let input = body.0;
    let client = state
        .db
        .write(move |conn| clients::update(conn, &auth, id, input, expected, &keys, now))
        .await?;
    Ok(with_etag(StatusCode::OK, client.version, &client))
}

/// Remove a client from the archive (visits stay for the stores' figures).
#[utoipa::path(
    tag = "clients",
    params(("id" = String, Path, description = "Client id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/clients/{id}")]
pub async fn delete(
    auth: Authorized<can::DeleteClients>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ClientId::parse)?;
    let expected = if_match(&req);
    let now = state.now();
    state
        .db
        .write(move |conn| clients::delete(conn, &auth, id, expected, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What happened with the client, oldest first.
#[utoipa::path(
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<TimelineEntry>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/clients/{id}/timeline")]
pub async fn timeline(
    auth: Authorized<can::ViewClients>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ClientId::parse)?;
    let entries = state.db.read(move |conn| clients::timeline(conn, &auth, id)).await?;
    Ok(HttpResponse::Ok().json(entries))
}

/// Everything held about one client, as JSON, for the client's access request (audited).
#[utoipa::path(
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    security(("bearer" = [])),
    responses((status = 200, body = ClientExport), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/clients/{id}/export")]
pub async fn export(
    auth: Authorized<can::ExportOrEraseClient>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ClientId::parse)?;
    let keys = state.keys.clone();
    let now = state.now();
    let export = state
        .db
        .write(move |conn| clients::export(conn, &auth, id, &keys, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"client-{id}.json\""),
        ))
        .json(export))
}

/// Erase the client's personal data on their request; visit amounts stay, anonymous.
#[utoipa::path(
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    security(("bearer" = [])),
    responses((status = 200, body = Client), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/clients/{id}/erase")]
pub async fn erase(
    auth: Authorized<can::ExportOrEraseClient>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, ClientId::parse)?;
    let now = state.now();
    let client = state.db.write(move |conn| clients::erase(conn, &auth, id, now)).await?;
    Ok(with_etag(StatusCode::OK, client.version, &client))
}
