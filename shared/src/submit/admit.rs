//! Whether a form takes another submission from this address: `[forms.<name>.limits]`,
//! counted in the shared store (see [`crate::limits`]). If the store cannot be reached, the
//! submission goes through (losing an applicant is worse than a few spam records) and the
//! error is logged.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::Form;
use crate::limits;
use crate::relay::Relay;

/// Too many submissions from one address; try again after `retry_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooManySubmissions {
    pub retry_after: Duration,
}

pub async fn admit(
    relay: &Relay,
    form: &Form,
    source: Option<IpAddr>,
) -> Result<(), TooManySubmissions> {
    let address = limits::address_text(source);
    let counted = [limits::Counted {
        scope: ["form", &form.name, "ip"],
        value: &address,
        allowance: form.submissions_per_ip,
    }];
    match limits::reserve(relay, &counted).await {
        Ok(_) => Ok(()),
        Err(limits::Refusal::TooMany { retry_after }) => {
            tracing::warn!(form = form.name, "too many submissions from one address");
            Err(TooManySubmissions { retry_after })
        }
        Err(limits::Refusal::StoreUnavailable) => {
            tracing::error!(
                form = form.name,
                "submission limit not checked: the store cannot be reached"
            );
            Ok(())
        }
    }
}
