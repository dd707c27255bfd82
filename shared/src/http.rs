//! The HTTP edge both functions share: routing by path suffix, CORS, and one error enum mapped
//! to statuses and localised JSON bodies. Internals are logged by the caller, never returned.

use std::time::{Duration, Instant};

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};

use crate::form::{BodyError, FieldErrors};
use crate::lang::Lang;

#[derive(Debug)]
pub enum ApiError {
    NotFound,
    MethodNotAllowed,
    OriginNotAllowed,
    UnsupportedMediaType,
    PayloadTooLarge { limit: usize },
    InvalidBody(BodyError),
    InvalidInput(FieldErrors),
    InvalidIdempotencyKey,
    Unavailable { retry_after: Duration },
    Misconfigured,
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::OriginNotAllowed => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::InvalidBody(_)
            | ApiError::InvalidInput(_)
            | ApiError::InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Misconfigured | ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::OriginNotAllowed => "origin_not_allowed",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::InvalidBody(_) => "invalid_json",
            ApiError::InvalidInput(_) => "invalid_input",
            ApiError::InvalidIdempotencyKey => "invalid_idempotency_key",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Misconfigured => "misconfigured",
            ApiError::Internal => "internal",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        let fixed = |ja: &str, en: &str| lang.pick(ja, en).to_owned();
        match self {
            ApiError::NotFound => fixed("見つかりませんでした。", "Not found."),
            ApiError::MethodNotAllowed => fixed(
                "このメソッドは使用できません。",
                "This method is not allowed.",
            ),
            ApiError::OriginNotAllowed => fixed(
                "このページからの送信は許可されていません。",
                "Requests from this page are not allowed.",
            ),
            ApiError::UnsupportedMediaType => fixed(
                "Content-Type: application/json で送信してください。",
                "Send the request as Content-Type: application/json.",
            ),
            ApiError::PayloadTooLarge { limit } => match lang {
                Lang::Ja => format!("送信内容が大きすぎます（上限 {limit} バイト）。"),
                Lang::En => format!("The request is too large (limit {limit} bytes)."),
            },
            ApiError::InvalidBody(problem) => problem.message(lang),
            ApiError::InvalidInput(_) => fixed(
                "入力内容を確認してください。",
                "Please check the highlighted fields.",
            ),
            ApiError::InvalidIdempotencyKey => fixed(
                "Idempotency-Key ヘッダーは英数字・-・_ の32〜64文字（crypto.randomUUID() など）にしてください。",
                "The Idempotency-Key header must be 32 to 64 letters, digits, '-' or '_' (crypto.randomUUID(), say).",
            ),
            ApiError::Unavailable { .. } => fixed(
                "ただいま混み合っているか、メンテナンス中です。しばらくしてからもう一度お試しください。",
                "The service is busy or under maintenance. Please try again shortly.",
            ),
            ApiError::Misconfigured => fixed(
                "サーバーの設定に問題があるため受け付けできませんでした。管理者にお問い合わせください。",
                "The service is not configured correctly. Please contact the administrator.",
            ),
            ApiError::Internal => fixed(
                "サーバーで問題が発生しました。",
                "Something went wrong on the server.",
            ),
        }
    }
}

/// What every response of a request carries: the language and the CORS origin to echo.
#[derive(Debug, Clone)]
pub struct ResponseContext {
    pub lang: Lang,
    pub allow_origin: Option<String>,
    pub request_id: Option<String>,
}

impl ResponseContext {
    pub fn from_request(request: &Request) -> Self {
        ResponseContext {
            lang: Lang::from_accept_language(header_str(request, header::ACCEPT_LANGUAGE.as_str())),
            allow_origin: None,
            request_id: request
                .lambda_context_ref()
                .map(|context| context.request_id.clone())
                .filter(|id| !id.is_empty()),
        }
    }

    pub fn json(&self, status: StatusCode, body: &Value) -> Response<Body> {
        let mut response = Response::new(Body::Text(body.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        self.add_common_headers(headers);
        response
    }

    pub fn error(&self, error: &ApiError) -> Response<Body> {
        let mut detail = Map::new();
        detail.insert("code".into(), json!(error.code()));
        detail.insert("message".into(), json!(error.message(self.lang)));
        if let ApiError::InvalidInput(fields) = error {
            let fields: Map<String, Value> = fields
                .iter()
                .map(|(name, problem)| (name.clone(), json!(problem.message(self.lang))))
                .collect();
            detail.insert("fields".into(), Value::Object(fields));
        }
        let mut response = self.json(error.status(), &json!({ "error": detail }));
        let headers = response.headers_mut();
        match error {
            ApiError::Unavailable { retry_after } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.as_secs().max(1)),
                );
            }
            ApiError::MethodNotAllowed => {
                headers.insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
            }
            _ => {}
        }
        response
    }

    /// The answer to a CORS preflight from an allowed origin.
    pub fn preflight(&self) -> Response<Body> {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Content-Type, Accept-Language, Idempotency-Key"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        self.add_common_headers(headers);
        response
    }

    fn add_common_headers(&self, headers: &mut lambda_http::http::HeaderMap) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Origin, Accept-Language"),
        );
        if let Some(id) = self
            .request_id
            .as_deref()
            .and_then(|id| HeaderValue::from_str(id).ok())
        {
            headers.insert("x-request-id", id);
        }
        if let Some(origin) = self
            .allow_origin
            .as_deref()
            .and_then(|o| HeaderValue::from_str(o).ok())
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("Retry-After, X-Request-Id"),
            );
        }
    }
}

/// The two kinds of relay endpoint, `/forms/{name}` and `/lookups/{name}`.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint {
    Form,
    Lookup,
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Endpoint::Form => "form",
            Endpoint::Lookup => "lookup",
        }
    }

    /// The form or lookup name the request's path ends with.
    pub fn name_in(self, request: &Request) -> Option<&str> {
        let collection = match self {
            Endpoint::Form => "forms",
            Endpoint::Lookup => "lookups",
        };
        route_name(request.uri().path(), collection)
    }
}

/// A request that succeeded: how it ended (`created`, `found`, ...) and the response.
pub type Answer = (&'static str, Response<Body>);

/// Renders a request's result and writes its one log line: endpoint, name, status, outcome,
/// the names of invalid inputs and the time taken. Never the values sent.
pub fn finish(
    endpoint: Endpoint,
    request: &Request,
    started: Instant,
    context: &ResponseContext,
    result: Result<Answer, ApiError>,
) -> Response<Body> {
    let name = endpoint.name_in(request).unwrap_or("");
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let (outcome, response, fields) = match result {
        Ok((outcome, response)) => (outcome, response, Vec::new()),
        Err(error) => {
            // Only declared names: an unknown one is whatever the sender typed as a key.
            let fields: Vec<String> = match &error {
                ApiError::InvalidInput(fields) => fields
                    .iter()
                    .map(|(name, problem)| match problem {
                        crate::form::Problem::UnknownField => "(unknown)".to_owned(),
                        _ => name.clone(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            (error.code(), context.error(&error), fields)
        }
    };
    tracing::info!(
        endpoint = endpoint.label(),
        name,
        status = response.status().as_u16(),
        outcome,
        ?fields,
        elapsed_ms,
        "request"
    );
    response
}

pub fn header_str<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `{name}` of a path ending in `/{collection}/{name}`: the same code then serves an HTTP
/// API route, a function URL and `cargo lambda watch`'s `/lambda-url/<function>/...` prefix.
pub fn route_name<'a>(path: &'a str, collection: &str) -> Option<&'a str> {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let name = segments.next()?;
    (segments.next()? == collection && !name.is_empty()).then_some(name)
}

/// Checks the request's `Origin` against the allowed ones; returns the origin to echo.
pub fn allowed_origin(
    request: &Request,
    allowed: &[String],
    allow_no_origin: bool,
) -> Result<Option<String>, ApiError> {
    match header_str(request, header::ORIGIN.as_str()) {
        Some(origin) => {
            if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
                Ok(Some(origin.to_owned()))
            } else {
                Err(ApiError::OriginNotAllowed)
            }
        }
        None if allow_no_origin => Ok(None),
        None => Err(ApiError::OriginNotAllowed),
    }
}

/// What a POST to a relay endpoint must look like before its body is read.
pub fn check_json_post(request: &Request, max_body_bytes: usize) -> Result<&[u8], ApiError> {
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let media_type = header_str(request, header::CONTENT_TYPE.as_str())
        .and_then(|value| value.split(';').next())
        .map(str::trim);
    if !media_type.is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body: &[u8] = request.body().as_ref();
    if body.len() > max_body_bytes {
        return Err(ApiError::PayloadTooLarge {
            limit: max_body_bytes,
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::route_name;

    #[test]
    fn routes_by_suffix() {
        assert_eq!(route_name("/forms/seminar", "forms"), Some("seminar"));
        assert_eq!(
            route_name("/lambda-url/submit/forms/seminar", "forms"),
            Some("seminar")
        );
        assert_eq!(route_name("/prod/forms/seminar/", "forms"), Some("seminar"));
        assert_eq!(route_name("/forms/", "forms"), None);
        assert_eq!(route_name("/lookups/seminar", "forms"), None);
        assert_eq!(route_name("/", "forms"), None);
    }
}
