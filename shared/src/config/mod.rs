//! `relay.toml`: the declaration of every form and lookup the relay serves.
//!
//! The file is parsed once at start-up: [`raw`] holds it as written, [`form`] and [`lookup`]
//! check it into the types the relay works with. Anything wrong stops start-up with a message
//! naming the file, the section and the key, so a bad deploy fails before it serves anyone.

mod form;
mod lookup;
mod raw;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

pub use form::{Captcha, CaptchaProvider, Delivery, Field, FieldKind, FieldType, Form};
pub use lookup::{
    DOWNLOAD_CHOICE, Expiry, ExpiryKind, Lookup, MatchField, MatchKind, Output, OutputShape,
};
pub use values::{Access, Allowance, IpRange, Ordered, Origin, SecretId, Wording};

use raw::{RawConfig, RawKintone};
use values::{KeyError, check_base_url, key_error};

/// The relay.toml at the repository root, compiled into every function so that a deployment is
/// one self-contained binary whose config was checked when it was built. `RELAY_CONFIG` names a
/// file to read instead.
pub const EMBEDDED_CONFIG: &str = include_str!("../../../relay.toml");
pub const EMBEDDED_CONFIG_NAME: &str = "relay.toml (embedded at build time)";

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
    /// Attempt limits, counted in DynamoDB (`RELAY_LIMITS_TABLE`); off without `[limits]`.
    pub limits: Option<LimitSettings>,
    pub forms: BTreeMap<String, Form>,
    pub lookups: BTreeMap<String, Lookup>,
}

#[derive(Debug, Clone)]
pub struct KintoneSettings {
    /// `https://example.cybozu.com`, without a trailing slash.
    pub base_url: String,
    pub guest_space: Option<u64>,
    pub basic_auth_secret: Option<SecretId>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// The time zone of the token's user ("Administrator"), which kintone's `TODAY()` uses;
    /// the relay's own expiry check uses the same.
    pub utc_offset: time::UtcOffset,
}

#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// The key that hashes the counters' keys.
    pub key_secret: SecretId,
}

#[derive(Debug, Clone)]
pub struct SecretSettings {
    pub cache_ttl: Duration,
}

/// The relay's Lambda functions, by what they serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Function {
    /// `submit`: the forms (`/forms/{form}`).
    Submit,
    /// `lookup`: the lookups (`/lookups/{lookup}`).
    Lookup,
    /// `deliver`: adds the queued submissions of the forms with `queue = true`.
    Deliver,
}

impl Function {
    pub const ALL: [Function; 3] = [Function::Submit, Function::Lookup, Function::Deliver];

    /// The binary's name, as in template.yaml.
    pub fn binary(self) -> &'static str {
        match self {
            Function::Submit => "submit",
            Function::Lookup => "lookup",
            Function::Deliver => "deliver",
        }
    }
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

    /// Points the config at another kintone domain, checked like `[kintone] base_url`;
    /// `source_name` names where the URL came from (`KINTONE_BASE_URL`).
    pub fn set_base_url(&mut self, url: &str, source_name: &str) -> Result<(), ConfigError> {
        self.kintone.base_url = check_base_url(url).map_err(|message| ConfigError {
            source_name: source_name.to_owned(),
            message,
        })?;
        Ok(())
    }

    /// The secrets `function` reads: the token of everything it serves, the domain's Basic
    /// auth, the limits key and the forms' captcha secret keys, each once. Start-up warming,
    /// `relay check` and the template's grants all use this.
    pub fn secrets_read_by(&self, function: Function) -> BTreeSet<&SecretId> {
        let tokens: Vec<&SecretId> = match function {
            Function::Submit => self
                .forms
                .values()
                .map(|form| &form.access.token_secret)
                .collect(),
            Function::Lookup => self
                .lookups
                .values()
                .map(|lookup| &lookup.access.token_secret)
                .collect(),
            Function::Deliver => self
                .queued_forms()
                .map(|form| &form.access.token_secret)
                .collect(),
        };
        if tokens.is_empty() {
            return BTreeSet::new();
        }
        let limits_key = match function {
            Function::Submit | Function::Lookup => {
                self.limits.as_ref().map(|limits| &limits.key_secret)
            }
            Function::Deliver => None,
        };
        let captcha_secrets = self
            .forms
            .values()
            .filter(|_| function == Function::Submit)
            .filter_map(|form| form.captcha.as_ref().map(|captcha| &captcha.secret));
        tokens
            .into_iter()
            .chain(self.kintone.basic_auth_secret.as_ref())
            .chain(limits_key)
            .chain(captcha_secrets)
            .collect()
    }

    /// The names of the forms or lookups `function` serves.
    pub fn served_by(&self, function: Function) -> Vec<&str> {
        match function {
            Function::Submit => self.forms.keys().map(String::as_str).collect(),
            Function::Lookup => self.lookups.keys().map(String::as_str).collect(),
            Function::Deliver => self.queued_forms().map(|form| form.name.as_str()).collect(),
        }
    }

    /// The forms whose submissions may be queued.
    pub fn queued_forms(&self) -> impl Iterator<Item = &Form> {
        self.forms
            .values()
            .filter(|form| form.delivery == Delivery::Queued)
    }
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
        let limits = self
            .limits
            .map(|limits| {
                SecretId::parse(&limits.key_secret)
                    .map(|key_secret| LimitSettings { key_secret })
                    .map_err(|m| key_error("limits.key_secret", m))
            })
            .transpose()?;
        if limits.is_none()
            && let Some((form, input)) = forms
                .values()
                .find_map(|form| form.file_inputs().next().map(|(input, _)| (form, input)))
        {
            return Err(key_error(
                format!("forms.{}.fields.{input}", form.name),
                "a file input needs [limits] key_secret: its upload handles are sealed with that key",
            ));
        }
        if limits.is_none()
            && let Some(form) = forms.values().find(|form: &&Form| form.min_fill.is_some())
        {
            return Err(key_error(
                format!("forms.{}.min_fill_seconds", form.name),
                "needs [limits] key_secret: the form's stamps are signed with that key",
            ));
        }
        Ok(Config {
            kintone,
            limits,
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
        let basic_auth_secret = self
            .basic_auth_secret
            .as_deref()
            .map(SecretId::parse)
            .transpose()
            .map_err(|m| key_error("kintone.basic_auth_secret", m))?;
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
            basic_auth_secret,
            connect_timeout: Duration::from_millis(connect_timeout_ms),
            timeout: Duration::from_millis(timeout_ms),
            utc_offset,
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
    fn an_input_named_like_a_downloads_choice_is_refused_when_an_output_holds_files() {
        let clash = lookup_with(r#"verify = [ { input = "file", kintone = "名前" } ]"#);
        Config::parse(&clash, "test.toml").unwrap_or_else(|err| panic!("{err}"));
        let with_files = format!("{clash}quote = {{ kintone = \"見積書\", shape = \"files\" }}\n");
        let msg = error_of(&with_files);
        assert!(msg.contains("lookups.l.verify"), "{msg}");
        assert!(msg.contains("\"file\""), "{msg}");
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

    #[test]
    fn lookups_that_corroborate_nothing_or_show_whole_tables_are_refused() {
        let msg = error_of(&lookup_with(
            "verify = [{ input = \"id2\", kintone = \"ID\" }]",
        ));
        assert!(
            msg.contains("lookups.l.verify") && msg.contains("matched twice"),
            "{msg}"
        );
        let table = lookup_with("key_only = true").replace(
            "subject = \"件名\"",
            "subject = \"件名\"\nlines = { kintone = \"明細\", columns = {} }",
        );
        let msg = error_of(&table);
        assert!(msg.contains("lookups.l.outputs.lines.columns"), "{msg}");
        let table = lookup_with("key_only = true").replace(
            "subject = \"件名\"",
            "subject = \"件名\"\nlines = { kintone = \"明細\", columns = { item = \"品名\" } }",
        );
        let config = Config::parse(&table, "t").unwrap_or_else(|err| panic!("{err}"));
        let lines = &config.lookups["l"].outputs["lines"];
        assert_eq!(lines.field.as_str(), "明細");
        assert_eq!(lines.columns.as_ref().unwrap()["item"].as_str(), "品名");
    }

    #[test]
    fn base_urls_with_user_info_are_refused() {
        let base = form_with("type = \"text\"");
        for url in [
            "https://example.cybozu.com@evil.example",
            "http://127.0.0.1:1@evil.example",
            "https://user:pass@example.cybozu.com",
            "https://example.cybozu.com\\\\@evil.example",
        ] {
            let msg = error_of(&base.replace("https://example.cybozu.com", url));
            assert!(msg.contains("kintone.base_url"), "{url}: {msg}");
        }
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

    #[test]
    fn app_ids_start_at_one() {
        let msg = error_of(&form_with("type = \"text\"").replace("app = 1", "app = 0"));
        assert!(msg.contains("forms.f.app"), "{msg}");
        let msg = error_of(&lookup_with("key_only = true").replace("app = 1", "app = 0"));
        assert!(msg.contains("lookups.l.app"), "{msg}");
        let msg = error_of(&form_with("type = \"text\"").replace("app = 1", "app = -1"));
        assert!(msg.contains("app"), "{msg}");
    }

    #[test]
    fn the_base_url_can_be_replaced() {
        let mut config = Config::parse(&form_with("type = \"text\""), "t").unwrap();
        config
            .set_base_url("http://127.0.0.1:8081/", "KINTONE_BASE_URL")
            .unwrap();
        assert_eq!(config.kintone.base_url, "http://127.0.0.1:8081");
        let err = config
            .set_base_url("http://evil.example", "KINTONE_BASE_URL")
            .unwrap_err();
        assert!(err.to_string().starts_with("KINTONE_BASE_URL: "), "{err}");
    }

    fn file_form(limits: bool, extra_form: &str, field: &str) -> String {
        let limits = if limits {
            "[limits]\nkey_secret = \"relay/limits-key\"\n"
        } else {
            ""
        };
        format!(
            r#"
[kintone]
base_url = "https://example.cybozu.com"
{limits}
[forms.jobs]
app = 1
token_secret = "s"
allowed_origins = ["https://www.example.jp"]
receipt_field = "受付番号"
{extra_form}
[forms.jobs.fields.cv]
kintone = "履歴書"
type = "file"
{field}
"#
        )
    }

    #[test]
    fn a_per_address_limit_too_small_for_the_forms_uploads_is_refused() {
        let limits = |n: u32| format!("limits = {{ submissions_per_ip = {n} }}");
        let msg = error_of(&file_form(true, &limits(3), "max_files = 3"));
        assert!(msg.contains("forms.jobs.limits"), "{msg}");
        assert!(msg.contains("at least 4"), "{msg}");
        for fits in [limits(4), limits(0)] {
            Config::parse(&file_form(true, &fits, "max_files = 3"), "t")
                .unwrap_or_else(|e| panic!("{fits}: {e}"));
        }
    }

    #[test]
    fn file_inputs_have_safe_defaults_and_a_ceiling_lambda_can_carry() {
        let config = Config::parse(&file_form(true, "", ""), "t").unwrap_or_else(|e| panic!("{e}"));
        let form = &config.forms["jobs"];
        let (input, rule) = form.file_inputs().next().expect("a file input");
        assert_eq!(input, "cv");
        assert_eq!(rule.max_bytes, 4 * 1024 * 1024);
        assert_eq!(rule.max_files, 1);
        assert_eq!(rule.accept, crate::files::FileType::DEFAULT_ACCEPT.to_vec());
        let ok = file_form(
            true,
            "",
            "max_bytes = 4669440\nmax_files = 3\naccept = [\"image/png\", \"application/pdf\"]",
        );
        let rule = Config::parse(&ok, "t")
            .unwrap_or_else(|e| panic!("{e}"))
            .forms["jobs"]
            .file_inputs()
            .next()
            .map(|(_, rule)| rule.clone())
            .unwrap();
        assert_eq!(rule.max_files, 3);
        assert_eq!(rule.max_bytes, crate::files::MAX_FILE_BYTES);

        let msg = error_of(&file_form(true, "", "max_bytes = 5242880"));
        assert!(
            msg.contains("forms.jobs.fields.cv.max_bytes") && msg.contains("4669440"),
            "{msg}"
        );
        let msg = error_of(&file_form(true, "", "max_files = 0"));
        assert!(msg.contains("forms.jobs.fields.cv.max_files"), "{msg}");
        let msg = error_of(&file_form(
            true,
            "",
            "accept = [\"application/x-msdownload\"]",
        ));
        assert!(msg.contains("forms.jobs.fields.cv.accept"), "{msg}");
        let msg = error_of(&file_form(true, "", "accept = []"));
        assert!(msg.contains("forms.jobs.fields.cv.accept"), "{msg}");
        let msg = error_of(&file_form(false, "", ""));
        assert!(
            msg.contains("forms.jobs.fields.cv") && msg.contains("[limits]"),
            "{msg}"
        );
        let msg = error_of(&file_form(true, "queue = true", ""));
        assert!(msg.contains("forms.jobs.queue"), "{msg}");
        let msg = error_of(&form_with("type = \"text\"\nmax_bytes = 10"));
        assert!(msg.contains("forms.f.fields.x.max_bytes"), "{msg}");
    }
}
