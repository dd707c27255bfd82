//! Dates as kintone's DATE fields take them.

/// `YYYY-MM-DD`, a day that exists, within kintone's 1000-01-01 to 9999-12-31.
pub fn parse_date(text: &str) -> Option<time::Date> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let year: i32 = text[0..4].parse().ok()?;
    let month: u8 = text[5..7].parse().ok()?;
    let day: u8 = text[8..10].parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    if year < 1000 {
        return None;
    }
    time::Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates_must_exist() {
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2026-02-29").is_none());
        assert!(parse_date("2026-2-01").is_none());
        assert!(parse_date("0999-01-01").is_none());
    }
}
