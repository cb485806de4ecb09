//! How the console writes money, dates and times: money as `¥1,288.00` in the tenant's
//! currency, dates and times in a store's zone, in the page's language.

use super::i18n::Lang;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

/// `¥1,288.00`; a negative amount `-¥12.50`. Other currencies by their symbol or code.
pub fn money(cents: i64, currency: &str) -> String {
    let symbol = match currency {
        "CNY" => "¥",
        "HKD" => "HK$",
        "MOP" => "MOP$",
        "TWD" => "NT$",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        "JPY" => "JP¥",
        "SGD" => "S$",
        other => other,
    };
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let space = if symbol.chars().all(|c| c.is_ascii_uppercase()) {
        " "
    } else {
        ""
    };
    format!("{sign}{symbol}{space}{grouped}.{:02}", abs % 100)
}

/// An amount typed by staff in yuan ("398", "398.5", "1,288.00", "¥398") as minor units;
/// `None` when it is not such an amount (more than two decimals, letters, empty).
pub fn parse_money(text: &str) -> Option<i64> {
    let cleaned: String = text
        .trim()
        .trim_start_matches(['¥', '￥', '$'])
        .chars()
        .filter(|c| *c != ',' && *c != '，' && !c.is_whitespace())
        .collect();
    if cleaned.is_empty() {
        return None;
    }
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) || fraction.len() > 2
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fraction: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(fraction)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2 Dec 2026` / `2026年12月2日`.
pub fn date(day: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => format!("{}年{}月{}日", day.year(), day.month(), day.day()),
        Lang::En => format!("{} {} {}", day.day(), MONTHS[day.month0() as usize], day.year()),
    }
}

/// `2 Dec 2026, 14:05` / `2026年12月2日 14:05`, in `zone`.
pub fn datetime(at: DateTime<Utc>, zone: Tz, lang: Lang) -> String {
    let local = at.with_timezone(&zone);
    let clock = local.format("%H:%M");
    match lang {
        Lang::ZhCn => format!("{} {clock}", date(local.date_naive(), lang)),
        Lang::En => format!("{}, {clock}", date(local.date_naive(), lang)),
    }
}

/// `14:05` in `zone`.
pub fn time(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone).format("%H:%M").to_string()
}

/// How long until `deadline` (negative: overdue), as "1 h 20 min" / "1小时20分钟".
pub fn duration(minutes: i64, lang: Lang) -> String {
    let minutes = minutes.abs();
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match lang {
        Lang::ZhCn if days > 0 => format!("{days}天{hours}小时"),
        Lang::ZhCn if hours > 0 => format!("{hours}小时{mins}分钟"),
        Lang::ZhCn => format!("{mins}分钟"),
        Lang::En if days > 0 => format!("{days} d {hours} h"),
        Lang::En if hours > 0 => format!("{hours} h {mins} min"),
        Lang::En => format!("{mins} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_as_the_salon_writes_it() {
        assert_eq!(money(128_800, "CNY"), "¥1,288.00");
        assert_eq!(money(5, "CNY"), "¥0.05");
        assert_eq!(money(0, "CNY"), "¥0.00");
        assert_eq!(money(-1250, "CNY"), "-¥12.50");
        assert_eq!(money(123_456_789, "CNY"), "¥1,234,567.89");
        assert_eq!(money(100_000, "HKD"), "HK$1,000.00");
        assert_eq!(money(100, "CHF"), "CHF 1.00");
    }

    #[test]
    fn amounts_typed_in_yuan() {
        assert_eq!(parse_money("398"), Some(39_800));
        assert_eq!(parse_money("398.5"), Some(39_850));
        assert_eq!(parse_money("¥1,288.00"), Some(128_800));
        assert_eq!(parse_money(" 0.05 "), Some(5));
        assert_eq!(parse_money(".5"), Some(50));
        assert_eq!(parse_money("1.234"), None);
        assert_eq!(parse_money("-3"), None);
        assert_eq!(parse_money("abc"), None);
        assert_eq!(parse_money(""), None);
        assert_eq!(parse_money("."), None);
        assert_eq!(parse_money("99999999999999999999"), None);
    }

    #[test]
    fn dates_in_the_store_zone_and_language() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T17:05:00Z").unwrap().to_utc();
        let shanghai = chrono_tz::Asia::Shanghai;
        assert_eq!(datetime(at, shanghai, Lang::ZhCn), "2026年12月2日 01:05");
        assert_eq!(datetime(at, shanghai, Lang::En), "2 Dec 2026, 01:05");
        assert_eq!(datetime(at, chrono_tz::Europe::London, Lang::En), "1 Dec 2026, 17:05");
        assert_eq!(duration(80, Lang::En), "1 h 20 min");
        assert_eq!(duration(-80, Lang::ZhCn), "1小时20分钟");
        assert_eq!(duration(3000, Lang::En), "2 d 2 h");
    }
}
