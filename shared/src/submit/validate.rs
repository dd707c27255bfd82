//! A form's inputs checked against its declaration: every problem is collected so the
//! applicant sees all of them at once; only declared inputs (plus the honeypot) are accepted,
//! and only declared kintone fields are written.

use serde_json::Value;
use validator::{ValidateEmail, ValidateUrl};

use super::submission::{Answers, FieldValue, FileRef, WriteValue};
use crate::config::{FieldKind, Form};
use crate::files::{FileRule, HandleKey, HandleProblem, handle};
use crate::input::{
    Decimal, FieldErrors, Inputs, Member, Problem, TextRule, check_length, clean_text, parse_date,
};

/// What a valid post is.
#[derive(Debug)]
pub enum Validated {
    /// A person's answers, by kintone field.
    Person(Answers),
    /// The honeypot input was filled in: answer as if stored, store nothing.
    Bot,
}

/// What opens the handles of a form's file inputs: the key, and the time of the submission.
pub struct HandleCheck {
    pub key: HandleKey,
    pub now: std::time::SystemTime,
}

/// Checks every input against the form and returns the answers by kintone field, opening file
/// handles with `files` (without it, every file handle is refused).
pub fn validate(
    form: &Form,
    inputs: &Inputs,
    files: Option<&HandleCheck>,
) -> Result<Validated, FieldErrors> {
    // A bot gets the answer a person would, whatever else it sent, and nothing is stored.
    let is_bot = form
        .honeypot
        .as_deref()
        .and_then(|name| inputs.get(name))
        .is_some_and(|member| match member.as_json() {
            Some(Value::Null | Value::Bool(false)) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            _ => true,
        });
    if is_bot {
        return Ok(Validated::Bot);
    }
    let mut errors = FieldErrors::new();
    for name in inputs.names() {
        let declared = form.fields.contains_key(name) || form.honeypot.as_deref() == Some(name);
        if !declared {
            errors.insert(name.to_owned(), Problem::UnknownField);
        }
    }
    let mut answers = Answers::new();
    for (name, field) in &form.fields {
        let parsed = match &field.kind {
            FieldKind::File(rule) => parse_files(rule, &form.name, name, inputs.get(name), files),
            kind => parse_value(kind, inputs.get(name)),
        };
        match parsed {
            Ok(Some(value)) => {
                answers.insert(field.kintone.clone(), WriteValue { value });
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
    if errors.is_empty() {
        Ok(Validated::Person(answers))
    } else {
        Err(errors)
    }
}

/// `Ok(None)` means "not given" (absent, null, blank or an empty list).
fn parse_value(kind: &FieldKind, member: Option<&Member>) -> Result<Option<FieldValue>, Problem> {
    let member = match member {
        None => return Ok(None),
        Some(member) if member.is_null() => return Ok(None),
        Some(member) => member,
    };
    if let FieldKind::Number { min, max } = kind {
        return parse_number(member, min.as_ref(), max.as_ref());
    }
    let Some(value) = member.as_json() else {
        return Err(type_problem(kind));
    };
    match kind {
        FieldKind::Text { max_length } | FieldKind::Multiline { max_length } => {
            let rule = match kind {
                FieldKind::Multiline { .. } => TextRule::MultiLine,
                _ => TextRule::AsTyped,
            };
            let Some(text) = clean_text(value, rule)? else {
                return Ok(None);
            };
            check_length(&text, *max_length)?;
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Email { max_length } => {
            let Some(text) = clean_text(value, TextRule::AsTyped)? else {
                return Ok(None);
            };
            check_length(&text, *max_length)?;
            if !text.validate_email() {
                return Err(Problem::InvalidEmail);
            }
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Tel { max_length } => {
            let Some(text) = clean_text(value, TextRule::Normalised)? else {
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
            let Some(text) = clean_text(value, TextRule::AsTyped)? else {
                return Ok(None);
            };
            check_length(&text, *max_length)?;
            let scheme_ok = text.starts_with("https://") || text.starts_with("http://");
            if !scheme_ok || !text.validate_url() {
                return Err(Problem::InvalidUrl);
            }
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Date => {
            let Some(text) = clean_text(value, TextRule::Normalised)? else {
                return Ok(None);
            };
            parse_date(&text).ok_or(Problem::InvalidDate)?;
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Datetime => {
            let Some(text) = clean_text(value, TextRule::Normalised)? else {
                return Ok(None);
            };
            let parsed =
                time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| Problem::InvalidDatetime)?;
            // kintone stores DATETIME in UTC to the minute; send the same instant in UTC. An
            // instant whose UTC year leaves the calendar (9999-12-31T12:00-12:00) is refused,
            // never converted: `to_offset` would panic on it.
            let utc = parsed
                .checked_to_offset(time::UtcOffset::UTC)
                .ok_or(Problem::InvalidDatetime)?;
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
            let Some(text) = clean_text(value, TextRule::AsTyped)? else {
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
                let Some(text) =
                    clean_text(item, TextRule::AsTyped).map_err(|_| Problem::NotAList)?
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
        FieldKind::Number { .. } => Err(Problem::InvalidNumber),
        FieldKind::File(_) => Err(Problem::InvalidFileHandle),
    }
}

/// A file input: a list of handles from `POST /forms/{form}/files/{input}`, each opened for
/// this form and input, at most `max_files`, each file at most once.
fn parse_files(
    rule: &FileRule,
    form: &str,
    input: &str,
    member: Option<&Member>,
    files: Option<&HandleCheck>,
) -> Result<Option<FieldValue>, Problem> {
    let items = match member {
        None => return Ok(None),
        Some(member) if member.is_null() => return Ok(None),
        Some(member) => match member.as_json() {
            Some(Value::Array(items)) => items,
            _ => return Err(Problem::NotAList),
        },
    };
    if items.is_empty() {
        return Ok(None);
    }
    if items.len() > rule.max_files {
        return Err(Problem::TooManyFiles {
            max: rule.max_files,
        });
    }
    let check = files.ok_or(Problem::InvalidFileHandle)?;
    let mut refs: Vec<FileRef> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(text) = item else {
            return Err(Problem::InvalidFileHandle);
        };
        let sealed =
            handle::open(&check.key, form, input, text, check.now).map_err(
                |problem| match problem {
                    HandleProblem::Invalid => Problem::InvalidFileHandle,
                    HandleProblem::Expired => Problem::FileHandleExpired,
                },
            )?;
        // The rule may have tightened since the upload.
        if sealed.size > rule.max_bytes as u64 {
            return Err(Problem::FileTooLarge {
                max_bytes: rule.max_bytes,
            });
        }
        let file = FileRef {
            file_key: sealed.upload_key.0,
        };
        if refs.contains(&file) {
            return Err(Problem::InvalidFileHandle);
        }
        refs.push(file);
    }
    Ok(Some(FieldValue::Files(refs)))
}

/// What an input says when it is sent a value of a JSON type it does not take.
fn type_problem(kind: &FieldKind) -> Problem {
    match kind {
        FieldKind::Choices { .. } | FieldKind::File(_) => Problem::NotAList,
        FieldKind::Consent { .. } => Problem::NotABoolean,
        FieldKind::Number { .. } => Problem::InvalidNumber,
        _ => Problem::NotAString,
    }
}

/// A number sent as a JSON number (kept as the text sent) or as a string, compared exactly.
fn parse_number(
    member: &Member,
    min: Option<&Decimal>,
    max: Option<&Decimal>,
) -> Result<Option<FieldValue>, Problem> {
    let text = match member {
        Member::Number(text) => text.clone(),
        Member::Json(value) => match clean_text(value, TextRule::Normalised)? {
            Some(text) => text,
            None => return Ok(None),
        },
        Member::Unreadable => return Err(Problem::InvalidNumber),
    };
    let number = Decimal::parse(&text).ok_or(Problem::InvalidNumber)?;
    let too_low = min.is_some_and(|min| number < *min);
    let too_high = max.is_some_and(|max| number > *max);
    if too_low || too_high {
        return Err(Problem::OutOfRange {
            min: min.cloned(),
            max: max.cloned(),
        });
    }
    Ok(Some(FieldValue::Text(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submit::{Receipt, Submission};
    use serde_json::json;

    fn seminar() -> Form {
        crate::fixtures::config().forms["seminar"].clone()
    }

    fn check(body: Value) -> Result<Validated, FieldErrors> {
        let bytes = serde_json::to_vec(&body).unwrap();
        validate(&seminar(), &Inputs::parse(&bytes).unwrap(), None)
    }

    fn answers(body: Value) -> Answers {
        match check(body) {
            Ok(Validated::Person(answers)) => answers,
            other => panic!("not a person's answers: {other:?}"),
        }
    }

    fn valid() -> Value {
        json!({"name": " 山田 太郎 ", "email": "taro@example.jp", "session": "午前の部", "consent": true})
    }

    #[test]
    fn builds_the_record_with_fixed_values() {
        let answers = answers(valid());
        assert_eq!(answers.len(), 4);
        let receipt = Receipt::random().unwrap();
        let submission = Submission::new(&seminar(), answers, receipt.clone(), None);
        let text = |code: &str| submission.record[code].value.clone();
        assert_eq!(text("氏名"), FieldValue::Text("山田 太郎".into()));
        assert_eq!(text("同意"), FieldValue::List(vec!["同意する".into()]));
        assert_eq!(text("流入元"), FieldValue::Text("web".into()));
        assert_eq!(text("受付番号"), FieldValue::Text(receipt.as_str().into()));
        // The four answers, the fixed value and the receipt; no key was sent.
        assert_eq!(submission.record.len(), 6);
    }

    #[test]
    fn normalises_full_width_digits_for_numbers_and_phones() {
        let mut body = valid();
        body["attendees"] = json!("３");
        body["phone"] = json!("０３－１２３４－５６７８");
        let answers = answers(body);
        assert_eq!(answers["参加人数"].value, FieldValue::Text("3".into()));
        assert_eq!(
            answers["電話番号"].value,
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
        assert_eq!(
            answers(body.clone())["質問"].value,
            FieldValue::Text("一行目\n二行目".into())
        );
        body["name"] = json!("山田\n太郎");
        assert_eq!(check(body).unwrap_err()["name"], Problem::ControlCharacters);
    }

    #[test]
    fn a_datetime_beyond_year_9999_in_utc_is_refused_not_a_crash() {
        let form = crate::config::Config::parse(
            r#"
[kintone]
base_url = "https://example.cybozu.com"
[forms.f]
app = 1
token_secret = "s"
allow_no_origin = true
fields.at = { kintone = "日時", type = "datetime" }
"#,
            "test",
        )
        .unwrap()
        .forms["f"]
            .clone();
        let check = |at: &str| {
            let body = serde_json::to_vec(&json!({ "at": at })).unwrap();
            validate(&form, &Inputs::parse(&body).unwrap(), None)
        };
        for at in ["9999-12-31T12:00:00-12:00", "0999-12-31T23:00:00+14:00"] {
            assert_eq!(
                check(at).unwrap_err()["at"],
                Problem::InvalidDatetime,
                "{at}"
            );
        }
        assert!(matches!(
            check("9999-12-31T12:00:00+09:00"),
            Ok(Validated::Person(_))
        ));
    }

    #[test]
    fn numbers_are_compared_exactly_and_huge_ones_are_invalid_input() {
        // The body as sent, so the number keeps its digits (json! would round it to a float).
        let with = |member: &str| {
            let text = valid()
                .to_string()
                .replacen('{', &format!("{{{member}, "), 1);
            validate(&seminar(), &Inputs::parse(text.as_bytes()).unwrap(), None)
        };
        assert!(matches!(
            with(r#""attendees": 10.0000000000000001"#).unwrap_err()["attendees"],
            Problem::OutOfRange { .. }
        ));
        assert!(with(r#""attendees": 10.000"#).is_ok());
        let mut body = valid();
        body["attendees"] = json!("10.0000000000000001");
        assert!(matches!(
            check(body.clone()).unwrap_err()["attendees"],
            Problem::OutOfRange { .. }
        ));
        body["attendees"] = json!(10);
        assert!(check(body.clone()).is_ok());
        let huge = |field: &str| with(&format!("\"{field}\": 1e400")).unwrap_err();
        assert_eq!(huge("attendees")["attendees"], Problem::InvalidNumber);
        assert_eq!(huge("phone")["phone"], Problem::NotAString);
    }

    #[test]
    fn honeypot_marks_bots() {
        let mut body = valid();
        body["website"] = json!("http://spam.example");
        assert!(matches!(check(body.clone()), Ok(Validated::Bot)));
        body["email"] = json!("not an email");
        body["extra"] = json!(1);
        assert!(
            matches!(check(body), Ok(Validated::Bot)),
            "a bot never learns which fields were wrong"
        );
    }
}
