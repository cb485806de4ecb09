use crate::error::FieldError;
use phonenumber::metadata::DATABASE;
use serde::Serialize;
use std::str::FromStr;

/// A client's mobile/phone number, stored and compared as E.164 ("+8613712345678"), so that
/// "137 1234 5678" and "+86 137-1234-5678" are the same client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

/// Longer input is not a phone number, and parsing it would only cost time.
const MAX_INPUT_CHARS: usize = 40;

/// E.164 allows at most 15 digits, the country code included. The phone metadata calls some
/// longer numbers valid (German ones with a long direct-dial extension), which no E.164 field
/// of ours, nor an SMS provider, takes.
const MAX_E164_DIGITS: usize = 15;

impl Phone {
    /// Reads a number as a front desk types it: digits with spaces, dashes, dots or
    /// parentheses, "+" and the country code, or the "00" international prefix. Full-width
    /// characters from a Chinese input method count as their ASCII forms.
    ///
    /// `default_country`, the tenant's ISO 3166-1 alpha-2 country ("CN"), is how numbers
    /// without "+" are read ("13712345678", or with the national prefix where the country has
    /// one, "020 7946 0958" in GB). Without it, or with a code the phone metadata does not
    /// know, only international numbers are accepted. Only numbers that are valid for their
    /// country are accepted, whatever their type (mobile, fixed line…).
    pub fn parse(raw: &str, default_country: Option<&str>) -> Result<Phone, FieldError> {
        let text: String = raw.trim().chars().map(fold_width).collect();
        if text.is_empty() {
            return Err(FieldError::new("required", "must not be empty"));
        }
        let international = text.starts_with('+');
        let body = if international { &text[1..] } else { &text[..] };
        let allowed = body
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')'));
        if !allowed || text.chars().count() > MAX_INPUT_CHARS {
            return Err(FieldError::new(
                "invalid_phone",
                "must be a phone number: digits with spaces, dashes, dots or parentheses, and + before a country code",
            ));
        }
        let digits: String = body.chars().filter(char::is_ascii_digit).collect();
        let country =
            default_country.and_then(|code| phonenumber::country::Id::from_str(&code.trim().to_ascii_uppercase()).ok());

        let mut candidates = Vec::with_capacity(2);
        if international {
            candidates.push((None, format!("+{digits}")));
        } else {
            // The country's own rules first: they know its national prefix and its
            // international prefix (which may itself start with 00, like Australia's 0011).
            if let Some(country) = country {
                candidates.push((Some(country), digits.clone()));
            }
            if let Some(rest) = digits.strip_prefix("00") {
                candidates.push((None, format!("+{rest}")));
            }
        }
        let valid = candidates.into_iter().find_map(|(country, number)| {
            valid_e164(country, number)
                .filter(|e164| e164.len() - 1 <= MAX_E164_DIGITS)
                // What we store must read back as itself: the phone library can put a
                // country's national-prefix rule on a number dialled abroad from it (KN's
                // "011 7 2544 4 66" came out as +7 869 254 4466, which it then calls invalid).
                .filter(|e164| valid_e164(None, e164.clone()).as_ref() == Some(e164))
        });
        if let Some(e164) = valid {
            return Ok(Phone(e164));
        }

        let message = match (international || digits.starts_with("00"), default_country, country) {
            (true, _, _) => {
                "must be a valid phone number, with + and the country code, e.g. +86 137 1234 5678".to_owned()
            }
            (false, _, Some(country)) => format!(
                "must be a valid {} phone number; write a number from another country with + and its country code",
                country.as_ref()
            ),
            (false, Some(unknown), None) => format!(
                "must start with + and the country code, e.g. +86 137 1234 5678 (numbers without + are read with the \
                 salon's country, and {unknown:?} is not a known country code)"
            ),
            (false, None, None) => "must start with + and the country code, e.g. +86 137 1234 5678 (numbers without + \
                                    need the salon's country, and none is set)"
                .to_owned(),
        };
        Err(FieldError::new("invalid_phone", message))
    }

    /// For numbers read back from our own database, which only holds what `parse` produced.
    pub fn from_db(e164: String) -> Phone {
        Phone(e164)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// The national significant number's digits ("13712345678" for +8613712345678): what
    /// front desks type, without the country code or a national prefix such as GB's 0.
    /// (A country's own leading zero stays: Italy's +39 06… gives "06…".)
    pub fn national_digits(&self) -> String {
        let digits = self.0.trim_start_matches('+');
        Self::split_country_code(digits)
            .map_or(digits, |(_, national)| national)
            .to_owned()
    }

    /// Splits E.164 digits (without the +) into the calling code and the rest. Calling codes
    /// are prefix-free, so the first 1 to 3 digits that name a known code are the code.
    pub(crate) fn split_country_code(digits: &str) -> Option<(u16, &str)> {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        (1..=3).filter(|&len| len <= digits.len()).find_map(|len| {
            let (code, rest) = digits.split_at(len);
            let code: u16 = code.parse().ok()?;
            DATABASE.by_code(&code).map(|_| (code, rest))
        })
    }
}

/// The number as E.164 ("+8613712345678") when the phone metadata calls it valid.
fn valid_e164(country: Option<phonenumber::country::Id>, number: String) -> Option<String> {
    phonenumber::parse(country, number)
        .ok()
        .filter(phonenumber::PhoneNumber::is_valid)
        .map(|number| format!("+{}{}", number.code().value(), number.national()))
}

/// Full-width forms (U+FF01–U+FF5E, typed in a Chinese input method's full-width mode) as
/// their ASCII counterparts.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::Phone;

    #[test]
    fn accepts_numbers_as_front_desks_write_them() {
        for (raw, country, e164) in [
            ("13712345678", Some("CN"), "+8613712345678"),
            ("137 1234 5678", Some("CN"), "+8613712345678"),
            ("137-1234-5678", Some("CN"), "+8613712345678"),
            ("137.1234.5678", Some("CN"), "+8613712345678"),
            (" (137) 1234 5678 ", Some("CN"), "+8613712345678"),
            ("0137 1234 5678", Some("CN"), "+8613712345678"),
            ("86 137 1234 5678", Some("CN"), "+8613712345678"),
            ("１３７ １２３４ ５６７８", Some("CN"), "+8613712345678"),
            ("021 6123 4567", Some("CN"), "+862161234567"),
            ("13712345678", Some("cn"), "+8613712345678"),
            ("+86 137 1234 5678", None, "+8613712345678"),
            ("+86 (0) 137 1234 5678", None, "+8613712345678"),
            ("+86 137 1234 5678", Some("US"), "+8613712345678"),
            ("0086 137 1234 5678", None, "+8613712345678"),
            ("0086 137 1234 5678", Some("CN"), "+8613712345678"),
            ("+44 7911 123456", None, "+447911123456"),
            ("07911 123456", Some("GB"), "+447911123456"),
            ("0044 7911 123456", Some("US"), "+447911123456"),
            ("0011 44 7911 123456", Some("AU"), "+447911123456"),
            ("(415) 555-2671", Some("US"), "+14155552671"),
            ("415.555.2671", Some("US"), "+14155552671"),
            ("+852 5123 4567", Some("CN"), "+85251234567"),
            ("+39 06 1234 5678", None, "+390612345678"),
            ("236 1234", Some("KN"), "+18692361234"),
            ("(869) 765-2917", Some("KN"), "+18697652917"),
            ("011 44 7911 123456", Some("KN"), "+447911123456"),
        ] {
            match Phone::parse(raw, country) {
                Ok(phone) => assert_eq!(phone.as_str(), e164, "{raw:?} with {country:?}"),
                Err(error) => panic!("{raw:?} with {country:?} rejected: {}", error.message),
            }
        }
    }

    #[test]
    fn rejects_what_is_not_a_valid_number() {
        for (raw, country) in [
            ("hello", Some("CN")),
            ("137abcd5678", Some("CN")),
            ("1-800-FLOWERS", Some("US")),
            ("137 1234 5678 ext 12", Some("CN")),
            ("12345", Some("CN")),
            ("110", Some("CN")),
            ("1", Some("CN")),
            ("137 1234 567", Some("CN")),
            ("137 1234 56789", Some("CN")),
            ("+86 137 1234 567", None),
            ("+86 137 1234 56789", None),
            ("555-0100", Some("US")),
            ("+999 1234 5678", None),
            ("++86 137 1234 5678", None),
            ("86+13712345678", Some("CN")),
            ("+", None),
            ("0000000000000", Some("CN")),
            // Valid in the phone metadata, but 17 digits: not E.164 (found by fuzz/ phone).
            ("+49757678 85134 4563", None),
            ("0757678 85134 4563", Some("DE")),
            // +7 2544 4466 dialled from Saint Kitts: the library made it +7 869 254 4466,
            // which does not read back (found by fuzz/ phone).
            ("011 7 2544 4 66", Some("KN")),
            ("1234567890123456789012345678901234567890123", Some("CN")),
        ] {
            let error = Phone::parse(raw, country).expect_err(raw);
            assert_eq!(error.code, "invalid_phone", "{raw:?}");
        }
        for blank in ["", "   "] {
            assert_eq!(Phone::parse(blank, Some("CN")).unwrap_err().code, "required");
        }
    }

    #[test]
    fn numbers_without_plus_need_the_country() {
        let error = Phone::parse("13712345678", None).unwrap_err();
        assert_eq!(error.code, "invalid_phone");
        assert!(
            error.message.contains('+') && error.message.contains("country"),
            "{}",
            error.message
        );

        let error = Phone::parse("13712345678", Some("XX")).unwrap_err();
        assert!(error.message.contains("\"XX\""), "{}", error.message);

        let error = Phone::parse("12345", Some("CN")).unwrap_err();
        assert!(error.message.contains("CN"), "{}", error.message);
    }

    #[test]
    fn national_digits_drop_the_country_code() {
        for (e164, national) in [
            ("+8613712345678", "13712345678"),
            ("+862161234567", "2161234567"),
            ("+447911123456", "7911123456"),
            ("+14155552671", "4155552671"),
            ("+85251234567", "51234567"),
            ("+390612345678", "0612345678"),
        ] {
            assert_eq!(Phone::from_db(e164.to_owned()).national_digits(), national, "{e164}");
        }
        // Not something `parse` makes, but no reason to panic: all the digits.
        assert_eq!(Phone::from_db("+张".to_owned()).national_digits(), "张");
        assert_eq!(Phone::from_db("+999123".to_owned()).national_digits(), "999123");
        assert_eq!(
            Phone::parse("137 1234 5678", Some("CN")).unwrap().national_digits(),
            "13712345678"
        );
    }

    #[test]
    fn e164_is_stable() {
        let phone = Phone::parse("0086 137-1234-5678", Some("GB")).unwrap();
        assert_eq!(Phone::parse(phone.as_str(), None).unwrap(), phone);
        assert_eq!(Phone::from_db(phone.as_str().to_owned()), phone);
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"+8613712345678\"");
        assert_eq!(phone.into_inner(), "+8613712345678");
    }
}
