//! kintone API tokens from AWS Secrets Manager, cached per Lambda instance.
//!
//! One fetch per secret per TTL; concurrent requests for a cold secret wait for the one fetch in
//! flight; a token that kintone calls invalid is re-read once, so a rotated secret is picked up
//! without a redeploy.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;

use crate::config::SecretId;

/// A kintone API token. Its `Debug` never shows the value, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token is sent as an HTTP header: refuse anything that could not be one.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let ok = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ',' || c == '-' || c == '_');
        ok.then(|| Token(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The domain's Basic authentication, from a secret holding `{"username","password"}`.
#[derive(Clone)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicAuth(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager could not be reached or throttled us: worth a retry later.
    #[error("Secrets Manager is unavailable for secret {secret_id}: {detail}")]
    Unavailable { secret_id: String, detail: String },
    /// The secret is missing, not readable by this function, or holds no usable token.
    #[error("secret {secret_id} is unusable: {detail}")]
    Unusable { secret_id: String, detail: String },
}

struct Cached {
    value: String,
    fetched: Instant,
}

/// Per-secret slot; the async mutex makes concurrent misses share one fetch.
type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

pub struct SecretStore {
    client: Client,
    ttl: Duration,
    slots: Mutex<HashMap<String, Slot>>,
    fetches: AtomicU64,
}

impl SecretStore {
    pub fn new(client: Client, ttl: Duration) -> Self {
        SecretStore {
            client,
            ttl,
            slots: Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times this instance has called Secrets Manager.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    pub async fn token(&self, secret_id: &SecretId) -> Result<Token, SecretError> {
        let secret_id = secret_id.as_str();
        let raw = self.value(secret_id, None).await?;
        parse_token(secret_id, &raw)
    }

    /// Re-reads the secret after kintone refused `stale`, unless another request already
    /// replaced it, and returns the token to retry with.
    pub async fn refresh_token(
        &self,
        secret_id: &SecretId,
        stale: &Token,
    ) -> Result<Token, SecretError> {
        let secret_id = secret_id.as_str();
        let raw = self.value(secret_id, Some(stale)).await?;
        parse_token(secret_id, &raw)
    }

    pub async fn basic_auth(&self, secret_id: &SecretId) -> Result<BasicAuth, SecretError> {
        let secret_id = secret_id.as_str();
        let raw = self.value(secret_id, None).await?;
        parse_basic_auth(secret_id, &raw)
    }

    async fn value(&self, secret_id: &str, stale: Option<&Token>) -> Result<String, SecretError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(secret_id.to_owned()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        if let Some(entry) = cached.as_ref() {
            let fresh = entry.fetched.elapsed() < self.ttl;
            let known_bad = stale.is_some_and(|bad| {
                parse_token(secret_id, &entry.value).is_ok_and(|token| &token == bad)
            });
            if fresh && !known_bad {
                return Ok(entry.value.clone());
            }
        }
        let value = self.fetch(secret_id).await?;
        *cached = Some(Cached {
            value: value.clone(),
            fetched: Instant::now(),
        });
        Ok(value)
    }

    async fn fetch(&self, secret_id: &str) -> Result<String, SecretError> {
        let started = Instant::now();
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(output) => {
                tracing::info!(secret_id, elapsed_ms, "secret fetched");
                output.secret_string.ok_or_else(|| SecretError::Unusable {
                    secret_id: secret_id.to_owned(),
                    detail: "the secret has no string value".into(),
                })
            }
            Err(err) => {
                use aws_sdk_secretsmanager::error::SdkError;
                let detail = aws_sdk_secretsmanager::error::DisplayErrorContext(&err).to_string();
                tracing::error!(secret_id, elapsed_ms, error = %detail, "secret fetch failed");
                let unavailable = match &err {
                    SdkError::TimeoutError(_)
                    | SdkError::DispatchFailure(_)
                    | SdkError::ResponseError(_) => true,
                    SdkError::ServiceError(service) => {
                        let status = service.raw().status().as_u16();
                        status >= 500 || status == 429 || {
                            let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(
                                service.err(),
                            );
                            matches!(code, Some("ThrottlingException" | "InternalServiceError"))
                        }
                    }
                    _ => false,
                };
                let secret_id = secret_id.to_owned();
                Err(if unavailable {
                    SecretError::Unavailable { secret_id, detail }
                } else {
                    SecretError::Unusable { secret_id, detail }
                })
            }
        }
    }
}

/// A secret holds the token as a plain string or as `{"token": "..."}`.
fn parse_token(secret_id: &str, raw: &str) -> Result<Token, SecretError> {
    let raw = raw.trim();
    let candidate = if raw.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(raw)
            .ok()
            .and_then(|json| json.get("token")?.as_str().map(str::to_owned))
    } else {
        Some(raw.to_owned())
    };
    candidate
        .as_deref()
        .and_then(Token::parse)
        .ok_or_else(|| SecretError::Unusable {
            secret_id: secret_id.to_owned(),
            detail: "expected a kintone API token, as a plain string or as {\"token\": \"...\"}"
                .into(),
        })
}

fn parse_basic_auth(secret_id: &str, raw: &str) -> Result<BasicAuth, SecretError> {
    let json: Option<serde_json::Value> = serde_json::from_str(raw.trim()).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name)?.as_str().map(str::to_owned))
    };
    match (field("username"), field("password")) {
        (Some(username), Some(password)) if !username.contains(':') => {
            Ok(BasicAuth { username, password })
        }
        _ => Err(SecretError::Unusable {
            secret_id: secret_id.to_owned(),
            detail: "expected {\"username\": \"...\", \"password\": \"...\"}".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_hides_the_value() {
        let token = Token::parse("abcDEF123").unwrap();
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert!(!format!("{:?}", Some(&token)).contains("abc"));
    }

    #[test]
    fn secrets_hold_plain_or_json_tokens() {
        assert_eq!(parse_token("s", " tok123 \n").unwrap().expose(), "tok123");
        assert_eq!(
            parse_token("s", r#"{"token":"tok456"}"#).unwrap().expose(),
            "tok456"
        );
        assert!(parse_token("s", r#"{"other":"x"}"#).is_err());
        assert!(parse_token("s", "has space").is_err());
        assert!(parse_token("s", "line\r\nbreak").is_err());
    }

    #[test]
    fn basic_auth_needs_both_parts() {
        let auth = parse_basic_auth("s", r#"{"username":"u","password":"p:w"}"#).unwrap();
        assert_eq!(
            (auth.username.as_str(), auth.password.as_str()),
            ("u", "p:w")
        );
        assert!(parse_basic_auth("s", "u:p").is_err());
    }
}
