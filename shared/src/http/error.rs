//! Every way a request can fail, as the browser sees it: a status, a stable code and a message
//! in the reader's language. Core errors convert with `From`, so handlers use `?`; internals
//! are logged where they happen and never returned.

use std::time::Duration;

use lambda_http::http::StatusCode;

use crate::captcha::CaptchaError;
use crate::files::UploadError;
use crate::input::{BodyError, FieldErrors};
use crate::lookup::LookupError;
use crate::secrets::SecretError;
use crate::submit::{DeliveryError, TooManySubmissions};

#[derive(Debug)]
pub enum ApiError {
    NotFound,
    /// The source address is not in the form's or lookup's `allowed_ips`.
    Forbidden,
    /// Too many attempts from this address (or for this key); `Retry-After` says when.
    TooManyAttempts {
        retry_after: Duration,
    },
    /// `allow` is the `Allow` header: the methods that do have a route.
    MethodNotAllowed {
        allow: String,
    },
    OriginNotAllowed,
    UnsupportedMediaType,
    PayloadTooLarge {
        limit: usize,
    },
    /// A lookup's file is larger than one response can carry.
    FileTooLarge {
        limit: usize,
    },
    InvalidBody(BodyError),
    InvalidInput(FieldErrors),
    InvalidIdempotencyKey,
    /// `X-Relay-Stamp` missing, forged or older than a day: fetch the description again.
    InvalidStamp,
    /// The form's captcha token is missing or the provider did not accept it.
    CaptchaFailed,
    /// Posted faster than a person fills the form in; `Retry-After` says how much sooner.
    TooFast {
        retry_after: Duration,
    },
    Unavailable {
        retry_after: Duration,
    },
    Misconfigured,
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::OriginNotAllowed => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } | ApiError::FileTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::InvalidBody(_)
            | ApiError::InvalidInput(_)
            | ApiError::InvalidIdempotencyKey
            | ApiError::InvalidStamp
            | ApiError::CaptchaFailed => StatusCode::BAD_REQUEST,
            ApiError::TooFast { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Misconfigured | ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code integrators match on (the README's contract).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound => "not_found",
            ApiError::Forbidden => "forbidden",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::OriginNotAllowed => "origin_not_allowed",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::FileTooLarge { .. } => "file_too_large",
            ApiError::InvalidBody(_) => "invalid_json",
            ApiError::InvalidInput(_) => "invalid_input",
            ApiError::InvalidIdempotencyKey => "invalid_idempotency_key",
            ApiError::InvalidStamp => "invalid_stamp",
            ApiError::CaptchaFailed => "captcha_failed",
            ApiError::TooFast { .. } => "too_fast",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Misconfigured => "misconfigured",
            ApiError::Internal => "internal",
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        ApiError::InvalidBody(error)
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::InvalidInput(errors)
    }
}

impl From<DeliveryError> for ApiError {
    fn from(error: DeliveryError) -> Self {
        match error {
            DeliveryError::RetryLater { retry_after } => ApiError::Unavailable { retry_after },
            DeliveryError::Refused(refusal) => ApiError::InvalidInput(refusal.inputs),
            DeliveryError::Misconfigured => ApiError::Misconfigured,
        }
    }
}

impl From<UploadError> for ApiError {
    fn from(error: UploadError) -> Self {
        match error {
            UploadError::Invalid(fields) => ApiError::InvalidInput(fields),
            UploadError::RetryLater { retry_after } => ApiError::Unavailable { retry_after },
            UploadError::Misconfigured => ApiError::Misconfigured,
            UploadError::Internal => ApiError::Internal,
        }
    }
}

impl From<TooManySubmissions> for ApiError {
    fn from(refusal: TooManySubmissions) -> Self {
        ApiError::TooManyAttempts {
            retry_after: refusal.retry_after,
        }
    }
}

impl From<CaptchaError> for ApiError {
    fn from(error: CaptchaError) -> Self {
        match error {
            CaptchaError::Missing | CaptchaError::Rejected { .. } => ApiError::CaptchaFailed,
            CaptchaError::Unreachable(_) => {
                tracing::error!(%error, "captcha not verified");
                ApiError::Unavailable {
                    retry_after: Duration::from_secs(5),
                }
            }
            CaptchaError::Secret(SecretError::Unavailable { .. }) => {
                tracing::error!(%error, "captcha not verified");
                ApiError::Unavailable {
                    retry_after: Duration::from_secs(5),
                }
            }
            CaptchaError::SecretRefused { .. }
            | CaptchaError::NoVerifier
            | CaptchaError::Secret(SecretError::Unusable { .. }) => {
                tracing::error!(%error, "captcha not verified");
                ApiError::Misconfigured
            }
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(error: LookupError) -> Self {
        match error {
            LookupError::Invalid(errors) => ApiError::InvalidInput(errors),
            LookupError::NotFound => ApiError::NotFound,
            LookupError::RetryLater { retry_after } => ApiError::Unavailable { retry_after },
            LookupError::Misconfigured => ApiError::Misconfigured,
            LookupError::TooManyAttempts { retry_after } => {
                ApiError::TooManyAttempts { retry_after }
            }
            LookupError::FileTooLarge => ApiError::FileTooLarge {
                limit: crate::files::MAX_FILE_BYTES,
            },
        }
    }
}
