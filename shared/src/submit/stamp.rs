//! The stamp of a form's description: when the page fetched it, signed with the limits key, so
//! a post can show how long its person took without the relay storing anything. A post faster
//! than the form's `min_fill_seconds` is a bot's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::Mac;

use crate::secrets::HashKey;

/// How long a stamp is good for: a person may leave a form open for a day.
const STAMP_LIFE: Duration = Duration::from_secs(24 * 3600);

/// Why a stamp is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampProblem {
    /// Missing, malformed, forged, for another form, or older than a day.
    Invalid,
    /// Genuine, but the form was filled in faster than a person does: wait `retry_after`.
    TooFast { retry_after: Duration },
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn signature(key: &HashKey, form: &str, issued: u64) -> String {
    let mut mac = key.mac();
    mac.update(b"kintone-relay stamp v1\0");
    mac.update(form.as_bytes());
    mac.update(b"\0");
    mac.update(&issued.to_be_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stamp for a description of `form`, when the form asks for a fill time; `Err` when the
/// limits key cannot be read.
pub async fn issue_for(
    relay: &crate::relay::Relay,
    form: &crate::config::Form,
) -> Result<Option<String>, crate::secrets::SecretError> {
    let (Some(_), Some(limits)) = (form.min_fill, &relay.config.limits) else {
        return Ok(None);
    };
    let key = relay.secrets.hash_key(&limits.key_secret).await?;
    Ok(Some(issue(&key, &form.name, SystemTime::now())))
}

/// Whether a post of `form` with `stamp` was filled in at a person's pace (`Ok` when the form
/// asks for no fill time). `Err(None)` when the limits key cannot be read.
pub async fn verify(
    relay: &crate::relay::Relay,
    form: &crate::config::Form,
    stamp: Option<&str>,
) -> Result<(), Option<StampProblem>> {
    let (Some(min_fill), Some(limits)) = (form.min_fill, &relay.config.limits) else {
        return Ok(());
    };
    let key = relay
        .secrets
        .hash_key(&limits.key_secret)
        .await
        .map_err(|error| {
            tracing::error!(%error, "no key to check the form's stamp");
            None
        })?;
    check(&key, &form.name, stamp, min_fill, SystemTime::now()).map_err(Some)
}

/// `<issued epoch seconds>.<HMAC hex>`
pub fn issue(key: &HashKey, form: &str, now: SystemTime) -> String {
    let issued = seconds(now);
    format!("{issued}.{}", signature(key, form, issued))
}

/// Checks a stamp sent back with a post of `form`.
pub fn check(
    key: &HashKey,
    form: &str,
    stamp: Option<&str>,
    min_fill: Duration,
    now: SystemTime,
) -> Result<(), StampProblem> {
    let (issued, sent) = stamp
        .and_then(|stamp| stamp.split_once('.'))
        .ok_or(StampProblem::Invalid)?;
    let issued: u64 = issued.parse().map_err(|_| StampProblem::Invalid)?;
    let expected = signature(key, form, issued);
    // Compared in constant time: a forger learns nothing from how long a refusal takes.
    let same = expected.len() == sent.len()
        && expected
            .bytes()
            .zip(sent.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0;
    if !same {
        return Err(StampProblem::Invalid);
    }
    let now = seconds(now);
    let age = now.checked_sub(issued).ok_or(StampProblem::Invalid)?;
    if age > STAMP_LIFE.as_secs() {
        return Err(StampProblem::Invalid);
    }
    if age < min_fill.as_secs() {
        return Err(StampProblem::TooFast {
            retry_after: Duration::from_secs(min_fill.as_secs() - age),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> HashKey {
        HashKey::new(b"a key of at least sixteen bytes")
    }

    #[test]
    fn stamps_show_the_fill_time_and_cannot_be_forged() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let stamp = issue(&key(), "seminar", t0);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let min = Duration::from_secs(5);
        assert_eq!(check(&key(), "seminar", Some(&stamp), min, at(5)), Ok(()));
        assert_eq!(
            check(&key(), "seminar", Some(&stamp), min, at(2)),
            Err(StampProblem::TooFast {
                retry_after: Duration::from_secs(3)
            })
        );
        assert_eq!(
            check(&key(), "survey", Some(&stamp), min, at(9)),
            Err(StampProblem::Invalid)
        );
        assert_eq!(
            check(&key(), "seminar", Some(&stamp), min, at(24 * 3600 + 1)),
            Err(StampProblem::Invalid)
        );
        let older = stamp.replacen("1800000000", "1799999000", 1);
        assert_eq!(
            check(&key(), "seminar", Some(&older), min, at(9)),
            Err(StampProblem::Invalid)
        );
        assert_eq!(
            check(&key(), "seminar", None, min, at(9)),
            Err(StampProblem::Invalid)
        );
        assert_eq!(
            check(&key(), "seminar", Some("x"), min, at(9)),
            Err(StampProblem::Invalid)
        );
    }
}
