//! The `deliver` Lambda: the SQS consumer that adds queued submissions to kintone in bulk.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use relay_shared::config::Function;
use relay_shared::queue::DeadLetters;
use relay_shared::relay::{DEAD_LETTER_QUEUE_URL_VARIABLE, Relay, aws_config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    relay_shared::logging::init();
    let relay = Relay::from_env(Function::Deliver).await?;
    let dead_letter_url = std::env::var(DEAD_LETTER_QUEUE_URL_VARIABLE)
        .map_err(|_| format!("{DEAD_LETTER_QUEUE_URL_VARIABLE} is not set"))?;
    let sqs = aws_sdk_sqs::Client::new(&aws_config().await);
    let deliverer = deliver::Deliverer {
        relay,
        dead_letters: DeadLetters::new(sqs, dead_letter_url),
    };
    let deliverer = &deliverer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        deliver::handle(deliverer, event.payload)
    }))
    .await
}
