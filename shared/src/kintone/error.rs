//! What a failed kintone call means, decided here from kintone's status, code and messages, so
//! that callers match variants and never compare kintone's strings.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// 429 `GAIA_TO04`: the domain's 100 concurrent requests are in use.
    RateLimited,
    /// 503: maintenance or an outage.
    Maintenance,
    /// Another 5xx, or a database lock.
    ServerError,
    Timeout,
    Unreachable,
}

impl Unavailable {
    /// How long to wait when kintone gave no `Retry-After`.
    pub(super) fn default_retry_after(self) -> Duration {
        Duration::from_secs(match self {
            Unavailable::RateLimited => 5,
            Unavailable::Maintenance => 60,
            Unavailable::ServerError | Unavailable::Timeout | Unavailable::Unreachable => 10,
        })
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unavailable::RateLimited => "rate limited",
            Unavailable::Maintenance => "maintenance",
            Unavailable::ServerError => "server error",
            Unavailable::Timeout => "timed out",
            Unavailable::Unreachable => "unreachable",
        })
    }
}

/// kintone's error codes that the relay acts on; the rest are kept as sent, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// `GAIA_IA02`: the token is unknown (rotated, revoked, or the app was not updated).
    InvalidToken,
    /// `GAIA_IQ10`: a query names an option that the choice field does not have.
    UnknownOption,
    /// `GAIA_TO04`: too many concurrent requests.
    TooManyRequests,
    /// `GAIA_LT01`, `GAIA_DA02`: the database is locked for a moment.
    DatabaseLocked,
    /// `CB_VA01`: missing or invalid input.
    InvalidInput,
    /// `GAIA_LO04`: a lookup field's value is not in its datasource app.
    LookupValueNotFound,
    /// `GAIA_BL01`: no file has this key (an upload key kintone no longer keeps, or a
    /// record file key that is gone).
    FileNotFound,
    /// A success status whose body the relay did not understand.
    UnexpectedResponse,
    /// An error status without kintone's JSON error body (a proxy's page, say).
    NoErrorBody,
    Other(String),
}

impl ErrorCode {
    fn parse(code: &str) -> Self {
        match code {
            "GAIA_IA02" => ErrorCode::InvalidToken,
            "GAIA_IQ10" => ErrorCode::UnknownOption,
            "GAIA_TO04" => ErrorCode::TooManyRequests,
            "GAIA_LT01" | "GAIA_DA02" => ErrorCode::DatabaseLocked,
            "CB_VA01" => ErrorCode::InvalidInput,
            "GAIA_LO04" => ErrorCode::LookupValueNotFound,
            "GAIA_BL01" => ErrorCode::FileNotFound,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// For logs: kintone's own code where there is one.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidToken => "GAIA_IA02",
            ErrorCode::UnknownOption => "GAIA_IQ10",
            ErrorCode::TooManyRequests => "GAIA_TO04",
            ErrorCode::DatabaseLocked => "GAIA_LT01",
            ErrorCode::InvalidInput => "CB_VA01",
            ErrorCode::LookupValueNotFound => "GAIA_LO04",
            ErrorCode::FileNotFound => "GAIA_BL01",
            ErrorCode::UnexpectedResponse => "unexpected_response",
            ErrorCode::NoErrorBody => "non_json_error",
            ErrorCode::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why kintone refused one value of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRefusal {
    /// The field prohibits duplicate values and another record holds this one.
    Duplicate,
    /// Anything else (a length, a missing required value, an unknown option...).
    Invalid,
}

/// One entry of a `CB_VA01` refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedValue {
    /// kintone's error key, such as `record.氏名.value` or `records[3].氏名.value`.
    pub error_key: String,
    /// In a batch add, the index of the refused record (`records[3]...`).
    pub record: Option<usize>,
    /// The field code in the key, when the key names a field of the record.
    pub field: Option<String>,
    pub reason: ValueRefusal,
}

#[derive(Debug, thiserror::Error)]
pub enum KintoneError {
    /// Nothing was stored; the same request may succeed later.
    #[error("kintone unavailable ({reason})")]
    Unavailable {
        reason: Unavailable,
        retry_after: Duration,
    },
    /// kintone refused the data (`CB_VA01`, `GAIA_LO04`): the same data will fail again.
    #[error("kintone refused the request: {code} ({id})")]
    Refused {
        code: ErrorCode,
        id: String,
        values: Vec<RefusedValue>,
    },
    /// The token, app, space or domain settings are wrong: only an operator can fix it.
    /// kintone's message is not kept: it can quote the values sent (personal data).
    #[error("kintone rejected the relay's settings: HTTP {status} {code} ({id})")]
    Misconfigured {
        status: u16,
        code: ErrorCode,
        id: String,
    },
}

impl KintoneError {
    /// kintone does not know the token: it may have been rotated since we cached it.
    pub fn is_invalid_token(&self) -> bool {
        matches!(
            self,
            KintoneError::Misconfigured {
                code: ErrorCode::InvalidToken,
                ..
            }
        )
    }

    /// A 401: the domain's Basic authentication refused the credentials. The relay always
    /// sends a token, and kintone answers an unknown token with 400 `GAIA_IA02`, so a 401
    /// (`CB_WA01`, `CB_AU01`, or a page without kintone's JSON) can only come from the Basic
    /// authentication in front of the API; the fact sheet does not pin down its exact code.
    pub fn is_basic_auth_refused(&self) -> bool {
        matches!(self, KintoneError::Misconfigured { status: 401, .. })
    }

    /// The query named an option that a choice field does not have.
    pub fn is_unknown_option(&self) -> bool {
        matches!(
            self,
            KintoneError::Misconfigured {
                code: ErrorCode::UnknownOption,
                ..
            }
        )
    }

    /// `GAIA_BL01`: kintone holds no file under the key asked for.
    pub fn is_file_not_found(&self) -> bool {
        matches!(
            self,
            KintoneError::Misconfigured {
                code: ErrorCode::FileNotFound,
                ..
            }
        )
    }

    /// kintone's code and error id, for logs (messages can quote values, so they stay out).
    pub fn code_and_id(&self) -> (&str, &str) {
        match self {
            KintoneError::Unavailable { .. } => ("", ""),
            KintoneError::Refused { code, id, .. } => (code.as_str(), id),
            KintoneError::Misconfigured { code, id, .. } => (code.as_str(), id),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ErrorBody {
    code: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: BTreeMap<String, ErrorMessages>,
}

#[derive(Deserialize)]
struct ErrorMessages {
    #[serde(default)]
    messages: Vec<String>,
}

pub(super) fn transport_error(err: reqwest::Error) -> KintoneError {
    let reason = if err.is_timeout() {
        Unavailable::Timeout
    } else {
        Unavailable::Unreachable
    };
    tracing::warn!(error = %err, "kintone call failed");
    KintoneError::Unavailable {
        reason,
        retry_after: reason.default_retry_after(),
    }
}

pub(super) fn unexpected_response(status: StatusCode, err: &serde_json::Error) -> KintoneError {
    tracing::warn!(error = %err, "kintone's success response was not understood");
    KintoneError::Misconfigured {
        status: status.as_u16(),
        code: ErrorCode::UnexpectedResponse,
        id: String::new(),
    }
}

pub(super) fn classify(
    status: StatusCode,
    body: Option<ErrorBody>,
    retry_after: Option<Duration>,
) -> KintoneError {
    let unavailable = |reason: Unavailable| KintoneError::Unavailable {
        reason,
        retry_after: retry_after.unwrap_or_else(|| reason.default_retry_after()),
    };
    let code = body.as_ref().map(|b| ErrorCode::parse(&b.code));
    if status == StatusCode::TOO_MANY_REQUESTS || code == Some(ErrorCode::TooManyRequests) {
        return unavailable(Unavailable::RateLimited);
    }
    // Database locks clear by themselves.
    if code == Some(ErrorCode::DatabaseLocked) {
        return unavailable(Unavailable::ServerError);
    }
    match (body, code) {
        (Some(body), Some(ErrorCode::LookupValueNotFound)) => {
            match lookup_field_of_message(&body.message) {
                Some(field) => KintoneError::Refused {
                    code: ErrorCode::LookupValueNotFound,
                    id: body.id,
                    values: vec![RefusedValue {
                        error_key: format!("record.{field}.value"),
                        record: None,
                        field: Some(field.to_owned()),
                        reason: ValueRefusal::Invalid,
                    }],
                },
                None => KintoneError::Misconfigured {
                    status: status.as_u16(),
                    code: ErrorCode::LookupValueNotFound,
                    id: body.id,
                },
            }
        }
        (Some(body), Some(ErrorCode::InvalidInput)) => KintoneError::Refused {
            code: ErrorCode::InvalidInput,
            id: body.id,
            values: body
                .errors
                .into_iter()
                .map(|(key, value)| RefusedValue {
                    record: record_index_of_error_key(&key),
                    field: field_code_of_error_key(&key).map(str::to_owned),
                    reason: if is_duplicate(&value.messages) {
                        ValueRefusal::Duplicate
                    } else {
                        ValueRefusal::Invalid
                    },
                    error_key: key,
                })
                .collect(),
        },
        _ if status == StatusCode::SERVICE_UNAVAILABLE => unavailable(Unavailable::Maintenance),
        _ if status.is_server_error() => unavailable(Unavailable::ServerError),
        (Some(body), Some(code)) => KintoneError::Misconfigured {
            status: status.as_u16(),
            code,
            id: body.id,
        },
        _ => KintoneError::Misconfigured {
            status: status.as_u16(),
            code: ErrorCode::NoErrorBody,
            id: String::new(),
        },
    }
}

/// kintone's words for a "prohibit duplicate values" violation (ja, en). Field errors carry no
/// code of their own, so the message is the only way to recognise one; requests ask for English
/// (`Accept-Language`), and the Japanese text covers a domain whose settings force Japanese.
/// An unrecognised message counts as `Invalid`, so a replay is never assumed by mistake.
const DUPLICATE_MESSAGES: [&str; 2] = [
    "値がほかのレコードと重複しています。",
    "This value already exists in another record.",
];

fn is_duplicate(messages: &[String]) -> bool {
    messages
        .iter()
        .any(|m| DUPLICATE_MESSAGES.contains(&m.trim()))
}

/// The field code in `GAIA_LO04`'s message, which names no error key: "A value v in the field f
/// does not exist in the datasource app for lookup, or …" (requests ask for English). The value
/// comes first and may hold any text, so the field is what stands right before the fixed end.
fn lookup_field_of_message(message: &str) -> Option<&str> {
    let before_end = &message[..message.rfind(" does not exist in the datasource app")?];
    let field = &before_end[before_end.rfind(" in the field ")? + " in the field ".len()..];
    (!field.is_empty() && !field.contains(char::is_whitespace)).then_some(field)
}

/// The record index in a batch add's error key, `records[<i>]....`.
fn record_index_of_error_key(key: &str) -> Option<usize> {
    let rest = key.strip_prefix("records[")?;
    rest.split_once(']')?.0.parse().ok()
}

/// The kintone field code in a `CB_VA01` error key: `record.<code>.value`,
/// `record.<code>.values[0].value`, `record[<code>].value`, `records[<i>].<code>.value` ...
fn field_code_of_error_key(key: &str) -> Option<&str> {
    let rest = match key.strip_prefix("records[") {
        // A batch add names the record first.
        Some(rest) => rest.split_once("].")?.1,
        None => {
            if let Some(rest) = key.strip_prefix("record[") {
                return rest.split_once(']').map(|(code, _)| code);
            }
            key.strip_prefix("record.")?
        }
    };
    let end = [".value", ".values"]
        .iter()
        .filter_map(|suffix| rest.find(suffix))
        .min()?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> Option<ErrorBody> {
        Some(ErrorBody {
            code: code.into(),
            id: "x".into(),
            message: "m".into(),
            errors: BTreeMap::new(),
        })
    }

    #[test]
    fn classifies_kintone_answers() {
        let s = |n| StatusCode::from_u16(n).unwrap();
        assert!(matches!(
            classify(s(429), body("GAIA_TO04"), None),
            KintoneError::Unavailable {
                reason: Unavailable::RateLimited,
                ..
            }
        ));
        assert!(matches!(
            classify(s(503), None, Some(Duration::from_secs(7))),
            KintoneError::Unavailable { reason: Unavailable::Maintenance, retry_after } if retry_after == Duration::from_secs(7)
        ));
        assert!(classify(s(400), body("GAIA_IA02"), None).is_invalid_token());
        assert!(classify(s(401), body("CB_WA01"), None).is_basic_auth_refused());
        assert!(classify(s(401), None, None).is_basic_auth_refused());
        assert!(!classify(s(400), body("GAIA_IA02"), None).is_basic_auth_refused());
        assert!(classify(s(400), body("GAIA_IQ10"), None).is_unknown_option());
        assert!(matches!(
            classify(s(403), body("GAIA_NO01"), None),
            KintoneError::Misconfigured { .. }
        ));
        assert!(matches!(
            classify(s(404), None, None),
            KintoneError::Misconfigured { .. }
        ));
        assert!(matches!(
            classify(s(400), body("CB_VA01"), None),
            KintoneError::Refused { .. }
        ));
    }

    #[test]
    fn refusals_name_fields_and_recognise_duplicates() {
        let mut errors = BTreeMap::new();
        errors.insert(
            "record.送信ID.value".to_owned(),
            ErrorMessages {
                messages: vec!["This value already exists in another record.".into()],
            },
        );
        errors.insert(
            "record.氏名.value".to_owned(),
            ErrorMessages {
                messages: vec!["Required.".into()],
            },
        );
        let body = ErrorBody {
            code: "CB_VA01".into(),
            id: "x".into(),
            message: "m".into(),
            errors,
        };
        let KintoneError::Refused { values, .. } =
            classify(StatusCode::BAD_REQUEST, Some(body), None)
        else {
            panic!("not a refusal");
        };
        assert_eq!(values[0].field.as_deref(), Some("氏名"));
        assert_eq!(values[0].reason, ValueRefusal::Invalid);
        assert_eq!(values[1].field.as_deref(), Some("送信ID"));
        assert_eq!(values[1].reason, ValueRefusal::Duplicate);
    }

    #[test]
    fn a_lookup_value_refusal_names_its_field_never_the_value() {
        let body = ErrorBody {
            code: "GAIA_LO04".into(),
            id: "x".into(),
            message: "A value 秘密 in the field x does not exist in the datasource app for lookup in the field 取引先 does not exist in the datasource app for lookup, or you do not have permission to view the value.".into(),
            errors: BTreeMap::new(),
        };
        let error = classify(StatusCode::BAD_REQUEST, Some(body), None);
        let KintoneError::Refused { values, .. } = &error else {
            panic!("not a refusal: {error:?}");
        };
        assert_eq!(values[0].field.as_deref(), Some("取引先"));
        assert!(!format!("{error} {error:?}").contains("秘密"));
        let unknown = ErrorBody {
            code: "GAIA_LO04".into(),
            id: "x".into(),
            message: "参照先のアプリにありません: 秘密".into(),
            errors: BTreeMap::new(),
        };
        let error = classify(StatusCode::BAD_REQUEST, Some(unknown), None);
        assert!(matches!(error, KintoneError::Misconfigured { .. }));
        assert!(!format!("{error} {error:?}").contains("秘密"));
    }

    #[test]
    fn finds_field_codes_in_error_keys() {
        assert_eq!(field_code_of_error_key("record.氏名.value"), Some("氏名"));
        assert_eq!(
            field_code_of_error_key("record.参加.values[1].value"),
            Some("参加")
        );
        assert_eq!(field_code_of_error_key("record[人数].value"), Some("人数"));
        assert_eq!(
            field_code_of_error_key("record.担当.values.value"),
            Some("担当")
        );
        assert_eq!(field_code_of_error_key("app"), None);
        assert_eq!(
            field_code_of_error_key("records[12].受付番号.value"),
            Some("受付番号")
        );
        assert_eq!(
            record_index_of_error_key("records[12].受付番号.value"),
            Some(12)
        );
        assert_eq!(record_index_of_error_key("record.受付番号.value"), None);
        assert_eq!(field_code_of_error_key("records"), None);
    }
}
