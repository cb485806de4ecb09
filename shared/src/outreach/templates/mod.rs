//! Message templates: what each outgoing message says, per tenant, kind, channel and locale.
//!
//! Every kind × channel × locale has a built-in template ([`builtin`]); a tenant may save its
//! own for any of them, which then applies instead (one per kind, channel and locale), and
//! deleting it brings the built-in back. Templates are minijinja text limited to placeholders and
//! `{% if %}` conditions ([`check`]); they are checked when saved and rendered strictly.
//!
//! [`render`] is what the worker sends: the effective template rendered with the message's
//! values and framed for its channel — a zh-CN SMS starts with the signature 【…】, a marketing
//! message ends with its way out (the unsubscribe link, and 回T退订 / "Reply STOP to opt out"
//! in SMS), and a survey always carries its link.

mod builtin;
mod check;
mod length;
mod store;

pub use builtin::{builtin, Builtin};
pub use check::{allowed, BODY_MAX, PLACEHOLDERS, STAFF_PLACEHOLDERS, SUBJECT_MAX};
pub use length::{sms_length, SmsLength};
pub use store::{create, delete, effective, get, update};

use crate::db::AnyConnection;
use crate::domain::{Channel, Locale};
use crate::error::{Error, FieldErrors, Result};
use crate::outreach::MessageKind;
use crate::tenancy::Tenant;
use check::Part;
use chrono::{DateTime, Utc};
use minijinja::Value;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// The locales every kind and channel has a template in.
pub const LOCALES: [Locale; 2] = [Locale::ZhCn, Locale::En];

/// The 1–2 line text that ends a marketing SMS, so the client can always opt out.
const SMS_OPT_OUT_ZH: &str = "回T退订";
const SMS_OPT_OUT_EN: &str = "Reply STOP to opt out";

/// An SMS carries at most this much of a complaint's summary (the link has the rest).
const SMS_SUMMARY_MAX: usize = 40;

/// A saved template's id (UUIDv7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TemplateId(Uuid);

impl TemplateId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(text: &str) -> std::result::Result<Self, crate::FieldError> {
        Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| crate::FieldError::new("invalid_id", "not a valid id"))
    }

    fn from_db(text: &str) -> Result<Self> {
        Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| Error::Internal("malformed TemplateId in the database".into()))
    }
}

impl Default for TemplateId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl utoipa::PartialSchema for TemplateId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .into()
    }
}

impl utoipa::ToSchema for TemplateId {}

/// The values a message is rendered with. `None` prints nothing (templates wrap optional
/// values in `{% if … %}`); a survey needs its `link`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateVars {
    pub client_name: String,
    pub store_name: String,
    pub store_phone: Option<String>,
    /// The tenant's (brand's) name.
    pub salon_name: String,
    /// The visit's date (survey, complaint) as the client reads it: "11月24日", "Nov 24".
    pub date: Option<String>,
    /// The survey link; for staff, the complaint's page.
    pub link: Option<String>,
    /// The birthday-month gift (birthday) or the return offer (wake-up).
    pub offer: Option<String>,
    /// The staff member alerted (complaint alerts and escalations only).
    pub staff_name: Option<String>,
    /// What the client complained about, in a line (complaint alerts and escalations only); an
    /// SMS carries its first 40 characters.
    pub complaint_summary: Option<String>,
}

impl TemplateVars {
    /// Typical values, for previews and the length of a template's SMS.
    pub fn sample(locale: Locale, salon_name: &str) -> Self {
        let (client, store, phone, date, offer, staff, summary) = match locale {
            Locale::ZhCn => (
                "李晓雯",
                "静安店",
                "021-62881234",
                "11月24日",
                "面部深层补水护理一次",
                "王店长",
                "护理后皮肤泛红，希望店长回电",
            ),
            Locale::En => (
                "Emma Li",
                "Downtown",
                "+1 415 555 0100",
                "Nov 24",
                "a free hydrating facial",
                "Alex Chen",
                "Skin felt irritated after the facial",
            ),
        };
        TemplateVars {
            client_name: client.into(),
            store_name: store.into(),
            store_phone: Some(phone.into()),
            salon_name: salon_name.into(),
            date: Some(date.into()),
            link: Some(SAMPLE_LINK.into()),
            offer: Some(offer.into()),
            staff_name: Some(staff.into()),
            complaint_summary: Some(summary.into()),
        }
    }

    fn context(&self, kind: MessageKind, channel: Channel) -> Value {
        let text = |value: &String| Value::from(value.as_str());
        let optional = |value: &Option<String>| value.as_deref().map_or(Value::from(()), Value::from);
        let summary = match (&self.complaint_summary, channel) {
            (Some(summary), Channel::Sms) if summary.chars().count() > SMS_SUMMARY_MAX => Value::from(format!(
                "{}…",
                summary.chars().take(SMS_SUMMARY_MAX - 1).collect::<String>()
            )),
            (summary, _) => optional(summary),
        };
        let staff = kind.is_staff_alert();
        let hidden = |value: Value| if staff { value } else { Value::from(()) };
        Value::from_iter([
            ("client_name", text(&self.client_name)),
            ("store_name", text(&self.store_name)),
            ("store_phone", optional(&self.store_phone)),
            ("salon_name", text(&self.salon_name)),
            ("date", optional(&self.date)),
            ("link", optional(&self.link)),
            ("offer", optional(&self.offer)),
            ("staff_name", hidden(optional(&self.staff_name))),
            ("complaint_summary", hidden(summary)),
        ])
    }
}

/// The link used in sample renderings: as long as a real survey or unsubscribe link.
pub const SAMPLE_LINK: &str = "https://crm.example.com/s/8fK2qLz7Xw4pNc9R";

/// A rendered message, ready for its channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// Email only.
    pub subject: Option<String>,
    pub body: String,
}

/// The text of a template, built-in or saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSource {
    pub subject: Option<String>,
    pub body: String,
}

impl From<Builtin> for TemplateSource {
    fn from(builtin: Builtin) -> Self {
        TemplateSource {
            subject: builtin.subject.map(str::to_owned),
            body: builtin.body.to_owned(),
        }
    }
}

/// The effective template (the tenant's own for this kind/channel/locale, else the built-in one;
/// a locale other than zh-CN/en falls back to en) rendered with `vars`, then framed for the
/// channel: SMS in zh-CN starts with 【sms_signature】 (unless the signature is blank); a
/// marketing message ([`MessageKind::is_marketing`]) ends with `unsubscribe_link` and, in SMS,
/// "回T退订" (zh-CN) / "Reply STOP to opt out" (en); a survey message always contains its link.
#[allow(clippy::too_many_arguments)] // the one call the worker renders through
pub fn render(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    kind: MessageKind,
    channel: Channel,
    locale: &str,
    sms_signature: &str,
    unsubscribe_link: Option<&str>,
    vars: &TemplateVars,
) -> Result<Rendered> {
    let locale = Locale::parse(locale).unwrap_or(Locale::En);
    let source = store::saved_source(conn, tenant, kind, channel, locale)?
        .unwrap_or_else(|| builtin(kind, channel, locale).into());
    render_with(&source, kind, channel, locale, sms_signature, unsubscribe_link, vars)
}

/// [`render`] for a given template text (no database).
pub fn render_with(
    source: &TemplateSource,
    kind: MessageKind,
    channel: Channel,
    locale: Locale,
    sms_signature: &str,
    unsubscribe_link: Option<&str>,
    vars: &TemplateVars,
) -> Result<Rendered> {
    let link = vars.link.as_deref().map(str::trim).filter(|link| !link.is_empty());
    if kind == MessageKind::Survey && link.is_none() {
        return Err(Error::invalid("link", "required", "a survey message needs its link"));
    }
    let env = check::environment();
    let context = vars.context(kind, channel);
    let render = |text: &str| {
        env.render_str(text, &context).map_err(|e| {
            Error::Internal(format!(
                "the {} {} template failed to render: {e}",
                kind.as_str(),
                channel.as_str()
            ))
        })
    };
    let mut body = render(&source.body)?.trim().to_owned();
    if let Some(link) = link.filter(|link| kind == MessageKind::Survey && !body.contains(link)) {
        body = format!("{body} {link}");
    }
    let unsubscribe = unsubscribe_link
        .map(str::trim)
        .filter(|link| kind.is_marketing() && !link.is_empty() && !body.contains(link));
    match channel {
        Channel::Sms => {
            if kind.is_marketing() {
                body = with_sms_opt_out(body, locale, unsubscribe);
            }
            let signature = sms_signature
                .trim()
                .trim_start_matches('【')
                .trim_end_matches('】')
                .trim();
            if locale == Locale::ZhCn && !signature.is_empty() {
                let prefix = format!("【{signature}】");
                if !body.starts_with(&prefix) {
                    body = format!("{prefix}{body}");
                }
            }
            Ok(Rendered { subject: None, body })
        }
        Channel::Email => {
            if let Some(link) = unsubscribe {
                let footer = match locale {
                    Locale::ZhCn => format!("不想再收到此类邮件？退订：{link}"),
                    Locale::En => format!("Don't want these emails? Unsubscribe: {link}"),
                };
                body = format!("{body}\n\n--\n{footer}");
            }
            let subject = match &source.subject {
                Some(subject) => render(subject)?.replace(['\r', '\n'], " ").trim().to_owned(),
                None => String::new(),
            };
            Ok(Rendered {
                subject: Some(subject),
                body,
            })
        }
    }
}

fn with_sms_opt_out(body: String, locale: Locale, unsubscribe: Option<&str>) -> String {
    let phrase = match locale {
        Locale::ZhCn => SMS_OPT_OUT_ZH,
        Locale::En => SMS_OPT_OUT_EN,
    };
    let has_phrase = body.to_lowercase().contains(&phrase.to_lowercase());
    match (unsubscribe, has_phrase, locale) {
        (None, true, _) => body,
        (None, false, _) => format!("{body} {phrase}"),
        (Some(link), true, Locale::ZhCn) => format!("{body} 退订：{link}"),
        (Some(link), true, Locale::En) => format!("{body} Unsubscribe: {link}"),
        (Some(link), false, Locale::ZhCn) => format!("{body} 退订：{link} 或{phrase}"),
        (Some(link), false, Locale::En) => format!("{body} Unsubscribe: {link} - {phrase}"),
    }
}

/// A template as the API shows it: the tenant's own (`builtin: false`, with id and version) or
/// the built-in one that applies.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageTemplate {
    /// `null` for a built-in template.
    pub id: Option<TemplateId>,
    pub builtin: bool,
    pub kind: MessageKind,
    pub channel: Channel,
    pub locale: Locale,
    /// Email only.
    #[schema(example = "{{ client_name }}，生日快乐")]
    pub subject: Option<String>,
    #[schema(example = "亲爱的{{ client_name }}，祝您生日快乐！生日当月到店即可享受{{ offer }}。")]
    pub body: String,
    /// The placeholders the subject and body use.
    pub placeholders: Vec<String>,
    /// SMS only: the length of a sample rendering with the signature (the tenant's name) and,
    /// for marketing, the opt-out footer.
    pub length: Option<SmsLength>,
    /// Saved templates only; also the ETag.
    pub version: Option<i32>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A new template, checked: `POST /api/v1/templates`.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    kind: MessageKind,
    channel: Channel,
    locale: Locale,
    subject: Option<String>,
    body: String,
}

impl NewTemplate {
    /// Check every field, reporting every bad one: `locale` zh-CN or en; `subject` required for
    /// email and refused for SMS; texts that parse and use only the kind's placeholders.
    pub fn parse(
        kind: MessageKind,
        channel: Channel,
        locale: &str,
        subject: Option<&str>,
        body: &str,
    ) -> std::result::Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        if kind.is_account() {
            errors.push(
                "kind",
                "not_templated",
                "account messages (staff_invitation, password_reset) use the platform's text",
            );
        }
        let locale = errors.check("locale", Locale::parse(locale));
        let subject = errors.check("subject", parse_subject(kind, channel, subject)).flatten();
        let body = errors.check("body", parse_text(kind, Part::Body, body));
        match (locale, body) {
            (Some(locale), Some(body)) if errors.is_empty() => Ok(NewTemplate {
                kind,
                channel,
                locale,
                subject,
                body,
            }),
            _ => Err(errors),
        }
    }
}

/// Changes to a saved template (`PATCH`): absent fields stay. Checked against the template's
/// kind and channel when applied.
#[derive(Debug, Clone, Default)]
pub struct TemplatePatch {
    /// `Some(None)` is `"subject": null`: fine for SMS, refused for email.
    pub subject: Option<Option<String>>,
    pub body: Option<String>,
}

/// `?kind=&channel=&locale=` on the list.
#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    pub kind: Option<MessageKind>,
    pub channel: Option<Channel>,
    pub locale: Option<Locale>,
}

fn parse_text(kind: MessageKind, part: Part, raw: &str) -> std::result::Result<String, crate::FieldError> {
    let text = raw.replace("\r\n", "\n").trim().to_owned();
    // A subject is one line; a body may have lines and tabs; nothing else invisible (PostgreSQL
    // refuses a NUL in text, and no message needs one).
    let allowed = |c: char| !c.is_control() || (part == Part::Body && (c == '\n' || c == '\t'));
    if !text.chars().all(allowed) {
        return Err(crate::FieldError::new(
            "invalid_characters",
            match part {
                Part::Subject => "must not contain line breaks or control characters",
                Part::Body => "must not contain control characters other than line breaks and tabs",
            },
        ));
    }
    check::check(kind, part, &text)?;
    Ok(text)
}

fn parse_subject(
    kind: MessageKind,
    channel: Channel,
    raw: Option<&str>,
) -> std::result::Result<Option<String>, crate::FieldError> {
    match (channel, raw) {
        (Channel::Email, None) => Err(crate::FieldError::new("required", "an email template needs a subject")),
        (Channel::Email, Some(subject)) => parse_text(kind, Part::Subject, subject).map(Some),
        (Channel::Sms, None) => Ok(None),
        (Channel::Sms, Some(_)) => Err(crate::FieldError::new(
            "not_allowed",
            "an SMS has no subject; leave it out",
        )),
    }
}

/// How a template shows in the API, with its placeholders and, for SMS, its sample length.
fn describe(
    source: &TemplateSource,
    kind: MessageKind,
    channel: Channel,
    locale: Locale,
    salon_name: &str,
) -> Result<MessageTemplate> {
    let mut placeholders = Vec::new();
    for (part, text) in [
        (Part::Subject, source.subject.as_deref()),
        (Part::Body, Some(&source.body)),
    ] {
        if let Some(text) = text {
            let used = check::check(kind, part, text)
                .map_err(|e| Error::Internal(format!("a stored template does not check: {}", e.message)))?;
            placeholders.extend(used);
        }
    }
    let placeholders = check::names(kind)
        .filter(|name| placeholders.contains(name))
        .map(str::to_owned)
        .collect();
    let length = match channel {
        Channel::Sms => {
            let vars = TemplateVars::sample(locale, salon_name);
            let unsubscribe = kind.is_marketing().then_some(SAMPLE_UNSUBSCRIBE_LINK);
            let rendered = render_with(source, kind, channel, locale, salon_name, unsubscribe, &vars)?;
            Some(sms_length(&rendered.body))
        }
        Channel::Email => None,
    };
    Ok(MessageTemplate {
        id: None,
        builtin: true,
        kind,
        channel,
        locale,
        subject: source.subject.clone(),
        body: source.body.clone(),
        placeholders,
        length,
        version: None,
        created_at: None,
        updated_at: None,
    })
}

/// The unsubscribe link used in sample renderings.
pub const SAMPLE_UNSUBSCRIBE_LINK: &str = "https://crm.example.com/u/3hQ9wLm2Rt6yVb8K";

#[cfg(test)]
mod tests;
