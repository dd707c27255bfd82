//! What people send: a JSON object's members, the text rules every input follows, and why an
//! input was refused. Forms and lookups both build on this.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

/// A JSON object's members in the order sent, duplicates kept so they can be refused.
#[derive(Debug)]
pub struct Inputs(Vec<(String, Value)>);

/// Why a body is not a JSON object the relay can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON at all, or not UTF-8.
    Malformed,
    /// JSON, but not an object.
    NotAnObject,
    DuplicateKey(String),
}

impl Inputs {
    pub fn parse(body: &[u8]) -> Result<Self, BodyError> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let members = deserializer
            .deserialize_map(MembersVisitor)
            .and_then(|members| deserializer.end().map(|()| members))
            .map_err(|err| match err.classify() {
                serde_json::error::Category::Data => BodyError::NotAnObject,
                _ => BodyError::Malformed,
            })?;
        let mut seen = std::collections::BTreeSet::new();
        for (key, _) in &members {
            if !seen.insert(key.as_str()) {
                return Err(BodyError::DuplicateKey(key.clone()));
            }
        }
        Ok(Inputs(members))
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, v)| v)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(key, _)| key.as_str())
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(String, Value)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(entry) = map.next_entry::<String, Value>()? {
            members.push(entry);
        }
        Ok(members)
    }
}

/// Why one input was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Required,
    ConsentRequired,
    NotAString,
    NotAList,
    NotABoolean,
    TooLong {
        max: usize,
    },
    ControlCharacters,
    InvalidEmail,
    InvalidTel,
    InvalidUrl,
    InvalidNumber,
    OutOfRange {
        min: Option<f64>,
        max: Option<f64>,
    },
    InvalidDate,
    InvalidDatetime,
    NotAnOption,
    RepeatedChoice,
    UnknownField,
    /// A field with "prohibit duplicate values" already holds this value.
    AlreadyRegistered,
    /// kintone refused the value for another reason (its words stay in the log).
    RefusedByKintone,
}

/// Problems keyed by input name, in name order.
pub type FieldErrors = BTreeMap<String, Problem>;

/// How a string input is cleaned before it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRule {
    /// One line, kept as typed (names, addresses, options).
    AsTyped,
    /// Line breaks and tabs allowed; line endings become `\n`.
    MultiLine,
    /// One line, NFKC-normalised: for values where only the ASCII reading counts (numbers,
    /// phones, dates, lookup keys), so that digits typed full-width on a phone count.
    Normalised,
}

/// A string input cleaned by `rule` and trimmed; `None` when blank.
pub fn clean_text(value: &Value, rule: TextRule) -> Result<Option<String>, Problem> {
    let Value::String(raw) = value else {
        return Err(Problem::NotAString);
    };
    let allowed_control = |c: char| rule == TextRule::MultiLine && matches!(c, '\n' | '\r' | '\t');
    if raw.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return Err(Problem::ControlCharacters);
    }
    let text = match rule {
        TextRule::Normalised => normalise(raw),
        TextRule::AsTyped => raw.trim().to_owned(),
        TextRule::MultiLine => raw.trim().replace("\r\n", "\n").replace('\r', "\n"),
    };
    Ok((!text.is_empty()).then_some(text))
}

/// NFKC, then trimmed: the one normalisation of [`TextRule::Normalised`] inputs, which the
/// lookup's re-check applies to kintone's values too, so that equal means equal on both sides.
pub fn normalise(text: &str) -> String {
    text.nfkc().collect::<String>().trim().to_owned()
}

pub fn check_length(text: &str, max: usize) -> Result<(), Problem> {
    if text.chars().count() > max {
        Err(Problem::TooLong { max })
    } else {
        Ok(())
    }
}

/// A plain decimal: optional sign, digits, optional fraction. No exponents, no separators.
pub fn parse_decimal(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits_ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(unsigned.contains('.') && fraction.is_empty());
    if !digits_ok || whole.len() > 30 {
        return None;
    }
    text.parse().ok()
}

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
    use super::*;
    use serde_json::json;

    #[test]
    fn body_shape_errors() {
        assert_eq!(
            Inputs::parse(b"{\"a\":1,\"a\":2}").unwrap_err(),
            BodyError::DuplicateKey("a".into())
        );
        assert_eq!(Inputs::parse(b"[1]").unwrap_err(), BodyError::NotAnObject);
        assert_eq!(Inputs::parse(b"").unwrap_err(), BodyError::Malformed);
        assert_eq!(Inputs::parse(b"{} x").unwrap_err(), BodyError::Malformed);
        assert_eq!(
            Inputs::parse(b"{\"a\":\"\xff\"}").unwrap_err(),
            BodyError::Malformed
        );
    }

    #[test]
    fn dates_must_exist() {
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2026-02-29").is_none());
        assert!(parse_date("2026-2-01").is_none());
        assert!(parse_date("0999-01-01").is_none());
    }

    #[test]
    fn text_rules() {
        let clean = |text: &str, rule| clean_text(&json!(text), rule);
        assert_eq!(clean(" ａ１ ", TextRule::Normalised), Ok(Some("a1".into())));
        assert_eq!(clean(" ａ１ ", TextRule::AsTyped), Ok(Some("ａ１".into())));
        assert_eq!(
            clean("a\r\nb", TextRule::MultiLine),
            Ok(Some("a\nb".into()))
        );
        assert_eq!(
            clean("a\nb", TextRule::AsTyped),
            Err(Problem::ControlCharacters)
        );
        assert_eq!(clean("   ", TextRule::AsTyped), Ok(None));
        assert_eq!(
            clean_text(&json!(1), TextRule::AsTyped),
            Err(Problem::NotAString)
        );
    }
}
