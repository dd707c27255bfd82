//! `POST /forms/{form}`: validate a public form's JSON against relay.toml and add one record
//! with the form's add-only token. The routes and the pipeline live in `relay_shared`; this
//! crate is the Lambda that serves the forms.

use lambda_http::{Body, Error, Request, Response};
use relay_shared::config::Function;
use relay_shared::relay::Relay;

pub async fn handle(relay: &Relay, request: Request) -> Result<Response<Body>, Error> {
    Ok(relay_shared::http::serve(relay, Function::Submit, request).await)
}
