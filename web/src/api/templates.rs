//! `/api/v1/templates`: what each outgoing message says. The list is the effective set (the
//! tenant's own templates where it saved one, else the built-in ones); saving one for a kind,
//! channel and locale replaces the built-in, deleting it brings the built-in back.

use super::path_id;
use super::support::{if_match, with_etag};
use crate::extract::{can, ApiJson, ApiQuery, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use shared::domain::{Channel, Locale};
use shared::outreach::templates::{self, MessageTemplate, NewTemplate, TemplateFilter, TemplateId, TemplatePatch};
use shared::outreach::MessageKind;
use shared::FieldErrors;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    pub kind: MessageKind,
    pub channel: Channel,
    /// zh-CN or en.
    #[schema(example = "zh-CN")]
    pub locale: String,
    /// Required for email; an SMS has none.
    #[schema(example = "{{ client_name }}，生日快乐")]
    pub subject: Option<String>,
    /// Up to 2,000 characters. Placeholders: `{{ client_name }}`, `{{ store_name }}`,
    /// `{{ store_phone }}`, `{{ salon_name }}`, `{{ date }}`, `{{ link }}`, `{{ offer }}`, and in
    /// messages to staff `{{ staff_name }}`, `{{ complaint_summary }}`; optional values can be
    /// wrapped in `{% if offer %}…{% endif %}`. A survey must contain `{{ link }}`. The SMS
    /// signature and the opt-out footer are added when sending.
    #[schema(example = "亲爱的{{ client_name }}，生日快乐！生日当月到店即享{{ offer }}。")]
    pub body: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    /// Email templates only (required there).
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(example = "{{ client_name }}，生日快乐")]
    pub subject: Option<Option<String>>,
    #[schema(example = "亲爱的{{ client_name }}，生日快乐！")]
    pub body: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TemplatesQuery {
    /// birthday, survey, complaint_alert, escalation or wake_up.
    pub kind: Option<String>,
    /// sms or email.
    pub channel: Option<String>,
    /// zh-CN or en.
    pub locale: Option<String>,
}

/// The templates that apply.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateSet {
    pub items: Vec<MessageTemplate>,
}

/// The effective templates: for every kind × channel × locale, the tenant's own or the built-in.
/// SMS templates report the length of a sample rendering (with the signature and, for marketing,
/// the opt-out footer).
#[utoipa::path(
    tag = "templates",
    params(TemplatesQuery),
    security(("bearer" = [])),
    responses((status = 200, body = TemplateSet), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/templates")]
pub async fn list(
    auth: Authorized<can::ViewOutreach>,
    state: web::Data<AppState>,
    query: ApiQuery<TemplatesQuery>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let query = query.0;
    let mut errors = FieldErrors::default();
    let filter = TemplateFilter {
        kind: errors
            .check("kind", query.kind.as_deref().map(MessageKind::parse).transpose())
            .flatten(),
        channel: errors
            .check("channel", query.channel.as_deref().map(Channel::parse).transpose())
            .flatten(),
        locale: errors
            .check("locale", query.locale.as_deref().map(Locale::parse).transpose())
            .flatten(),
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let items = state
        .db
        .read(move |conn| templates::effective(conn, &tenant, &filter))
        .await?;
    Ok(HttpResponse::Ok().json(TemplateSet { items }))
}

/// Save the tenant's own template for a kind, channel and locale (it replaces the built-in).
#[utoipa::path(
    tag = "templates",
    request_body = CreateTemplate,
    security(("bearer" = [])),
    responses(
        (status = 201, body = MessageTemplate, headers(("Location" = String), ("ETag" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/templates")]
pub async fn create(
    auth: Authorized<can::ManageOutreach>,
    state: web::Data<AppState>,
    body: ApiJson<CreateTemplate>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let body = body.0;
    let new = NewTemplate::parse(
        body.kind,
        body.channel,
        &body.locale,
        body.subject.as_deref(),
        &body.body,
    )?;
    let now = state.now();
    let template = state
        .db
        .write(move |conn| templates::create(conn, &tenant, new, now))
        .await?;
    let mut response = with_etag(StatusCode::CREATED, template.version.unwrap_or(1), &template);
    if let Some(id) = template.id {
        if let Ok(location) = header::HeaderValue::from_str(&format!("/api/v1/templates/{id}")) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    Ok(response)
}

/// One of the tenant's own templates.
#[utoipa::path(
    tag = "templates",
    params(("id" = String, Path, description = "Template id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessageTemplate, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/templates/{id}")]
pub async fn get(
    auth: Authorized<can::ViewOutreach>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, TemplateId::parse)?;
    let template = state.db.read(move |conn| templates::get(conn, &tenant, id)).await?;
    Ok(with_etag(StatusCode::OK, template.version.unwrap_or(1), &template))
}

/// Change a template's subject or body; absent fields stay. Send `If-Match` with the ETag you
/// read to refuse (412) a change made meanwhile by someone else.
#[utoipa::path(
    tag = "templates",
    params(("id" = String, Path, description = "Template id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = UpdateTemplate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MessageTemplate, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
#[patch("/templates/{id}")]
pub async fn update(
    auth: Authorized<can::ManageOutreach>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<UpdateTemplate>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, TemplateId::parse)?;
    let expected = if_match(&req);
    let body = body.0;
    let patch = TemplatePatch {
        subject: body.subject,
        body: body.body,
    };
    let now = state.now();
    let template = state
        .db
        .write(move |conn| templates::update(conn, &tenant, id, patch, expected, now))
        .await?;
    Ok(with_etag(StatusCode::OK, template.version.unwrap_or(1), &template))
}

/// Delete the tenant's own template: the built-in one applies again.
#[utoipa::path(
    tag = "templates",
    params(("id" = String, Path, description = "Template id"), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted; the built-in template applies again"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")
    )
)]
#[delete("/templates/{id}")]
pub async fn delete(
    auth: Authorized<can::ManageOutreach>,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let tenant = auth.0.tenant;
    let id = path_id(&id, TemplateId::parse)?;
    let expected = if_match(&req);
    state
        .db
        .write(move |conn| templates::delete(conn, &tenant, id, expected))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
