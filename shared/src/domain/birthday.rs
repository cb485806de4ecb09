use crate::error::FieldError;
use chrono::{Datelike, NaiveDate};
use serde::{Serialize, Serializer};

/// A client's birthday: month and day, and the year when the client gave it ("MM-DD" or
/// "YYYY-MM-DD"). 02-29 is a valid birthday; in other years it is celebrated on 02-28.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Birthday {
    month: u32,
    day: u32,
    year: Option<i32>,
}

impl Birthday {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("invalid_birthday", "must be MM-DD or YYYY-MM-DD, a real date");
        let text = raw.trim();
        // Digits and dashes only: the slicing below counts bytes, and a multi-byte character
        // at the wrong place would panic (a 500, found by schemathesis).
        if !text.is_ascii() {
            return Err(invalid());
        }
        let (year, month_day) = match text.len() {
            5 => (None, text),
            10 => {
                let year: i32 = text[..4].parse().map_err(|_| invalid())?;
                if text.as_bytes()[4] != b'-' {
                    return Err(invalid());
                }
                (Some(year), &text[5..])
            }
            _ => return Err(invalid()),
        };
        let (month, day) = month_day.split_once('-').ok_or_else(invalid)?;
        if month.len() != 2 || day.len() != 2 {
            return Err(invalid());
        }
        let month: u32 = month.parse().map_err(|_| invalid())?;
        let day: u32 = day.parse().map_err(|_| invalid())?;
        // 2000 is a leap year: it admits 02-29 when no year is given.
        NaiveDate::from_ymd_opt(year.unwrap_or(2000), month, day).ok_or_else(invalid)?;
        if let Some(year) = year {
            if !(1900..=2100).contains(&year) {
                return Err(FieldError::new(
                    "invalid_birthday",
                    "the year must be between 1900 and 2100",
                ));
            }
        }
        Ok(Birthday { month, day, year })
    }

    pub fn from_db(month: i32, day: i32, year: Option<i32>) -> Option<Self> {
        Some(Birthday {
            month: u32::try_from(month).ok()?,
            day: u32::try_from(day).ok()?,
            year,
        })
    }

    pub fn month(&self) -> u32 {
        self.month
    }

    pub fn day(&self) -> u32 {
        self.day
    }

    pub fn year(&self) -> Option<i32> {
        self.year
    }

    /// The date the birthday falls on in `year`: 29 February becomes 28 February in common years.
    pub fn in_year(&self, year: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, self.day - 1))
    }

    /// Whether `date` is this birthday's celebration day.
    pub fn falls_on(&self, date: NaiveDate) -> bool {
        self.in_year(date.year()) == Some(date)
    }
}

impl std::fmt::Display for Birthday {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.year {
            Some(year) => write!(f, "{year:04}-{:02}-{:02}", self.month, self.day),
            None => write!(f, "{:02}-{:02}", self.month, self.day),
        }
    }
}

impl Serialize for Birthday {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_round_trip() {
        for text in ["03-08", "1990-03-08", "02-29", "2000-02-29", "12-31"] {
            assert_eq!(Birthday::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn impossible_dates_are_refused() {
        for text in [
            "02-30",
            "13-01",
            "00-10",
            "1999-02-29",
            "3-8",
            "1990/03/08",
            "",
            "1800-01-01",
            "abcde",
            "\0\u{60dad}.<îg",
            "19九0-03-08",
            "1990-0三-8",
            "0三-08",
        ] {
            assert!(Birthday::parse(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn leap_day_falls_on_the_28th_in_common_years() {
        let leap = Birthday::parse("02-29").unwrap();
        assert!(leap.falls_on(NaiveDate::from_ymd_opt(2027, 2, 28).unwrap()));
        assert!(!leap.falls_on(NaiveDate::from_ymd_opt(2028, 2, 28).unwrap()));
        assert!(leap.falls_on(NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()));
        let plain = Birthday::parse("03-01").unwrap();
        assert!(plain.falls_on(NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()));
    }
}
