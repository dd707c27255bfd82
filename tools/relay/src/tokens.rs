//! The API tokens `relay check` and `relay init` read kintone with, from one environment
//! variable (never a flag, which would land in shell history and `ps`): `APP=TOKEN,APP=TOKEN`
//! for one token per app, or a single token used for every app.

use std::collections::BTreeMap;
use std::fmt;

/// The variable read when `--token-env` is not given.
pub const DEFAULT_TOKEN_ENV: &str = "RELAY_CHECK_TOKENS";

#[derive(Clone)]
pub enum Tokens {
    /// One token for every app (a check of a single app, or a domain where one token is enough).
    One(String),
    PerApp(BTreeMap<u64, String>),
}

/// Never prints a token, only which apps have one.
impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tokens::One(_) => f.write_str("Tokens::One(***)"),
            Tokens::PerApp(map) => {
                let apps: Vec<&u64> = map.keys().collect();
                write!(f, "Tokens::PerApp(apps {apps:?})")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokensError {
    #[error(
        "{variable} is not set: put the app tokens in it as APP=TOKEN,APP=TOKEN (or one token), or pass --offline"
    )]
    Unset { variable: String },
    #[error(
        "{variable} must be APP=TOKEN,APP=TOKEN (app ids are numbers) or a single token; entry {entry} is not"
    )]
    Malformed { variable: String, entry: usize },
}

impl Tokens {
    /// Parses the variable's value; `variable` names it in errors (the value never appears).
    pub fn parse(variable: &str, value: Option<&str>) -> Result<Self, TokensError> {
        let value = value.map(str::trim).filter(|v| !v.is_empty());
        let Some(value) = value else {
            return Err(TokensError::Unset {
                variable: variable.to_owned(),
            });
        };
        if !value.contains('=') {
            return Ok(Tokens::One(value.to_owned()));
        }
        let malformed = |entry: usize| TokensError::Malformed {
            variable: variable.to_owned(),
            entry,
        };
        let mut per_app = BTreeMap::new();
        for (i, entry) in value.split(',').enumerate() {
            let (app, token) = entry.split_once('=').ok_or_else(|| malformed(i + 1))?;
            let app: u64 = app.trim().parse().map_err(|_| malformed(i + 1))?;
            let token = token.trim();
            if token.is_empty() || app == 0 {
                return Err(malformed(i + 1));
            }
            per_app.insert(app, token.to_owned());
        }
        Ok(Tokens::PerApp(per_app))
    }

    pub fn for_app(&self, app: u64) -> Option<&str> {
        match self {
            Tokens::One(token) => Some(token),
            Tokens::PerApp(map) => map.get(&app).map(String::as_str),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_token_or_one_per_app() {
        let one = Tokens::parse("V", Some(" abc ")).unwrap();
        assert_eq!(one.for_app(12), Some("abc"));
        let many = Tokens::parse("V", Some("12=aaa, 34 = bbb")).unwrap();
        assert_eq!(many.for_app(12), Some("aaa"));
        assert_eq!(many.for_app(34), Some("bbb"));
        assert_eq!(many.for_app(56), None);
        assert!(!format!("{many:?}").contains("aaa"));
        assert!(!format!("{one:?}").contains("abc"));
    }

    #[test]
    fn errors_name_the_variable_never_the_value() {
        let unset = Tokens::parse("RELAY_CHECK_TOKENS", None).unwrap_err();
        assert!(
            unset
                .to_string()
                .starts_with("RELAY_CHECK_TOKENS is not set")
        );
        for bad in ["12=", "x=abc", "12=abc,secretToken", "0=abc"] {
            let err = Tokens::parse("V", Some(bad)).unwrap_err().to_string();
            assert!(err.starts_with("V must be"), "{bad}: {err}");
            assert!(
                !err.contains("abc") && !err.contains("secretToken"),
                "{err}"
            );
        }
    }
}
