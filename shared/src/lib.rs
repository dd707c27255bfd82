//! The relay's core, a library of domain ideas that knows no handler and no HTTP type, and the
//! HTTP edge over it ([`http`]), which is the only module that speaks HTTP.

// The core.
pub mod captcha;
pub mod config;
pub mod files;
pub mod input;
pub mod kintone;
pub mod limits;
pub mod logging;
pub mod lookup;
pub mod query;
pub mod queue;
pub mod relay;
pub mod secrets;
pub mod submit;

// The edge.
pub mod http;

#[cfg(test)]
mod fixtures;
