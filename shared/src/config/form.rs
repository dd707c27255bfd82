//! A form: what a public page may post, and the kintone record it becomes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::raw::{RawCaptcha, RawField, RawForm, Spelled};
use super::values::{
    Access, Allowance, KeyError, Ordered, SecretId, Wording, check_app_id, is_plain_name, key_error,
};
use crate::files::{
    DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES, FileRule, FileType, MAX_FILE_BYTES, MAX_FILES_LIMIT,
};
use crate::input::Decimal;
use crate::query::FieldCode;

const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Form {
    pub name: String,
    /// The page's heading; the form's name when relay.toml gives none.
    pub title: Wording,
    pub app: u64,
    pub access: Access,
    /// Where the receipt the applicant sees is stored.
    pub receipt_field: Option<FieldCode>,
    /// A field with "prohibit duplicate values" that holds the client's Idempotency-Key.
    pub idempotency_field: Option<FieldCode>,
    pub delivery: Delivery,
    /// Submissions per source address (`[forms.<name>.limits]`), counted when `[limits]` is set.
    pub submissions_per_ip: Allowance,
    /// An input no person fills in: a filled one is answered as stored, and nothing is stored.
    pub honeypot: Option<String>,
    /// Posts sooner than this after the page fetched the form's description are refused.
    pub min_fill: Option<std::time::Duration>,
    /// A captcha every post must pass, verified with its provider.
    pub captcha: Option<Captcha>,
    pub fixed: BTreeMap<FieldCode, String>,
    /// Input name -> field, in the order relay.toml declares them.
    pub fields: Ordered<Field>,
}

impl Form {
    /// The input that writes the given kintone field, if any.
    pub fn input_for_kintone_field(&self, code: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(_, field)| field.kintone.as_str() == code)
            .map(|(input, _)| input.as_str())
    }
}

/// A captcha on a form: the page shows the provider's widget with `site_key`, and the relay
/// checks the widget's token at the provider with the secret key in `secret`.
#[derive(Debug, Clone)]
pub struct Captcha {
    pub provider: CaptchaProvider,
    pub secret: SecretId,
    pub site_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptchaProvider {
    Turnstile,
    Recaptcha,
    Hcaptcha,
}

impl CaptchaProvider {
    /// The provider's documented server-side verification endpoint.
    pub fn verify_url(self) -> &'static str {
        match self {
            CaptchaProvider::Turnstile => {
                "https://challenges.cloudflare.com/turnstile/v0/siteverify"
            }
            CaptchaProvider::Recaptcha => "https://www.google.com/recaptcha/api/siteverify",
            CaptchaProvider::Hcaptcha => "https://api.hcaptcha.com/siteverify",
        }
    }
}

impl RawCaptcha {
    fn check(self, key: &str) -> Result<Captcha, KeyError> {
        let provider = match self.provider {
            Spelled::Known(provider) => provider,
            Spelled::Unknown { text, .. } => {
                return Err(key_error(
                    format!("{key}.provider"),
                    format!("unknown provider \"{text}\": turnstile, recaptcha or hcaptcha"),
                ));
            }
        };
        let secret =
            SecretId::parse(&self.secret).map_err(|m| key_error(format!("{key}.secret"), m))?;
        // The site key goes into the page as an attribute: keep it to the providers' alphabet.
        let site_key_ok = (1..=200).contains(&self.site_key.len())
            && self
                .site_key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !site_key_ok {
            return Err(key_error(
                format!("{key}.site_key"),
                "must be the provider's public site key (letters, digits, '-' and '_')",
            ));
        }
        Ok(Captcha {
            provider,
            secret,
            site_key: self.site_key,
        })
    }
}

/// What happens to a valid submission when kintone cannot take it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The page is told to retry (503 with `Retry-After`).
    Direct,
    /// It is queued on SQS and delivered later (202); the receipt field, which prohibits
    /// duplicate values, makes a redelivery land once.
    Queued,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// What a page calls the input; its name when relay.toml gives none.
    pub label: Wording,
    pub help: Option<Wording>,
    pub kintone: FieldCode,
    pub field_type: FieldType,
    pub kind: FieldKind,
    pub required: bool,
}

/// The `type` of a form field in relay.toml, also the `type` a form's description shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Multiline,
    Email,
    Tel,
    Url,
    Number,
    Date,
    Datetime,
    Choice,
    Choices,
    Consent,
    /// Files for a kintone FILE field, uploaded one by one before the form is submitted.
    File,
}

impl FieldType {
    /// The longest text accepted when relay.toml sets no `max_length`; `None` for types that
    /// take no `max_length`.
    fn default_max_length(self) -> Option<usize> {
        match self {
            FieldType::Text => Some(200),
            FieldType::Multiline => Some(5_000),
            FieldType::Email => Some(254),
            FieldType::Tel => Some(30),
            FieldType::Url => Some(2_000),
            _ => None,
        }
    }

    fn takes_options(self) -> bool {
        matches!(
            self,
            FieldType::Choice | FieldType::Choices | FieldType::Consent
        )
    }
}

/// What an input accepts; each variant carries only the keys that make sense for it.
#[derive(Debug, Clone)]
pub enum FieldKind {
    Text {
        max_length: usize,
    },
    /// Text with line breaks (and tabs) allowed.
    Multiline {
        max_length: usize,
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
    /// Bounds compared exactly (see [`Decimal`]).
    Number {
        min: Option<Decimal>,
        max: Option<Decimal>,
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
    /// Handles of files uploaded through `POST /forms/{form}/files/{input}`.
    File(FileRule),
}

impl Form {
    /// The file inputs, by name.
    pub fn file_inputs(&self) -> impl Iterator<Item = (&str, &FileRule)> {
        self.fields
            .iter()
            .filter_map(|(name, field)| match &field.kind {
                FieldKind::File(rule) => Some((name.as_str(), rule)),
                _ => None,
            })
    }
}

impl RawForm {
    pub(super) fn check(self, name: &str) -> Result<Form, KeyError> {
        let at = |key: &str| format!("forms.{name}.{key}");
        let access = Access::check(
            &format!("forms.{name}"),
            name,
            self.access(),
            DEFAULT_MAX_BODY_BYTES,
        )?;
        check_app_id(at("app"), self.app)?;
        if self.fields.0.is_empty() {
            return Err(key_error(at("fields"), "a form needs at least one field"));
        }

        // Two inputs writing one kintone field would make one silently win.
        let mut written: BTreeSet<FieldCode> = BTreeSet::new();
        let mut claim = |code: &str, key: String| -> Result<FieldCode, KeyError> {
            let code = FieldCode::parse(code).map_err(|m| key_error(key.clone(), m))?;
            if !written.insert(code.clone()) {
                return Err(key_error(
                    key,
                    format!("the kintone field \"{code}\" is written twice in this form"),
                ));
            }
            Ok(code)
        };
        let mut fields = Vec::new();
        for (input, raw) in self.fields.0 {
            let key = at(&format!("fields.{input}"));
            if !is_plain_name(&input) {
                return Err(key_error(
                    key,
                    "an input name may use only letters, digits, '_' and '-'",
                ));
            }
            let kintone = claim(&raw.kintone, format!("{key}.kintone"))?;
            let field = raw.check(&key, &input, kintone)?;
            fields.push((input, field));
        }
        let fields = Ordered::new(fields);
        let mut fixed = BTreeMap::new();
        for (code, value) in self.fixed {
            fixed.insert(claim(&code, at("fixed"))?, value);
        }
        let receipt_field = self
            .receipt_field
            .map(|code| claim(&code, at("receipt_field")))
            .transpose()?;
        let idempotency_field = self
            .idempotency_field
            .map(|code| claim(&code, at("idempotency_field")))
            .transpose()?;
        let delivery = match (self.queue, &receipt_field) {
            (false, _) => Delivery::Direct,
            (true, Some(_)) => Delivery::Queued,
            (true, None) => {
                return Err(key_error(
                    at("queue"),
                    "needs receipt_field: a text field with \"prohibit duplicate values\", so that kintone refuses a second delivery of the same submission",
                ));
            }
        };
        // A queued submission may wait days; kintone forgets an unattached upload after a
        // time the fact sheet leaves UNCONFIRMED, so its file could be gone on delivery.
        if delivery == Delivery::Queued
            && let Some((input, _)) = fields
                .iter()
                .find(|(_, field)| field.field_type == FieldType::File)
        {
            return Err(key_error(
                at("queue"),
                format!(
                    "cannot be true with the file input \"{input}\": kintone keeps an upload only for a while, so a queued submission could lose its file"
                ),
            ));
        }
        if let Some(honeypot) = &self.honeypot
            && (!is_plain_name(honeypot) || fields.contains_key(honeypot))
        {
            return Err(key_error(
                at("honeypot"),
                "must be an input name that is not a declared field",
            ));
        }
        let submissions_per_ip = Allowance::check(
            &at("limits"),
            self.limits.submissions_per_ip,
            30,
            self.limits.window_seconds,
            3_600,
        )?;
        // Each upload counts as a submission: a form whose files cannot all be uploaded and
        // then sent within the limit could never be sent.
        let most_files: usize = fields
            .values()
            .filter_map(|field| match &field.kind {
                FieldKind::File(rule) => Some(rule.max_files),
                _ => None,
            })
            .sum();
        let attempts = submissions_per_ip.attempts as usize;
        if most_files > 0 && attempts != 0 && attempts < most_files + 1 {
            return Err(key_error(
                at("limits"),
                format!(
                    "submissions_per_ip = {attempts} is too few for this form: each upload counts as a submission, so a form taking {most_files} file(s) needs at least {} (or 0 to turn the limit off)",
                    most_files + 1
                ),
            ));
        }
        let min_fill = match self.min_fill_seconds {
            None => None,
            Some(seconds @ 1..=3_600) => Some(std::time::Duration::from_secs(seconds)),
            Some(_) => {
                return Err(key_error(
                    at("min_fill_seconds"),
                    "must be between 1 and 3600",
                ));
            }
        };
        let captcha = self
            .captcha
            .map(|captcha| captcha.check(&at("captcha")))
            .transpose()?;
        Ok(Form {
            name: name.to_owned(),
            title: Wording::from_raw(self.title, name),
            app: self.app,
            access,
            receipt_field,
            idempotency_field,
            delivery,
            submissions_per_ip,
            honeypot: self.honeypot,
            min_fill,
            captcha,
            fixed,
            fields,
        })
    }
}

impl RawField {
    fn check(self, key: &str, input: &str, kintone: FieldCode) -> Result<Field, KeyError> {
        let at = |k: &str| format!("{key}.{k}");
        let field_type = match self.kind {
            Spelled::Known(field_type) => field_type,
            Spelled::Unknown { text, why } => {
                return Err(key_error(
                    at("type"),
                    format!("unknown type \"{text}\" ({why})"),
                ));
            }
        };
        let type_name = |t: FieldType| format!("{t:?}").to_lowercase();
        let not_for = |k: &str, present: bool| -> Result<(), KeyError> {
            if present {
                Err(key_error(
                    at(k),
                    format!("is not used by type \"{}\"", type_name(field_type)),
                ))
            } else {
                Ok(())
            }
        };
        not_for("min", self.min.is_some() && field_type != FieldType::Number)?;
        not_for("max", self.max.is_some() && field_type != FieldType::Number)?;
        not_for(
            "options",
            self.options.is_some() && !field_type.takes_options(),
        )?;
        not_for(
            "max_length",
            self.max_length.is_some() && field_type.default_max_length().is_none(),
        )?;
        let is_file = field_type == FieldType::File;
        not_for("max_bytes", self.max_bytes.is_some() && !is_file)?;
        not_for("max_files", self.max_files.is_some() && !is_file)?;
        not_for("accept", self.accept.is_some() && !is_file)?;
        let max_length = match (self.max_length, field_type.default_max_length()) {
            (Some(0), _) => return Err(key_error(at("max_length"), "must be at least 1")),
            (Some(n), _) => n,
            (None, default) => default.unwrap_or(0),
        };
        let options = || -> Result<Vec<String>, KeyError> {
            let options = self.options.clone().unwrap_or_default();
            if options.is_empty() {
                return Err(key_error(
                    at("options"),
                    format!(
                        "type \"{}\" needs the list of kintone options",
                        type_name(field_type)
                    ),
                ));
            }
            let unique: BTreeSet<&String> = options.iter().collect();
            if unique.len() != options.len() {
                return Err(key_error(at("options"), "lists an option twice"));
            }
            Ok(options)
        };
        let kind = match field_type {
            FieldType::Text => FieldKind::Text { max_length },
            FieldType::Multiline => FieldKind::Multiline { max_length },
            FieldType::Email => FieldKind::Email { max_length },
            FieldType::Tel => FieldKind::Tel { max_length },
            FieldType::Url => FieldKind::Url { max_length },
            FieldType::Number => {
                let bound = |key: &str, value: Option<f64>| {
                    value
                        .map(|value| {
                            Decimal::from_f64(value)
                                .ok_or_else(|| key_error(at(key), "must be a finite number"))
                        })
                        .transpose()
                };
                let min = bound("min", self.min)?;
                let max = bound("max", self.max)?;
                if let (Some(min), Some(max)) = (&min, &max)
                    && min > max
                {
                    return Err(key_error(at("min"), "is greater than max"));
                }
                FieldKind::Number { min, max }
            }
            FieldType::Date => FieldKind::Date,
            FieldType::Datetime => FieldKind::Datetime,
            FieldType::Choice => FieldKind::Choice {
                options: options()?,
            },
            FieldType::Choices => FieldKind::Choices {
                options: options()?,
            },
            FieldType::Consent => {
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
            FieldType::File => FieldKind::File(file_rule(
                &at,
                self.max_bytes,
                self.max_files,
                self.accept.as_deref(),
            )?),
        };
        Ok(Field {
            label: Wording::from_raw(self.label, input),
            help: self.help.map(|help| Wording::from_raw(Some(help), "")),
            kintone,
            field_type,
            kind,
            required: self.required,
        })
    }
}

/// A file input's rule; a `max_bytes` above what one Lambda request can carry is refused here,
/// at start-up, rather than by API Gateway or Lambda with an answer the page cannot read.
fn file_rule(
    at: &dyn Fn(&str) -> String,
    max_bytes: Option<usize>,
    max_files: Option<usize>,
    accept: Option<&[String]>,
) -> Result<FileRule, KeyError> {
    let max_bytes = match max_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES) {
        0 => return Err(key_error(at("max_bytes"), "must be at least 1")),
        n if n > MAX_FILE_BYTES => {
            return Err(key_error(
                at("max_bytes"),
                format!(
                    "must be at most {MAX_FILE_BYTES}: Lambda takes 6 MB per request (6291456 bytes) and API Gateway sends a file base64-encoded, 4 bytes for every 3"
                ),
            ));
        }
        n => n,
    };
    let max_files = match max_files.unwrap_or(DEFAULT_MAX_FILES) {
        n @ 1..=MAX_FILES_LIMIT => n,
        _ => {
            return Err(key_error(
                at("max_files"),
                format!("must be between 1 and {MAX_FILES_LIMIT}"),
            ));
        }
    };
    let accept = match accept {
        None => FileType::DEFAULT_ACCEPT.to_vec(),
        Some([]) => return Err(key_error(at("accept"), "lists no type")),
        Some(types) => {
            let mut accept = Vec::new();
            for text in types {
                let Some(file_type) = FileType::from_mime(text) else {
                    let known: Vec<&str> = FileType::ALL.iter().map(|t| t.mime()).collect();
                    return Err(key_error(
                        at("accept"),
                        format!(
                            "\"{text}\" is not a type the relay recognises from a file's bytes ({})",
                            known.join(", ")
                        ),
                    ));
                };
                if !accept.contains(&file_type) {
                    accept.push(file_type);
                }
            }
            accept
        }
    };
    Ok(FileRule {
        max_bytes,
        max_files,
        accept,
    })
}
