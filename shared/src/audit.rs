//! The audit log: reads of sensitive fields, exports, erasures, consent changes, imports and
//! export approvals, readable by owners (`GET /api/v1/audit`).

use crate::db::schema::audit_log;
use crate::db::{from_db_time, to_db_time, AnyConnection};
use crate::domain::{AuditId, StaffId};
use crate::error::Result;
use crate::pagination::{Page, PageRequest};
use crate::tenancy::Tenant;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Allergies, medical notes or skin history were shown to a staff member.
    ReadSensitive,
    ConsentChanged,
    ExportClient,
    EraseClient,
    ImportClients,
    ImportVisits,
    BulkExportRequested,
    BulkExportApproved,
    BulkExportRejected,
    BulkExportDownloaded,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::ReadSensitive => "read_sensitive",
            AuditAction::ConsentChanged => "consent_changed",
            AuditAction::ExportClient => "export_client",
            AuditAction::EraseClient => "erase_client",
            AuditAction::ImportClients => "import_clients",
            AuditAction::ImportVisits => "import_visits",
            AuditAction::BulkExportRequested => "bulk_export_requested",
            AuditAction::BulkExportApproved => "bulk_export_approved",
            AuditAction::BulkExportRejected => "bulk_export_rejected",
            AuditAction::BulkExportDownloaded => "bulk_export_downloaded",
        }
    }
}

/// Write one entry, in the caller's transaction (so an audited action and its record commit
/// together).
pub fn record(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    actor: Option<StaffId>,
    action: AuditAction,
    subject: (&str, Option<String>),
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant_id.eq(tenant.key()),
            audit_log::id.eq(AuditId::new().to_string()),
            audit_log::at.eq(to_db_time(now)),
            audit_log::actor_id.eq(actor.map(|a| a.to_string())),
            audit_log::action.eq(action.as_str()),
            audit_log::subject_type.eq(subject.0),
            audit_log::subject_id.eq(subject.1),
            audit_log::details.eq(details.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    /// The staff member who acted; absent for the system.
    pub actor_id: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub subject_id: Option<String>,
}

/// Newest first.
pub fn list(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEntry>> {
    let mut query = audit_log::table
        .filter(audit_log::tenant_id.eq(tenant.key()))
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::actor_id,
            audit_log::action,
            audit_log::subject_type,
            audit_log::subject_id,
            audit_log::details,
        ))
        .order(audit_log::id.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(audit_log::id.lt(after.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(subject) = &filter.subject_id {
        query = query.filter(audit_log::subject_id.eq(subject.clone()));
    }
    type Row = (
        String,
        NaiveDateTime,
        Option<String>,
        String,
        String,
        Option<String>,
        String,
    );
    let rows = query
        .load::<Row>(conn)?
        .into_iter()
        .map(
            |(id, at, actor_id, action, subject_type, subject_id, details)| AuditEntry {
                id,
                at: from_db_time(at),
                actor_id,
                action,
                subject_type,
                subject_id,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            },
        )
        .collect();
    Ok(Page::from_rows(rows, page, |entry| entry.id.clone()))
}
