//! Defence in depth: every record kintone returns must match the key, every corroborating
//! input and the expiry, whatever kintone's query did.

use super::MatchInputs;
use crate::config::{ExpiryKind, Lookup};
use crate::input::parse_date;
use crate::kintone::ReadRecord;
use crate::query::FieldCode;

/// Why a returned record is kept out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    InputMissing,
    FieldMissing,
    KeyDiffers,
    CorroboratingFieldDiffers,
    Expired,
}

impl Mismatch {
    pub fn as_str(self) -> &'static str {
        match self {
            Mismatch::InputMissing => "input missing",
            Mismatch::FieldMissing => "field missing from the record",
            Mismatch::KeyDiffers => "key differs",
            Mismatch::CorroboratingFieldDiffers => "corroborating field differs",
            Mismatch::Expired => "expired",
        }
    }
}

fn text_of<'a>(record: &'a ReadRecord, code: &FieldCode) -> Option<&'a str> {
    record.get(code.as_str())?.get("value")?.as_str()
}

/// Whether `record` matches every input of `typed` and is still current at `now`.
pub fn check(
    lookup: &Lookup,
    typed: &MatchInputs,
    record: &ReadRecord,
    now: time::OffsetDateTime,
) -> Result<(), Mismatch> {
    for field in lookup.inputs() {
        let expected = typed.get(&field.input).ok_or(Mismatch::InputMissing)?;
        let actual = text_of(record, &field.kintone).ok_or(Mismatch::FieldMissing)?;
        let equal = expected.matches(actual);
        if !equal {
            return Err(if field.input == lookup.key.input {
                Mismatch::KeyDiffers
            } else {
                Mismatch::CorroboratingFieldDiffers
            });
        }
    }
    if let Some(expiry) = &lookup.expires {
        // An empty expiry does not satisfy kintone's `>=` either: treat it as expired.
        let value = text_of(record, &expiry.field).unwrap_or("");
        let current = match expiry.kind {
            ExpiryKind::Datetime => {
                time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                    .is_ok_and(|until| until > now)
            }
            ExpiryKind::Date => parse_date(value).is_some_and(|until| until >= now.date()),
        };
        if !current {
            return Err(Mismatch::Expired);
        }
    }
    Ok(())
}

#[cfg(test)]
mod check_tests {
    use super::*;
    use crate::lookup::outputs;
    use serde_json::{Value, json};

    fn deals() -> Lookup {
        crate::fixtures::config().lookups["deals"].clone()
    }

    fn typed() -> MatchInputs {
        let body = r#"{"partner_id": "P-001", "partner_name": "山田商事", "deal_id": "D-1001"}"#;
        let inputs = crate::input::Inputs::parse(body.as_bytes()).unwrap();
        MatchInputs::parse(&deals(), &inputs).unwrap()
    }

    fn record(id: &str, name: &str, until: &str) -> ReadRecord {
        let value = json!({
            "$id": {"type": "__ID__", "value": "7"},
            "担当ID": {"type": "SINGLE_LINE_TEXT", "value": id},
            "担当名": {"type": "SINGLE_LINE_TEXT", "value": name},
            "取引ID": {"type": "SINGLE_LINE_TEXT", "value": "D-1001"},
            "公開期限": {"type": "DATE", "value": until},
        });
        value.as_object().cloned().unwrap()
    }

    fn now() -> time::OffsetDateTime {
        time::macros::datetime!(2026-11-24 12:00 +09:00)
    }

    #[test]
    fn only_records_that_match_every_input_and_are_current_pass() {
        let lookup = deals();
        assert_eq!(
            check(
                &lookup,
                &typed(),
                &record("P-001", "山田商事", "2026-11-24"),
                now()
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &lookup,
                &typed(),
                &record("P-002", "山田商事", "2099-01-01"),
                now()
            ),
            Err(Mismatch::KeyDiffers)
        );
        assert_eq!(
            check(
                &lookup,
                &typed(),
                &record("p-001", "山田商事", "2099-01-01"),
                now()
            ),
            Err(Mismatch::KeyDiffers)
        );
        assert_eq!(
            check(
                &lookup,
                &typed(),
                &record("P-001", "山田", "2099-01-01"),
                now()
            ),
            Err(Mismatch::CorroboratingFieldDiffers)
        );
        assert_eq!(
            check(
                &lookup,
                &typed(),
                &record("P-001", "山田商事", "2026-11-23"),
                now()
            ),
            Err(Mismatch::Expired)
        );
        assert_eq!(
            check(&lookup, &typed(), &record("P-001", "山田商事", ""), now()),
            Err(Mismatch::Expired)
        );
        assert_eq!(outputs::id_of(&record("P-001", "x", "")), "7");
    }

    #[test]
    fn outputs_are_only_the_declared_ones() {
        let out = outputs::of(&deals(), &record("P-001", "山田商事", "2099-01-01")).unwrap();
        let keys: Vec<&String> = out.keys().collect();
        assert_eq!(keys, ["amount", "deal", "status", "subject"]);
        assert_eq!(out["deal"], "D-1001");
        assert_eq!(out["amount"], Value::Null);
    }
}
