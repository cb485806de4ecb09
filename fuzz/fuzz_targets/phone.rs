//! `Phone::parse`: a number as a front desk or a spreadsheet writes it, read with the
//! tenant's country.
//!
//! Input: UTF-8 text whose first line is the default country ("CN", "gb", "XX"; an empty
//! line is no country) and whose rest is the raw number, e.g. "CN\n137 1234 5678".
//!
//! Properties, beyond not panicking:
//! - an accepted number is E.164: "+", then at most 15 digits, the first not 0: a known
//!   calling code followed by its national digits (no lower bound: the phone metadata has
//!   valid numbers of 6 digits in all, such as the German pager number +49 1695);
//! - its E.164 form reads back as the same number, with or without a default country;
//! - the result depends only on the "+" and the digits (spaces, dashes, dots, parentheses
//!   are layout), and full-width characters read as their ASCII forms;
//! - a rejection has a code ("required" or "invalid_phone") and a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::Phone;
use shared::FieldError;

/// `Phone::parse` refuses longer input (its MAX_INPUT_CHARS).
const MAX_INPUT_CHARS: usize = 40;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (country, raw) = match text.split_once('\n') {
        Some((country, raw)) => (Some(country).filter(|c| !c.is_empty()), raw),
        None => (None, text),
    };
    check(raw, country);
});

fn check(raw: &str, country: Option<&str>) {
    let result = Phone::parse(raw, country);
    match &result {
        Ok(phone) => check_e164(phone, raw, country),
        Err(error) => check_rejection(error, raw),
    }

    // Full-width forms (a Chinese input method's full-width mode) read as ASCII.
    let wide: String = raw.chars().map(widen).collect();
    assert_same(&result, &Phone::parse(&wide, country), raw, &wide, country);

    // Only the "+" and the digits matter, once every character is one a number may have.
    let folded: String = raw.trim().chars().map(narrow).collect();
    let international = folded.starts_with('+');
    let body = folded.strip_prefix('+').unwrap_or(&folded);
    let layout_only = body
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')'));
    if layout_only && folded.chars().count() <= MAX_INPUT_CHARS {
        let digits: String = body.chars().filter(char::is_ascii_digit).collect();
        let compact = if international { format!("+{digits}") } else { digits };
        if compact.is_empty() {
            // Layout characters alone: not a number, though not blank either.
            assert!(result.is_err(), "{raw:?} with {country:?} accepted");
        } else {
            assert_same(&result, &Phone::parse(&compact, country), raw, &compact, country);
        }
    }
}

fn check_e164(phone: &Phone, raw: &str, country: Option<&str>) {
    let e164 = phone.as_str();
    let digits = e164
        .strip_prefix('+')
        .unwrap_or_else(|| panic!("{raw:?} with {country:?} gave {e164:?}, without +"));
    assert!(
        digits.bytes().all(|b| b.is_ascii_digit()) && digits.len() <= 15,
        "{raw:?} with {country:?} gave {e164:?}: not + and at most 15 digits"
    );
    assert!(
        !digits.starts_with('0'),
        "{raw:?} with {country:?} gave {e164:?}: a calling code never starts with 0"
    );
    // Calling code + national digits, both present.
    let national = phone.national_digits();
    assert!(
        !national.is_empty() && national.len() < digits.len() && digits.ends_with(&national),
        "{raw:?} with {country:?} gave {e164:?}, whose national digits are {national:?}"
    );
    assert!(
        digits.len() - national.len() <= 3,
        "{raw:?} with {country:?} gave {e164:?}: calling code longer than 3 digits"
    );

    // The stored form reads back as itself, whatever the tenant's country.
    for again_country in [None, country, Some("CN"), Some("GB")] {
        match Phone::parse(e164, again_country) {
            Ok(again) => assert_eq!(
                again, *phone,
                "{raw:?} with {country:?} gave {e164:?}, which reads back with {again_country:?} as {again:?}"
            ),
            Err(error) => panic!(
                "{raw:?} with {country:?} gave {e164:?}, which with {again_country:?} is rejected: {} {}",
                error.code, error.message
            ),
        }
    }
    assert_eq!(Phone::from_db(e164.to_owned()), *phone);
}

fn check_rejection(error: &FieldError, raw: &str) {
    match error.code {
        "required" => assert!(raw.trim().is_empty(), "{raw:?} is not empty, yet 'required'"),
        "invalid_phone" => assert!(!raw.trim().is_empty(), "an empty {raw:?} is 'invalid_phone'"),
        other => panic!("{raw:?}: unexpected code {other:?}"),
    }
    assert!(!error.message.is_empty(), "{raw:?}: rejection without a message");
}

/// Same outcome: the same number, or a rejection with the same code.
fn assert_same(
    first: &Result<Phone, FieldError>,
    second: &Result<Phone, FieldError>,
    raw: &str,
    other: &str,
    country: Option<&str>,
) {
    match (first, second) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{raw:?} and {other:?} with {country:?}"),
        (Err(a), Err(b)) => assert_eq!(a.code, b.code, "{raw:?} and {other:?} with {country:?}"),
        _ => panic!("{raw:?} gave {first:?} but {other:?} gave {second:?} (with {country:?})"),
    }
}

/// ASCII '!'..='~' as the full-width forms U+FF01..=U+FF5E.
fn widen(c: char) -> char {
    match c {
        '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// The full-width forms U+FF01..=U+FF5E as ASCII.
fn narrow(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}
