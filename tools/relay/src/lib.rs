//! `relay`, the operator's command for relay.toml:
//!
//! - `relay check` parses relay.toml with the functions' own parser, lists what each function
//!   serves and reads, and (unless `--offline`) compares every form and lookup with the field
//!   settings of its kintone app: unknown field codes, types, options, lengths, required
//!   fields, receipt and idempotency fields, lookup matches, outputs, expiry, filter and order,
//!   and the token's view permission where kintone can tell.
//! - `relay init form|lookup NAME --app ID` prints a relay.toml section built from an app.
//!
//! [`run`] does everything and returns what to print, so tests call it with their own
//! arguments and environment; `main.rs` only prints.

pub mod check;
pub mod cli;
pub mod findings;
pub mod init;
pub mod kintone_fields;
pub mod tokens;

use std::collections::BTreeMap;

use cli::Command;
use kintone_fields::{BasicAuth, FetchError};

/// The environment variables the CLI reads (`KINTONE_BASE_URL`, the token variable,
/// `RELAY_CHECK_BASIC_AUTH`), passed in so tests need not touch the process environment.
#[derive(Debug, Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub fn from_process() -> Self {
        Env(std::env::vars().collect())
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env(pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// What a run prints and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: u8,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    fn usage(message: &str) -> Self {
        Outcome {
            status: findings::ExitStatus::Incomplete.code(),
            stdout: String::new(),
            stderr: format!("relay: {message}\n{}\n", cli::USAGE),
        }
    }
}

/// Runs `relay` with `args` (without the program name).
pub async fn run(args: &[String], env: &Env) -> Outcome {
    match cli::parse(args) {
        Ok(Command::Check(args)) => check::run(&args, env).await,
        Ok(Command::Init(args)) => init::run(&args, env).await,
        Ok(Command::Help) => Outcome {
            status: 0,
            stdout: format!("{}\n", cli::USAGE),
            stderr: String::new(),
        },
        Err(err) => Outcome::usage(&err.to_string()),
    }
}

/// `RELAY_CHECK_BASIC_AUTH=user:password`, for a domain with Basic authentication: the
/// functions read theirs from Secrets Manager, which the CLI never reads.
fn basic_auth(env: &Env) -> Option<BasicAuth> {
    let (username, password) = env.get("RELAY_CHECK_BASIC_AUTH")?.split_once(':')?;
    Some(BasicAuth {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

/// Why an app could not be read, with what to do about it.
fn connection_problem(err: &FetchError, app: u64, token_env: &str) -> String {
    let hint = match err.code() {
        Some("GAIA_IA02") => format!(
            "kintone does not know the token given for app {app} in {token_env} (a typo, another domain's token, or a new token before Update App)"
        ),
        Some("GAIA_NO01") => format!(
            "the token given for app {app} in {token_env} has neither View records nor Add records, one of which reading the app's fields needs"
        ),
        Some("GAIA_AP15") => {
            format!("the token given for app {app} in {token_env} is another app's token")
        }
        Some("GAIA_DA03") => format!("{token_env} gives app {app} two tokens"),
        Some("CB_AU01" | "CB_WA01") => "kintone refused the login: if the domain uses Basic authentication, set RELAY_CHECK_BASIC_AUTH=user:password".to_owned(),
        _ => return err.to_string(),
    };
    format!("{hint} ({err})")
}
