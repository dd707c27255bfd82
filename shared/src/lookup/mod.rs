//! The lookup pipeline: a partner's inputs are checked and normalised, the relay builds the
//! kintone query from them alone, checks every returned record again, and keeps only the
//! declared outputs. Every kind of miss is the same [`LookupError::NotFound`].
//!
//! ```text
//! Inputs --MatchInputs::parse--> MatchInputs --query::build--> KintoneQuery --kintone-->
//!   records --recheck::check--> matching records --outputs::of--> declared outputs
//! ```

mod inputs;
mod outputs;
mod query;
mod recheck;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

pub use inputs::MatchInputs;
pub use recheck::Mismatch;

use crate::config::Lookup;
use crate::files::MAX_FILE_BYTES;
use crate::input::{FieldErrors, Inputs};
use crate::kintone::{DownloadError, Downloaded, ReadRecord};
use crate::limits;
use crate::query::KintoneQuery;
use crate::relay::{CallError, Relay};

/// Why a lookup answers no records.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupError {
    /// An input is missing or malformed; this says nothing about which records exist.
    Invalid(FieldErrors),
    /// No record matches: whatever the reason, the same answer.
    NotFound,
    RetryLater {
        retry_after: Duration,
    },
    Misconfigured,
    /// Too many misses from this address or for this key: kintone is not called.
    TooManyAttempts {
        retry_after: Duration,
    },
    /// The file asked for is larger than one Lambda response can carry.
    FileTooLarge,
}

/// One record's declared outputs, by output name.
pub type Outputs = Map<String, Value>;

/// Runs `lookup` for `inputs` sent from `source`: the matching records' outputs, at most
/// `max_records` of them. A miss counts against the source address and the key value (see
/// [`crate::limits`]); past either limit the lookup answers without calling kintone.
pub async fn look_up(
    relay: &Relay,
    lookup: &Lookup,
    inputs: &Inputs,
    source: Option<IpAddr>,
) -> Result<Vec<Outputs>, LookupError> {
    attempt(relay, lookup, inputs, source, async |matching| {
        matching
            .iter()
            .map(|record| outputs::of(lookup, record))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|misdeclared| {
                tracing::error!(lookup = lookup.name, error = %misdeclared, "relay.toml does not fit the app");
                LookupError::Misconfigured
            })
    })
    .await
}

/// Which file of the answer a download asks for: the record's index in the answer, the
/// output's name, the file's index in that output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChoice {
    pub record: usize,
    pub output: String,
    pub file: usize,
}

/// A file to hand over: its name, and the bytes with kintone's `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAnswer {
    pub name: String,
    pub file: Downloaded,
}

/// Downloads one file of one record that `lookup` answers for `inputs`: the lookup runs again
/// exactly as [`look_up`] runs it (same inputs, query, re-check, expiry and attempt counting),
/// so a download is authorised by the same rule on every request and no link that works on
/// its own exists. Any choice the answer does not have is the lookup's one miss, and kintone's
/// file API is not called.
pub async fn download(
    relay: &Relay,
    lookup: &Lookup,
    inputs: &Inputs,
    choice: &FileChoice,
    source: Option<IpAddr>,
) -> Result<FileAnswer, LookupError> {
    attempt(relay, lookup, inputs, source, async |matching| {
        let (name, file_key, size) =
            outputs::file_of(lookup, &matching, choice).ok_or(LookupError::NotFound)?;
        if size.is_some_and(|size| size > MAX_FILE_BYTES as u64) {
            tracing::warn!(
                lookup = lookup.name,
                size,
                limit = MAX_FILE_BYTES,
                "file too large for one Lambda response; refused without downloading"
            );
            return Err(LookupError::FileTooLarge);
        }
        let file = fetch_file(relay, lookup, &file_key).await?;
        Ok(FileAnswer { name, file })
    })
    .await
}

/// Runs the lookup for `inputs` and hands the matching records to `then`. A miss counts
/// against the source address and the key value (see [`crate::limits`]); past either limit
/// kintone is not called.
async fn attempt<T>(
    relay: &Relay,
    lookup: &Lookup,
    inputs: &Inputs,
    source: Option<IpAddr>,
    then: impl AsyncFnOnce(Vec<ReadRecord>) -> Result<T, LookupError>,
) -> Result<T, LookupError> {
    let typed = MatchInputs::parse(lookup, inputs).map_err(LookupError::Invalid)?;
    let query = query::build(lookup, &typed).map_err(LookupError::Invalid)?;
    let address = limits::address_text(source);
    let key = typed
        .get(&lookup.key.input)
        .map(|expected| expected.canonical())
        .unwrap_or_default();
    let counted = [
        limits::Counted {
            scope: ["lookup", &lookup.name, "ip"],
            value: &address,
            allowance: lookup.failures_per_ip,
        },
        limits::Counted {
            scope: ["lookup", &lookup.name, "key"],
            value: &key,
            allowance: lookup.failures_per_key,
        },
    ];
    let reservations = match limits::reserve(relay, &counted).await {
        Ok(reservations) => reservations,
        Err(limits::Refusal::TooMany { retry_after }) => {
            tracing::warn!(lookup = lookup.name, "too many misses; kintone not called");
            return Err(LookupError::TooManyAttempts { retry_after });
        }
        // Fail closed: without the counters, a guesser would have no limit.
        Err(limits::Refusal::StoreUnavailable) => {
            return Err(LookupError::RetryLater {
                retry_after: Duration::from_secs(5),
            });
        }
    };
    let result = match find(relay, lookup, &typed, &query).await {
        Ok(matching) => then(matching).await,
        Err(error) => Err(error),
    };
    // Only a miss keeps its attempt counted.
    if !matches!(result, Err(LookupError::NotFound)) {
        limits::release(relay, reservations).await;
    }
    result
}

async fn find(
    relay: &Relay,
    lookup: &Lookup,
    typed: &MatchInputs,
    query: &KintoneQuery,
) -> Result<Vec<ReadRecord>, LookupError> {
    let found = fetch(relay, lookup, query).await?;
    let now = time::OffsetDateTime::now_utc().to_offset(relay.config.kintone.utc_offset);
    let mut matching: Vec<ReadRecord> = found
        .into_iter()
        .filter(|record| match recheck::check(lookup, typed, record, now) {
            Ok(()) => true,
            Err(mismatch) => {
                // kintone returned what the query excludes: keep it out and say so.
                tracing::warn!(
                    lookup = lookup.name,
                    app = lookup.app,
                    record_id = outputs::id_of(record),
                    reason = mismatch.as_str(),
                    "anomaly: kintone returned a record that fails the relay's check"
                );
                false
            }
        })
        .collect();
    if matching.is_empty() {
        return Err(LookupError::NotFound);
    }
    if matching.len() > lookup.max_records as usize {
        tracing::warn!(
            lookup = lookup.name,
            max_records = lookup.max_records,
            "more records match than max_records; answering the first ones"
        );
        matching.truncate(lookup.max_records as usize);
    }
    Ok(matching)
}

/// Logs a failed kintone call and says what the partner is told. kintone's message can quote
/// the query, so only its code and id are logged.
fn call_failed(
    lookup: &Lookup,
    error: &CallError,
    kintone_ms: u64,
    what: &'static str,
) -> LookupError {
    let (code, id) = error.code_and_id();
    tracing::error!(
        lookup = lookup.name,
        app = lookup.app,
        code,
        id,
        kind = error_kind(error),
        kintone_ms,
        "{what}"
    );
    match error.retry_after() {
        Some(retry_after) => LookupError::RetryLater { retry_after },
        None => LookupError::Misconfigured,
    }
}

/// Downloads a record's file with the lookup's token.
async fn fetch_file(
    relay: &Relay,
    lookup: &Lookup,
    file_key: &str,
) -> Result<Downloaded, LookupError> {
    let kintone = &relay.kintone;
    let started = Instant::now();
    let result = relay
        .call_with_token(&lookup.access.token_secret, |credentials| async move {
            match kintone
                .download_file(&credentials, file_key, MAX_FILE_BYTES)
                .await
            {
                Ok(file) => Ok(Ok(file)),
                Err(DownloadError::TooLarge) => Ok(Err(())),
                Err(DownloadError::Kintone(error)) => Err(error),
            }
        })
        .await;
    let kintone_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(Ok(file)) => {
            tracing::info!(
                lookup = lookup.name,
                app = lookup.app,
                bytes = file.bytes.len(),
                kintone_ms,
                "file downloaded"
            );
            Ok(file)
        }
        Ok(Err(())) => {
            tracing::warn!(
                lookup = lookup.name,
                limit = MAX_FILE_BYTES,
                "file too large for one Lambda response; download stopped"
            );
            Err(LookupError::FileTooLarge)
        }
        // The file was removed from the record since kintone listed it: a miss like any other.
        Err(CallError::Kintone(error)) if error.is_file_not_found() => {
            tracing::info!(
                lookup = lookup.name,
                app = lookup.app,
                kintone_ms,
                "the record no longer holds the file"
            );
            Err(LookupError::NotFound)
        }
        Err(error) => Err(call_failed(
            lookup,
            &error,
            kintone_ms,
            "kintone file download failed",
        )),
    }
}

async fn fetch(
    relay: &Relay,
    lookup: &Lookup,
    query: &KintoneQuery,
) -> Result<Vec<ReadRecord>, LookupError> {
    let fields = outputs::requested_fields(lookup);
    let kintone = &relay.kintone;
    let started = Instant::now();
    let result = relay
        .call_with_token(&lookup.access.token_secret, |credentials| {
            let fields = &fields;
            async move {
                kintone
                    .get_records(&credentials, lookup.app, query, fields)
                    .await
            }
        })
        .await;
    let kintone_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(found) => {
            tracing::info!(
                lookup = lookup.name,
                app = lookup.app,
                returned = found.len(),
                kintone_ms,
                "records fetched"
            );
            Ok(found)
        }
        // A typed value that is not one of a drop-down's options: kintone calls the query
        // invalid. For the partner it is a miss like any other. Without a choice input, the
        // option that does not exist is in the admin's filter: that is a configuration error.
        Err(CallError::Kintone(error))
            if error.is_unknown_option() && lookup.has_choice_input() =>
        {
            let (code, id) = error.code_and_id();
            tracing::warn!(
                lookup = lookup.name,
                app = lookup.app,
                code,
                id,
                kintone_ms,
                "a typed value is not an option of the field; answering not found"
            );
            Err(LookupError::NotFound)
        }
        Err(error) => Err(call_failed(
            lookup,
            &error,
            kintone_ms,
            "kintone call failed",
        )),
    }
}

fn error_kind(error: &CallError) -> String {
    use crate::kintone::KintoneError;
    match error {
        CallError::Secret(err) => err.to_string(),
        CallError::Kintone(KintoneError::Unavailable { reason, .. }) => {
            format!("unavailable: {reason}")
        }
        CallError::Kintone(KintoneError::Refused { .. }) => "refused".into(),
        CallError::Kintone(KintoneError::Misconfigured { status, .. }) => {
            format!("misconfigured: HTTP {status}")
        }
    }
}
