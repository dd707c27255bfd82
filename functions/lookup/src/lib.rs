//! `POST /lookups/{lookup}`: a partner sends an ID and corroborating facts; the relay builds the
//! kintone query itself, checks every returned record again, and answers only declared outputs.
//! Every kind of miss gets the same 404.

mod records;

use std::collections::BTreeMap;
use std::time::Instant;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Error, Request, Response};
use serde_json::{Value, json};

use relay_shared::config::{Lookup, MatchKind};
use relay_shared::form::{self, FieldErrors, Inputs, Problem};
use relay_shared::http::{self, Answer, ApiError, Endpoint, ResponseContext};
use relay_shared::kintone::KintoneError;
use relay_shared::query::{KintoneQuery, Literal, QueryBuilder};
use relay_shared::relay::{CallError, Relay};

/// The normalised inputs of one lookup request, by input name.
type Typed = BTreeMap<String, String>;

pub async fn handle(relay: &Relay, request: Request) -> Result<Response<Body>, Error> {
    let started = Instant::now();
    let mut context = ResponseContext::from_request(&request);
    let result = respond(relay, &request, &mut context).await;
    Ok(http::finish(
        Endpoint::Lookup,
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
    let lookup = Endpoint::Lookup
        .name_in(request)
        .and_then(|name| relay.config.lookups.get(name))
        .ok_or(ApiError::NotFound)?;
    context.allow_origin =
        http::allowed_origin(request, &lookup.allowed_origins, lookup.allow_no_origin)?;
    if request.method() == Method::OPTIONS {
        return Ok(("preflight", context.preflight()));
    }
    let body = http::check_json_post(request, lookup.max_body_bytes)?;
    let inputs = Inputs::parse(body).map_err(ApiError::InvalidBody)?;
    let typed = parse_inputs(lookup, &inputs).map_err(ApiError::InvalidInput)?;
    let query = build_query(lookup, &typed).map_err(ApiError::InvalidInput)?;

    let found = fetch(relay, lookup, &query).await?;
    let now = time::OffsetDateTime::now_utc().to_offset(relay.config.kintone.utc_offset);
    let mut matching: Vec<_> = found
        .iter()
        .filter(|record| match records::check(lookup, &typed, record, now) {
            Ok(()) => true,
            Err(reason) => {
                // kintone returned what the query excludes: keep it out and say so.
                let record_id = records::id_of(record);
                tracing::warn!(
                    lookup = lookup.name,
                    app = lookup.app,
                    record_id,
                    reason,
                    "anomaly: kintone returned a record that fails the relay's check"
                );
                false
            }
        })
        .collect();
    if matching.is_empty() {
        return Err(ApiError::NotFound);
    }
    if matching.len() > lookup.max_records as usize {
        tracing::warn!(
            lookup = lookup.name,
            max_records = lookup.max_records,
            "more records match than max_records; answering the first ones"
        );
        matching.truncate(lookup.max_records as usize);
    }
    let records: Vec<Value> = matching
        .into_iter()
        .map(|record| records::outputs(lookup, record))
        .collect();
    let response = context.json(StatusCode::OK, &json!({ "records": records }));
    Ok(("found", response))
}

/// Every declared input is required: a non-empty string, trimmed and NFKC-normalised (so
/// `P-００１` typed on a phone is `P-001`), within its length, without control characters.
fn parse_inputs(lookup: &Lookup, inputs: &Inputs) -> Result<Typed, FieldErrors> {
    let mut errors = FieldErrors::new();
    for name in inputs.names() {
        if !lookup.inputs().any(|field| field.input == name) {
            errors.insert(name.to_owned(), Problem::UnknownField);
        }
    }
    let mut typed = Typed::new();
    for field in lookup.inputs() {
        let parsed = match inputs.get(&field.input) {
            None | Some(Value::Null) => Err(Problem::Required),
            Some(value) => form::clean_text(value, false, true)
                .and_then(|text| text.ok_or(Problem::Required))
                .and_then(|text| form::check_length(&text, field.max_length).map(|()| text))
                .and_then(|text| check_kind(field.kind, text)),
        };
        match parsed {
            Ok(text) => {
                typed.insert(field.input.clone(), text);
            }
            Err(problem) => {
                errors.insert(field.input.clone(), problem);
            }
        }
    }
    if errors.is_empty() {
        Ok(typed)
    } else {
        Err(errors)
    }
}

/// A number or date field cannot equal text of another shape: refuse it as a format error,
/// which says nothing about which records exist.
fn check_kind(kind: MatchKind, text: String) -> Result<String, Problem> {
    match kind {
        MatchKind::Number if form::parse_decimal(&text).is_none() => Err(Problem::InvalidNumber),
        MatchKind::Date if form::parse_date(&text).is_none() => Err(Problem::InvalidDate),
        _ => Ok(text),
    }
}

fn build_query(lookup: &Lookup, typed: &Typed) -> Result<KintoneQuery, FieldErrors> {
    let mut builder = QueryBuilder::new();
    if let Some(filter) = &lookup.filter {
        builder = builder.trusted(filter);
    }
    for field in lookup.inputs() {
        let value = typed
            .get(&field.input)
            .map(String::as_str)
            .unwrap_or_default();
        // Inputs were refused above if they held control characters; this keeps it total.
        let literal = Literal::new(value)
            .map_err(|_| FieldErrors::from([(field.input.clone(), Problem::ControlCharacters)]))?;
        builder = match field.kind {
            MatchKind::Choice => builder.is_one_of(&field.kintone, &literal),
            MatchKind::Text | MatchKind::Number | MatchKind::Date => {
                builder.equals(&field.kintone, &literal)
            }
        };
    }
    if let Some(expiry) = &lookup.expires {
        builder = if expiry.datetime {
            builder.datetime_after_now(&expiry.field)
        } else {
            builder.date_not_before_today(&expiry.field)
        };
    }
    if let Some(order) = &lookup.order_by {
        builder = builder.order_by(order);
    }
    // One more than allowed, to notice (and log) a lookup that matches too much.
    Ok(builder.limit(lookup.max_records + 1).build())
}

async fn fetch(
    relay: &Relay,
    lookup: &Lookup,
    query: &KintoneQuery,
) -> Result<Vec<relay_shared::kintone::ReadRecord>, ApiError> {
    let fields = records::requested_fields(lookup);
    let kintone = &relay.kintone;
    let started = Instant::now();
    let result = relay
        .call_with_token(&lookup.token_secret, |credentials| {
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
        Err(CallError::Kintone(KintoneError::Misconfigured { code, id, .. }))
            if code == "GAIA_IQ10"
                && lookup.inputs().any(|field| field.kind == MatchKind::Choice) =>
        {
            tracing::warn!(
                lookup = lookup.name,
                app = lookup.app,
                code,
                id,
                kintone_ms,
                "a typed value is not an option of the field; answering not found"
            );
            Err(ApiError::NotFound)
        }
        Err(error) => {
            // The message can quote the query, so only the code and id are logged.
            let (code, id) = match &error {
                CallError::Kintone(
                    KintoneError::Misconfigured { code, id, .. }
                    | KintoneError::Refused { code, id, .. },
                ) => (code.as_str(), id.as_str()),
                _ => ("", ""),
            };
            tracing::error!(
                lookup = lookup.name,
                app = lookup.app,
                code,
                id,
                kind = error_kind(&error),
                kintone_ms,
                "kintone call failed"
            );
            Err(error.to_api_error())
        }
    }
}

fn error_kind(error: &CallError) -> String {
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
