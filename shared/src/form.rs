//! Turning a posted JSON body into a kintone record, field by field, against a declared form.
//!
//! Every problem is collected so the applicant sees all of them at once; only declared inputs
//! (plus the honeypot) are accepted, and only declared kintone fields are written.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use validator::{ValidateEmail, ValidateUrl};

use crate::config::{FieldKind, Form};
use crate::lang::Lang;
use crate::submission::{FieldValue, Record, WriteValue};

/// A JSON object's members in the order sent, duplicates kept so they can be refused.
#[derive(Debug)]
pub struct Inputs(Vec<(String, Value)>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON at all, or not UTF-8.
    Malformed,
    /// JSON, but not an object.
    NotAnObject,
    DuplicateKey(String),
}

impl BodyError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            BodyError::Malformed => lang
                .pick(
                    "送信内容を読み取れませんでした（JSON の形式が正しくありません）。",
                    "The request body is not valid JSON.",
                )
                .to_owned(),
            BodyError::NotAnObject => lang
                .pick(
                    "送信内容は JSON オブジェクトでなければなりません。",
                    "The request body must be a JSON object.",
                )
                .to_owned(),
            BodyError::DuplicateKey(key) => match lang {
                Lang::Ja => format!("項目「{key}」が2回送信されています。"),
                Lang::En => format!("The field \"{key}\" was sent twice."),
            },
        }
    }
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

impl Problem {
    pub fn message(&self, lang: Lang) -> String {
        let fixed = |ja: &str, en: &str| lang.pick(ja, en).to_owned();
        match self {
            Problem::Required => fixed("入力してください。", "This field is required."),
            Problem::ConsentRequired => fixed("同意が必要です。", "Your consent is required."),
            Problem::NotAString => {
                fixed("文字列で送信してください。", "Send this field as a string.")
            }
            Problem::NotAList => fixed(
                "選択肢の配列で送信してください。",
                "Send this field as a list of options.",
            ),
            Problem::NotABoolean => {
                fixed("true か false で送信してください。", "Send true or false.")
            }
            Problem::TooLong { max } => match lang {
                Lang::Ja => format!("{max}文字以内で入力してください。"),
                Lang::En => format!("Enter at most {max} characters."),
            },
            Problem::ControlCharacters => fixed(
                "使用できない制御文字が含まれています。",
                "This contains control characters that are not allowed.",
            ),
            Problem::InvalidEmail => fixed(
                "メールアドレスの形式が正しくありません。",
                "Enter a valid email address.",
            ),
            Problem::InvalidTel => fixed(
                "電話番号は数字、空白、+、-、( ) で入力してください。",
                "Enter a phone number using digits, spaces, +, - and ( ).",
            ),
            Problem::InvalidUrl => fixed(
                "http:// または https:// で始まる URL を入力してください。",
                "Enter a URL starting with http:// or https://.",
            ),
            Problem::InvalidNumber => fixed("数値を入力してください。", "Enter a number."),
            Problem::OutOfRange { min, max } => match (lang, min, max) {
                (Lang::Ja, Some(a), Some(b)) => format!("{a}以上{b}以下の数値を入力してください。"),
                (Lang::Ja, Some(a), None) => format!("{a}以上の数値を入力してください。"),
                (Lang::Ja, None, Some(b)) => format!("{b}以下の数値を入力してください。"),
                (Lang::En, Some(a), Some(b)) => format!("Enter a number from {a} to {b}."),
                (Lang::En, Some(a), None) => format!("Enter a number of at least {a}."),
                (Lang::En, None, Some(b)) => format!("Enter a number of at most {b}."),
                (_, None, None) => fixed("数値を入力してください。", "Enter a number."),
            },
            Problem::InvalidDate => fixed(
                "存在する日付を YYYY-MM-DD の形式で入力してください。",
                "Enter a real date as YYYY-MM-DD.",
            ),
            Problem::InvalidDatetime => fixed(
                "日時を 2026-04-01T09:00:00+09:00 の形式で入力してください。",
                "Enter a date and time like 2026-04-01T09:00:00+09:00.",
            ),
            Problem::NotAnOption => fixed(
                "選択肢の中から選んでください。",
                "Choose one of the options.",
            ),
            Problem::RepeatedChoice => fixed(
                "同じ選択肢が2回選ばれています。",
                "The same option was chosen twice.",
            ),
            Problem::UnknownField => fixed(
                "このフォームにない項目です。",
                "This form has no such field.",
            ),
            Problem::AlreadyRegistered => fixed(
                "この値はすでに登録されています。",
                "This value has already been registered.",
            ),
            Problem::RefusedByKintone => fixed(
                "この値は登録できませんでした。",
                "This value could not be saved.",
            ),
        }
    }
}

/// Problems keyed by input name, in name order.
pub type FieldErrors = BTreeMap<String, Problem>;

/// The outcome of a successful validation.
#[derive(Debug)]
pub struct Accepted {
    pub record: Record,
    /// The honeypot input was filled in: answer as if stored, store nothing.
    pub is_bot: bool,
}

/// Checks every input against the form and builds the record, with `fixed` values added.
pub fn validate(form: &Form, inputs: &Inputs) -> Result<Accepted, FieldErrors> {
    // A bot gets the answer a person would, whatever else it sent, and nothing is stored.
    let is_bot = form
        .honeypot
        .as_deref()
        .and_then(|name| inputs.get(name))
        .is_some_and(|value| match value {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        });
    if is_bot {
        return Ok(Accepted {
            record: Record::new(),
            is_bot,
        });
    }
    let mut errors = FieldErrors::new();
    for name in inputs.names() {
        let declared = form.fields.contains_key(name) || form.honeypot.as_deref() == Some(name);
        if !declared {
            errors.insert(name.to_owned(), Problem::UnknownField);
        }
    }
    let mut record = Record::new();
    for (name, field) in &form.fields {
        match parse_value(&field.kind, inputs.get(name)) {
            Ok(Some(value)) => {
                record.insert(field.kintone.clone(), WriteValue { value });
            }
            Ok(None) if field.required => {
                let problem = match field.kind {
                    FieldKind::Consent { .. } => Problem::ConsentRequired,
                    _ => Problem::Required,
                };
                errors.insert(name.clone(), problem);
            }
            Ok(None) => {}
            Err(problem) => {
                errors.insert(name.clone(), problem);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for (code, value) in &form.fixed {
        record.insert(
            code.clone(),
            WriteValue {
                value: FieldValue::Text(value.clone()),
            },
        );
    }
    Ok(Accepted {
        record,
        is_bot: false,
    })
}

/// `Ok(None)` means "not given" (absent, null, blank or an empty list).
fn parse_value(kind: &FieldKind, value: Option<&Value>) -> Result<Option<FieldValue>, Problem> {
    let value = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    match kind {
        FieldKind::Text {
            max_length,
            multiline,
        } => {
            let Some(text) = clean_text(value, *multiline, false)? else {
                return Ok(None);
            };
            check_length(&text, *max_length)?;
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Email { max_length } => {
            let Some(text) = clean_text(value, false, false)? else {
                return Ok(None);
            };
            check_length(&text, *max_length)?;
            if !text.validate_email() {
                return Err(Problem::InvalidEmail);
            }
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Tel { max_length } => {
            let Some(text) = clean_text(value, false, true)? else {
                return Ok(None);
            };
            check_length(&text, *max_length)?;
            let allowed = text
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c));
            if !allowed || !text.chars().any(|c| c.is_ascii_digit()) {
                return Err(Problem::InvalidTel);
            }
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Url { max_length } => {
            let Some(text) = clean_text(value, false, false)? else {
                return Ok(None);
            };
            check_length(&text, *max_length)?;
            let scheme_ok = text.starts_with("https://") || text.starts_with("http://");
            if !scheme_ok || !text.validate_url() {
                return Err(Problem::InvalidUrl);
            }
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Number { min, max } => {
            let text = match value {
                Value::Number(n) => n.to_string(),
                _ => match clean_text(value, false, true)? {
                    Some(text) => text,
                    None => return Ok(None),
                },
            };
            let number = parse_decimal(&text).ok_or(Problem::InvalidNumber)?;
            let too_low = min.is_some_and(|min| number < min);
            let too_high = max.is_some_and(|max| number > max);
            if too_low || too_high {
                return Err(Problem::OutOfRange {
                    min: *min,
                    max: *max,
                });
            }
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Date => {
            let Some(text) = clean_text(value, false, true)? else {
                return Ok(None);
            };
            parse_date(&text).ok_or(Problem::InvalidDate)?;
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Datetime => {
            let Some(text) = clean_text(value, false, true)? else {
                return Ok(None);
            };
            let parsed =
                time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| Problem::InvalidDatetime)?;
            // kintone stores DATETIME in UTC to the minute; send the same instant in UTC.
            let utc = parsed.to_offset(time::UtcOffset::UTC);
            if !(1000..=9999).contains(&utc.year()) {
                return Err(Problem::InvalidDatetime);
            }
            let formatted = utc
                .format(time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
                ))
                .map_err(|_| Problem::InvalidDatetime)?;
            Ok(Some(FieldValue::Text(formatted)))
        }
        FieldKind::Choice { options } => {
            let Some(text) = clean_text(value, false, false)? else {
                return Ok(None);
            };
            if !options.contains(&text) {
                return Err(Problem::NotAnOption);
            }
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Choices { options } => {
            let Value::Array(items) = value else {
                return Err(Problem::NotAList);
            };
            let mut chosen: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                let Some(text) = clean_text(item, false, false).map_err(|_| Problem::NotAList)?
                else {
                    return Err(Problem::NotAnOption);
                };
                if !options.contains(&text) {
                    return Err(Problem::NotAnOption);
                }
                if chosen.contains(&text) {
                    return Err(Problem::RepeatedChoice);
                }
                chosen.push(text);
            }
            Ok((!chosen.is_empty()).then_some(FieldValue::List(chosen)))
        }
        FieldKind::Consent { option } => match value {
            Value::Bool(true) => Ok(Some(FieldValue::List(vec![option.clone()]))),
            Value::Bool(false) => Ok(None),
            _ => Err(Problem::NotABoolean),
        },
    }
}

/// A string input, trimmed (and NFKC-normalised where only ASCII is meaningful, so digits
/// typed full-width on a phone count). `None` when blank.
pub fn clean_text(value: &Value, multiline: bool, nfkc: bool) -> Result<Option<String>, Problem> {
    let Value::String(raw) = value else {
        return Err(Problem::NotAString);
    };
    let allowed_control = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if raw.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return Err(Problem::ControlCharacters);
    }
    let text: String = if nfkc {
        raw.nfkc().collect()
    } else {
        raw.clone()
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let text = if multiline {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    };
    Ok(Some(text))
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
    use crate::config::Config;
    use serde_json::json;

    fn seminar() -> Form {
        let config = Config::parse(crate::config::EMBEDDED_CONFIG, "relay.toml").unwrap();
        config.forms["seminar"].clone()
    }

    fn check(body: Value) -> Result<Accepted, FieldErrors> {
        let bytes = serde_json::to_vec(&body).unwrap();
        validate(&seminar(), &Inputs::parse(&bytes).unwrap())
    }

    fn valid() -> Value {
        json!({"name": " 山田 太郎 ", "email": "taro@example.jp", "session": "午前の部", "consent": true})
    }

    #[test]
    fn builds_the_record_with_fixed_values() {
        let accepted = check(valid()).unwrap();
        let text = |code: &str| accepted.record[code].value.clone();
        assert_eq!(text("氏名"), FieldValue::Text("山田 太郎".into()));
        assert_eq!(text("同意"), FieldValue::List(vec!["同意する".into()]));
        assert_eq!(text("流入元"), FieldValue::Text("web".into()));
        assert_eq!(accepted.record.len(), 5);
        assert!(!accepted.is_bot);
    }

    #[test]
    fn normalises_full_width_digits_for_numbers_and_phones() {
        let mut body = valid();
        body["attendees"] = json!("３");
        body["phone"] = json!("０３－１２３４－５６７８");
        let accepted = check(body).unwrap();
        assert_eq!(
            accepted.record["参加人数"].value,
            FieldValue::Text("3".into())
        );
        assert_eq!(
            accepted.record["電話番号"].value,
            FieldValue::Text("03-1234-5678".into())
        );
    }

    #[test]
    fn reports_every_problem_at_once() {
        let errors = check(
            json!({"name": "", "email": "nope", "session": "夜の部", "extra": 1,
                                   "preferred_date": "2026-02-30", "attendees": 11}),
        )
        .unwrap_err();
        assert_eq!(errors["name"], Problem::Required);
        assert_eq!(errors["email"], Problem::InvalidEmail);
        assert_eq!(errors["session"], Problem::NotAnOption);
        assert_eq!(errors["extra"], Problem::UnknownField);
        assert_eq!(errors["preferred_date"], Problem::InvalidDate);
        assert_eq!(errors["consent"], Problem::ConsentRequired);
        assert!(matches!(errors["attendees"], Problem::OutOfRange { .. }));
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let mut body = valid();
        body["name"] = json!("あ".repeat(100));
        assert!(check(body.clone()).is_ok());
        body["name"] = json!("あ".repeat(101));
        assert_eq!(
            check(body).unwrap_err()["name"],
            Problem::TooLong { max: 100 }
        );
    }

    #[test]
    fn newlines_only_in_multiline() {
        let mut body = valid();
        body["question"] = json!("一行目\r\n二行目");
        let accepted = check(body.clone()).unwrap();
        assert_eq!(
            accepted.record["質問"].value,
            FieldValue::Text("一行目\n二行目".into())
        );
        body["name"] = json!("山田\n太郎");
        assert_eq!(check(body).unwrap_err()["name"], Problem::ControlCharacters);
    }

    #[test]
    fn honeypot_marks_bots() {
        let mut body = valid();
        body["website"] = json!("http://spam.example");
        assert!(check(body.clone()).unwrap().is_bot);
        body["email"] = json!("not an email");
        body["extra"] = json!(1);
        assert!(
            check(body).unwrap().is_bot,
            "a bot never learns which fields were wrong"
        );
    }

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
}
