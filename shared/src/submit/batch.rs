//! Delivering queued submissions in bulk: up to 100 records of one form per kintone call. A
//! batch add is all or nothing, so the records kintone refuses are taken out and the rest sent
//! again. A record whose receipt is already in kintone was delivered before (a redelivery);
//! kintone's "prohibit duplicate values" on the receipt field is what makes that safe.

use std::collections::BTreeMap;

use super::{Delivered, Submission};
use crate::config::Form;
use crate::kintone::{KintoneError, MAX_RECORDS_PER_ADD, RecordId, RefusedValue, ValueRefusal};
use crate::queue::DeadLetterReason;
use crate::relay::{CallError, Relay};

/// What became of one submission of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    Delivered(Delivered),
    /// kintone could not take it now: deliver it again later.
    RetryLater,
    /// kintone refuses it as it is: it goes to the dead-letter queue with the reason.
    Refused(DeadLetterReason),
}

/// Delivers `submissions` of `form`, each outcome at its submission's index.
pub async fn deliver_batch(
    relay: &Relay,
    form: &Form,
    submissions: &[&Submission],
) -> Vec<BatchOutcome> {
    let mut outcomes: Vec<Option<BatchOutcome>> = vec![None; submissions.len()];
    // The same submission twice in one batch (SQS delivers at least once) is sent once; the
    // copies share its outcome.
    let mut first_of_receipt: BTreeMap<&str, usize> = BTreeMap::new();
    let mut copies: Vec<(usize, usize)> = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    for (index, submission) in submissions.iter().enumerate() {
        match first_of_receipt.get(submission.receipt.as_str()) {
            Some(&first) => copies.push((index, first)),
            None => {
                first_of_receipt.insert(submission.receipt.as_str(), index);
                pending.push(index);
            }
        }
    }
    while !pending.is_empty() {
        let chunk: Vec<usize> = pending
            .drain(..pending.len().min(MAX_RECORDS_PER_ADD))
            .collect();
        let mut sending = chunk;
        // Each refusal takes at least one record out, so this ends.
        loop {
            if sending.is_empty() {
                break;
            }
            match add(relay, form, submissions, &sending).await {
                Ok(ids) => {
                    for (index, id) in sending.iter().zip(ids) {
                        outcomes[*index] = Some(BatchOutcome::Delivered(Delivered::Added(id)));
                    }
                    break;
                }
                Err(Failure::Refused(code, values)) => {
                    let refused = refused_records(form, &code, &sending, &values);
                    if refused.is_empty() {
                        // A refusal that names no record: nothing to take out.
                        tracing::error!(
                            form = form.name,
                            "kintone refused a batch without naming a record"
                        );
                        for index in sending.drain(..) {
                            outcomes[index] = Some(BatchOutcome::RetryLater);
                        }
                        break;
                    }
                    for (index, outcome) in refused {
                        outcomes[index] = Some(outcome);
                        sending.retain(|sent| *sent != index);
                    }
                }
                Err(Failure::RetryLater) => {
                    for index in sending.drain(..).chain(pending.drain(..)) {
                        outcomes[index] = Some(BatchOutcome::RetryLater);
                    }
                    break;
                }
            }
        }
    }
    for (copy, first) in copies {
        outcomes[copy] = outcomes[first].clone();
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or(BatchOutcome::RetryLater))
        .collect()
}

enum Failure {
    /// kintone's code and what it refused.
    Refused(String, Vec<RefusedValue>),
    RetryLater,
}

async fn add(
    relay: &Relay,
    form: &Form,
    submissions: &[&Submission],
    indexes: &[usize],
) -> Result<Vec<RecordId>, Failure> {
    let records: Vec<_> = indexes.iter().map(|&i| &submissions[i].record).collect();
    let kintone = &relay.kintone;
    let started = std::time::Instant::now();
    let result = relay
        .call_with_token(&form.access.token_secret, |credentials| {
            let records = &records;
            async move { kintone.add_records(&credentials, form.app, records).await }
        })
        .await;
    let kintone_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(ids) => {
            tracing::info!(
                form = form.name,
                app = form.app,
                records = ids.len(),
                kintone_ms,
                "records added"
            );
            Ok(ids)
        }
        Err(CallError::Kintone(KintoneError::Refused { code, id, values })) => {
            let error_keys: Vec<&str> = values.iter().map(|v| v.error_key.as_str()).collect();
            tracing::warn!(
                form = form.name,
                app = form.app,
                code = code.as_str(),
                id,
                ?error_keys,
                kintone_ms,
                "kintone refused records of the batch"
            );
            Err(Failure::Refused(code.as_str().to_owned(), values))
        }
        // Unavailable kintone or Secrets Manager, and settings only an operator can fix: the
        // messages go back to the queue (and, past the queue's maxReceiveCount, to its
        // dead-letter queue), never lost.
        Err(error) => {
            tracing::error!(form = form.name, app = form.app, error = %error, kintone_ms, "kintone call failed; the batch is retried later");
            Err(Failure::RetryLater)
        }
    }
}

/// The outcome of each record kintone refused, by its index in `submissions`.
fn refused_records(
    form: &Form,
    code: &str,
    sending: &[usize],
    values: &[RefusedValue],
) -> BTreeMap<usize, BatchOutcome> {
    let own_fields: Vec<&str> = form
        .receipt_field
        .iter()
        .chain(form.idempotency_field.iter())
        .map(|code| code.as_str())
        .collect();
    let mut by_record: BTreeMap<usize, Vec<&RefusedValue>> = BTreeMap::new();
    for value in values {
        if let Some(index) = value.record.and_then(|i| sending.get(i)) {
            by_record.entry(*index).or_default().push(value);
        }
    }
    by_record
        .into_iter()
        .map(|(index, values)| {
            let already_there = values.iter().any(|value| {
                value.reason == ValueRefusal::Duplicate
                    && value
                        .field
                        .as_deref()
                        .is_some_and(|field| own_fields.contains(&field))
            });
            let outcome = if already_there {
                BatchOutcome::Delivered(Delivered::AlreadyThere)
            } else {
                let mut field_codes: Vec<String> = values
                    .iter()
                    .filter_map(|value| value.field.clone())
                    .collect();
                field_codes.dedup();
                BatchOutcome::Refused(DeadLetterReason {
                    code: code.to_owned(),
                    field_codes,
                })
            };
            (index, outcome)
        })
        .collect()
}
