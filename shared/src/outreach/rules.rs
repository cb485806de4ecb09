//! The rules every automation shares, as pure functions of their inputs (unit-tested here):
//! local time in a store's zone across DST, birthdays (29 February), quiet hours, the
//! client's own visiting rhythm, and retry backoff.

use crate::domain::QuietHours;
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant a local wall-clock time happens in `zone`. A time that does not exist that day
/// (the spring-forward gap) moves to the first minute after the gap; a time that happens twice
/// (fall back) is the first of the two. So "10:00" is exactly one instant every day.
pub fn local_instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut wall = date.and_time(time);
    // Gaps are at most a few hours wide; step forward a minute at a time until the clock exists.
    for _ in 0..=24 * 60 {
        match zone.from_local_datetime(&wall) {
            LocalResult::Single(at) => return at.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => wall += Duration::minutes(1),
        }
    }
    // Unreachable for real zones; treat the wall time as UTC rather than fail a sweep.
    Utc.from_utc_datetime(&date.and_time(time))
}

/// The day a birthday falls on in `year`: 29 February is kept on 28 February in common years.
pub fn birthday_in(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day).or_else(|| {
        (month == 2 && day == 29)
            .then(|| NaiveDate::from_ymd_opt(year, 2, 28))
            .flatten()
    })
}

/// The year whose birthday greeting is due at `now`, if one is: it is the birthday in the
/// client's zone and the local time has reached `at`. A sweep that runs late the same day still
/// finds it; the day after, it does not.
pub fn birthday_due(zone: Tz, month: u32, day: u32, at: NaiveTime, now: DateTime<Utc>) -> Option<i32> {
    let today = now.with_timezone(&zone).date_naive();
    let birthday = birthday_in(today.year(), month, day)?;
    (birthday == today && now >= local_instant(zone, today, at)).then_some(today.year())
}

/// The (month, day) pairs that can be a birthday somewhere on Earth at `now`: every zone's
/// local date is within a day of the UTC date. 29 February joins 28 February in common years.
pub fn birthday_candidates(now: DateTime<Utc>) -> Vec<(u32, u32)> {
    let utc_today = now.date_naive();
    let mut pairs = Vec::new();
    for offset in [-1, 0, 1] {
        let date = utc_today + Duration::days(offset);
        pairs.push((date.month(), date.day()));
        if date.month() == 2 && date.day() == 28 && NaiveDate::from_ymd_opt(date.year(), 2, 29).is_none() {
            pairs.push((2, 29));
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// The birthday candidates of `now` that are due in at least one of `zones` at one of the
/// greeting `times`: the only (month, day) pairs a birthday sweep needs to read clients for.
/// Before the greeting time everywhere it is empty, so such a sweep reads no client at all.
pub fn birthdays_due_somewhere(zones: &[Tz], times: &[NaiveTime], now: DateTime<Utc>) -> Vec<(u32, u32)> {
    birthday_candidates(now)
        .into_iter()
        .filter(|&(month, day)| {
            zones.iter().any(|&zone| {
                times
                    .iter()
                    .any(|&at| birthday_due(zone, month, day, at, now).is_some())
            })
        })
        .collect()
}

/// Whether `a` and `b` fall on the same calendar day in `zone`.
pub fn same_local_day(zone: Tz, a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    a.with_timezone(&zone).date_naive() == b.with_timezone(&zone).date_naive()
}

/// When a client message may go out: `now`, or the end of the quiet window it falls in.
pub fn next_allowed(zone: Tz, quiet: QuietHours, now: DateTime<Utc>) -> DateTime<Utc> {
    let local = now.with_timezone(&zone);
    let time = local.time();
    if !quiet.contains(time) {
        return now;
    }
    let today = local.date_naive();
    // A window wrapping midnight that we are in before midnight ends tomorrow morning.
    let end_date = if quiet.start > quiet.end && time >= quiet.start {
        today + Duration::days(1)
    } else {
        today
    };
    local_instant(zone, end_date, quiet.end).max(now)
}

/// How long after the last visit a client counts as dormant: `base_days`, or with the personal
/// rhythm on and at least `min_visits` visits, twice the median interval between visits (never
/// under `base_days`). `visits` are the completion times, in any order.
pub fn dormant_after(base_days: u32, personal_rhythm: bool, min_visits: u32, visits: &[DateTime<Utc>]) -> Duration {
    let base = Duration::days(i64::from(base_days));
    if !personal_rhythm || visits.len() < min_visits.max(2) as usize {
        return base;
    }
    let mut sorted = visits.to_vec();
    sorted.sort_unstable();
    let mut gaps: Vec<i64> = sorted
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).num_seconds())
        .collect();
    gaps.sort_unstable();
    let middle = gaps.len() / 2;
    let median = if gaps.len() % 2 == 0 {
        (gaps[middle - 1] + gaps[middle]) / 2
    } else {
        gaps[middle]
    };
    Duration::seconds(median.saturating_mul(2)).max(base)
}

/// The wait before attempt `attempt + 1`, after `attempt` attempts failed: the base doubled per
/// attempt, spread ±20% by `jitter` (0..1) so that a burst of failures does not retry as one.
/// A provider's own `Retry-After` replaces the backoff (at least 1 s): it says when it will take
/// the message again, sooner or later than our schedule would have tried.
pub fn retry_delay(base_seconds: u32, attempt: u32, jitter: f64, provider_hint: Option<Duration>) -> Duration {
    let doubled = f64::from(base_seconds) * 2f64.powi(attempt.saturating_sub(1).min(16) as i32);
    let spread = doubled * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    let delay = Duration::milliseconds((spread * 1000.0) as i64);
    provider_hint.map_or(delay, |hint| hint.max(Duration::seconds(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn ten_oclock_in_shanghai_and_london() {
        let day = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(
            local_instant(chrono_tz::Asia::Shanghai, day, hm(10, 0)),
            utc("2026-07-01T02:00:00Z")
        );
        assert_eq!(
            local_instant(chrono_tz::Europe::London, day, hm(10, 0)),
            utc("2026-07-01T09:00:00Z")
        );
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_past_it_and_a_doubled_time_is_the_first() {
        let new_york = chrono_tz::America::New_York;
        let spring = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        // 02:30 does not exist on 8 March 2026 in New York: 03:00 EDT is the first minute after.
        assert_eq!(local_instant(new_york, spring, hm(2, 30)), utc("2026-03-08T07:00:00Z"));
        let autumn = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        // 01:30 happens twice on 1 November 2026: the first is 01:30 EDT.
        assert_eq!(local_instant(new_york, autumn, hm(1, 30)), utc("2026-11-01T05:30:00Z"));
    }

    #[test]
    fn leap_day_birthdays() {
        assert_eq!(birthday_in(2027, 2, 29), NaiveDate::from_ymd_opt(2027, 2, 28));
        assert_eq!(birthday_in(2028, 2, 29), NaiveDate::from_ymd_opt(2028, 2, 29));
        assert!(birthday_candidates(utc("2027-02-28T12:00:00Z")).contains(&(2, 29)));
        // In a leap year 29 February is only a candidate around its own date.
        assert!(!birthday_candidates(utc("2028-02-27T12:00:00Z")).contains(&(2, 29)));
        assert!(birthday_candidates(utc("2028-03-01T12:00:00Z")).contains(&(2, 29)));
    }

    #[test]
    fn birthday_due_from_ten_until_midnight_local() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let at = hm(10, 0);
        assert_eq!(birthday_due(shanghai, 3, 14, at, utc("2026-03-14T01:59:00Z")), None);
        assert_eq!(
            birthday_due(shanghai, 3, 14, at, utc("2026-03-14T02:00:00Z")),
            Some(2026)
        );
        // Late the same local day (23:30 in Shanghai) still counts; the next day does not.
        assert_eq!(
            birthday_due(shanghai, 3, 14, at, utc("2026-03-14T15:30:00Z")),
            Some(2026)
        );
        assert_eq!(birthday_due(shanghai, 3, 14, at, utc("2026-03-14T16:30:00Z")), None);
        assert_eq!(
            birthday_due(shanghai, 2, 29, at, utc("2027-02-28T03:00:00Z")),
            Some(2027)
        );
    }

    #[test]
    fn birthdays_due_somewhere_only_from_the_greeting_time_of_the_local_day() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let london = chrono_tz::Europe::London;
        let ten = [hm(10, 0)];
        // 09:59 in Shanghai: nothing yet; 10:00 until midnight: that day only.
        assert!(birthdays_due_somewhere(&[shanghai], &ten, utc("2026-03-14T01:59:00Z")).is_empty());
        assert_eq!(
            birthdays_due_somewhere(&[shanghai], &ten, utc("2026-03-14T02:00:00Z")),
            vec![(3, 14)]
        );
        assert_eq!(
            birthdays_due_somewhere(&[shanghai], &ten, utc("2026-03-14T15:30:00Z")),
            vec![(3, 14)]
        );
        assert!(birthdays_due_somewhere(&[shanghai], &ten, utc("2026-03-14T16:30:00Z")).is_empty());
        // 00:30 UTC is 08:30 on the 15th in Shanghai and 00:30 in London: before 10:00 in both,
        // but past a greeting at 08:00 in Shanghai.
        assert!(birthdays_due_somewhere(&[shanghai, london], &ten, utc("2026-03-15T00:30:00Z")).is_empty());
        assert_eq!(
            birthdays_due_somewhere(&[shanghai, london], &[hm(10, 0), hm(8, 0)], utc("2026-03-15T00:30:00Z")),
            vec![(3, 15)]
        );
        // Two zones on two local days at once.
        assert_eq!(
            birthdays_due_somewhere(&[shanghai, london], &[hm(0, 0)], utc("2026-03-14T17:00:00Z")),
            vec![(3, 14), (3, 15)]
        );
        // 29 February is greeted on the 28th in common years.
        assert_eq!(
            birthdays_due_somewhere(&[shanghai], &ten, utc("2027-02-28T03:00:00Z")),
            vec![(2, 28), (2, 29)]
        );
        assert!(birthdays_due_somewhere(&[], &ten, utc("2026-03-14T03:00:00Z")).is_empty());
    }

    #[test]
    fn quiet_hours_defer_to_the_morning() {
        let quiet = QuietHours::parse("21:00", "09:00").unwrap();
        let shanghai = chrono_tz::Asia::Shanghai;
        // 22:00 local → 09:00 the next day.
        assert_eq!(
            next_allowed(shanghai, quiet, utc("2026-05-01T14:00:00Z")),
            utc("2026-05-02T01:00:00Z")
        );
        // 07:00 local → 09:00 the same day.
        assert_eq!(
            next_allowed(shanghai, quiet, utc("2026-05-01T23:00:00Z")),
            utc("2026-05-02T01:00:00Z")
        );
        // 12:00 local: now.
        assert_eq!(
            next_allowed(shanghai, quiet, utc("2026-05-01T04:00:00Z")),
            utc("2026-05-01T04:00:00Z")
        );
    }

    #[test]
    fn personal_rhythm_is_twice_the_median_and_never_under_the_base() {
        let days = |list: &[i64]| -> Vec<DateTime<Utc>> {
            list.iter()
                .map(|d| utc("2026-01-01T00:00:00Z") + Duration::days(*d))
                .collect()
        };
        assert_eq!(dormant_after(60, true, 3, &days(&[0, 40, 80, 120])), Duration::days(80));
        assert_eq!(dormant_after(60, true, 3, &days(&[0, 10, 20])), Duration::days(60));
        assert_eq!(
            dormant_after(60, false, 3, &days(&[0, 40, 80, 120])),
            Duration::days(60)
        );
        assert_eq!(dormant_after(60, true, 3, &days(&[0, 90])), Duration::days(60));
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_honours_retry_after() {
        assert_eq!(retry_delay(720, 1, 0.5, None), Duration::seconds(720));
        assert_eq!(retry_delay(720, 3, 0.5, None), Duration::seconds(2880));
        assert!(retry_delay(720, 1, 0.0, None) >= Duration::seconds(576));
        assert!(retry_delay(720, 1, 1.0, None) <= Duration::seconds(864));
        assert_eq!(
            retry_delay(720, 1, 0.5, Some(Duration::seconds(7))),
            Duration::seconds(7)
        );
        // Six attempts with the defaults span about six hours.
        let total: i64 = (1..6).map(|a| retry_delay(720, a, 0.5, None).num_minutes()).sum();
        assert!((330..=400).contains(&total), "{total}");
    }
}
