//! Building responses: JSON bodies, localised errors, CORS preflights and the headers every
//! response carries.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};

use super::ApiError;
use super::messages::{Lang, Message};

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
            lang: Lang::from_accept_language(super::header_str(
                request,
                header::ACCEPT_LANGUAGE.as_str(),
            )),
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

    /// A form's or lookup's description: the same for everyone, so caches may keep it a minute
    /// (unless it carries a stamp, which is the time it was fetched).
    pub fn description(&self, body: &Value) -> Response<Body> {
        let mut response = self.json(StatusCode::OK, body);
        if body.get("stamp").is_none() {
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            );
        }
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
            ApiError::Unavailable { retry_after }
            | ApiError::TooManyAttempts { retry_after }
            | ApiError::TooFast { retry_after } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.as_secs().max(1)),
                );
            }
            ApiError::MethodNotAllowed { allow } => {
                if let Ok(allow) = HeaderValue::from_str(allow) {
                    headers.insert(header::ALLOW, allow);
                }
            }
            _ => {}
        }
        response
    }

    /// The answer to a CORS preflight from an allowed origin.
    pub fn preflight(&self, allowed_methods: &str) -> Response<Body> {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        if let Ok(methods) = HeaderValue::from_str(allowed_methods) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "Content-Type, Accept-Language, Idempotency-Key, X-Relay-Stamp, X-Captcha-Token",
            ),
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
