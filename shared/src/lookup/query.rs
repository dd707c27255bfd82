//! The kintone query of a lookup: the admin's filter, one exact condition per input (an `or`
//! of exact equalities where a text may be stored in either width), the expiry, the admin's
//! order, and a limit. Nothing else reaches it.

use super::inputs::{Expected, MatchInputs};
use crate::config::{ExpiryKind, Lookup, MatchKind};
use crate::input::{FieldErrors, Problem};
use crate::query::{KintoneQuery, Literal, QueryBuilder};

pub fn build(lookup: &Lookup, typed: &MatchInputs) -> Result<KintoneQuery, FieldErrors> {
    let mut builder = QueryBuilder::new();
    if let Some(filter) = &lookup.filter {
        builder = builder.trusted(filter);
    }
    for field in lookup.inputs() {
        // Inputs with control characters were refused already; this keeps it total.
        let refused = || FieldErrors::from([(field.input.clone(), Problem::ControlCharacters)]);
        let values: Vec<&str> = match typed.get(&field.input) {
            Some(Expected::OneOf(variants)) => variants.iter().map(String::as_str).collect(),
            Some(Expected::Number(_, text) | Expected::Normalised(text)) => vec![text.as_str()],
            // kintone's record numbers compare as numbers: the app code stays out of the query.
            Some(Expected::RecordNumber { digits, .. }) => vec![digits.as_str()],
            None => {
                return Err(FieldErrors::from([(
                    field.input.clone(),
                    Problem::Required,
                )]));
            }
        };
        let literals = values
            .into_iter()
            .map(Literal::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| refused())?;
        builder = match (field.kind, literals.split_first()) {
            (MatchKind::Choice, Some((literal, []))) => builder.is_one_of(&field.kintone, literal),
            (
                MatchKind::Text | MatchKind::Number | MatchKind::RecordNumber | MatchKind::Date,
                Some((first, others)),
            ) => builder.equals_any(&field.kintone, first, others),
            _ => return Err(refused()),
        };
    }
    if let Some(expiry) = &lookup.expires {
        builder = match expiry.kind {
            ExpiryKind::Datetime => builder.datetime_after_now(&expiry.field),
            ExpiryKind::Date => builder.date_not_before_today(&expiry.field),
        };
    }
    if let Some(order) = &lookup.order_by {
        builder = builder.order_by(order);
    }
    // One more than allowed, to notice (and log) a lookup that matches too much.
    Ok(builder.limit(lookup.max_records + 1).build())
}
