//! `/api/v1/messages`: the outbox — every message, its occasion, channel, status, attempts,
//! last error and times; staff retry a failed one or cancel one that has not gone.

use super::{path_id, Page};
use crate::extract::{can, ApiQuery, Authorized};
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use shared::domain::{ClientId, MessageId};
use shared::outreach::outbox::{self, MessageFilter, MessageView};
use shared::outreach::{MessageKind, MessageStatus};
use shared::pagination::PageRequest;
use shared::FieldErrors;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// birthday | survey | complaint_alert | escalation | wake_up
    #[param(value_type = Option<MessageKind>)]
    pub kind: Option<String>,
    /// pending | deferred | sending | sent | failed | suppressed | cancelled
    #[param(value_type = Option<MessageStatus>)]
    pub status: Option<String>,
    pub client_id: Option<String>,
}

/// The outbox, newest first (store roles: their store's messages).
#[utoipa::path(tag = "messages", params(MessagesQuery), security(("bearer" = [])), responses((status = 200, body = Page<MessageView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/messages")]
pub async fn list(
    auth: Authorized<can::ViewOutreach>,
    state: web::Data<AppState>,
    query: ApiQuery<MessagesQuery>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let query = query.0;
    let mut errors = FieldErrors::default();
    let kind = errors.check("kind", query.kind.as_deref().map(MessageKind::parse).transpose());
    let status = errors.check("status", query.status.as_deref().map(MessageStatus::parse).transpose());
    let client_id = errors.check("client_id", query.client_id.as_deref().map(ClientId::parse).transpose());
    let (Some(kind), Some(status), Some(client_id)) = (kind, status, client_id) else {
        return Err(errors.into());
    };
    let page = PageRequest::parse(query.limit, query.cursor)?;
    let filter = MessageFilter {
        kind,
        status,
        client_id,
    };
    let messages = state
        .db
        .read(move |conn| outbox::list(conn, &auth.tenant, &auth.actor, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from(messages)))
}

/// One message.
#[utoipa::path(tag = "messages", params(("id" = String, Path, description = "Message id")), security(("bearer" = [])), responses((status = 200, body = MessageView), (status = 404, body = Problem, content_type = "application/problem+json")))]
#[get("/messages/{id}")]
pub async fn get(
    auth: Authorized<can::ViewOutreach>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, MessageId::parse)?;
    let message = state
        .db
        .read(move |conn| outbox::get(conn, &auth.tenant, &auth.actor, id))
        .await?;
    Ok(HttpResponse::Ok().json(message))
}

/// Send a failed message again (a fresh count of attempts). 409 unless it failed.
#[utoipa::path(tag = "messages", params(("id" = String, Path, description = "Message id")), security(("bearer" = [])), responses((status = 200, body = MessageView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
#[post("/messages/{id}/retry")]
pub async fn retry(
    auth: Authorized<can::ManageMessages>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, MessageId::parse)?;
    let now = state.now();
    let message = state
        .db
        .write(move |conn| outbox::retry(conn, &auth.tenant, &auth.actor, id, now))
        .await?;
    Ok(HttpResponse::Ok().json(message))
}

/// Cancel a message that has not gone (pending, deferred or failed). 409 otherwise.
#[utoipa::path(tag = "messages", params(("id" = String, Path, description = "Message id")), security(("bearer" = [])), responses((status = 200, body = MessageView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
#[post("/messages/{id}/cancel")]
pub async fn cancel(
    auth: Authorized<can::ManageMessages>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let id = path_id(&id, MessageId::parse)?;
    let now = state.now();
    let message = state
        .db
        .write(move |conn| outbox::cancel(conn, &auth.tenant, &auth.actor, id, now))
        .await?;
    Ok(HttpResponse::Ok().json(message))
}
