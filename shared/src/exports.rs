//! Bulk exports of the client archive. The seed's rule: 数据导出需经负责人批准并记录用途和范围
//! (a data export needs the approval of a responsible owner, and its purpose and scope are
//! recorded). A request names its purpose and scope; an owner approves or rejects it; the
//! approved file can be downloaded once within 24 hours. Every step is in the audit log.

use crate::audit::{self, AuditAction};
use crate::db::schema::{clients, export_requests};
use crate::db::{from_db_time, to_db_time, AnyConnection};
use crate::domain::{ExportId, Role, StaffId, StoreId, Text};
use crate::error::{Error, Result};
use crate::pagination::{Page, PageRequest};
use crate::tenancy::{Auth, Tenant};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

/// How long an approval stays valid.
pub const APPROVAL_VALID_FOR: Duration = Duration::hours(24);

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportRequest {
    pub id: ExportId,
    pub requested_by: StaffId,
    /// Why the data leaves the system (recorded, required).
    pub purpose: String,
    /// The scope: one store's clients, or (absent) the whole chain's.
    pub store_id: Option<StoreId>,
    /// pending, approved, rejected or downloaded.
    pub status: String,
    pub decided_by: Option<StaffId>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The approving owner was also the requester (allowed, and recorded as such).
    pub self_approved: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub downloaded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<NaiveDateTime>,
    bool,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

#[allow(clippy::type_complexity)]
fn columns() -> (
    export_requests::id,
    export_requests::requested_by,
    export_requests::purpose,
    export_requests::store_id,
    export_requests::status,
    export_requests::decided_by,
    export_requests::decided_at,
    export_requests::self_approved,
    export_requests::expires_at,
    export_requests::downloaded_at,
    export_requests::created_at,
) {
    (
        export_requests::id,
        export_requests::requested_by,
        export_requests::purpose,
        export_requests::store_id,
        export_requests::status,
        export_requests::decided_by,
        export_requests::decided_at,
        export_requests::self_approved,
        export_requests::expires_at,
        export_requests::downloaded_at,
        export_requests::created_at,
    )
}

fn from_row(row: Row) -> Result<ExportRequest> {
    let (
        id,
        requested_by,
        purpose,
        store_id,
        status,
        decided_by,
        decided_at,
        self_approved,
        expires_at,
        downloaded_at,
        created_at,
    ) = row;
    Ok(ExportRequest {
        id: ExportId::from_db(&id)?,
        requested_by: StaffId::from_db(&requested_by)?,
        purpose,
        store_id: store_id.as_deref().map(StoreId::from_db).transpose()?,
        status,
        decided_by: decided_by.as_deref().map(StaffId::from_db).transpose()?,
        decided_at: decided_at.map(from_db_time),
        self_approved,
        expires_at: expires_at.map(from_db_time),
        downloaded_at: downloaded_at.map(from_db_time),
        created_at: from_db_time(created_at),
    })
}

pub fn get(conn: &mut AnyConnection, tenant: &Tenant, id: ExportId) -> Result<ExportRequest> {
    let row = export_requests::table
        .filter(export_requests::tenant_id.eq(tenant.key()))
        .filter(export_requests::id.eq(id.to_string()))
        .select(columns())
        .first::<Row>(conn)
        .optional()?
        .ok_or(Error::NotFound)?;
    from_row(row)
}

pub fn list(conn: &mut AnyConnection, tenant: &Tenant, page: &PageRequest) -> Result<Page<ExportRequest>> {
    let mut query = export_requests::table
        .filter(export_requests::tenant_id.eq(tenant.key()))
        .select(columns())
        .order(export_requests::id.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(export_requests::id.lt(after.clone()));
    }
    let rows = query
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(rows, page, |request| request.id.to_string()))
}

pub fn request(
    conn: &mut AnyConnection,
    auth: &Auth,
    purpose: Text,
    store: Option<StoreId>,
    now: DateTime<Utc>,
) -> Result<ExportRequest> {
    let tenant = &auth.tenant;
    if purpose.clone().into_inner().chars().count() < 5 {
        return Err(Error::invalid(
            "purpose",
            "too_short",
            "say what the data is for (at least 5 characters)",
        ));
    }
    if let Some(store) = store {
        if !crate::stores::exists(conn, tenant, store)? {
            return Err(Error::invalid("store_id", "unknown_store", "no such store"));
        }
    }
    let id = ExportId::new();
    let purpose = purpose.into_inner();
    diesel::insert_into(export_requests::table)
        .values((
            export_requests::tenant_id.eq(tenant.key()),
            export_requests::id.eq(id.to_string()),
            export_requests::requested_by.eq(auth.actor.staff_id.to_string()),
            export_requests::purpose.eq(&purpose),
            export_requests::store_id.eq(store.map(|s| s.to_string())),
            export_requests::status.eq("pending"),
            export_requests::created_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        tenant,
        Some(auth.actor.staff_id),
        AuditAction::BulkExportRequested,
        ("export", Some(id.to_string())),
        serde_json::json!({ "purpose": purpose, "store_id": store }),
        now,
    )?;
    get(conn, tenant, id)
}

/// An owner approves or rejects a pending request.
pub fn decide(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: ExportId,
    approve: bool,
    now: DateTime<Utc>,
) -> Result<ExportRequest> {
    let tenant = &auth.tenant;
    if auth.actor.role != Role::Owner {
        return Err(Error::Forbidden("only an owner approves exports"));
    }
    let current = get(conn, tenant, id)?;
    if current.status != "pending" {
        return Err(Error::conflict(
            "already_decided",
            format!("this request is already {}", current.status),
        ));
    }
    let self_approved = approve && current.requested_by == auth.actor.staff_id;
    diesel::update(export_requests::table)
        .filter(export_requests::tenant_id.eq(tenant.key()))
        .filter(export_requests::id.eq(id.to_string()))
        .filter(export_requests::status.eq("pending"))
        .set((
            export_requests::status.eq(if approve { "approved" } else { "rejected" }),
            export_requests::decided_by.eq(Some(auth.actor.staff_id.to_string())),
            export_requests::decided_at.eq(Some(to_db_time(now))),
            export_requests::self_approved.eq(self_approved),
            export_requests::expires_at.eq(approve.then(|| to_db_time(now + APPROVAL_VALID_FOR))),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        tenant,
        Some(auth.actor.staff_id),
        if approve {
            AuditAction::BulkExportApproved
        } else {
            AuditAction::BulkExportRejected
        },
        ("export", Some(id.to_string())),
        serde_json::json!({ "self_approved": self_approved, "purpose": current.purpose }),
        now,
    )?;
    get(conn, tenant, id)
}

/// The approved file, once: the requester or an owner downloads it within the approval's
/// validity. Sensitive fields are never part of a bulk export.
pub fn download(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: ExportId,
    now: DateTime<Utc>,
) -> Result<(ExportRequest, String)> {
    let tenant = &auth.tenant;
    let current = get(conn, tenant, id)?;
    if current.requested_by != auth.actor.staff_id && auth.actor.role != Role::Owner {
        return Err(Error::NotFound);
    }
    match current.status.as_str() {
        "approved" if current.expires_at.is_some_and(|t| t > now) => {}
        "approved" => {
            return Err(Error::conflict(
                "export_expired",
                "the approval has expired; request the export again",
            ))
        }
        "downloaded" => {
            return Err(Error::conflict(
                "export_used",
                "this export was already downloaded; request it again",
            ))
        }
        _ => {
            return Err(Error::conflict(
                "export_not_approved",
                "a bulk export needs an owner's approval first (数据导出需经负责人批准)",
            ))
        }
    }
    // Taken before the file is made, and only if still approved and valid: of two requests
    // racing for the download, the second waits for the first's row lock (PostgreSQL; SQLite
    // serialises writers) and then finds nothing to take.
    let taken = diesel::update(export_requests::table)
        .filter(export_requests::tenant_id.eq(tenant.key()))
        .filter(export_requests::id.eq(id.to_string()))
        .filter(export_requests::status.eq("approved"))
        .filter(export_requests::expires_at.gt(to_db_time(now)))
        .set((
            export_requests::status.eq("downloaded"),
            export_requests::downloaded_at.eq(Some(to_db_time(now))),
        ))
        .execute(conn)?;
    if taken == 0 {
        return Err(Error::conflict(
            "export_used",
            "this export was already downloaded; request it again",
        ));
    }
    let csv = render(conn, tenant, current.store_id)?;
    audit::record(
        conn,
        tenant,
        Some(auth.actor.staff_id),
        AuditAction::BulkExportDownloaded,
        ("export", Some(id.to_string())),
        serde_json::json!({ "bytes": csv.len(), "purpose": current.purpose, "store_id": current.store_id }),
        now,
    )?;
    Ok((get(conn, tenant, id)?, csv))
}

const HEADER: [&str; 14] = [
    "id",
    "name",
    "phone",
    "email",
    "gender",
    "birthday",
    "locale",
    "preferred_channel",
    "marketing_consent",
    "home_store_id",
    "tags",
    "visit_count",
    "last_visit_at",
    "total_spent_cents",
];

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage
/// return before one) is written with a leading `'`, which makes it text (OWASP, CSV
/// injection). A phone number `+8613…` reads `'+8613…`.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

fn render(conn: &mut AnyConnection, tenant: &Tenant, store: Option<StoreId>) -> Result<String> {
    use crate::db::schema::client_stores;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| Error::Internal(format!("writing the export failed: {e}"));
    writer.write_record(HEADER).map_err(failed)?;
    let mut after = String::new();
    loop {
        let mut query = clients::table
            .filter(clients::tenant_id.eq(tenant.key()))
            .filter(clients::deleted_at.is_null())
            .filter(clients::erased_at.is_null())
            .filter(clients::id.gt(after.clone()))
            .select(crate::clients::ClientRow::as_select())
            .order(clients::id.asc())
            .limit(2000)
            .into_boxed();
        if let Some(store) = store {
            let linked = client_stores::table
                .filter(client_stores::tenant_id.eq(tenant.key()))
                .filter(client_stores::store_id.eq(store.to_string()))
                .select(client_stores::client_id);
            query = query.filter(clients::id.eq_any(linked));
        }
        let rows: Vec<crate::clients::ClientRow> = query.load(conn)?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.id.clone();
        for row in &rows {
            let tags: Vec<String> = serde_json::from_str(&row.tags).unwrap_or_default();
            let record = [
                row.id.clone(),
                row.name.clone(),
                row.phone.clone().unwrap_or_default(),
                row.email.clone().unwrap_or_default(),
                row.gender.clone().unwrap_or_default(),
                row.birthday().map(|b| b.to_string()).unwrap_or_default(),
                row.locale.clone().unwrap_or_default(),
                row.preferred_channel.clone(),
                row.marketing_consent.to_string(),
                row.home_store_id.clone().unwrap_or_default(),
                tags.join(";"),
                row.visit_count.to_string(),
                row.last_visit_at
                    .map(|t| from_db_time(t).to_rfc3339())
                    .unwrap_or_default(),
                row.total_spent_cents.to_string(),
            ];
            writer
                .write_record(record.iter().map(|cell| neutralise(cell).into_owned()))
                .map_err(failed)?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| Error::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_cells_become_text() {
        for (cell, written) in [
            ("=1+2", "'=1+2"),
            ("+8613712345678", "'+8613712345678"),
            ("-3", "'-3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("张三", "张三"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell), written, "{cell:?}");
        }
    }
}
