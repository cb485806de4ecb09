use crate::error::FieldError;
use serde::Serialize;

/// An IANA time zone ("Asia/Shanghai"). Stores keep one so that "10:00" and quiet hours mean
/// the store's local time, with daylight saving handled by the tz database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        raw.trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| FieldError::new("invalid_timezone", "must be an IANA time zone such as Asia/Shanghai"))
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl Serialize for TimeZone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::TimeZone;

    #[test]
    fn only_iana_names() {
        assert_eq!(TimeZone::parse("Europe/London").unwrap().name(), "Europe/London");
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("+08:00").is_err());
    }
}
