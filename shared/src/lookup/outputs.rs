//! What a browser sees of a matching record: only the declared outputs, flattened from
//! kintone's `{type, value}` shape, never a fileKey.

use serde_json::{Map, Value, json};

use super::Outputs;
use crate::config::Lookup;
use crate::kintone::{FieldType, ReadRecord};
use crate::query::FieldCode;

/// The record id, for anomaly logs; kintone returns it when `$id` is among the fields.
pub fn id_of(record: &ReadRecord) -> String {
    record
        .get("$id")
        .and_then(|field| field.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned()
}

/// The outputs plus what the re-check needs, each once.
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

/// `{output name: value}` for the declared outputs only, values flattened from `{type, value}`.
pub fn of(lookup: &Lookup, record: &ReadRecord) -> Outputs {
    let mut out = Map::new();
    for (name, code) in &lookup.outputs {
        let value = record.get(code.as_str()).map_or(Value::Null, flatten);
        out.insert(name.clone(), value);
    }
    out
}

fn flatten(field: &Value) -> Value {
    let kind = field
        .get("type")
        .and_then(Value::as_str)
        .and_then(FieldType::from_name);
    let value = field.get("value").cloned().unwrap_or(Value::Null);
    let name_of = |entity: &Value| entity.get("name").cloned().unwrap_or(Value::Null);
    match kind {
        Some(
            FieldType::UserSelect
            | FieldType::OrganizationSelect
            | FieldType::GroupSelect
            | FieldType::StatusAssignee,
        ) => Value::Array(
            value
                .as_array()
                .map_or_else(Vec::new, |list| list.iter().map(name_of).collect()),
        ),
        Some(FieldType::Creator | FieldType::Modifier) => name_of(&value),
        // The fileKey would let a holder of the token download the file: never pass it on.
        Some(FieldType::File) => Value::Array(value.as_array().map_or_else(Vec::new, |files| {
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
        Some(FieldType::Subtable) => Value::Array(value.as_array().map_or_else(Vec::new, |rows| {
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
