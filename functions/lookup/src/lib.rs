//! `POST /lookups/{lookup}`: a partner sends an ID and corroborating facts; the relay builds the
//! kintone query itself, checks every returned record again, and answers only declared outputs.
//! The routes and the pipeline live in `relay_shared`; this crate is the Lambda that serves the
//! lookups.

use lambda_http::{Body, Error, Request, Response};
use relay_shared::config::Function;
use relay_shared::relay::Relay;

pub async fn handle(relay: &Relay, request: Request) -> Result<Response<Body>, Error> {
    Ok(relay_shared::http::serve(relay, Function::Lookup, request).await)
}
