//! `POST /lookups/{lookup}` (under construction).
use lambda_http::{Body, Error, Request, Response};
use relay_shared::relay::Relay;

pub async fn handle(_relay: &Relay, _request: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::Empty))
}
