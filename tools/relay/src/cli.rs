//! The command line: `relay check ...` and `relay init form|lookup NAME --app ID`.

use std::path::PathBuf;

use crate::tokens::DEFAULT_TOKEN_ENV;

pub const USAGE: &str = "\
usage:
  relay check [--config relay.toml] [--offline] [--format text|json] [--token-env NAME]
  relay init form NAME --app ID [--config relay.toml] [--token-env NAME]
  relay init lookup NAME --app ID [--config relay.toml] [--token-env NAME]

relay check parses relay.toml exactly as the functions do and lists what each function serves
and reads; unless --offline, it also reads each app's fields from kintone and reports every
mismatch. Exit status: 0 nothing wrong, 1 errors, 2 could not check.
relay init prints a relay.toml section built from the app's fields, to trim and add.

Tokens come from the environment variable NAME (default RELAY_CHECK_TOKENS): APP=TOKEN,APP=TOKEN
or one token. Reading an app's fields needs a token with View records or Add records, so the
functions' own add-only and view-only tokens do. KINTONE_BASE_URL overrides [kintone] base_url;
RELAY_CHECK_BASIC_AUTH=user:password for a domain with Basic authentication.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckArgs {
    pub config: PathBuf,
    pub offline: bool,
    pub format: Format,
    pub token_env: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitKind {
    Form,
    Lookup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitArgs {
    pub kind: InitKind,
    pub name: String,
    pub app: u64,
    pub config: PathBuf,
    pub token_env: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Check(CheckArgs),
    Init(InitArgs),
    Help,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("no command: say check or init")]
    NoCommand,
    #[error("unknown command \"{0}\"")]
    UnknownCommand(String),
    #[error("unknown argument \"{0}\"")]
    UnknownArgument(String),
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("--format is text or json, not \"{0}\"")]
    BadFormat(String),
    #[error("init makes a form or a lookup: relay init form NAME --app ID")]
    InitKind,
    #[error("\"{0}\" cannot be a name: use letters, digits, '_' and '-' (it is part of the URL)")]
    BadName(String),
    #[error("--app is a kintone app id (1 or more), not \"{0}\"")]
    BadApp(String),
    #[error("init needs --app ID")]
    NoApp,
}

pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let mut args = args.iter();
    match args.next().map(String::as_str) {
        None => Err(UsageError::NoCommand),
        Some("-h" | "--help" | "help") => Ok(Command::Help),
        Some("check") => parse_check(args),
        Some("init") => parse_init(args),
        Some(other) => Err(UsageError::UnknownCommand(other.to_owned())),
    }
}

/// The options `check` and `init` share.
struct Common {
    config: PathBuf,
    token_env: String,
}

impl Common {
    fn new() -> Self {
        Common {
            config: PathBuf::from("relay.toml"),
            token_env: DEFAULT_TOKEN_ENV.to_owned(),
        }
    }

    /// Takes `arg` (and its value) if it is a shared option.
    fn take<'a>(
        &mut self,
        arg: &str,
        rest: &mut impl Iterator<Item = &'a String>,
    ) -> Result<bool, UsageError> {
        match arg {
            "--config" => self.config = PathBuf::from(value(rest, "--config")?),
            "--token-env" => self.token_env = value(rest, "--token-env")?.to_owned(),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

fn value<'a>(
    rest: &mut impl Iterator<Item = &'a String>,
    flag: &'static str,
) -> Result<&'a str, UsageError> {
    rest.next()
        .map(String::as_str)
        .filter(|v| !v.starts_with("--"))
        .ok_or(UsageError::MissingValue(flag))
}

fn parse_check<'a>(mut args: impl Iterator<Item = &'a String>) -> Result<Command, UsageError> {
    let mut common = Common::new();
    let mut offline = false;
    let mut format = Format::Text;
    while let Some(arg) = args.next() {
        if common.take(arg, &mut args)? {
            continue;
        }
        match arg.as_str() {
            "--offline" => offline = true,
            "--format" => {
                format = match value(&mut args, "--format")? {
                    "text" => Format::Text,
                    "json" => Format::Json,
                    other => return Err(UsageError::BadFormat(other.to_owned())),
                }
            }
            other => return Err(UsageError::UnknownArgument(other.to_owned())),
        }
    }
    Ok(Command::Check(CheckArgs {
        config: common.config,
        offline,
        format,
        token_env: common.token_env,
    }))
}

fn parse_init<'a>(mut args: impl Iterator<Item = &'a String>) -> Result<Command, UsageError> {
    let kind = match args.next().map(String::as_str) {
        Some("form") => InitKind::Form,
        Some("lookup") => InitKind::Lookup,
        _ => return Err(UsageError::InitKind),
    };
    let name = args.next().ok_or(UsageError::InitKind)?;
    if !is_plain_name(name) {
        return Err(UsageError::BadName(name.clone()));
    }
    let mut common = Common::new();
    let mut app = None;
    while let Some(arg) = args.next() {
        if common.take(arg, &mut args)? {
            continue;
        }
        match arg.as_str() {
            "--app" => {
                let text = value(&mut args, "--app")?;
                let id: u64 = text
                    .parse()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| UsageError::BadApp(text.to_owned()))?;
                app = Some(id);
            }
            other => return Err(UsageError::UnknownArgument(other.to_owned())),
        }
    }
    Ok(Command::Init(InitArgs {
        kind,
        name: name.clone(),
        app: app.ok_or(UsageError::NoApp)?,
        config: common.config,
        token_env: common.token_env,
    }))
}

/// The rule relay.toml applies to form and lookup names (they are part of the URL).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn check_defaults_and_options() {
        assert_eq!(
            parse(&args("check")),
            Ok(Command::Check(CheckArgs {
                config: "relay.toml".into(),
                offline: false,
                format: Format::Text,
                token_env: "RELAY_CHECK_TOKENS".into(),
            }))
        );
        assert_eq!(
            parse(&args(
                "check --offline --format json --config x.toml --token-env T"
            )),
            Ok(Command::Check(CheckArgs {
                config: "x.toml".into(),
                offline: true,
                format: Format::Json,
                token_env: "T".into(),
            }))
        );
        assert_eq!(
            parse(&args("check --format yaml")),
            Err(UsageError::BadFormat("yaml".into()))
        );
        assert_eq!(
            parse(&args("check --config")),
            Err(UsageError::MissingValue("--config"))
        );
        assert_eq!(
            parse(&args("check --token abc")),
            Err(UsageError::UnknownArgument("--token".into()))
        );
    }

    #[test]
    fn init_needs_a_kind_a_plain_name_and_an_app() {
        assert_eq!(
            parse(&args("init lookup deals2 --app 34")),
            Ok(Command::Init(InitArgs {
                kind: InitKind::Lookup,
                name: "deals2".into(),
                app: 34,
                config: "relay.toml".into(),
                token_env: "RELAY_CHECK_TOKENS".into(),
            }))
        );
        assert_eq!(
            parse(&args("init table x --app 1")),
            Err(UsageError::InitKind)
        );
        assert_eq!(
            parse(&args("init form 申込 --app 1")),
            Err(UsageError::BadName("申込".into()))
        );
        assert_eq!(
            parse(&args("init form f --app 0")),
            Err(UsageError::BadApp("0".into()))
        );
        assert_eq!(parse(&args("init form f")), Err(UsageError::NoApp));
        assert_eq!(parse(&args("--help")), Ok(Command::Help));
        assert_eq!(parse(&[]), Err(UsageError::NoCommand));
    }
}
