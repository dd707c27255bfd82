//! Structured logs. What the relay logs: form and field names, outcomes, timings, kintone error
//! codes and record ids. What it never logs: tokens and the values people typed (personal data).

/// JSON logs when the function runs with `LoggingConfig: LogFormat: JSON` (the SAM template),
/// level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}
