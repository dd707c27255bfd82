//! relay.toml as the operator wrote it: serde shapes only, no checks. [`super::form`] and
//! [`super::lookup`] turn these into checked types once the whole file has parsed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer};

use super::form::FieldType;
use super::lookup::{ExpiryKind, OutputShape};
use crate::kintone::FieldType as KintoneFieldType;

/// A name from a closed list as the operator spelled it: the parsed variant, or the text with
/// serde's explanation, so the checked config can name the key path of a misspelling.
#[derive(Debug, Clone)]
pub enum Spelled<T> {
    Known(T),
    Unknown { text: String, why: String },
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Spelled<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let parsed: Result<T, serde::de::value::Error> =
            T::deserialize(text.as_str().into_deserializer());
        Ok(match parsed {
            Ok(value) => Spelled::Known(value),
            Err(err) => Spelled::Unknown {
                text,
                why: err.to_string(),
            },
        })
    }
}

/// A table whose entries keep the order they are written in (`toml`'s `preserve_order`).
pub struct InOrder<T>(pub Vec<(String, T)>);

impl<T> Default for InOrder<T> {
    fn default() -> Self {
        InOrder(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for InOrder<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for EntriesVisitor<T> {
            type Value = InOrder<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, T>()? {
                    entries.push(entry);
                }
                Ok(InOrder(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}

/// A text in Japanese and English, either of which may be left out.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawWording {
    pub ja: Option<String>,
    pub en: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub kintone: RawKintone,
    #[serde(default)]
    pub secrets: RawSecrets,
    pub limits: Option<RawLimits>,
    #[serde(default)]
    pub forms: BTreeMap<String, RawForm>,
    #[serde(default)]
    pub lookups: BTreeMap<String, RawLookup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKintone {
    pub base_url: String,
    pub guest_space: Option<u64>,
    pub basic_auth_secret: Option<String>,
    pub connect_timeout_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub utc_offset: Option<String>,
}

/// `[limits]`: attempt limits shared by every instance through DynamoDB.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// The secret holding the key that hashes counter keys (no ID or address is stored clear).
    pub key_secret: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFormLimits {
    pub submissions_per_ip: Option<u32>,
    pub window_seconds: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLookupLimits {
    pub failures_per_ip: Option<u32>,
    pub failures_per_key: Option<u32>,
    pub window_seconds: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSecrets {
    pub cache_ttl_seconds: Option<u64>,
}

/// The keys forms and lookups share (serde's `flatten` cannot be combined with
/// `deny_unknown_fields`, so each raw shape lists them and hands them over in this).
pub struct RawAccess<'a> {
    pub token_secret: &'a str,
    pub allowed_origins: &'a [String],
    pub allowed_ips: &'a [String],
    pub allow_no_origin: bool,
    pub max_body_bytes: Option<usize>,
}

/// `captcha = { provider, secret, site_key }` on a form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCaptcha {
    pub provider: Spelled<super::form::CaptchaProvider>,
    /// The secret holding the provider's secret key.
    pub secret: String,
    /// The provider's public site key, which the page needs to show the widget.
    pub site_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForm {
    pub title: Option<RawWording>,
    pub app: u64,
    pub token_secret: String,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allow_no_origin: bool,
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    #[serde(default)]
    pub limits: RawFormLimits,
    pub receipt_field: Option<String>,
    pub idempotency_field: Option<String>,
    /// Queue submissions on SQS when kintone cannot take them now.
    #[serde(default)]
    pub queue: bool,
    pub honeypot: Option<String>,
    /// The fewest seconds a person takes to fill the form in; faster posts are refused.
    pub min_fill_seconds: Option<u64>,
    /// A captcha the page shows and the relay verifies with the provider.
    pub captcha: Option<RawCaptcha>,
    #[serde(default)]
    pub fixed: BTreeMap<String, String>,
    pub max_body_bytes: Option<usize>,
    #[serde(default)]
    pub fields: InOrder<RawField>,
}

impl RawForm {
    pub fn access(&self) -> RawAccess<'_> {
        RawAccess {
            token_secret: &self.token_secret,
            allowed_origins: &self.allowed_origins,
            allowed_ips: &self.allowed_ips,
            allow_no_origin: self.allow_no_origin,
            max_body_bytes: self.max_body_bytes,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    pub label: Option<RawWording>,
    /// A hint shown under the input.
    pub help: Option<RawWording>,
    pub kintone: String,
    #[serde(rename = "type")]
    pub kind: Spelled<FieldType>,
    #[serde(default)]
    pub required: bool,
    pub max_length: Option<usize>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub options: Option<Vec<String>>,
    /// For `type = "file"`: the largest file, the most files, and the accepted MIME types.
    pub max_bytes: Option<usize>,
    pub max_files: Option<usize>,
    pub accept: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLookup {
    pub title: Option<RawWording>,
    pub app: u64,
    pub token_secret: String,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allow_no_origin: bool,
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    #[serde(default)]
    pub limits: RawLookupLimits,
    pub key: RawMatch,
    #[serde(default)]
    pub verify: Vec<RawMatch>,
    #[serde(default)]
    pub key_only: bool,
    pub filter: Option<String>,
    pub expires_field: Option<String>,
    pub expires_type: Option<Spelled<ExpiryKind>>,
    pub order_by: Option<String>,
    pub max_records: Option<u32>,
    pub max_body_bytes: Option<usize>,
    #[serde(default)]
    pub outputs: InOrder<RawOutput>,
}

/// An output: a field code, or the field with its label, shape, or a table's columns.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum RawOutput {
    Field(String),
    Declared(RawDeclaredOutput),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeclaredOutput {
    pub kintone: String,
    pub label: Option<RawWording>,
    /// How the value is shaped for a page: `text` (the default), `list` or `files`.
    pub shape: Option<Spelled<OutputShape>>,
    /// For a table (SUBTABLE): column name -> the column's field code inside the table.
    pub columns: Option<InOrder<String>>,
}

impl RawLookup {
    pub fn access(&self) -> RawAccess<'_> {
        RawAccess {
            token_secret: &self.token_secret,
            allowed_origins: &self.allowed_origins,
            allowed_ips: &self.allowed_ips,
            allow_no_origin: self.allow_no_origin,
            max_body_bytes: self.max_body_bytes,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    pub input: String,
    pub label: Option<RawWording>,
    pub kintone: String,
    /// The kintone field's type; SINGLE_LINE_TEXT when left out.
    #[serde(rename = "type")]
    pub kind: Option<Spelled<KintoneFieldType>>,
    pub max_length: Option<usize>,
}
