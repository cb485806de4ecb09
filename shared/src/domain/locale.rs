use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// The languages salon-crm speaks to clients and staff in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Locale {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// Accepts the usual spellings of a BCP 47 tag ("zh-CN", "zh_cn", "zh-Hans", "en-GB").
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let tag = raw.trim().replace('_', "-").to_lowercase();
        match tag.as_str() {
            "zh" | "zh-cn" | "zh-hans" | "zh-hans-cn" => Ok(Locale::ZhCn),
            "en" => Ok(Locale::En),
            _ if tag.starts_with("en-") => Ok(Locale::En),
            _ => Err(FieldError::new("unsupported_locale", "must be one of: zh-CN, en")),
        }
    }

    pub fn from_db(text: &str) -> Self {
        Locale::parse(text).unwrap_or(Locale::En)
    }
}

#[cfg(test)]
mod tests {
    use super::Locale;

    #[test]
    fn parses_common_spellings() {
        assert_eq!(Locale::parse("zh_CN").unwrap(), Locale::ZhCn);
        assert_eq!(Locale::parse("en-GB").unwrap(), Locale::En);
        assert!(Locale::parse("fr").is_err());
    }
}
