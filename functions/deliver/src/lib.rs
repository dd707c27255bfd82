//! Adds the submissions `submit` queued while kintone could not take them: each SQS batch is
//! grouped by form and added in bulk (see `relay_shared::submit::deliver_batch`). Messages
//! kintone could not take now are reported as batch item failures, so SQS delivers them again
//! after the queue's visibility timeout; messages kintone refuses go to the dead-letter queue
//! with the reason and count as handled.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use relay_shared::queue::{DeadLetterReason, DeadLetters};
use relay_shared::relay::Relay;
use relay_shared::submit::{BatchOutcome, Submission, deliver_batch};

/// What the function builds once and borrows for every batch.
pub struct Deliverer {
    pub relay: Relay,
    pub dead_letters: DeadLetters,
}

/// One message, read.
struct Queued<'a> {
    message: &'a SqsMessage,
    submission: Submission,
}

pub async fn handle(
    deliverer: &Deliverer,
    event: SqsEvent,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let mut response = SqsBatchResponse::default();
    let mut by_form: BTreeMap<String, Vec<Queued<'_>>> = BTreeMap::new();
    for message in &event.records {
        let body = message.body.as_deref().unwrap_or_default();
        match serde_json::from_str::<Submission>(body) {
            Ok(submission) => by_form
                .entry(submission.form.clone())
                .or_default()
                .push(Queued {
                    message,
                    submission,
                }),
            Err(error) => {
                tracing::error!(message_id = message.message_id, %error, "an unreadable message");
                let reason = DeadLetterReason {
                    code: "unreadable".to_owned(),
                    field_codes: Vec::new(),
                };
                dead_letter(deliverer, message, &reason, &mut response).await;
            }
        }
    }
    for (form_name, queued) in by_form {
        let Some(form) = deliverer.relay.config.forms.get(&form_name) else {
            tracing::error!(
                form = form_name,
                "a queued submission of a form relay.toml does not declare"
            );
            let reason = DeadLetterReason {
                code: "unknown_form".to_owned(),
                field_codes: Vec::new(),
            };
            for item in &queued {
                dead_letter(deliverer, item.message, &reason, &mut response).await;
            }
            continue;
        };
        let submissions: Vec<&Submission> = queued.iter().map(|item| &item.submission).collect();
        let outcomes = deliver_batch(&deliverer.relay, form, &submissions).await;
        let mut counts = BTreeMap::<&str, u32>::new();
        for (item, outcome) in queued.iter().zip(outcomes) {
            match outcome {
                BatchOutcome::Delivered(_) => *counts.entry("delivered").or_default() += 1,
                BatchOutcome::RetryLater => {
                    *counts.entry("retry_later").or_default() += 1;
                    response.add_failure(message_id(item.message));
                }
                BatchOutcome::Refused(reason) => {
                    *counts.entry("dead_letter").or_default() += 1;
                    dead_letter(deliverer, item.message, &reason, &mut response).await;
                }
            }
        }
        tracing::info!(form = form.name, ?counts, "batch delivered");
    }
    Ok(response)
}

fn message_id(message: &SqsMessage) -> String {
    message.message_id.clone().unwrap_or_default()
}

/// Moves a message to the dead-letter queue; if that fails too, SQS keeps it for another try.
async fn dead_letter(
    deliverer: &Deliverer,
    message: &SqsMessage,
    reason: &DeadLetterReason,
    response: &mut SqsBatchResponse,
) {
    let body = message.body.as_deref().unwrap_or_default();
    match deliverer.dead_letters.send(body, reason).await {
        Ok(()) => tracing::warn!(
            message_id = message.message_id,
            reason = reason.code,
            field_codes = ?reason.field_codes,
            "moved to the dead-letter queue"
        ),
        Err(error) => {
            tracing::error!(message_id = message.message_id, %error, "cannot reach the dead-letter queue");
            response.add_failure(message_id(message));
        }
    }
}
