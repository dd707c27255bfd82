//! The HTTP edge over the core: one handler shell for every function that serves HTTP. It
//! routes the request, applies CORS and the body rules, runs the route against the core, renders
//! the result (errors localised) and writes the request's one log line. No core module imports
//! anything from here.

mod describe;
mod error;
mod files;
mod forms;
mod lookups;
mod messages;
mod response;
mod route;

use std::time::Instant;

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};

pub use error::ApiError;
pub use messages::{Lang, Message};
pub use response::ResponseContext;
pub use route::{Resource, Route, Target};

use crate::config::{Access, Function};
use crate::input::Problem;
use crate::relay::Relay;

/// How a request that succeeded ended, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Preflight,
    /// A form's or lookup's public description.
    Described,
    /// A record was added.
    Created,
    /// The Idempotency-Key was seen before: the first record stands.
    Replayed,
    /// kintone could not take it now; it waits in the queue.
    Queued,
    /// The honeypot was filled in: answered as created, nothing stored.
    Honeypot,
    Found,
    /// A file was uploaded for a form's file input.
    Uploaded,
    /// A lookup's file was handed over.
    Downloaded,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Preflight => "preflight",
            Outcome::Described => "described",
            Outcome::Created => "created",
            Outcome::Replayed => "replayed",
            Outcome::Queued => "queued",
            Outcome::Honeypot => "honeypot",
            Outcome::Found => "found",
            Outcome::Uploaded => "uploaded",
            Outcome::Downloaded => "downloaded",
        }
    }
}

/// A request that succeeded: how it ended and the response.
pub struct Answer {
    pub outcome: Outcome,
    pub response: Response<Body>,
}

/// Serves one request to `function`: never fails, every error is a response.
pub async fn serve(relay: &Relay, function: Function, request: Request) -> Response<Body> {
    let started = Instant::now();
    let mut context = ResponseContext::from_request(&request);
    let resource = Resource::from_path(request.uri().path()).filter(|r| r.function() == function);
    let result = respond(relay, resource, &request, &mut context).await;
    finish(function, resource, started, &context, result)
}

async fn respond(
    relay: &Relay,
    resource: Option<Resource<'_>>,
    request: &Request,
    context: &mut ResponseContext,
) -> Result<Answer, ApiError> {
    let target = resource
        .and_then(|resource| resource.target(&relay.config))
        .ok_or(ApiError::NotFound)?;
    if !target.access().admits(source_ip(request)) {
        return Err(ApiError::Forbidden);
    }
    context.allow_origin = allowed_origin(request, target.access())?;
    let route = Route::of(request.method(), target).ok_or_else(|| ApiError::MethodNotAllowed {
        allow: target.allowed_methods(),
    })?;
    match route {
        Route::Preflight => Ok(Answer {
            outcome: Outcome::Preflight,
            response: match target {
                Target::FormFile { .. } => context.upload_preflight(&target.allowed_methods()),
                _ => context.preflight(&target.allowed_methods()),
            },
        }),
        Route::DescribeForm(form) => forms::describe(relay, form, context).await,
        Route::DescribeLookup(lookup) => Ok(Answer {
            outcome: Outcome::Described,
            response: context.description(&describe::lookup(lookup)),
        }),
        Route::SubmitForm(form) => forms::submit(relay, form, request, context).await,
        Route::LookUp(lookup) => lookups::look_up(relay, lookup, request, context).await,
        Route::UploadFile { form, input, rule } => {
            files::upload(relay, form, input, rule, request, context).await
        }
        Route::DownloadFile(lookup) => files::download(relay, lookup, request, context).await,
    }
}

/// Renders a request's result and writes its one log line: endpoint, name, status, outcome,
/// the names of invalid inputs and the time taken. Never the values sent.
fn finish(
    function: Function,
    resource: Option<Resource<'_>>,
    started: Instant,
    context: &ResponseContext,
    result: Result<Answer, ApiError>,
) -> Response<Body> {
    let endpoint = match function {
        Function::Submit => "form",
        Function::Lookup => "lookup",
        Function::Deliver => "deliver",
    };
    let name = resource.map_or("", Resource::name);
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let (outcome, response, fields) = match result {
        Ok(answer) => (answer.outcome.as_str(), answer.response, Vec::new()),
        Err(error) => {
            // Only declared names: an unknown one is whatever the sender typed as a key.
            let fields: Vec<String> = match &error {
                ApiError::InvalidInput(fields) => fields
                    .iter()
                    .map(|(name, problem)| match problem {
                        Problem::UnknownField => "(unknown)".to_owned(),
                        _ => name.clone(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            (error.code(), context.error(&error), fields)
        }
    };
    tracing::info!(
        endpoint,
        name,
        status = response.status().as_u16(),
        outcome,
        ?fields,
        elapsed_ms,
        "request"
    );
    response
}

/// A 200/201 JSON answer.
fn answer(
    context: &ResponseContext,
    outcome: Outcome,
    status: StatusCode,
    body: &serde_json::Value,
) -> Answer {
    Answer {
        outcome,
        response: context.json(status, body),
    }
}

/// The caller's address as API Gateway (or a function URL) saw it, from the request context:
/// never from a header such as `X-Forwarded-For`, which any client can set.
pub(crate) fn source_ip(request: &Request) -> Option<std::net::IpAddr> {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let text = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        RequestContext::ApiGatewayV1(context) => context.identity.source_ip.as_deref(),
        _ => None,
    };
    text?.parse().ok()
}

pub(crate) fn header_str<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Checks the request's `Origin` against the allowed ones; returns the origin to echo.
fn allowed_origin(request: &Request, access: &Access) -> Result<Option<String>, ApiError> {
    match header_str(request, header::ORIGIN.as_str()) {
        Some(origin) => {
            if access.allowed_origins.iter().any(|a| a.matches(origin)) {
                Ok(Some(origin.to_owned()))
            } else {
                Err(ApiError::OriginNotAllowed)
            }
        }
        None if access.allow_no_origin => Ok(None),
        None => Err(ApiError::OriginNotAllowed),
    }
}

/// A JSON body within the limit, or why not.
fn json_body(request: &Request, max_body_bytes: usize) -> Result<&[u8], ApiError> {
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
