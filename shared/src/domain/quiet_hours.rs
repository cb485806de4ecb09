use crate::error::FieldError;
use chrono::NaiveTime;
use serde::Serialize;

/// A daily window in local time when clients get no messages ("21:00"–"09:00" by default).
/// The window may wrap midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    pub fn parse(start: &str, end: &str) -> Result<Self, FieldError> {
        let time = |raw: &str| NaiveTime::parse_from_str(raw.trim(), "%H:%M");
        match (time(start), time(end)) {
            (Ok(start), Ok(end)) if start != end => Ok(QuietHours { start, end }),
            (Ok(_), Ok(_)) => Err(FieldError::new("empty_window", "start and end must differ")),
            _ => Err(FieldError::new("invalid_time", "times must be HH:MM, 24-hour")),
        }
    }

    pub fn contains(&self, local: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }

    pub fn start_text(&self) -> String {
        self.start.format("%H:%M").to_string()
    }

    pub fn end_text(&self) -> String {
        self.end.format("%H:%M").to_string()
    }
}

impl Serialize for QuietHours {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("QuietHours", 2)?;
        s.serialize_field("start", &self.start_text())?;
        s.serialize_field("end", &self.end_text())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn window_wrapping_midnight() {
        let quiet = QuietHours::parse("21:00", "09:00").unwrap();
        assert!(quiet.contains(at(21, 0)));
        assert!(quiet.contains(at(3, 0)));
        assert!(!quiet.contains(at(9, 0)));
        assert!(!quiet.contains(at(20, 59)));
    }

    #[test]
    fn window_within_a_day() {
        let quiet = QuietHours::parse("12:00", "14:00").unwrap();
        assert!(quiet.contains(at(13, 0)));
        assert!(!quiet.contains(at(14, 0)));
        assert!(QuietHours::parse("25:00", "09:00").is_err());
        assert!(QuietHours::parse("09:00", "09:00").is_err());
    }
}
