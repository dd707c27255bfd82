//! Attachments: a form's file inputs (uploaded one by one, each answered with a sealed
//! [`handle`], attached when the form is submitted) and a lookup's file outputs (downloaded
//! only by re-running the lookup, see [`crate::lookup::download`]).
//!
//! ```text
//! bytes --FileRule::check--> FileType --kintone upload--> UploadKey --handle::seal--> handle
//! handle --handle::open (on submit)--> UploadKey --> FILE field [{"fileKey"}]
//! ```

pub mod handle;
mod kind;

use std::time::{Duration, SystemTime};

pub use handle::{HANDLE_LIFE, HandleKey, HandleProblem, Sealed, UploadKey};
pub use kind::FileType;

use crate::config::Form;
use crate::input::{FieldErrors, Problem};
use crate::relay::Relay;
use crate::secrets::SecretError;

/// Lambda's limit for a synchronous invocation's request and for its response: 6 MB
/// (6,291,456 bytes), the whole event or answer as JSON.
pub const LAMBDA_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// Room kept in that payload for everything but the file: the event's headers, request context
/// and JSON around the body (API Gateway's HTTP API allows 10 KB of headers), or the response's
/// status and headers.
pub const ENVELOPE_BYTES: usize = 64 * 1024;
/// The largest file one request or response can carry: API Gateway hands a binary body to
/// Lambda base64-encoded (and takes it back so), 4 characters for every 3 bytes.
/// (6,291,456 - 65,536) / 4 * 3 = 4,669,440 bytes, about 4.45 MiB.
pub const MAX_FILE_BYTES: usize = (LAMBDA_PAYLOAD_BYTES - ENVELOPE_BYTES) / 4 * 3;
/// A form's `max_bytes` when relay.toml sets none: 4 MiB, the largest round size under
/// [`MAX_FILE_BYTES`] (5 MiB would be 6.67 MiB once base64-encoded: over Lambda's limit).
pub const DEFAULT_MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Most files one input takes when relay.toml sets no `max_files`.
pub const DEFAULT_MAX_FILES: usize = 1;
/// The most `max_files` may be: each handle is a few hundred bytes of the JSON submission.
pub const MAX_FILES_LIMIT: usize = 10;

/// What a form's file input accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRule {
    pub max_bytes: usize,
    pub max_files: usize,
    pub accept: Vec<FileType>,
}

impl FileRule {
    /// The file's type, from its bytes, if the rule accepts the file.
    pub fn check(&self, bytes: &[u8]) -> Result<FileType, Problem> {
        if bytes.is_empty() {
            return Err(Problem::Required);
        }
        if bytes.len() > self.max_bytes {
            return Err(Problem::FileTooLarge {
                max_bytes: self.max_bytes,
            });
        }
        FileType::sniff(bytes)
            .filter(|found| self.accept.contains(found))
            .ok_or_else(|| Problem::FileTypeNotAccepted {
                accept: self.accept.clone(),
            })
    }
}

/// Characters that make a name look like another (`cv\u{202E}fdp.exe` shows as `cvexe.pdf`).
fn is_hidden(c: char) -> bool {
    crate::input::text::is_invisible_format(c) || crate::input::text::is_line_separator(c)
}

/// A file's name as sent: 1 to 255 characters, no control or invisible format character, no
/// path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    pub fn parse(name: &str) -> Result<Self, Problem> {
        let name =
            unicode_normalization::UnicodeNormalization::nfc(name.trim()).collect::<String>();
        let count = name.chars().count();
        let bad = count == 0
            || count > 255
            || name == "."
            || name == ".."
            || name
                .chars()
                .any(|c| c.is_control() || is_hidden(c) || c == '/' || c == '\\');
        if bad {
            return Err(Problem::InvalidFileName);
        }
        Ok(FileName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an upload did not produce a handle.
#[derive(Debug)]
pub enum UploadError {
    /// The file itself is refused (size, type, name), by input name.
    Invalid(FieldErrors),
    /// kintone or Secrets Manager cannot take it now.
    RetryLater {
        retry_after: Duration,
    },
    Misconfigured,
    /// No randomness for the handle's nonce.
    Internal,
}

/// Checks a file sent to `form`'s file input `input`, uploads it to kintone with the form's
/// token (an upload needs no permission of its own; the add that attaches it needs "add") and
/// returns its sealed handle.
pub async fn upload(
    relay: &Relay,
    form: &Form,
    input: &str,
    rule: &FileRule,
    name: &FileName,
    bytes: &[u8],
) -> Result<String, UploadError> {
    let file_type = rule.check(bytes).map_err(|problem| {
        UploadError::Invalid(FieldErrors::from([(input.to_owned(), problem)]))
    })?;
    let key = handle_key(relay).await.map_err(|error| {
        tracing::error!(%error, "no key to seal the file's handle");
        UploadError::RetryLater {
            retry_after: Duration::from_secs(5),
        }
    })?;
    let kintone = &relay.kintone;
    let result = relay
        .call_with_token(&form.access.token_secret, |credentials| async move {
            kintone
                .upload_file(&credentials, name.as_str(), file_type.mime(), bytes)
                .await
        })
        .await;
    let upload_key = match result {
        Ok(upload_key) => upload_key,
        Err(error) => {
            let (code, id) = error.code_and_id();
            tracing::error!(form = form.name, input, code, id, "file upload failed");
            return Err(match error.retry_after() {
                Some(retry_after) => UploadError::RetryLater { retry_after },
                None => UploadError::Misconfigured,
            });
        }
    };
    tracing::info!(
        form = form.name,
        input,
        bytes = bytes.len(),
        file_type = file_type.mime(),
        "file uploaded"
    );
    handle::seal(
        &key,
        &form.name,
        input,
        upload_key,
        bytes.len() as u64,
        SystemTime::now(),
    )
    .map_err(|error| {
        tracing::error!(%error, "no randomness for a file handle");
        UploadError::Internal
    })
}

/// What opens the handles a submission of `form` carries; `None` when it has no file input.
pub async fn handle_check(
    relay: &Relay,
    form: &Form,
) -> Result<Option<crate::submit::HandleCheck>, SecretError> {
    if form.file_inputs().next().is_none() {
        return Ok(None);
    }
    Ok(Some(crate::submit::HandleCheck {
        key: handle_key(relay).await?,
        now: SystemTime::now(),
    }))
}

/// The handle key, from the `[limits]` key (a form with file inputs cannot start without one).
pub async fn handle_key(relay: &Relay) -> Result<HandleKey, SecretError> {
    let Some(limits) = &relay.config.limits else {
        return Err(SecretError::Unusable {
            secret_id: String::new(),
            detail: "relay.toml has no [limits] key_secret".into(),
        });
    };
    let key = relay.secrets.hash_key(&limits.key_secret).await?;
    Ok(HandleKey::derive(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_fits_lambdas_payload_once_base64_encoded() {
        assert_eq!(MAX_FILE_BYTES, 4_669_440);
        assert!(MAX_FILE_BYTES.div_ceil(3) * 4 + ENVELOPE_BYTES <= LAMBDA_PAYLOAD_BYTES);
        let (five_mib, encoded) = (
            5 * 1024 * 1024_usize,
            (5 * 1024 * 1024_usize).div_ceil(3) * 4,
        );
        assert!(
            encoded > LAMBDA_PAYLOAD_BYTES,
            "{five_mib} cannot be carried"
        );
        const { assert!(DEFAULT_MAX_FILE_BYTES <= MAX_FILE_BYTES) };
    }

    #[test]
    fn rules_check_size_and_the_bytes_not_the_label() {
        let rule = FileRule {
            max_bytes: 16,
            max_files: 1,
            accept: FileType::DEFAULT_ACCEPT.to_vec(),
        };
        assert_eq!(rule.check(b"%PDF-1.4 tiny"), Ok(FileType::Pdf));
        assert_eq!(rule.check(b""), Err(Problem::Required));
        assert!(matches!(
            rule.check(b"%PDF-1.4 but far too long"),
            Err(Problem::FileTooLarge { max_bytes: 16 })
        ));
        assert!(matches!(
            rule.check(b"MZ\x90\0 exe"),
            Err(Problem::FileTypeNotAccepted { .. })
        ));
        assert!(matches!(
            rule.check(b"GIF89a"),
            Err(Problem::FileTypeNotAccepted { .. })
        ));
    }

    #[test]
    fn file_names_are_plain_names() {
        assert_eq!(
            FileName::parse(" 履歴書.pdf ").unwrap().as_str(),
            "履歴書.pdf"
        );
        for bad in [
            "",
            ".",
            "..",
            "a/b.pdf",
            "a\\b.pdf",
            "a\nb.pdf",
            "cv\u{202E}fdp.exe",
            "cv\u{200B}.pdf",
            "a\u{2028}b.pdf",
            &"x".repeat(256),
        ] {
            assert_eq!(
                FileName::parse(bad),
                Err(Problem::InvalidFileName),
                "{bad:?}"
            );
        }
    }
}
