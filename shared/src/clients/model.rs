use crate::crypto::Keyring;
use crate::db::from_db_time;
use crate::domain::{Birthday, Channel, ClientId, Gender, StaffId, StoreId};
use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

/// A client as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    /// E.164.
    #[schema(example = "+8613712345678")]
    pub phone: Option<String>,
    pub email: Option<String>,
    pub gender: Option<Gender>,
    /// "MM-DD", or "YYYY-MM-DD" when the year is known.
    #[schema(example = "03-08")]
    pub birthday: Option<String>,
    /// zh-CN or en; absent means the tenant's.
    pub locale: Option<String>,
    pub preferred_channel: Channel,
    /// Agreed to marketing messages (birthday, wake-up); see `consent_changed_at` and `consent_source`.
    pub marketing_consent: bool,
    pub consent_changed_at: Option<DateTime<Utc>>,
    /// How consent was given or withdrawn ("paper form", "unsubscribe link", …).
    pub consent_source: Option<String>,
    /// The client's store; absent for clients of the chain as a whole (they live in the tenant's zone).
    pub home_store_id: Option<StoreId>,
    /// The assigned consultant (专属顾问).
    pub consultant_id: Option<StaffId>,
    /// How the client found the salon ("walk-in", "referral", "dianping", …).
    pub source: Option<String>,
    /// The client who referred them.
    pub referrer_id: Option<ClientId>,
    pub tags: Vec<String>,
    pub skin_type: Option<String>,
    /// Only for roles that treat the client (owner, the client's store's manager and
    /// beauticians, the consultant); every read is audited. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<SensitiveFields>,
    pub preferences: Option<String>,
    pub notes: Option<String>,
    /// Completed (not voided) visits.
    pub visit_count: i32,
    pub first_visit_at: Option<DateTime<Utc>>,
    pub last_visit_at: Option<DateTime<Utc>>,
    /// Sum of completed visits' totals, in minor units of `currency`.
    pub total_spent_cents: i64,
    #[schema(example = "CNY")]
    pub currency: String,
    /// Personal data was erased on request; the visits' amounts remain for reports.
    pub erased: bool,
    /// Changes with every write; the ETag carries it.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SensitiveFields {
    pub allergies: Option<String>,
    pub medical_notes: Option<String>,
    pub skin_history: Option<String>,
}

impl SensitiveFields {
    pub fn is_empty(&self) -> bool {
        self.allergies.is_none() && self.medical_notes.is_none() && self.skin_history.is_none()
    }
}

/// A client row as stored (sensitive fields still encrypted).
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::clients)]
pub struct ClientRow {
    pub tenant_id: String,
    pub id: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub gender: Option<String>,
    pub birthday_month: Option<i32>,
    pub birthday_day: Option<i32>,
    pub birth_year: Option<i32>,
    pub locale: Option<String>,
    pub preferred_channel: String,
    pub marketing_consent: bool,
    pub consent_changed_at: Option<NaiveDateTime>,
    pub consent_source: Option<String>,
    pub home_store_id: Option<String>,
    pub consultant_id: Option<String>,
    pub source: Option<String>,
    pub referrer_id: Option<String>,
    pub tags: String,
    pub skin_type: Option<String>,
    pub sensitive_enc: Option<String>,
    pub preferences: Option<String>,
    pub notes: Option<String>,
    pub visit_count: i32,
    pub first_visit_at: Option<NaiveDateTime>,
    pub last_visit_at: Option<NaiveDateTime>,
    pub total_spent_cents: i64,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
    pub erased_at: Option<NaiveDateTime>,
}

/// Associated data binding an encrypted value to its tenant and client: a ciphertext copied
/// into another row does not decrypt.
pub(crate) fn crypto_context(tenant_id: &str, client_id: &str) -> String {
    format!("client/{tenant_id}/{client_id}/sensitive")
}

impl SensitiveFields {
    /// The stored form: `None` when there is nothing to keep, else the encrypted JSON.
    pub(crate) fn seal(&self, keys: &Keyring, tenant_id: &str, client_id: &str) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let json = serde_json::to_string(self).unwrap_or_default();
        Some(keys.encrypt(&json, &crypto_context(tenant_id, client_id)))
    }
}

impl ClientRow {
    pub fn client_id(&self) -> Result<ClientId> {
        ClientId::from_db(&self.id)
    }

    pub fn home_store(&self) -> Result<Option<StoreId>> {
        self.home_store_id.as_deref().map(StoreId::from_db).transpose()
    }

    pub fn consultant(&self) -> Result<Option<StaffId>> {
        self.consultant_id.as_deref().map(StaffId::from_db).transpose()
    }

    pub fn birthday(&self) -> Option<Birthday> {
        Birthday::from_db(self.birthday_month?, self.birthday_day?, self.birth_year)
    }

    pub fn decrypt_sensitive(&self, keys: &Keyring) -> Result<SensitiveFields> {
        let Some(stored) = &self.sensitive_enc else {
            return Ok(SensitiveFields::default());
        };
        let json = keys
            .decrypt(stored, &crypto_context(&self.tenant_id, &self.id))
            .map_err(|e| {
                Error::Internal(format!(
                    "cannot decrypt the sensitive fields of client {}: {e}",
                    self.id
                ))
            })?;
        serde_json::from_str(&json)
            .map_err(|e| Error::Internal(format!("sensitive fields of client {} unreadable: {e}", self.id)))
    }

    /// The API view; `sensitive` is filled in by the caller when the reader may see it.
    pub fn view(&self, currency: &str, sensitive: Option<SensitiveFields>) -> Result<Client> {
        Ok(Client {
            id: self.client_id()?,
            name: self.name.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            gender: self.gender.as_deref().map(Gender::from_db).transpose()?,
            birthday: self.birthday().map(|b| b.to_string()),
            locale: self.locale.clone(),
            preferred_channel: Channel::from_db(&self.preferred_channel)?,
            marketing_consent: self.marketing_consent,
            consent_changed_at: self.consent_changed_at.map(from_db_time),
            consent_source: self.consent_source.clone(),
            home_store_id: self.home_store()?,
            consultant_id: self.consultant()?,
            source: self.source.clone(),
            referrer_id: self.referrer_id.as_deref().map(ClientId::from_db).transpose()?,
            tags: serde_json::from_str(&self.tags).unwrap_or_default(),
            skin_type: self.skin_type.clone(),
            sensitive,
            preferences: self.preferences.clone(),
            notes: self.notes.clone(),
            visit_count: self.visit_count,
            first_visit_at: self.first_visit_at.map(from_db_time),
            last_visit_at: self.last_visit_at.map(from_db_time),
            total_spent_cents: self.total_spent_cents,
            currency: currency.to_owned(),
            erased: self.erased_at.is_some(),
            version: self.version,
            created_at: from_db_time(self.created_at),
            updated_at: from_db_time(self.updated_at),
        })
    }
}
