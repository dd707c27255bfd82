//! One counter in DynamoDB: `pk` (the counter key), `attempts`, `window_end` and `expires_at`
//! (the table's TTL attribute), the last two in epoch seconds.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use hmac::Mac;

use crate::config::Allowance;
use crate::secrets::HashKey;

/// A counter's key: HMAC-SHA256 over what is counted, in hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterKey(String);

impl CounterKey {
    pub fn new(key: &HashKey, scope: [&str; 3], value: &str) -> Self {
        let mut mac = key.mac();
        for part in scope.iter().chain(std::iter::once(&value)) {
            // Length-prefixed, so ("ab","c") and ("a","bc") differ.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        let digest = mac.finalize().into_bytes();
        CounterKey(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An attempt counted, which can be given back.
#[derive(Debug, Clone)]
pub struct Reservation {
    key: CounterKey,
    window_end: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("DynamoDB: {0}")]
pub struct StoreError(String);

/// The attempt counters' table.
pub struct Limiter {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

impl Limiter {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Limiter {
            client,
            table: table.into(),
        }
    }

    /// Counts one attempt if the counter allows it; `Ok(Err(retry_after))` when it is at its
    /// limit for the rest of its window.
    pub async fn reserve(
        &self,
        key: &CounterKey,
        allowance: Allowance,
        now: SystemTime,
    ) -> Result<Result<Reservation, Duration>, StoreError> {
        let now = epoch_seconds(now);
        // Another request may open or fill the window between the two updates: try again.
        for _ in 0..3 {
            // Within an open window, one more while below the limit.
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(key.as_str().to_owned()))
                .update_expression("SET attempts = attempts + :one")
                .condition_expression(
                    "attribute_exists(pk) AND window_end > :now AND attempts < :limit",
                )
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":now", number(now))
                .expression_attribute_values(":limit", number(u64::from(allowance.attempts)))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
                .await;
            match counted {
                Ok(output) => {
                    let window_end = attribute_number(output.attributes(), "window_end");
                    return Ok(Ok(Reservation {
                        key: key.clone(),
                        window_end,
                    }));
                }
                Err(error) if is_condition_failure(&error) => {}
                Err(error) => return Err(store_error(error)),
            }
            // No window, or an expired one: open a new one with this attempt.
            let window_end = now + allowance.window.as_secs();
            let opened = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(key.as_str().to_owned()))
                .update_expression("SET attempts = :one, window_end = :end, expires_at = :end")
                .condition_expression("attribute_not_exists(pk) OR window_end <= :now")
                .expression_attribute_values(":one", number(1))
                .expression_attribute_values(":now", number(now))
                .expression_attribute_values(":end", number(window_end))
                .send()
                .await;
            match opened {
                Ok(_) => {
                    return Ok(Ok(Reservation {
                        key: key.clone(),
                        window_end,
                    }));
                }
                Err(error) if is_condition_failure(&error) => {}
                Err(error) => return Err(store_error(error)),
            }
            // The window is open: at its limit, unless another request just opened it.
            let current = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(key.as_str().to_owned()))
                .consistent_read(true)
                .send()
                .await
                .map_err(store_error)?;
            let item = current.item();
            let attempts = attribute_number(item, "attempts");
            let window_end = attribute_number(item, "window_end");
            if window_end > now && attempts >= u64::from(allowance.attempts) {
                return Ok(Err(Duration::from_secs(window_end - now)));
            }
        }
        // Contended three times: refuse rather than let one too many through.
        Ok(Err(Duration::from_secs(1)))
    }

    /// Gives one attempt back, within the window it was counted in.
    pub async fn release(&self, reservation: Reservation) -> Result<(), StoreError> {
        let released = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(reservation.key.as_str().to_owned()))
            .update_expression("SET attempts = attempts - :one")
            .condition_expression("window_end = :end AND attempts > :zero")
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":zero", number(0))
            .expression_attribute_values(":end", number(reservation.window_end))
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            // A newer window: the attempt was counted in one that is over.
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(store_error(error)),
        }
    }
}

fn attribute_number(item: Option<&HashMap<String, AttributeValue>>, name: &str) -> u64 {
    item.and_then(|item| item.get(name))
        .and_then(|value| value.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn is_condition_failure(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::update_item::UpdateItemError,
    >,
) -> bool {
    error
        .as_service_error()
        .is_some_and(|e| e.is_conditional_check_failed_exception())
}

fn store_error<E: std::error::Error + 'static>(
    error: aws_sdk_dynamodb::error::SdkError<E>,
) -> StoreError {
    StoreError(aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())
}
