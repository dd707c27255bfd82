//! What a relay function builds once per instance and borrows for every request.

use std::time::{Duration, Instant};

use crate::captcha::{CaptchaVerifier, VERIFY_URL_VARIABLE as CAPTCHA_VERIFY_URL_VARIABLE};
use crate::config::{Config, ConfigError, Function, SecretId};
use crate::kintone::{Credentials, KintoneClient, KintoneError};
use crate::limits::Limiter;
use crate::queue::SubmissionQueue;
use crate::secrets::{SecretError, SecretStore};

/// Why a function could not start; the message names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot build an HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("{variable} is not set, but {what}")]
    MissingEnvironment {
        variable: &'static str,
        what: &'static str,
    },
}

/// A failed kintone call, including the token lookup before it.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Kintone(#[from] KintoneError),
}

/// How long to wait when Secrets Manager, not kintone, was unavailable.
const SECRETS_RETRY_AFTER: Duration = Duration::from_secs(5);

impl CallError {
    /// kintone's code and error id, for logs; empty for a secret that could not be read.
    pub fn code_and_id(&self) -> (&str, &str) {
        match self {
            CallError::Kintone(error) => error.code_and_id(),
            CallError::Secret(_) => ("", ""),
        }
    }

    /// How long to wait before the same call may succeed; `None` when it never will.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Secret(SecretError::Unavailable { .. }) => Some(SECRETS_RETRY_AFTER),
            CallError::Kintone(KintoneError::Unavailable { retry_after, .. }) => Some(*retry_after),
            CallError::Secret(SecretError::Unusable { .. })
            | CallError::Kintone(
                KintoneError::Refused { .. } | KintoneError::Misconfigured { .. },
            ) => None,
        }
    }
}

/// The longest init waits for warming before it leaves the rest to the first request.
const WARM_TIMEOUT: Duration = Duration::from_secs(2);

/// The system CA bundles, in the order rustls-native-certs (through openssl-probe) looks for
/// them on Linux.
const CA_BUNDLES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
];

/// Both HTTPS clients (the AWS SDK's and reqwest's) load the system's trusted roots at start-up
/// through rustls-native-certs, which reads the CA bundle *and* every file of the CA
/// directories: the same roots again (on Debian some 290 files). Measured on such a machine
/// (bench/README.md), that was 8 of the 11 ms of CPU before the first event.
/// When the environment names neither `SSL_CERT_FILE` nor `SSL_CERT_DIR`, name the bundle the
/// libraries would have found first, so they read that file only.
fn prefer_ca_bundle() {
    if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
        return;
    }
    if let Some(bundle) = CA_BUNDLES
        .into_iter()
        .find(|path| std::path::Path::new(path).is_file())
    {
        // SAFETY: this runs at the start of init, in the function's single thread (the
        // current-thread runtime has started no worker or blocking thread yet), before any
        // client that reads the variable exists.
        unsafe { std::env::set_var("SSL_CERT_FILE", bundle) };
    }
}

/// `RELAY_WARM_AT_INIT=0` (or `false`, `off`) turns warming off; it is on by default.
fn warm_at_init() -> bool {
    !matches!(
        std::env::var("RELAY_WARM_AT_INIT")
            .as_deref()
            .map(str::trim),
        Ok("0" | "false" | "off" | "no")
    )
}

pub struct Relay {
    pub config: Config,
    pub secrets: SecretStore,
    pub kintone: KintoneClient,
    /// Where the submissions of forms with `queue = true` wait while kintone cannot take them.
    pub queue: Option<SubmissionQueue>,
    /// The attempt counters, when relay.toml has `[limits]`.
    pub limits: Option<Limiter>,
    /// Asks the captcha providers, when a form has a captcha.
    pub captcha: Option<CaptchaVerifier>,
}

/// The attempt counters' DynamoDB table (`RELAY_LIMITS_TABLE`).
pub const LIMITS_TABLE_VARIABLE: &str = "RELAY_LIMITS_TABLE";

/// The queue of waiting submissions, for `submit` (`RELAY_QUEUE_URL`).
pub const QUEUE_URL_VARIABLE: &str = "RELAY_QUEUE_URL";
/// The dead-letter queue, for `deliver` (`RELAY_DEAD_LETTER_QUEUE_URL`).
pub const DEAD_LETTER_QUEUE_URL_VARIABLE: &str = "RELAY_DEAD_LETTER_QUEUE_URL";

/// The AWS settings of the environment (region, credentials, `AWS_ENDPOINT_URL_<SERVICE>`),
/// with every call bounded, so a hanging AWS service ends as a 503 (or a redelivery) well
/// within the Lambda timeout.
pub async fn aws_config() -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(3))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

impl Relay {
    pub fn new(config: Config, secrets: SecretStore, kintone: KintoneClient) -> Self {
        Relay {
            config,
            secrets,
            kintone,
            queue: None,
            limits: None,
            captcha: None,
        }
    }

    /// The same relay, checking the forms' captchas with `verifier`.
    pub fn with_captcha(mut self, verifier: CaptchaVerifier) -> Self {
        self.captcha = Some(verifier);
        self
    }

    /// The same relay, counting attempts in `limiter`.
    pub fn with_limits(mut self, limiter: Limiter) -> Self {
        self.limits = Some(limiter);
        self
    }

    /// The same relay, queueing the submissions of forms with `queue = true` on `queue`.
    pub fn with_queue(mut self, queue: SubmissionQueue) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Reads the configuration (see [`Config::from_env`]) and the AWS settings of the
    /// environment (region, credentials, `AWS_ENDPOINT_URL_SECRETS_MANAGER`), then warms the
    /// connections the first request of `endpoints` needs (see [`Relay::warm`]) unless
    /// `RELAY_WARM_AT_INIT=0`. Only the configuration can make it fail: an unreachable Secrets
    /// Manager or kintone is logged and left to the first request.
    pub async fn from_env(function: Function) -> Result<Self, StartupError> {
        prefer_ca_bundle();
        let config = Config::from_env()?;
        let aws = aws_config().await;
        let secrets = SecretStore::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            config.secrets.cache_ttl,
        );
        let kintone = KintoneClient::new(&config.kintone)?;
        let queues = function == Function::Submit && config.queued_forms().next().is_some();
        let counts = function != Function::Deliver && config.limits.is_some();
        let captchas =
            function == Function::Submit && config.forms.values().any(|f| f.captcha.is_some());
        let mut relay = Relay::new(config, secrets, kintone);
        if queues {
            let url = std::env::var(QUEUE_URL_VARIABLE).map_err(|_| {
                StartupError::MissingEnvironment {
                    variable: QUEUE_URL_VARIABLE,
                    what: "relay.toml has forms with queue = true",
                }
            })?;
            relay = relay.with_queue(SubmissionQueue::new(aws_sdk_sqs::Client::new(&aws), url));
        }
        if counts {
            let table = std::env::var(LIMITS_TABLE_VARIABLE).map_err(|_| {
                StartupError::MissingEnvironment {
                    variable: LIMITS_TABLE_VARIABLE,
                    what: "relay.toml has [limits]",
                }
            })?;
            relay = relay.with_limits(Limiter::new(aws_sdk_dynamodb::Client::new(&aws), table));
        }
        if captchas {
            let url_override = std::env::var(CAPTCHA_VERIFY_URL_VARIABLE).ok();
            relay = relay.with_captcha(CaptchaVerifier::new(url_override)?);
        }
        if warm_at_init() {
            relay.warm(function).await;
        }
        Ok(relay)
    }

    /// Does during init what the first request would otherwise wait for: reads the secrets
    /// `function` reads (its tokens and the Basic auth secret) into the cache, which also opens the
    /// Secrets Manager connection, and meanwhile opens the kintone connection (TCP and TLS)
    /// without calling the API. On Lambda, init runs at full CPU, so the TLS handshakes cost
    /// a fraction of what they cost in a first request at 128-256 MB. Bounded by
    /// [`WARM_TIMEOUT`]; whatever fails or is cut short is logged and left to the first request.
    pub async fn warm(&self, function: Function) {
        let started = Instant::now();
        let basic_auth = self.config.kintone.basic_auth_secret.as_ref();
        let secrets = async {
            let mut cached = 0u32;
            // One after another, so the second reuses the connection the first opened.
            for secret_id in self.config.secrets_read_by(function) {
                let limits_key = self.config.limits.as_ref().map(|l| &l.key_secret);
                let is_captcha_secret = self.config.forms.values().any(|form| {
                    form.captcha
                        .as_ref()
                        .is_some_and(|c| &c.secret == secret_id)
                });
                let read = if Some(secret_id) == basic_auth {
                    self.secrets.basic_auth(secret_id).await.is_ok()
                } else if Some(secret_id) == limits_key {
                    self.secrets.hash_key(secret_id).await.is_ok()
                } else if is_captcha_secret {
                    self.secrets.captcha_secret(secret_id).await.is_ok()
                } else {
                    self.secrets.token(secret_id).await.is_ok()
                };
                cached += u32::from(read);
            }
            cached
        };
        let kintone = self.kintone.open_connection();
        let warmed = tokio::time::timeout(WARM_TIMEOUT, async { tokio::join!(secrets, kintone) });
        match warmed.await {
            Ok((secrets_cached, kintone)) => tracing::info!(
                secrets_cached,
                kintone_connected = kintone.is_ok(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "warmed at init"
            ),
            Err(_) => tracing::warn!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "warming at init took too long; the first request finishes it"
            ),
        }
    }

    async fn credentials(&self, token_secret: &SecretId) -> Result<Credentials, SecretError> {
        let token = self.secrets.token(token_secret).await?;
        let basic_auth = match &self.config.kintone.basic_auth_secret {
            Some(secret) => Some(self.secrets.basic_auth(secret).await?),
            None => None,
        };
        Ok(Credentials { token, basic_auth })
    }

    /// After kintone refused `sent`: the credentials to repeat the call with, or `None` when
    /// there is nothing new to try (the secret still holds the refused value, or it was re-read
    /// less than 30 s ago; see [`crate::secrets`]).
    async fn refreshed(
        &self,
        token_secret: &SecretId,
        sent: &Credentials,
        err: &KintoneError,
    ) -> Result<Option<Credentials>, SecretError> {
        if err.is_invalid_token() {
            tracing::warn!(
                token_secret = token_secret.as_str(),
                "kintone does not know the cached token; re-reading the secret"
            );
            let token = self
                .secrets
                .refresh_token(token_secret, &sent.token)
                .await?;
            return Ok(token.map(|token| Credentials {
                token,
                basic_auth: sent.basic_auth.clone(),
            }));
        }
        if err.is_basic_auth_refused()
            && let (Some(secret), Some(basic_auth)) =
                (&self.config.kintone.basic_auth_secret, &sent.basic_auth)
        {
            tracing::warn!(
                basic_auth_secret = secret.as_str(),
                "kintone's Basic authentication refused the cached credentials; re-reading the secret"
            );
            let basic_auth = self.secrets.refresh_basic_auth(secret, basic_auth).await?;
            return Ok(basic_auth.map(|basic_auth| Credentials {
                token: sent.token.clone(),
                basic_auth: Some(basic_auth),
            }));
        }
        Ok(None)
    }

    /// Runs `call` with the token stored in `token_secret` (and the domain's Basic auth, if
    /// configured). When kintone refuses the token (`GAIA_IA02`: rotated since it was cached) or
    /// the Basic credentials (401), that secret is re-read and the call repeated once with the
    /// new value: a refused call stored nothing, so the repeat is safe. Re-reads are limited to
    /// one per secret per 30 s, so a revoked token answers `Misconfigured` without a Secrets
    /// Manager call per request.
    pub async fn call_with_token<T, F, Fut>(
        &self,
        token_secret: &SecretId,
        call: F,
    ) -> Result<T, CallError>
    where
        F: Fn(Credentials) -> Fut,
        Fut: Future<Output = Result<T, KintoneError>>,
    {
        let credentials = self.credentials(token_secret).await?;
        // Kept for the comparison after a refusal; credentials are a few short strings.
        let sent = credentials.clone();
        match call(credentials).await {
            Err(err) => match self.refreshed(token_secret, &sent, &err).await? {
                Some(credentials) => Ok(call(credentials).await?),
                None => Err(err.into()),
            },
            Ok(value) => Ok(value),
        }
    }
}
