//! The offline part of `relay check`: relay.toml through the functions' own parser (so
//! everything start-up refuses is refused here, with the same message), and what each
//! function serves and reads, the list the functions warm and template.yaml must grant.

use std::path::Path;

use relay_shared::config::{Config, ConfigError, Function};
use serde_json::{Value, json};

/// Reads relay.toml as the functions would, with `KINTONE_BASE_URL` applied as they apply it.
pub fn load(path: &Path, base_url_override: Option<&str>) -> Result<Config, ConfigError> {
    let mut config = Config::from_file(path)?;
    if let Some(url) = base_url_override {
        config.set_base_url(url, "KINTONE_BASE_URL")?;
    }
    Ok(config)
}

/// What one function serves and which secrets it reads.
pub struct Served {
    pub function: &'static str,
    /// The forms or lookups it serves, by name.
    pub names: Vec<String>,
    /// `/forms` or `/lookups`.
    pub prefix: &'static str,
    pub secrets: Vec<String>,
}

pub fn served(config: &Config) -> Vec<Served> {
    Function::ALL
        .into_iter()
        .map(|function| {
            // Only the lookup function serves /lookups; compared rather than matched, so that
            // a new function needs no change here.
            let prefix = if function == Function::Lookup {
                "/lookups"
            } else {
                "/forms"
            };
            Served {
                function: function.binary(),
                names: config
                    .served_by(function)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                prefix,
                secrets: config
                    .secrets_read_by(function)
                    .into_iter()
                    .map(|secret| secret.as_str().to_owned())
                    .collect(),
            }
        })
        .collect()
}

/// `  submit: serves /forms/seminar ; reads kintone-relay/seminar-add`, one line per function.
pub fn served_text(served: &[Served]) -> String {
    served
        .iter()
        .map(|s| {
            let routes: Vec<String> = s
                .names
                .iter()
                .map(|name| format!("{}/{name}", s.prefix))
                .collect();
            format!(
                "  {}: serves {} ; reads {}\n",
                s.function,
                list_or(&routes, "nothing"),
                list_or(&s.secrets, "no secret")
            )
        })
        .collect()
}

/// `{"submit": {"serves": [...], "reads": [...]}, ...}`, the list tests/deploy checks the grants against.
pub fn served_json(served: &[Served]) -> Value {
    let functions: serde_json::Map<String, Value> = served
        .iter()
        .map(|s| {
            (
                s.function.to_owned(),
                json!({ "serves": s.names, "reads": s.secrets }),
            )
        })
        .collect();
    Value::Object(functions)
}

fn list_or(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_owned()
    } else {
        items.join(", ")
    }
}
