//! CSV imports of clients and visits (from a spreadsheet or another system): every row is
//! checked first; a file with any bad row writes nothing unless the caller asks for a partial
//! import, and the report names each rejected row's line, field and reason.

use crate::audit::{self, AuditAction};
use crate::clients::{insert_many, new_client_rows, tenant_locale_facts, ClientInput};
use crate::crypto::Keyring;
use crate::db::schema::{clients, staff, stores};
use crate::db::AnyConnection;
use crate::domain::{parse_amount, Channel, ClientId, Gender, PaymentMethod, Phone, ServiceId, StaffId, StoreId};
use crate::error::{Error, FieldError, Result};
use crate::import::{parse_csv, CsvRow};
use crate::input::parse_flag;
use crate::tenancy::Auth;
use crate::visits::{NewVisit, VisitLine};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

pub const CLIENT_COLUMNS: &[&str] = &[
    "name",
    "phone",
    "email",
    "gender",
    "birthday",
    "locale",
    "preferred_channel",
    "marketing_consent",
    "consent_source",
    "home_store_id",
    "consultant_id",
    "source",
    "tags",
    "skin_type",
    "allergies",
    "medical_notes",
    "skin_history",
    "preferences",
    "notes",
];

pub const VISIT_COLUMNS: &[&str] = &[
    "phone",
    "store_id",
    "staff_id",
    "completed_at",
    "service_id",
    "description",
    "amount_cents",
    "discount_cents",
    "payment_method",
    "notes",
];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RejectedRow {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    /// The column at fault, when one is.
    pub field: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Data rows in the file.
    pub rows: usize,
    pub accepted: usize,
    pub rejected: Vec<RejectedRow>,
    /// Whether anything was written: false when a row was rejected and the import was not
    /// partial.
    pub written: bool,
}

impl ImportReport {
    fn new(rows: usize, accepted: usize, mut rejected: Vec<RejectedRow>, written: bool) -> Self {
        rejected.sort_by_key(|r| r.line);
        ImportReport {
            rows,
            accepted,
            rejected,
            written,
        }
    }
}

fn reject(line: u64, field: &str, error: FieldError) -> RejectedRow {
    RejectedRow {
        line,
        field: Some(if error.field.is_empty() {
            field.to_owned()
        } else {
            error.field
        }),
        code: error.code.to_owned(),
        message: error.message,
    }
}

/// A cell parsed as `parse` does; a bad one becomes a rejection of its row.
fn typed_cell<T>(
    row: &CsvRow,
    column: &str,
    parse: impl Fn(&str) -> std::result::Result<T, FieldError>,
    rejected: &mut Vec<RejectedRow>,
) -> Option<T> {
    let value = cell(row, column)?;
    parse(value)
        .map_err(|error| rejected.push(reject(row.line, column, error)))
        .ok()
}

/// A spreadsheet amount: whole minor units (分), within the bounds of any amount.
pub fn minor_units(raw: &str) -> std::result::Result<i64, FieldError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| {
            FieldError::new(
                "invalid_amount",
                "must be a whole number of minor units (分), e.g. 29800",
            )
        })
        .and_then(parse_amount)
}

fn malformed(problem: crate::import::RowProblem) -> RejectedRow {
    RejectedRow {
        line: problem.line,
        field: None,
        code: "malformed_row".into(),
        message: problem.message,
    }
}

fn file_error(error: crate::import::ImportError) -> Error {
    Error::invalid("file", "invalid_csv", error.to_string())
}

fn cell<'a>(row: &'a CsvRow, column: &str) -> Option<&'a str> {
    row.values.get(column).map(String::as_str)
}

/// Import clients from CSV text (already decoded).
pub fn import_clients(
    conn: &mut AnyConnection,
    auth: &Auth,
    text: &str,
    partial: bool,
    keys: &Keyring,
    now: DateTime<Utc>,
) -> Result<ImportReport> {
    let tenant = &auth.tenant;
    let file = parse_csv(text, CLIENT_COLUMNS, &["name"]).map_err(file_error)?;
    let (country, _) = tenant_locale_facts(auth);
    let store_ids: HashSet<String> = stores::table
        .filter(stores::tenant_id.eq(tenant.key()))
        .filter(stores::deleted_at.is_null())
        .select(stores::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    // Active staff and their roles: a consultant is checked like on create (`clients::check_consultant`).
    let staff_roles: HashMap<String, String> = staff::table
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::active.eq(true))
        .filter(staff::deleted_at.is_null())
        .select((staff::id, staff::role))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();

    let total = file.rows.len();
    // The archive's holders of the file's phone numbers, asked once, before anything is
    // written (asking per batch would scan the rows this import just wrote, on and on).
    let file_phones: Vec<String> = file
        .rows
        .iter()
        .filter_map(|row| row.as_ref().ok())
        .filter_map(|row| cell(row, "phone"))
        .filter_map(|raw| Phone::parse(raw, country.as_deref()).ok())
        .map(Phone::into_inner)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let taken = phone_holders(conn, tenant, &file_phones)?;
    let mut rejected = Vec::new();
    // Checked rows wait here until a batch is full; each batch is written in the request's
    // transaction, so memory stays bounded and a later bad row still rolls everything back.
    let mut accepted: Vec<(u64, crate::clients::ClientFields)> = Vec::with_capacity(BATCH);
    let mut written = 0;
    let mut phones_in_file: HashMap<String, u64> = HashMap::new();
    for row in file.rows {
        let row = match row {
            Ok(row) => row,
            Err(problem) => {
                rejected.push(malformed(problem));
                continue;
            }
        };
        let line = row.line;
        // Cells that are typed values in JSON are text in a spreadsheet.
        let before = rejected.len();
        let gender = typed_cell(&row, "gender", Gender::parse, &mut rejected);
        let preferred_channel = typed_cell(&row, "preferred_channel", Channel::parse, &mut rejected);
        let marketing_consent = typed_cell(&row, "marketing_consent", parse_flag, &mut rejected);
        if rejected.len() > before {
            continue;
        }
        let input = ClientInput {
            name: cell(&row, "name").unwrap_or_default().to_owned(),
            phone: cell(&row, "phone").map(str::to_owned),
            email: cell(&row, "email").map(str::to_owned),
            gender,
            birthday: cell(&row, "birthday").map(str::to_owned),
            locale: cell(&row, "locale").map(str::to_owned),
            preferred_channel,
            marketing_consent,
            consent_source: Some(cell(&row, "consent_source").unwrap_or("import").to_owned()),
            home_store_id: cell(&row, "home_store_id").map(str::to_owned),
            consultant_id: cell(&row, "consultant_id").map(str::to_owned),
            source: cell(&row, "source").map(str::to_owned),
            referrer_id: None,
            // Spreadsheet cells hold several tags separated by ; , or 、
            tags: cell(&row, "tags").map(|v| v.split([';', ',', '、', '|']).map(str::to_owned).collect()),
            skin_type: cell(&row, "skin_type").map(str::to_owned),
            allergies: cell(&row, "allergies").map(str::to_owned),
            medical_notes: cell(&row, "medical_notes").map(str::to_owned),
            skin_history: cell(&row, "skin_history").map(str::to_owned),
            preferences: cell(&row, "preferences").map(str::to_owned),
            notes: cell(&row, "notes").map(str::to_owned),
        };
        let mut fields = match input.parse(country.as_deref()) {
            Ok(fields) => fields,
            Err(errors) => {
                rejected.extend(errors.0.into_iter().map(|e| reject(line, "", e)));
                continue;
            }
        };
        if !auth.actor.is_hq() && fields.home_store_id.is_none() {
            fields.home_store_id = auth.actor.store_id;
        }
        if let Some(store) = fields.home_store_id {
            if !store_ids.contains(&store.to_string()) {
                rejected.push(reject(
                    line,
                    "home_store_id",
                    FieldError::new("unknown_store", "no such store"),
                ));
                continue;
            }
            if !auth.actor.is_hq() && Some(store) != auth.actor.store_id {
                rejected.push(reject(
                    line,
                    "home_store_id",
                    FieldError::new("forbidden", "you can only import clients of your own store"),
                ));
                continue;
            }
        }
        if let Some(consultant) = fields.consultant_id {
            let role = staff_roles
                .get(&consultant.to_string())
                .map(|role| crate::domain::Role::from_db(role))
                .transpose()?;
            if let Err(refusal) = crate::clients::check_consultant(auth, fields.home_store_id, role) {
                rejected.push(reject(line, "consultant_id", refusal.field_error()));
                continue;
            }
        }
        if !fields.sensitive.is_empty()
            && !crate::clients::may_handle_sensitive(
                auth,
                fields.home_store_id.map(|s| s.to_string()).as_deref(),
                fields.consultant_id.map(|s| s.to_string()).as_deref(),
            )
        {
            rejected.push(reject(
                line,
                "allergies",
                FieldError::new(
                    "forbidden",
                    "your role may not record allergies, medical notes or skin history",
                ),
            ));
            continue;
        }
        if let Some(phone) = &fields.phone {
            if let Some(first) = phones_in_file.insert(phone.as_str().to_owned(), line) {
                rejected.push(reject(
                    line,
                    "phone",
                    FieldError::new("duplicate_phone", format!("the same phone number is on line {first}")),
                ));
                continue;
            }
        }
        accepted.push((line, fields));
        if accepted.len() >= BATCH {
            written += write_client_batch(conn, auth, &taken, &mut accepted, &mut rejected, partial, keys, now)?;
        }
    }
    written += write_client_batch(conn, auth, &taken, &mut accepted, &mut rejected, partial, keys, now)?;

    if !rejected.is_empty() && !partial {
        // Rolls back the batches already written.
        return Err(Error::Rejected(Box::new(ImportReport::new(total, 0, rejected, false))));
    }
    audit::record(
        conn,
        tenant,
        Some(auth.actor.staff_id),
        AuditAction::ImportClients,
        ("import", None),
        serde_json::json!({ "rows": total, "imported": written, "rejected": rejected.len() }),
        now,
    )?;
    Ok(ImportReport::new(total, written, rejected, written > 0))
}

/// Rows per batch: a few multi-row statements each, and a bounded amount of memory.
const BATCH: usize = 2000;

/// Check a batch's phones against the archive, then write it, unless an earlier row was
/// rejected and the import is all-or-nothing (then only checking goes on, for the report).
#[allow(clippy::too_many_arguments)]
fn write_client_batch(
    conn: &mut AnyConnection,
    auth: &Auth,
    taken: &HashMap<String, String>,
    accepted: &mut Vec<(u64, crate::clients::ClientFields)>,
    rejected: &mut Vec<RejectedRow>,
    partial: bool,
    keys: &Keyring,
    now: DateTime<Utc>,
) -> Result<usize> {
    let tenant = &auth.tenant;
    accepted.retain(
        |(line, fields)| match fields.phone.as_ref().and_then(|p| taken.get(p.as_str())) {
            Some(existing) => {
                rejected.push(reject(
                    *line,
                    "phone",
                    FieldError::new(
                        "duplicate_phone",
                        format!("client {existing} already has this phone number"),
                    ),
                ));
                false
            }
            None => true,
        },
    );
    let batch = std::mem::take(accepted);
    if !rejected.is_empty() && !partial {
        return Ok(0);
    }
    let count = batch.len();
    let rows = batch
        .into_iter()
        .map(|(_, fields)| {
            let source = fields
                .consent_source
                .clone()
                .map_or_else(|| "import".to_owned(), |s| s.into_inner());
            new_client_rows(tenant, ClientId::new(), fields, &source, keys, now)
        })
        .collect();
    insert_many(conn, rows).map_err(|e| match e {
        Error::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Error::conflict(
            "duplicate_phone",
            "a client with one of these phone numbers was added meanwhile; send the file again",
        ),
        other => other,
    })?;
    Ok(count)
}

/// The current clients holding these phone numbers (E.164), by number.
fn phone_holders(
    conn: &mut AnyConnection,
    tenant: &crate::tenancy::Tenant,
    phones: &[String],
) -> Result<HashMap<String, String>> {
    let mut holders = HashMap::new();
    for chunk in phones.chunks(500) {
        let found: Vec<(Option<String>, String)> = clients::table
            .filter(clients::tenant_id.eq(tenant.key()))
            .filter(clients::deleted_at.is_null())
            // Spelled out so that PostgreSQL matches the partial unique index on phone.
            .filter(clients::phone.is_not_null())
            .filter(clients::phone.eq_any(chunk))
            .select((clients::phone, clients::id))
            .load(conn)?;
        holders.extend(found.into_iter().filter_map(|(phone, id)| phone.map(|p| (p, id))));
    }
    Ok(holders)
}

/// A spreadsheet time: RFC 3339, or a local "YYYY-MM-DD HH:MM[:SS]" / "YYYY/MM/DD HH:MM" /
/// "YYYY-MM-DD" (noon) in the store's zone.
pub fn visit_time(
    raw: &str,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> std::result::Result<DateTime<Utc>, FieldError> {
    let raw = raw.trim();
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            let local = [
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%d %H:%M",
                "%Y/%m/%d %H:%M:%S",
                "%Y/%m/%d %H:%M",
            ]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
            .or_else(|| {
                ["%Y-%m-%d", "%Y/%m/%d"]
                    .iter()
                    .find_map(|format| NaiveDate::parse_from_str(raw, format).ok())
                    .and_then(|d| d.and_hms_opt(12, 0, 0))
            })
            .ok_or(())?;
            zone.from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or(())
        });
    let time = parsed.map_err(|_| {
        FieldError::new(
            "invalid_time",
            "must be a date and time such as 2026-03-01 14:30 (store time) or RFC 3339",
        )
    })?;
    crate::visits::plausible_completion(time, now)
}

/// Import visits from CSV text; each row is one visit with one line, its client found by
/// phone.
pub fn import_visits(
    conn: &mut AnyConnection,
    auth: &Auth,
    text: &str,
    partial: bool,
    now: DateTime<Utc>,
) -> Result<ImportReport> {
    let tenant = &auth.tenant;
    let file = parse_csv(text, VISIT_COLUMNS, &["phone", "completed_at", "amount_cents"]).map_err(file_error)?;
    let (country, _) = tenant_locale_facts(auth);
    let stores: HashMap<String, chrono_tz::Tz> = stores::table
        .filter(stores::tenant_id.eq(tenant.key()))
        .filter(stores::deleted_at.is_null())
        .select((stores::id, stores::timezone))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(id, zone)| (id, zone.parse().unwrap_or(chrono_tz::UTC)))
        .collect();
    let staff_ids: HashSet<String> = staff::table
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::deleted_at.is_null())
        .select(staff::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let services: HashMap<String, String> = crate::db::schema::services::table
        .filter(crate::db::schema::services::tenant_id.eq(tenant.key()))
        .select((crate::db::schema::services::id, crate::db::schema::services::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    // With one store, or as a store role, the store column may be left out.
    let default_store = if !auth.actor.is_hq() {
        auth.actor.store_id.map(|s| s.to_string())
    } else if stores.len() == 1 {
        stores.keys().next().cloned()
    } else {
        None
    };

    let total = file.rows.len();
    let mut rejected = Vec::new();
    let mut parsed: Vec<(u64, String, NewVisit)> = Vec::with_capacity(total);
    for row in file.rows {
        let row = match row {
            Ok(row) => row,
            Err(problem) => {
                rejected.push(malformed(problem));
                continue;
            }
        };
        let line = row.line;
        let before = rejected.len();
        let phone = Phone::parse(cell(&row, "phone").unwrap_or_default(), country.as_deref())
            .map_err(|e| rejected.push(reject(line, "phone", e)))
            .ok();
        let store = match cell(&row, "store_id")
            .map(str::to_owned)
            .or_else(|| default_store.clone())
        {
            None => {
                rejected.push(reject(
                    line,
                    "store_id",
                    FieldError::new("required", "which store? (the chain has several)"),
                ));
                None
            }
            Some(store) if !stores.contains_key(&store) => {
                rejected.push(reject(
                    line,
                    "store_id",
                    FieldError::new("unknown_store", "no such store"),
                ));
                None
            }
            Some(store) if !auth.actor.is_hq() && Some(store.clone()) != auth.actor.store_id.map(|s| s.to_string()) => {
                rejected.push(reject(
                    line,
                    "store_id",
                    FieldError::new("forbidden", "you can only import your own store's visits"),
                ));
                None
            }
            Some(store) => Some(store),
        };
        let zone = store
            .as_ref()
            .and_then(|s| stores.get(s).copied())
            .unwrap_or(chrono_tz::UTC);
        let completed_at = visit_time(cell(&row, "completed_at").unwrap_or_default(), zone, now)
            .map_err(|e| rejected.push(reject(line, "completed_at", e)))
            .ok();
        // Required: an empty cell is an error, not an absence.
        let amount = minor_units(cell(&row, "amount_cents").unwrap_or_default())
            .map_err(|e| rejected.push(reject(line, "amount_cents", e)))
            .ok();
        let discount = typed_cell(&row, "discount_cents", minor_units, &mut rejected).unwrap_or(0);
        let payment =
            typed_cell(&row, "payment_method", PaymentMethod::parse, &mut rejected).unwrap_or(PaymentMethod::Other);
        let staff_id = match cell(&row, "staff_id") {
            None => Some(None),
            Some(v) => match StaffId::parse(v) {
                Ok(id) if staff_ids.contains(&id.to_string()) => Some(Some(id)),
                _ => {
                    rejected.push(reject(
                        line,
                        "staff_id",
                        FieldError::new("unknown_staff", "no such staff member"),
                    ));
                    None
                }
            },
        };
        let service = match cell(&row, "service_id") {
            None => Some(None),
            Some(v) => match ServiceId::parse(v) {
                Ok(id) if services.contains_key(&id.to_string()) => Some(Some(id)),
                _ => {
                    rejected.push(reject(
                        line,
                        "service_id",
                        FieldError::new("unknown_service", "no such service"),
                    ));
                    None
                }
            },
        };
        if rejected.len() > before {
            continue;
        }
        let (Some(phone), Some(store), Some(completed_at), Some(amount), Some(staff_id), Some(service)) =
            (phone, store, completed_at, amount, staff_id, service)
        else {
            continue;
        };
        if discount > amount {
            rejected.push(reject(
                line,
                "discount_cents",
                FieldError::new("exceeds_subtotal", "the discount is larger than the amount"),
            ));
            continue;
        }
        let description = cell(&row, "description")
            .map(|d| d.chars().take(200).collect::<String>())
            .or_else(|| service.and_then(|s| services.get(&s.to_string()).cloned()))
            .unwrap_or_else(|| "imported visit".to_owned());
        let Ok(store_id) = StoreId::parse(&store) else {
            continue;
        };
        parsed.push((
            line,
            phone.into_inner(),
            NewVisit {
                client_id: ClientId::new(),
                store_id,
                staff_id,
                completed_at,
                lines: vec![VisitLine {
                    service_id: service,
                    description,
                    amount_cents: amount,
                }],
                discount_cents: discount,
                payment_method: payment,
                notes: cell(&row, "notes").map(|n| n.chars().take(2000).collect()),
                source: "import",
            },
        ));
    }

    // Clients by phone, in chunks.
    let phones: Vec<String> = parsed
        .iter()
        .map(|(_, phone, _)| phone.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut by_phone: HashMap<String, (String, bool)> = HashMap::new();
    for chunk in phones.chunks(500) {
        let found: Vec<(Option<String>, String, Option<NaiveDateTime>)> = clients::table
            .filter(clients::tenant_id.eq(tenant.key()))
            .filter(clients::deleted_at.is_null())
            // Spelled out so that PostgreSQL matches the partial unique index on phone.
            .filter(clients::phone.is_not_null())
            .filter(clients::phone.eq_any(chunk))
            .select((clients::phone, clients::id, clients::erased_at))
            .load(conn)?;
        by_phone.extend(
            found
                .into_iter()
                .filter_map(|(phone, id, erased)| phone.map(|p| (p, (id, erased.is_some())))),
        );
    }
    let mut visits = Vec::with_capacity(parsed.len());
    for (line, phone, mut visit) in parsed {
        match by_phone.get(&phone) {
            None => rejected.push(reject(
                line,
                "phone",
                FieldError::new("unknown_client", "no client has this phone number"),
            )),
            Some((_, true)) => rejected.push(reject(
                line,
                "phone",
                FieldError::new("erased", "this client's data was erased"),
            )),
            Some((id, false)) => match ClientId::from_db(id) {
                Ok(client) => {
                    visit.client_id = client;
                    visits.push(visit);
                }
                Err(error) => return Err(error),
            },
        }
    }
    if !rejected.is_empty() && !partial {
        return Ok(ImportReport::new(total, 0, rejected, false));
    }
    let count = crate::visits::insert_many(conn, tenant, visits, now)?;
    audit::record(
        conn,
        tenant,
        Some(auth.actor.staff_id),
        AuditAction::ImportVisits,
        ("import", None),
        serde_json::json!({ "rows": total, "imported": count, "rejected": rejected.len() }),
        now,
    )?;
    Ok(ImportReport::new(total, count, rejected, count > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheet_times_are_store_local() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
        let shanghai: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            visit_time("2026-03-01 14:30", shanghai, now).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 1, 6, 30, 0).unwrap()
        );
        assert_eq!(
            visit_time("2026/03/01 14:30:00", shanghai, now).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 1, 6, 30, 0).unwrap()
        );
        assert_eq!(
            visit_time("2026-03-01T14:30:00Z", shanghai, now).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 1, 14, 30, 0).unwrap()
        );
        assert!(visit_time("2027-01-01", shanghai, now).is_err(), "future");
        assert!(visit_time("yesterday", shanghai, now).is_err());
    }
}
