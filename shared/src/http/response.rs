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

    /// A file to save, never to show: `Content-Disposition: attachment` with the name in
    /// RFC 5987 form (UTF-8, so Japanese names survive) and an ASCII fallback for old clients,
    /// `nosniff` so a browser keeps to the declared type, a sandboxing `Content-Security-Policy`,
    /// and `no-store` (common headers).
    pub fn file(&self, content_type: &str, name: &str, bytes: Vec<u8>) -> Response<Body> {
        let mut response = Response::new(Body::Binary(bytes));
        let headers = response.headers_mut();
        let content_type = HeaderValue::from_str(content_type)
            .ok()
            .filter(|_| !content_type.is_empty())
            .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
        headers.insert(header::CONTENT_TYPE, content_type);
        if let Ok(disposition) = HeaderValue::from_str(&content_disposition(name)) {
            headers.insert(header::CONTENT_DISPOSITION, disposition);
        }
        self.add_common_headers(headers);
        // Opened at its address anyway (kintone may hold HTML), it runs no script and loads
        // nothing.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox; default-src 'none'"),
        );
        if self.allow_origin.is_some() {
            // The page reads the file's name from the header.
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("Retry-After, X-Request-Id, Content-Disposition"),
            );
        }
        response
    }

    /// The preflight of a file upload: the page also sends the file's name in `X-File-Name`.
    pub fn upload_preflight(&self, allowed_methods: &str) -> Response<Body> {
        let mut response = self.preflight(allowed_methods);
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Content-Type, Accept-Language, X-File-Name"),
        );
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

/// RFC 5987's attr-char, minus nothing: every other byte of the UTF-8 name is percent-encoded.
const NOT_ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded UTF-8>` (RFC 6266).
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, NOT_ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_survive_in_rfc_5987_form() {
        assert_eq!(
            content_disposition("見積書 2026.pdf"),
            "attachment; filename=\"___ 2026.pdf\"; filename*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8%202026.pdf"
        );
        assert_eq!(
            content_disposition("a\"b\\c;d.pdf"),
            "attachment; filename=\"a_b_c;d.pdf\"; filename*=UTF-8''a%22b%5Cc%3Bd.pdf"
        );
    }
}
