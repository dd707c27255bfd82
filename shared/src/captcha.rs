//! Captchas on forms: the widget's token, checked server-side at the provider's siteverify
//! endpoint (Cloudflare Turnstile, Google reCAPTCHA, hCaptcha all take the same form fields:
//! `secret`, `response`, `remoteip`, and answer `{"success": bool, "error-codes": [...]}`).

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::config::Captcha;
use crate::relay::Relay;
use crate::secrets::SecretError;

/// When set, the full verify URL used for every provider (tests point it at a fake verifier).
pub const VERIFY_URL_VARIABLE: &str = "RELAY_CAPTCHA_VERIFY_URL";

/// The providers answer within a second; a slower answer is an outage to the applicant.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The providers' tokens are a few kilobytes at most; anything longer is not one.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Error codes with which a provider says the relay's own secret key is wrong, not the token.
const OUR_MISTAKE: [&str; 3] = [
    "missing-input-secret",
    "invalid-input-secret",
    "sitekey-secret-mismatch",
];

#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("no captcha token was sent")]
    Missing,
    #[error("the provider did not accept the token ({codes:?})")]
    Rejected { codes: Vec<String> },
    #[error("the provider refused the relay's secret key ({codes:?})")]
    SecretRefused { codes: Vec<String> },
    #[error("the captcha provider could not be asked: {0}")]
    Unreachable(String),
    #[error("the form has a captcha but the relay has no verifier")]
    NoVerifier,
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// What the submit function builds once to ask the providers.
pub struct CaptchaVerifier {
    http: reqwest::Client,
    url_override: Option<String>,
}

#[derive(Deserialize)]
struct Verdict {
    success: bool,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
}

impl CaptchaVerifier {
    /// `url_override`: see [`VERIFY_URL_VARIABLE`].
    pub fn new(url_override: Option<String>) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(VERIFY_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(CaptchaVerifier { http, url_override })
    }
}

/// Checks the token a page sent for `captcha`, from the source address `remote_ip`.
pub async fn verify(
    relay: &Relay,
    captcha: &Captcha,
    token: Option<&str>,
    remote_ip: Option<IpAddr>,
) -> Result<(), CaptchaError> {
    let token = token
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(CaptchaError::Missing)?;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(CaptchaError::Rejected {
            codes: vec!["token-too-long".into()],
        });
    }
    let verifier = relay.captcha.as_ref().ok_or(CaptchaError::NoVerifier)?;
    let secret = relay.secrets.captcha_secret(&captcha.secret).await?;
    let url = verifier
        .url_override
        .as_deref()
        .unwrap_or(captcha.provider.verify_url());
    let remote_ip = remote_ip.map(|ip| ip.to_string());
    let mut fields = vec![("secret", secret.expose()), ("response", token)];
    if let Some(ip) = &remote_ip {
        fields.push(("remoteip", ip));
    }
    let answer = verifier
        .http
        .post(url)
        .form(&fields)
        .send()
        .await
        .map_err(|err| CaptchaError::Unreachable(err.without_url().to_string()))?;
    if !answer.status().is_success() {
        return Err(CaptchaError::Unreachable(format!(
            "the provider answered {}",
            answer.status()
        )));
    }
    let verdict: Verdict = answer.json().await.map_err(|err| {
        CaptchaError::Unreachable(format!(
            "an answer that is not a verdict: {}",
            err.without_url()
        ))
    })?;
    if verdict.success {
        return Ok(());
    }
    if verdict
        .error_codes
        .iter()
        .any(|code| OUR_MISTAKE.contains(&code.as_str()))
    {
        return Err(CaptchaError::SecretRefused {
            codes: verdict.error_codes,
        });
    }
    Err(CaptchaError::Rejected {
        codes: verdict.error_codes,
    })
}
