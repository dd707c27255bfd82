//! Get Form Fields: `GET /k/v1/app/form/fields.json?app=N` (and the guest path), the app's
//! field settings, which `relay check` and `relay init` read.
//!
//! UNCONFIRMED against the fact sheet, which does not cover this endpoint. What follows is from
//! kintone.dev "Get Form Fields" (stored copy): token authentication allowed; "permission to
//! view records or add records" for the live app (app management only for the pre-live
//! settings under `/preview/`, which the emulator does not serve); the response
//! `{"properties": {code: {...}}, "revision": "N"}`. The per-type properties follow
//! `@kintone/rest-api-client`'s `KintoneFields/types/property.ts`: `required`, `unique`,
//! `noLabel` booleans; `maxLength`, `minLength`, `minValue`, `maxValue` strings, `""` when not
//! set; `options` as `{label: {"label", "index"}}` with `index` a string. A token with neither
//! permission gets the general 403 `GAIA_NO01` (fact sheet §5.2).
//!
//! Deviations, all UNCONFIRMED: real kintone also lists the system fields (record number,
//! creator, created time, modifier, updated time, status, assignee, categories) and lookup
//! settings; the emulator lists only the app's declared fields (keyed by code: like any JSON
//! object, a client must not rely on the order), with `revision` always "1", and ignores the
//! `lang` parameter (`label` is the field's one name).

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Lang};
use crate::{App, Field, FieldType, Permission, State};

/// Either permission lets a token read the live app's field settings.
pub(crate) const PERMISSIONS: &[Permission] = &[Permission::View, Permission::Add];

pub(crate) fn response(state: &State, app_id: u64, lang: Lang) -> Result<Value, ApiError> {
    let data = state
        .apps
        .get(&app_id)
        .ok_or_else(|| ApiError::app_not_found(lang, app_id))?;
    Ok(json!({ "properties": properties(&data.app), "revision": "1" }))
}

fn properties(app: &App) -> Map<String, Value> {
    app.fields
        .iter()
        .map(|field| (field.code.clone(), property(field)))
        .collect()
}

fn property(field: &Field) -> Value {
    use FieldType::*;
    let mut p = Map::new();
    let mut set = |key: &str, value: Value| {
        p.insert(key.to_owned(), value);
    };
    set("type", json!(field.field_type.as_str()));
    set("code", json!(field.code));
    set(
        "label",
        json!(field.label.as_deref().unwrap_or(&field.code)),
    );
    set("noLabel", json!(false));
    set("required", json!(field.required));
    let list_default = || field.default_value.clone().unwrap_or_else(|| json!([]));
    let text_default = || field.default_value.clone().unwrap_or_else(|| json!(""));
    match field.field_type {
        SingleLineText => {
            set("defaultValue", text_default());
            set("unique", json!(field.unique));
            set("minLength", optional_number(field.min_length));
            set("maxLength", optional_number(field.max_length));
            set("expression", json!(""));
            set("hideExpression", json!(false));
        }
        Link => {
            set("defaultValue", text_default());
            set("unique", json!(field.unique));
            set("minLength", optional_number(field.min_length));
            set("maxLength", optional_number(field.max_length));
            set("protocol", json!("WEB"));
        }
        Number => {
            set("defaultValue", text_default());
            set("unique", json!(field.unique));
            set("minValue", optional_decimal(field.min_value));
            set("maxValue", optional_decimal(field.max_value));
            set("digit", json!(false));
            set("displayScale", json!(""));
            set("unit", json!(""));
            set("unitPosition", json!("BEFORE"));
        }
        MultiLineText | RichText => set("defaultValue", text_default()),
        CheckBox => {
            set("defaultValue", list_default());
            set("options", options(field));
            set("align", json!("HORIZONTAL"));
        }
        MultiSelect => {
            set("defaultValue", list_default());
            set("options", options(field));
        }
        // UNCONFIRMED: kintone's form editor always gives a radio button an initial option;
        // the emulator's has none unless the app sets one.
        RadioButton => {
            set("defaultValue", text_default());
            set("options", options(field));
            set("align", json!("HORIZONTAL"));
        }
        DropDown => {
            set("defaultValue", text_default());
            set("options", options(field));
        }
        Date | Datetime => {
            set("defaultValue", text_default());
            set("unique", json!(field.unique));
            set("defaultNowValue", json!(false));
        }
        Time => {
            set("defaultValue", text_default());
            set("defaultNowValue", json!(false));
        }
        File => set("thumbnailSize", json!("150")),
        UserSelect => {
            set("defaultValue", list_default());
            set("entities", json!([]));
        }
    }
    Value::Object(p)
}

/// `{label: {"label": label, "index": "0"}}`, in the field's order.
fn options(field: &Field) -> Value {
    let options: Map<String, Value> = field
        .options
        .iter()
        .enumerate()
        .map(|(index, label)| {
            (
                label.clone(),
                json!({ "label": label, "index": index.to_string() }),
            )
        })
        .collect();
    Value::Object(options)
}

fn optional_number(n: Option<usize>) -> Value {
    json!(n.map(|n| n.to_string()).unwrap_or_default())
}

/// A bound as kintone writes it: `"10"`, not `"10.0"`.
fn optional_decimal(n: Option<f64>) -> Value {
    json!(n.map(|n| n.to_string()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_field_in_kintone_shape() {
        let field = Field::new("氏名", FieldType::SingleLineText)
            .label("お名前")
            .required()
            .max_length(100);
        assert_eq!(
            property(&field),
            json!({
                "type": "SINGLE_LINE_TEXT", "code": "氏名", "label": "お名前", "noLabel": false,
                "required": true, "defaultValue": "", "unique": false, "minLength": "",
                "maxLength": "100", "expression": "", "hideExpression": false
            })
        );
    }

    #[test]
    fn options_keep_their_order_as_string_indexes() {
        let field = Field::new("s", FieldType::RadioButton).options(&["午前の部", "午後の部"]);
        let p = property(&field);
        assert_eq!(p["label"], "s", "the code when no label is set");
        assert_eq!(
            p["options"],
            json!({
                "午前の部": {"label": "午前の部", "index": "0"},
                "午後の部": {"label": "午後の部", "index": "1"}
            })
        );
        let number = Field::new("n", FieldType::Number).range(Some(1.0), Some(10.5));
        let p = property(&number);
        assert_eq!(
            (&p["minValue"], &p["maxValue"]),
            (&json!("1"), &json!("10.5"))
        );
    }
}
