//! An app's field settings as kintone's Get Form Fields returns them
//! (`GET /k/v1/app/form/fields.json?app=N`), and the two read-only calls the CLI makes.
//!
//! The endpoint is not in the team's fact sheet: kintone.dev "Get Form Fields" says token
//! authentication works and the live app's settings need "permission to view records or add
//! records" (app management only for the pre-live settings), so a form's add-only token and a
//! lookup's view-only token both can read them. The property shapes follow
//! `@kintone/rest-api-client`'s `property.ts`: `required`/`unique` booleans, `maxLength` and
//! the like as strings that are `""` when unset; both spellings of the booleans are accepted.

use std::collections::BTreeMap;
use std::time::Duration;

use relay_shared::config::KintoneSettings;
use relay_shared::input::Decimal;
use relay_shared::kintone::FieldType;
use serde_json::{Map, Value, json};

/// Every field of one app, by field code.
#[derive(Debug, Clone, Default)]
pub struct AppFields {
    pub revision: String,
    pub fields: BTreeMap<String, FieldSettings>,
}

impl AppFields {
    pub fn get(&self, code: &str) -> Option<&FieldSettings> {
        self.fields.get(code)
    }

    /// Parses a Get Form Fields response body.
    pub fn from_json(body: &Value) -> Result<Self, String> {
        let properties = body
            .get("properties")
            .and_then(Value::as_object)
            .ok_or("the answer has no \"properties\" object")?;
        Ok(AppFields {
            revision: text(body.get("revision")),
            fields: parse_properties(properties),
        })
    }
}

fn parse_properties(properties: &Map<String, Value>) -> BTreeMap<String, FieldSettings> {
    properties
        .iter()
        .map(|(code, property)| (code.clone(), FieldSettings::from_json(code, property)))
        .collect()
}

/// One field's settings, the parts the relay's checks use.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSettings {
    pub code: String,
    /// The field name people see (`フィールド名`).
    pub label: String,
    /// kintone's type name as sent, for messages even when this version does not know it.
    pub type_name: String,
    pub field_type: Option<FieldType>,
    pub required: bool,
    /// "Prohibit duplicate values".
    pub unique: bool,
    pub max_length: Option<usize>,
    pub min_value: Option<Decimal>,
    pub max_value: Option<Decimal>,
    /// Option labels in the app's order.
    pub options: Vec<String>,
    /// A default value or "the current date/time": kintone fills the field when a record is
    /// added without it.
    pub has_default: bool,
    /// Process management and categories are listed even when off (`enabled: false`).
    pub enabled: bool,
    /// A table's columns, by code.
    pub columns: BTreeMap<String, FieldSettings>,
}

impl FieldSettings {
    fn from_json(code: &str, p: &Value) -> Self {
        let type_name = text(p.get("type"));
        let options = match p.get("options").and_then(Value::as_object) {
            Some(options) => {
                let mut listed: Vec<(u64, &String)> = options
                    .iter()
                    .map(|(label, option)| {
                        let index = number(option.get("index")).unwrap_or(u64::MAX);
                        (index, label)
                    })
                    .collect();
                listed.sort();
                listed.into_iter().map(|(_, label)| label.clone()).collect()
            }
            None => Vec::new(),
        };
        let has_default = match p.get("defaultValue") {
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(items)) => !items.is_empty(),
            _ => false,
        } || flag(p.get("defaultNowValue"));
        FieldSettings {
            code: p
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or(code)
                .to_owned(),
            label: p
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or(code)
                .to_owned(),
            field_type: FieldType::from_name(&type_name),
            type_name,
            required: flag(p.get("required")),
            unique: flag(p.get("unique")),
            max_length: number(p.get("maxLength")).and_then(|n| usize::try_from(n).ok()),
            min_value: decimal(p.get("minValue")),
            max_value: decimal(p.get("maxValue")),
            options,
            has_default,
            enabled: p.get("enabled").is_none_or(|enabled| flag(Some(enabled))),
            columns: p
                .get("fields")
                .and_then(Value::as_object)
                .map(parse_properties)
                .unwrap_or_default(),
        }
    }

    pub fn is(&self, field_type: FieldType) -> bool {
        self.field_type == Some(field_type)
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

fn number(value: Option<&Value>) -> Option<u64> {
    match value {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

fn decimal(value: Option<&Value>) -> Option<Decimal> {
    match value {
        Some(Value::Number(n)) => Decimal::parse(&n.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Decimal::parse(s.trim()),
        _ => None,
    }
}

/// Why a call to kintone gave no answer to use.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot reach kintone at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// kintone's own error answer; `code` is what to act on, never `message`.
    #[error("kintone answered {status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("kintone answered {status} without a kintone error: {detail}")]
    Unexpected { status: u16, detail: String },
}

impl FetchError {
    pub fn code(&self) -> Option<&str> {
        match self {
            FetchError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The domain's Basic authentication (only for a domain that has it on).
#[derive(Clone)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

/// A client for the two calls: the field settings, and whether a token can view records.
pub struct Kintone {
    http: reqwest::Client,
    api_root: String,
    basic_auth: Option<BasicAuth>,
}

impl Kintone {
    pub fn new(settings: &KintoneSettings, basic_auth: Option<BasicAuth>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout.max(Duration::from_secs(10)))
            // As in the relay: a redirect would carry the token wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kintone-relay-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| err.to_string())?;
        let api_root = match settings.guest_space {
            Some(space) => format!("{}/k/guest/{space}/v1", settings.base_url),
            None => format!("{}/k/v1", settings.base_url),
        };
        Ok(Kintone {
            http,
            api_root,
            basic_auth,
        })
    }

    fn request(
        &self,
        method: reqwest::Method,
        resource: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}/{resource}", self.api_root))
            .header("X-Cybozu-API-Token", token)
            .header("Accept-Language", "en");
        if let Some(basic) = &self.basic_auth {
            request = request.basic_auth(&basic.username, Some(&basic.password));
        }
        request
    }

    /// `GET app/form/fields.json?app=N`: the live app's field settings.
    pub async fn form_fields(&self, app: u64, token: &str) -> Result<AppFields, FetchError> {
        // The app id is a number, so the query string needs no encoding.
        let resource = format!("app/form/fields.json?app={app}");
        let request = self.request(reqwest::Method::GET, &resource, token);
        let body = self.send(request).await?;
        AppFields::from_json(&body).map_err(|detail| FetchError::Unexpected {
            status: 200,
            detail,
        })
    }

    /// Whether the token may view records: asks for the id of at most one record, the least a
    /// view can return. `Ok(false)` on kintone's "this token cannot run this API" (GAIA_NO01).
    pub async fn can_view_records(&self, app: u64, token: &str) -> Result<bool, FetchError> {
        let request = self
            .request(reqwest::Method::POST, "records.json", token)
            .header("X-HTTP-Method-Override", "GET")
            .json(&json!({ "app": app, "query": "limit 1", "fields": ["$id"] }));
        match self.send(request).await {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("GAIA_NO01") => Ok(false),
            Err(err) => Err(err),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, FetchError> {
        let unreachable = |err: reqwest::Error| FetchError::Unreachable {
            url: self.api_root.clone(),
            detail: err.to_string(),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        let body: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            return body.ok_or_else(|| FetchError::Unexpected {
                status: status.as_u16(),
                detail: "the body is not JSON".into(),
            });
        }
        let code = body
            .as_ref()
            .and_then(|b| b.get("code"))
            .and_then(Value::as_str);
        match code {
            Some(code) => Err(FetchError::Refused {
                status: status.as_u16(),
                code: code.to_owned(),
                message: text(body.as_ref().and_then(|b| b.get("message"))),
            }),
            None => Err(FetchError::Unexpected {
                status: status.as_u16(),
                detail: "not a kintone error (maintenance, a proxy, or not a kintone URL)".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kintone_field_settings() {
        let body = json!({
            "revision": "7",
            "properties": {
                "氏名": {"type": "SINGLE_LINE_TEXT", "code": "氏名", "label": "お名前",
                         "required": true, "unique": "false", "maxLength": "100",
                         "defaultValue": ""},
                "数": {"type": "NUMBER", "code": "数", "label": "数", "required": false,
                       "minValue": "1", "maxValue": "", "defaultValue": "3"},
                "色": {"type": "DROP_DOWN", "code": "色", "label": "色",
                       "options": {"青": {"label": "青", "index": "1"},
                                   "赤": {"label": "赤", "index": "0"}}},
                "日": {"type": "DATE", "code": "日", "label": "日", "defaultNowValue": true},
                "状態": {"type": "STATUS", "code": "状態", "label": "状態", "enabled": false},
                "明細": {"type": "SUBTABLE", "code": "明細", "label": "明細",
                         "fields": {"品名": {"type": "SINGLE_LINE_TEXT", "code": "品名",
                                             "label": "品名"}}},
                "新型": {"type": "SOMETHING_NEW", "code": "新型", "label": "新型"}
            }
        });
        let app = AppFields::from_json(&body).unwrap();
        assert_eq!(app.revision, "7");
        let name = app.get("氏名").unwrap();
        assert_eq!(
            (
                name.label.as_str(),
                name.required,
                name.unique,
                name.max_length
            ),
            ("お名前", true, false, Some(100))
        );
        assert!(name.is(FieldType::SingleLineText) && !name.has_default);
        let number = app.get("数").unwrap();
        assert_eq!(number.min_value, Decimal::parse("1"));
        assert_eq!(number.max_value, None);
        assert!(number.has_default);
        assert_eq!(app.get("色").unwrap().options, ["赤", "青"]);
        assert!(app.get("日").unwrap().has_default);
        assert!(!app.get("状態").unwrap().enabled);
        assert!(app.get("氏名").unwrap().enabled);
        assert!(app.get("明細").unwrap().columns.contains_key("品名"));
        let new = app.get("新型").unwrap();
        assert_eq!(
            (new.field_type, new.type_name.as_str()),
            (None, "SOMETHING_NEW")
        );
        assert!(AppFields::from_json(&json!({"records": []})).is_err());
    }
}
