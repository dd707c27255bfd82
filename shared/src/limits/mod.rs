//! Attempt limits that every instance shares: counters in one DynamoDB table
//! (`RELAY_LIMITS_TABLE`), each a window that opens at its first attempt and lets exactly the
//! allowed number through. An attempt is reserved before kintone is called, with one conditional
//! `UpdateItem` (never read-then-write), so any number of instances together cannot exceed it;
//! a lookup that finds its record gives its reservation back.
//!
//! Counter keys are an HMAC-SHA256 of what is counted, keyed by `[limits] key_secret`: the table
//! holds no ID, name or address in clear text, and every item expires (a TTL attribute).

mod counter;

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

pub use counter::{CounterKey, Limiter, Reservation};

use crate::config::Allowance;
use crate::relay::Relay;

/// Why an attempt was not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A counter is at its limit until `retry_after` has passed.
    TooMany { retry_after: Duration },
    /// The store (or the key's secret) cannot be reached.
    StoreUnavailable,
}

/// One thing to count: what it is (`lookup`, the lookup's name, `ip`) and its value.
pub struct Counted<'a> {
    pub scope: [&'a str; 3],
    pub value: &'a str,
    pub allowance: Allowance,
}

/// Reserves one attempt on every counter, or none: when one is at its limit, the ones already
/// reserved are given back. Without `[limits]`, everything is allowed and nothing is counted.
pub async fn reserve(relay: &Relay, counted: &[Counted<'_>]) -> Result<Vec<Reservation>, Refusal> {
    let (Some(limiter), Some(settings)) = (&relay.limits, &relay.config.limits) else {
        return Ok(Vec::new());
    };
    let counted: Vec<&Counted<'_>> = counted.iter().filter(|c| !c.allowance.is_off()).collect();
    if counted.is_empty() {
        return Ok(Vec::new());
    }
    let key = relay
        .secrets
        .hash_key(&settings.key_secret)
        .await
        .map_err(|error| {
            tracing::error!(%error, "no key for the attempt counters");
            Refusal::StoreUnavailable
        })?;
    let now = SystemTime::now();
    let mut reserved = Vec::new();
    for item in counted {
        let counter = CounterKey::new(&key, item.scope, item.value);
        match limiter.reserve(&counter, item.allowance, now).await {
            Ok(Ok(reservation)) => reserved.push(reservation),
            Ok(Err(retry_after)) => {
                give_back(limiter, reserved).await;
                return Err(Refusal::TooMany { retry_after });
            }
            Err(error) => {
                tracing::error!(%error, "the attempt counters cannot be reached");
                give_back(limiter, reserved).await;
                return Err(Refusal::StoreUnavailable);
            }
        }
    }
    Ok(reserved)
}

/// Gives reservations back (a lookup that found its record, a call kintone could not answer).
pub async fn release(relay: &Relay, reservations: Vec<Reservation>) {
    if let Some(limiter) = &relay.limits {
        give_back(limiter, reservations).await;
    }
}

async fn give_back(limiter: &Limiter, reservations: Vec<Reservation>) {
    for reservation in reservations {
        if let Err(error) = limiter.release(reservation).await {
            // The attempt stays counted: stricter, never looser.
            tracing::warn!(%error, "cannot give an attempt back");
        }
    }
}

/// The source address as text for a counter; requests without one share one counter.
pub fn address_text(source: Option<IpAddr>) -> String {
    source.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}
