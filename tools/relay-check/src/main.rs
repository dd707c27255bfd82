//! `cargo run -p relay-check [--format text|json] [PATH]`: checks a relay.toml exactly as the
//! functions will at start-up (the same parser, by default the same file they embed at build
//! time) and prints what each function serves and which secrets it reads, so a bad config fails
//! the deploy instead of every cold start. `scripts/deploy` and `scripts/check-deploy` run it
//! before building; the template test (tests/deploy) reads its JSON to check the grants.

use std::path::Path;
use std::process::ExitCode;

use relay_shared::config::{Config, EMBEDDED_CONFIG, EMBEDDED_CONFIG_NAME, Function};
use serde_json::json;

const USAGE: &str = "usage: relay-check [--format text|json] [PATH]   (default: the relay.toml the functions embed)";

enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let mut format = Format::Text;
    let mut path: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--format" => match args.next().as_deref() {
                Some("text") => format = Format::Text,
                Some("json") => format = Format::Json,
                _ => return usage(),
            },
            _ if arg.starts_with('-') || path.is_some() => return usage(),
            _ => path = Some(arg),
        }
    }
    let parsed = match &path {
        None => Config::parse(EMBEDDED_CONFIG, EMBEDDED_CONFIG_NAME),
        Some(path) => Config::from_file(Path::new(path)),
    };
    let config = match parsed {
        Ok(config) => config,
        Err(err) => {
            eprintln!("relay-check: {err}");
            return ExitCode::FAILURE;
        }
    };
    match format {
        Format::Text => print_text(&config),
        Format::Json => print_json(&config),
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn route(function: Function) -> &'static str {
    match function {
        Function::Submit => "/forms",
        Function::Lookup => "/lookups",
        Function::Deliver => "the queue of",
    }
}

fn print_text(config: &Config) {
    println!(
        "relay.toml is valid; kintone at {}",
        config.kintone.base_url
    );
    for function in Function::ALL {
        let routes: Vec<String> = config
            .served_by(function)
            .into_iter()
            .map(|name| match function {
                Function::Deliver => format!("{} /forms/{name}", route(function)),
                _ => format!("{}/{name}", route(function)),
            })
            .collect();
        let secrets: Vec<&str> = config
            .secrets_read_by(function)
            .into_iter()
            .map(|secret| secret.as_str())
            .collect();
        println!(
            "  {}: serves {} ; reads {}",
            function.binary(),
            list_or(&routes, "nothing"),
            list_or(&secrets, "no secret"),
        );
    }
}

/// `{"functions": {"submit": {"serves": [...], "reads": [...]}, ...}, "basic_auth_secret": ...}`
fn print_json(config: &Config) {
    let functions: serde_json::Map<String, serde_json::Value> = Function::ALL
        .into_iter()
        .map(|function| {
            let secrets: Vec<&str> = config
                .secrets_read_by(function)
                .into_iter()
                .map(|secret| secret.as_str())
                .collect();
            let served = json!({ "serves": config.served_by(function), "reads": secrets });
            (function.binary().to_owned(), served)
        })
        .collect();
    let basic_auth = config
        .kintone
        .basic_auth_secret
        .as_ref()
        .map(|s| s.as_str());
    println!(
        "{}",
        json!({ "functions": functions, "basic_auth_secret": basic_auth })
    );
}

fn list_or<T: AsRef<str>>(items: &[T], empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    items.join(", ")
}
