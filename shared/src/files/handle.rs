//! The handle a browser gets for an uploaded file and sends back with the submission.
//!
//! It must carry kintone's temporary fileKey without showing it, and it must not be forgeable
//! or usable on another form or input. So it is sealed with XChaCha20-Poly1305 (an AEAD:
//! encryption and a MAC in one) under a key derived by HMAC-SHA256 from the `[limits]` key,
//! with the form and input as associated data: a handle opened for another form or input fails
//! its tag exactly like a forged one. Nothing is stored; a handle lives [`HANDLE_LIFE`].
//!
//! Text form: `f1.` + base64url(24-byte random nonce ‖ ciphertext ‖ 16-byte tag).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::Mac;
use serde::{Deserialize, Serialize};

use crate::secrets::HashKey;

/// How long a handle is good for. kintone keeps an unattached upload for a while (the widely
/// repeated "3 days" is UNCONFIRMED, fact sheet §1.5); an hour is well within any plausible
/// life and enough to finish a form after choosing its file.
pub const HANDLE_LIFE: Duration = Duration::from_secs(3600);

const PREFIX: &str = "f1.";
const NONCE_BYTES: usize = 24;
/// The longest handle text read; a real one is about 150 characters.
const MAX_HANDLE_CHARS: usize = 1_024;

/// kintone's temporary fileKey of an upload: only for attaching, never shown to a browser.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadKey(pub String);

impl std::fmt::Debug for UploadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UploadKey(***)")
    }
}

/// What a handle holds besides the form and input it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    #[serde(rename = "k")]
    pub upload_key: UploadKey,
    #[serde(rename = "s")]
    pub size: u64,
    /// Epoch seconds after which the handle is refused.
    #[serde(rename = "e")]
    pub expires: u64,
}

/// Why a handle is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandleProblem {
    /// Malformed, forged, changed, or issued for another form or input.
    #[error("not a handle of this form and input")]
    Invalid,
    #[error("expired")]
    Expired,
}

/// The key handles are sealed with, derived from the `[limits]` key so that no second secret is
/// needed and a stamp's MAC and a handle's key are never the same key.
pub struct HandleKey(chacha20poly1305::Key);

impl HandleKey {
    pub fn derive(key: &HashKey) -> Self {
        let mut mac = key.mac();
        mac.update(b"kintone-relay file handle key v1");
        HandleKey(mac.finalize().into_bytes())
    }
}

fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn associated_data(form: &str, input: &str) -> Vec<u8> {
    let mut aad = b"kintone-relay file handle v1\0".to_vec();
    aad.extend_from_slice(form.as_bytes());
    aad.push(0);
    aad.extend_from_slice(input.as_bytes());
    aad
}

/// A handle for an upload to `form`'s `input`, good until [`HANDLE_LIFE`] after `now`.
pub fn seal(
    key: &HandleKey,
    form: &str,
    input: &str,
    upload_key: UploadKey,
    size: u64,
    now: SystemTime,
) -> Result<String, getrandom::Error> {
    let sealed = Sealed {
        upload_key,
        size,
        expires: epoch_seconds(now) + HANDLE_LIFE.as_secs(),
    };
    let plain = serde_json::to_vec(&sealed).unwrap_or_default();
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce)?;
    let aad = associated_data(form, input);
    let cipher = XChaCha20Poly1305::new(&key.0);
    // Encryption fails only for messages beyond 256 GiB.
    let sealed = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .unwrap_or_default();
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Opens a handle sent with a submission of `form`'s `input`.
pub fn open(
    key: &HandleKey,
    form: &str,
    input: &str,
    handle: &str,
    now: SystemTime,
) -> Result<Sealed, HandleProblem> {
    if handle.len() > MAX_HANDLE_CHARS {
        return Err(HandleProblem::Invalid);
    }
    let bytes = handle
        .strip_prefix(PREFIX)
        .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
        .ok_or(HandleProblem::Invalid)?;
    if bytes.len() <= NONCE_BYTES {
        return Err(HandleProblem::Invalid);
    }
    let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| HandleProblem::Invalid)?;
    let aad = associated_data(form, input);
    let plain = XChaCha20Poly1305::new(&key.0)
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| HandleProblem::Invalid)?;
    let sealed: Sealed = serde_json::from_slice(&plain).map_err(|_| HandleProblem::Invalid)?;
    if epoch_seconds(now) > sealed.expires {
        return Err(HandleProblem::Expired);
    }
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> HandleKey {
        HandleKey::derive(&HashKey::new(b"a key of at least sixteen bytes"))
    }

    #[test]
    fn handles_open_only_for_their_form_and_input_and_hide_the_key() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let upload = UploadKey("c15b3870-1111-2222-3333-444455556666".into());
        let handle = seal(&key(), "jobs", "cv", upload.clone(), 1234, t0).unwrap();
        assert!(!handle.contains("c15b3870"), "{handle}");
        let opened = open(&key(), "jobs", "cv", &handle, t0).unwrap();
        assert_eq!(opened.upload_key, upload);
        assert_eq!(opened.size, 1234);
        assert_eq!(
            open(&key(), "jobs", "photo", &handle, t0),
            Err(HandleProblem::Invalid)
        );
        assert_eq!(
            open(&key(), "seminar", "cv", &handle, t0),
            Err(HandleProblem::Invalid)
        );
        let other_key = HandleKey::derive(&HashKey::new(b"another key of sixteen bytes"));
        assert_eq!(
            open(&other_key, "jobs", "cv", &handle, t0),
            Err(HandleProblem::Invalid)
        );
        let later = t0 + HANDLE_LIFE + Duration::from_secs(1);
        assert_eq!(
            open(&key(), "jobs", "cv", &handle, later),
            Err(HandleProblem::Expired)
        );
        // Every single changed character is refused.
        for i in PREFIX.len()..handle.len() {
            let mut bytes = handle.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            if changed != handle {
                assert!(open(&key(), "jobs", "cv", &changed, t0).is_err(), "{i}");
            }
        }
        for junk in ["", "f1.", "f1.AAAA", "x", &"f1.A".repeat(400)] {
            assert_eq!(
                open(&key(), "jobs", "cv", junk, t0),
                Err(HandleProblem::Invalid)
            );
        }
    }
}
