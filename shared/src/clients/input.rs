//! What a client's archive is written from: JSON bodies and CSV rows, parsed into domain
//! values with every bad field reported at once.

use crate::domain::{Birthday, Channel, ClientId, EmailAddress, Gender, Locale, Name, Phone, StaffId, StoreId, Text};
use crate::error::{FieldError, FieldErrors};
use crate::input::{nullable, optional_text};
use serde::Deserialize;

const NOTE_MAX: usize = 2000;
const SHORT_MAX: usize = 100;

/// A new client, as sent to `POST /api/v1/clients`. Only `name` is required.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    #[schema(example = "张三丰")]
    pub name: String,
    /// E.164, or a national number when the tenant has a country (13712345678 in China).
    #[schema(example = "13712345678")]
    pub phone: Option<String>,
    pub email: Option<String>,
    pub gender: Option<Gender>,
    /// "MM-DD" or "YYYY-MM-DD".
    #[schema(example = "03-08")]
    pub birthday: Option<String>,
    #[schema(example = "zh-CN")]
    pub locale: Option<String>,
    /// Defaults to sms when there is a phone, else email.
    pub preferred_channel: Option<Channel>,
    /// Explicit agreement to marketing messages (明示同意); defaults to false.
    pub marketing_consent: Option<bool>,
    /// How consent was given, e.g. "paper form"; recorded with the time.
    pub consent_source: Option<String>,
    pub home_store_id: Option<String>,
    pub consultant_id: Option<String>,
    pub source: Option<String>,
    pub referrer_id: Option<String>,
    pub tags: Option<Vec<String>>,
    pub skin_type: Option<String>,
    pub allergies: Option<String>,
    pub medical_notes: Option<String>,
    pub skin_history: Option<String>,
    pub preferences: Option<String>,
    pub notes: Option<String>,
}

/// Changes to a client (`PATCH`): absent fields stay, `null` clears.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatchInput {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub gender: Option<Option<Gender>>,
    #[serde(default, deserialize_with = "nullable")]
    pub birthday: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub locale: Option<Option<String>>,
    pub preferred_channel: Option<Channel>,
    pub marketing_consent: Option<bool>,
    pub consent_source: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub home_store_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub consultant_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub source: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub referrer_id: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub skin_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub allergies: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub medical_notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub skin_history: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub preferences: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub notes: Option<Option<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensitiveInput {
    pub allergies: Option<Text>,
    pub medical_notes: Option<Text>,
    pub skin_history: Option<Text>,
}

impl SensitiveInput {
    pub fn is_empty(&self) -> bool {
        self.allergies.is_none() && self.medical_notes.is_none() && self.skin_history.is_none()
    }
}

/// A client's archive, parsed.
#[derive(Debug, Clone)]
pub struct ClientFields {
    pub name: Name,
    pub phone: Option<Phone>,
    pub email: Option<EmailAddress>,
    pub gender: Option<Gender>,
    pub birthday: Option<Birthday>,
    pub locale: Option<Locale>,
    pub preferred_channel: Channel,
    pub marketing_consent: bool,
    pub consent_source: Option<Text>,
    pub home_store_id: Option<StoreId>,
    pub consultant_id: Option<StaffId>,
    pub source: Option<Text>,
    pub referrer_id: Option<ClientId>,
    pub tags: Vec<String>,
    pub skin_type: Option<Text>,
    pub sensitive: SensitiveInput,
    pub preferences: Option<Text>,
    pub notes: Option<Text>,
}

/// Parsed changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    pub name: Option<Name>,
    pub phone: Option<Option<Phone>>,
    pub email: Option<Option<EmailAddress>>,
    pub gender: Option<Option<Gender>>,
    pub birthday: Option<Option<Birthday>>,
    pub locale: Option<Option<Locale>>,
    pub preferred_channel: Option<Channel>,
    pub marketing_consent: Option<bool>,
    pub consent_source: Option<Text>,
    pub home_store_id: Option<Option<StoreId>>,
    pub consultant_id: Option<Option<StaffId>>,
    pub source: Option<Option<Text>>,
    pub referrer_id: Option<Option<ClientId>>,
    pub tags: Option<Vec<String>>,
    pub skin_type: Option<Option<Text>>,
    pub allergies: Option<Option<Text>>,
    pub medical_notes: Option<Option<Text>>,
    pub skin_history: Option<Option<Text>>,
    pub preferences: Option<Option<Text>>,
    pub notes: Option<Option<Text>>,
}

impl ClientPatch {
    pub fn touches_sensitive(&self) -> bool {
        self.allergies.is_some() || self.medical_notes.is_some() || self.skin_history.is_some()
    }
}

fn phone(raw: &str, country: Option<&str>) -> Result<Option<Phone>, FieldError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        Phone::parse(raw, country).map(Some)
    }
}

fn email(raw: &str) -> Result<Option<EmailAddress>, FieldError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        EmailAddress::parse(raw).map(Some)
    }
}

fn birthday(raw: &str) -> Result<Option<Birthday>, FieldError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        Birthday::parse(raw).map(Some)
    }
}

fn locale(raw: &str) -> Result<Option<Locale>, FieldError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        Locale::parse(raw).map(Some)
    }
}

fn id<T>(raw: &str, parse: fn(&str) -> Result<T, FieldError>) -> Result<Option<T>, FieldError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse(raw.trim()).map(Some)
    }
}

/// Up to 20 tags of up to 32 characters; trimmed, blanks dropped, duplicates removed.
pub(crate) fn tags(raw: &[String]) -> Result<Vec<String>, FieldError> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if tag.chars().count() > 32 {
            return Err(FieldError::new("too_long", "each tag must be at most 32 characters"));
        }
        if tag.chars().any(char::is_control) {
            return Err(FieldError::new(
                "invalid_characters",
                "tags must not contain control characters",
            ));
        }
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    if tags.len() > 20 {
        return Err(FieldError::new("too_many", "at most 20 tags"));
    }
    Ok(tags)
}

fn text(raw: Option<&str>, max: usize) -> Result<Option<Text>, FieldError> {
    optional_text(raw, max)
}

fn nullable_text(raw: Option<Option<String>>, max: usize) -> Result<Option<Option<Text>>, FieldError> {
    raw.map(|inner| optional_text(inner.as_deref(), max)).transpose()
}

fn nullable_with<T>(
    raw: Option<Option<String>>,
    parse: impl Fn(&str) -> Result<Option<T>, FieldError>,
) -> Result<Option<Option<T>>, FieldError> {
    match raw {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(text)) => parse(&text).map(Some),
    }
}

impl ClientInput {
    /// `country`: the tenant's, for reading national phone numbers.
    pub fn parse(self, country: Option<&str>) -> Result<ClientFields, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = e.check("name", Name::parse(&self.name));
        let phone = e.check("phone", phone(self.phone.as_deref().unwrap_or(""), country));
        let email = e.check("email", email(self.email.as_deref().unwrap_or("")));
        let birthday = e.check("birthday", birthday(self.birthday.as_deref().unwrap_or("")));
        let locale = e.check("locale", locale(self.locale.as_deref().unwrap_or("")));
        let consent_source = e.check("consent_source", text(self.consent_source.as_deref(), SHORT_MAX));
        let home_store_id = e.check(
            "home_store_id",
            id(self.home_store_id.as_deref().unwrap_or(""), StoreId::parse),
        );
        let consultant_id = e.check(
            "consultant_id",
            id(self.consultant_id.as_deref().unwrap_or(""), StaffId::parse),
        );
        let referrer_id = e.check(
            "referrer_id",
            id(self.referrer_id.as_deref().unwrap_or(""), ClientId::parse),
        );
        let source = e.check("source", text(self.source.as_deref(), SHORT_MAX));
        let tags = e.check("tags", tags(self.tags.as_deref().unwrap_or_default()));
        let skin_type = e.check("skin_type", text(self.skin_type.as_deref(), SHORT_MAX));
        let allergies = e.check("allergies", text(self.allergies.as_deref(), NOTE_MAX));
        let medical_notes = e.check("medical_notes", text(self.medical_notes.as_deref(), NOTE_MAX));
        let skin_history = e.check("skin_history", text(self.skin_history.as_deref(), NOTE_MAX));
        let preferences = e.check("preferences", text(self.preferences.as_deref(), NOTE_MAX));
        let notes = e.check("notes", text(self.notes.as_deref(), NOTE_MAX));
        if let (Some(Channel::Email), Some(None)) = (self.preferred_channel, &email) {
            e.push(
                "preferred_channel",
                "no_email",
                "email is preferred but the client has no email address",
            );
        }
        if let (Some(Channel::Sms), Some(None)) = (self.preferred_channel, &phone) {
            e.push(
                "preferred_channel",
                "no_phone",
                "sms is preferred but the client has no phone number",
            );
        }
        if !e.is_empty() {
            return Err(e);
        }
        let (Some(name), Some(phone), Some(email)) = (name, phone, email) else {
            return Err(e);
        };
        let preferred_channel = self.preferred_channel.unwrap_or(if phone.is_none() && email.is_some() {
            Channel::Email
        } else {
            Channel::Sms
        });
        Ok(ClientFields {
            name,
            phone,
            email,
            gender: self.gender,
            birthday: birthday.flatten(),
            locale: locale.flatten(),
            preferred_channel,
            marketing_consent: self.marketing_consent.unwrap_or(false),
            consent_source: consent_source.flatten(),
            home_store_id: home_store_id.flatten(),
            consultant_id: consultant_id.flatten(),
            source: source.flatten(),
            referrer_id: referrer_id.flatten(),
            tags: tags.unwrap_or_default(),
            skin_type: skin_type.flatten(),
            sensitive: SensitiveInput {
                allergies: allergies.flatten(),
                medical_notes: medical_notes.flatten(),
                skin_history: skin_history.flatten(),
            },
            preferences: preferences.flatten(),
            notes: notes.flatten(),
        })
    }
}

impl ClientPatchInput {
    pub fn parse(self, country: Option<&str>) -> Result<ClientPatch, FieldErrors> {
        let mut e = FieldErrors::default();
        let patch = ClientPatch {
            name: e
                .check("name", self.name.as_deref().map(Name::parse).transpose())
                .flatten(),
            phone: e
                .check("phone", nullable_with(self.phone, |p| phone(p, country)))
                .flatten(),
            email: e.check("email", nullable_with(self.email, email)).flatten(),
            gender: self.gender,
            birthday: e.check("birthday", nullable_with(self.birthday, birthday)).flatten(),
            locale: e.check("locale", nullable_with(self.locale, locale)).flatten(),
            preferred_channel: self.preferred_channel,
            marketing_consent: self.marketing_consent,
            consent_source: e
                .check("consent_source", text(self.consent_source.as_deref(), SHORT_MAX))
                .flatten(),
            home_store_id: e
                .check(
                    "home_store_id",
                    nullable_with(self.home_store_id, |s| id(s, StoreId::parse)),
                )
                .flatten(),
            consultant_id: e
                .check(
                    "consultant_id",
                    nullable_with(self.consultant_id, |s| id(s, StaffId::parse)),
                )
                .flatten(),
            source: e.check("source", nullable_text(self.source, SHORT_MAX)).flatten(),
            referrer_id: e
                .check(
                    "referrer_id",
                    nullable_with(self.referrer_id, |s| id(s, ClientId::parse)),
                )
                .flatten(),
            tags: e.check("tags", self.tags.as_deref().map(tags).transpose()).flatten(),
            skin_type: e.check("skin_type", nullable_text(self.skin_type, SHORT_MAX)).flatten(),
            allergies: e.check("allergies", nullable_text(self.allergies, NOTE_MAX)).flatten(),
            medical_notes: e
                .check("medical_notes", nullable_text(self.medical_notes, NOTE_MAX))
                .flatten(),
            skin_history: e
                .check("skin_history", nullable_text(self.skin_history, NOTE_MAX))
                .flatten(),
            preferences: e
                .check("preferences", nullable_text(self.preferences, NOTE_MAX))
                .flatten(),
            notes: e.check("notes", nullable_text(self.notes, NOTE_MAX)).flatten(),
        };
        if e.is_empty() {
            Ok(patch)
        } else {
            Err(e)
        }
    }
}
