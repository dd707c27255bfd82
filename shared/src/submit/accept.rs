//! Accepting a submission: deliver it to kintone now, or, for a form with `queue = true`, queue
//! it on SQS when kintone cannot take it now, so that the person who sent it is never asked to
//! come back.

use super::{Delivered, DeliveryError, Submission, deliver};
use crate::config::{Delivery, Form};
use crate::relay::Relay;

/// The submission is safe: in kintone, or durably queued for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    Delivered(Delivered),
    /// In the queue; `deliver` adds it once kintone takes records again.
    Queued,
}

pub async fn accept(
    relay: &Relay,
    form: &Form,
    submission: &Submission,
) -> Result<Accepted, DeliveryError> {
    let retry_after = match deliver(relay, form, submission).await {
        Ok(delivered) => return Ok(Accepted::Delivered(delivered)),
        Err(DeliveryError::RetryLater { retry_after }) if form.delivery == Delivery::Queued => {
            retry_after
        }
        Err(error) => return Err(error),
    };
    let Some(queue) = &relay.queue else {
        tracing::error!(
            form = form.name,
            "the form queues, but this function has no queue"
        );
        return Err(DeliveryError::RetryLater { retry_after });
    };
    match queue.send(submission).await {
        Ok(()) => {
            tracing::info!(form = form.name, "kintone cannot take it now; queued");
            Ok(Accepted::Queued)
        }
        Err(error) => {
            tracing::error!(form = form.name, error = %error, "cannot queue the submission");
            Err(DeliveryError::RetryLater { retry_after })
        }
    }
}
