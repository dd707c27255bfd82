//! The `lookup` Lambda: a partner's ID plus corroborating facts return only their records.

use lambda_http::{Error, service_fn};
use relay_shared::config::Function;
use relay_shared::relay::Relay;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    relay_shared::logging::init();
    let relay = Relay::from_env(Function::Lookup).await?;
    let relay = &relay;
    lambda_http::run(service_fn(move |request| lookup::handle(relay, request))).await
}
