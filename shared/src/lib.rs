//! The core both relay functions share: configuration, input validation, the kintone client,
//! token secrets, HTTP responses and logging.

pub mod config;
pub mod form;
pub mod http;
pub mod kintone;
pub mod lang;
pub mod logging;
pub mod query;
pub mod relay;
pub mod secrets;
pub mod submission;
