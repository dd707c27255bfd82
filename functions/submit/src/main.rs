//! The `submit` Lambda: public web forms post here; one valid post adds one kintone record.

use lambda_http::{Error, service_fn};
use relay_shared::config::Function;
use relay_shared::relay::Relay;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    relay_shared::logging::init();
    let relay = Relay::from_env(Function::Submit).await?;
    let relay = &relay;
    lambda_http::run(service_fn(move |request| submit::handle(relay, request))).await
}
