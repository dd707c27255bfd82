//! Adding one [`Submission`] to kintone with its form's add-only token, and what came of it.

use std::time::{Duration, Instant};

use super::{FieldValue, Submission};
use crate::config::Form;
use crate::input::{FieldErrors, Problem};
use crate::kintone::{ErrorCode, KintoneError, RecordId, RefusedValue, ValueRefusal};
use crate::relay::{CallError, Relay};

/// The submission is in kintone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Added now, as this record.
    Added(RecordId),
    /// A record with this submission's idempotency key or receipt already exists: it was
    /// delivered before, and kintone's "prohibit duplicate values" kept a second one out.
    AlreadyThere,
}

/// The submission is not in kintone.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryError {
    /// Nothing was stored; the same submission may be delivered after `retry_after`.
    RetryLater { retry_after: Duration },
    /// kintone refused values the applicant can change: sending it again would fail again.
    Refused(Refusal),
    /// The token, the app or the form's fields do not fit together: only an operator can fix it.
    Misconfigured,
}

/// What kintone refused, by the input that wrote each refused field.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub inputs: FieldErrors,
}

/// Adds `submission` as one record of its form's app. Logs the outcome with the record id or
/// kintone's error code and field codes, never the values.
pub async fn deliver(
    relay: &Relay,
    form: &Form,
    submission: &Submission,
) -> Result<Delivered, DeliveryError> {
    let started = Instant::now();
    let kintone = &relay.kintone;
    let result = relay
        .call_with_token(&form.access.token_secret, |credentials| async move {
            kintone
                .add_record(&credentials, submission.app, &submission.record)
                .await
        })
        .await;
    let kintone_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(record_id) => {
            tracing::info!(
                form = form.name,
                app = form.app,
                record_id = record_id.0,
                kintone_ms,
                "record added"
            );
            Ok(Delivered::Added(record_id))
        }
        Err(CallError::Kintone(KintoneError::Refused { code, id, values })) => {
            // Messages may quote the values typed, so only field codes reach the log.
            let error_keys: Vec<&str> = values.iter().map(|v| v.error_key.as_str()).collect();
            tracing::warn!(
                form = form.name,
                app = form.app,
                code = code.as_str(),
                id,
                ?error_keys,
                kintone_ms,
                "kintone refused the record"
            );
            interpret_refusal(form, submission, &values)
        }
        // An upload key kintone no longer keeps: the applicant chooses the file again.
        Err(CallError::Kintone(KintoneError::Misconfigured {
            code: ErrorCode::FileNotFound,
            id,
            ..
        })) if submission
            .record
            .values()
            .any(|v| matches!(v.value, FieldValue::Files(_))) =>
        {
            tracing::warn!(
                form = form.name,
                app = form.app,
                id,
                kintone_ms,
                "kintone no longer holds an uploaded file"
            );
            let inputs = form
                .fields
                .iter()
                .filter(|(_, field)| {
                    submission
                        .record
                        .get(&field.kintone)
                        .is_some_and(|v| matches!(v.value, FieldValue::Files(_)))
                })
                .map(|(input, _)| (input.clone(), Problem::FileHandleExpired))
                .collect();
            Err(DeliveryError::Refused(Refusal { inputs }))
        }
        // kintone's errors keep codes and ids only (their messages can quote typed values).
        Err(error) => {
            tracing::error!(form = form.name, app = form.app, error = %error, kintone_ms, "kintone call failed");
            Err(match error.retry_after() {
                Some(retry_after) => DeliveryError::RetryLater { retry_after },
                None => DeliveryError::Misconfigured,
            })
        }
    }
}

fn interpret_refusal(
    form: &Form,
    submission: &Submission,
    values: &[RefusedValue],
) -> Result<Delivered, DeliveryError> {
    // The submission's own unique values: a duplicate there means it was delivered before.
    let own_fields = [
        submission
            .idempotency_key
            .as_ref()
            .and(form.idempotency_field.as_ref()),
        form.receipt_field.as_ref(),
    ];
    let is_own_duplicate = |value: &RefusedValue| {
        value.reason == ValueRefusal::Duplicate
            && own_fields
                .iter()
                .flatten()
                .any(|code| value.field.as_deref() == Some(code.as_str()))
    };
    if values.iter().any(is_own_duplicate) {
        return Ok(Delivered::AlreadyThere);
    }
    let mut inputs = FieldErrors::new();
    for value in values {
        let input = value
            .field
            .as_deref()
            .and_then(|code| form.input_for_kintone_field(code));
        match input {
            Some(input) => {
                inputs.insert(
                    input.to_owned(),
                    match value.reason {
                        ValueRefusal::Duplicate => Problem::AlreadyRegistered,
                        ValueRefusal::Invalid => Problem::RefusedByKintone,
                    },
                );
            }
            // A field the applicant cannot change (fixed, receipt, a required field the form
            // does not declare): only the operator can fix it.
            None => {
                tracing::error!(
                    form = form.name,
                    error_key = value.error_key,
                    "kintone refused a field the form does not expose"
                );
                return Err(DeliveryError::Misconfigured);
            }
        }
    }
    if inputs.is_empty() {
        return Err(DeliveryError::Misconfigured);
    }
    Err(DeliveryError::Refused(Refusal { inputs }))
}
