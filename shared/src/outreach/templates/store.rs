//! The tenants' own templates in `message_templates`: one per tenant, kind, channel and locale.

use super::check::Part;
use super::{
    builtin, describe, parse_subject, parse_text, MessageTemplate, NewTemplate, TemplateFilter, TemplateId,
    TemplatePatch, TemplateSource, LOCALES,
};
use crate::db::schema::tenants;
use crate::db::{from_db_time, to_db_time, AnyConnection};
use crate::domain::{Channel, Locale};
use crate::error::{Error, FieldErrors, Result};
use crate::outreach::{MessageKind, CHANNELS};
use crate::tenancy::Tenant;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

diesel::table! {
    /// A tenant's own template for one kind, channel and locale (the migration
    /// `2026-11-25-000004_message_templates` creates it on both backends).
    message_templates (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        kind -> Text,
        channel -> Text,
        locale -> Text,
        subject -> Nullable<Text>,
        body -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i32,
    NaiveDateTime,
    NaiveDateTime,
);

fn columns() -> (
    message_templates::id,
    message_templates::kind,
    message_templates::channel,
    message_templates::locale,
    message_templates::subject,
    message_templates::body,
    message_templates::version,
    message_templates::created_at,
    message_templates::updated_at,
) {
    (
        message_templates::id,
        message_templates::kind,
        message_templates::channel,
        message_templates::locale,
        message_templates::subject,
        message_templates::body,
        message_templates::version,
        message_templates::created_at,
        message_templates::updated_at,
    )
}

/// A saved template as read back.
struct Saved {
    id: TemplateId,
    kind: MessageKind,
    channel: Channel,
    locale: Locale,
    source: TemplateSource,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn from_row(row: Row) -> Result<Saved> {
    let (id, kind, channel, locale, subject, body, version, created_at, updated_at) = row;
    Ok(Saved {
        id: TemplateId::from_db(&id)?,
        kind: MessageKind::from_db(&kind)?,
        channel: Channel::from_db(&channel)?,
        locale: Locale::parse(&locale)
            .map_err(|_| Error::Internal(format!("unknown locale {locale:?} in the database")))?,
        source: TemplateSource { subject, body },
        version,
        created_at: from_db_time(created_at),
        updated_at: from_db_time(updated_at),
    })
}

impl Saved {
    fn describe(self, salon_name: &str) -> Result<MessageTemplate> {
        let mut template = describe(&self.source, self.kind, self.channel, self.locale, salon_name)?;
        template.id = Some(self.id);
        template.builtin = false;
        template.version = Some(self.version);
        template.created_at = Some(self.created_at);
        template.updated_at = Some(self.updated_at);
        Ok(template)
    }
}

/// The tenant's name: the signature of sample SMS renderings.
fn salon_name(conn: &mut AnyConnection, tenant: &Tenant) -> Result<String> {
    tenants::table
        .filter(tenants::id.eq(tenant.key()))
        .select(tenants::name)
        .first(conn)
        .optional()?
        .ok_or(Error::NotFound)
}

fn find(conn: &mut AnyConnection, tenant: &Tenant, id: TemplateId) -> Result<Saved> {
    let row = message_templates::table
        .filter(message_templates::tenant_id.eq(tenant.key()))
        .filter(message_templates::id.eq(id.to_string()))
        .select(columns())
        .first::<Row>(conn)
        .optional()?
        .ok_or(Error::NotFound)?;
    from_row(row)
}

/// The id of the tenant's template for this kind, channel and locale, if it saved one.
fn holder(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    kind: MessageKind,
    channel: Channel,
    locale: Locale,
) -> Result<Option<String>> {
    Ok(message_templates::table
        .filter(message_templates::tenant_id.eq(tenant.key()))
        .filter(message_templates::kind.eq(kind.as_str()))
        .filter(message_templates::channel.eq(channel.as_str()))
        .filter(message_templates::locale.eq(locale.as_str()))
        .select(message_templates::id)
        .first(conn)
        .optional()?)
}

/// The tenant's own text for this kind, channel and locale, if it saved one.
pub(super) fn saved_source(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    kind: MessageKind,
    channel: Channel,
    locale: Locale,
) -> Result<Option<TemplateSource>> {
    let row = message_templates::table
        .filter(message_templates::tenant_id.eq(tenant.key()))
        .filter(message_templates::kind.eq(kind.as_str()))
        .filter(message_templates::channel.eq(channel.as_str()))
        .filter(message_templates::locale.eq(locale.as_str()))
        .select((message_templates::subject, message_templates::body))
        .first::<(Option<String>, String)>(conn)
        .optional()?;
    Ok(row.map(|(subject, body)| TemplateSource { subject, body }))
}

/// The templates that apply, for every kind × channel × locale the filter lets through: the
/// tenant's own where it saved one, else the built-in.
pub fn effective(conn: &mut AnyConnection, tenant: &Tenant, filter: &TemplateFilter) -> Result<Vec<MessageTemplate>> {
    let salon = salon_name(conn, tenant)?;
    let mut query = message_templates::table
        .filter(message_templates::tenant_id.eq(tenant.key()))
        .select(columns())
        .into_boxed();
    if let Some(kind) = filter.kind {
        query = query.filter(message_templates::kind.eq(kind.as_str()));
    }
    if let Some(channel) = filter.channel {
        query = query.filter(message_templates::channel.eq(channel.as_str()));
    }
    if let Some(locale) = filter.locale {
        query = query.filter(message_templates::locale.eq(locale.as_str()));
    }
    let mut saved = query
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    let mut templates = Vec::new();
    for kind in MessageKind::templated().filter(|k| filter.kind.is_none_or(|f| f == *k)) {
        for channel in CHANNELS.into_iter().filter(|c| filter.channel.is_none_or(|f| f == *c)) {
            for locale in LOCALES.into_iter().filter(|l| filter.locale.is_none_or(|f| f == *l)) {
                let own = saved
                    .iter()
                    .position(|s| s.kind == kind && s.channel == channel && s.locale == locale)
                    .map(|index| saved.swap_remove(index));
                templates.push(match own {
                    Some(own) => own.describe(&salon)?,
                    None => describe(&builtin(kind, channel, locale).into(), kind, channel, locale, &salon)?,
                });
            }
        }
    }
    Ok(templates)
}

/// One of the tenant's own templates.
pub fn get(conn: &mut AnyConnection, tenant: &Tenant, id: TemplateId) -> Result<MessageTemplate> {
    let saved = find(conn, tenant, id)?;
    saved.describe(&salon_name(conn, tenant)?)
}

/// Save the tenant's own template for a kind, channel and locale; 409 `template_exists` (naming
/// it) when there is one already: change that one instead.
pub fn create(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    new: NewTemplate,
    now: DateTime<Utc>,
) -> Result<MessageTemplate> {
    let exists = |existing_id| Error::Conflict {
        code: "template_exists",
        message: format!(
            "there is already a {} {} template in {}; change it (PATCH) or delete it first",
            new.kind.as_str(),
            new.channel.as_str(),
            new.locale.as_str()
        ),
        existing_id,
    };
    if let Some(existing) = holder(conn, tenant, new.kind, new.channel, new.locale)? {
        return Err(exists(Some(existing)));
    }
    let id = TemplateId::new();
    let inserted = diesel::insert_into(message_templates::table)
        .values((
            message_templates::tenant_id.eq(tenant.key()),
            message_templates::id.eq(id.to_string()),
            message_templates::kind.eq(new.kind.as_str()),
            message_templates::channel.eq(new.channel.as_str()),
            message_templates::locale.eq(new.locale.as_str()),
            message_templates::subject.eq(&new.subject),
            message_templates::body.eq(&new.body),
            message_templates::version.eq(1),
            message_templates::created_at.eq(to_db_time(now)),
            message_templates::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn);
    match inserted {
        // A concurrent request saved the same one between our check and our insert; the
        // transaction is spoilt (PostgreSQL), so the conflict cannot name it.
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            return Err(exists(None));
        }
        other => {
            other?;
        }
    }
    get(conn, tenant, id)
}

/// Change a saved template's subject or body. `if_match` (when given) must name its version.
pub fn update(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    id: TemplateId,
    patch: TemplatePatch,
    if_match: Option<i32>,
    now: DateTime<Utc>,
) -> Result<MessageTemplate> {
    let current = find(conn, tenant, id)?;
    if if_match.is_some_and(|version| version != current.version) {
        return Err(Error::PreconditionFailed);
    }
    let mut errors = FieldErrors::default();
    let subject = match patch.subject {
        None => Some(current.source.subject.clone()),
        Some(subject) => errors.check(
            "subject",
            parse_subject(current.kind, current.channel, subject.as_deref()),
        ),
    };
    let body = match patch.body {
        None => Some(current.source.body.clone()),
        Some(body) => errors.check("body", parse_text(current.kind, Part::Body, &body)),
    };
    let (Some(subject), Some(body)) = (subject, body) else {
        return Err(Error::Validation(errors));
    };
    let updated = diesel::update(message_templates::table)
        .filter(message_templates::tenant_id.eq(tenant.key()))
        .filter(message_templates::id.eq(id.to_string()))
        .filter(message_templates::version.eq(current.version))
        .set((
            message_templates::subject.eq(subject),
            message_templates::body.eq(body),
            message_templates::version.eq(current.version + 1),
            message_templates::updated_at.eq(to_db_time(now)),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(Error::PreconditionFailed);
    }
    get(conn, tenant, id)
}

/// Delete a saved template: the built-in one applies again.
pub fn delete(conn: &mut AnyConnection, tenant: &Tenant, id: TemplateId, if_match: Option<i32>) -> Result<()> {
    let current = find(conn, tenant, id)?;
    if if_match.is_some_and(|version| version != current.version) {
        return Err(Error::PreconditionFailed);
    }
    diesel::delete(message_templates::table)
        .filter(message_templates::tenant_id.eq(tenant.key()))
        .filter(message_templates::id.eq(id.to_string()))
        .filter(message_templates::version.eq(current.version))
        .execute(conn)?;
    Ok(())
}
