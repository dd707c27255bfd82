//! kintone API tokens and the domain's Basic authentication, from AWS Secrets Manager, cached per
//! Lambda instance.
//!
//! - One fetch per secret per TTL; concurrent requests for a cold or expired secret wait for the
//!   one fetch in flight (a per-secret async mutex).
//! - Secrets Manager unavailable (unreachable, timing out, throttling, 5xx) after the TTL: the
//!   cached value is served for up to [`MAX_STALE`] past its TTL, with a warning, and Secrets
//!   Manager is tried again at most every [`RETRY_UNAVAILABLE_EVERY`], so an outage does not
//!   make every request wait for a timeout. Only with nothing cached does a read fail
//!   ([`SecretError::Unavailable`], a 503 with `Retry-After`). kintone, not the cache, decides
//!   whether a value still works: a value it refuses is re-read as below.
//! - A value that kintone refuses (an unknown token, rejected Basic credentials) is re-read, so a
//!   rotated secret is picked up without a redeploy; at most once per [`REREAD_EVERY`] per
//!   secret, so a revoked token that stays in the secret costs one Secrets Manager call per 30 s,
//!   not one per request. A secret corrected after such a re-read is picked up by the first
//!   refused request 30 s later, or at the TTL, whichever comes first.
//!
//! Values never reach a log: `Token` and `BasicAuth` print `***`, and the log lines name the
//! secret id only.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use hmac::{Hmac, KeyInit};
use sha2::{Digest, Sha256};

use crate::config::SecretId;

/// How long past its TTL a cached value may be served while Secrets Manager is unavailable.
/// Long enough to ride out an outage or a throttling episode; bounded so that a change made in
/// Secrets Manager while the old value still works in kintone (a token swapped for one with
/// fewer permissions, say) reaches every instance within TTL + 1 h even through an outage.
pub const MAX_STALE: Duration = Duration::from_secs(60 * 60);

/// After Secrets Manager failed to answer, how long the cached value is served before it is
/// asked again: one request per 30 s pays for a timeout, not every request.
pub const RETRY_UNAVAILABLE_EVERY: Duration = Duration::from_secs(30);

/// How often a secret whose value kintone refuses may be re-read.
pub const REREAD_EVERY: Duration = Duration::from_secs(30);

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

/// The key that hashes the attempt counters' keys (`[limits] key_secret`, a random string). Its
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct HashKey(Vec<u8>);

impl HashKey {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// A key from its bytes, as the secret holds them.
    pub fn new(key: &[u8]) -> Self {
        HashKey(key.to_vec())
    }

    /// An HMAC-SHA256 under this key. The key is brought to the block size by HMAC's own rule
    /// (RFC 2104: hashed when longer, padded with zeros), so no key length can fail.
    pub fn mac(&self) -> Hmac<Sha256> {
        let mut block = [0u8; 64];
        if self.0.len() > block.len() {
            let digest = Sha256::digest(&self.0);
            block[..digest.len()].copy_from_slice(&digest);
        } else {
            block[..self.0.len()].copy_from_slice(&self.0);
        }
        <Hmac<Sha256> as KeyInit>::new(&block.into())
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashKey(***)")
    }
}

/// A captcha provider's secret key (a form's `captcha.secret`). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct CaptchaSecret(String);

impl CaptchaSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CaptchaSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CaptchaSecret(***)")
    }
}

/// The domain's Basic authentication, from a secret holding `{"username","password"}`.
#[derive(Clone, PartialEq, Eq)]
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
    /// When Secrets Manager last returned `value`.
    fetched: Instant,
    /// When Secrets Manager last failed to answer after the TTL (cleared by a fetch).
    unavailable_at: Option<Instant>,
    /// When the secret was last re-read because kintone refused its value.
    reread: Option<Instant>,
}

/// What to do with a cached value; decided from instants only, so the rules are testable
/// without waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Use the cached value (fresh; or stale while Secrets Manager is unavailable; or refused
    /// but re-read too recently to ask again).
    Serve,
    /// Ask Secrets Manager; on [`SecretError::Unavailable`] the value may still be served.
    Fetch { stale_allowed: bool },
    /// kintone refused the value: ask Secrets Manager; the value is no fallback.
    Reread,
}

impl Cached {
    fn plan(&self, now: Instant, ttl: Duration, refused: bool) -> Plan {
        let since = |at: Instant| now.saturating_duration_since(at);
        if refused {
            return match self.reread {
                Some(at) if since(at) < REREAD_EVERY => Plan::Serve,
                _ => Plan::Reread,
            };
        }
        let age = since(self.fetched);
        if age < ttl {
            return Plan::Serve;
        }
        let stale_allowed = age < ttl.saturating_add(MAX_STALE);
        match self.unavailable_at {
            Some(at) if stale_allowed && since(at) < RETRY_UNAVAILABLE_EVERY => Plan::Serve,
            _ => Plan::Fetch { stale_allowed },
        }
    }
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

    /// After kintone refused `refused`: the token to retry with, or `None` when there is
    /// nothing new to try (the secret still holds `refused`, or it was re-read less than
    /// [`REREAD_EVERY`] ago). Re-reads unless another request already replaced the token.
    pub async fn refresh_token(
        &self,
        secret_id: &SecretId,
        refused: &Token,
    ) -> Result<Option<Token>, SecretError> {
        let secret_id = secret_id.as_str();
        let is_refused = |raw: &str| parse_token(secret_id, raw).is_ok_and(|t| &t == refused);
        let raw = self.value(secret_id, Some(&is_refused)).await?;
        let token = parse_token(secret_id, &raw)?;
        Ok((&token != refused).then_some(token))
    }

    /// The limits' hash key: at least 16 characters, so counters cannot be recomputed by
    /// guessing it.
    pub async fn hash_key(&self, secret_id: &SecretId) -> Result<HashKey, SecretError> {
        let secret_id = secret_id.as_str();
        let raw = self.value(secret_id, None).await?;
        let key = raw.trim();
        if key.chars().count() < 16 {
            return Err(SecretError::Unusable {
                secret_id: secret_id.to_owned(),
                detail: "the limits key must be a random string of at least 16 characters".into(),
            });
        }
        Ok(HashKey::new(key.as_bytes()))
    }

    /// A captcha provider's secret key, held as a plain string.
    pub async fn captcha_secret(&self, secret_id: &SecretId) -> Result<CaptchaSecret, SecretError> {
        let secret_id = secret_id.as_str();
        let raw = self.value(secret_id, None).await?;
        let key = raw.trim();
        if key.is_empty() {
            return Err(SecretError::Unusable {
                secret_id: secret_id.to_owned(),
                detail: "the captcha secret key is empty".into(),
            });
        }
        Ok(CaptchaSecret(key.to_owned()))
    }

    pub async fn basic_auth(&self, secret_id: &SecretId) -> Result<BasicAuth, SecretError> {
        let secret_id = secret_id.as_str();
        let raw = self.value(secret_id, None).await?;
        parse_basic_auth(secret_id, &raw)
    }

    /// After kintone's Basic authentication refused `refused`: as [`Self::refresh_token`].
    pub async fn refresh_basic_auth(
        &self,
        secret_id: &SecretId,
        refused: &BasicAuth,
    ) -> Result<Option<BasicAuth>, SecretError> {
        let secret_id = secret_id.as_str();
        let is_refused =
            |raw: &str| parse_basic_auth(secret_id, raw).is_ok_and(|auth| &auth == refused);
        let raw = self.value(secret_id, Some(&is_refused)).await?;
        let auth = parse_basic_auth(secret_id, &raw)?;
        Ok((&auth != refused).then_some(auth))
    }

    /// The secret's value, by the rules of [`Cached::plan`]. `refused` tells whether a value is
    /// the one kintone refused (`None` for a plain read).
    async fn value(
        &self,
        secret_id: &str,
        refused: Option<&(dyn Fn(&str) -> bool + Sync)>,
    ) -> Result<String, SecretError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(secret_id.to_owned()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        let now = Instant::now();
        let plan = match cached.as_mut() {
            Some(entry) => {
                let is_refused = refused.is_some_and(|is_refused| is_refused(&entry.value));
                let plan = entry.plan(now, self.ttl, is_refused);
                match plan {
                    Plan::Serve => return Ok(entry.value.clone()),
                    // Counted before the call, so a failed re-read also waits REREAD_EVERY.
                    Plan::Reread => entry.reread = Some(now),
                    Plan::Fetch { .. } => {}
                }
                plan
            }
            None => Plan::Fetch {
                stale_allowed: false,
            },
        };
        match self.fetch(secret_id).await {
            Ok(value) => {
                let reread = cached.as_ref().and_then(|entry| entry.reread);
                *cached = Some(Cached {
                    value: value.clone(),
                    fetched: Instant::now(),
                    unavailable_at: None,
                    reread,
                });
                Ok(value)
            }
            Err(err @ SecretError::Unavailable { .. })
                if matches!(
                    plan,
                    Plan::Fetch {
                        stale_allowed: true
                    }
                ) =>
            {
                let Some(entry) = cached.as_mut() else {
                    return Err(err);
                };
                // The last value Secrets Manager gave: if it no longer works, kintone refuses
                // it and the refusal path re-reads. The value itself is never logged.
                tracing::warn!(
                    secret_id,
                    error = %err,
                    age_s = now.saturating_duration_since(entry.fetched).as_secs(),
                    "Secrets Manager is unavailable; serving the cached value past its TTL"
                );
                entry.unavailable_at = Some(now);
                Ok(entry.value.clone())
            }
            Err(err) => Err(err),
        }
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
    fn hash_key_mac_is_hmac_sha256_for_any_key_length() {
        use hmac::Mac;
        for length in [0, 1, 32, 63, 64, 65, 200] {
            let key: Vec<u8> = (0..length).map(|i| i as u8).collect();
            let mut ours = HashKey::new(&key).mac();
            let mut reference = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
            ours.update(b"message");
            reference.update(b"message");
            assert_eq!(
                ours.finalize().into_bytes(),
                reference.finalize().into_bytes(),
                "{length}"
            );
        }
    }

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

    const TTL: Duration = Duration::from_secs(300);
    const SECOND: Duration = Duration::from_secs(1);

    fn fetched_at(fetched: Instant) -> Cached {
        Cached {
            value: "v".into(),
            fetched,
            unavailable_at: None,
            reread: None,
        }
    }

    #[test]
    fn a_value_is_served_for_its_ttl_then_fetched() {
        let t0 = Instant::now();
        let entry = fetched_at(t0);
        assert_eq!(entry.plan(t0 + TTL - SECOND, TTL, false), Plan::Serve);
        assert_eq!(
            entry.plan(t0 + TTL, TTL, false),
            Plan::Fetch {
                stale_allowed: true
            }
        );
        assert_eq!(
            entry.plan(t0 + TTL + MAX_STALE, TTL, false),
            Plan::Fetch {
                stale_allowed: false
            }
        );
    }

    #[test]
    fn while_secrets_manager_is_unavailable_the_stale_value_is_served_and_retried_every_30_s() {
        let t0 = Instant::now();
        let failed = t0 + TTL + 10 * SECOND;
        let mut entry = fetched_at(t0);
        entry.unavailable_at = Some(failed);
        let stale = Plan::Fetch {
            stale_allowed: true,
        };
        assert_eq!(
            entry.plan(failed + RETRY_UNAVAILABLE_EVERY - SECOND, TTL, false),
            Plan::Serve
        );
        assert_eq!(
            entry.plan(failed + RETRY_UNAVAILABLE_EVERY, TTL, false),
            stale
        );
        // Past the cap, a failure is no longer covered by the cached value.
        entry.unavailable_at = Some(t0 + TTL + MAX_STALE - SECOND);
        assert_eq!(
            entry.plan(t0 + TTL + MAX_STALE, TTL, false),
            Plan::Fetch {
                stale_allowed: false
            }
        );
    }

    #[test]
    fn a_refused_value_is_reread_at_most_every_30_s() {
        let t0 = Instant::now();
        let mut entry = fetched_at(t0);
        assert_eq!(entry.plan(t0 + SECOND, TTL, true), Plan::Reread);
        entry.reread = Some(t0 + SECOND);
        assert_eq!(
            entry.plan(t0 + REREAD_EVERY, TTL, true),
            Plan::Serve,
            "29 s after the last re-read: the refused value again, no call"
        );
        assert_eq!(
            entry.plan(t0 + SECOND + REREAD_EVERY, TTL, true),
            Plan::Reread
        );
        // Even an expired value is re-read on a refusal only by the 30 s rule.
        assert_eq!(entry.plan(t0 + TTL + SECOND, TTL, true), Plan::Reread);
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
