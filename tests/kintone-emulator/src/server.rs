//! The HTTP side: routing, authentication, faults, the request log and response headers.
//!
//! One fallback handler does its own routing, so that every request (known path or not) is
//! logged, counted and subject to faults in one place.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::error::{ApiError, Lang};
use crate::{
    Emulator, Fault, LoggedRequest, Permission, State as EmuState, eval, files, form_fields, query,
    record,
};

/// kintone's per-domain limit of concurrent requests.
const CONCURRENCY_LIMIT: usize = 100;
/// At most 9 API tokens per request (fact sheet §2.1).
const MAX_TOKENS: usize = 9;
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";

const MAINTENANCE_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>メンテナンス中 / Under maintenance</title></head>\n<body><h1>ただいまメンテナンス中です。</h1><p>cybozu.com is currently under maintenance.</p></body></html>\n";

pub(crate) fn router(emu: Emulator) -> Router {
    Router::new().fallback(handle).with_state(emu)
}

/// Counts a request in flight for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> (Self, usize) {
        let running = counter.fetch_add(1, Ordering::SeqCst) + 1;
        (Self(counter), running)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What to answer, before headers are added.
enum Reply {
    Json(Value),
    /// A downloaded file: its `Content-Type` and bytes.
    File(String, Vec<u8>),
    Error(ApiError),
    Html(u16, &'static str),
    Text(u16, &'static str),
}

async fn handle(State(emu): State<Emulator>, req: Request) -> Response {
    let inner = emu.inner.clone();
    let (_in_flight, running) = InFlight::enter(&inner.running);
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let response = finish(
                &emu,
                Reply::Text(413, "413: Request Entity Too Large"),
                running,
            );
            log(&emu, &parts, &Bytes::new(), 413, None);
            return response;
        }
    };
    let lang = Lang::from_accept_language(
        parts
            .headers
            .get("accept-language")
            .and_then(|v| v.to_str().ok()),
    );

    let (fault, basic_auth_expected) = {
        let state = emu.lock();
        (state.fault, state.basic_auth.clone())
    };
    let reply = match fault {
        Fault::Hang => {
            // Logged now, since no answer will ever come.
            log(&emu, &parts, &bytes, 0, None);
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Fault::RateLimited => Reply::Error(ApiError::rate_limited()),
        Fault::Maintenance => Reply::Html(503, MAINTENANCE_PAGE),
        Fault::None if running > CONCURRENCY_LIMIT => Reply::Error(ApiError::rate_limited()),
        Fault::None => match basic_auth(basic_auth_expected.as_deref(), &parts.headers, lang) {
            Ok(()) => dispatch(&emu, &parts, &bytes, lang),
            Err(refused) => Reply::Error(refused),
        },
    };
    let (status, code) = match &reply {
        Reply::Json(_) | Reply::File(..) => (200, None),
        Reply::Error(e) => (e.status, Some(e.code.to_owned())),
        Reply::Html(s, _) | Reply::Text(s, _) => (*s, None),
    };
    let response = finish(&emu, reply, running);
    log(&emu, &parts, &bytes, status, code);
    response
}

/// The domain's Basic authentication, which sits in front of the API (fact sheet §2.3), so it
/// is checked before routing and before kintone's own authentication.
/// UNCONFIRMED: the fact sheet gives no answer for a refused Basic login; the emulator answers
/// as for a refused kintone login (§5.2): 401 `CB_AU01` without the header, 401 `CB_WA01` with
/// other credentials.
fn basic_auth(expected: Option<&str>, headers: &HeaderMap, lang: Lang) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let sent = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, credentials)| credentials.trim());
    match sent {
        None => Err(ApiError::login_required(lang)),
        Some(credentials) if credentials == expected => Ok(()),
        Some(_) => Err(ApiError::password_failed(lang)),
    }
}

fn log(emu: &Emulator, parts: &Parts, bytes: &Bytes, status: u16, error_code: Option<String>) {
    let entry = LoggedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query_string: parts.uri.query().map(str::to_owned),
        api_tokens: api_tokens(&parts.headers),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: if bytes.is_empty() {
            None
        } else {
            serde_json::from_slice(bytes).ok()
        },
        status,
        error_code,
    };
    emu.lock().log.push(entry);
}

/// Adds the headers every kintone response carries.
fn finish(emu: &Emulator, reply: Reply, running: usize) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-concurrencylimit-limit"),
        HeaderValue::from(CONCURRENCY_LIMIT),
    );
    headers.insert(
        HeaderName::from_static("x-concurrencylimit-running"),
        HeaderValue::from(running),
    );
    let (status, body) = match reply {
        Reply::Json(v) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
            (200, v.to_string().into_bytes())
        }
        Reply::File(content_type, bytes) => {
            let value = HeaderValue::from_str(&content_type)
                .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
            headers.insert(CONTENT_TYPE, value);
            (200, bytes)
        }
        Reply::Error(e) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
            if e.code == "GAIA_TO04" {
                headers.insert(
                    HeaderName::from_static("x-cybozu-error"),
                    HeaderValue::from_static("GAIA_TO04"),
                );
            }
            (e.status, e.body(emu.error_id()).to_string().into_bytes())
        }
        Reply::Html(s, page) => {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            (s, page.as_bytes().to_vec())
        }
        Reply::Text(s, text) => {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            (s, text.as_bytes().to_vec())
        }
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, headers, Body::from(body)).into_response()
}

/// The API tokens a request authenticates with. Password authentication wins over tokens when
/// both are sent, and the emulator has no users.
fn presented_tokens(parts: &Parts, lang: Lang) -> Result<Vec<String>, ApiError> {
    if parts.headers.contains_key("x-cybozu-authorization") {
        return Err(ApiError::password_failed(lang));
    }
    let tokens = api_tokens(&parts.headers);
    if tokens.is_empty() {
        return Err(ApiError::login_required(lang));
    }
    if tokens.len() > MAX_TOKENS {
        return Err(ApiError::too_many_tokens(lang));
    }
    Ok(tokens)
}

/// Each token's app and permissions. Every token must exist; two of the same app are refused
/// even if one is repeated.
fn grants(
    state: &crate::State,
    tokens: &[String],
    lang: Lang,
) -> Result<Vec<(u64, Vec<Permission>)>, ApiError> {
    let mut granted: Vec<(u64, Vec<Permission>)> = Vec::new();
    for token in tokens {
        let grant = state
            .tokens
            .get(token)
            .ok_or_else(|| ApiError::token_invalid(lang))?;
        if granted.iter().any(|(app, _)| *app == grant.app) {
            return Err(ApiError::token_duplicate(lang));
        }
        granted.push((grant.app, grant.perms.clone()));
    }
    Ok(granted)
}

/// The `X-Cybozu-API-Token` values: several headers and/or comma-separated, trimmed.
fn api_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("x-cybozu-api-token")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Resource {
    Record,
    Records,
    /// `app/form/fields.json`: the app's field settings.
    FormFields,
    /// `file.json`: upload (POST, multipart) and download (GET).
    File,
}

/// `/k/v1/{resource}.json` or `/k/guest/{space}/v1/{resource}.json`, lower-case only.
fn route(path: &str) -> Option<(Option<u64>, Resource)> {
    let (space, rest) = if let Some(rest) = path.strip_prefix("/k/v1/") {
        (None, rest)
    } else {
        let rest = path.strip_prefix("/k/guest/")?;
        let (space, rest) = rest.split_once('/')?;
        let rest = rest.strip_prefix("v1/")?;
        if space.is_empty() || !space.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        (Some(space.parse().ok()?), rest)
    };
    let resource = match rest {
        "record.json" => Resource::Record,
        "records.json" => Resource::Records,
        "app/form/fields.json" => Resource::FormFields,
        "file.json" => Resource::File,
        _ => return None,
    };
    Some((space, resource))
}

#[derive(Clone, Copy)]
enum Endpoint {
    AddRecord,
    AddRecords,
    GetRecord,
    GetRecords,
    GetFormFields,
}

/// `X-HTTP-Method-Override` is honoured only on POST, and only with an upper-case method.
fn effective_method(parts: &Parts) -> &str {
    let method = parts.method.as_str();
    if method != "POST" {
        return method;
    }
    match parts
        .headers
        .get("x-http-method-override")
        .and_then(|v| v.to_str().ok())
    {
        Some(m @ ("GET" | "POST" | "PUT" | "DELETE")) => m,
        _ => method,
    }
}

fn dispatch(emu: &Emulator, parts: &Parts, bytes: &Bytes, lang: Lang) -> Reply {
    let Some((space, resource)) = route(parts.uri.path()) else {
        return Reply::Text(404, "404: Not Found");
    };
    if resource == Resource::File {
        return match file_endpoint(emu, parts, bytes, lang, space) {
            Ok(reply) => reply,
            Err(e) => Reply::Error(e),
        };
    }
    let endpoint = match (resource, effective_method(parts)) {
        (Resource::Record, "POST") => Endpoint::AddRecord,
        (Resource::Records, "POST") => Endpoint::AddRecords,
        (Resource::Record, "GET") => Endpoint::GetRecord,
        (Resource::Records, "GET") => Endpoint::GetRecords,
        (Resource::FormFields, "GET") => Endpoint::GetFormFields,
        _ => return Reply::Text(501, "501: not emulated by kintone-emulator"),
    };
    match run(emu, parts, bytes, lang, space, endpoint) {
        Ok(v) => Reply::Json(v),
        Err(e) => Reply::Error(e),
    }
}

/// The request parameters: the JSON body if there is one, else the query string.
fn params(parts: &Parts, bytes: &Bytes, lang: Lang) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(parts
            .uri
            .query()
            .map(query_string_params)
            .unwrap_or_default());
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::invalid_json(lang)),
    }
}

/// `app=1&query=…&fields[0]=a&fields[1]=b` (also `fields[]=a` and repeated `fields=a`).
fn query_string_params(qs: &str) -> Map<String, Value> {
    let mut map = Map::new();
    let mut fields = Vec::new();
    for pair in qs.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        if k == "fields" || (k.starts_with("fields[") && k.ends_with(']')) {
            fields.push(Value::String(v));
        } else {
            map.insert(k, Value::String(v));
        }
    }
    if !fields.is_empty() {
        map.insert("fields".to_owned(), Value::Array(fields));
    }
    map
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    // Malformed UTF-8 is replaced rather than refused; real behaviour is not known.
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// A positive integer given as a JSON number or a string.
fn id_param(params: &Map<String, Value>, name: &str, lang: Lang) -> Result<u64, ApiError> {
    let text = match params.get(name) {
        None | Some(Value::Null) => return Err(ApiError::missing_param(lang, name)),
        Some(Value::String(s)) if s.is_empty() => return Err(ApiError::missing_param(lang, name)),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => String::new(),
    };
    match text.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n.unsigned_abs()),
        // Observed for app=-1.
        Ok(_) => Err(ApiError::invalid_param(
            lang,
            name,
            lang.pick("must be greater than or equal to 1", "最小でも1以上です。"),
        )),
        // The text for a non-integer is UNCONFIRMED.
        Err(_) => Err(ApiError::invalid_param(
            lang,
            name,
            lang.pick("Enter an integer value.", "整数で入力してください。"),
        )),
    }
}

fn run(
    emu: &Emulator,
    parts: &Parts,
    bytes: &Bytes,
    lang: Lang,
    space: Option<u64>,
    endpoint: Endpoint,
) -> Result<Value, ApiError> {
    let tokens = presented_tokens(parts, lang)?;
    let params = params(parts, bytes, lang);
    let mut state = emu.lock();
    let granted = grants(&state, &tokens, lang)?;
    let params = params?;
    let app_id = id_param(&params, "app", lang)?;
    let data = state
        .apps
        .get(&app_id)
        .ok_or_else(|| ApiError::app_not_found(lang, app_id))?;
    match (space, data.app.guest_space) {
        (None, Some(_)) => return Err(ApiError::guest_path_required(lang)),
        (Some(s), g) if g != Some(s) => return Err(ApiError::no_privilege(lang)),
        _ => {}
    }
    // A token of another app alongside one of this app is fine; none of this app is
    // GAIA_AP15 (UNCONFIRMED code and status).
    let perms = granted
        .iter()
        .find(|(app, _)| *app == app_id)
        .map(|(_, perms)| perms.as_slice())
        .ok_or_else(|| ApiError::token_wrong_app(lang, app_id))?;
    // Any one of these permissions lets the token run the endpoint.
    let needed: &[Permission] = match endpoint {
        Endpoint::AddRecord | Endpoint::AddRecords => &[Permission::Add],
        Endpoint::GetRecord | Endpoint::GetRecords => &[Permission::View],
        Endpoint::GetFormFields => form_fields::PERMISSIONS,
    };
    if !needed.iter().any(|permission| perms.contains(permission)) {
        return Err(ApiError::token_no_permission(lang));
    }
    match endpoint {
        Endpoint::AddRecord => add_record(emu, &mut state, app_id, &params, lang),
        Endpoint::AddRecords => add_records(emu, &mut state, app_id, &params, lang),
        Endpoint::GetRecord => get_record(&state, app_id, &params, lang),
        Endpoint::GetRecords => get_records(&state, app_id, &params, lang),
        Endpoint::GetFormFields => form_fields::response(&state, app_id, lang),
    }
}

/// `file.json`: a POST with a multipart body uploads; a GET (or a POST overridden to GET)
/// downloads. Both authenticate like every API; the upload needs no permission (the record add
/// that attaches the file checks it), the download needs view on the file's app.
fn file_endpoint(
    emu: &Emulator,
    parts: &Parts,
    bytes: &Bytes,
    lang: Lang,
    space: Option<u64>,
) -> Result<Reply, ApiError> {
    let tokens = presented_tokens(parts, lang)?;
    let method = effective_method(parts).to_owned();
    let mut state = emu.lock();
    let granted = grants(&state, &tokens, lang)?;
    match method.as_str() {
        "POST" => {
            let content_type = parts
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // The code and text for a missing part are UNCONFIRMED; kintone's usual answer for
            // a missing parameter is used.
            let upload = files::parse_multipart(content_type, bytes)
                .ok_or_else(|| ApiError::missing_param(lang, "file"))?;
            let key = emu.upload_key();
            Ok(Reply::Json(files::upload(&mut state, upload, key)))
        }
        "GET" => {
            let params = params(parts, bytes, lang)?;
            let key = files::file_key_param(&params, lang)?;
            // An upload key is not a download key: unknown here too.
            let file = state
                .files
                .get(&key)
                .ok_or_else(|| ApiError::file_not_found(lang, &key))?;
            let guest_space = state
                .apps
                .get(&file.app)
                .and_then(|data| data.app.guest_space);
            match (space, guest_space) {
                (None, Some(_)) => return Err(ApiError::guest_path_required(lang)),
                (Some(s), g) if g != Some(s) => return Err(ApiError::no_privilege(lang)),
                _ => {}
            }
            // Without a token of the file's app, or one without view: the code for the first
            // case is UNCONFIRMED; GAIA_NO01 is what a token without the permission gets.
            let may_view = granted
                .iter()
                .any(|(app, perms)| *app == file.app && perms.contains(&Permission::View));
            if !may_view {
                return Err(ApiError::token_no_permission(lang));
            }
            Ok(Reply::File(file.content_type.clone(), file.bytes.clone()))
        }
        _ => Ok(Reply::Text(501, "501: not emulated by kintone-emulator")),
    }
}

fn add_record(
    emu: &Emulator,
    state: &mut EmuState,
    app_id: u64,
    params: &Map<String, Value>,
    lang: Lang,
) -> Result<Value, ApiError> {
    let empty = Map::new();
    let input = match params.get("record") {
        // `record` may be omitted: every field gets its default.
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(ApiError::invalid_param(
                lang,
                "record",
                lang.pick("The value is invalid.", "値が不正です。"),
            ));
        }
    };
    let EmuState {
        apps,
        uploads,
        files,
        ..
    } = state;
    let Some(data) = apps.get_mut(&app_id) else {
        return Err(ApiError::app_not_found(lang, app_id));
    };
    let existing: Vec<&crate::Stored> = data.records.iter().collect();
    let mut values = record::build_for_add(&data.app, &existing, input, lang)
        .map_err(|errors| ApiError::invalid_input(lang, errors))?;
    for field in &data.app.fields {
        let (Some(keys), Some(Value::String(value))) =
            (&field.lookup_source, values.get(&field.code))
        else {
            continue;
        };
        if !value.is_empty() && !keys.contains(value) {
            return Err(ApiError::lookup_value_missing(lang, &field.code, value));
        }
    }
    files::attach(
        uploads,
        files,
        &data.app,
        &mut values,
        || emu.record_file_key(),
        lang,
    )?;
    let id = data.push(values);
    Ok(json!({ "id": id.to_string(), "revision": "1" }))
}

/// Most records one batch add takes (fact sheet §1.2).
const MAX_BATCH_ADD: usize = 100;

/// `POST /k/v1/records.json`: all or nothing. Every record is checked as one add would be,
/// against the stored records and the batch's earlier records (a unique value twice in one batch
/// is a duplicate), with error keys `records[<i>].<code>.value`; one problem anywhere refuses
/// the whole batch (fact sheet §1.2).
fn add_records(
    emu: &Emulator,
    state: &mut EmuState,
    app_id: u64,
    params: &Map<String, Value>,
    lang: Lang,
) -> Result<Value, ApiError> {
    let EmuState {
        apps,
        uploads,
        files,
        ..
    } = state;
    let Some(data) = apps.get_mut(&app_id) else {
        return Err(ApiError::app_not_found(lang, app_id));
    };
    let records = match params.get("records") {
        Some(Value::Array(records)) => records,
        _ => return Err(ApiError::missing_param(lang, "records")),
    };
    if records.len() > MAX_BATCH_ADD {
        let message = lang.pick(
            "A maximum of 100 records can be added at one time.",
            "一度に追加できるレコードは100件までです。",
        );
        let errors = crate::error::FieldErrors::from([("records".to_owned(), vec![message])]);
        return Err(ApiError::invalid_input(lang, errors));
    }
    let mut errors = crate::error::FieldErrors::new();
    let mut accepted: Vec<crate::Stored> = Vec::new();
    let mut lookup_refusal = None;
    for (i, record) in records.iter().enumerate() {
        let input = match record {
            Value::Object(input) => input.clone(),
            _ => Map::new(),
        };
        let existing: Vec<&crate::Stored> = data.records.iter().chain(accepted.iter()).collect();
        match record::build_for_add(&data.app, &existing, &input, lang) {
            Ok(values) => {
                for field in &data.app.fields {
                    let (Some(keys), Some(Value::String(value))) =
                        (&field.lookup_source, values.get(&field.code))
                    else {
                        continue;
                    };
                    if !value.is_empty() && !keys.contains(value) && lookup_refusal.is_none() {
                        lookup_refusal =
                            Some(ApiError::lookup_value_missing(lang, &field.code, value));
                    }
                }
                accepted.push(crate::Stored {
                    id: 0,
                    revision: 1,
                    values,
                });
            }
            Err(record_errors) => {
                for (key, messages) in record_errors {
                    let rest = key.strip_prefix("record.").unwrap_or(&key);
                    errors.insert(format!("records[{i}].{rest}"), messages);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_input(lang, errors));
    }
    if let Some(refusal) = lookup_refusal {
        return Err(refusal);
    }
    // All or nothing: every record's upload keys are checked before any is used up.
    let mut all_keys = Vec::new();
    for stored in &accepted {
        for field in data
            .app
            .fields
            .iter()
            .filter(|f| f.field_type == crate::FieldType::File)
        {
            if let Some(Value::Array(items)) = stored.values.get(&field.code) {
                for key in items
                    .iter()
                    .filter_map(|i| i.get("fileKey").and_then(Value::as_str))
                {
                    if !uploads.contains_key(key) || all_keys.contains(&key) {
                        return Err(ApiError::file_not_found(lang, key));
                    }
                    all_keys.push(key);
                }
            }
        }
    }
    for stored in &mut accepted {
        files::attach(
            uploads,
            files,
            &data.app,
            &mut stored.values,
            || emu.record_file_key(),
            lang,
        )?;
    }
    let ids: Vec<String> = accepted
        .into_iter()
        .map(|stored| data.push(stored.values).to_string())
        .collect();
    let revisions: Vec<&str> = ids.iter().map(|_| "1").collect();
    Ok(json!({ "ids": ids, "revisions": revisions }))
}

fn get_record(
    state: &EmuState,
    app_id: u64,
    params: &Map<String, Value>,
    lang: Lang,
) -> Result<Value, ApiError> {
    let Some(data) = state.apps.get(&app_id) else {
        return Err(ApiError::app_not_found(lang, app_id));
    };
    let id = id_param(params, "id", lang)?;
    let rec = data
        .records
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::record_not_found(lang, &id.to_string()))?;
    Ok(json!({ "record": record::read_shape(&data.app, rec, None) }))
}

fn get_records(
    state: &EmuState,
    app_id: u64,
    params: &Map<String, Value>,
    lang: Lang,
) -> Result<Value, ApiError> {
    let Some(data) = state.apps.get(&app_id) else {
        return Err(ApiError::app_not_found(lang, app_id));
    };
    let fields: Option<Vec<String>> = match params.get("fields") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    ApiError::invalid_param(
                        lang,
                        "fields",
                        lang.pick("The value is invalid.", "値が不正です。"),
                    )
                })?,
        ),
        Some(_) => {
            return Err(ApiError::invalid_param(
                lang,
                "fields",
                lang.pick("The value is invalid.", "値が不正です。"),
            ));
        }
    };
    let query_text = match params.get("query") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(ApiError::query_syntax(lang)),
    };
    let total_wanted = matches!(params.get("totalCount"), Some(Value::Bool(true)))
        || matches!(params.get("totalCount"), Some(Value::String(s)) if s == "true");
    let parsed = query::parse(query_text).map_err(|_| ApiError::query_syntax(lang))?;
    let (page, total) = eval::run(
        &data.app,
        &data.records,
        &parsed,
        lang,
        OffsetDateTime::now_utc(),
    )?;
    let records: Vec<Value> = page
        .into_iter()
        .map(|r| record::read_shape(&data.app, r, fields.as_deref()))
        .collect();
    Ok(json!({
        "records": records,
        "totalCount": if total_wanted { Value::String(total.to_string()) } else { Value::Null },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_lower_case_only() {
        assert!(route("/k/v1/record.json").is_some());
        assert!(route("/k/guest/7/v1/records.json") == Some((Some(7), Resource::Records)));
        assert!(
            route("/k/guest/7/v1/app/form/fields.json") == Some((Some(7), Resource::FormFields))
        );
        for bad in [
            "/k/v1/Record.json",
            "/k/v1/record.JSON",
            "/K/v1/record.json",
            "/k/V1/record.json",
            "/k/guest/x/v1/record.json",
            "/k/guest//v1/record.json",
            "/k/v1/record.json/",
            "/k/v1/apps.json",
            "/k/v1/app/form/Fields.json",
            "/k/v1/preview/app/form/fields.json",
        ] {
            assert!(route(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn query_string_decoding() {
        let m = query_string_params(
            "app=12&fields%5B0%5D=%E6%B0%8F%E5%90%8D&fields[1]=$id&query=a+%3D+%221%22",
        );
        assert_eq!(m["app"], "12");
        assert_eq!(m["fields"], json!(["氏名", "$id"]));
        assert_eq!(m["query"], "a = \"1\"");
        let m = query_string_params("fields[]=a&fields=b&x=%zz");
        assert_eq!(m["fields"], json!(["a", "b"]));
        assert_eq!(m["x"], "%zz");
    }
}
