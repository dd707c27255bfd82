//! A lookup's inputs, each required, normalised once for both the query and the re-check.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::{Lookup, MatchKind};
use crate::input::{
    FieldErrors, Inputs, Problem, TextRule, check_length, clean_text, parse_date, parse_decimal,
};

/// The normalised inputs of one lookup request, by input name; every declared input is here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchInputs(BTreeMap<String, String>);

impl MatchInputs {
    /// Every declared input is required: a non-empty string, trimmed and NFKC-normalised (so
    /// `P-００１` typed on a phone is `P-001`), within its length, without control characters.
    pub fn parse(lookup: &Lookup, inputs: &Inputs) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        for name in inputs.names() {
            if !lookup.inputs().any(|field| field.input == name) {
                errors.insert(name.to_owned(), Problem::UnknownField);
            }
        }
        let mut typed = BTreeMap::new();
        for field in lookup.inputs() {
            let parsed = match inputs.get(&field.input) {
                None | Some(Value::Null) => Err(Problem::Required),
                Some(value) => clean_text(value, TextRule::Normalised)
                    .and_then(|text| text.ok_or(Problem::Required))
                    .and_then(|text| check_length(&text, field.max_length).map(|()| text))
                    .and_then(|text| check_kind(field.kind, text)),
            };
            match parsed {
                Ok(text) => {
                    typed.insert(field.input.clone(), text);
                }
                Err(problem) => {
                    errors.insert(field.input.clone(), problem);
                }
            }
        }
        if errors.is_empty() {
            Ok(MatchInputs(typed))
        } else {
            Err(errors)
        }
    }

    /// The normalised value of a declared input.
    pub fn get(&self, input: &str) -> Option<&str> {
        self.0.get(input).map(String::as_str)
    }
}

/// A number or date field cannot equal text of another shape: refuse it as a format error,
/// which says nothing about which records exist.
fn check_kind(kind: MatchKind, text: String) -> Result<String, Problem> {
    match kind {
        MatchKind::Number if parse_decimal(&text).is_none() => Err(Problem::InvalidNumber),
        MatchKind::Date if parse_date(&text).is_none() => Err(Problem::InvalidDate),
        _ => Ok(text),
    }
}

#[cfg(test)]
impl MatchInputs {
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        MatchInputs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }
}
