//! Structured logs. What the relay logs: form and field names, outcomes, timings, kintone error
//! codes and record ids. What it never logs: tokens and the values people typed (personal data).

/// JSON logs when the function runs with `LoggingConfig: LogFormat: JSON` (the SAM template),
/// level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`. The runtime's subscriber, so every function
/// (HTTP or not) logs the same way.
pub fn init() {
    lambda_runtime::tracing::init_default_subscriber();
}
