//! `POST /forms/{form}`: validate a public form's JSON against relay.toml and add one record
//! with the form's add-only token.

use std::time::Instant;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;

use relay_shared::config::Form;
use relay_shared::form::{FieldErrors, Inputs, Problem, validate};
use relay_shared::http::{self, Answer, ApiError, Endpoint, ResponseContext};
use relay_shared::kintone::{self, KintoneError, field_code_of_error_key};
use relay_shared::relay::{CallError, Relay};
use relay_shared::submission::{FieldValue, IdempotencyKey, Receipt, Submission, WriteValue};

pub async fn handle(relay: &Relay, request: Request) -> Result<Response<Body>, Error> {
    let started = Instant::now();
    let mut context = ResponseContext::from_request(&request);
    let result = respond(relay, &request, &mut context).await;
    Ok(http::finish(
        Endpoint::Form,
        &request,
        started,
        &context,
        result,
    ))
}

async fn respond(
    relay: &Relay,
    request: &Request,
    context: &mut ResponseContext,
) -> Result<Answer, ApiError> {
    let form = Endpoint::Form
        .name_in(request)
        .and_then(|name| relay.config.forms.get(name))
        .ok_or(ApiError::NotFound)?;
    context.allow_origin =
        http::allowed_origin(request, &form.allowed_origins, form.allow_no_origin)?;
    if request.method() == Method::OPTIONS {
        return Ok(("preflight", context.preflight()));
    }
    let body = http::check_json_post(request, form.max_body_bytes)?;
    let idempotency_key = match (
        &form.idempotency_field,
        http::header_str(request, "idempotency-key"),
    ) {
        (Some(_), Some(value)) => {
            Some(IdempotencyKey::parse(value).ok_or(ApiError::InvalidIdempotencyKey)?)
        }
        // Without a field to hold it, kintone cannot enforce the key: say so in the log.
        (None, Some(_)) => {
            tracing::warn!(
                form = form.name,
                "Idempotency-Key ignored: the form has no idempotency_field"
            );
            None
        }
        (_, None) => None,
    };
    let inputs = Inputs::parse(body).map_err(ApiError::InvalidBody)?;
    let accepted = validate(form, &inputs).map_err(ApiError::InvalidInput)?;
    let receipt = match &idempotency_key {
        Some(key) => Receipt::for_idempotency_key(&form.name, key),
        None => Receipt::random().map_err(|err| {
            tracing::error!(error = %err, "no randomness for a receipt");
            ApiError::Internal
        })?,
    };
    let created = |outcome: &'static str| {
        let body = json!({ "status": "created", "receipt": receipt.as_str() });
        (outcome, context.json(StatusCode::CREATED, &body))
    };
    if accepted.is_bot {
        return Ok(created("honeypot"));
    }
    let submission = build_submission(form, accepted.record, receipt.clone(), idempotency_key);
    match add(relay, form, &submission).await {
        Ok(()) => Ok(created("created")),
        Err(Refusal::Replay) => Ok(created("replayed")),
        Err(Refusal::Api(error)) => Err(error),
    }
}

fn build_submission(
    form: &Form,
    mut record: relay_shared::submission::Record,
    receipt: Receipt,
    idempotency_key: Option<IdempotencyKey>,
) -> Submission {
    let text = |value: &str| WriteValue {
        value: FieldValue::Text(value.to_owned()),
    };
    if let Some(code) = &form.receipt_field {
        record.insert(code.clone(), text(receipt.as_str()));
    }
    if let (Some(code), Some(key)) = (&form.idempotency_field, &idempotency_key) {
        record.insert(code.clone(), text(key.as_str()));
    }
    Submission {
        form: form.name.clone(),
        app: form.app,
        record,
        receipt,
        idempotency_key,
    }
}

enum Refusal {
    /// The idempotency field already holds this key: the record exists.
    Replay,
    Api(ApiError),
}

async fn add(relay: &Relay, form: &Form, submission: &Submission) -> Result<(), Refusal> {
    let started = Instant::now();
    let kintone = &relay.kintone;
    let result = relay
        .call_with_token(&form.token_secret, |credentials| async move {
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
            Ok(())
        }
        Err(CallError::Kintone(KintoneError::Refused { code, id, errors })) => {
            // Messages may quote the values typed, so only field codes reach the log.
            let codes: Vec<&str> = errors.keys().map(String::as_str).collect();
            tracing::warn!(form = form.name, app = form.app, code, id, error_keys = ?codes, kintone_ms, "kintone refused the record");
            interpret_refusal(form, submission, &errors)
        }
        Err(error) => {
            tracing::error!(form = form.name, app = form.app, error = %error, kintone_ms, "kintone call failed");
            Err(Refusal::Api(error.to_api_error()))
        }
    }
}

fn interpret_refusal(
    form: &Form,
    submission: &Submission,
    errors: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<(), Refusal> {
    let is_duplicate_key = |key: &str, messages: &[String]| {
        submission.idempotency_key.is_some()
            && field_code_of_error_key(key) == form.idempotency_field.as_deref()
            // An unrecognised message fails safe as `misconfigured`, never as a false replay.
            && kintone::is_duplicate(messages)
    };
    if errors
        .iter()
        .any(|(key, messages)| is_duplicate_key(key, messages))
    {
        return Err(Refusal::Replay);
    }
    let mut fields = FieldErrors::new();
    for (key, messages) in errors {
        let input =
            field_code_of_error_key(key).and_then(|code| form.input_for_kintone_field(code));
        match input {
            Some(input) => {
                fields.insert(
                    input.to_owned(),
                    if kintone::is_duplicate(messages) {
                        Problem::AlreadyRegistered
                    } else {
                        Problem::RefusedByKintone
                    },
                );
            }
            // A field the applicant cannot change (fixed, receipt, a required field the form
            // does not declare): only the operator can fix it.
            None => {
                tracing::error!(
                    form = form.name,
                    error_key = key,
                    "kintone refused a field the form does not expose"
                );
                return Err(Refusal::Api(ApiError::Misconfigured));
            }
        }
    }
    if fields.is_empty() {
        return Err(Refusal::Api(ApiError::Misconfigured));
    }
    Err(Refusal::Api(ApiError::InvalidInput(fields)))
}
