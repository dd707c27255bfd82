//! `POST /forms/{form}/files/{input}` (a file for a form's file input, answered with its
//! sealed handle) and `POST /lookups/{lookup}/files` (one file of a record a lookup finds,
//! authorised by running the lookup again).

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

use super::{Answer, ApiError, Outcome, ResponseContext, answer, header_str, json_body};
use crate::config::{DOWNLOAD_CHOICE, Form, Lookup};
use crate::files::{FileName, FileRule};
use crate::input::{FieldErrors, Inputs, Member, Problem};
use crate::lookup::FileChoice;
use crate::relay::Relay;

/// The header that carries the file's name, percent-encoded UTF-8 (`encodeURIComponent`), since
/// a header value cannot carry UTF-8 as such.
pub const FILE_NAME_HEADER: &str = "x-file-name";

pub async fn upload(
    relay: &Relay,
    form: &Form,
    input: &str,
    rule: &FileRule,
    request: &Request,
    context: &ResponseContext,
) -> Result<Answer, ApiError> {
    // API Gateway has already decoded a base64 body (isBase64Encoded) into these bytes.
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > rule.max_bytes {
        return Err(ApiError::PayloadTooLarge {
            limit: rule.max_bytes,
        });
    }
    let invalid =
        |problem: Problem| ApiError::InvalidInput(FieldErrors::from([(input.to_owned(), problem)]));
    let name = header_str(request, FILE_NAME_HEADER)
        .and_then(|text| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .ok()
        })
        .ok_or(Problem::InvalidFileName)
        .and_then(|text| FileName::parse(&text))
        .map_err(invalid)?;
    // An upload is counted like a submission: it costs kintone storage.
    crate::submit::admit(relay, form, super::source_ip(request)).await?;
    let handle = crate::files::upload(relay, form, input, rule, &name, bytes).await?;
    Ok(answer(
        context,
        Outcome::Uploaded,
        StatusCode::CREATED,
        &json!({ "file": handle }),
    ))
}

/// The handles a submission of `form` carries are opened with this; `None` without file inputs.
pub async fn handle_check(
    relay: &Relay,
    form: &Form,
) -> Result<Option<crate::submit::HandleCheck>, ApiError> {
    crate::files::handle_check(relay, form)
        .await
        .map_err(|error| {
            tracing::error!(%error, "no key to open the form's file handles");
            ApiError::Unavailable {
                retry_after: std::time::Duration::from_secs(5),
            }
        })
}

pub async fn download(
    relay: &Relay,
    lookup: &Lookup,
    request: &Request,
    context: &ResponseContext,
) -> Result<Answer, ApiError> {
    let body = json_body(request, lookup.access.max_body_bytes)?;
    let mut inputs = Inputs::parse(body)?;
    let [record, output, file] = DOWNLOAD_CHOICE.map(|name| inputs.take(name));
    let mut errors = FieldErrors::new();
    let index = |member: Option<Member>, name: &str, errors: &mut FieldErrors| {
        let parsed = match &member {
            Some(Member::Number(text)) => text.parse::<usize>().ok(),
            _ => None,
        };
        if parsed.is_none() {
            let problem = if member.is_none() {
                Problem::Required
            } else {
                Problem::InvalidNumber
            };
            errors.insert(name.to_owned(), problem);
        }
        parsed
    };
    let record = index(record, "record", &mut errors);
    let file = index(file, "file", &mut errors);
    let output = match output.as_ref().and_then(Member::as_json) {
        Some(Value::String(name)) if lookup.outputs.get(name).is_some() => Some(name.clone()),
        _ => {
            let problem = if output.is_none() {
                Problem::Required
            } else {
                Problem::NotAnOption
            };
            errors.insert("output".to_owned(), problem);
            None
        }
    };
    let (Some(record), Some(output), Some(file)) = (record, output, file) else {
        return Err(ApiError::InvalidInput(errors));
    };
    let choice = FileChoice {
        record,
        output,
        file,
    };
    let found =
        crate::lookup::download(relay, lookup, &inputs, &choice, super::source_ip(request)).await?;
    Ok(Answer {
        outcome: Outcome::Downloaded,
        response: context.file(&found.file.content_type, &found.name, found.file.bytes),
    })
}
