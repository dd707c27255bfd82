//! DATE / DATETIME / TIME values as kintone writes and reads them (fact sheet §3.2).

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The lowest date kintone stores (field_restriction.html); the top is year 9999 by format.
const MIN_YEAR: u32 = 1000;

fn digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Parses the write forms `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (month and day may be one digit;
/// missing parts are 01). Only real calendar dates from year 1000 on.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    let mut parts = s.split('-');
    let year = digits(parts.next()?, 4, 4)?;
    let month = parts.next().map_or(Some(1), |p| digits(p, 1, 2))?;
    let day = parts.next().map_or(Some(1), |p| digits(p, 1, 2))?;
    if parts.next().is_some() || year < MIN_YEAR {
        return None;
    }
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()
}

pub(crate) fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `HH:MM`, optionally followed by `:SS` and a fraction, which are dropped.
fn parse_clock(s: &str) -> Option<Time> {
    let mut parts = s.splitn(3, ':');
    let hour = digits(parts.next()?, 1, 2)?;
    let minute = digits(parts.next()?, 2, 2)?;
    if let Some(sec) = parts.next() {
        let whole = sec.split_once('.').map_or(sec, |(w, _)| w);
        if digits(whole, 2, 2)? > 59 {
            return None;
        }
    }
    Time::from_hms(u8::try_from(hour).ok()?, u8::try_from(minute).ok()?, 0).ok()
}

fn parse_offset(s: &str) -> Option<UtcOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let h = i8::try_from(digits(h, 2, 2)?).ok()?;
    let m = i8::try_from(digits(m, 2, 2)?).ok()?;
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// Parses a DATETIME write value (`…Z`, `…±HH:MM`, no zone = UTC, date only = midnight UTC)
/// and returns the stored form `YYYY-MM-DDTHH:MM:00Z`: UTC, seconds dropped.
pub(crate) fn parse_datetime(s: &str) -> Option<String> {
    let (date_part, clock_part) = match s.split_once('T') {
        Some((d, c)) => (d, Some(c)),
        None => (s, None),
    };
    let date = parse_date(date_part)?;
    let (clock, offset) = match clock_part {
        None => (Time::MIDNIGHT, UtcOffset::UTC),
        Some(c) => {
            let (clock, offset) = if let Some(c) = c.strip_suffix('Z') {
                (c, UtcOffset::UTC)
            } else if let Some(i) = c.rfind(['+', '-']) {
                (&c[..i], parse_offset(&c[i..])?)
            } else {
                (c, UtcOffset::UTC)
            };
            (parse_clock(clock)?, offset)
        }
    };
    let utc = PrimitiveDateTime::new(date, clock)
        .assume_offset(offset)
        .to_offset(UtcOffset::UTC);
    Some(format_datetime(utc))
}

pub(crate) fn format_datetime(dt: OffsetDateTime) -> String {
    let dt = dt.to_offset(UtcOffset::UTC);
    format!(
        "{}T{:02}:{:02}:00Z",
        format_date(dt.date()),
        dt.hour(),
        dt.minute()
    )
}

/// The UTC calendar date of a stored DATETIME value.
pub(crate) fn datetime_date(stored: &str) -> Option<Date> {
    parse_date(stored.get(..10)?)
}

/// TIME: `HH:MM` (seconds dropped), stored as `HH:MM`.
pub(crate) fn parse_time(s: &str) -> Option<String> {
    let t = parse_clock(s)?;
    Some(format!("{:02}:{:02}", t.hour(), t.minute()))
}

/// Calendar month arithmetic; the day is clamped to the target month's length.
pub(crate) fn add_months(d: Date, months: i64) -> Option<Date> {
    let index = i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1 + months;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = d.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

pub(crate) fn add_days(d: Date, days: i64) -> Option<Date> {
    d.checked_add(Duration::days(days))
}

/// The Sunday starting the week of `d` (kintone weeks run Sunday to Saturday).
pub(crate) fn week_start(d: Date) -> Option<Date> {
    add_days(d, -i64::from(d.weekday().number_days_from_sunday()))
}

pub(crate) fn first_of_month(d: Date) -> Option<Date> {
    d.replace_day(1).ok()
}

pub(crate) fn last_of_month(d: Date) -> Option<Date> {
    d.replace_day(d.month().length(d.year())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_write_forms() {
        let f = |s| parse_date(s).map(format_date);
        assert_eq!(f("2015-07-05").as_deref(), Some("2015-07-05"));
        assert_eq!(f("2015-7-5").as_deref(), Some("2015-07-05"));
        assert_eq!(f("2015-07").as_deref(), Some("2015-07-01"));
        assert_eq!(f("2015").as_deref(), Some("2015-01-01"));
        for bad in [
            "2015-02-30",
            "2015-13-01",
            "15-01-01",
            "2015/01/01",
            "",
            "0999-01-01",
            "2015-01-01x",
        ] {
            assert_eq!(f(bad), None, "{bad}");
        }
    }

    #[test]
    fn datetime_write_forms() {
        let f = |s| parse_datetime(s);
        assert_eq!(
            f("2012-01-11T11:30:45Z").as_deref(),
            Some("2012-01-11T11:30:00Z")
        );
        assert_eq!(
            f("2012-01-11T11:30+09:00").as_deref(),
            Some("2012-01-11T02:30:00Z")
        );
        assert_eq!(
            f("2012-01-11T01:30:00-01:00").as_deref(),
            Some("2012-01-11T02:30:00Z")
        );
        assert_eq!(f("2012-01-11").as_deref(), Some("2012-01-11T00:00:00Z"));
        assert_eq!(f("2012-01-11T25:00Z"), None);
        assert_eq!(f("nope"), None);
    }

    #[test]
    fn month_arithmetic_clamps() {
        let d = parse_date("2024-01-31").expect("date");
        assert_eq!(
            add_months(d, 1).map(format_date).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(
            add_months(d, -2).map(format_date).as_deref(),
            Some("2023-11-30")
        );
    }
}
