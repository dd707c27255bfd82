//! What a relay function builds once per instance and borrows for every request.

use std::time::Duration;

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
    /// environment (region, credentials, `AWS_ENDPOINT_URL_SECRETS_MANAGER`).
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let secrets = SecretStore::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            config.secrets.cache_ttl,
        );
        let kintone = KintoneClient::new(&config.kintone)?;
        Ok(Relay::new(config, secrets, kintone))
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
