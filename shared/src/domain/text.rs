use crate::error::FieldError;
use serde::Serialize;

fn clean(raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    let length = trimmed.chars().count();
    if length < min {
        return Err(FieldError::new(
            if min == 1 { "required" } else { "too_short" },
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if length > max {
        return Err(FieldError::new("too_long", format!("must be at most {max} characters")));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A person's, store's or salon's name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        clean(raw, 1, 100).map(Name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Free text such as an address or a note: trimmed, up to `max` characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(raw: &str, max: usize) -> Result<Self, FieldError> {
        clean(raw, 0, max).map(Text)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A store's phone as printed in messages ("021-6123 4567", "+86 21 6123 4567"): digits with
/// the usual separators. Clients' phones are E.164 numbers, a different type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PhoneText(String);

impl PhoneText {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let text = clean(raw, 1, 32)?;
        let digits = text.chars().filter(char::is_ascii_digit).count();
        let allowed = text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
        if !allowed || digits < 3 {
            return Err(FieldError::new(
                "invalid_phone",
                "must be a phone number: digits with spaces, dashes, parentheses or a leading +",
            ));
        }
        Ok(PhoneText(text))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  美丽人生 ").unwrap().as_str(), "美丽人生");
        assert_eq!(Name::parse("   ").unwrap_err().code, "required");
        assert_eq!(Name::parse(&"名".repeat(101)).unwrap_err().code, "too_long");
        assert!(Name::parse(&"名".repeat(100)).is_ok());
        assert_eq!(Name::parse("a\u{0}b").unwrap_err().code, "invalid_characters");
    }

    #[test]
    fn store_phones_allow_separators_only() {
        assert!(PhoneText::parse("021-6123 4567").is_ok());
        assert!(PhoneText::parse("+86 (21) 61234567").is_ok());
        assert!(PhoneText::parse("call me").is_err());
        assert!(PhoneText::parse("12").is_err());
    }
}
