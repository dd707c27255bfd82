//! What a browser sees of a matching record: only the declared outputs, flattened from
//! kintone's `{type, value}` shape, never a fileKey.

use serde_json::{Map, Value, json};

use super::Outputs;
use crate::config::{Lookup, Ordered, Output};
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
    let shown = lookup.outputs.values().map(|output| &output.field);
    for code in shown.chain(checked).chain(expiry) {
        if !fields.contains(code) {
            fields.push(code.clone());
        }
    }
    fields.push(FieldCode::record_id());
    fields
}

/// The file `choice` names in the answer `matching`: its name, its record file key and its
/// size, or `None` when the answer has no such record, output or file, or the output is not
/// a FILE field.
pub fn file_of(
    lookup: &Lookup,
    matching: &[ReadRecord],
    choice: &super::FileChoice,
) -> Option<(String, String, Option<u64>)> {
    let record = matching.get(choice.record)?;
    let output = lookup.outputs.get(&choice.output)?;
    let field = record.get(output.field.as_str())?;
    let is_file = field
        .get("type")
        .and_then(Value::as_str)
        .and_then(FieldType::from_name)
        == Some(FieldType::File);
    if !is_file {
        return None;
    }
    let file = field.get("value")?.as_array()?.get(choice.file)?;
    let key = file.get("fileKey")?.as_str()?.to_owned();
    let name = file.get("name")?.as_str()?.to_owned();
    let size = file
        .get("size")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    Some((name, key, size))
}

/// An output whose declaration does not fit what kintone returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misdeclared {
    /// A table would show every column: relay.toml must list the columns.
    #[error("output {output} is a table (SUBTABLE): declare its columns")]
    UndeclaredColumns { output: String },
    #[error("output {output} declares columns, but the field is not a table (SUBTABLE)")]
    NotATable { output: String },
}

/// `{output name: value}` for the declared outputs only, values flattened from `{type, value}`.
pub fn of(lookup: &Lookup, record: &ReadRecord) -> Result<Outputs, Misdeclared> {
    let mut out = Map::new();
    for (name, output) in &lookup.outputs {
        let value = match record.get(output.field.as_str()) {
            Some(field) => shown(name, output, field)?,
            None => Value::Null,
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

fn shown(name: &str, output: &Output, field: &Value) -> Result<Value, Misdeclared> {
    let is_table = field
        .get("type")
        .and_then(Value::as_str)
        .and_then(FieldType::from_name)
        == Some(FieldType::Subtable);
    match (&output.columns, is_table) {
        (None, false) => Ok(flatten(field)),
        (Some(columns), true) => Ok(table_rows(columns, field)),
        (None, true) => Err(Misdeclared::UndeclaredColumns {
            output: name.to_owned(),
        }),
        (Some(_), false) => Err(Misdeclared::NotATable {
            output: name.to_owned(),
        }),
    }
}

/// The rows of a table, each with only the declared columns, by column name.
fn table_rows(columns: &Ordered<FieldCode>, field: &Value) -> Value {
    let rows = field.get("value").and_then(Value::as_array);
    Value::Array(rows.map_or_else(Vec::new, |rows| {
        rows.iter()
            .map(|row| {
                let cells = row.get("value");
                let shown: Map<String, Value> = columns
                    .iter()
                    .map(|(name, code)| {
                        let cell = cells.and_then(|cells| cells.get(code.as_str()));
                        (name.clone(), cell.map_or(Value::Null, flatten))
                    })
                    .collect();
                Value::Object(shown)
            })
            .collect()
    }))
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
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OutputShape;
    use serde_json::json;

    #[test]
    fn tables_show_only_their_declared_columns() {
        let code = |c: &str| FieldCode::parse(c).unwrap();
        let table = json!({"type": "SUBTABLE", "value": [
            {"id": "1", "value": {"品名": {"type": "SINGLE_LINE_TEXT", "value": "机"},
                                  "原価": {"type": "NUMBER", "value": "9000"}}}]});
        let declared = Output {
            label: crate::config::Wording {
                ja: "明細".into(),
                en: "Lines".into(),
            },
            field: code("明細"),
            shape: OutputShape::Table,
            columns: Some(Ordered::new(vec![("item".to_owned(), code("品名"))])),
        };
        assert_eq!(
            shown("lines", &declared, &table),
            Ok(json!([{"item": "机"}]))
        );
        let undeclared = Output {
            columns: None,
            shape: OutputShape::Text,
            ..declared.clone()
        };
        assert_eq!(
            shown("lines", &undeclared, &table),
            Err(Misdeclared::UndeclaredColumns {
                output: "lines".into()
            })
        );
        let text = json!({"type": "SINGLE_LINE_TEXT", "value": "x"});
        assert!(matches!(
            shown("lines", &declared, &text),
            Err(Misdeclared::NotATable { .. })
        ));
    }

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
