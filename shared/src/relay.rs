//! What a relay function builds once per instance and borrows for every request.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::config::{Config, ConfigError};
use crate::http::ApiError;
use crate::kintone::{Credentials, KintoneClient, KintoneError};
use crate::secrets::{SecretError, SecretStore};

/// Why a function could not start; the message names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot build the kintone HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
}

/// A failed kintone call, including the token lookup before it.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Kintone(#[from] KintoneError),
}

/// Which endpoints a function serves. It decides the secrets the function reads (the SAM
/// template lets each function read only its own), and so the ones it fetches at init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoints {
    /// `POST /forms/{form}`: the `submit` function.
    Forms,
    /// `POST /lookups/{lookup}`: the `lookup` function.
    Lookups,
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
}

impl Relay {
    pub fn new(config: Config, secrets: SecretStore, kintone: KintoneClient) -> Self {
        Relay {
            config,
            secrets,
            kintone,
        }
    }

    /// Reads the configuration (see [`Config::from_env`]) and the AWS settings of the
    /// environment (region, credentials, `AWS_ENDPOINT_URL_SECRETS_MANAGER`), then warms the
    /// connections the first request of `endpoints` needs (see [`Relay::warm`]) unless
    /// `RELAY_WARM_AT_INIT=0`. Only the configuration can make it fail: an unreachable Secrets
    /// Manager or kintone is logged and left to the first request.
    pub async fn from_env(endpoints: Endpoints) -> Result<Self, StartupError> {
        prefer_ca_bundle();
        let config = Config::from_env()?;
        // Bounded, so a hanging Secrets Manager ends as a 503 well within the Lambda timeout.
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_attempt_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(3))
            .build();
        let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts)
            .load()
            .await;
        let secrets = SecretStore::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            config.secrets.cache_ttl,
        );
        let kintone = KintoneClient::new(&config.kintone)?;
        let relay = Relay::new(config, secrets, kintone);
        if warm_at_init() {
            relay.warm(endpoints).await;
        }
        Ok(relay)
    }

    /// The token secrets of `endpoints`, each once.
    pub fn token_secrets(&self, endpoints: Endpoints) -> BTreeSet<&str> {
        match endpoints {
            Endpoints::Forms => self
                .config
                .forms
                .values()
                .map(|form| form.token_secret.as_str())
                .collect(),
            Endpoints::Lookups => self
                .config
                .lookups
                .values()
                .map(|lookup| lookup.token_secret.as_str())
                .collect(),
        }
    }

    /// Does during init what the first request would otherwise wait for: reads the token
    /// secrets of `endpoints` (and the Basic auth secret) into the cache, which also opens the
    /// Secrets Manager connection, and meanwhile opens the kintone connection (TCP and TLS)
    /// without calling the API. On Lambda, init runs at full CPU, so the TLS handshakes cost
    /// a fraction of what they cost in a first request at 128-256 MB. Bounded by
    /// [`WARM_TIMEOUT`]; whatever fails or is cut short is logged and left to the first request.
    pub async fn warm(&self, endpoints: Endpoints) {
        let started = Instant::now();
        let secrets = async {
            let mut cached = 0u32;
            // One after another, so the second reuses the connection the first opened.
            for secret_id in self.token_secrets(endpoints) {
                cached += u32::from(self.secrets.token(secret_id).await.is_ok());
            }
            if let Some(secret_id) = &self.config.kintone.basic_auth_secret {
                cached += u32::from(self.secrets.basic_auth(secret_id).await.is_ok());
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

    async fn credentials(&self, token_secret: &str) -> Result<Credentials, SecretError> {
        let token = self.secrets.token(token_secret).await?;
        self.with_basic_auth(token).await
    }

    async fn with_basic_auth(
        &self,
        token: crate::secrets::Token,
    ) -> Result<Credentials, SecretError> {
        let basic_auth = match &self.config.kintone.basic_auth_secret {
            Some(secret) => Some(self.secrets.basic_auth(secret).await?),
            None => None,
        };
        Ok(Credentials { token, basic_auth })
    }

    /// Runs `call` with the token stored in `token_secret`. When kintone does not know the token
    /// (it was rotated since it was cached), the secret is re-read once and the call repeated:
    /// a refused token stored nothing, so the repeat is safe.
    pub async fn call_with_token<T, F, Fut>(
        &self,
        token_secret: &str,
        call: F,
    ) -> Result<T, CallError>
    where
        F: Fn(Credentials) -> Fut,
        Fut: Future<Output = Result<T, KintoneError>>,
    {
        let credentials = self.credentials(token_secret).await?;
        let stale = credentials.token.clone();
        match call(credentials).await {
            Err(err) if err.is_invalid_token() => {
                tracing::warn!(
                    token_secret,
                    "kintone does not know the cached token; re-reading the secret"
                );
                let token = self.secrets.refresh_token(token_secret, &stale).await?;
                let credentials = self.with_basic_auth(token).await?;
                Ok(call(credentials).await?)
            }
            other => Ok(other?),
        }
    }
}

impl CallError {
    /// The browser's view of a failed call; `Refused` is the caller's to interpret first.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            CallError::Secret(SecretError::Unavailable { .. }) => ApiError::Unavailable {
                retry_after: Duration::from_secs(5),
            },
            CallError::Secret(SecretError::Unusable { .. }) => ApiError::Misconfigured,
            CallError::Kintone(KintoneError::Unavailable { retry_after, .. }) => {
                ApiError::Unavailable {
                    retry_after: *retry_after,
                }
            }
            CallError::Kintone(
                KintoneError::Misconfigured { .. } | KintoneError::Refused { .. },
            ) => ApiError::Misconfigured,
        }
    }
}
