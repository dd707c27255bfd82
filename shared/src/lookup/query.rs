//! The kintone query of a lookup: the admin's filter, one exact condition per input, the
//! expiry, the admin's order, and a limit. Nothing else reaches it.

use super::MatchInputs;
use crate::config::{ExpiryKind, Lookup, MatchKind};
use crate::input::{FieldErrors, Problem};
use crate::query::{KintoneQuery, Literal, QueryBuilder};

pub fn build(lookup: &Lookup, typed: &MatchInputs) -> Result<KintoneQuery, FieldErrors> {
    let mut builder = QueryBuilder::new();
    if let Some(filter) = &lookup.filter {
        builder = builder.trusted(filter);
    }
    for field in lookup.inputs() {
        let value = typed.get(&field.input).unwrap_or_default();
        // Inputs with control characters were refused already; this keeps it total.
        let literal = Literal::new(value)
            .map_err(|_| FieldErrors::from([(field.input.clone(), Problem::ControlCharacters)]))?;
        builder = match field.kind {
            MatchKind::Choice => builder.is_one_of(&field.kintone, &literal),
            MatchKind::Text | MatchKind::Number | MatchKind::Date => {
                builder.equals(&field.kintone, &literal)
            }
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
