//! The SQS queue where a form's submissions wait while kintone cannot take them, and the
//! dead-letter queue for those kintone refuses. A message body is one [`Submission`] as JSON;
//! the queues are encrypted at rest (template.yaml), since a submission holds personal data.

use aws_sdk_sqs::types::MessageAttributeValue;

use crate::submit::Submission;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot encode the submission: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("SQS did not take the message: {0}")]
    Send(String),
}

/// Where submissions wait (`RELAY_QUEUE_URL`).
pub struct SubmissionQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SubmissionQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        SubmissionQueue {
            client,
            url: url.into(),
        }
    }

    /// Sends one submission; when this returns `Ok`, SQS holds it durably.
    pub async fn send(&self, submission: &Submission) -> Result<(), QueueError> {
        let body = serde_json::to_string(submission)?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes("form", text_attribute(&submission.form)?)
            .send()
            .await
            .map_err(|err| {
                QueueError::Send(aws_sdk_sqs::error::DisplayErrorContext(err).to_string())
            })?;
        Ok(())
    }
}

/// Why a message went to the dead-letter queue: kintone's error code (or the relay's word when
/// kintone never saw it) and the field codes it named. Never the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterReason {
    pub code: String,
    pub field_codes: Vec<String>,
}

/// Where undeliverable submissions go (`RELAY_DEAD_LETTER_QUEUE_URL`), to be fixed and replayed.
pub struct DeadLetters {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl DeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        DeadLetters {
            client,
            url: url.into(),
        }
    }

    /// Keeps the message as it came (so it can be replayed as is) with the reason beside it.
    pub async fn send(&self, body: &str, reason: &DeadLetterReason) -> Result<(), QueueError> {
        let fields = if reason.field_codes.is_empty() {
            "-".to_owned()
        } else {
            reason.field_codes.join(",")
        };
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes("reason", text_attribute(&reason.code)?)
            .message_attributes("fields", text_attribute(&fields)?)
            .send()
            .await
            .map_err(|err| {
                QueueError::Send(aws_sdk_sqs::error::DisplayErrorContext(err).to_string())
            })?;
        Ok(())
    }
}

fn text_attribute(value: &str) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|err| QueueError::Send(err.to_string()))
}
