//! The kintone REST API client: one connection pool per instance, typed errors that tell
//! "retry later" from "refused" from "misconfigured".

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::config::KintoneSettings;
use crate::query::{FieldCode, KintoneQuery};
use crate::secrets::{BasicAuth, Token};
use crate::submission::Record;

/// What a call authenticates with: the app's token, plus the domain's Basic auth if enabled.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub token: Token,
    pub basic_auth: Option<BasicAuth>,
}

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
    /// What the relay tells the browser to wait when kintone gave no `Retry-After`.
    fn default_retry_after(self) -> Duration {
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

#[derive(Debug, thiserror::Error)]
pub enum KintoneError {
    /// Nothing was stored; the same request may succeed later.
    #[error("kintone unavailable ({reason})")]
    Unavailable {
        reason: Unavailable,
        retry_after: Duration,
    },
    /// kintone refused the data (`CB_VA01`): retrying the same data will fail again.
    #[error("kintone refused the request: {code} ({id})")]
    Refused {
        code: String,
        id: String,
        /// kintone's error keys (`record.<code>.value` ...) and messages.
        errors: BTreeMap<String, Vec<String>>,
    },
    /// The token, app, space or domain settings are wrong: only an operator can fix it.
    #[error("kintone rejected the relay's settings: HTTP {status} {code} {message} ({id})")]
    Misconfigured {
        status: u16,
        code: String,
        id: String,
        message: String,
    },
}

impl KintoneError {
    /// kintone does not know the token: it may have been rotated since we cached it.
    pub fn is_invalid_token(&self) -> bool {
        matches!(self, KintoneError::Misconfigured { code, .. } if code == "GAIA_IA02")
    }
}

#[derive(Deserialize)]
struct ErrorBody {
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

#[derive(Deserialize)]
struct AddRecordResponse {
    id: String,
}

#[derive(Deserialize)]
struct GetRecordsResponse {
    records: Vec<ReadRecord>,
}

/// A record in kintone's read shape: field code -> `{"type": ..., "value": ...}`.
pub type ReadRecord = serde_json::Map<String, serde_json::Value>;

/// kintone's id of a stored record. Logged for staff, never returned to a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordId(pub String);

pub struct KintoneClient {
    http: reqwest::Client,
    base_url: String,
    api_root: String,
}

impl KintoneClient {
    pub fn new(settings: &KintoneSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            // The REST API never redirects; following one would carry X-Cybozu-API-Token (a
            // custom header, which redirect handling does not strip) to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kintone-relay/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let api_root = match settings.guest_space {
            Some(space) => format!("{}/k/guest/{space}/v1", settings.base_url),
            None => format!("{}/k/v1", settings.base_url),
        };
        Ok(KintoneClient {
            http,
            base_url: settings.base_url.clone(),
            api_root,
        })
    }

    /// Opens a connection to the kintone domain (TCP and TLS) without calling the REST API: a
    /// `HEAD /` whose answer (a redirect to the login page) is not read. The connection stays
    /// in the pool for the first call; no API limit counts it.
    pub async fn open_connection(&self) -> Result<(), reqwest::Error> {
        let result = self
            .http
            .head(format!("{}/", self.base_url))
            .send()
            .await
            .map(drop);
        if let Err(err) = &result {
            tracing::warn!(error = %err, "cannot open a connection to kintone");
        }
        result
    }

    fn request(&self, resource: &str, credentials: &Credentials) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(format!("{}/{resource}", self.api_root))
            .header("X-Cybozu-API-Token", credentials.token.expose())
            // Messages are matched in is_duplicate; ask for the language it knows best.
            .header("Accept-Language", "en");
        if let Some(basic) = &credentials.basic_auth {
            request = request.basic_auth(&basic.username, Some(&basic.password));
        }
        request
    }

    /// Adds one record (`POST /k/v1/record.json`).
    pub async fn add_record(
        &self,
        credentials: &Credentials,
        app: u64,
        record: &Record,
    ) -> Result<RecordId, KintoneError> {
        let body = json!({ "app": app, "record": record });
        let response = self
            .request("record.json", credentials)
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let added: AddRecordResponse = read_success(response).await?;
        Ok(RecordId(added.id))
    }
}

impl KintoneClient {
    /// Gets the records matching `query` (`GET /k/v1/records.json`), only `fields`, never the
    /// total count. Sent as a POST with `X-HTTP-Method-Override: GET`, so the values in the
    /// query travel in the body, not in a URL that proxies and kintone's logs would keep.
    pub async fn get_records(
        &self,
        credentials: &Credentials,
        app: u64,
        query: &KintoneQuery,
        fields: &[FieldCode],
    ) -> Result<Vec<ReadRecord>, KintoneError> {
        let fields: Vec<&str> = fields.iter().map(FieldCode::as_str).collect();
        let body = json!({ "app": app, "query": query.as_str(), "fields": fields });
        let response = self
            .request("records.json", credentials)
            .header("X-HTTP-Method-Override", "GET")
            .json(&body)
            .send()
            .await
            .map_err(transport_error)?;
        let found: GetRecordsResponse = read_success(response).await?;
        Ok(found.records)
    }
}

fn transport_error(err: reqwest::Error) -> KintoneError {
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

async fn read_success<T: for<'de> Deserialize<'de>>(
    response: reqwest::Response,
) -> Result<T, KintoneError> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.clamp(1, 3600)));
    let bytes = response.bytes().await.map_err(transport_error)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|err| KintoneError::Misconfigured {
            status: status.as_u16(),
            code: "unexpected_response".into(),
            id: String::new(),
            message: format!("the success response was not understood: {err}"),
        });
    }
    let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
    Err(classify(status, body, retry_after))
}

fn classify(
    status: StatusCode,
    body: Option<ErrorBody>,
    retry_after: Option<Duration>,
) -> KintoneError {
    let unavailable = |reason: Unavailable| KintoneError::Unavailable {
        reason,
        retry_after: retry_after.unwrap_or_else(|| reason.default_retry_after()),
    };
    let code = body.as_ref().map(|b| b.code.as_str());
    if status == StatusCode::TOO_MANY_REQUESTS || code == Some("GAIA_TO04") {
        return unavailable(Unavailable::RateLimited);
    }
    // Database locks clear by themselves.
    if matches!(code, Some("GAIA_LT01" | "GAIA_DA02")) {
        return unavailable(Unavailable::ServerError);
    }
    match body {
        Some(body) if body.code == "CB_VA01" => KintoneError::Refused {
            code: body.code,
            id: body.id,
            errors: body
                .errors
                .into_iter()
                .map(|(key, value)| (key, value.messages))
                .collect(),
        },
        _ if status == StatusCode::SERVICE_UNAVAILABLE => unavailable(Unavailable::Maintenance),
        _ if status.is_server_error() => unavailable(Unavailable::ServerError),
        Some(body) => KintoneError::Misconfigured {
            status: status.as_u16(),
            code: body.code,
            id: body.id,
            message: body.message,
        },
        None => KintoneError::Misconfigured {
            status: status.as_u16(),
            code: "non_json_error".into(),
            id: String::new(),
            message: String::new(),
        },
    }
}

/// kintone's words for a "prohibit duplicate values" violation (ja, en). Field errors carry no
/// code of their own, so the message is the only way to recognise one; requests ask for English
/// (`Accept-Language`), and the Japanese text covers a domain whose settings force Japanese.
const DUPLICATE_MESSAGES: [&str; 2] = [
    "値がほかのレコードと重複しています。",
    "This value already exists in another record.",
];

/// Whether kintone's messages for one field say the value is a duplicate.
pub fn is_duplicate(messages: &[String]) -> bool {
    messages
        .iter()
        .any(|m| DUPLICATE_MESSAGES.contains(&m.trim()))
}

/// The kintone field code in a `CB_VA01` error key: `record.<code>.value`,
/// `record.<code>.values[0].value`, `record[<code>].value` ...
pub fn field_code_of_error_key(key: &str) -> Option<&str> {
    if let Some(rest) = key.strip_prefix("record[") {
        return rest.split_once(']').map(|(code, _)| code);
    }
    let rest = key.strip_prefix("record.")?;
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
    }
}
