//! Each tenant's automation rules. Every number of "The care automations" is here, with the
//! brief's defaults; a tenant stores only what it changed (one JSON document), so a default
//! improved later reaches every tenant that never touched it.

use crate::db::schema::tenant_settings;
use crate::db::AnyConnection;
use crate::domain::QuietHours;
use crate::error::FieldErrors;
use crate::tenancy::Tenant;
use chrono::{DateTime, NaiveTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

/// Text in each built-in locale (an offer named in a message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalizedText {
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
    pub en: String,
}

impl LocalizedText {
    pub fn for_locale(&self, locale: &str) -> &str {
        if locale.starts_with("zh") {
            &self.zh_cn
        } else {
            &self.en
        }
    }
}

/// The rules, as the API shows and takes them (`GET/PUT /api/v1/settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CareSettings {
    /// 生日关怀: a greeting on the birthday at `birthday_time` local.
    pub birthday_enabled: bool,
    /// "HH:MM" in the client's home store's zone.
    pub birthday_time: String,
    pub birthday_offer: LocalizedText,
    /// 满意度调研: a survey this many hours after a completed visit.
    pub survey_enabled: bool,
    pub survey_delay_hours: u32,
    /// The survey link works this many days.
    pub survey_valid_days: u32,
    /// A visit recorded more than this many days after it happened gets no survey.
    pub survey_max_record_lag_days: u32,
    /// 三级响应: an overall score below this opens a complaint (used by the survey page).
    pub complaint_threshold: f64,
    /// Any single rating at or below this opens a complaint too.
    pub complaint_dimension_floor: u32,
    pub callback_minutes: u32,
    pub solution_hours: u32,
    pub follow_up_days: u32,
    /// 唤醒关怀: a client whose last visit is older than this many days is dormant.
    pub wake_up_enabled: bool,
    pub dormant_days: u32,
    /// Use the client's own rhythm (2 × median interval, never under `dormant_days`) for clients
    /// with at least `rhythm_min_visits` visits.
    pub personal_rhythm: bool,
    pub rhythm_min_visits: u32,
    pub wake_ups_per_spell: u32,
    pub wake_up_spacing_days: u32,
    pub wake_up_offer: LocalizedText,
    /// A visit this many days after a wake-up counts as a win-back.
    pub win_back_days: u32,
    /// No client message in this local window (a store's own quiet hours take precedence).
    pub quiet_start: String,
    pub quiet_end: String,
    /// At most one marketing message per client in this many days (birthday exempt).
    pub marketing_cap_days: u32,
    /// twilio | aliyun | tencent | file; empty: the platform default (`SMS_PROVIDER`).
    pub sms_provider: Option<String>,
    /// 【signature】 for Chinese SMS; empty: the tenant's name.
    pub sms_signature: Option<String>,
    /// Attempts before a message is failed, and the first retry delay (doubling, with jitter).
    pub max_attempts: u32,
    pub retry_base_seconds: u32,
}

impl Default for CareSettings {
    fn default() -> Self {
        CareSettings {
            birthday_enabled: true,
            birthday_time: "10:00".into(),
            birthday_offer: LocalizedText {
                zh_cn: "生日当月赠送护理项目一次".into(),
                en: "a complimentary treatment during your birthday month".into(),
            },
            survey_enabled: true,
            survey_delay_hours: 24,
            survey_valid_days: 7,
            survey_max_record_lag_days: 7,
            complaint_threshold: 4.5,
            complaint_dimension_floor: 2,
            callback_minutes: 60,
            solution_hours: 24,
            follow_up_days: 7,
            wake_up_enabled: true,
            dormant_days: 60,
            personal_rhythm: false,
            rhythm_min_visits: 3,
            wake_ups_per_spell: 2,
            wake_up_spacing_days: 30,
            wake_up_offer: LocalizedText {
                zh_cn: "专属回归礼遇：到店护理享八折".into(),
                en: "a welcome-back treat: 20% off your next treatment".into(),
            },
            win_back_days: 30,
            quiet_start: "21:00".into(),
            quiet_end: "09:00".into(),
            marketing_cap_days: 7,
            sms_provider: None,
            sms_signature: None,
            max_attempts: 6,
            retry_base_seconds: 720,
        }
    }
}

/// The settings with a tenant's version, for `ETag`/`If-Match`.
#[derive(Debug, Clone)]
pub struct VersionedSettings {
    pub settings: CareSettings,
    pub version: i32,
}

impl CareSettings {
    /// Every field in range, else a 422 naming each bad field.
    pub fn validate(&self) -> crate::Result<()> {
        let mut errors = FieldErrors::default();
        let mut range = |field: &str, value: u32, low: u32, high: u32| {
            if !(low..=high).contains(&value) {
                errors.push(field, "out_of_range", format!("must be from {low} to {high}"));
            }
        };
        range("survey_delay_hours", self.survey_delay_hours, 1, 168);
        range("survey_valid_days", self.survey_valid_days, 1, 90);
        range("survey_max_record_lag_days", self.survey_max_record_lag_days, 0, 90);
        range("complaint_dimension_floor", self.complaint_dimension_floor, 0, 5);
        range("callback_minutes", self.callback_minutes, 5, 24 * 60);
        range("solution_hours", self.solution_hours, 1, 24 * 14);
        range("follow_up_days", self.follow_up_days, 1, 90);
        range("dormant_days", self.dormant_days, 7, 3650);
        range("rhythm_min_visits", self.rhythm_min_visits, 2, 100);
        range("wake_ups_per_spell", self.wake_ups_per_spell, 0, 10);
        range("wake_up_spacing_days", self.wake_up_spacing_days, 1, 365);
        range("win_back_days", self.win_back_days, 1, 365);
        range("marketing_cap_days", self.marketing_cap_days, 0, 90);
        range("max_attempts", self.max_attempts, 1, 20);
        range("retry_base_seconds", self.retry_base_seconds, 1, 86_400);
        if !(self.complaint_threshold.is_finite() && (0.0..=5.0).contains(&self.complaint_threshold)) {
            errors.push("complaint_threshold", "out_of_range", "must be from 0 to 5");
        }
        if NaiveTime::parse_from_str(&self.birthday_time, "%H:%M").is_err() {
            errors.push("birthday_time", "invalid_time", "must be HH:MM, 24-hour");
        }
        errors.check("quiet_end", QuietHours::parse(&self.quiet_start, &self.quiet_end));
        if let Some(provider) = &self.sms_provider {
            if !matches!(provider.as_str(), "twilio" | "aliyun" | "tencent" | "file") {
                errors.push(
                    "sms_provider",
                    "invalid_choice",
                    "must be one of: twilio, aliyun, tencent, file",
                );
            }
        }
        if let Some(signature) = &self.sms_signature {
            let length = signature.chars().count();
            if !(2..=12).contains(&length) || signature.contains(['【', '】']) {
                errors.push(
                    "sms_signature",
                    "invalid_signature",
                    "must be 2 to 12 characters, without 【】",
                );
            }
        }
        for (field, text) in [
            ("birthday_offer", &self.birthday_offer),
            ("wake_up_offer", &self.wake_up_offer),
        ] {
            if text.zh_cn.trim().is_empty()
                || text.en.trim().is_empty()
                || text.zh_cn.len() > 200
                || text.en.len() > 200
            {
                errors.push(field, "invalid_text", "both texts are required, up to 200 bytes");
            }
        }
        errors.finish(|| Some(()))
    }

    pub fn birthday_time(&self) -> NaiveTime {
        NaiveTime::parse_from_str(&self.birthday_time, "%H:%M").unwrap_or(NaiveTime::MIN)
    }

    /// The tenant-wide quiet window (a store may set its own).
    pub fn quiet_hours(&self) -> Option<QuietHours> {
        QuietHours::parse(&self.quiet_start, &self.quiet_end).ok()
    }
}

/// The tenant's settings (the defaults when it never saved any).
pub fn load(conn: &mut AnyConnection, tenant: &Tenant) -> crate::Result<VersionedSettings> {
    let row: Option<(String, i32)> = tenant_settings::table
        .filter(tenant_settings::tenant_id.eq(tenant.key()))
        .select((tenant_settings::settings, tenant_settings::version))
        .first(conn)
        .optional()?;
    match row {
        None => Ok(VersionedSettings {
            settings: CareSettings::default(),
            version: 0,
        }),
        Some((json, version)) => {
            let settings = serde_json::from_str(&json)
                .map_err(|error| crate::Error::Internal(format!("stored settings do not parse: {error}")))?;
            Ok(VersionedSettings { settings, version })
        }
    }
}

/// Replaces the tenant's settings (already validated), checking the version the caller saw.
pub fn save(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    settings: &CareSettings,
    expected_version: Option<i32>,
    now: DateTime<Utc>,
) -> crate::Result<VersionedSettings> {
    let current = load(conn, tenant)?;
    if expected_version.is_some_and(|expected| expected != current.version) {
        return Err(crate::Error::PreconditionFailed);
    }
    let json = serde_json::to_string(settings).map_err(|error| crate::Error::Internal(error.to_string()))?;
    let version = current.version + 1;
    let now = crate::db::to_db_time(now);
    if current.version == 0 {
        diesel::insert_into(tenant_settings::table)
            .values((
                tenant_settings::tenant_id.eq(tenant.key()),
                tenant_settings::settings.eq(&json),
                tenant_settings::version.eq(version),
                tenant_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::update(tenant_settings::table.filter(tenant_settings::tenant_id.eq(tenant.key())))
            .set((
                tenant_settings::settings.eq(&json),
                tenant_settings::version.eq(version),
                tenant_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(VersionedSettings {
        settings: settings.clone(),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_brief() {
        let defaults = CareSettings::default();
        assert!(defaults.validate().is_ok());
        assert_eq!(defaults.birthday_time, "10:00");
        assert_eq!(defaults.survey_delay_hours, 24);
        assert_eq!(defaults.dormant_days, 60);
        assert_eq!(defaults.marketing_cap_days, 7);
        assert!((defaults.complaint_threshold - 4.5).abs() < f64::EPSILON);
    }

    #[test]
    fn a_partial_document_takes_the_defaults() {
        let settings: CareSettings = serde_json::from_str(r#"{"dormant_days": 90}"#).unwrap();
        assert_eq!(settings.dormant_days, 90);
        assert_eq!(settings.survey_delay_hours, 24);
    }

    #[test]
    fn bad_values_name_their_fields() {
        let settings = CareSettings {
            survey_delay_hours: 0,
            birthday_time: "25:00".into(),
            sms_provider: Some("pigeon".into()),
            ..CareSettings::default()
        };
        let Err(crate::Error::Validation(errors)) = settings.validate() else {
            panic!("accepted")
        };
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"survey_delay_hours"));
        assert!(fields.contains(&"birthday_time"));
        assert!(fields.contains(&"sms_provider"));
    }
}
