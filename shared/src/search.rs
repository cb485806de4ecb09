//! The front-desk client lookup's search keys.
//!
//! A front desk finds a client by what it remembers: part of the name (张三丰 by 三丰, "Alice
//! Wong" by "wong"), the name's pinyin ("zhang", "sanfeng") or its initials ("zsf"), the start
//! of the phone number ("1371") or its last digits ("5678"). The database keeps, per client,
//! rows (kind, term) in an indexed table and answers a query with one range scan per kind,
//! `term >= prefix AND term < prefix_upper_bound(prefix)`, so every kind of match is a prefix
//! match of some stored term: substrings are prefixes of suffixes, and a phone's last digits
//! are a prefix of its reversed digits.
//!
//! The scans compare strings by code point, as Rust does: UTF-8 byte order, SQLite's default
//! BINARY collation, `COLLATE "C"` in PostgreSQL.

use crate::domain::Phone;
use pinyin::ToPinyin;
use std::collections::BTreeSet;

/// Suffixes start within a name's first 24 characters (or syllables): a long name costs
/// at most 24 rows per kind, and nobody searches from the middle of a long name.
const MAX_SUFFIX_STARTS: usize = 24;

/// Queries are cut to 64 characters. Stored terms are cut to the same length, which loses no
/// match: a query of at most 64 characters is a prefix of a term exactly when it is a prefix of
/// the term's first 64 characters.
const MAX_TERM_CHARS: usize = 64;

/// A digits-only query this short may be a number's last digits; longer, it is its start.
const MAX_SUFFIX_DIGITS: usize = 6;

/// A digits-only query this long may be a whole number, worth parsing for an exact match.
const MIN_FULL_NUMBER_DIGITS: usize = 7;

/// What a stored term was made from, and so which part of a query may match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TermKind {
    /// A suffix of the normalised name: substring search in any script.
    Name,
    /// The name's pinyin from a syllable on: "zhangsanfeng", "sanfeng", "feng".
    Pinyin,
    /// The first letters of the syllables (or of the words of a Latin name), from one on.
    Initials,
    /// The phone's national digits: a query is their start.
    PhoneNational,
    /// The phone's national digits reversed: a reversed query is their end.
    PhoneReversed,
}

impl TermKind {
    pub const ALL: [TermKind; 5] = [
        TermKind::Name,
        TermKind::Pinyin,
        TermKind::Initials,
        TermKind::PhoneNational,
        TermKind::PhoneReversed,
    ];

    /// One letter: the kind is part of every row of the index.
    pub fn as_str(self) -> &'static str {
        match self {
            TermKind::Name => "n",
            TermKind::Pinyin => "p",
            TermKind::Initials => "i",
            TermKind::PhoneNational => "t",
            TermKind::PhoneReversed => "r",
        }
    }

    pub fn from_db(text: &str) -> Option<Self> {
        TermKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One row of the search index for a client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Term {
    pub kind: TermKind,
    pub term: String,
}

/// Every term to store for a client; deduplicated, sorted by kind then term.
///
/// Names are lowercased and keep only letters and digits. Pinyin and initials are made only
/// for names with a Chinese character, except that a Latin name of several words gets its
/// initials ("Alice Wong" → "aw"): name suffixes already cover every other Latin search.
pub fn client_terms(name: &str, phone: Option<&Phone>) -> Vec<Term> {
    let mut terms = BTreeSet::new();
    let mut add = |kind: TermKind, text: &str| {
        if !text.is_empty() {
            terms.insert(Term {
                kind,
                term: text.chars().take(MAX_TERM_CHARS).collect(),
            });
        }
    };

    let normalised: Vec<char> = normalise(name).chars().collect();
    for start in 0..normalised.len().min(MAX_SUFFIX_STARTS) {
        add(TermKind::Name, &normalised[start..].iter().collect::<String>());
    }

    let (syllables, has_cjk) = syllables(name);
    // A surname whose reading differs from the character's dictionary reading (曾 is zēng as a
    // surname, céng in 曾经) is findable by both.
    let surname = name.trim().chars().next().and_then(surname_reading);
    let mut readings = vec![syllables.clone()];
    if let (Some(reading), true) = (surname, has_cjk) {
        let mut alternative = syllables;
        if let Some(first) = alternative.first_mut() {
            *first = reading.to_owned();
        }
        readings.push(alternative);
    }
    for syllables in &readings {
        if has_cjk {
            for start in 0..syllables.len().min(MAX_SUFFIX_STARTS) {
                add(TermKind::Pinyin, &syllables[start..].concat());
            }
        }
        if has_cjk || syllables.len() > 1 {
            let initials: Vec<char> = syllables
                .iter()
                .filter_map(|syllable| syllable.chars().next())
                .collect();
            for start in 0..initials.len().min(MAX_SUFFIX_STARTS) {
                add(TermKind::Initials, &initials[start..].iter().collect::<String>());
            }
        }
    }

    if let Some(phone) = phone {
        let digits = phone.national_digits();
        add(TermKind::PhoneNational, &digits);
        add(TermKind::PhoneReversed, &digits.chars().rev().collect::<String>());
    }
    terms.into_iter().collect()
}

/// A parsed lookup: the prefix ranges to scan, and the phone to rank first on exact match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupQuery {
    /// One range scan each; a client matches when any of its terms falls in any range.
    pub prefixes: Vec<(TermKind, String)>,
    /// The national digits of a query that is a whole valid number.
    pub exact_phone_digits: Option<String>,
}

/// Reads what the front desk typed. None for an empty query, or one with neither a letter nor
/// a digit. `default_country` as for [`Phone::parse`].
///
/// Only digits with the separators " -+().", and at least 3 digits, is a phone query: the
/// start of the national number, and for up to 6 digits its end as well. A whole number (or
/// one written with + or 00) is parsed, so "+86 137 1234 5678" and "137-1234-5678" look for
/// the same digits and rank that client first; a partial "+86 1371" looks for "1371".
/// Anything else is a name query: a name substring, and when it is all ASCII letters, also
/// the start of the pinyin from a syllable on and of the initials.
pub fn parse_query(q: &str, default_country: Option<&str>) -> Option<LookupQuery> {
    let folded: String = q.chars().map(fold_width).collect();
    let q: String = folded.trim().chars().take(MAX_TERM_CHARS).collect();
    if q.is_empty() {
        return None;
    }
    phone_query(&q, default_country).or_else(|| name_query(&q))
}

fn phone_query(q: &str, default_country: Option<&str>) -> Option<LookupQuery> {
    let phone_like = q
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace() || matches!(c, '-' | '+' | '(' | ')' | '.'));
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    if !phone_like || digits.len() < 3 {
        return None;
    }
    let plus = q.starts_with('+');
    let double_zero = digits.starts_with("00");
    if plus || double_zero || digits.len() >= MIN_FULL_NUMBER_DIGITS {
        if let Ok(phone) = Phone::parse(q, default_country) {
            let national = phone.national_digits();
            return Some(LookupQuery {
                prefixes: phone_prefixes(&national, false),
                exact_phone_digits: Some(national),
            });
        }
    }
    // The start of an international number: look for what follows the country code. A short
    // "00…" is more likely a number's last digits than an international prefix.
    let international = if plus {
        Some(&digits[..])
    } else if double_zero && digits.len() > MAX_SUFFIX_DIGITS {
        Some(&digits[2..])
    } else {
        None
    };
    let prefixes = match international {
        Some(international) => {
            let national = Phone::split_country_code(international)
                .map(|(_, rest)| rest)
                .filter(|rest| !rest.is_empty())
                .unwrap_or(&digits);
            phone_prefixes(national, false)
        }
        None => phone_prefixes(&digits, true),
    };
    Some(LookupQuery {
        prefixes,
        exact_phone_digits: None,
    })
}

fn phone_prefixes(digits: &str, may_be_suffix: bool) -> Vec<(TermKind, String)> {
    let mut prefixes = vec![(TermKind::PhoneNational, digits.to_owned())];
    if may_be_suffix && digits.len() <= MAX_SUFFIX_DIGITS {
        prefixes.push((TermKind::PhoneReversed, digits.chars().rev().collect()));
    }
    prefixes
}

fn name_query(q: &str) -> Option<LookupQuery> {
    let text = normalise(q);
    if text.is_empty() {
        return None;
    }
    let mut prefixes = vec![(TermKind::Name, text.clone())];
    if text.chars().all(|c| c.is_ascii_lowercase()) {
        prefixes.push((TermKind::Pinyin, text.clone()));
        prefixes.push((TermKind::Initials, text));
    }
    Some(LookupQuery {
        prefixes,
        exact_phone_digits: None,
    })
}

/// The smallest string greater than every string that starts with `prefix`, for the scan's
/// `term < bound`: the prefix with its last character replaced by the next one ("137" →
/// "138", "张" → "弡", U+5F20 → U+5F21).
///
/// Works on chars, as code points: the successor of U+D7FF is U+E000 (surrogates are not
/// chars), and a trailing `char::MAX` (U+10FFFF) has no successor, so it is dropped and the
/// character before it is incremented instead ("a\u{10FFFF}" → "b"). When no character can be
/// incremented (an empty prefix, or only `char::MAX`), no string bounds every string with
/// that prefix: the result is empty, and the caller must scan with `term >= prefix` alone.
/// [`parse_query`] never yields such a prefix: its prefixes are non-empty letters and digits.
pub fn prefix_upper_bound(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = char::from_u32(u32::from(last) + 1).or((last == '\u{D7FF}').then_some('\u{E000}'));
        if let Some(next) = next {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    String::new()
}

/// Lowercase letters and digits only: whitespace, punctuation and symbols ("·" in 阿不都·热合曼,
/// the hyphen in Mary-Jane) do not decide whether a name matches.
fn normalise(text: &str) -> String {
    text.chars()
        .map(fold_width)
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The surname reading of characters whose first dictionary reading is another one.
fn surname_reading(c: char) -> Option<&'static str> {
    Some(match c {
        '曾' => "zeng",
        '单' => "shan",
        '解' => "xie",
        '仇' => "qiu",
        '区' => "ou",
        '朴' => "piao",
        '查' => "zha",
        '翟' => "zhai",
        '缪' => "miao",
        '乐' => "yue",
        '覃' => "qin",
        '盖' => "ge",
        '召' => "shao",
        '员' => "yun",
        '秘' => "bi",
        '尉' => "yu",
        '隗' => "wei",
        _ => return None,
    })
}

/// The name as syllables, and whether it has a Chinese character: each Chinese character is
/// its toneless pinyin (the first reading of a polyphone; "ü" written "v", as pinyin input
/// methods type it), and each run of other letters and digits is one syllable, lowercased.
fn syllables(name: &str) -> (Vec<String>, bool) {
    let mut syllables = Vec::new();
    let mut has_cjk = false;
    let mut word = String::new();
    for c in name.chars().map(fold_width) {
        if let Some(reading) = c.to_pinyin() {
            has_cjk = true;
            syllables.extend((!word.is_empty()).then(|| std::mem::take(&mut word)));
            syllables.push(reading.plain().replace('ü', "v"));
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase().filter(|c| c.is_alphanumeric()));
        } else if !word.is_empty() {
            syllables.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        syllables.push(word);
    }
    (syllables, has_cjk)
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
    use super::*;
    use TermKind::{Initials, Name, PhoneNational, PhoneReversed, Pinyin};

    fn phone(e164: &str) -> Phone {
        Phone::from_db(e164.to_owned())
    }

    fn has_term_starting(terms: &[Term], kind: TermKind, prefix: &str) -> bool {
        terms
            .iter()
            .any(|term| term.kind == kind && term.term.starts_with(prefix))
    }

    /// The kinds through which the lookup finds the client, answered as the database does:
    /// `kind = k AND term >= prefix AND term < prefix_upper_bound(prefix)` for each prefix.
    fn found_by(name: &str, phone: Option<&Phone>, query: &str) -> BTreeSet<TermKind> {
        let terms = client_terms(name, phone);
        let Some(lookup) = parse_query(query, Some("CN")) else {
            return BTreeSet::new();
        };
        lookup
            .prefixes
            .iter()
            .filter(|(kind, prefix)| {
                let bound = prefix_upper_bound(prefix);
                terms
                    .iter()
                    .any(|term| term.kind == *kind && term.term >= *prefix && term.term < bound)
            })
            .map(|(kind, _)| *kind)
            .collect()
    }

    fn prefixes(pairs: &[(TermKind, &str)]) -> Vec<(TermKind, String)> {
        pairs.iter().map(|(kind, text)| (*kind, (*text).to_owned())).collect()
    }

    #[test]
    fn kinds_round_trip_through_the_database() {
        for kind in TermKind::ALL {
            assert_eq!(TermKind::from_db(kind.as_str()), Some(kind));
        }
        let letters: BTreeSet<_> = TermKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(letters.len(), TermKind::ALL.len());
        assert_eq!(TermKind::from_db("x"), None);
        assert_eq!(TermKind::from_db(""), None);
    }

    #[test]
    fn terms_of_a_chinese_name_and_a_phone() {
        let terms = client_terms("张三丰", Some(&phone("+8613712345678")));
        let expected: Vec<Term> = [
            (Name, "三丰"),
            (Name, "丰"),
            (Name, "张三丰"),
            (Pinyin, "feng"),
            (Pinyin, "sanfeng"),
            (Pinyin, "zhangsanfeng"),
            (Initials, "f"),
            (Initials, "sf"),
            (Initials, "zsf"),
            (PhoneNational, "13712345678"),
            (PhoneReversed, "87654321731"),
        ]
        .into_iter()
        .map(|(kind, term)| Term {
            kind,
            term: term.to_owned(),
        })
        .collect();
        assert_eq!(terms, expected);
    }

    #[test]
    fn stored_terms_answer_the_front_desk() {
        for (query, kind) in [
            ("张", Name),
            ("三丰", Name),
            ("丰", Name),
            ("张三丰", Name),
            ("zhang", Pinyin),
            ("zhangsan", Pinyin),
            ("sanfeng", Pinyin),
            ("feng", Pinyin),
            ("zsf", Initials),
            ("zs", Initials),
            ("sf", Initials),
        ] {
            assert!(has_term_starting(&client_terms("张三丰", None), kind, query), "{query}");
        }
        let latin = client_terms("Alice Wong", None);
        assert!(has_term_starting(&latin, Name, "wong"));
        assert!(has_term_starting(&latin, Name, "ice"));
        let with_phone = client_terms("张三丰", Some(&phone("+8613712345678")));
        assert!(has_term_starting(&with_phone, PhoneNational, "137"));
        assert!(has_term_starting(&with_phone, PhoneNational, "1371234"));
        assert!(has_term_starting(&with_phone, PhoneReversed, "8765"));
        assert!(has_term_starting(&with_phone, PhoneReversed, "87654"));
    }

    #[test]
    fn lookups_find_the_client_through_the_right_kind() {
        let mobile = phone("+8613712345678");
        for (name, phone, query, kind) in [
            ("张三丰", None, "张", Name),
            ("张三丰", None, "三丰", Name),
            ("张三丰", None, "丰", Name),
            ("张三丰", None, " 张三丰 ", Name),
            ("张三丰", None, "zhang", Pinyin),
            ("张三丰", None, "zhangsan", Pinyin),
            ("张三丰", None, "Zhang San", Pinyin),
            ("张三丰", None, "sanfeng", Pinyin),
            ("张三丰", None, "feng", Pinyin),
            ("张三丰", None, "zsf", Initials),
            ("张三丰", None, "zs", Initials),
            ("张三丰", None, "sf", Initials),
            ("张三丰", None, "ＺＳＦ", Initials),
            ("吕芳", None, "lv", Pinyin),
            ("吕芳", None, "lvfang", Pinyin),
            ("张Amy", None, "amy", Name),
            ("张Amy", None, "zhangamy", Pinyin),
            ("张Amy", None, "za", Initials),
            ("Alice Wong", None, "wong", Name),
            ("Alice Wong", None, "ice", Name),
            ("Alice Wong", None, "ALICE", Name),
            ("Alice Wong", None, "alice wong", Name),
            ("Alice Wong", None, "aw", Initials),
            ("Mary-Jane O'Neil", None, "jane o", Name),
            ("Mary-Jane O'Neil", None, "mjo", Initials),
            ("阿不都·热合曼", None, "都热", Name),
            ("张三丰", Some(&mobile), "137", PhoneNational),
            ("张三丰", Some(&mobile), "1371234", PhoneNational),
            ("张三丰", Some(&mobile), "137-1234", PhoneNational),
            ("张三丰", Some(&mobile), "+86 1371", PhoneNational),
            ("张三丰", Some(&mobile), "+86 137 1234 5678", PhoneNational),
            ("张三丰", Some(&mobile), "13712345678", PhoneNational),
            ("张三丰", Some(&mobile), "5678", PhoneReversed),
            ("张三丰", Some(&mobile), "45678", PhoneReversed),
            ("张三丰", Some(&mobile), "345678", PhoneReversed),
        ] {
            let found = found_by(name, phone, query);
            assert!(found.contains(&kind), "{name} by {query:?}: found by {found:?}");
        }
    }

    #[test]
    fn lookups_that_must_not_find_the_client() {
        let mobile = phone("+8613712345678");
        for (name, phone, query) in [
            ("张三丰", None, "hangsan"),
            ("张三丰", None, "anfeng"),
            ("张三丰", None, "zhangsanfengx"),
            ("张三丰", None, "sz"),
            ("张三丰", None, "李"),
            ("Alice Wong", None, "wa"),
            ("Alice Wong", None, "wongalice"),
            ("张三丰", Some(&mobile), "1234"),
            ("张三丰", Some(&mobile), "8888"),
            // Seven digits or more is the start of a number, not its end.
            ("张三丰", Some(&mobile), "2345678"),
        ] {
            let found = found_by(name, phone, query);
            assert!(found.is_empty(), "{name} found by {query:?} through {found:?}");
        }
    }

    #[test]
    fn polyphonic_surnames_are_found_by_both_readings() {
        // The pinyin crate gives the first dictionary reading (曾 céng, as in 曾经); the front
        // desk types the surname's (zēng). Both find the client.
        for (name, query) in [
            ("曾丽", "zengli"),
            ("曾丽", "cengli"),
            ("曾丽", "zl"),
            ("曾丽", "cl"),
            ("单雪", "shanxue"),
            ("单雪", "sx"),
            ("解小东", "xiexiaodong"),
            ("解小东", "xxd"),
            ("仇敏", "qiumin"),
        ] {
            assert!(!found_by(name, None, query).is_empty(), "{name} not found by {query}");
        }
        // Only the surname: the same character inside a given name keeps its usual reading.
        assert!(found_by("王曾", None, "wangzeng").is_empty());
        assert!(!found_by("王曾", None, "wangceng").is_empty());
    }

    #[test]
    fn latin_names_get_initials_only_for_several_words() {
        let terms = client_terms("Alice Wong", None);
        assert!(!terms.iter().any(|term| term.kind == Pinyin));
        let initials: Vec<&str> = terms
            .iter()
            .filter(|term| term.kind == Initials)
            .map(|term| term.term.as_str())
            .collect();
        assert_eq!(initials, ["aw", "w"]);

        let single = client_terms("Alice", None);
        assert!(single.iter().all(|term| term.kind == Name), "{single:?}");
    }

    #[test]
    fn long_names_are_capped() {
        let long: String = ('a'..='z').cycle().take(100).collect();
        let terms = client_terms(&long, None);
        assert_eq!(terms.len(), MAX_SUFFIX_STARTS);
        assert!(terms.iter().all(|term| term.term.chars().count() <= MAX_TERM_CHARS));
        // Suffixes start within the first 24 characters only.
        assert!(has_term_starting(&terms, Name, "xyz"));
        assert!(!has_term_starting(&terms, Name, "yzab"));

        let chinese: String = "张三丰李四王五赵六孙七周八吴九郑十".chars().cycle().take(100).collect();
        let terms = client_terms(&chinese, None);
        for kind in [Name, Pinyin, Initials] {
            let of_kind: Vec<_> = terms.iter().filter(|term| term.kind == kind).collect();
            // 24 starts, but cut to 64 characters, suffixes one period (17) apart are equal.
            assert_eq!(of_kind.len(), 17, "{kind:?}");
            assert!(of_kind.iter().all(|term| term.term.chars().count() <= MAX_TERM_CHARS));
        }
        assert!(has_term_starting(&terms, Pinyin, "zhaoliusunqi"));
    }

    #[test]
    fn terms_are_deduplicated_and_sorted() {
        let terms = client_terms("哈哈 哈哈", None);
        let mut sorted = terms.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(terms, sorted);
        assert_eq!(terms, client_terms("哈哈 哈哈", None));
        assert!(client_terms("", None).is_empty());
        assert!(client_terms(" · ", None).is_empty());
    }

    #[test]
    fn queries() {
        /// The query, the tenant's country, the prefixes to scan, the exact phone digits.
        type Case = (
            &'static str,
            Option<&'static str>,
            &'static [(TermKind, &'static str)],
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            ("张", Some("CN"), &[(Name, "张")], None),
            ("张三", Some("CN"), &[(Name, "张三")], None),
            ("张s", Some("CN"), &[(Name, "张s")], None),
            (
                " Zhang San ",
                Some("CN"),
                &[(Name, "zhangsan"), (Pinyin, "zhangsan"), (Initials, "zhangsan")],
                None,
            ),
            (
                "o'neil",
                None,
                &[(Name, "oneil"), (Pinyin, "oneil"), (Initials, "oneil")],
                None,
            ),
            ("amy2", Some("CN"), &[(Name, "amy2")], None),
            ("12", Some("CN"), &[(Name, "12")], None),
            ("137-abc", Some("CN"), &[(Name, "137abc")], None),
            (
                "137",
                Some("CN"),
                &[(PhoneNational, "137"), (PhoneReversed, "731")],
                None,
            ),
            ("5678", None, &[(PhoneNational, "5678"), (PhoneReversed, "8765")], None),
            (
                "(137) 1",
                None,
                &[(PhoneNational, "1371"), (PhoneReversed, "1731")],
                None,
            ),
            (
                "0012",
                Some("CN"),
                &[(PhoneNational, "0012"), (PhoneReversed, "2100")],
                None,
            ),
            (
                "１３７",
                Some("CN"),
                &[(PhoneNational, "137"), (PhoneReversed, "731")],
                None,
            ),
            ("1371234", Some("CN"), &[(PhoneNational, "1371234")], None),
            ("+86 1371", Some("CN"), &[(PhoneNational, "1371")], None),
            ("+852 5123", None, &[(PhoneNational, "5123")], None),
            ("0086 1371", Some("CN"), &[(PhoneNational, "1371")], None),
            (
                "+86 137 1234 5678",
                None,
                &[(PhoneNational, "13712345678")],
                Some("13712345678"),
            ),
            (
                "137 1234 5678",
                Some("CN"),
                &[(PhoneNational, "13712345678")],
                Some("13712345678"),
            ),
            (
                "0086-137-1234-5678",
                Some("CN"),
                &[(PhoneNational, "13712345678")],
                Some("13712345678"),
            ),
            ("137 1234 5678", None, &[(PhoneNational, "13712345678")], None),
            (
                "(415) 555-2671",
                Some("US"),
                &[(PhoneNational, "4155552671")],
                Some("4155552671"),
            ),
        ];
        for &(query, country, expected, exact) in cases {
            assert_eq!(
                parse_query(query, country),
                Some(LookupQuery {
                    prefixes: prefixes(expected),
                    exact_phone_digits: exact.map(str::to_owned),
                }),
                "{query:?}"
            );
        }
        for nothing in ["", "   ", "\u{3000}", "!!", "·"] {
            assert_eq!(parse_query(nothing, Some("CN")), None, "{nothing:?}");
        }
    }

    #[test]
    fn long_queries_are_cut() {
        let long = "a".repeat(100);
        let lookup = parse_query(&long, None).unwrap();
        assert!(lookup
            .prefixes
            .iter()
            .all(|(_, prefix)| prefix.chars().count() == MAX_TERM_CHARS));
        // A name longer than the query is still found through its cut terms.
        assert_eq!(found_by(&long, None, &long), BTreeSet::from([Name]));
    }

    #[test]
    fn upper_bounds() {
        for (prefix, bound) in [
            ("137", "138"),
            ("9", ":"),
            ("z", "{"),
            ("zsf", "zsg"),
            ("张", "\u{5F21}"),
            ("张三", "张\u{4E0A}"),
            ("\u{D7FF}", "\u{E000}"),
            ("a\u{FFFF}", "a\u{10000}"),
            ("a\u{10FFFF}", "b"),
            ("ab\u{10FFFF}\u{10FFFF}", "ac"),
            ("", ""),
            ("\u{10FFFF}", ""),
        ] {
            assert_eq!(prefix_upper_bound(prefix), bound, "{prefix:?}");
        }
    }

    /// For every prefix p with a bound: s starts with p exactly when p <= s < bound, so the
    /// range scan returns what starts with p, all of it, and nothing else.
    #[test]
    fn upper_bound_ranges_are_exactly_the_prefixed_strings() {
        let alphabet = [
            '0',
            '9',
            'a',
            'z',
            '张',
            '弟',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFF}',
            '\u{10FFFF}',
        ];
        let mut strings = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = strings
                .iter()
                .filter(|s| s.chars().count() == strings.last().map_or(0, |l| l.chars().count()))
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        assert_eq!(strings.len(), 1 + 10 + 100 + 1000);
        for prefix in strings.iter().filter(|s| !s.is_empty() && s.chars().count() <= 2) {
            let bound = prefix_upper_bound(prefix);
            if prefix.chars().all(|c| c == char::MAX) {
                assert_eq!(bound, "");
                continue;
            }
            for s in &strings {
                let in_range = prefix <= s && *s < bound;
                assert_eq!(s.starts_with(prefix.as_str()), in_range, "{prefix:?} {s:?} < {bound:?}");
            }
        }
    }
}
