//! A CSV upload: bytes → `decode` (UTF-8, BOM, GB18030) → `parse_csv` → each row checked as
//! the client import and the visit import check it, up to the point where they ask the
//! database (which stores, staff and services exist, which phones are taken).
//!
//! Input: the uploaded file's bytes, as they come.
//!
//! Properties, beyond not panicking:
//! - decoding never loses a valid UTF-8 file's text (only a leading BOM goes), declared or
//!   not; a file that is not UTF-8 is read exactly as declared GB18030 reads it, or not at all;
//!   any text written as GB18030 reads back as itself; an undecodable file's error names a
//!   line of the file;
//! - the header's columns are known, unique and include the required ones; the file is
//!   "empty" exactly when it has no non-blank record;
//! - every non-blank record after the header is one data row, with a line number inside the
//!   file, increasing; its values are trimmed, non-empty and under header columns;
//! - in the report, the accepted rows and the rejected rows account for every data row, each
//!   rejection naming a data row's line and a code; what is accepted is valid (an E.164
//!   phone, a completion time not in the future nor before 2000, 0 ≤ discount ≤ amount).
#![no_main]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use shared::clients::ClientInput;
use shared::domain::{Channel, Gender, PaymentMethod, Phone, ServiceId, StaffId, StoreId};
use shared::import::{decode, parse_csv, CsvFile, CsvRow, ImportError};
use shared::imports::{minor_units, visit_time, CLIENT_COLUMNS, VISIT_COLUMNS};
use shared::input::parse_flag;
use shared::FieldError;
use std::collections::{BTreeSet, HashMap};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fuzz_target!(|bytes: &[u8]| {
    check_decoding(bytes);
    let Ok(text) = decode(bytes, None) else {
        return;
    };
    // The tenant's country (for national phone numbers) and its stores' zone, varied by input.
    let (country, zone) = match bytes.len() % 3 {
        0 => (Some("CN"), chrono_tz::Asia::Shanghai),
        1 => (Some("GB"), chrono_tz::Europe::London),
        _ => (None, chrono_tz::UTC),
    };
    import_clients(&text, country);
    import_visits(&text, country, zone);
});

// ------------------------------------------------------------------------- decoding

fn check_decoding(bytes: &[u8]) {
    let undeclared = decode(bytes, None);
    let lines = 1 + line_breaks(bytes);
    for label in [
        None,
        Some("utf-8"),
        Some("UTF8"),
        Some("gbk"),
        Some("GB18030"),
        Some("gb2312"),
    ] {
        match decode(bytes, label) {
            Err(ImportError::Undecodable { line, .. }) => assert!(
                (1..=lines).contains(&line),
                "decoding as {label:?} fails on line {line} of a file of {lines} lines"
            ),
            Err(other) => panic!("decoding as {label:?}: {other:?}"),
            Ok(_) => {}
        }
    }
    assert!(matches!(
        decode(bytes, Some("latin1")),
        Err(ImportError::UnknownCharset(_))
    ));

    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let expected = text.strip_prefix('\u{FEFF}').unwrap_or(text);
            assert_eq!(undeclared.as_deref(), Ok(expected), "valid UTF-8, undeclared");
            assert_eq!(
                decode(bytes, Some("utf-8")).as_deref(),
                Ok(expected),
                "valid UTF-8, declared"
            );
            if bytes.starts_with(UTF8_BOM) {
                // A BOM outweighs a declared GB charset.
                assert_eq!(
                    decode(bytes, Some("gbk")).as_deref(),
                    Ok(expected),
                    "UTF-8 with a BOM, declared GBK"
                );
            }
            check_gb18030_round_trip(text);
        }
        Err(_) => {
            assert!(
                decode(bytes, Some("utf-8")).is_err(),
                "not UTF-8, yet read as declared UTF-8"
            );
            if bytes.starts_with(UTF8_BOM) {
                assert!(undeclared.is_err(), "a BOM, then not UTF-8, yet read");
            } else {
                assert_eq!(
                    undeclared.is_ok(),
                    decode(bytes, Some("gb18030")).is_ok(),
                    "not UTF-8: undeclared and declared GB18030 disagree"
                );
                if let Ok(text) = &undeclared {
                    assert_eq!(decode(bytes, Some("gb18030")).as_ref(), Ok(text));
                }
            }
        }
    }
}

/// Text saved as GB18030 (what Excel in China does) reads back as itself.
fn check_gb18030_round_trip(text: &str) {
    let (encoded, _, unmappable) = encoding_rs::GB18030.encode(text);
    // Not round trips by the standard, so not checked:
    // - the code point GB18030 cannot carry in WHATWG's mapping (U+E5E5);
    // - private-use code points: GB18030-2022 gave 18 of them standard code points, so their
    //   old bytes now decode to those (U+E78D to U+FE10, for one);
    // - a file that starts with the bytes of a UTF-8 BOM (two particular hanzi): read as UTF-8
    //   by design (see `decode`); no header of ours starts with hanzi.
    let private_use = text.chars().any(|c| ('\u{E000}'..='\u{F8FF}').contains(&c));
    if unmappable || private_use || encoded.starts_with(UTF8_BOM) {
        return;
    }
    let expected = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    assert_eq!(
        decode(&encoded, Some("gb18030")).as_deref(),
        Ok(expected),
        "GB18030 round trip, declared"
    );
    // Undeclared, GB18030 is the reading when the bytes are not UTF-8 (short GBK text can
    // be valid UTF-8 too: then only a declaration tells).
    if std::str::from_utf8(&encoded).is_err() {
        assert_eq!(
            decode(&encoded, None).as_deref(),
            Ok(expected),
            "GB18030 round trip, undeclared"
        );
    }
}

/// "\n", "\r\n" (once) and a lone "\r": the line ends the CSV reader knows.
fn line_breaks(bytes: &[u8]) -> u64 {
    let mut count = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            count += 1;
        }
    }
    count
}

// ------------------------------------------------------------------------- parsing

/// Parses as `parse_csv` and checks the file's shape; None when the header is refused.
fn parse(text: &str, known: &[&str], required: &[&str]) -> Option<CsvFile> {
    let records = non_blank_records(text);
    let file = match parse_csv(text, known, required) {
        Ok(file) => file,
        Err(ImportError::Empty) => {
            assert_eq!(records, 0, "'empty', yet {records} non-blank records");
            return None;
        }
        Err(
            ImportError::MissingColumns { .. }
            | ImportError::UnknownColumn { .. }
            | ImportError::DuplicateColumn { .. }
            | ImportError::UnnamedColumn { .. },
        ) => {
            assert!(records > 0, "a header error, yet no non-blank record");
            return None;
        }
        Err(other) => panic!("parse_csv: {other:?}"),
    };

    let columns: BTreeSet<&str> = file.columns.iter().map(String::as_str).collect();
    assert_eq!(
        columns.len(),
        file.columns.len(),
        "duplicate columns {:?}",
        file.columns
    );
    assert!(
        columns.iter().all(|c| known.contains(c)),
        "unknown columns {:?}",
        file.columns
    );
    assert!(
        required.iter().all(|c| columns.contains(c)),
        "missing columns {:?}",
        file.columns
    );

    assert_eq!(
        file.rows.len(),
        records - 1,
        "{records} non-blank records (the header one of them) but {} data rows",
        file.rows.len()
    );
    let last_line = 1 + line_breaks(text.as_bytes());
    let mut previous = 1;
    for row in &file.rows {
        let line = match row {
            Ok(row) => {
                for (column, value) in &row.values {
                    assert!(columns.contains(column.as_str()), "value under {column:?}");
                    assert!(!value.is_empty() && value.trim() == value, "value {value:?}");
                }
                row.line
            }
            Err(problem) => {
                assert!(!problem.message.is_empty());
                problem.line
            }
        };
        assert!(
            line > previous && line <= last_line,
            "row on line {line} after line {previous}, in a file of {last_line} lines"
        );
        previous = line;
    }
    Some(file)
}

/// The records with a non-blank cell, read by the csv crate as `parse_csv` configures it.
fn non_blank_records(text: &str) -> usize {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut count = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) if record.iter().all(|cell| cell.trim().is_empty()) => {}
            Ok(true) => count += 1,
            Ok(false) => break,
            // `parse_csv` reports a read error as one last row.
            Err(_) => {
                count += 1;
                break;
            }
        }
    }
    count
}

// ------------------------------------------------------------------------- reports

/// An import report of the pure checks: which data rows pass, which are rejected and why.
#[derive(Default)]
struct Report {
    rows: usize,
    accepted: BTreeSet<u64>,
    rejected: Vec<(u64, String, &'static str)>,
}

impl Report {
    fn reject(&mut self, line: u64, field: &str, error: FieldError) {
        assert!(
            !error.message.is_empty(),
            "line {line}: {field} rejected without a message"
        );
        let field = if error.field.is_empty() {
            field.to_owned()
        } else {
            error.field
        };
        self.rejected.push((line, field, error.code));
    }

    /// Accepted and rejected rows account for every data row, once.
    fn check(&self, file: &CsvFile) {
        let lines: BTreeSet<u64> = file
            .rows
            .iter()
            .map(|row| match row {
                Ok(row) => row.line,
                Err(problem) => problem.line,
            })
            .collect();
        let rejected: BTreeSet<u64> = self.rejected.iter().map(|(line, _, _)| *line).collect();
        assert_eq!(self.rows, file.rows.len());
        assert!(self.accepted.is_disjoint(&rejected), "a row both accepted and rejected");
        assert_eq!(
            self.accepted.len() + rejected.len(),
            self.rows,
            "{} accepted + {} rejected rows, of {}",
            self.accepted.len(),
            rejected.len(),
            self.rows
        );
        assert!(rejected.is_subset(&lines), "a rejection names no data row's line");
        for (line, field, code) in &self.rejected {
            assert!(!code.is_empty(), "line {line}: {field} rejected without a code");
        }
    }
}

fn cell<'a>(row: &'a CsvRow, column: &str) -> Option<&'a str> {
    row.values.get(column).map(String::as_str)
}

/// A cell parsed as `parse` does; a bad one is a rejection (as in `shared::imports`).
fn typed_cell<T>(
    report: &mut Report,
    row: &CsvRow,
    column: &str,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Option<T> {
    let value = cell(row, column)?;
    parse(value)
        .map_err(|error| report.reject(row.line, column, error))
        .ok()
}

/// `shared::imports::import_clients` up to its first database step: the same cells into the
/// same `ClientInput`, and the in-file duplicate phone check.
fn import_clients(text: &str, country: Option<&str>) {
    let Some(file) = parse(text, CLIENT_COLUMNS, &["name"]) else {
        return;
    };
    let mut report = Report {
        rows: file.rows.len(),
        ..Report::default()
    };
    let mut phones_in_file: HashMap<String, u64> = HashMap::new();
    for row in &file.rows {
        let row = match row {
            Ok(row) => row,
            Err(problem) => {
                report.rejected.push((problem.line, String::new(), "malformed_row"));
                continue;
            }
        };
        let line = row.line;
        let before = report.rejected.len();
        let gender = typed_cell(&mut report, row, "gender", Gender::parse);
        let preferred_channel = typed_cell(&mut report, row, "preferred_channel", Channel::parse);
        let marketing_consent = typed_cell(&mut report, row, "marketing_consent", parse_flag);
        if report.rejected.len() > before {
            continue;
        }
        let owned = |column: &str| cell(row, column).map(str::to_owned);
        let input = ClientInput {
            name: cell(row, "name").unwrap_or_default().to_owned(),
            phone: owned("phone"),
            email: owned("email"),
            gender,
            birthday: owned("birthday"),
            locale: owned("locale"),
            preferred_channel,
            marketing_consent,
            consent_source: Some(cell(row, "consent_source").unwrap_or("import").to_owned()),
            home_store_id: owned("home_store_id"),
            consultant_id: owned("consultant_id"),
            source: owned("source"),
            referrer_id: None,
            tags: cell(row, "tags").map(|v| v.split([';', ',', '、', '|']).map(str::to_owned).collect()),
            skin_type: owned("skin_type"),
            allergies: owned("allergies"),
            medical_notes: owned("medical_notes"),
            skin_history: owned("skin_history"),
            preferences: owned("preferences"),
            notes: owned("notes"),
        };
        let fields = match input.parse(country) {
            Ok(fields) => fields,
            Err(errors) => {
                assert!(!errors.0.is_empty(), "line {line}: rejected without a reason");
                for error in errors.0 {
                    report.reject(line, "", error);
                }
                continue;
            }
        };

        assert!(
            !fields.name.as_str().trim().is_empty(),
            "line {line}: a blank name accepted"
        );
        assert!(fields.tags.len() <= 20, "line {line}: {} tags", fields.tags.len());
        match (cell(row, "phone"), &fields.phone) {
            (Some(raw), Some(phone)) => {
                assert_eq!(Phone::parse(raw, country).as_ref(), Ok(phone), "line {line}");
                assert_e164(phone.as_str());
            }
            (None, None) => {}
            (raw, phone) => panic!("line {line}: phone cell {raw:?} became {phone:?}"),
        }

        if let Some(phone) = &fields.phone {
            if let Some(first) = phones_in_file.insert(phone.as_str().to_owned(), line) {
                assert!(first < line);
                report.rejected.push((line, "phone".into(), "duplicate_phone"));
                continue;
            }
        }
        report.accepted.insert(line);
    }
    report.check(&file);
}

/// `shared::imports::import_visits` up to its first database step. The store, staff and
/// service cells must be ids (whether they exist is the database's to say); without a store
/// cell, the chain's one store is taken.
fn import_visits(text: &str, country: Option<&str>, zone: chrono_tz::Tz) {
    let Some(file) = parse(text, VISIT_COLUMNS, &["phone", "completed_at", "amount_cents"]) else {
        return;
    };
    let now = Utc
        .with_ymd_and_hms(2026, 11, 25, 0, 0, 0)
        .single()
        .expect("a valid time");
    let mut report = Report {
        rows: file.rows.len(),
        ..Report::default()
    };
    for row in &file.rows {
        let row = match row {
            Ok(row) => row,
            Err(problem) => {
                report.rejected.push((problem.line, String::new(), "malformed_row"));
                continue;
            }
        };
        let line = row.line;
        let before = report.rejected.len();
        let phone = Phone::parse(cell(row, "phone").unwrap_or_default(), country)
            .map_err(|e| report.reject(line, "phone", e))
            .ok();
        let _store = typed_cell(&mut report, row, "store_id", StoreId::parse);
        let completed_at = visit_time(cell(row, "completed_at").unwrap_or_default(), zone, now)
            .map_err(|e| report.reject(line, "completed_at", e))
            .ok();
        let amount = minor_units(cell(row, "amount_cents").unwrap_or_default())
            .map_err(|e| report.reject(line, "amount_cents", e))
            .ok();
        let discount = typed_cell(&mut report, row, "discount_cents", minor_units).unwrap_or(0);
        let _payment = typed_cell(&mut report, row, "payment_method", PaymentMethod::parse);
        let _staff = typed_cell(&mut report, row, "staff_id", StaffId::parse);
        let _service = typed_cell(&mut report, row, "service_id", ServiceId::parse);
        if report.rejected.len() > before {
            continue;
        }
        let (Some(phone), Some(completed_at), Some(amount)) = (phone, completed_at, amount) else {
            panic!("line {line}: a required value missing, yet no rejection");
        };
        if discount > amount {
            report
                .rejected
                .push((line, "discount_cents".into(), "exceeds_subtotal"));
            continue;
        }

        assert_e164(phone.as_str());
        let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");
        assert!(
            completed_at.date_naive() >= earliest && completed_at <= now + chrono::Duration::minutes(5),
            "line {line}: completed at {completed_at}"
        );
        if let Ok(exact) = DateTime::parse_from_rfc3339(cell(row, "completed_at").unwrap_or_default().trim()) {
            assert_eq!(completed_at, exact, "line {line}: an RFC 3339 time moved");
        }
        assert!(
            (0..=amount).contains(&discount),
            "line {line}: discount {discount} of {amount}"
        );
        report.accepted.insert(line);
    }
    report.check(&file);
}

fn assert_e164(phone: &str) {
    let digits = phone.strip_prefix('+').unwrap_or_default();
    assert!(
        !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{phone:?} is not E.164"
    );
}
