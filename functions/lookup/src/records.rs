//! What the lookup does with the records kintone returns: check each against the inputs again,
//! and reduce it to the declared outputs in a browser-friendly shape.

use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;

use relay_shared::config::{Lookup, MatchKind};
use relay_shared::form::{parse_date, parse_decimal};
use relay_shared::kintone::ReadRecord;
use relay_shared::query::FieldCode;

use crate::Typed;

/// The record id, for anomaly logs; kintone returns it when `$id` is among the fields.
pub fn id_of(record: &ReadRecord) -> String {
    record
        .get("$id")
        .and_then(|field| field.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned()
}

/// The outputs plus what the check needs, each once.
pub fn requested_fields(lookup: &Lookup) -> Vec<FieldCode> {
    let mut fields: Vec<FieldCode> = Vec::new();
    let checked = lookup.inputs().map(|field| &field.kintone);
    let expiry = lookup.expires.as_ref().map(|expiry| &expiry.field);
    for code in lookup.outputs.values().chain(checked).chain(expiry) {
        if !fields.contains(code) {
            fields.push(code.clone());
        }
    }
    fields.push(FieldCode::record_id());
    fields
}

fn text_of<'a>(record: &'a ReadRecord, code: &FieldCode) -> Option<&'a str> {
    record.get(code.as_str())?.get("value")?.as_str()
}

/// The same normalisation as the inputs, so that equal means equal on both sides.
fn normalise(text: &str) -> String {
    text.nfkc().collect::<String>().trim().to_owned()
}

/// Defence in depth: the record must match the key, every corroborating input and the expiry,
/// whatever kintone's query did.
pub fn check(
    lookup: &Lookup,
    typed: &Typed,
    record: &ReadRecord,
    now: time::OffsetDateTime,
) -> Result<(), &'static str> {
    for field in lookup.inputs() {
        let expected = typed.get(&field.input).ok_or("input missing")?;
        let actual = text_of(record, &field.kintone).ok_or("field missing from the record")?;
        let actual = normalise(actual);
        let equal = match field.kind {
            MatchKind::Number => parse_decimal(&actual)
                .zip(parse_decimal(expected))
                .is_some_and(|(a, b)| a == b),
            MatchKind::Text | MatchKind::Date | MatchKind::Choice => &actual == expected,
        };
        if !equal {
            return Err(if field.input == lookup.key.input {
                "key differs"
            } else {
                "corroborating field differs"
            });
        }
    }
    if let Some(expiry) = &lookup.expires {
        // An empty expiry does not satisfy kintone's `>=` either: treat it as expired.
        let value = text_of(record, &expiry.field).unwrap_or("");
        let current = if expiry.datetime {
            time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                .is_ok_and(|until| until > now)
        } else {
            parse_date(value).is_some_and(|until| until >= now.date())
        };
        if !current {
            return Err("expired");
        }
    }
    Ok(())
}

/// `{output name: value}` for the declared outputs only, values flattened from `{type, value}`.
pub fn outputs(lookup: &Lookup, record: &ReadRecord) -> Value {
    let mut out = Map::new();
    for (name, code) in &lookup.outputs {
        let value = record.get(code.as_str()).map_or(Value::Null, flatten);
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}

fn flatten(field: &Value) -> Value {
    let kind = field.get("type").and_then(Value::as_str).unwrap_or("");
    let value = field.get("value").cloned().unwrap_or(Value::Null);
    let name_of = |entity: &Value| entity.get("name").cloned().unwrap_or(Value::Null);
    match kind {
        "USER_SELECT" | "ORGANIZATION_SELECT" | "GROUP_SELECT" | "STATUS_ASSIGNEE" => Value::Array(
            value
                .as_array()
                .map_or_else(Vec::new, |list| list.iter().map(name_of).collect()),
        ),
        "CREATOR" | "MODIFIER" => name_of(&value),
        // The fileKey would let a holder of the token download the file: never pass it on.
        "FILE" => Value::Array(value.as_array().map_or_else(Vec::new, |files| {
            files
                .iter()
                .map(|file| {
                    json!({
                        "name": file.get("name").cloned().unwrap_or(Value::Null),
                        "size": file.get("size").cloned().unwrap_or(Value::Null),
                        "contentType": file.get("contentType").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect()
        })),
        "SUBTABLE" => Value::Array(value.as_array().map_or_else(Vec::new, |rows| {
            rows.iter()
                .map(|row| {
                    let cells = row.get("value").and_then(Value::as_object);
                    Value::Object(cells.map_or_else(Map::new, |cells| {
                        cells
                            .iter()
                            .map(|(code, cell)| (code.clone(), flatten(cell)))
                            .collect()
                    }))
                })
                .collect()
        })),
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::flatten;
    use serde_json::json;

    #[test]
    fn flattens_kintone_values() {
        assert_eq!(
            flatten(&json!({"type":"NUMBER","value":"1500"})),
            json!("1500")
        );
        assert_eq!(
            flatten(&json!({"type":"CHECK_BOX","value":["a","b"]})),
            json!(["a", "b"])
        );
        assert_eq!(
            flatten(&json!({"type":"USER_SELECT","value":[{"code":"sato","name":"佐藤"}]})),
            json!(["佐藤"])
        );
        assert_eq!(
            flatten(&json!({"type":"CREATOR","value":{"code":"a","name":"Administrator"}})),
            json!("Administrator")
        );
        assert_eq!(
            flatten(
                &json!({"type":"FILE","value":[{"contentType":"text/plain","fileKey":"201202061155587E","name":"a.txt","size":"12"}]})
            ),
            json!([{"name":"a.txt","size":"12","contentType":"text/plain"}])
        );
        assert_eq!(
            flatten(&json!({"type":"DROP_DOWN","value":null})),
            json!(null)
        );
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;
    use relay_shared::config::Config;

    fn deals() -> Lookup {
        let config = Config::parse(relay_shared::config::EMBEDDED_CONFIG, "relay.toml").unwrap();
        config.lookups["deals"].clone()
    }

    fn typed() -> Typed {
        [
            ("partner_id", "P-001"),
            ("partner_name", "山田商事"),
            ("deal_id", "D-1001"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
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
            Err("key differs")
        );
        assert_eq!(
            check(
                &lookup,
                &typed(),
                &record("p-001", "山田商事", "2099-01-01"),
                now()
            ),
            Err("key differs")
        );
        assert_eq!(
            check(
                &lookup,
                &typed(),
                &record("P-001", "山田", "2099-01-01"),
                now()
            ),
            Err("corroborating field differs")
        );
        assert_eq!(
            check(
                &lookup,
                &typed(),
                &record("P-001", "山田商事", "2026-11-23"),
                now()
            ),
            Err("expired")
        );
        assert_eq!(
            check(&lookup, &typed(), &record("P-001", "山田商事", ""), now()),
            Err("expired")
        );
        assert_eq!(id_of(&record("P-001", "x", "")), "7");
    }

    #[test]
    fn outputs_are_only_the_declared_ones() {
        let out = outputs(&deals(), &record("P-001", "山田商事", "2099-01-01"));
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["amount", "deal", "status", "subject"]);
        assert_eq!(out["deal"], "D-1001");
        assert_eq!(out["amount"], Value::Null);
    }
}
