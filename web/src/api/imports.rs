//! `POST /api/v1/imports/clients` and `/imports/visits`: CSV files from a spreadsheet.

use crate::extract::{can, ApiQuery, Authorized};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::state::AppState;
use actix_web::{post, web, HttpMessage, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use shared::imports::{self, ImportReport};

/// A CSV of 100,000 clients is about 10 MB; leave room for wide files.
const MAX_CSV_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Import the good rows even when some are rejected (default false: all or nothing).
    pub partial: Option<bool>,
}

/// Read the CSV body (streamed, bounded) and decode it: UTF-8 with or without BOM, or GB18030
/// as Excel in China saves it (declared as `charset=gbk`/`gb18030`, or detected).
async fn csv_text(req: &HttpRequest, mut payload: web::Payload) -> Result<String, ApiError> {
    let mime = req.mime_type().ok().flatten();
    let is_csv = mime
        .as_ref()
        .is_some_and(|m| (m.type_() == mime::TEXT && m.subtype() == mime::CSV) || m.subtype() == "csv");
    if !is_csv {
        return Err(ApiError::UnsupportedMediaType("text/csv"));
    }
    let charset = mime
        .as_ref()
        .and_then(|m| m.get_param(mime::CHARSET))
        .map(|c| c.as_str().to_owned());
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("the upload was interrupted".into()))?;
        if bytes.len() + chunk.len() > MAX_CSV_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    shared::import::decode(&bytes, charset.as_deref())
        .map_err(|e| ApiError::Model(shared::Error::invalid("file", "undecodable", e.to_string())))
}

fn answer(report: ImportReport) -> ApiResult<HttpResponse> {
    if report.written || report.rejected.is_empty() {
        Ok(HttpResponse::Ok().json(report))
    } else {
        Err(ApiError::ImportRejected(Box::new(report)))
    }
}

/// Import clients from CSV. Columns are the client fields (name required; phone, email, gender,
/// birthday, marketing_consent, home_store_id, preferred_channel, locale, tags, …).
#[utoipa::path(
    tag = "imports",
    params(ImportQuery),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "CSV with a header row",
        example = json!("name,phone,birthday,tags\n张三丰,13712345678,03-08,vip\n李四,13912345678,,\n")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportReport),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rows rejected; nothing written (see `report`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/imports/clients")]
pub async fn clients(
    auth: Authorized<can::ImportData>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: ApiQuery<ImportQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let partial = query.0.partial.unwrap_or(false);
    let text = csv_text(&req, payload).await?;
    let keys = state.keys.clone();
    let now = state.now();
    let report = state
        .db
        .write(move |conn| imports::import_clients(conn, &auth, &text, partial, &keys, now))
        .await?;
    answer(report)
}

/// Import visits from CSV, one visit per row, the client found by phone. Columns: phone,
/// completed_at, amount_cents (required); store_id, staff_id, service_id, description,
/// discount_cents, payment_method, notes.
#[utoipa::path(
    tag = "imports",
    params(ImportQuery),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "CSV with a header row",
        example = json!("phone,completed_at,amount_cents,payment_method\n13712345678,2026-01-10T10:30:00+08:00,39800,cash\n")
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportReport),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rows rejected; nothing written (see `report`)", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/imports/visits")]
pub async fn visits(
    auth: Authorized<can::ImportData>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: ApiQuery<ImportQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let auth = auth.0;
    let partial = query.0.partial.unwrap_or(false);
    let text = csv_text(&req, payload).await?;
    let now = state.now();
    let report = state
        .db
        .write(move |conn| imports::import_visits(conn, &auth, &text, partial, now))
        .await?;
    answer(report)
}
