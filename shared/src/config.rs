//! `relay.toml`: the declaration of every form (and later every lookup) the relay serves.
//!
//! The file is parsed once at start-up into checked types; anything wrong stops start-up with a
//! message naming the file, the form and the key, so a bad deploy fails before it serves anyone.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::query::{FieldCode, OrderBy, TrustedCondition};

/// The relay.toml at the repository root, compiled into every function. `RELAY_CONFIG` names a
/// file to read instead.
pub const EMBEDDED_CONFIG: &str = include_str!("../../relay.toml");
pub const EMBEDDED_CONFIG_NAME: &str = "relay.toml (embedded at build time)";

const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Lambda refuses synchronous payloads over 6 MB, so a larger limit could never be reached.
const MAX_MAX_BODY_BYTES: usize = 6 * 1024 * 1024;
const DEFAULT_SECRET_TTL_SECONDS: u64 = 300;
const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 3_000;
const DEFAULT_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ConfigError {
    pub source_name: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub kintone: KintoneSettings,
    pub secrets: SecretSettings,
    pub forms: BTreeMap<String, Form>,
    pub lookups: BTreeMap<String, Lookup>,
}

#[derive(Debug, Clone)]
pub struct KintoneSettings {
    /// `https://example.cybozu.com`, without a trailing slash.
    pub base_url: String,
    pub guest_space: Option<u64>,
    pub basic_auth_secret: Option<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// The time zone of the token's user ("Administrator"), which kintone's `TODAY()` uses;
    /// the relay's own expiry check uses the same.
    pub utc_offset: time::UtcOffset,
}

#[derive(Debug, Clone)]
pub struct SecretSettings {
    pub cache_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct Form {
    pub name: String,
    pub app: u64,
    pub token_secret: String,
    pub allowed_origins: Vec<String>,
    pub allow_no_origin: bool,
    pub receipt_field: Option<String>,
    pub idempotency_field: Option<String>,
    pub honeypot: Option<String>,
    pub fixed: BTreeMap<String, String>,
    pub max_body_bytes: usize,
    pub fields: BTreeMap<String, Field>,
}

impl Form {
    /// The input that writes the given kintone field, if any.
    pub fn input_for_kintone_field(&self, code: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(_, field)| field.kintone == code)
            .map(|(input, _)| input.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub kintone: String,
    pub kind: FieldKind,
    pub required: bool,
}

/// What an input accepts; each variant carries only the keys that make sense for it.
#[derive(Debug, Clone)]
pub enum FieldKind {
    Text {
        max_length: usize,
        multiline: bool,
    },
    Email {
        max_length: usize,
    },
    Tel {
        max_length: usize,
    },
    Url {
        max_length: usize,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Date,
    Datetime,
    Choice {
        options: Vec<String>,
    },
    Choices {
        options: Vec<String>,
    },
    /// A single check box that must be ticked; stored as the one option of a CHECK_BOX field.
    Consent {
        option: String,
    },
}

impl Config {
    /// Reads `RELAY_CONFIG` if set, else the embedded relay.toml; applies `KINTONE_BASE_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut config = match std::env::var_os("RELAY_CONFIG") {
            Some(path) => Self::from_file(Path::new(&path))?,
            None => Self::parse(EMBEDDED_CONFIG, EMBEDDED_CONFIG_NAME)?,
        };
        if let Ok(url) = std::env::var("KINTONE_BASE_URL") {
            config.kintone.base_url = check_base_url(&url).map_err(|message| ConfigError {
                source_name: "KINTONE_BASE_URL".into(),
                message,
            })?;
        }
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            source_name: name.clone(),
            message: format!("cannot read the file: {err}"),
        })?;
        Self::parse(&text, &name)
    }

    /// Parses and checks a relay.toml; `source_name` is used in error messages.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let fail = |message: String| ConfigError {
            source_name: source_name.to_owned(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|err| fail(err.to_string()))?;
        raw.check().map_err(|err| fail(err.to_string()))
    }
}

/// A problem at a dotted key path such as `forms.seminar.fields.session.options`.
#[derive(Debug)]
struct KeyError {
    key: String,
    message: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

fn key_error(key: impl Into<String>, message: impl Into<String>) -> KeyError {
    KeyError {
        key: key.into(),
        message: message.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    kintone: RawKintone,
    #[serde(default)]
    secrets: RawSecrets,
    #[serde(default)]
    forms: BTreeMap<String, RawForm>,
    #[serde(default)]
    lookups: BTreeMap<String, RawLookup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKintone {
    base_url: String,
    guest_space: Option<u64>,
    basic_auth_secret: Option<String>,
    connect_timeout_ms: Option<u64>,
    timeout_ms: Option<u64>,
    utc_offset: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSecrets {
    cache_ttl_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForm {
    app: u64,
    token_secret: String,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    allow_no_origin: bool,
    receipt_field: Option<String>,
    idempotency_field: Option<String>,
    honeypot: Option<String>,
    #[serde(default)]
    fixed: BTreeMap<String, String>,
    max_body_bytes: Option<usize>,
    #[serde(default)]
    fields: BTreeMap<String, RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    kintone: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    required: bool,
    max_length: Option<usize>,
    min: Option<f64>,
    max: Option<f64>,
    options: Option<Vec<String>>,
}

impl RawConfig {
    fn check(self) -> Result<Config, KeyError> {
        let kintone = self.kintone.check()?;
        let cache_ttl = self
            .secrets
            .cache_ttl_seconds
            .unwrap_or(DEFAULT_SECRET_TTL_SECONDS);
        if cache_ttl == 0 {
            return Err(key_error(
                "secrets.cache_ttl_seconds",
                "must be at least 1 (a token fetched for every request would hit Secrets Manager's rate limit)",
            ));
        }
        let mut forms = BTreeMap::new();
        for (name, raw) in self.forms {
            let form = raw.check(&name)?;
            forms.insert(name, form);
        }
        let mut lookups = BTreeMap::new();
        for (name, raw) in self.lookups {
            let lookup = raw.check(&name)?;
            lookups.insert(name, lookup);
        }
        Ok(Config {
            kintone,
            secrets: SecretSettings {
                cache_ttl: Duration::from_secs(cache_ttl),
            },
            forms,
            lookups,
        })
    }
}

impl RawKintone {
    fn check(self) -> Result<KintoneSettings, KeyError> {
        let base_url =
            check_base_url(&self.base_url).map_err(|m| key_error("kintone.base_url", m))?;
        let connect_timeout_ms = self
            .connect_timeout_ms
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS);
        let timeout_ms = self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        // Two Secrets Manager reads (3 s each at most) and a repeated call must fit in the
        // functions' 25 s timeout, or the browser gets the gateway's error instead of a 503.
        if !(100..=15_000).contains(&timeout_ms) {
            return Err(key_error(
                "kintone.timeout_ms",
                "must be between 100 and 15000 (the functions time out after 25 s)",
            ));
        }
        if connect_timeout_ms == 0 || connect_timeout_ms > timeout_ms {
            return Err(key_error(
                "kintone.connect_timeout_ms",
                "must be at least 1 and at most kintone.timeout_ms",
            ));
        }
        if let Some(secret) = &self.basic_auth_secret {
            check_secret_id(secret).map_err(|m| key_error("kintone.basic_auth_secret", m))?;
        }
        let offset_text = self.utc_offset.as_deref().unwrap_or("+09:00");
        let utc_offset = time::UtcOffset::parse(
            offset_text,
            time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
        )
        .map_err(|_| {
            key_error(
                "kintone.utc_offset",
                format!("\"{offset_text}\" is not an offset like \"+09:00\""),
            )
        })?;
        Ok(KintoneSettings {
            base_url,
            guest_space: self.guest_space,
            basic_auth_secret: self.basic_auth_secret,
            connect_timeout: Duration::from_millis(connect_timeout_ms),
            timeout: Duration::from_millis(timeout_ms),
            utc_offset,
        })
    }
}

fn check_base_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim().trim_end_matches('/');
    let (rest, plain) = match trimmed.strip_prefix("https://") {
        Some(rest) => (rest, false),
        None => (trimmed.strip_prefix("http://").unwrap_or(""), true),
    };
    // Plain HTTP would send the token in clear text: only to this machine (a local emulator).
    let host = rest.rsplit_once(':').map_or(rest, |(host, _)| host);
    if plain && !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(format!(
            "\"{url}\" must start with https:// (http:// only for a local emulator on 127.0.0.1 or localhost)"
        ));
    }
    if rest.is_empty() || rest.contains('/') || rest.contains('?') || rest.contains('#') {
        return Err(format!(
            "\"{url}\" must be the domain only, like https://example.cybozu.com (no path)"
        ));
    }
    Ok(trimmed.to_owned())
}

fn check_secret_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 2048
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{id}\" is not a Secrets Manager secret name or ARN"
        ))
    }
}

/// Form and input names appear in URLs and JSON keys, so keep them plain.
fn check_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_field_code(code: &str) -> Result<(), String> {
    FieldCode::parse(code).map(|_| ())
}

/// `scheme://host[:port]`, exactly as browsers send it in `Origin`.
fn check_origin(origin: &str) -> Result<(), String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let ok = rest.is_some_and(|host| {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            && !host.ends_with(':')
    }) && origin == origin.to_ascii_lowercase()
        // Browsers leave the default port out, so an origin with it would never match.
        && !(origin.starts_with("https://") && origin.ends_with(":443"))
        && !(origin.starts_with("http://") && origin.ends_with(":80"));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{origin}\" is not an origin: write it as the browser sends it, like https://www.example.jp (lower case, no path, no trailing slash)"
        ))
    }
}

/// What forms and lookups share: a name that is part of the URL, a token secret, the origins
/// allowed to call, a body limit (returned once checked). `section` is `forms.<name>` or
/// `lookups.<name>`.
fn check_endpoint(
    section: &str,
    name: &str,
    token_secret: &str,
    allowed_origins: &[String],
    allow_no_origin: bool,
    max_body_bytes: usize,
) -> Result<usize, KeyError> {
    let at = |key: &str| format!("{section}.{key}");
    if !check_name(name) {
        return Err(key_error(
            section,
            "a name may use only letters, digits, '_' and '-' (it is part of the URL)",
        ));
    }
    check_secret_id(token_secret).map_err(|m| key_error(at("token_secret"), m))?;
    for origin in allowed_origins {
        check_origin(origin).map_err(|m| key_error(at("allowed_origins"), m))?;
    }
    if allowed_origins.is_empty() && !allow_no_origin {
        return Err(key_error(
            at("allowed_origins"),
            "list the web pages' origins allowed to call, or set allow_no_origin = true for server-to-server use",
        ));
    }
    if max_body_bytes == 0 || max_body_bytes > MAX_MAX_BODY_BYTES {
        return Err(key_error(
            at("max_body_bytes"),
            format!("must be between 1 and {MAX_MAX_BODY_BYTES} (Lambda's payload limit)"),
        ));
    }
    Ok(max_body_bytes)
}

impl RawForm {
    fn check(self, name: &str) -> Result<Form, KeyError> {
        let at = |key: &str| format!("forms.{name}.{key}");
        let max_body_bytes = check_endpoint(
            &format!("forms.{name}"),
            name,
            &self.token_secret,
            &self.allowed_origins,
            self.allow_no_origin,
            self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        )?;
        if self.fields.is_empty() {
            return Err(key_error(at("fields"), "a form needs at least one field"));
        }

        // Two inputs writing one kintone field would make one silently win.
        let mut written: BTreeSet<String> = BTreeSet::new();
        let mut claim = |code: &str, key: String| -> Result<(), KeyError> {
            check_field_code(code).map_err(|m| key_error(key.clone(), m))?;
            if !written.insert(code.to_owned()) {
                return Err(key_error(
                    key,
                    format!("the kintone field \"{code}\" is written twice in this form"),
                ));
            }
            Ok(())
        };
        let mut fields = BTreeMap::new();
        for (input, raw) in self.fields {
            let key = at(&format!("fields.{input}"));
            if !check_name(&input) {
                return Err(key_error(
                    key,
                    "an input name may use only letters, digits, '_' and '-'",
                ));
            }
            claim(&raw.kintone, format!("{key}.kintone"))?;
            fields.insert(input, raw.check(&key)?);
        }
        for code in self.fixed.keys() {
            claim(code, at("fixed"))?;
        }
        if let Some(code) = &self.receipt_field {
            claim(code, at("receipt_field"))?;
        }
        if let Some(code) = &self.idempotency_field {
            claim(code, at("idempotency_field"))?;
        }
        if let Some(honeypot) = &self.honeypot {
            if !check_name(honeypot) || fields.contains_key(honeypot) {
                return Err(key_error(
                    at("honeypot"),
                    "must be an input name that is not a declared field",
                ));
            }
        }
        Ok(Form {
            name: name.to_owned(),
            app: self.app,
            token_secret: self.token_secret,
            allowed_origins: self.allowed_origins,
            allow_no_origin: self.allow_no_origin,
            receipt_field: self.receipt_field,
            idempotency_field: self.idempotency_field,
            honeypot: self.honeypot,
            fixed: self.fixed,
            max_body_bytes,
            fields,
        })
    }
}

impl RawField {
    fn check(self, key: &str) -> Result<Field, KeyError> {
        let at = |k: &str| format!("{key}.{k}");
        let not_for = |k: &str, present: bool| -> Result<(), KeyError> {
            if present {
                Err(key_error(
                    at(k),
                    format!("is not used by type \"{}\"", self.kind),
                ))
            } else {
                Ok(())
            }
        };
        let text_length = |default: usize| -> Result<usize, KeyError> {
            match self.max_length {
                Some(0) => Err(key_error(at("max_length"), "must be at least 1")),
                Some(n) => Ok(n),
                None => Ok(default),
            }
        };
        let options = || -> Result<Vec<String>, KeyError> {
            let options = self.options.clone().unwrap_or_default();
            if options.is_empty() {
                return Err(key_error(
                    at("options"),
                    format!("type \"{}\" needs the list of kintone options", self.kind),
                ));
            }
            let unique: BTreeSet<&String> = options.iter().collect();
            if unique.len() != options.len() {
                return Err(key_error(at("options"), "lists an option twice"));
            }
            Ok(options)
        };
        let is_number = self.kind == "number";
        let is_choice = matches!(self.kind.as_str(), "choice" | "choices" | "consent");
        let is_text = matches!(
            self.kind.as_str(),
            "text" | "multiline" | "email" | "tel" | "url"
        );
        not_for("min", self.min.is_some() && !is_number)?;
        not_for("max", self.max.is_some() && !is_number)?;
        not_for("options", self.options.is_some() && !is_choice)?;
        not_for("max_length", self.max_length.is_some() && !is_text)?;
        let kind = match self.kind.as_str() {
            "text" => FieldKind::Text {
                max_length: text_length(200)?,
                multiline: false,
            },
            "multiline" => FieldKind::Text {
                max_length: text_length(5_000)?,
                multiline: true,
            },
            "email" => FieldKind::Email {
                max_length: text_length(254)?,
            },
            "tel" => FieldKind::Tel {
                max_length: text_length(30)?,
            },
            "url" => FieldKind::Url {
                max_length: text_length(2_000)?,
            },
            "number" => {
                if let (Some(min), Some(max)) = (self.min, self.max) {
                    if min > max {
                        return Err(key_error(at("min"), "is greater than max"));
                    }
                }
                FieldKind::Number {
                    min: self.min,
                    max: self.max,
                }
            }
            "date" => FieldKind::Date,
            "datetime" => FieldKind::Datetime,
            "choice" => FieldKind::Choice {
                options: options()?,
            },
            "choices" => FieldKind::Choices {
                options: options()?,
            },
            "consent" => {
                let mut options = options()?;
                if options.len() != 1 {
                    return Err(key_error(
                        at("options"),
                        "type \"consent\" takes exactly one option: the label of the kintone check box, like [\"同意する\"]",
                    ));
                }
                FieldKind::Consent {
                    option: options.remove(0),
                }
            }
            other => {
                return Err(key_error(
                    at("type"),
                    format!(
                        "unknown type \"{other}\"; use one of text, multiline, email, tel, url, number, date, datetime, choice, choices, consent"
                    ),
                ));
            }
        };
        Ok(Field {
            kintone: self.kintone,
            kind,
            required: self.required,
        })
    }
}

const DEFAULT_LOOKUP_INPUT_LENGTH: usize = 100;
const DEFAULT_LOOKUP_BODY_BYTES: usize = 16 * 1024;
const DEFAULT_MAX_RECORDS: u32 = 20;

#[derive(Debug, Clone)]
pub struct Lookup {
    pub name: String,
    pub app: u64,
    pub token_secret: String,
    pub allowed_origins: Vec<String>,
    pub allow_no_origin: bool,
    pub key: MatchField,
    pub verify: Vec<MatchField>,
    pub filter: Option<TrustedCondition>,
    pub expires: Option<Expiry>,
    pub order_by: Option<OrderBy>,
    pub max_records: u32,
    pub max_body_bytes: usize,
    /// Output name -> kintone field code, the only fields a browser ever sees.
    pub outputs: BTreeMap<String, FieldCode>,
}

impl Lookup {
    /// The key first, then the corroborating inputs.
    pub fn inputs(&self) -> impl Iterator<Item = &MatchField> {
        std::iter::once(&self.key).chain(self.verify.iter())
    }
}

/// An input that must equal a kintone field of the record.
#[derive(Debug, Clone)]
pub struct MatchField {
    pub input: String,
    pub kintone: FieldCode,
    pub kind: MatchKind,
    pub max_length: usize,
}

/// How a field type can be matched exactly; types that allow neither `=` nor `in` are
/// refused at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// SINGLE_LINE_TEXT, LINK: `=`, compared as text.
    Text,
    /// NUMBER, RECORD_NUMBER: `=`, compared as numbers.
    Number,
    /// DATE: `=`, compared as text.
    Date,
    /// DROP_DOWN, RADIO_BUTTON: `in ("...")`, compared as text.
    Choice,
}

#[derive(Debug, Clone)]
pub struct Expiry {
    pub field: FieldCode,
    pub datetime: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLookup {
    app: u64,
    token_secret: String,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    allow_no_origin: bool,
    key: RawMatch,
    #[serde(default)]
    verify: Vec<RawMatch>,
    #[serde(default)]
    key_only: bool,
    filter: Option<String>,
    expires_field: Option<String>,
    expires_type: Option<String>,
    order_by: Option<String>,
    max_records: Option<u32>,
    max_body_bytes: Option<usize>,
    #[serde(default)]
    outputs: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    input: String,
    kintone: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    max_length: Option<usize>,
}

impl RawMatch {
    fn check(self, key: &str) -> Result<MatchField, KeyError> {
        if !check_name(&self.input) {
            return Err(key_error(
                format!("{key}.input"),
                "an input name may use only letters, digits, '_' and '-'",
            ));
        }
        let kintone =
            FieldCode::parse(&self.kintone).map_err(|m| key_error(format!("{key}.kintone"), m))?;
        let type_name = self.kind.as_deref().unwrap_or("SINGLE_LINE_TEXT");
        let kind = match type_name {
            "SINGLE_LINE_TEXT" | "LINK" => MatchKind::Text,
            "NUMBER" | "RECORD_NUMBER" => MatchKind::Number,
            "DATE" => MatchKind::Date,
            "DROP_DOWN" | "RADIO_BUTTON" => MatchKind::Choice,
            "MULTI_LINE_TEXT" | "RICH_TEXT" => {
                return Err(key_error(
                    format!("{key}.type"),
                    format!(
                        "{type_name} fields cannot be matched exactly (kintone allows only like on them); match on a single-line text field instead"
                    ),
                ));
            }
            other => {
                return Err(key_error(
                    format!("{key}.type"),
                    format!(
                        "\"{other}\" cannot be matched; use SINGLE_LINE_TEXT, LINK, NUMBER, RECORD_NUMBER, DATE, DROP_DOWN or RADIO_BUTTON (the field type in kintone)"
                    ),
                ));
            }
        };
        let max_length = self.max_length.unwrap_or(DEFAULT_LOOKUP_INPUT_LENGTH);
        if max_length == 0 || max_length > 1000 {
            return Err(key_error(
                format!("{key}.max_length"),
                "must be between 1 and 1000",
            ));
        }
        Ok(MatchField {
            input: self.input,
            kintone,
            kind,
            max_length,
        })
    }
}

impl RawLookup {
    fn check(self, name: &str) -> Result<Lookup, KeyError> {
        let at = |key: &str| format!("lookups.{name}.{key}");
        let max_body_bytes = check_endpoint(
            &format!("lookups.{name}"),
            name,
            &self.token_secret,
            &self.allowed_origins,
            self.allow_no_origin,
            self.max_body_bytes.unwrap_or(DEFAULT_LOOKUP_BODY_BYTES),
        )?;
        let key = self.key.check(&at("key"))?;
        let verify = self
            .verify
            .into_iter()
            .enumerate()
            .map(|(i, raw)| raw.check(&at(&format!("verify[{i}]"))))
            .collect::<Result<Vec<_>, _>>()?;
        if verify.is_empty() && !self.key_only {
            return Err(key_error(
                at("verify"),
                "a lookup needs at least one corroborating input (a name, a second number) so that a guessed key is not enough; set key_only = true only if the key is itself a long secret",
            ));
        }
        if !verify.is_empty() && self.key_only {
            return Err(key_error(at("key_only"), "is set, but verify lists inputs"));
        }
        let mut inputs = BTreeSet::new();
        for field in std::iter::once(&key).chain(verify.iter()) {
            if !inputs.insert(field.input.as_str()) {
                return Err(key_error(
                    at("verify"),
                    format!("the input \"{}\" is declared twice", field.input),
                ));
            }
        }
        let filter = self
            .filter
            .as_deref()
            .map(TrustedCondition::parse)
            .transpose()
            .map_err(|m| {
                key_error(
                    at("filter"),
                    format!("is not a valid kintone condition: {m}"),
                )
            })?;
        let order_by = self
            .order_by
            .as_deref()
            .map(OrderBy::parse)
            .transpose()
            .map_err(|m| key_error(at("order_by"), format!("is not a valid kintone order: {m}")))?;
        let datetime = match self.expires_type.as_deref() {
            None | Some("DATE") => false,
            Some("DATETIME") => true,
            Some(other) => {
                return Err(key_error(
                    at("expires_type"),
                    format!("\"{other}\" must be DATE or DATETIME"),
                ));
            }
        };
        let expires = match self.expires_field {
            Some(code) => Some(Expiry {
                field: FieldCode::parse(&code).map_err(|m| key_error(at("expires_field"), m))?,
                datetime,
            }),
            None if self.expires_type.is_some() => {
                return Err(key_error(
                    at("expires_type"),
                    "is set without expires_field",
                ));
            }
            None => None,
        };
        let max_records = self.max_records.unwrap_or(DEFAULT_MAX_RECORDS);
        if !(1..=100).contains(&max_records) {
            return Err(key_error(at("max_records"), "must be between 1 and 100"));
        }
        if self.outputs.is_empty() {
            return Err(key_error(
                at("outputs"),
                "a lookup needs at least one output",
            ));
        }
        let mut outputs = BTreeMap::new();
        for (output, code) in self.outputs {
            if !check_name(&output) {
                return Err(key_error(
                    at(&format!("outputs.{output}")),
                    "an output name may use only letters, digits, '_' and '-'",
                ));
            }
            let code = FieldCode::parse(&code)
                .map_err(|m| key_error(at(&format!("outputs.{output}")), m))?;
            outputs.insert(output, code);
        }
        Ok(Lookup {
            name: name.to_owned(),
            app: self.app,
            token_secret: self.token_secret,
            allowed_origins: self.allowed_origins,
            allow_no_origin: self.allow_no_origin,
            key,
            verify,
            filter,
            expires,
            order_by,
            max_records,
            max_body_bytes,
            outputs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_relay_toml_is_valid() {
        let config = Config::parse(EMBEDDED_CONFIG, EMBEDDED_CONFIG_NAME)
            .unwrap_or_else(|err| panic!("{err}"));
        assert!(config.forms.contains_key("seminar"));
        assert!(config.lookups.contains_key("deals"));
    }

    fn lookup_with(extra: &str) -> String {
        format!(
            r#"
[kintone]
base_url = "https://example.cybozu.com"
[lookups.l]
app = 1
token_secret = "s"
allowed_origins = ["https://partner.example.jp"]
key = {{ input = "id", kintone = "ID" }}
{extra}
[lookups.l.outputs]
subject = "件名"
"#
        )
    }

    #[test]
    fn lookups_need_corroboration_and_matchable_fields() {
        let msg = error_of(&lookup_with(""));
        assert!(
            msg.contains("lookups.l.verify") && msg.contains("key_only"),
            "{msg}"
        );
        assert!(Config::parse(&lookup_with("key_only = true"), "t").is_ok());
        let msg = error_of(&lookup_with(
            "verify = [{ input = \"memo\", kintone = \"メモ\", type = \"MULTI_LINE_TEXT\" }]",
        ));
        assert!(
            msg.contains("lookups.l.verify[0].type") && msg.contains("MULTI_LINE_TEXT"),
            "{msg}"
        );
        let msg = error_of(&lookup_with(
            "key_only = true\nfilter = 'a = \"x\" limit 1'",
        ));
        assert!(msg.contains("lookups.l.filter"), "{msg}");
        let msg = error_of(&lookup_with(
            "key_only = true\norder_by = \"a desc;\"\nmax_records = 0",
        ));
        assert!(
            msg.contains("lookups.l.max_records") || msg.contains("lookups.l.order_by"),
            "{msg}"
        );
        let msg = error_of(&lookup_with("key_only = true\nfilter = \"公開 in ('x')\""));
        assert!(msg.contains("lookups.l.filter"), "{msg}");
    }

    fn form_with(field: &str) -> String {
        format!(
            r#"
[kintone]
base_url = "https://example.cybozu.com"
[forms.f]
app = 1
token_secret = "s"
allowed_origins = ["https://www.example.jp"]
[forms.f.fields.x]
kintone = "X"
{field}
"#
        )
    }

    fn error_of(text: &str) -> String {
        match Config::parse(text, "test.toml") {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn errors_name_file_form_and_key() {
        let msg = error_of(&form_with("type = \"choice\""));
        assert!(
            msg.starts_with("test.toml: forms.f.fields.x.options:"),
            "{msg}"
        );
        let msg = error_of(&form_with("type = \"texte\""));
        assert!(
            msg.contains("forms.f.fields.x.type") && msg.contains("texte"),
            "{msg}"
        );
        let msg = error_of(&form_with("type = \"text\"\nmin = 3"));
        assert!(msg.contains("forms.f.fields.x.min"), "{msg}");
        let msg = error_of(&form_with("type = \"consent\"\noptions = [\"a\", \"b\"]"));
        assert!(msg.contains("exactly one option"), "{msg}");
        let msg = error_of(&form_with("type = \"text\"\nrequird = true"));
        assert!(msg.contains("requird"), "{msg}");
    }

    #[test]
    fn rejects_bad_origins_urls_and_duplicates() {
        let base = form_with("type = \"text\"");
        let msg = error_of(&base.replace("https://www.example.jp", "https://www.example.jp/"));
        assert!(msg.contains("forms.f.allowed_origins"), "{msg}");
        let msg = error_of(&base.replace("https://example.cybozu.com", "example.cybozu.com"));
        assert!(msg.contains("kintone.base_url"), "{msg}");
        let msg =
            error_of(&base.replace("https://example.cybozu.com", "http://example.cybozu.com"));
        assert!(
            msg.contains("kintone.base_url") && msg.contains("https://"),
            "{msg}"
        );
        assert!(
            Config::parse(
                &base.replace("https://example.cybozu.com", "http://127.0.0.1:8081"),
                "t"
            )
            .is_ok()
        );
        let msg = error_of(&base.replace("https://www.example.jp", "https://www.example.jp:443"));
        assert!(msg.contains("forms.f.allowed_origins"), "{msg}");
        let msg = error_of(&base.replace("[forms.f]", "timeout_ms = 25000\n[forms.f]"));
        assert!(msg.contains("kintone.timeout_ms"), "{msg}");
        let msg = error_of(&base.replace(
            "[forms.f.fields.x]",
            "fixed = { X = \"web\" }\n[forms.f.fields.x]",
        ));
        assert!(msg.contains("written twice"), "{msg}");
        let msg = error_of(&base.replace("allowed_origins = [\"https://www.example.jp\"]", ""));
        assert!(msg.contains("allow_no_origin"), "{msg}");
        let msg =
            error_of(&base.replace("[forms.f.fields.x]", "honeypot = \"x\"\n[forms.f.fields.x]"));
        assert!(msg.contains("forms.f.honeypot"), "{msg}");
    }
}
