//! A lookup's inputs, each required, cleaned once into what both the query and the re-check
//! compare with.

use std::collections::BTreeMap;

use crate::config::{Lookup, MatchKind};
use crate::input::{
    Decimal, FieldErrors, Inputs, Problem, TextRule, check_length, clean_text, parse_date,
    width_variants,
};

/// What a stored value must be to match one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Text: exactly one of these, the value as typed first (see [`width_variants`]).
    OneOf(Vec<String>),
    /// A number: this decimal, exactly; the text is what the query sends.
    Number(Decimal, String),
    /// A date or an option, NFKC-normalised, exactly.
    Normalised(String),
    /// A record number: the number, and the app code when one was typed (`DEAL-14`).
    RecordNumber {
        app_code: Option<String>,
        number: Decimal,
        digits: String,
    },
}

/// `14` or `DEAL-14` (an app code, a hyphen, the number).
fn split_record_number(text: &str) -> Option<(Option<&str>, Decimal, &str)> {
    let (app_code, digits) = match text.rsplit_once('-') {
        Some((code, digits)) => (Some(code), digits),
        None => (None, text),
    };
    let code_ok = app_code.is_none_or(|code| {
        !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    let number_ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if !code_ok || !number_ok {
        return None;
    }
    Some((app_code, Decimal::parse(digits)?, digits))
}

impl Expected {
    /// One text for every way of typing the same value (widths, leading zeros): what an
    /// attempt limit counts.
    pub fn canonical(&self) -> String {
        match self {
            Expected::OneOf(variants) => variants
                .first()
                .map(|typed| crate::input::normalise(typed))
                .unwrap_or_default(),
            Expected::Number(number, _) => number.to_string(),
            Expected::Normalised(text) => text.clone(),
            Expected::RecordNumber { number, .. } => number.to_string(),
        }
    }

    /// Whether a value as kintone stores it matches.
    pub fn matches(&self, stored: &str) -> bool {
        match self {
            Expected::OneOf(variants) => variants.iter().any(|variant| variant == stored),
            Expected::Number(number, _) => {
                Decimal::parse(&crate::input::normalise(stored)).as_ref() == Some(number)
            }
            Expected::Normalised(text) => crate::input::normalise(stored) == *text,
            Expected::RecordNumber {
                app_code, number, ..
            } => split_record_number(stored).is_some_and(|(stored_code, stored_number, _)| {
                stored_number == *number
                    && app_code
                        .as_deref()
                        .is_none_or(|code| Some(code) == stored_code)
            }),
        }
    }
}

/// The cleaned inputs of one lookup request, by input name; every declared input is here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchInputs(BTreeMap<String, Expected>);

impl MatchInputs {
    /// Every declared input is required: a non-empty string, trimmed, within its length,
    /// without control or invisible characters. Text keeps the characters typed (kintone's `=`
    /// tells widths apart, so the query asks for each width; see [`width_variants`]); numbers,
    /// dates and options are NFKC-normalised (so `１５００` typed on a phone is `1500`).
    pub fn parse(lookup: &Lookup, inputs: &Inputs) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        for name in inputs.names() {
            if !lookup.inputs().any(|field| field.input == name) {
                errors.insert(name.to_owned(), Problem::UnknownField);
            }
        }
        let mut expected = BTreeMap::new();
        for field in lookup.inputs() {
            let rule = match field.kind {
                MatchKind::Text => TextRule::AsTyped,
                MatchKind::Number
                | MatchKind::RecordNumber
                | MatchKind::Date
                | MatchKind::Choice => TextRule::Normalised,
            };
            let parsed = match inputs.get(&field.input) {
                None => Err(Problem::Required),
                Some(member) if member.is_null() => Err(Problem::Required),
                Some(member) => member
                    .as_json()
                    .ok_or(Problem::NotAString)
                    .and_then(|value| clean_text(value, rule))
                    .and_then(|text| text.ok_or(Problem::Required))
                    .and_then(|text| check_length(&text, field.max_length).map(|()| text))
                    .and_then(|text| expect(field.kind, text)),
            };
            match parsed {
                Ok(value) => {
                    expected.insert(field.input.clone(), value);
                }
                Err(problem) => {
                    errors.insert(field.input.clone(), problem);
                }
            }
        }
        if errors.is_empty() {
            Ok(MatchInputs(expected))
        } else {
            Err(errors)
        }
    }

    /// What a declared input expects.
    pub fn get(&self, input: &str) -> Option<&Expected> {
        self.0.get(input)
    }
}

/// A number or date field cannot equal text of another shape: refuse it as a format error,
/// which says nothing about which records exist.
fn expect(kind: MatchKind, text: String) -> Result<Expected, Problem> {
    match kind {
        MatchKind::Text => Ok(Expected::OneOf(width_variants(&text))),
        MatchKind::Number => match Decimal::parse(&text) {
            Some(number) => Ok(Expected::Number(number, text)),
            None => Err(Problem::InvalidNumber),
        },
        MatchKind::RecordNumber => match split_record_number(&text) {
            Some((app_code, number, digits)) => Ok(Expected::RecordNumber {
                app_code: app_code.map(str::to_owned),
                digits: digits.to_owned(),
                number,
            }),
            None => Err(Problem::InvalidNumber),
        },
        MatchKind::Date if parse_date(&text).is_none() => Err(Problem::InvalidDate),
        MatchKind::Date | MatchKind::Choice => Ok(Expected::Normalised(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_numbers_match_with_or_without_the_app_code() {
        let expected = expect(MatchKind::RecordNumber, "DEAL-14".into()).unwrap();
        assert!(expected.matches("DEAL-14"));
        assert!(!expected.matches("OTHER-14"));
        assert!(!expected.matches("DEAL-140"));
        let bare = expect(MatchKind::RecordNumber, "14".into()).unwrap();
        assert!(bare.matches("14") && bare.matches("DEAL-14"));
        assert_eq!(
            expect(MatchKind::RecordNumber, "DEAL-".into()),
            Err(Problem::InvalidNumber)
        );
        assert_eq!(
            expect(MatchKind::RecordNumber, "-14".into()),
            Err(Problem::InvalidNumber)
        );
    }
}
