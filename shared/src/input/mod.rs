//! What people send: a JSON object's members, the text rules every input follows, exact
//! decimals and dates, and why an input was refused. Forms and lookups both build on this.

mod date;
mod decimal;
pub(crate) mod text;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

pub use date::parse_date;
pub use decimal::Decimal;
pub use text::{TextRule, check_length, clean_text, normalise, width_variants};

/// A JSON object's members in the order sent.
#[derive(Debug)]
pub struct Inputs(Vec<(String, Member)>);

/// One member's value. Numbers keep the text they were sent as: a decimal is compared exactly,
/// and a number too large for a float (`1e400`) is still a number of the wrong shape, not
/// broken JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Number(String),
    /// A string, boolean, null, list or object. Inside a list or object, a number that no float
    /// holds makes the whole value [`Member::Unreadable`].
    Json(Value),
    Unreadable,
}

impl Member {
    /// The value, for inputs that take a string, a list or a boolean; `None` for a number or
    /// an unreadable value, which such an input refuses with its type error.
    pub fn as_json(&self) -> Option<&Value> {
        match self {
            Member::Json(value) => Some(value),
            Member::Number(_) | Member::Unreadable => None,
        }
    }

    /// Whether the member holds no value at all (`null`).
    pub fn is_null(&self) -> bool {
        matches!(self, Member::Json(Value::Null))
    }
}

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
        let members = members
            .into_iter()
            .map(|(key, raw)| (key, Self::member(raw)))
            .collect();
        Ok(Inputs(members))
    }

    fn member(raw: &RawValue) -> Member {
        let text = raw.get();
        if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return Member::Number(text.to_owned());
        }
        serde_json::from_str(text).map_or(Member::Unreadable, Member::Json)
    }

    pub fn get(&self, name: &str) -> Option<&Member> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, v)| v)
    }

    /// Removes a member and returns it: for a request that carries more than one kind of input.
    pub fn take(&mut self, name: &str) -> Option<Member> {
        let at = self.0.iter().position(|(key, _)| key == name)?;
        Some(self.0.remove(at).1)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(key, _)| key.as_str())
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
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
        min: Option<Decimal>,
        max: Option<Decimal>,
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
    /// A file above the input's `max_bytes`.
    FileTooLarge {
        max_bytes: usize,
    },
    /// A file whose bytes are none of the accepted types, whatever its name or label says.
    FileTypeNotAccepted {
        accept: Vec<crate::files::FileType>,
    },
    /// A file name that is empty, too long, or has control characters or a path.
    InvalidFileName,
    /// A file handle that is forged, changed, or from another form or input.
    InvalidFileHandle,
    /// A file handle older than its life: upload the file again.
    FileHandleExpired,
    /// More files than the input's `max_files`.
    TooManyFiles {
        max: usize,
    },
}

/// Problems keyed by input name, in name order.
pub type FieldErrors = BTreeMap<String, Problem>;

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
    fn numbers_keep_their_text_and_huge_ones_are_numbers_too() {
        let inputs =
            Inputs::parse(br#"{"a": 10.0000000000000001, "b": 1e400, "c": [1e400], "d": "x"}"#)
                .unwrap();
        assert_eq!(
            inputs.get("a"),
            Some(&Member::Number("10.0000000000000001".into()))
        );
        assert_eq!(inputs.get("b"), Some(&Member::Number("1e400".into())));
        assert_eq!(inputs.get("c"), Some(&Member::Unreadable));
        assert_eq!(inputs.get("d"), Some(&Member::Json(json!("x"))));
        assert_eq!(inputs.get("e"), None);
    }
}
