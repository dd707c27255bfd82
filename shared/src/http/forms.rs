//! `POST /forms/{form}`: a public form's JSON becomes one kintone record.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

use super::{Answer, ApiError, Outcome, ResponseContext, answer, header_str, json_body};
use crate::captcha;
use crate::config::Form;
use crate::input::Inputs;
use crate::relay::Relay;
use crate::submit::stamp::{self, StampProblem};
use crate::submit::{
    Accepted, Delivered, IdempotencyKey, Receipt, Submission, Validated, accept, admit, validate,
};

pub async fn submit(
    relay: &Relay,
    form: &Form,
    request: &Request,
    context: &ResponseContext,
) -> Result<Answer, ApiError> {
    let body = json_body(request, form.access.max_body_bytes)?;
    admit(relay, form, super::source_ip(request)).await?;
    match stamp::verify(relay, form, header_str(request, "x-relay-stamp")).await {
        Ok(()) => {}
        Err(Some(StampProblem::Invalid)) => return Err(ApiError::InvalidStamp),
        Err(Some(StampProblem::TooFast { retry_after })) => {
            return Err(ApiError::TooFast { retry_after });
        }
        Err(None) => {
            return Err(ApiError::Unavailable {
                retry_after: std::time::Duration::from_secs(5),
            });
        }
    }
    let idempotency_key = idempotency_key(form, request)?;
    let inputs = Inputs::parse(body)?;
    let files = super::files::handle_check(relay, form).await?;
    let validated = validate(form, &inputs, files.as_ref())?;
    // After validation: a provider's token is single-use, so a post with a typo keeps it.
    if let (Validated::Person(_), Some(captcha)) = (&validated, &form.captcha) {
        let token = header_str(request, "x-captcha-token");
        captcha::verify(relay, captcha, token, super::source_ip(request)).await?;
    }
    let receipt = Receipt::for_submission(&form.name, idempotency_key.as_ref()).map_err(|err| {
        tracing::error!(error = %err, "no randomness for a receipt");
        ApiError::Internal
    })?;
    let created = |outcome: Outcome| {
        let body = json!({ "status": "created", "receipt": receipt.as_str() });
        answer(context, outcome, StatusCode::CREATED, &body)
    };
    let answers = match validated {
        Validated::Bot => return Ok(created(Outcome::Honeypot)),
        Validated::Person(answers) => answers,
    };
    let submission = Submission::new(form, answers, receipt.clone(), idempotency_key);
    Ok(match accept(relay, form, &submission).await? {
        Accepted::Delivered(Delivered::Added(_)) => created(Outcome::Created),
        Accepted::Delivered(Delivered::AlreadyThere) => created(Outcome::Replayed),
        Accepted::Queued => {
            let body = json!({ "status": "queued", "receipt": receipt.as_str() });
            answer(context, Outcome::Queued, StatusCode::ACCEPTED, &body)
        }
    })
}

/// `GET /forms/{form}`: the description, with a fresh stamp when the form asks for a fill time.
pub async fn describe(
    relay: &Relay,
    form: &Form,
    context: &ResponseContext,
) -> Result<Answer, ApiError> {
    let mut description = super::describe::form(form);
    match stamp::issue_for(relay, form).await {
        Ok(Some(stamp)) => {
            description["stamp"] = json!(stamp);
        }
        Ok(None) => {}
        Err(error) => {
            tracing::error!(%error, "no key to stamp the form's description");
            return Err(ApiError::Unavailable {
                retry_after: std::time::Duration::from_secs(5),
            });
        }
    }
    Ok(Answer {
        outcome: Outcome::Described,
        response: context.description(&description),
    })
}

/// The client's `Idempotency-Key`, when the form has a field to hold it.
fn idempotency_key(form: &Form, request: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    match (
        &form.idempotency_field,
        header_str(request, "idempotency-key"),
    ) {
        (Some(_), Some(value)) => IdempotencyKey::parse(value)
            .map(Some)
            .ok_or(ApiError::InvalidIdempotencyKey),
        // Without a field to hold it, kintone cannot enforce the key: say so in the log.
        (None, Some(_)) => {
            tracing::warn!(
                form = form.name,
                "Idempotency-Key ignored: the form has no idempotency_field"
            );
            Ok(None)
        }
        (_, None) => Ok(None),
    }
}
