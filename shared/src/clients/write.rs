use super::access::{check_consultant, may_handle_sensitive, visible_client, ConsultantRefusal};
use super::input::{ClientFields, ClientInput, ClientPatchInput, SensitiveInput};
use super::model::{Client, SensitiveFields};
use crate::audit::{self, AuditAction};
use crate::crypto::Keyring;
use crate::db::backend::insert_batch;
use crate::db::schema::{client_search, client_stores, clients, staff, visits};
use crate::db::{to_db_time, AnyConnection};
use crate::domain::{ClientId, Phone, Role, StaffId, StoreId, Text};
use crate::error::{Error, Result};
use crate::search::client_terms;
use crate::tenancy::{Auth, Tenant};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// The keyring for sensitive fields.
pub type Crypto = std::sync::Arc<Keyring>;

/// The tenant's country (to read national phone numbers) and currency.
pub(crate) fn tenant_locale_facts(auth: &Auth) -> (Option<String>, String) {
    (
        auth.facts.country().map(str::to_owned),
        auth.facts.currency().to_owned(),
    )
}

pub fn create(
    conn: &mut AnyConnection,
    auth: &Auth,
    input: ClientInput,
    keys: &Keyring,
    now: DateTime<Utc>,
) -> Result<Client> {
    let (country, currency) = tenant_locale_facts(auth);
    let mut fields = input.parse(country.as_deref()).map_err(Error::Validation)?;
    // A store role's new client belongs to their store unless they say otherwise.
    if !auth.actor.is_hq() && fields.home_store_id.is_none() {
        fields.home_store_id = auth.actor.store_id;
    }
    check_home_store_reach(auth, fields.home_store_id)?;
    let consultant = match fields.consultant_id {
        Some(id) => {
            let role = consultant_role(conn, &auth.tenant, id)?;
            check_consultant(auth, fields.home_store_id, role).err()
        }
        None => None,
    };
    if consultant == Some(ConsultantRefusal::NotYours) {
        return Err(ConsultantRefusal::NotYours.into_error());
    }
    let sensitive_allowed = may_handle_sensitive(
        auth,
        fields.home_store_id.map(|s| s.to_string()).as_deref(),
        fields.consultant_id.map(|s| s.to_string()).as_deref(),
    );
    if !fields.sensitive.is_empty() && !sensitive_allowed {
        return Err(Error::Forbidden(
            "your role may not record allergies, medical notes or skin history",
        ));
    }
    check_references(conn, &auth.tenant, fields.home_store_id, consultant, fields.referrer_id)?;
    let id = ClientId::new();
    let consent = fields.marketing_consent;
    let source = consent_source(auth, fields.consent_source.take());
    insert_parsed(conn, &auth.tenant, id, fields, &source, keys, now)?;
    if consent {
        audit::record(
            conn,
            &auth.tenant,
            Some(auth.actor.staff_id),
            AuditAction::ConsentChanged,
            ("client", Some(id.to_string())),
            serde_json::json!({ "marketing_consent": true, "source": source }),
            now,
        )?;
    }
    let row = visible_client(conn, auth, id)?;
    row.view(&currency, None)
}

fn consent_source(auth: &Auth, given: Option<Text>) -> String {
    given.map_or_else(|| format!("staff:{}", auth.actor.staff_id), Text::into_inner)
}

/// Store roles add and move clients within their own store only.
fn check_home_store_reach(auth: &Auth, home_store: Option<StoreId>) -> Result<()> {
    if !auth.actor.is_hq() && home_store.is_some() && home_store != auth.actor.store_id {
        return Err(Error::Forbidden("you can only place clients in your own store"));
    }
    Ok(())
}

/// The role of the active staff member `id`, if there is one (a consultant to be named).
fn consultant_role(conn: &mut AnyConnection, tenant: &Tenant, id: StaffId) -> Result<Option<Role>> {
    let role: Option<String> = staff::table
        .filter(staff::tenant_id.eq(tenant.key()))
        .filter(staff::id.eq(id.to_string()))
        .filter(staff::active.eq(true))
        .filter(staff::deleted_at.is_null())
        .select(staff::role)
        .first(conn)
        .optional()?;
    role.as_deref().map(Role::from_db).transpose()
}

/// Every reference of a client checked, each bad one reported (with the consultant's refusal,
/// already decided by [`check_consultant`]).
fn check_references(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    home_store: Option<StoreId>,
    consultant: Option<ConsultantRefusal>,
    referrer: Option<ClientId>,
) -> Result<()> {
    let mut errors = crate::FieldErrors::default();
    if let Some(store) = home_store {
        if !crate::stores::exists(conn, tenant, store)? {
            errors.push("home_store_id", "unknown_store", "no such store");
        }
    }
    if let Some(refusal) = consultant {
        errors.check("consultant_id", Err::<(), _>(refusal.field_error()));
    }
    if let Some(referrer) = referrer {
        let exists: i64 = clients::table
            .filter(clients::tenant_id.eq(tenant.key()))
            .filter(clients::id.eq(referrer.to_string()))
            .filter(clients::deleted_at.is_null())
            .count()
            .get_result(conn)?;
        if exists == 0 {
            errors.push("referrer_id", "unknown_client", "no such client");
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}

fn sensitive_fields(input: SensitiveInput) -> SensitiveFields {
    SensitiveFields {
        allergies: input.allergies.map(Text::into_inner),
        medical_notes: input.medical_notes.map(Text::into_inner),
        skin_history: input.skin_history.map(Text::into_inner),
    }
}

/// The id of the current client holding `phone`, for a 409 that names it.
fn holder_of(conn: &mut AnyConnection, tenant: &Tenant, phone: &Phone) -> Result<Option<String>> {
    Ok(clients::table
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::phone.is_not_null())
        .filter(clients::phone.eq(phone.as_str()))
        .filter(clients::deleted_at.is_null())
        .select(clients::id)
        .first(conn)
        .optional()?)
}

fn duplicate_phone(conn: &mut AnyConnection, tenant: &Tenant, phone: &Phone) -> Result<Error> {
    Ok(Error::Conflict {
        code: "duplicate_phone",
        message: format!("another client already has the phone number {}", phone.as_str()),
        existing_id: holder_of(conn, tenant, phone)?,
    })
}

/// A client row as inserted (defaults fill the derived columns).
#[derive(diesel::Insertable)]
#[diesel(table_name = clients, treat_none_as_default_value = false)]
pub(crate) struct NewClientRow {
    tenant_id: String,
    id: String,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    gender: Option<&'static str>,
    birthday_month: Option<i32>,
    birthday_day: Option<i32>,
    birth_year: Option<i32>,
    locale: Option<&'static str>,
    preferred_channel: &'static str,
    marketing_consent: bool,
    consent_changed_at: Option<NaiveDateTime>,
    consent_source: Option<String>,
    home_store_id: Option<String>,
    consultant_id: Option<String>,
    source: Option<String>,
    referrer_id: Option<String>,
    tags: String,
    skin_type: Option<String>,
    sensitive_enc: Option<String>,
    preferences: Option<String>,
    notes: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(diesel::Insertable)]
#[diesel(table_name = client_search)]
pub(crate) struct NewTermRow {
    tenant_id: String,
    kind: &'static str,
    term: String,
    client_id: String,
}

#[derive(diesel::Insertable)]
#[diesel(table_name = client_stores)]
pub(crate) struct NewStoreLinkRow {
    tenant_id: String,
    store_id: String,
    client_id: String,
}

/// Everything one new client writes: its row, its lookup keys, its store link.
pub(crate) struct NewClientRows {
    pub client: NewClientRow,
    pub terms: Vec<NewTermRow>,
    pub link: Option<NewStoreLinkRow>,
}

pub(crate) fn new_client_rows(
    tenant: &Tenant,
    id: ClientId,
    fields: ClientFields,
    consent_source: &str,
    keys: &Keyring,
    now: DateTime<Utc>,
) -> NewClientRows {
    let tenant_id = tenant.key();
    let client_id = id.to_string();
    let terms = client_terms(fields.name.as_str(), fields.phone.as_ref())
        .into_iter()
        .map(|term| NewTermRow {
            tenant_id: tenant_id.clone(),
            kind: term.kind.as_str(),
            term: term.term,
            client_id: client_id.clone(),
        })
        .collect();
    let link = fields.home_store_id.map(|store| NewStoreLinkRow {
        tenant_id: tenant_id.clone(),
        store_id: store.to_string(),
        client_id: client_id.clone(),
    });
    let sensitive = sensitive_fields(fields.sensitive).seal(keys, &tenant_id, &client_id);
    let consent = fields.marketing_consent;
    NewClientRows {
        client: NewClientRow {
            tenant_id,
            id: client_id,
            name: fields.name.into_inner(),
            phone: fields.phone.map(Phone::into_inner),
            email: fields.email.map(|e| e.into_inner()),
            gender: fields.gender.map(|g| g.as_str()),
            birthday_month: fields.birthday.map(|b| b.month() as i32),
            birthday_day: fields.birthday.map(|b| b.day() as i32),
            birth_year: fields.birthday.and_then(|b| b.year()),
            locale: fields.locale.map(|l| l.as_str()),
            preferred_channel: fields.preferred_channel.as_str(),
            marketing_consent: consent,
            consent_changed_at: consent.then(|| to_db_time(now)),
            consent_source: consent.then(|| consent_source.to_owned()),
            home_store_id: fields.home_store_id.map(|s| s.to_string()),
            consultant_id: fields.consultant_id.map(|s| s.to_string()),
            source: fields.source.map(Text::into_inner),
            referrer_id: fields.referrer_id.map(|s| s.to_string()),
            tags: serde_json::to_string(&fields.tags).unwrap_or_else(|_| "[]".into()),
            skin_type: fields.skin_type.map(Text::into_inner),
            sensitive_enc: sensitive,
            preferences: fields.preferences.map(Text::into_inner),
            notes: fields.notes.map(Text::into_inner),
            created_at: to_db_time(now),
            updated_at: to_db_time(now),
        },
        terms,
        link,
    }
}

/// Insert one parsed client with its lookup keys and store link. References must have been
/// checked by the caller.
pub fn insert_parsed(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    id: ClientId,
    fields: ClientFields,
    consent_source: &str,
    keys: &Keyring,
    now: DateTime<Utc>,
) -> Result<()> {
    let phone = fields.phone.clone();
    if let Some(phone) = &phone {
        if holder_of(conn, tenant, phone)?.is_some() {
            return Err(duplicate_phone(conn, tenant, phone)?);
        }
    }
    let rows = new_client_rows(tenant, id, fields, consent_source, keys, now);
    let result = diesel::insert_into(clients::table).values(&rows.client).execute(conn);
    match result {
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            // Another request took the number between our check and our insert.
            return match &phone {
                Some(phone) => Err(duplicate_phone(conn, tenant, phone)?),
                None => Err(Error::conflict("duplicate", "the client already exists")),
            };
        }
        other => {
            other?;
        }
    }
    if !rows.terms.is_empty() {
        insert_batch(conn, client_search::table, &rows.terms)?;
    }
    if let Some(link) = &rows.link {
        insert_batch(conn, client_stores::table, link)?;
    }
    Ok(())
}

/// Insert many checked clients (an import): multi-row statements, a few thousand rows each.
/// Phones must have been checked for duplicates in the batch and in the database.
pub(crate) fn insert_many(conn: &mut AnyConnection, rows: Vec<NewClientRows>) -> Result<()> {
    let mut clients_rows = Vec::with_capacity(rows.len());
    let mut terms = Vec::new();
    let mut links = Vec::new();
    for row in rows {
        clients_rows.push(row.client);
        terms.extend(row.terms);
        links.extend(row.link);
    }
    // Bound parameters per statement stay under SQLite's limit (32,766).
    for chunk in clients_rows.chunks(1000) {
        insert_batch(conn, clients::table, chunk)?;
    }
    for chunk in terms.chunks(8000) {
        insert_batch(conn, client_search::table, chunk)?;
    }
    for chunk in links.chunks(10000) {
        insert_batch(conn, client_stores::table, chunk)?;
    }
    Ok(())
}

fn write_terms(conn: &mut AnyConnection, tenant: &Tenant, id: ClientId, terms: &[crate::search::Term]) -> Result<()> {
    diesel::delete(client_search::table)
        .filter(client_search::tenant_id.eq(tenant.key()))
        .filter(client_search::client_id.eq(id.to_string()))
        .execute(conn)?;
    let rows: Vec<NewTermRow> = terms
        .iter()
        .map(|term| NewTermRow {
            tenant_id: tenant.key(),
            kind: term.kind.as_str(),
            term: term.term.clone(),
            client_id: id.to_string(),
        })
        .collect();
    if !rows.is_empty() {
        insert_batch(conn, client_search::table, &rows)?;
    }
    Ok(())
}

/// Record that a client belongs to a store (home store, or a store visited), once.
pub(crate) fn link_store(conn: &mut AnyConnection, tenant: &Tenant, client: ClientId, store: StoreId) -> Result<()> {
    let linked: i64 = client_stores::table
        .filter(client_stores::tenant_id.eq(tenant.key()))
        .filter(client_stores::store_id.eq(store.to_string()))
        .filter(client_stores::client_id.eq(client.to_string()))
        .count()
        .get_result(conn)?;
    if linked == 0 {
        diesel::insert_into(client_stores::table)
            .values((
                client_stores::tenant_id.eq(tenant.key()),
                client_stores::store_id.eq(store.to_string()),
                client_stores::client_id.eq(client.to_string()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn update(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: ClientId,
    input: ClientPatchInput,
    if_match: Option<i32>,
    keys: &Keyring,
    now: DateTime<Utc>,
) -> Result<Client> {
    let tenant = &auth.tenant;
    let row = visible_client(conn, auth, id)?;
    if if_match.is_some_and(|version| version != row.version) {
        return Err(Error::PreconditionFailed);
    }
    if row.erased_at.is_some() {
        return Err(Error::conflict(
            "erased",
            "this client's data was erased on request; it cannot be edited",
        ));
    }
    let (country, currency) = tenant_locale_facts(auth);
    let patch = input.parse(country.as_deref()).map_err(Error::Validation)?;
    if patch.touches_sensitive() && !super::can_see_sensitive(auth, &row) {
        return Err(Error::Forbidden(
            "your role may not record allergies, medical notes or skin history",
        ));
    }
    if let Some(store) = patch.home_store_id {
        check_home_store_reach(auth, store)?;
    }
    // Naming (or removing) the consultant, unless the request repeats the current one.
    let mut consultant = None;
    if let Some(named) = patch.consultant_id {
        if named.map(|c| c.to_string()) != row.consultant_id {
            let home = match patch.home_store_id {
                Some(store) => store,
                None => row.home_store_id.as_deref().map(StoreId::from_db).transpose()?,
            };
            let role = match named {
                Some(id) => consultant_role(conn, tenant, id)?,
                // Removing the consultant: only who may assign one; the role check is moot.
                None => Some(Role::Owner),
            };
            consultant = check_consultant(auth, home, role).err();
            if consultant == Some(ConsultantRefusal::NotYours) {
                return Err(ConsultantRefusal::NotYours.into_error());
            }
        }
    }
    check_references(
        conn,
        tenant,
        patch.home_store_id.flatten(),
        consultant,
        patch.referrer_id.flatten(),
    )?;
    if patch.referrer_id == Some(Some(id)) {
        return Err(Error::invalid(
            "referrer_id",
            "self_reference",
            "a client cannot refer themselves",
        ));
    }
    let phone_before = row.phone.clone();
    let new_phone: Option<Phone> = match &patch.phone {
        Some(phone) => phone.clone(),
        None => row.phone.clone().map(Phone::from_db),
    };
    if let Some(phone) = &new_phone {
        if Some(phone.as_str()) != phone_before.as_deref() {
            if let Some(holder) = holder_of(conn, tenant, phone)? {
                if holder != row.id {
                    return Err(duplicate_phone(conn, tenant, phone)?);
                }
            }
        }
    }
    let name = patch.name.clone().map_or(row.name.clone(), |n| n.into_inner());
    let consent = patch.marketing_consent.unwrap_or(row.marketing_consent);
    let consent_changed = consent != row.marketing_consent;
    let source = consent_source(auth, patch.consent_source.clone());
    let sensitive = if patch.touches_sensitive() {
        let mut fields = row.decrypt_sensitive(keys)?;
        let apply = |value: Option<Option<Text>>, current: &mut Option<String>| {
            if let Some(text) = value {
                *current = text.map(Text::into_inner);
            }
        };
        apply(patch.allergies.clone(), &mut fields.allergies);
        apply(patch.medical_notes.clone(), &mut fields.medical_notes);
        apply(patch.skin_history.clone(), &mut fields.skin_history);
        fields.seal(keys, &tenant.key(), &row.id)
    } else {
        row.sensitive_enc.clone()
    };
    let birthday = match patch.birthday {
        Some(birthday) => birthday,
        None => row.birthday(),
    };
    let keep = |value: Option<Option<Text>>, current: &Option<String>| match value {
        None => current.clone(),
        Some(text) => text.map(Text::into_inner),
    };
    let updated = diesel::update(clients::table)
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::id.eq(&row.id))
        .filter(clients::version.eq(row.version))
        .set((
            (
                clients::name.eq(&name),
                clients::phone.eq(new_phone.as_ref().map(|p| p.as_str().to_owned())),
                clients::email.eq(match patch.email {
                    None => row.email.clone(),
                    Some(email) => email.map(|e| e.into_inner()),
                }),
                clients::gender.eq(match patch.gender {
                    None => row.gender.clone(),
                    Some(gender) => gender.map(|g| g.as_str().to_owned()),
                }),
                clients::birthday_month.eq(birthday.map(|b| b.month() as i32)),
                clients::birthday_day.eq(birthday.map(|b| b.day() as i32)),
                clients::birth_year.eq(birthday.and_then(|b| b.year())),
                clients::locale.eq(match patch.locale {
                    None => row.locale.clone(),
                    Some(locale) => locale.map(|l| l.as_str().to_owned()),
                }),
                clients::preferred_channel.eq(patch
                    .preferred_channel
                    .map_or(row.preferred_channel.clone(), |c| c.as_str().to_owned())),
                clients::marketing_consent.eq(consent),
                clients::consent_changed_at.eq(if consent_changed {
                    Some(to_db_time(now))
                } else {
                    row.consent_changed_at
                }),
                clients::consent_source.eq(if consent_changed {
                    Some(source.clone())
                } else {
                    row.consent_source.clone()
                }),
            ),
            (
                clients::home_store_id.eq(match patch.home_store_id {
                    None => row.home_store_id.clone(),
                    Some(store) => store.map(|s| s.to_string()),
                }),
                clients::consultant_id.eq(match patch.consultant_id {
                    None => row.consultant_id.clone(),
                    Some(staff) => staff.map(|s| s.to_string()),
                }),
                clients::source.eq(keep(patch.source.clone(), &row.source)),
                clients::referrer_id.eq(match patch.referrer_id {
                    None => row.referrer_id.clone(),
                    Some(referrer) => referrer.map(|c| c.to_string()),
                }),
                clients::tags.eq(patch.tags.as_ref().map_or(row.tags.clone(), |tags| {
                    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
                })),
                clients::skin_type.eq(keep(patch.skin_type.clone(), &row.skin_type)),
                clients::sensitive_enc.eq(sensitive),
                clients::preferences.eq(keep(patch.preferences.clone(), &row.preferences)),
                clients::notes.eq(keep(patch.notes.clone(), &row.notes)),
                clients::version.eq(row.version + 1),
                clients::updated_at.eq(to_db_time(now)),
            ),
        ))
        .execute(conn);
    match updated {
        Ok(0) => return Err(Error::PreconditionFailed),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            return match &new_phone {
                Some(phone) => Err(duplicate_phone(conn, tenant, phone)?),
                None => Err(Error::conflict("duplicate", "conflicting change")),
            }
        }
        other => {
            other?;
        }
    }
    if patch.name.is_some() || patch.phone.is_some() {
        write_terms(conn, tenant, id, &client_terms(&name, new_phone.as_ref()))?;
    }
    if let Some(Some(store)) = patch.home_store_id {
        link_store(conn, tenant, id, store)?;
    }
    if consent_changed {
        audit::record(
            conn,
            tenant,
            Some(auth.actor.staff_id),
            AuditAction::ConsentChanged,
            ("client", Some(id.to_string())),
            serde_json::json!({ "marketing_consent": consent, "source": source }),
            now,
        )?;
    }
    visible_client(conn, auth, id)?.view(&currency, None)
}

/// Remove a client from the archive. Visits stay (reports, aggregates of the store); the
/// client no longer appears in lists or lookups, and their phone number is free again.
pub fn delete(
    conn: &mut AnyConnection,
    auth: &Auth,
    id: ClientId,
    if_match: Option<i32>,
    now: DateTime<Utc>,
) -> Result<()> {
    let row = visible_client(conn, auth, id)?;
    if if_match.is_some_and(|version| version != row.version) {
        return Err(Error::PreconditionFailed);
    }
    diesel::update(clients::table)
        .filter(clients::tenant_id.eq(auth.tenant.key()))
        .filter(clients::id.eq(&row.id))
        .set((
            clients::deleted_at.eq(Some(to_db_time(now))),
            clients::version.eq(row.version + 1),
            clients::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    write_terms(conn, &auth.tenant, id, &[])
}

/// Erase a client's personal data on their request (PIPL/GDPR): name, contact, notes and
/// sensitive fields go; the visits' amounts stay, anonymous, for the salon's reports.
pub fn erase(conn: &mut AnyConnection, auth: &Auth, id: ClientId, now: DateTime<Utc>) -> Result<Client> {
    let tenant = &auth.tenant;
    let row = visible_client(conn, auth, id)?;
    let (_, currency) = tenant_locale_facts(auth);
    if row.erased_at.is_none() {
        diesel::update(clients::table)
            .filter(clients::tenant_id.eq(tenant.key()))
            .filter(clients::id.eq(&row.id))
            .set((
                (
                    clients::name.eq("—"),
                    clients::phone.eq(None::<String>),
                    clients::email.eq(None::<String>),
                    clients::gender.eq(None::<String>),
                    clients::birthday_month.eq(None::<i32>),
                    clients::birthday_day.eq(None::<i32>),
                    clients::birth_year.eq(None::<i32>),
                    clients::marketing_consent.eq(false),
                    clients::consent_changed_at.eq(Some(to_db_time(now))),
                    clients::consent_source.eq(Some("erased on request")),
                    clients::source.eq(None::<String>),
                    clients::tags.eq("[]"),
                ),
                (
                    clients::skin_type.eq(None::<String>),
                    clients::sensitive_enc.eq(None::<String>),
                    clients::preferences.eq(None::<String>),
                    clients::notes.eq(None::<String>),
                    clients::erased_at.eq(Some(to_db_time(now))),
                    clients::version.eq(row.version + 1),
                    clients::updated_at.eq(to_db_time(now)),
                ),
            ))
            .execute(conn)?;
        // Every copy elsewhere: messages, surveys, complaints, visit notes, stored answers.
        super::erasure::erase_copies(conn, tenant, &row.id)?;
        write_terms(conn, tenant, id, &[])?;
        // Nothing more goes to an erased client: messages not yet sent are suppressed.
        crate::outreach::outbox::suppress_waiting(
            conn,
            tenant,
            id,
            false,
            crate::outreach::SuppressionReason::Erased,
            now,
        )?;
        crate::outreach::care_state::forget(conn, tenant, &row.id)?;
        audit::record(
            conn,
            tenant,
            Some(auth.actor.staff_id),
            AuditAction::EraseClient,
            ("client", Some(id.to_string())),
            serde_json::json!({}),
            now,
        )?;
    }
    visible_client(conn, auth, id)?.view(&currency, None)
}

/// Add one new completed visit to a client's aggregates. The first statement takes the client
/// row's lock, so concurrent visits of one client queue and none is lost.
pub fn add_visit_to_aggregates(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    client: ClientId,
    completed_at: DateTime<Utc>,
    total: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let (first, last): (Option<NaiveDateTime>, Option<NaiveDateTime>) = diesel::update(clients::table)
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::id.eq(client.to_string()))
        .set((
            clients::visit_count.eq(clients::visit_count + 1),
            clients::total_spent_cents.eq(clients::total_spent_cents + total),
            clients::version.eq(clients::version + 1),
            clients::updated_at.eq(to_db_time(now)),
        ))
        .returning((clients::first_visit_at, clients::last_visit_at))
        .get_result(conn)
        .optional()?
        .ok_or(Error::NotFound)?;
    crate::outreach::care_state::visits_changed(conn, tenant, &[client.to_string()], now)?;
    let at = to_db_time(completed_at);
    let (new_first, new_last) = (first.map_or(at, |f| f.min(at)), last.map_or(at, |l| l.max(at)));
    if Some(new_first) != first || Some(new_last) != last {
        diesel::update(clients::table)
            .filter(clients::tenant_id.eq(tenant.key()))
            .filter(clients::id.eq(client.to_string()))
            .set((
                clients::first_visit_at.eq(new_first),
                clients::last_visit_at.eq(new_last),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Recompute a client's visit aggregates from their completed visits. The first statement
/// takes the client row's lock, so concurrent visit writes for one client queue and each sees
/// the other's committed visit.
pub fn refresh_aggregates(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    client: ClientId,
    now: DateTime<Utc>,
) -> Result<()> {
    let locked = diesel::update(clients::table)
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::id.eq(client.to_string()))
        .set((
            clients::version.eq(clients::version + 1),
            clients::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    if locked == 0 {
        return Err(Error::NotFound);
    }
    // Loaded and summed here: SQL sum() of a BIGINT is NUMERIC on PostgreSQL. A client has
    // hundreds of visits at most.
    let visits: Vec<(NaiveDateTime, i64)> = visits::table
        .filter(visits::tenant_id.eq(tenant.key()))
        .filter(visits::client_id.eq(client.to_string()))
        .filter(visits::status.eq("completed"))
        .select((visits::completed_at, visits::total_cents))
        .load(conn)?;
    let count = visits.len();
    let first = visits.iter().map(|v| v.0).min();
    let last = visits.iter().map(|v| v.0).max();
    let total: i64 = visits.iter().map(|v| v.1).sum();
    diesel::update(clients::table)
        .filter(clients::tenant_id.eq(tenant.key()))
        .filter(clients::id.eq(client.to_string()))
        .set((
            clients::visit_count.eq(i32::try_from(count).unwrap_or(i32::MAX)),
            clients::first_visit_at.eq(first),
            clients::last_visit_at.eq(last),
            clients::total_spent_cents.eq(total),
        ))
        .execute(conn)?;
    crate::outreach::care_state::visits_changed(conn, tenant, &[client.to_string()], now)?;
    Ok(())
}
