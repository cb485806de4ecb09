//! How long an SMS is, as the carriers count it: GSM-7 when every character is in the GSM 03.38
//! alphabet (the extension table's characters take two septets), else UCS-2 in UTF-16 code units
//! (an emoji is a surrogate pair: two). One message holds 160 septets or 70 units; a longer one is
//! sent in parts of 153 or 67, and a two-unit character never straddles two parts.

use serde::Serialize;

/// The length of an SMS text and how many messages (segments) the carrier bills for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SmsLength {
    /// `gsm7` or `ucs2`.
    #[schema(value_type = String, example = "ucs2")]
    pub encoding: &'static str,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub characters: usize,
    /// Messages the text is sent as (at least one).
    pub segments: usize,
}

const GSM7_SINGLE: usize = 160;
const GSM7_PART: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

/// The length of `text` as an SMS.
pub fn sms_length(text: &str) -> SmsLength {
    let septets: Option<Vec<usize>> = text.chars().map(gsm7_septets).collect();
    match septets {
        Some(units) => SmsLength {
            encoding: "gsm7",
            characters: units.iter().sum(),
            segments: segments(&units, GSM7_SINGLE, GSM7_PART),
        },
        None => {
            let units: Vec<usize> = text.chars().map(char::len_utf16).collect();
            SmsLength {
                encoding: "ucs2",
                characters: units.iter().sum(),
                segments: segments(&units, UCS2_SINGLE, UCS2_PART),
            }
        }
    }
}

/// Parts needed for characters of these widths: one when they fit in a single message, else
/// packed into parts without splitting a character.
fn segments(widths: &[usize], single: usize, part: usize) -> usize {
    if widths.iter().sum::<usize>() <= single {
        return 1;
    }
    let mut parts = 1;
    let mut used = 0;
    for &width in widths {
        if used + width > part {
            parts += 1;
            used = 0;
        }
        used += width;
    }
    parts
}

/// Septets for `c` in GSM-7 (basic set 1, extension table 2), `None` outside the alphabet.
fn gsm7_septets(c: char) -> Option<usize> {
    if c.is_ascii_alphanumeric() {
        return Some(1);
    }
    match c {
        '@' | '£' | '$' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | '\n' | 'Ø' | 'ø' | '\r' | 'Å' | 'å' | 'Δ' | '_'
        | 'Φ' | 'Γ' | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' | 'Æ' | 'æ' | 'ß' | 'É' | ' ' | '!' | '"' | '#' | '¤'
        | '%' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | '-' | '.' | '/' | ':' | ';' | '<' | '=' | '>' | '?'
        | '¡' | 'Ä' | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => Some(1),
        '\u{000C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' => Some(2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(text: &str) -> (&'static str, usize, usize) {
        let l = sms_length(text);
        (l.encoding, l.characters, l.segments)
    }

    #[test]
    fn ascii_fits_160_then_parts_of_153() {
        assert_eq!(length(&"a".repeat(160)), ("gsm7", 160, 1));
        assert_eq!(length(&"a".repeat(161)), ("gsm7", 161, 2));
        assert_eq!(length(&"a".repeat(306)), ("gsm7", 306, 2));
        assert_eq!(length(&"a".repeat(307)), ("gsm7", 307, 3));
        assert_eq!(length(""), ("gsm7", 0, 1));
    }

    #[test]
    fn the_extension_table_counts_twice() {
        assert_eq!(length("€"), ("gsm7", 2, 1));
        assert_eq!(length(&format!("{}€", "a".repeat(158))), ("gsm7", 160, 1));
        assert_eq!(length(&format!("{}€", "a".repeat(159))), ("gsm7", 161, 2));
        // 306 septets would fit two parts of 153, but the escape pair is not split: € starts the
        // second part, and the last `a` needs a third.
        assert_eq!(
            length(&format!("{}€{}", "a".repeat(152), "a".repeat(152))),
            ("gsm7", 306, 3)
        );
        assert_eq!(length("Ünïcode"), ("ucs2", 7, 1), "ï is not in GSM-7");
    }

    #[test]
    fn chinese_fits_70_then_parts_of_67() {
        assert_eq!(length(&"好".repeat(70)), ("ucs2", 70, 1));
        assert_eq!(length(&"好".repeat(71)), ("ucs2", 71, 2));
        assert_eq!(length(&"好".repeat(134)), ("ucs2", 134, 2));
        assert_eq!(length(&"好".repeat(135)), ("ucs2", 135, 3));
        assert_eq!(
            length("【悦颜】hello"),
            ("ucs2", 9, 1),
            "one Chinese character makes it all UCS-2"
        );
    }

    #[test]
    fn emoji_are_surrogate_pairs() {
        assert_eq!(length("😀"), ("ucs2", 2, 1));
        assert_eq!(length(&"😀".repeat(35)), ("ucs2", 70, 1));
        // 72 units: 33 pairs (66 units) per part, the pair never split.
        assert_eq!(length(&"😀".repeat(36)), ("ucs2", 72, 2));
        assert_eq!(length(&format!("{}😀", "好".repeat(68))), ("ucs2", 70, 1));
        assert_eq!(length(&format!("{}😀", "好".repeat(69))), ("ucs2", 71, 2));
        // 134 units would fit two parts of 67, but the pair is not split.
        assert_eq!(length(&format!("{0}😀{0}", "好".repeat(66))), ("ucs2", 134, 3));
    }
}
