//! `POST /lookups/{lookup}`: a partner's ID and corroborating facts return only their records.

use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::json;

use super::{Answer, ApiError, Outcome, ResponseContext, answer, json_body};
use crate::config::Lookup;
use crate::input::Inputs;
use crate::relay::Relay;

pub async fn look_up(
    relay: &Relay,
    lookup: &Lookup,
    request: &Request,
    context: &ResponseContext,
) -> Result<Answer, ApiError> {
    let body = json_body(request, lookup.access.max_body_bytes)?;
    let inputs = Inputs::parse(body)?;
    let records = crate::lookup::look_up(relay, lookup, &inputs, super::source_ip(request)).await?;
    Ok(answer(
        context,
        Outcome::Found,
        StatusCode::OK,
        &json!({ "records": records }),
    ))
}
