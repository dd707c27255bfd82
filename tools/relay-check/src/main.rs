//! `cargo run -p relay-check [PATH]`: checks a relay.toml exactly as the functions will at
//! start-up (the same parser, by default the same file they embed at build time) and prints what
//! each function serves and which secrets it reads, so a bad config fails the deploy instead of
//! every cold start. `scripts/deploy` and `scripts/check-deploy` run it before building.

use std::path::Path;
use std::process::ExitCode;

use relay_shared::config::{Config, EMBEDDED_CONFIG, EMBEDDED_CONFIG_NAME};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [] => Config::parse(EMBEDDED_CONFIG, EMBEDDED_CONFIG_NAME),
        [path] if !path.starts_with('-') => Config::from_file(Path::new(path)),
        _ => {
            eprintln!("usage: relay-check [PATH]   (default: the relay.toml the functions embed)");
            return ExitCode::from(2);
        }
    };
    let config = match parsed {
        Ok(config) => config,
        Err(err) => {
            eprintln!("relay-check: {err}");
            return ExitCode::FAILURE;
        }
    };
    let basic_auth = config.kintone.basic_auth_secret.as_deref();
    let forms: Vec<(&str, &str)> = config
        .forms
        .values()
        .map(|f| (f.name.as_str(), f.token_secret.as_str()))
        .collect();
    let lookups: Vec<(&str, &str)> = config
        .lookups
        .values()
        .map(|l| (l.name.as_str(), l.token_secret.as_str()))
        .collect();
    println!(
        "relay.toml is valid; kintone at {}",
        config.kintone.base_url
    );
    for (function, route, entries) in [
        ("submit", "/forms", &forms),
        ("lookup", "/lookups", &lookups),
    ] {
        let mut secrets: Vec<&str> = entries.iter().map(|(_, secret)| *secret).collect();
        secrets.extend(basic_auth);
        secrets.sort_unstable();
        secrets.dedup();
        let routes: Vec<String> = entries
            .iter()
            .map(|(name, _)| format!("{route}/{name}"))
            .collect();
        println!(
            "  {function}: serves {} ; reads {}",
            list_or(&routes, "nothing"),
            list_or(&secrets, "no secret"),
        );
    }
    ExitCode::SUCCESS
}

fn list_or<T: AsRef<str>>(items: &[T], empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    items.join(", ")
}
