//! Helpers for request bodies shared by the HTTP API and the CSV importer.

use crate::domain::Text;
use crate::error::FieldError;
use serde::{Deserialize, Deserializer};

/// For PATCH bodies: tells an absent field (leave as is, `None`) from `null` (clear it,
/// `Some(None)`).
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Optional free text: absent or blank is `None`.
pub fn optional_text(raw: Option<&str>, max: usize) -> Result<Option<Text>, FieldError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Text::parse(text, max).map(Some),
    }
}

/// A yes/no cell in a spreadsheet: true/false, yes/no, 1/0, y/n, 是/否.
pub fn parse_flag(raw: &str) -> Result<bool, FieldError> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "是" | "同意" => Ok(true),
        "false" | "no" | "n" | "0" | "否" | "不同意" => Ok(false),
        _ => Err(FieldError::new(
            "invalid_flag",
            "must be true or false (yes/no, 1/0, 是/否)",
        )),
    }
}
