//! Reading the CSV files salons upload: usually exported from Excel, which in China saves
//! GB18030 (GBK) unless "CSV UTF-8" is chosen.
//!
//! Two steps: [`decode`] turns the bytes into text (or says why it cannot), [`parse_csv`]
//! checks the header once and splits the rows into values by column name. Problems with the
//! file as a whole are an [`ImportError`]; a problem with one row is a [`RowProblem`], so the
//! other rows can still be imported and the salon told which lines to fix.

use std::collections::BTreeMap;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a file cannot be imported at all, in words for the salon manager who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// `charset` is the character set tried ("UTF-8", "GB18030", or both when undeclared).
    #[error(
        "line {line} of the file is not valid {charset} text; in Excel, choose Save As \
         \"CSV UTF-8 (Comma delimited)\" and upload that file"
    )]
    Undecodable { charset: &'static str, line: u64 },
    #[error("the file's character set \"{0}\" is not supported; upload it as UTF-8 or GB18030 (GBK)")]
    UnknownCharset(String),
    #[error("the file is empty; its first row must name the columns")]
    Empty,
    #[error("the header row lacks the required column{}: {}", plural(.columns), .columns.join(", "))]
    MissingColumns { columns: Vec<String> },
    #[error("the header row has the column \"{column}\", which is not one of: {}", .known.join(", "))]
    UnknownColumn { column: String, known: Vec<String> },
    #[error("the header row has the column \"{column}\" twice")]
    DuplicateColumn { column: String },
    /// An empty header cell before named ones: its values would have no column to go to.
    #[error("column {position} of the header row has no name; name it or delete the column")]
    UnnamedColumn { position: usize },
}

fn plural(items: &[String]) -> &'static str {
    if items.len() == 1 {
        ""
    } else {
        "s"
    }
}

/// Bytes → text. A UTF-8 BOM is stripped. `declared_charset` is the `charset` parameter of the
/// request's Content-Type: utf-8 → strict UTF-8; gb18030 / gbk / gb2312 (any case) → GB18030;
/// anything else → ImportError. Without a declaration: strict UTF-8 if valid, else GB18030
/// (what Excel in China saves) — if GB18030 decoding reports errors, ImportError.
///
/// A UTF-8 BOM outweighs a declared GB charset: no GB text starts with those bytes, while
/// clients mislabel uploads. Short GB18030 text can happen to be valid UTF-8 too (the GBK
/// bytes of the name "谢英" are), so a declared charset is the only sure way for such a file.
pub fn decode(bytes: &[u8], declared_charset: Option<&str>) -> Result<String, ImportError> {
    let declared = declared_charset
        .map(|label| Charset::from_label(label).ok_or_else(|| ImportError::UnknownCharset(label.trim().to_owned())))
        .transpose()?;
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return utf8(rest).map_err(|offset| undecodable("UTF-8", rest, offset));
    }
    match declared {
        Some(Charset::Utf8) => utf8(bytes).map_err(|offset| undecodable("UTF-8", bytes, offset)),
        Some(Charset::Gb18030) => gb18030(bytes).map_err(|offset| undecodable("GB18030", bytes, offset)),
        None => match utf8(bytes) {
            Ok(text) => Ok(text),
            // The charset that read further is the likelier one, and its error the useful one.
            Err(utf8_offset) => {
                gb18030(bytes).map_err(|gb_offset| undecodable("UTF-8 or GB18030", bytes, utf8_offset.max(gb_offset)))
            }
        },
    }
}

enum Charset {
    Utf8,
    Gb18030,
}

impl Charset {
    /// GBK and GB2312 are subsets of GB18030, so its decoder reads them all (as browsers do).
    fn from_label(label: &str) -> Option<Self> {
        match label.trim().trim_matches('"').to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Charset::Utf8),
            "gb18030" | "gbk" | "gb2312" => Some(Charset::Gb18030),
            _ => None,
        }
    }
}

fn undecodable(charset: &'static str, bytes: &[u8], offset: usize) -> ImportError {
    ImportError::Undecodable {
        charset,
        line: 1 + line_breaks(bytes, 0, offset.min(bytes.len())),
    }
}

/// Strict UTF-8, or the offset of the first byte that is not.
fn utf8(bytes: &[u8]) -> Result<String, usize> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(error) => Err(error.valid_up_to()),
    }
}

/// GB18030 without replacement characters, or the offset of the first malformed sequence. A
/// GB18030 BOM (the encoding of U+FEFF) is dropped.
fn gb18030(bytes: &[u8]) -> Result<String, usize> {
    let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
    let capacity = |decoder: &encoding_rs::Decoder, len: usize| {
        decoder
            .max_utf8_buffer_length_without_replacement(len)
            .unwrap_or(len.saturating_mul(3))
    };
    let mut text = String::with_capacity(capacity(&decoder, bytes.len()));
    let mut read = 0;
    loop {
        let (result, consumed) = decoder.decode_to_string_without_replacement(&bytes[read..], &mut text, true);
        read += consumed;
        match result {
            encoding_rs::DecoderResult::InputEmpty => break,
            encoding_rs::DecoderResult::OutputFull => text.reserve(capacity(&decoder, bytes.len() - read)),
            encoding_rs::DecoderResult::Malformed(bad, after) => {
                return Err(read.saturating_sub(usize::from(bad) + usize::from(after)));
            }
        }
    }
    if text.starts_with('\u{FEFF}') {
        text.drain(..'\u{FEFF}'.len_utf8());
    }
    Ok(text)
}

/// Line ends in `bytes[from..to]`: "\n", "\r\n" (counted once) and a lone "\r" (old Mac
/// Excel), the same three the CSV reader ends records with. Never part of a multi-byte
/// character in UTF-8 or GB18030, so counting bytes is exact.
fn line_breaks(bytes: &[u8], from: usize, to: usize) -> u64 {
    let mut count = 0;
    for i in from..to {
        match bytes[i] {
            b'\n' => count += 1,
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => count += 1,
            _ => {}
        }
    }
    count
}

/// One data row: its line number in the file (1-based, the header is line 1; for a quoted
/// field spanning lines, the line where the record starts) and its non-empty values by column
/// name (values trimmed; empty cells are absent).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRow {
    pub line: u64,
    pub values: BTreeMap<String, String>,
}

/// A row that could not be read, with its line so the salon can find it.
#[derive(Debug, Clone, PartialEq)]
pub struct RowProblem {
    pub line: u64,
    pub message: String,
}

/// A file whose header passed: its columns (normalised, in file order) and every non-blank row.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvFile {
    pub columns: Vec<String>,
    pub rows: Vec<Result<CsvRow, RowProblem>>,
}

/// Parse `text`: the first row is the header, its names trimmed and lower-cased; every name
/// must be in `known`, `required` names must be present, no duplicates (`known` and `required`
/// are given lower-case). Blank lines are skipped. A row with more cells than the header is
/// reported as a per-row error, not a file error.
///
/// "Blank" includes rows of empty or whitespace-only cells (Excel writes ",,," for a row that
/// once held something). Empty header cells after the last name are dropped, and so are empty
/// cells past the header's width in a row: Excel exports them for a stray formatted cell, and
/// they carry nothing. A non-empty cell past the header's width is the row's problem.
pub fn parse_csv(text: &str, known: &[&str], required: &[&str]) -> Result<CsvFile, ImportError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut records = Records::new(text);

    let header = match records.read() {
        Some(Ok((_, header))) => header,
        // csv fails only on I/O or invalid UTF-8, which a `&str` cannot have.
        None | Some(Err(_)) => return Err(ImportError::Empty),
    };
    let columns = columns(header, known, required)?;

    let mut rows = Vec::new();
    while let Some(next) = records.read() {
        let (line, record) = match next {
            Ok(next) => next,
            Err(problem) => {
                rows.push(Err(problem));
                break;
            }
        };
        let mut values = BTreeMap::new();
        let mut width = 0;
        for (index, cell) in record.iter().enumerate() {
            let value = cell.trim();
            if value.is_empty() {
                continue;
            }
            width = index + 1;
            if let Some(column) = columns.get(index) {
                values.insert(column.clone(), value.to_owned());
            }
        }
        rows.push(if width > columns.len() {
            Err(RowProblem {
                line,
                message: format!(
                    "this row has values in {width} columns but the header row names only {}",
                    columns.len()
                ),
            })
        } else {
            Ok(CsvRow { line, values })
        });
    }
    Ok(CsvFile { columns, rows })
}

/// The header's names, checked left to right, then for the required ones.
fn columns(header: &csv::StringRecord, known: &[&str], required: &[&str]) -> Result<Vec<String>, ImportError> {
    let mut names: Vec<String> = header.iter().map(|name| name.trim().to_lowercase()).collect();
    while names.last().is_some_and(String::is_empty) {
        names.pop();
    }
    if names.is_empty() {
        return Err(ImportError::Empty);
    }
    for (index, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(ImportError::UnnamedColumn { position: index + 1 });
        }
        if !known.contains(&name.as_str()) {
            return Err(ImportError::UnknownColumn {
                column: name.clone(),
                known: known.iter().map(|&name| name.to_owned()).collect(),
            });
        }
        if names[..index].contains(name) {
            return Err(ImportError::DuplicateColumn { column: name.clone() });
        }
    }
    let missing: Vec<String> = required
        .iter()
        .filter(|&&name| !names.iter().any(|column| column == name))
        .map(|&name| name.to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns { columns: missing });
    }
    Ok(names)
}

/// The non-blank records of a text with their starting lines. The csv crate's own line
/// number for a record is where it stopped after the previous one: before the blank lines it
/// then skipped and before the "\n" of a "\r\n", and it counts "\n" only. So lines are counted
/// here from byte offsets instead, each byte once over the whole file.
struct Records<'a> {
    bytes: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    record: csv::StringRecord,
    counted_to: usize,
    line: u64,
}

impl<'a> Records<'a> {
    fn new(text: &'a str) -> Self {
        Records {
            bytes: text.as_bytes(),
            reader: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes()),
            record: csv::StringRecord::new(),
            counted_to: 0,
            line: 1,
        }
    }

    /// The next record with a non-blank cell and its line, a problem that stops the reading,
    /// or None at the end.
    fn read(&mut self) -> Option<Result<(u64, &csv::StringRecord), RowProblem>> {
        loop {
            let from = usize::try_from(self.reader.position().byte()).unwrap_or(self.bytes.len());
            let result = self.reader.read_record(&mut self.record);
            // Blank lines csv skipped before the record are not part of it.
            let start = self.bytes[from.min(self.bytes.len())..]
                .iter()
                .position(|&b| b != b'\n' && b != b'\r')
                .map_or(self.bytes.len(), |skipped| from + skipped);
            self.line += line_breaks(self.bytes, self.counted_to, start);
            self.counted_to = start;
            match result {
                Ok(false) => return None,
                Err(error) => {
                    return Some(Err(RowProblem {
                        line: self.line,
                        message: format!("the file cannot be read from this line on: {error}"),
                    }))
                }
                Ok(true) if self.record.iter().all(|cell| cell.trim().is_empty()) => continue,
                Ok(true) => return Some(Ok((self.line, &self.record))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const KNOWN: &[&str] = &["name", "phone", "birthday", "notes"];
    const REQUIRED: &[&str] = &["name", "phone"];

    fn gb(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text);
        assert!(!unmappable);
        bytes.into_owned()
    }

    fn parse(text: &str) -> CsvFile {
        parse_csv(text, KNOWN, REQUIRED).unwrap()
    }

    fn header_error(text: &str) -> ImportError {
        parse_csv(text, KNOWN, REQUIRED).unwrap_err()
    }

    fn row(line: u64, values: &[(&str, &str)]) -> Result<CsvRow, RowProblem> {
        Ok(CsvRow {
            line,
            values: values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        })
    }

    fn lines(file: &CsvFile) -> Vec<u64> {
        file.rows
            .iter()
            .map(|row| match row {
                Ok(row) => row.line,
                Err(problem) => problem.line,
            })
            .collect()
    }

    const CHINESE: &str = "姓名,电话\n张三,13712345678\n";

    // --- decode ---

    #[test]
    fn utf8_with_and_without_bom() {
        let text = "name,phone\n张三,13712345678\n";
        assert_eq!(decode(text.as_bytes(), None).unwrap(), text);
        let with_bom = [UTF8_BOM, text.as_bytes()].concat();
        assert_eq!(decode(&with_bom, None).unwrap(), text);
        assert_eq!(decode(&with_bom, Some("UTF-8")).unwrap(), text);
        assert_eq!(decode(text.as_bytes(), Some("utf-8")).unwrap(), text);
        assert_eq!(decode(text.as_bytes(), Some("\"utf8\"")).unwrap(), text);
    }

    #[test]
    fn gb18030_is_detected_without_a_declaration() {
        let bytes = gb(CHINESE);
        assert!(std::str::from_utf8(&bytes).is_err());
        assert_eq!(decode(&bytes, None).unwrap(), CHINESE);
    }

    #[test]
    fn gb_charsets_are_declared_in_any_case() {
        let bytes = gb(CHINESE);
        for label in ["GBK", "gbk", "gb2312", "GB2312", "GB18030", " gb18030 "] {
            assert_eq!(decode(&bytes, Some(label)).unwrap(), CHINESE, "{label}");
        }
        // Characters outside GBK, which only GB18030's four-byte sequences carry.
        let beyond_gbk = "name\n𠀀€\n";
        assert_eq!(decode(&gb(beyond_gbk), Some("gbk")).unwrap(), beyond_gbk);
    }

    #[test]
    fn a_gb18030_bom_is_dropped() {
        let bytes = gb("\u{FEFF}name,phone\n");
        assert_eq!(&bytes[..4], b"\x84\x31\x95\x33");
        assert_eq!(decode(&bytes, Some("gb18030")).unwrap(), "name,phone\n");
        assert_eq!(decode(&bytes, None).unwrap(), "name,phone\n");
    }

    #[test]
    fn a_utf8_bom_outweighs_a_declared_gb_charset() {
        let bytes = [UTF8_BOM, "name\n张三\n".as_bytes()].concat();
        assert_eq!(decode(&bytes, Some("gbk")).unwrap(), "name\n张三\n");
    }

    #[test]
    fn ascii_is_the_same_in_both() {
        let text = "name,phone\nZhang San,13712345678\n";
        for label in [None, Some("utf-8"), Some("gbk")] {
            assert_eq!(decode(text.as_bytes(), label).unwrap(), text);
        }
    }

    #[test]
    fn short_gbk_text_can_pass_for_utf8_unless_declared() {
        // D0 BB D3 A2 is the name "谢英" in GBK and "лӢ" in UTF-8: only the declaration can tell.
        let bytes = gb("name\n谢英\n");
        assert_eq!(&bytes[5..9], b"\xD0\xBB\xD3\xA2");
        assert_eq!(decode(&bytes, None).unwrap(), "name\n\u{43B}\u{4E2}\n");
        assert_eq!(decode(&bytes, Some("gbk")).unwrap(), "name\n谢英\n");
        // One more character whose bytes are not UTF-8 and the file is read right.
        assert_eq!(decode(&gb("name\n谢英\n张三\n"), None).unwrap(), "name\n谢英\n张三\n");
    }

    #[test]
    fn invalid_utf8_declared_utf8_is_an_error_with_its_line() {
        let bytes = [b"name,phone\nok,1\n".as_slice(), &gb("张三,2\n")].concat();
        assert_eq!(
            decode(&bytes, Some("utf-8")),
            Err(ImportError::Undecodable {
                charset: "UTF-8",
                line: 3
            })
        );
        let message = decode(&bytes, Some("utf-8")).unwrap_err().to_string();
        assert!(message.contains("line 3") && message.contains("CSV UTF-8"), "{message}");
        // With a BOM too.
        let with_bom = [UTF8_BOM, b"name\r\n\xff\r\n"].concat();
        assert_eq!(
            decode(&with_bom, None),
            Err(ImportError::Undecodable {
                charset: "UTF-8",
                line: 2
            })
        );
    }

    #[test]
    fn invalid_gb18030_declared_gbk_is_an_error() {
        // 0xFF never starts a GB18030 character; 0x81 0x20 is a lead byte cut short.
        assert_eq!(
            decode(b"name\n\xff\n", Some("gbk")),
            Err(ImportError::Undecodable {
                charset: "GB18030",
                line: 2
            })
        );
        assert_eq!(
            decode(b"name\nok\n\x81 x\n", Some("GB18030")),
            Err(ImportError::Undecodable {
                charset: "GB18030",
                line: 3
            })
        );
    }

    #[test]
    fn undeclared_bytes_that_are_neither_are_an_error_at_the_likelier_line() {
        // Mostly GB18030, broken on line 3: UTF-8 fails on line 2, GB18030 on line 3.
        let bytes = [gb("name\n张三\n").as_slice(), b"\xff\n"].concat();
        assert_eq!(
            decode(&bytes, None),
            Err(ImportError::Undecodable {
                charset: "UTF-8 or GB18030",
                line: 3
            })
        );
        // Mostly UTF-8, broken on line 4: the three UTF-8 bytes of "张" leave GB18030 a lead
        // byte before the line end, so it fails on line 2.
        let bytes = [b"name\n".as_slice(), "张\nok\n".as_bytes(), b"\xff\n"].concat();
        assert_eq!(gb18030(&bytes), Err(7), "the lead byte A0 after 张's first two bytes");
        assert_eq!(
            decode(&bytes, None),
            Err(ImportError::Undecodable {
                charset: "UTF-8 or GB18030",
                line: 4
            })
        );
    }

    #[test]
    fn unknown_charsets_are_refused() {
        for label in ["latin1", "utf-16", "big5", ""] {
            assert_eq!(
                decode(b"name\n", Some(label)),
                Err(ImportError::UnknownCharset(label.into())),
                "{label}"
            );
        }
        let message = decode(b"name\n", Some("Shift_JIS")).unwrap_err().to_string();
        assert!(
            message.contains("\"Shift_JIS\"") && message.contains("UTF-8"),
            "{message}"
        );
    }

    // --- parse_csv ---

    #[test]
    fn header_names_are_trimmed_and_lower_cased() {
        let file = parse(" Name , PHONE,birthday\n");
        assert_eq!(file.columns, ["name", "phone", "birthday"]);
        assert!(file.rows.is_empty());
    }

    #[test]
    fn rows_give_trimmed_values_and_leave_empty_cells_out() {
        let file = parse("name,phone,birthday,notes\n  张三 , 13712345678 ,,\u{3000}\n李四,\"  139 \",1990-05-01,\"a, b\"\"c\"\"\"\n");
        assert_eq!(
            file.rows,
            [
                row(2, &[("name", "张三"), ("phone", "13712345678")]),
                row(
                    3,
                    &[
                        ("name", "李四"),
                        ("phone", "139"),
                        ("birthday", "1990-05-01"),
                        ("notes", "a, b\"c\"")
                    ]
                ),
            ]
        );
    }

    #[test]
    fn short_rows_are_fine() {
        let file = parse("name,phone,notes\n张三\n");
        assert_eq!(file.rows, [row(2, &[("name", "张三")])]);
    }

    #[test]
    fn a_gb18030_upload_reads_end_to_end() {
        let text = decode(&gb(CHINESE), Some("GBK")).unwrap();
        let file = parse_csv(&text, &["姓名", "电话"], &["姓名"]).unwrap();
        assert_eq!(file.rows, [row(2, &[("姓名", "张三"), ("电话", "13712345678")])]);
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let error = header_error("name,birthday\n张三,1990-05-01\n");
        assert_eq!(
            error,
            ImportError::MissingColumns {
                columns: vec!["phone".into()]
            }
        );
        assert_eq!(error.to_string(), "the header row lacks the required column: phone");
        let error = header_error("birthday\n");
        assert_eq!(
            error.to_string(),
            "the header row lacks the required columns: name, phone"
        );
    }

    #[test]
    fn an_unknown_column_is_named_with_the_known_ones() {
        let error = header_error("name,phone,Wechat\n");
        assert_eq!(
            error,
            ImportError::UnknownColumn {
                column: "wechat".into(),
                known: KNOWN.iter().map(|s| s.to_string()).collect()
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("\"wechat\"") && message.contains("name, phone, birthday, notes"),
            "{message}"
        );
        // A Chinese header given to the English importer.
        assert!(matches!(header_error("姓名,电话\n"), ImportError::UnknownColumn { column, .. } if column == "姓名"));
    }

    #[test]
    fn a_duplicate_column_is_named_whatever_its_case() {
        let error = header_error("name,phone,NAME \n");
        assert_eq!(error, ImportError::DuplicateColumn { column: "name".into() });
        assert!(error.to_string().contains("\"name\""));
    }

    #[test]
    fn an_empty_file_is_an_error() {
        for text in ["", "\n\n", "\r\n", "   \n\t\n", ",,,\n", "\u{FEFF}", "\u{FEFF}\n"] {
            assert_eq!(header_error(text), ImportError::Empty, "{text:?}");
        }
    }

    #[test]
    fn an_unnamed_column_between_named_ones_is_an_error() {
        assert_eq!(
            header_error("name,,phone\n"),
            ImportError::UnnamedColumn { position: 2 }
        );
    }

    #[test]
    fn trailing_empty_header_cells_and_row_cells_are_dropped() {
        let file = parse("name,phone,,\n张三,137,,\n");
        assert_eq!(file.columns, ["name", "phone"]);
        assert_eq!(file.rows, [row(2, &[("name", "张三"), ("phone", "137")])]);
    }

    #[test]
    fn a_row_with_too_many_cells_is_a_row_problem() {
        let file = parse("name,phone\n张三,137\n李四,138,extra\n王五,139\n赵六,140,,  \n");
        assert_eq!(
            file.rows,
            [
                row(2, &[("name", "张三"), ("phone", "137")]),
                Err(RowProblem {
                    line: 3,
                    message: "this row has values in 3 columns but the header row names only 2".into()
                }),
                row(4, &[("name", "王五"), ("phone", "139")]),
                row(5, &[("name", "赵六"), ("phone", "140")]),
            ]
        );
    }

    #[test]
    fn line_numbers_count_blank_lines_and_start_multi_line_records() {
        let text = "name,phone,notes\n\n张三,137,\"allergic to\npollen\n\nand latex\"\n\n\n李四,138\n   \n,,\n王五,139,\"x\"\n";
        let file = parse(text);
        assert_eq!(lines(&file), [3, 9, 12]);
        assert_eq!(
            file.rows[0].as_ref().unwrap().values["notes"],
            "allergic to\npollen\n\nand latex"
        );
    }

    #[test]
    fn line_numbers_with_blank_lines_before_the_header() {
        let file = parse("\n\nname,phone\n张三,137\n");
        assert_eq!(lines(&file), [4]);
    }

    #[test]
    fn crlf_and_cr_line_endings() {
        let file = parse("name,phone\r\n张三,137\r\n\r\n李四,\"138\r\n\"\r\n王五,139");
        assert_eq!(
            file.rows,
            [
                row(2, &[("name", "张三"), ("phone", "137")]),
                row(4, &[("name", "李四"), ("phone", "138")]),
                row(6, &[("name", "王五"), ("phone", "139")]),
            ]
        );
        let file = parse("name,phone\r张三,137\r\r李四,138\r");
        assert_eq!(lines(&file), [2, 4]);
        assert_eq!(file.rows[1], row(4, &[("name", "李四"), ("phone", "138")]));
    }

    #[test]
    fn a_bom_left_in_the_text_is_ignored() {
        let file = parse("\u{FEFF}name,phone\n张三,137\n");
        assert_eq!(file.columns, ["name", "phone"]);
        assert_eq!(lines(&file), [2]);
    }

    #[test]
    fn a_hundred_thousand_rows() {
        let mut text = String::from("name,phone,birthday\n");
        for i in 0..100_000 {
            text.push_str(&format!("客户{i},1370000{i:04},\n"));
            if i % 1000 == 0 {
                text.push('\n');
            }
        }
        let file = parse(&text);
        assert_eq!(file.rows.len(), 100_000);
        let last = file.rows.last().unwrap().as_ref().unwrap();
        assert_eq!(last.line, 1 + 100_000 + 100);
        assert_eq!(last.values["name"], "客户99999");
    }
}
